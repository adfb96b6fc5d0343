//! Simulated sensor firmware.
