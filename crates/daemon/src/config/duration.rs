//! Durations as the file writes them: humantime strings (`"2s"`,
//! `"500ms"`, `"1m"`).

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration written as a humantime string (`"2s"`, `"500ms"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        humantime_serde::deserialize(d).map(HumanDuration)
    }
}

/// Longest duration accepted for any setting: keeps deadline arithmetic far
/// from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
