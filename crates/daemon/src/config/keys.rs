//! Where each key of a configuration file is, taken from the TOML parser's
//! own spans: a byte offset becomes `LINE:COLUMN` and the dotted key path it
//! belongs to (`sensor[1].baud`), and a key path becomes the place it was
//! written. Built once from the parsed document (also from a document that
//! failed to parse, as far as the parser recovered it); the file is never
//! read again.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::Location;

/// One key as written: its dotted path and the spans of the key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    path: String,
    key: Range<usize>,
    value: Range<usize>,
}

/// Every key of one file, in document order, with line starts for
/// offset → line/column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIndex {
    file: PathBuf,
    entries: Vec<Entry>,
    /// Byte offset where each line starts.
    lines: Vec<usize>,
    /// The text, to count characters (not bytes) in a column.
    src: String,
}

impl KeyIndex {
    /// Indexes `root`, parsed from `src` of the file `file`.
    pub(crate) fn new(file: &Path, src: &str, root: &DeTable<'_>) -> Self {
        let mut entries = Vec::new();
        walk_table(root, "", &mut entries);
        entries.sort_by_key(|e| e.key.start);
        let lines = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            file: file.to_path_buf(),
            entries,
            lines,
            src: src.to_owned(),
        }
    }

    /// The file these keys come from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The key path at byte `offset`: the key whose name or value holds
    /// it, else the last key written before it (a syntax error after `=`).
    pub fn key_at(&self, offset: usize) -> String {
        let holds = |r: &Range<usize>| r.start <= offset && offset < r.end.max(r.start + 1);
        // The innermost (last in document order) entry that holds it.
        if let Some(e) = self
            .entries
            .iter()
            .rev()
            .find(|e| holds(&e.key) || holds(&e.value))
        {
            return e.path.clone();
        }
        self.entries
            .iter()
            .rev()
            .find(|e| e.key.start <= offset)
            .map(|e| e.path.clone())
            .unwrap_or_default()
    }

    /// File, line and column of `offset`, with the key path given (or the
    /// one found at the offset when `key` is `None`).
    pub fn locate(&self, offset: usize, key: Option<&str>) -> Location {
        let offset = offset.min(self.src.len());
        let line = self.lines.partition_point(|&start| start <= offset);
        let start = self.lines.get(line.saturating_sub(1)).copied().unwrap_or(0);
        let column = self
            .src
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Location {
            path: self.file.clone(),
            line,
            column,
            key: key.map_or_else(|| self.key_at(offset), str::to_owned),
        }
    }

    /// Where the key `path` was written (its value), or, for a key left
    /// to its default, its table's header, or the top of the file.
    pub fn location_of(&self, path: &str) -> Location {
        let mut table = path;
        loop {
            if let Some(e) = self.entries.iter().find(|e| e.path == table) {
                let at = if table == path {
                    e.value.start
                } else {
                    e.key.start
                };
                return self.locate(at, Some(path));
            }
            match table.rfind(['.', '[']) {
                Some(i) => table = &table[..i],
                None => return self.locate(0, Some(path)),
            }
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<Entry>) {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
        walk_value(value, &path, key.span(), out);
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, path: &str, key: Range<usize>, out: &mut Vec<Entry>) {
    out.push(Entry {
        path: path.to_owned(),
        key: key.clone(),
        value: value.span(),
    });
    match value.get_ref() {
        DeValue::Table(t) => walk_table(t, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("{path}[{i}]");
                // An array of tables: each `[[header]]` is its own key.
                walk_value(item, &path, item.span(), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn index(src: &str) -> KeyIndex {
        let (doc, _) = DeTable::parse_recoverable(src);
        KeyIndex::new(Path::new("f.toml"), src, doc.get_ref())
    }

    #[test]
    fn offsets_map_to_keys_in_tables_and_arrays() {
        let src = "[daemon]\nvehicle_id = \"x\"\n[[sensor]]\nname = \"a\"\n[[sensor]]\nbaud = 9\n";
        let k = index(src);
        let at = src.find("9\n").unwrap();
        assert_eq!(
            k.locate(at, None).to_string(),
            "f.toml:6:8: key `sensor[1].baud`"
        );
        let at = src.find("vehicle").unwrap();
        assert_eq!(
            k.locate(at, None).to_string(),
            "f.toml:2:1: key `daemon.vehicle_id`"
        );
        assert_eq!(k.key_at(src.find("[daemon]").unwrap()), "daemon");
    }

    #[test]
    fn a_syntax_error_names_the_key_before_it() {
        let src = "[daemon]\nvehicle_id = \"x\"\n[[sensor]]\nbaud = = 9\n";
        let (doc, errors) = DeTable::parse_recoverable(src);
        let k = KeyIndex::new(Path::new("f.toml"), src, doc.get_ref());
        let at = errors[0].span().unwrap().start;
        assert_eq!(
            k.locate(at, None).to_string(),
            "f.toml:4:8: key `sensor[0].baud`"
        );
    }

    #[test]
    fn key_paths_map_to_values_or_their_table() {
        let src =
            "[daemon]\nvehicle_id = \"x\"\n\n[stream]\nunix = \"/s\"\ntcp =  \"127.0.0.1:1\"\n";
        let k = index(src);
        assert_eq!(
            k.location_of("stream.tcp").to_string(),
            "f.toml:6:8: key `stream.tcp`"
        );
        assert_eq!(
            k.location_of("stream.max_clients").to_string(),
            "f.toml:4:2: key `stream.max_clients`"
        );
        assert_eq!(
            k.location_of("metrics.listen").to_string(),
            "f.toml:1:1: key `metrics.listen`"
        );
    }
}
