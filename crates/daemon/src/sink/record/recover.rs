//! `dronetel recover`: rebuilds a finished MCAP file from one cut by a crash
//! or power loss. Messages are read in file order until the first damage
//! (a chunk cut in half, a bad record); everything before it is written to
//! a new file with summary and indexes.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use mcap::read::Options;

/// Why recovery failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// Reading the input or writing the output.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The input is not an MCAP file, or the output could not be written.
    #[error("{}: {source}", path.display())]
    Mcap {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: mcap::McapError,
    },
}

/// What recovery kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Messages written to the new file.
    pub messages: u64,
    /// Why reading stopped before the end, if it did.
    pub damage: Option<String>,
    /// Time of the last message kept (log time, ns).
    pub last_log_time: Option<u64>,
}

/// The default output of `recover FILE.mcap`: `FILE.recovered.mcap`.
pub fn default_output(input: &Path) -> PathBuf {
    input.with_extension("recovered.mcap")
}

/// Copies every readable message of `input` into a finished `output`.
pub fn recover(input: &Path, output: &Path) -> Result<Recovered, RecoverError> {
    let data = std::fs::read(input).map_err(|source| RecoverError::Io {
        path: input.to_path_buf(),
        source,
    })?;
    let mc_in = |source| RecoverError::Mcap {
        path: input.to_path_buf(),
        source,
    };
    let mc_out = |source| RecoverError::Mcap {
        path: output.to_path_buf(),
        source,
    };
    let stream = mcap::MessageStream::new_with_options(&data, Options::IgnoreEndMagic.into())
        .map_err(mc_in)?;
    let file = File::create(output).map_err(|source| RecoverError::Io {
        path: output.to_path_buf(),
        source,
    })?;
    let mut w = mcap::WriteOptions::new()
        .compression(None)
        .profile("")
        .create(BufWriter::new(file))
        .map_err(mc_out)?;
    let mut out = Recovered {
        messages: 0,
        damage: None,
        last_log_time: None,
    };
    for m in stream {
        match m {
            Ok(m) => {
                w.write(&m).map_err(mc_out)?;
                out.messages += 1;
                out.last_log_time = Some(m.log_time);
            }
            Err(e) => {
                out.damage = Some(e.to_string());
                break;
            }
        }
    }
    w.finish().map_err(mc_out)?;
    Ok(out)
}
