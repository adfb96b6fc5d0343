//! Configuration errors: each displays as one line naming the file, line,
//! column and key (see [`super::keys`] for how a place is found).

use std::fmt;
use std::path::PathBuf;

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
    /// An error at `location`; the message is folded onto one line.
    pub fn invalid(location: Location, message: &str) -> ConfigError {
        ConfigError::Invalid {
            location,
            message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    /// Where the error is, when it is in the file.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ConfigError::Invalid { location, .. } => Some(location),
            ConfigError::Read { .. } => None,
        }
    }
}
