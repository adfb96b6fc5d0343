//! The filter and rate keys any sink section may carry (`sensors = [..]`,
//! `kinds = [..]`, `max_rate = { gps = 1.0 }`), checked into a
//! [`Selection`].

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::checker::Checker;
use super::error::ConfigError;
use crate::selection::{Kind, Selection};

/// The selection keys of a sink section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSelection {
    #[serde(default)]
    sensors: Vec<String>,
    #[serde(default)]
    kinds: Vec<Kind>,
    #[serde(default)]
    max_rate: BTreeMap<Kind, Spanned<f64>>,
}

impl RawSelection {
    /// The keys of [`RawSelection`]: a sink section's table is split on
    /// them before the sink's own keys are read.
    pub const KEYS: [&'static str; 3] = ["sensors", "kinds", "max_rate"];

    /// Checks the rates (positive, at most [`Selection::MAX_HZ`], at least
    /// one a day).
    pub fn validate(&self, c: &Checker<'_>) -> Result<Selection, ConfigError> {
        let mut sel = Selection {
            sensors: self.sensors.iter().cloned().collect(),
            kinds: self.kinds.iter().copied().collect(),
            ..Default::default()
        };
        for (kind, hz) in &self.max_rate {
            let iv = Selection::interval_for(*hz.get_ref()).ok_or_else(|| {
                c.err(
                    hz,
                    &format!(
                        "must be a rate in Hz in [1/{}, {}]",
                        Selection::LONGEST_INTERVAL.as_secs(),
                        Selection::MAX_HZ
                    ),
                )
            })?;
            sel.min_interval.insert(*kind, iv);
        }
        Ok(sel)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_the_fields() {
        // serde lists the struct's fields in its unknown-field error.
        let e = toml::from_str::<RawSelection>("other = 1").unwrap_err();
        assert_eq!(
            crate::config::listed_fields(e.message()),
            RawSelection::KEYS
        );
    }
}
