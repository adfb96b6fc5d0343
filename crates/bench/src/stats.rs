//! Percentiles of latency samples, the median of repeated ratios, and the
//! result table.

use std::fmt::Write as _;
use std::time::Duration;

/// Latency percentiles of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Largest.
    pub max: Duration,
}

impl Latency {
    /// Percentiles of `samples` (nearest rank); all zero when empty.
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = (q * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1]
        };
        Latency {
            n: samples.len(),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: samples[samples.len() - 1],
        }
    }

    /// `p50 / p99 / p99.9` in milliseconds.
    pub fn summary(&self) -> String {
        format!(
            "{:.3} / {:.3} / {:.3} ms (n={})",
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            self.n
        )
    }
}

/// Milliseconds as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A two-column table printed at the end of the run.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<(String, String)>,
}

impl Table {
    /// Adds one measured figure.
    pub fn row(&mut self, what: impl Into<String>, value: impl Into<String>) {
        let (what, value) = (what.into(), value.into());
        println!("  {what}: {value}");
        self.rows.push((what, value));
    }

    /// The table in Markdown (as pasted into the README).
    pub fn markdown(&self) -> String {
        let mut s = String::from("| measure | value |\n| --- | --- |\n");
        for (w, v) in &self.rows {
            let _ = writeln!(s, "| {w} | {v} |");
        }
        s
    }
}

/// The middle of sorted `v` (the mean of the two middle values when even;
/// NaN when empty): the figure of a run cut into rounds, which one round
/// spoilt by a burst does not move.
pub fn median(v: &[f64]) -> f64 {
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
