//! `dronetel tail`: a stream client that prints one line per frame.

use crate::cli::TailArgs;

/// Connects to a daemon's stream and prints its frames until it closes.
pub async fn tail(args: TailArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("not yet")
}
