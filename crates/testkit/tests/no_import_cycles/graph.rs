//! The import graph of one crate's source files and its cycles: each
//! imported module path resolved to the deepest module file that exists
//! (`a/b.rs` or `a/b/mod.rs`), cycles found as strongly connected
//! components (Tarjan).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::imports::imports;

/// File → the files it imports, paths relative to the crate's `src`.
pub(crate) type Graph = BTreeMap<PathBuf, BTreeSet<PathBuf>>;

/// The import graph of every `.rs` file under `src`.
pub(crate) fn import_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap().to_path_buf();
        let text = std::fs::read_to_string(&file).unwrap();
        let targets = imports(&text, &module_path(&rel))
            .iter()
            .map(|path| module_file(src, &rel, path))
            .filter(|target| *target != rel)
            .collect();
        graph.insert(rel, targets);
    }
    graph
}

/// Every cycle of `graph`: each strongly connected component of more than
/// one file, its files sorted, the components sorted.
pub(crate) fn cycles(graph: &Graph) -> Vec<Vec<PathBuf>> {
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !t.index.contains_key(node.as_path()) {
            t.visit(node);
        }
    }
    let mut found: Vec<Vec<PathBuf>> = t
        .found
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|mut c| {
            c.sort();
            c
        })
        .collect();
    found.sort();
    found
}

/// Tarjan's strongly connected components, recursively (a crate's module
/// tree is shallow enough for the stack).
struct Tarjan<'g> {
    graph: &'g Graph,
    index: BTreeMap<&'g Path, usize>,
    low: BTreeMap<&'g Path, usize>,
    stack: Vec<&'g Path>,
    on_stack: BTreeSet<&'g Path>,
    found: Vec<Vec<PathBuf>>,
}

impl<'g> Tarjan<'g> {
    fn visit(&mut self, node: &'g Path) {
        let n = self.index.len();
        self.index.insert(node, n);
        self.low.insert(node, n);
        self.stack.push(node);
        self.on_stack.insert(node);
        for next in self.graph.get(node).into_iter().flatten() {
            let next = next.as_path();
            if !self.index.contains_key(next) {
                self.visit(next);
                let low = self.low[node].min(self.low[next]);
                self.low.insert(node, low);
            } else if self.on_stack.contains(next) {
                let low = self.low[node].min(self.index[next]);
                self.low.insert(node, low);
            }
        }
        if self.low[node] == self.index[node] {
            let mut component = Vec::new();
            loop {
                let top = self.stack.pop().unwrap();
                self.on_stack.remove(top);
                component.push(top.to_path_buf());
                if top == node {
                    break;
                }
            }
            self.found.push(component);
        }
    }
}

/// The module path of the file at `rel` (relative to `src`): `a/b.rs` and
/// `a/b/mod.rs` are `a::b`, `lib.rs` and `main.rs` the crate root.
fn module_path(rel: &Path) -> Vec<String> {
    let mut segments: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    if segments.len() == 1 && (segments[0] == "lib" || segments[0] == "main") {
        segments.clear();
    }
    segments
}

/// The deepest existing module file along `path`, as seen from the file
/// `from` (the crate root is `from` itself when it is `main.rs`).
fn module_file(src: &Path, from: &Path, path: &[String]) -> PathBuf {
    let mut best = if from == Path::new("main.rs") || !src.join("lib.rs").exists() {
        PathBuf::from("main.rs")
    } else {
        PathBuf::from("lib.rs")
    };
    let mut dir = PathBuf::new();
    for segment in path {
        dir.push(segment);
        let file = dir.with_extension("rs");
        let module = dir.join("mod.rs");
        if src.join(&file).is_file() {
            best = file;
        } else if src.join(&module).is_file() {
            best = module;
        } else {
            break;
        }
    }
    best
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
