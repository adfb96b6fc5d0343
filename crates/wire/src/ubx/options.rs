//! [`UbxOptions`]: the knobs of the UBX and combined u-blox decoders.

use std::time::Duration;

use crate::nmea::NmeaOptions;

/// How a [`super::UbxDecoder`] or [`super::UbloxDecoder`] treats its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UbxOptions {
    /// Longest UBX payload accepted, bytes (default 8192: a NAV-SAT of 100
    /// satellites is 1208, an RXM-RAWX of 64 signals 2064). A longer
    /// declared length is a framing error and the search for a sync goes on
    /// from the byte after the `B5 62`; this also bounds the decoder's
    /// memory.
    pub max_payload: usize,
    /// How long the line must stay quiet before the reader calls
    /// `flush_idle` to publish an epoch whose closing message is not
    /// learned yet (default 100 ms).
    pub idle_gap: Duration,
    /// GPS - UTC leap seconds used until the receiver reports them in
    /// NAV-TIMEGPS (default 18, the value since 2017-01-01). Only fixes
    /// timed from the GPS week (NAV-SOL receivers) need it.
    pub default_leap_seconds: i32,
    /// Ask the receiver, on every (re)connection, to send NAV-PVT,
    /// NAV-SAT, NAV-DOP and NAV-EOE every solution (RAM only, see
    /// [`super::setup`]); default false: the link stays read-only.
    /// [`super::UbloxDecoder`] and [`super::UbxDecoder`] queue the requests
    /// as output and check the answers.
    pub configure: bool,
    /// Options of the NMEA decoder that [`super::UbloxDecoder`] runs on the
    /// same port (unused by [`super::UbxDecoder`]).
    pub nmea: NmeaOptions,
}

impl Default for UbxOptions {
    fn default() -> Self {
        Self {
            max_payload: 8192,
            idle_gap: Duration::from_millis(100),
            default_leap_seconds: 18,
            configure: false,
            nmea: NmeaOptions::default(),
        }
    }
}
