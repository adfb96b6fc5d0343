//! The output sinks: the stream sink over real sockets, UDP and
//! per-consumer rates, MCAP recording and replay, MQTT against a real
//! broker (installed once per run of this binary when missing), the gpsd
//! protocol against gpsd's own clients and gpsd itself, GPS time to a real
//! chronyd, Foxglove recordings and the live WebSocket view against
//! Foxglove's own npm client and Python readers.

mod chrony_refclock;
mod foxglove_common;
mod foxglove_record;
mod foxglove_slow;
mod foxglove_ws;
mod gpsd_captures;
mod gpsd_clients;
mod gpsd_slow;
mod mqtt;
mod mqtt_tls;
mod record;
mod replay_cli;
mod stream_sink;
mod udp_rate;

/// The daemon binary under test.
const DRONETEL: &str = env!("CARGO_BIN_EXE_dronetel");
