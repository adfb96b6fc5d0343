//! No import cycles between the source files of a workspace crate: a file
//! that imports (`use crate::…`, `self::…`, `super::…`, `pub use` too, or a
//! path written out in code, `crate::a::f()`) a file that imports it back, directly or around a loop, is two purposes
//! tangled, and neither can be read, moved or tested alone.
#![allow(clippy::unwrap_used)]

mod graph;
mod imports;

use std::path::{Path, PathBuf};

use graph::{cycles, import_graph};

/// The workspace root, two levels above this crate.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `members` of the workspace's `Cargo.toml`.
fn members() -> Vec<String> {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let list = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("a `members = [...]` list in the workspace manifest")
        .0;
    list.split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect()
}

/// Every import cycle in the `src` of the workspace member `member`, one
/// line per cycle naming its files and the imports that close it.
fn cycle_report(member: &str) -> Vec<String> {
    let src = workspace_root().join(member).join("src");
    let graph = import_graph(&src);
    cycles(&graph)
        .iter()
        .map(|cycle| {
            let edges: Vec<String> = cycle
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| cycle.contains(to))
                        .map(move |to| format!("{} → {}", from.display(), to.display()))
                })
                .collect();
            let files: Vec<String> = cycle.iter().map(|f| f.display().to_string()).collect();
            format!(
                "{member}/src: {} (imports: {})",
                files.join(" ↔ "),
                edges.join(", ")
            )
        })
        .collect()
}

/// Fails listing every cycle found in `members`.
fn assert_no_cycles(members: &[String]) {
    assert!(!members.is_empty(), "no workspace member to check");
    let found: Vec<String> = members.iter().flat_map(|m| cycle_report(m)).collect();
    assert!(
        found.is_empty(),
        "{} import cycle(s):\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The daemon crate, checked on its own below.
const DAEMON: &str = "crates/daemon";

#[test]
fn no_import_cycles() {
    let others: Vec<String> = members().into_iter().filter(|m| m != DAEMON).collect();
    assert_no_cycles(&others);
}

#[test]
fn no_import_cycles_in_daemon() {
    assert!(members().iter().any(|m| m == DAEMON));
    assert_no_cycles(&[DAEMON.to_owned()]);
}

/// The checker itself on a made-up crate: a cycle closed through a grouped,
/// multi-line use list, `self` in a group, a rename, `pub(crate) use`,
/// `super::super`, `mod.rs` files and a path in code is found, while
/// imports in comments and strings, `use super::*` of an inline test
/// module and paths of other crates are not imports between files.
#[test]
fn finds_cycles_through_every_form_of_use() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let files = [
        ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;\nmod e;\n"),
        (
            "a.rs",
            "use std::fmt;\nuse crate::{\n    b::{self, Thing},\n    e::Free as _,\n};\n",
        ),
        ("b/mod.rs", "mod inner;\npub use self::inner::X;\npub struct Thing;\n"),
        ("b/inner.rs", "pub struct X;\nuse super::super::c::{\n    Y,\n};\n"),
        (
            "c.rs",
            "pub struct Y;\npub(crate) use crate::d::Z;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
        ("d.rs", "pub struct Z;\nfn f() {\n    let _ = crate::a::A::new();\n}\n"),
        (
            "e.rs",
            "pub(crate) struct Free;\n// use crate::a;\n/* use crate::a; /* nested */ use crate::a; */\nconst S: &str = \"use crate::a;\";\nconst R: &str = r#\"use crate::a; \"quoted\"\"#;\nconst C: char = '\"';\nfn g<'a>(x: &'a str) -> &'a str { x }\nmod tests {\n    use super::g;\n}\n",
        ),
    ];
    for (name, text) in files {
        let path = src.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let graph = import_graph(src);
    let expected: Vec<PathBuf> = ["a.rs", "b/inner.rs", "b/mod.rs", "c.rs", "d.rs"]
        .into_iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(cycles(&graph), vec![expected], "graph: {graph:#?}");
    assert!(graph[Path::new("e.rs")].is_empty(), "graph: {graph:#?}");
}
