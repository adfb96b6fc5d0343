//! `dronetel-bench`: the whole daemon over real ptys, side by side with
//! gpsd, printing a table (Markdown at the end). Run by `scripts/bench.sh`
//! after `cargo build --release -p dronetel -p dronetel-bench`.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use dronetel_bench::gpsd;
use dronetel_bench::procfs::Usage;
use dronetel_bench::scenario::fc_net;
use dronetel_bench::scenario::paced_gps::{self, PacedResult};
use dronetel_bench::scenario::runs::{self, FloodResult};
use dronetel_bench::stats::{median, ms, Table};

/// Whole-daemon benchmarks (CPU from /proc, latency, RSS, fan-out, gpsd).
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// NMEA sentences in the flood run.
    #[arg(long, default_value_t = 1_000_000)]
    sentences: u64,
    /// Seconds of the nominal-rate run.
    #[arg(long, default_value_t = 60)]
    nominal_secs: u64,
    /// Seconds of each GPS-alone run (dronetel, gpsd) and of the wake-up floor.
    #[arg(long, default_value_t = 30)]
    paced_secs: u64,
    /// Seconds of each fan-out run.
    #[arg(long, default_value_t = 10)]
    fanout_secs: u64,
    /// Rate multiplier of the fan-out runs.
    #[arg(long, default_value_t = 10)]
    fanout_speedup: u32,
    /// Client counts of the fan-out runs.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    fanout: Vec<usize>,
    /// Leave out gpsd even when installed.
    #[arg(long)]
    no_gpsd: bool,
    /// Only the flood runs (dronetel and gpsd).
    #[arg(long)]
    flood_only: bool,
    /// Only the nominal-rate run.
    #[arg(long, conflicts_with = "flood_only")]
    nominal_only: bool,
    /// Only the fan-out runs (`--fanout` client counts).
    #[arg(long, conflicts_with = "flood_only")]
    fanout_only: bool,
    /// Only the GPS-alone runs (dronetel's stream, gpsd, dronetel's
    /// `[gpsd]` port with `gpspipe -w`), without the wake-up floor.
    #[arg(long)]
    paced_only: bool,
    /// Only gpsd and dronetel's `[gpsd]` port, each with one `gpspipe -w`
    /// at `--gpsd-hz`: the CPU per TPV delivered row.
    #[arg(long)]
    gpsd_only: bool,
    /// GPS cycles per second of the gpsd-port runs, one run each: 10 as a
    /// receiver sends them; at 200 both servers' caches stay warm between
    /// cycles, which shows how much of the 10 Hz cost is waking up cold.
    #[arg(long, value_delimiter = ',', default_value = "10,200")]
    gpsd_hz: Vec<u32>,
    /// Rounds each gpsd-port run is cut into; the servers' places in the
    /// period turn by one every round, and the median of the rounds'
    /// ratios is reported beside the whole run's.
    #[arg(long, default_value_t = 6)]
    gpsd_rounds: usize,
    /// Only the Foxglove rows (one stream client alone, then with a
    /// Foxglove client subscribed to everything).
    #[arg(long)]
    foxglove_only: bool,
    /// Seconds of the flight-controller serial-vs-UDP run.
    #[arg(long, default_value_t = 20)]
    fc_net_secs: u64,
    /// Rate multiplier of the flight controller in that run.
    #[arg(long, default_value_t = 50)]
    fc_net_speedup: u32,
    /// Only the flight-controller serial-vs-UDP run.
    #[arg(long, conflicts_with = "flood_only")]
    fc_net_only: bool,
}

