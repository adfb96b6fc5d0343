//! Logging setup: readable `key=value` lines on a terminal, the same lines
//! without timestamps and with syslog priority prefixes (`<6>`) when stderr
//! is the systemd journal (journald adds its own timestamps and reads the
//! priority), or one JSON object per event for log shippers.

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// How log events are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `journal` when stderr is the systemd journal, `text` otherwise.
    Auto,
    /// Timestamped `key=value` lines (coloured on a terminal).
    Text,
    /// `key=value` lines without timestamps, with `<N>` priority prefixes.
    Journal,
    /// One JSON object per event (timestamp, level, fields, target).
    Json,
}

impl LogFormat {
    /// `Auto` resolved for this process: `Journal` when `JOURNAL_STREAM`
    /// names stderr's device and inode (as systemd sets it), else `Text`.
    pub fn resolve(self) -> LogFormat {
        match self {
            LogFormat::Auto if stderr_is_journal() => LogFormat::Journal,
            LogFormat::Auto => LogFormat::Text,
            other => other,
        }
    }
}

/// True when `JOURNAL_STREAM` (`DEV:INODE`) matches stderr.
fn stderr_is_journal() -> bool {
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(st) = nix::sys::stat::fstat(std::io::stderr()) else {
        return false;
    };
    journal_stream_matches(&v.to_string_lossy(), st.st_dev, st.st_ino)
}

/// Whether a `JOURNAL_STREAM` value names the file `dev`/`ino`.
pub fn journal_stream_matches(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.split_once(':') else {
        return false;
    };
    d.parse() == Ok(dev) && i.parse() == Ok(ino)
}

/// Installs the global subscriber: `RUST_LOG` filter (default `info`) and
/// `format` (resolved from `Auto`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format.resolve() {
        LogFormat::Json => builder.json().with_current_span(false).init(),
        LogFormat::Journal => builder
            .with_ansi(false)
            .event_format(JournalPrefix(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_ansi(false),
            ))
            .init(),
        LogFormat::Text | LogFormat::Auto => {
            builder.with_ansi(std::io::stderr().is_terminal()).init()
        }
    }
}

/// Prefixes each event with its syslog priority (`<3>` error ... `<7>`
/// debug), which journald turns into the entry's PRIORITY.
struct JournalPrefix<F>(F);

/// The syslog priority journald reads for a tracing level.
pub fn syslog_priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

impl<S, N, F> FormatEvent<S, N> for JournalPrefix<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", syslog_priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_must_name_stderr_exactly() {
        assert!(journal_stream_matches("8:1234", 8, 1234));
        assert!(!journal_stream_matches("8:1235", 8, 1234));
        assert!(!journal_stream_matches("8", 8, 1234));
        assert!(!journal_stream_matches("x:1234", 8, 1234));
        assert_eq!(LogFormat::Json.resolve(), LogFormat::Json);
        assert_eq!(syslog_priority(Level::WARN), 4);
    }
}
