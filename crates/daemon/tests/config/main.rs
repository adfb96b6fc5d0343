//! Configuration: the shipped files are valid, every kind of mistake is a
//! located error, and the binary refuses what it must (an unopenable
//! device, running as root) with its documented exit status.

mod companion;
mod device_access;
mod errors;
mod outputs;
mod root_refusal;
