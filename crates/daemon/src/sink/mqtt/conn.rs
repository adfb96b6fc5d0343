//! The MQTT connection task: polls the rumqttc event loop, publishes the
//! connection state, and reconnects with capped exponential backoff.

use std::time::Duration;

use rumqttc::{Event, EventLoop, Outgoing, Packet};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;

/// Runs until `stop` is cancelled or the client disconnected on purpose.
pub(super) async fn run(
    mut el: EventLoop,
    state: watch::Sender<bool>,
    stop: CancellationToken,
    broker: String,
) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    let mut failing = false;
    loop {
        let ev = tokio::select! {
            _ = stop.cancelled() => break,
            ev = el.poll() => ev,
        };
        match ev {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                failing = false;
                tracing::info!(broker = %broker, "mqtt connected");
                let _ = state.send(true);
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                let _ = state.send(false);
                break;
            }
            Ok(_) => {}
            Err(e) => {
                let _ = state.send(false);
                let delay = backoff.next_delay();
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(broker = %broker, error = %e, "mqtt broker unreachable: queueing frames, reconnecting with backoff");
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    let _ = state.send(false);
}
