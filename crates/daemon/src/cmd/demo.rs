//! `dronetel demo`: firmware-sim's sensors on pseudo-terminals, the daemon
//! on them (as real serial ports), and a live view read back through the
//! daemon's own TCP stream, exactly as any client would see it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use firmware_sim::{SimOptions, Simulator};
use tokio_util::sync::CancellationToken;

use super::cli::DemoArgs;
use super::tail::{print_frames, Format};
use dronetel::{Config, Daemon};

/// The demo's configuration: every simulated device under `link_dir`, the
/// stream on `stream` and on a Unix socket beside the links.
pub(crate) fn demo_config(link_dir: &Path, args: &DemoArgs) -> anyhow::Result<Config> {
    let gps = link_dir.join("gps");
    let fc = link_dir.join("fc");
    let tracker = link_dir.join("tracker");
    let unix = link_dir.join("stream.sock");
    let text = format!(
        r#"
[daemon]
vehicle_id = "demo"
shutdown_grace = "3s"

[[sensor]]
name = "gps"
kind = "gps"
protocol = "nmea"
path = "{gps}"
baud = 115200
stale_after = "2s"

[[sensor]]
name = "fc"
kind = "flight_controller"
protocol = "mavlink"
path = "{fc}"
baud = 921600
stale_after = "3s"

[[sensor]]
name = "tracker"
kind = "tracking"
protocol = "tracker"
path = "{tracker}"
baud = 921600
stale_after = "1s"

[stream]
tcp = "{tcp}"
unix = "{unix}"
max_clients = 64
"#,
        gps = gps.display(),
        fc = fc.display(),
        tracker = tracker.display(),
        tcp = args.stream,
        unix = unix.display(),
    );
    Config::parse(&text, "<demo>").context("building the demo configuration")
}

/// Runs the demo until Ctrl-C or SIGTERM, then stops the daemon and the
/// simulator and returns.
pub(crate) async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let (link_dir, temporary) = match &args.link_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("dronetel-demo-{}", std::process::id())),
            true,
        ),
    };
    let mut opts = SimOptions::new(link_dir.clone());
    opts.gps_rate_hz = args.gps_rate;
    let sim = Simulator::start(opts)
        .await
        .with_context(|| format!("starting firmware-sim in {}", link_dir.display()))?;
    let result = run_daemon_and_view(&link_dir, &args).await;
    sim.stop().await;
    if temporary {
        let _ = std::fs::remove_dir_all(&link_dir);
    }
    result
}

async fn run_daemon_and_view(link_dir: &Path, args: &DemoArgs) -> anyhow::Result<()> {
    let config = demo_config(link_dir, args)?;
    let mut daemon = Daemon::new(config);
    let token = daemon.token();
    dronetel::signals::spawn_signal_handler(token.clone()).context("installing signal handlers")?;
    daemon
        .start()
        .await
        .context("starting the daemon (is another one using the stream port?)")?;
    let addr = daemon
        .tcp_addr()
        .context("the demo daemon has no TCP stream")?;
    let links: [PathBuf; 3] = ["gps", "fc", "tracker"].map(|d| link_dir.join(d));
    let [gps, fc, tracker] = &links;
    note(format_args!(
        "dronetel demo: simulated GPS on {}, flight controller on {}, tracker on {}; stream on tcp://{addr}; Ctrl-C stops.",
        gps.display(),
        fc.display(),
        tracker.display()
    ));
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to the demo stream at {addr}"))?;
    let stop = token.clone();
    let viewer = tokio::spawn(async move {
        let mut out = std::io::stdout();
        // The view ends when the daemon closes the stream on shutdown.
        let r = print_frames(
            stream,
            None,
            Format::Text,
            &mut out,
            &CancellationToken::new(),
        )
        .await;
        // Nobody can watch any more (stdout closed): stop the whole demo.
        stop.cancel();
        r
    });
    let report = daemon.run_until_cancelled().await;
    let printed = viewer.await.context("the live view panicked")??;
    note(format_args!(
        "dronetel demo: stopped after {printed} frames ({:.2} s to shut down)",
        report.elapsed.as_secs_f64()
    ));
    Ok(())
}

/// A status line on stderr; a closed stderr is ignored (eprintln! would
/// panic and leave the demo half shut down).
fn note(msg: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{msg}");
}
