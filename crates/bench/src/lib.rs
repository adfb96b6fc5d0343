//! Benchmarks of dronetel (not tests): decoder throughput (`benches/decode.rs`,
//! divan) and the whole daemon over real ptys. `scripts/bench.sh` runs them.
//!
//! # Layout
//! - [`input`]: the shared gpsd captures as benchmark input, and the decoder
//!   driver the benches share.
#![forbid(unsafe_code)]

pub mod input;
