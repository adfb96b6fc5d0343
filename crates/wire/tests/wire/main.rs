//! The decoders and encoders on real receiver captures and made-up input:
//! gpsd's reports reproduced, chunk-size invariance, counters, epoch
//! assembly, field filling, framing robustness, encoder round trips.
//! (`random_stream` is its own binary: it measures this process's memory.)

mod capture;
mod chunking;
mod common;
mod contract_props;
mod counters;
mod encode;
mod epoch;
mod fill;
mod hostile_values;
mod robustness;
mod roundtrip;
mod ubx;
mod ubx_capture;
