//! The ground floor of the configuration: what every section's checks use.
//! It depends on nothing above it; the sections themselves live with the
//! components they configure (`sensor::config`, each sink's `config.rs`),
//! and `config_file` puts the whole file together.
//!
//! # Layout
//! - [`error`]: [`ConfigError`], one line naming file, line, column and key.
//! - [`keys`]: [`KeyIndex`], the parser's spans → line, column and key path,
//!   and back (for errors found after loading: a port in use).
//! - [`checker`]: [`Checker`], the shared helper that checks raw values and
//!   builds located errors.
//! - [`duration`]: humantime durations and their cap.
//! - [`daemon`]: the `[daemon]` section.
//! - [`selection`]: the filter and rate keys of sink sections.
//! - [`settings`]: [`Settings`], a component's checked configuration behind
//!   one type, so registries can hold them all.

pub mod checker;
pub mod daemon;
pub mod duration;
pub mod error;
pub mod keys;
pub mod selection;
pub mod settings;

pub use checker::Checker;
pub use daemon::{DaemonConfig, RawDaemon};
pub use duration::HumanDuration;
pub use error::{ConfigError, Location};
pub use keys::KeyIndex;
pub use selection::RawSelection;
pub use settings::Settings;

/// The fields serde lists in an unknown-field error ("expected one of `a`,
/// `b`", "expected `a` or `b`", "there are no fields"): tests check key
/// lists against the structs they mirror with it.
#[cfg(test)]
pub(crate) fn listed_fields(message: &str) -> Vec<String> {
    let Some((_, list)) = message.split_once("expected ") else {
        return Vec::new();
    };
    let list = list.strip_prefix("one of ").unwrap_or(list);
    list.split(", ")
        .flat_map(|f| f.split(" or "))
        .map(|f| f.trim().trim_matches('`').to_owned())
        .filter(|f| !f.is_empty())
        .collect()
}
