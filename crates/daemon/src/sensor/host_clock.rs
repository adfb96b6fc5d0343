//! The host clock as evidence of today's date for GNSS decoders (GPS week
//! rollover correction, see `crates/wire/NMEA.md`): when it may be trusted
//! (`[daemon] host_clock`), and the evidence the sensor task hands its
//! decoder.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dronetel_wire::nmea::{TimeEvidence, TimeSource};

/// When the host clock vouches for the date (`[daemon] host_clock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostClock {
    /// While the kernel says the clock is synchronized (`adjtimex`): an NTP
    /// daemon (chrony, ntpd, systemd-timesyncd) disciplines it. The
    /// default: a companion computer without RTC boots with a wrong clock.
    #[default]
    Ntp,
    /// Always (a clock kept right by other means: an RTC, set by hand).
    Trusted,
    /// Never.
    Untrusted,
}

impl HostClock {
    /// The names in the configuration, in this order of variants.
    pub const NAMES: &'static [&'static str] = &["ntp", "trusted", "untrusted"];

    /// The policy called `name` in the configuration.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ntp" => Some(Self::Ntp),
            "trusted" => Some(Self::Trusted),
            "untrusted" => Some(Self::Untrusted),
            _ => None,
        }
    }

    /// The evidence the host clock gives now under this policy, if any.
    pub fn evidence(self) -> Option<TimeEvidence> {
        let trusted = match self {
            Self::Untrusted => false,
            Self::Trusted => true,
            // A kernel that cannot be asked vouches for nothing.
            Self::Ntp => dronetel_hostclock::kernel_synchronized().unwrap_or(false),
        };
        trusted.then(now_evidence).flatten()
    }
}

/// How often the sensor task asks again (the kernel's state changes when
/// the NTP daemon gets or loses its servers; the evidence tolerates a day
/// of age).
pub const REFRESH: Duration = Duration::from_secs(10);

fn now_evidence() -> Option<TimeEvidence> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(TimeEvidence {
        unix_seconds: i64::try_from(secs).ok()?,
        source: TimeSource::HostClock,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (i, name) in HostClock::NAMES.iter().enumerate() {
            let p = HostClock::from_name(name);
            assert!(p.is_some(), "{name}");
            assert_eq!(
                p,
                [HostClock::Ntp, HostClock::Trusted, HostClock::Untrusted]
                    .get(i)
                    .copied()
            );
        }
        assert_eq!(HostClock::from_name("rtc"), None);
    }

    #[test]
    fn trusted_and_untrusted_need_no_kernel() {
        assert_eq!(HostClock::Untrusted.evidence(), None);
        let e = HostClock::Trusted.evidence();
        assert!(e.is_some_and(|e| e.unix_seconds > 1_700_000_000));
    }
}
