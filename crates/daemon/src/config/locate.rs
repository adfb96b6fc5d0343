//! Errors found after loading, pointed back into the file: a listener that
//! cannot bind (port in use) or a device path that cannot be used names the
//! `FILE:LINE:COLUMN` and key that configured it, like a parse error does.

use std::path::Path;

use super::error::{key_on_line, table_path, Location};
use super::{Config, ConfigError};

/// A [`ConfigError`] for `message` at the first of `keys` (leaf names) set
/// in `table` (`stream`, `sensor[1]`) of the file at `path`. A key left to
/// its default points at the table's header (or line 1 without one).
pub fn locate(path: &Path, table: &str, keys: &[&str], message: &str) -> ConfigError {
    let src = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = src.lines().collect();
    for key in keys {
        for (i, text) in lines.iter().enumerate() {
            let line = i + 1;
            if key_on_line(&src, line).as_deref() == Some(*key) && table_path(&src, line) == table {
                let column = text.find('=').map_or(0, |eq| {
                    eq + 1 + text[eq + 1..].len() - text[eq + 1..].trim_start().len()
                });
                return invalid(
                    path,
                    line,
                    text[..column].chars().count() + 1,
                    table,
                    key,
                    message,
                );
            }
        }
    }
    let header = (1..=lines.len())
        .find(|&l| table_path(&src, l) == table)
        .unwrap_or(1);
    invalid(
        path,
        header,
        1,
        table,
        keys.first().copied().unwrap_or(""),
        message,
    )
}

fn invalid(
    path: &Path,
    line: usize,
    column: usize,
    table: &str,
    key: &str,
    msg: &str,
) -> ConfigError {
    ConfigError::Invalid {
        location: Location {
            path: path.to_path_buf(),
            line,
            column,
            key: format!("{table}.{key}"),
        },
        message: msg.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

impl Config {
    /// Checks the sensors' device paths that exist: a directory, or a
    /// device this user may not read and write (not in the `dialout`
    /// group), is a configuration error. A missing path is not: a USB
    /// device may be plugged in later.
    pub fn check_devices(&self, path: &Path) -> Result<(), ConfigError> {
        use nix::unistd::{access, AccessFlags};
        for (i, s) in self.sensors.iter().enumerate() {
            let problem = match std::fs::metadata(&s.path) {
                Err(_) => None,
                Ok(m) if m.is_dir() => Some("is a directory, not a serial device".to_owned()),
                Ok(_) => access(&s.path, AccessFlags::R_OK | AccessFlags::W_OK)
                    .err()
                    .map(|e| {
                        format!(
                            "cannot be opened for reading and writing ({e}); is the user in the group that owns it (dialout)?"
                        )
                    }),
            };
            if let Some(p) = problem {
                let msg = format!("device {} of sensor `{}` {p}", s.path.display(), s.name);
                return Err(locate(path, &format!("sensor[{i}]"), &["path"], &msg));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_the_value_or_the_table() {
        let dir = std::env::temp_dir().join(format!("dronetel-locate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let f = dir.join("c.toml");
        let src =
            "[daemon]\nvehicle_id = \"x\"\n\n[stream]\nunix = \"/s\"\ntcp =  \"127.0.0.1:1\"\n";
        std::fs::write(&f, src).expect("write");
        let e = locate(&f, "stream", &["tcp"], "in use");
        assert_eq!(
            e.to_string(),
            format!("{}:6:8: key `stream.tcp`: in use", f.display())
        );
        let e = locate(&f, "metrics", &["listen"], "x");
        assert_eq!(
            e.to_string(),
            format!("{}:1:1: key `metrics.listen`: x", f.display())
        );
        let e = locate(&f, "stream", &["bind", "unix"], "y");
        assert!(e.to_string().contains(":5:8: key `stream.unix`"), "{e}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
