//! Configuration errors, and the locator that turns a byte span of the file
//! into `LINE:COLUMN` and the dotted key (`sensor[1].baud`) it belongs to.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Why a configuration file could not be used. Displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read configuration: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, a wrong type, or a
    /// value that fails validation.
    #[error("{location}: {message}")]
    Invalid {
        /// Where: file, line, column and key.
        location: Location,
        /// What is wrong, on one line.
        message: String,
    },
}

/// A place in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Dotted key path, e.g. `sensor[0].baud`; empty at top level.
    pub key: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// An error at `span` of `src`. `leaf` names the key when the caller
    /// knows it (semantic errors); otherwise it is read from the source line.
    pub(crate) fn at(
        path: &Path,
        src: &str,
        span: Option<Range<usize>>,
        leaf: Option<&str>,
        message: &str,
    ) -> ConfigError {
        let offset = span.map(|s| s.start).unwrap_or(0).min(src.len());
        let (line, column) = line_column(src, offset);
        let table = table_path(src, line);
        let leaf = leaf
            .map(str::to_owned)
            .or_else(|| key_on_line(src, line))
            .unwrap_or_default();
        let key = match (table.is_empty(), leaf.is_empty()) {
            (_, true) => table,
            (true, false) => leaf,
            (false, false) => format!("{table}.{leaf}"),
        };
        ConfigError::Invalid {
            location: Location {
                path: path.to_path_buf(),
                line,
                column,
                key,
            },
            message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

/// 1-based line and column of a byte offset.
fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..floor_char_boundary(src, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(src: &str, mut i: usize) -> usize {
    while i > 0 && !src.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The table a 1-based line belongs to: the last `[table]` or `[[array]]`
/// header above it, arrays indexed (`sensor[1]`).
pub(super) fn table_path(src: &str, line: usize) -> String {
    let mut current = String::new();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for text in src.lines().take(line) {
        let t = text.trim();
        if let Some(rest) = t.strip_prefix("[[") {
            let name = rest.split("]]").next().unwrap_or("").trim().to_owned();
            let idx = match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => {
                    *c += 1;
                    *c - 1
                }
                None => {
                    counts.push((name.clone(), 1));
                    0
                }
            };
            current = format!("{name}[{idx}]");
        } else if let Some(rest) = t.strip_prefix('[') {
            current = rest.split(']').next().unwrap_or("").trim().to_owned();
        }
    }
    current
}

/// The key assigned on a 1-based line (`key = value`), if any.
pub(super) fn key_on_line(src: &str, line: usize) -> Option<String> {
    let text = src.lines().nth(line.checked_sub(1)?)?.trim();
    if text.starts_with('[') || text.starts_with('#') {
        return None;
    }
    let (key, _) = text.split_once('=')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty()).then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_keys_in_tables_and_arrays() {
        let src = "[daemon]\nvehicle_id = \"x\"\n[[sensor]]\nname = \"a\"\n[[sensor]]\nbaud = 9\n";
        let off = src.find("baud").expect("present") + 7;
        let e = ConfigError::at(Path::new("f.toml"), src, Some(off..off + 1), None, "bad");
        assert_eq!(e.to_string(), "f.toml:6:8: key `sensor[1].baud`: bad");
        let off = src.find("vehicle").expect("present");
        let e = ConfigError::at(Path::new("f.toml"), src, Some(off..off), None, "x\n  y");
        assert_eq!(e.to_string(), "f.toml:2:1: key `daemon.vehicle_id`: x y");
    }
}
