//! `dronetel demo`: simulated sensors, the daemon on them, and a live view.

use crate::cli::DemoArgs;

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("not yet")
}
