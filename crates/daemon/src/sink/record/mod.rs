//! The recording sink: every selected frame into MCAP files that Foxglove
//! Studio or any MCAP reader decodes with the embedded descriptors.
//!
//! An async task takes frames from the bus and hands them to a writer
//! thread through a bounded queue (full: the frame is dropped and counted),
//! so file I/O never holds up the bus. The thread closes a chunk at most one
//! second after its first message (a crash loses at most that second),
//! rotates files by size and duration, stops while free space is under the
//! floor, and finishes the file (summary, indexes) when the bus closes.
//!
//! # Layout
//! - [`file`]: one MCAP file (schema, channels, chunks, finish).
//! - `writer`: the writer thread (chunk timer, rotation, free space).
//! - [`recover`]: rebuilds a finished file from one cut by a crash.
//! - [`replay`]: re-publishes a recording on a bus.

pub mod file;
pub mod recover;
pub mod replay;
mod writer;

use std::sync::mpsc::{sync_channel, TrySendError};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::payload::frame_bytes;
use super::rate::RateControlled;
use super::stats::SinkStats;
use crate::bus::{Bus, Received};
use crate::config::RecordConfig;
use crate::context::TaskContext;

pub use file::{RecordError, RecordingFile, SCHEMA_NAME};

/// Creates the directory and starts the `record` task and its writer
/// thread. The task ends once the bus has closed (or `stop` is cancelled)
/// and the file is finished.
pub fn spawn(
    ctx: &TaskContext,
    bus: &Bus,
    config: &RecordConfig,
    vehicle: &str,
    stop: &CancellationToken,
) -> Result<Arc<SinkStats>, RecordError> {
    std::fs::create_dir_all(&config.dir).map_err(|source| RecordError::Io {
        path: config.dir.clone(),
        source,
    })?;
    let stats = Arc::new(SinkStats::default());
    let (tx, queue) = sync_channel(config.queue);
    let rx = bus
        .subscribe_as(super::start::consumer("record"))
        .stop_on(stop.clone());
    let mut frames = RateControlled::new(rx, config.selection.clone());
    let thread = writer::Writer::new(config.clone(), vehicle.to_owned(), stats.clone());
    let task_stats = stats.clone();
    tracing::info!(dir = %config.dir.display(), "recording sink started");
    ctx.spawn("record", async move {
        let handle = tokio::task::spawn_blocking(move || thread.run(queue));
        let mut full = false;
        let mut lag = 0;
        while let Received::Frame(p) = frames.recv().await {
            if frames.dropped() > lag {
                SinkStats::add(&task_stats.dropped, frames.dropped() - lag);
                lag = frames.dropped();
            }
            match tx.try_send((p.frame.clone(), frame_bytes(&p))) {
                Ok(()) => {
                    if std::mem::replace(&mut full, false) {
                        tracing::info!("recording queue drains again");
                    }
                }
                Err(TrySendError::Full(_)) => {
                    SinkStats::add(&task_stats.dropped, 1);
                    if !std::mem::replace(&mut full, true) {
                        tracing::warn!(
                            "recording queue full: frames dropped until the writer catches up"
                        );
                    }
                }
                Err(TrySendError::Disconnected(_)) => break,
            }
        }
        drop(tx);
        if let Err(e) = handle.await {
            tracing::error!(error = %e, "recording writer thread failed");
        }
    });
    Ok(stats)
}
