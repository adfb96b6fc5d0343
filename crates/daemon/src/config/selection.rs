//! The sensor/kind filter and per-kind rate limits any sink section may
//! carry (`sensors = [..]`, `kinds = [..]`, `max_rate = { gps = 1.0 }`).

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use super::error::ConfigError;
use crate::sink::rate::{Kind, Selection};

/// Builds a [`Selection`], checking the rates (positive, at most
/// [`Selection::MAX_HZ`]).
pub(crate) fn selection(
    sensors: &[String],
    kinds: &[Kind],
    max_rate: &BTreeMap<Kind, Spanned<f64>>,
    path: &Path,
    src: &str,
) -> Result<Selection, ConfigError> {
    let mut sel = Selection {
        sensors: sensors.iter().cloned().collect(),
        kinds: kinds.iter().copied().collect(),
        ..Default::default()
    };
    for (kind, hz) in max_rate {
        let iv = Selection::interval_for(*hz.get_ref()).ok_or_else(|| {
            ConfigError::at(
                path,
                src,
                Some(hz.span()),
                Some(kind.as_str()),
                &format!("must be a rate in Hz in (0, {}]", Selection::MAX_HZ),
            )
        })?;
        sel.min_interval.insert(*kind, iv);
    }
    Ok(sel)
}
