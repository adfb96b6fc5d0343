//! The output sinks: the stream sink over real sockets, UDP and
//! per-consumer rates, MCAP recording and replay, MQTT against a real
//! broker (installed once per run of this binary when missing).

mod mqtt;
mod mqtt_tls;
mod record;
mod replay_cli;
mod stream_sink;
mod udp_rate;
