//! [`Checker`]: the one helper every section's validation uses to turn a
//! raw value into a checked one, or into a [`ConfigError`] at the value's
//! place in the file. Places come from the parser's spans via [`KeyIndex`].

use std::ops::Range;
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

use super::duration::{HumanDuration, MAX_DURATION};
use super::error::ConfigError;
use super::keys::KeyIndex;

/// Builds checked values and located errors for one configuration file.
#[derive(Debug, Clone, Copy)]
pub struct Checker<'a> {
    keys: &'a KeyIndex,
}

impl<'a> Checker<'a> {
    /// A checker for the file `keys` indexes.
    pub fn new(keys: &'a KeyIndex) -> Self {
        Self { keys }
    }

    /// The index of the file's keys.
    pub fn keys(&self) -> &'a KeyIndex {
        self.keys
    }

    /// An error at `value`, named after the key that holds it.
    pub fn err<T>(&self, value: &Spanned<T>, message: &str) -> ConfigError {
        self.err_at(value.span(), message)
    }

    /// An error at a byte span of the file.
    pub fn err_at(&self, span: Range<usize>, message: &str) -> ConfigError {
        ConfigError::invalid(self.keys.locate(span.start, None), message)
    }

    /// An error about the key `path` (dotted), at its value when the file
    /// sets it, else at its table.
    pub fn err_key(&self, path: &str, message: &str) -> ConfigError {
        ConfigError::invalid(self.keys.location_of(path), message)
    }

    /// Deserializes a raw section (or any value) parsed from this file; a
    /// wrong type, a missing or an unknown key is an error at its place.
    pub fn parse<T: DeserializeOwned>(
        &self,
        value: Spanned<DeValue<'_>>,
    ) -> Result<T, ConfigError> {
        let whole = value.span();
        T::deserialize(ValueDeserializer::from(value))
            .map_err(|e| self.err_at(e.span().unwrap_or(whole), e.message()))
    }

    /// A duration in `(0, 1 day]`, or `default` when absent.
    pub fn duration(
        &self,
        value: Option<&Spanned<HumanDuration>>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.duration_at_least(value, default, Duration::ZERO)
    }

    /// A duration in `(floor, 1 day]` (`floor` itself allowed when not
    /// zero), or `default` when absent.
    pub fn duration_at_least(
        &self,
        value: Option<&Spanned<HumanDuration>>,
        default: Duration,
        floor: Duration,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(default),
            Some(v) if v.get_ref().0.is_zero() => Err(self.err(v, "must be greater than 0")),
            Some(v) if v.get_ref().0 < floor => Err(self.err(
                v,
                &format!("must be at least {}", humantime::format_duration(floor)),
            )),
            Some(v) if v.get_ref().0 > MAX_DURATION => Err(self.err(v, "must be at most 1day")),
            Some(v) => Ok(v.get_ref().0),
        }
    }

    /// A count in `1..=max`, or `default` when absent.
    pub fn count(
        &self,
        value: Option<&Spanned<usize>>,
        default: usize,
        max: usize,
    ) -> Result<usize, ConfigError> {
        match value {
            None => Ok(default),
            Some(v) if (1..=max).contains(v.get_ref()) => Ok(*v.get_ref()),
            Some(v) => Err(self.err(v, &format!("must be between 1 and {max}"))),
        }
    }
}