/// CPU per frame with one stream client, then with one Foxglove WebSocket
/// client subscribed to every channel beside it, at the fan-out rate.
async fn foxglove_rows(t: &mut Table, args: &Args) -> anyhow::Result<()> {
    for foxglove in [false, true] {
        let who = if foxglove {
            "1 stream client + 1 Foxglove client subscribed to everything"
        } else {
            "1 stream client"
        };
        println!(
            "{who}, {}x rate, {} s ...",
            args.fanout_speedup, args.fanout_secs
        );
        let r = runs::rates_with(1, args.fanout_speedup, args.fanout_secs, foxglove).await?;
        t.row(
            format!("{who} ({}x): CPU per frame", args.fanout_speedup),
            format!(
                "{} per frame ({} frames, {:.1} % CPU); {} Foxglove messages; {} frames lost",
                us(r.cpu_per_frame()),
                r.frames,
                r.cpu_percent(),
                r.foxglove_messages,
                r.gaps
            ),
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

fn us(d: Duration) -> String {
    format!("{:.3} µs", d.as_secs_f64() * 1e6)
}

fn flood_rows(t: &mut Table, who: &str, r: &FloodResult) {
    t.row(
        format!("{who} flood: CPU per 1M sentences"),
        format!(
            "{:.3} s ({} per sentence; {} sentences, {:.1} MB, {} reports, wall {:.2} s)",
            r.usage.cpu.as_secs_f64() * 1e6 / r.sentences as f64,
            us(r.cpu_per_sentence()),
            r.sentences,
            r.bytes as f64 / 1e6,
            r.reports,
            r.wall.as_secs_f64()
        ),
    );
    t.row(
        format!("{who} flood: peak RSS (VmHWM)"),
        format!("{:.1} MiB", r.usage.hwm_kib as f64 / 1024.0),
    );
    private_row(t, &format!("{who} flood"), &r.usage);
}

/// The private part of the resident memory (heap, stacks) at the end of a
/// run: unlike `VmHWM` it leaves out the executable's own pages, which grow
/// with the binary's size and are shared and reclaimable.
fn private_row(t: &mut Table, who: &str, u: &Usage) {
    t.row(
        format!("{who}: private memory at the end (RssAnon)"),
        format!("{:.1} MiB", u.anon_kib as f64 / 1024.0),
    );
}

fn paced_row(t: &mut Table, what: String, r: &PacedResult, unit: &str) {
    t.row(
        what,
        format!(
            "{:.3} % ({:.1} wake-ups/s, {} {unit} in {:.0} s)",
            r.cpu_percent(),
            r.wakeups_per_sec(),
            r.reports,
            r.wall.as_secs_f64()
        ),
    );
}

/// gpsd and dronetel's `[gpsd]` port side by side for `secs`, each with
/// one `gpspipe -w` on the same GPS stream at `hz`: their rows and the CPU
/// per TPV delivered; gpsd's run, for the caller's comparisons.
async fn gpsd_rows(
    t: &mut Table,
    secs: u64,
    hz: u32,
    rounds: usize,
) -> anyhow::Result<PacedResult> {
    // The gpsd on the PATH (Debian 12's 3.22) and Debian 13's 3.25.
    let mut programs = vec![gpsd::Program::path()];
    programs.extend(gpsd::Program::debian_13());
    let names: Vec<&str> = programs.iter().map(|p| p.label.as_str()).collect();
    println!(
        "GPS alone at {hz} Hz, {} and dronetel's [gpsd] port side by side, each with gpspipe -w, {} s in {} rounds ...",
        names.join(", "),
        secs,
        rounds.max(1)
    );
    let run = paced_gps::gps_gpsd_and_dronetel(secs, hz, rounds, &programs).await?;
    let totals = run.totals();
    let (p, gs) = totals
        .split_last()
        .ok_or_else(|| anyhow::anyhow!("no round measured"))?;
    for (r, round) in run.rounds.iter().enumerate() {
        let k = round.len();
        let each: Vec<String> = round
            .iter()
            .enumerate()
            .map(|(i, x)| format!("{}/{k} {}", paced_gps::place(r, i, k), us(x.per_report())))
            .collect();
        println!(
            "  round {r}, place in the period and CPU per TPV (gpsds, then dronetel): {}",
            each.join(", ")
        );
    }
    for (program, g) in programs.iter().zip(gs) {
        paced_row(
            t,
            format!(
                "GPS alone {hz} Hz, gpspipe -w: {} CPU of one core",
                program.label
            ),
            g,
            "TPV reports",
        );
    }
    paced_row(
        t,
        format!(
            "GPS alone {hz} Hz, gpspipe -w on dronetel's [gpsd] port: dronetel CPU of one core"
        ),
        p,
        "TPV reports",
    );
    let per_tpv = PacedResult::per_report;
    for (i, (program, g)) in programs.iter().zip(gs).enumerate() {
        t.row(
            format!(
                "GPS alone {hz} Hz: CPU per TPV delivered, dronetel [gpsd] / {}",
                program.label
            ),
            format!(
                "{:.2} ({} / {})",
                per_tpv(p).as_secs_f64() / per_tpv(g).as_secs_f64(),
                us(per_tpv(p)),
                us(per_tpv(g))
            ),
        );
        let ratios = run.round_ratios(i);
        if ratios.len() > 1 {
            t.row(
                format!(
                    "GPS alone {hz} Hz: the same, median of {} rounds (places in the period turned each round)",
                    ratios.len()
                ),
                format!(
                    "{:.2} (rounds, sorted: {})",
                    median(&ratios),
                    ratios
                        .iter()
                        .map(|r| format!("{r:.2}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    gs.first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no gpsd result"))
}

/// GPS alone at 10 Hz through both daemons, then (with `wakeups`) a bare
/// thread waking as often as dronetel did at nominal rates (`wakeups` per
/// second).
async fn paced(t: &mut Table, args: &Args, wakeups: Option<f64>) -> anyhow::Result<()> {
    println!("GPS alone at 10 Hz, dronetel, {} s ...", args.paced_secs);
    let d = paced_gps::gps_dronetel(args.paced_secs).await?;
    paced_row(
        t,
        "GPS alone 10 Hz, 1 client: dronetel CPU of one core".into(),
        &d,
        "frames",
    );
    if !args.no_gpsd && gpsd::available() {
        let g = gpsd_rows(t, args.paced_secs, 10, args.gpsd_rounds).await?;
        t.row(
            "GPS alone 10 Hz: CPU, dronetel (stream client) / gpsd, separate runs",
            format!("{:.2}", d.cpu_percent() / g.cpu_percent()),
        );
        for &hz in args.gpsd_hz.iter().filter(|&&hz| hz != 10) {
            gpsd_rows(t, args.paced_secs, hz, args.gpsd_rounds).await?;
        }
    }
    let Some(wakeups) = wakeups else {
        return Ok(());
    };
    let hz = wakeups.round().max(1.0) as u32;
    println!(
        "wake-up floor: a bare thread waking {hz} times/s, {} s ...",
        args.paced_secs
    );
    let f = tokio::task::spawn_blocking({
        let secs = args.paced_secs;
        move || paced_gps::wake_floor(hz, secs)
    })
    .await??;
    t.row(
        format!("floor: a thread doing nothing but wake {hz} times/s (as dronetel at nominal)"),
        format!(
            "{:.3} % of one core ({} per wake-up)",
            f.cpu_percent(),
            us(f.per_report())
        ),
    );
    Ok(())
}

/// The flight controller at a multiplied rate, pty and UDP side by side.
async fn fc_net(t: &mut Table, args: &Args) -> anyhow::Result<()> {
    println!(
        "flight controller at {}x, pty and UDP side by side, {} s ...",
        args.fc_net_speedup, args.fc_net_secs
    );
    let r = fc_net::fc_pty_vs_udp(args.fc_net_secs, args.fc_net_speedup).await?;
    for (path, usage) in [("serial (pty)", &r.pty), ("UDP", &r.udp)] {
        t.row(
            format!(
                "FC alone {}x: CPU per MAVLink message via {path}",
                args.fc_net_speedup
            ),
            format!(
                "{} ({} messages in {:.1} s, {:.2} % CPU)",
                us(r.cpu_per_message(usage)),
                r.messages,
                r.wall.as_secs_f64(),
                r.cpu_percent(usage)
            ),
        );
    }
    t.row(
        "FC alone: CPU per message, UDP / serial",
        format!(
            "{:.2}",
            r.udp.sched.as_secs_f64() / r.pty.sched.as_secs_f64().max(1e-9)
        ),
    );
    Ok(())
}

/// The three sensors at their nominal rates with one client: CPU, wake-ups,
/// GPS latency, memory. Returns the daemon's own wake-ups per second (the
/// wake-up floor is measured at that rate).
async fn nominal(t: &mut Table, args: &Args) -> anyhow::Result<f64> {
    println!(
        "nominal rates, 3 sensors, 1 client, {} s ...",
        args.nominal_secs
    );
    let r = runs::rates(1, 1, args.nominal_secs).await?;
    t.row(
        "nominal: CPU of one core",
        format!(
            "{:.3} % ({:.3} s CPU in {:.1} s; utime+stime {:.2} s)",
            r.cpu_percent(),
            r.usage.sched.as_secs_f64(),
            r.wall.as_secs_f64(),
            r.usage.cpu.as_secs_f64()
        ),
    );
    t.row(
        "nominal: wake-ups (context switches) per s",
        format!(
            "{:.1} ({:.1} voluntary: the daemon's own; the rest preemptions)",
            r.usage.switches as f64 / r.wall.as_secs_f64(),
            r.usage.voluntary as f64 / r.wall.as_secs_f64()
        ),
    );
    t.row(
        "nominal: GPS latency p50 / p99 / p99.9",
        r.latency.summary(),
    );
    t.row(
        "nominal: peak RSS (VmHWM)",
        format!("{:.1} MiB", r.usage.hwm_kib as f64 / 1024.0),
    );
    private_row(t, "nominal", &r.usage);
    Ok(r.usage.voluntary as f64 / r.wall.as_secs_f64())
}

/// CPU per frame, latency and RSS with each client count of `--fanout`,
/// at `--fanout-speedup` times the nominal rates.
async fn fanout(t: &mut Table, args: &Args) -> anyhow::Result<()> {
    for &n in &args.fanout {
        println!(
            "fan-out: {n} clients at {}x rate, {} s ...",
            args.fanout_speedup, args.fanout_secs
        );
        let r = runs::rates(n, args.fanout_speedup, args.fanout_secs).await?;
        t.row(
            format!("fan-out {n} clients ({}x): CPU per frame, p99, RSS", args.fanout_speedup),
            format!(
                "{} per frame ({} frames, {:.1} % CPU); p99 {:.3} ms (p50 {:.3}, n={}); {:.1} MiB; {} frames lost",
                us(r.cpu_per_frame()),
                r.frames,
                r.cpu_percent(),
                ms(r.latency.p99),
                ms(r.latency.p50),
                r.latency.n,
                r.usage.hwm_kib as f64 / 1024.0,
                r.gaps
            ),
        );
    }
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut t = Table::default();
    if args.gpsd_only {
        for &hz in &args.gpsd_hz {
            gpsd_rows(&mut t, args.paced_secs, hz, args.gpsd_rounds).await?;
        }
        println!("\n{}", t.markdown());
        return Ok(());
    }
    if args.foxglove_only
        || args.fc_net_only
        || args.paced_only
        || args.fanout_only
        || args.nominal_only
    {
        if args.nominal_only {
            nominal(&mut t, &args).await?;
        }
        if args.fanout_only {
            fanout(&mut t, &args).await?;
        }
        if args.foxglove_only {
            foxglove_rows(&mut t, &args).await?;
        }
        if args.fc_net_only {
            fc_net(&mut t, &args).await?;
        }
        if args.paced_only {
            paced(&mut t, &args, None).await?;
        }
        println!("\n{}", t.markdown());
        return Ok(());
    }
    println!(
        "generating {} sentences with firmware-sim flood ...",
        args.sentences
    );
    let rec = Arc::new(runs::gps_flood(args.sentences));
    println!("dronetel flood (1 client) ...");
    let d = runs::flood_dronetel(rec.clone()).await?;
    flood_rows(&mut t, "dronetel", &d);
    t.row(
        "dronetel flood: latency p50 / p99 / p99.9",
        d.latency.summary(),
    );
    if !args.no_gpsd && gpsd::available() {
        println!("{} flood (gpspipe -w) ...", gpsd::Program::path().label);
        let g = runs::flood_gpsd(rec.clone()).await?;
        flood_rows(&mut t, "gpsd", &g);
        t.row(
            "CPU per sentence, dronetel / gpsd",
            format!(
                "{:.3} ({} / {})",
                d.cpu_per_sentence().as_secs_f64() / g.cpu_per_sentence().as_secs_f64(),
                us(d.cpu_per_sentence()),
                us(g.cpu_per_sentence())
            ),
        );
    } else {
        t.row("gpsd", "not run (not installed or --no-gpsd)");
    }
    if !args.flood_only {
        let wakeups = nominal(&mut t, &args).await?;
        paced(&mut t, &args, Some(wakeups)).await?;
        fanout(&mut t, &args).await?;
        foxglove_rows(&mut t, &args).await?;
        fc_net(&mut t, &args).await?;
    }
    println!("\n{}", t.markdown());
    Ok(())
}
