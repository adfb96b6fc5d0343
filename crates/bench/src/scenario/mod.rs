//! The measured runs. Each starts its own daemon (so its peak RSS is its
//! own), on ptys fed by firmware-sim flood recordings, and measures the
//! daemon's counters from `/proc` around the measured stretch only (after a
//! warm-up that proves every link is open).
//!
//! - [`rig`]: ptys, daemon, clients, writers and the latency bookkeeping.
//! - [`runs`]: flood (1 client), nominal rates, fan-out, gpsd.
//! - [`fc_net`]: the flight controller at a multiplied rate over its pty
//!   and over UDP, read by two daemons at once.
//! - [`paced_gps`]: GPS alone at 10 Hz through dronetel and gpsd, and the
//!   machine's cost of a bare wake-up.

pub mod fc_net;
pub mod paced_gps;
pub mod rig;
pub mod runs;
