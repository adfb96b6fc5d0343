//! The simulator over real pseudo-terminals: the GPS's cycles carry the
//! truth, unplug/replug and stall, replayed captures unchanged, the
//! daemon's decoder agreeing with the truth, the flight controller on
//! UDP and TCP, the GPS speaking UBX and answering set-up requests, and
//! the `firmware-sim` binary.

mod cli;
mod common;
mod decode;
mod gps;
mod net;
mod replay;
mod ubx;
