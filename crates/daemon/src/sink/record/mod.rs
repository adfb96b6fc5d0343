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
//! - [`config`]: the `[record]` section.
//! - [`file`](mod@file): one MCAP file (schema, channels, chunks, finish).
//! - `writer`: the writer thread (chunk timer, rotation, free space).
//! - [`recover`]: rebuilds a finished file from one cut by a crash;
//!   `scan`: the bounded record reader it uses.
//! - [`replay`]: re-publishes a recording on a bus.

pub mod config;
pub mod file;
pub mod recover;
pub mod replay;
mod scan;
mod writer;

use std::sync::mpsc::{sync_channel, TrySendError};

use crate::bus::Received;
use crate::config::{Checker, ConfigError};
use crate::selection::Selection;
use crate::sink::contract::{Sink, SinkContext, SinkError, SinkHandle};
use crate::sink::payload::frame_bytes;
use crate::sink::stats::SinkStats;

pub use config::{RawRecord, RecordCompression, RecordConfig};
pub use file::{RecordError, RecordingFile, SCHEMA_NAME};

/// The recording sink.
#[derive(Debug)]
pub struct RecordSink;

impl Sink for RecordSink {
    const NAME: &'static str = "record";
    const NAMED_AFTER_VEHICLE: bool = true;
    type Raw = RawRecord;
    type Config = RecordConfig;

    fn validate(
        raw: RawRecord,
        selection: Selection,
        c: &Checker<'_>,
    ) -> Result<RecordConfig, ConfigError> {
        RecordConfig::validate(raw, selection, c)
    }

    /// Creates the directory and starts the `record` task and its writer
    /// thread. The task ends once the bus has closed (or the sink is
    /// stopped) and the file is finished.
    async fn start(config: &RecordConfig, cx: SinkContext) -> Result<SinkHandle, SinkError> {
        std::fs::create_dir_all(&config.dir).map_err(|source| {
            SinkError::new::<Self>(
                "dir",
                RecordError::Io {
                    path: config.dir.clone(),
                    source,
                },
            )
        })?;
        let stats = cx.stats().clone();
        let (tx, queue) = sync_channel(config.queue);
        let mut frames = cx.frames(&config.selection);
        let thread = writer::Writer::new(config.clone(), cx.vehicle_id().to_owned(), stats.clone());
        tracing::info!(dir = %config.dir.display(), "recording sink started");
        cx.spawn("record", async move {
            let handle = tokio::task::spawn_blocking(move || thread.run(queue));
            let mut full = false;
            while let Received::Frame(p) = frames.recv().await {
                let data = frame_bytes(&p);
                match tx.try_send((p, data)) {
                    Ok(()) => {
                        if std::mem::replace(&mut full, false) {
                            tracing::info!("recording queue drains again");
                        }
                    }
                    Err(TrySendError::Full(_)) => {
                        SinkStats::add(&stats.dropped, 1);
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
        Ok(cx.into_handle(Vec::new()))
    }
}
