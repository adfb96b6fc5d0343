//! Compiles `proto/*.proto` with the pure-Rust `protox` compiler (no system
//! protoc), generates prost types from the descriptor set and stores the
//! encoded descriptor set for reflection (JSON output, MCAP schemas).
//!
//! Foxglove's well-known schemas (`proto/foxglove/`, vendored with their
//! licence) go into a second descriptor set, so `dronetel.v1`'s stays as it
//! was and each set is what a reader of its messages needs.

use std::path::{Path, PathBuf};

fn compile(
    proto_dir: &Path,
    files: &[&str],
    out: &Path,
    name: &str,
    config: &mut prost_build::Config,
) -> Result<(), Box<dyn std::error::Error>> {
    let fds = protox::compile(files, [proto_dir])?;
    std::fs::write(out.join(name), prost::Message::encode_to_vec(&fds))?;
    config.compile_fds(fds)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    println!("cargo:rerun-if-changed={}", proto_dir.display());
    println!(
        "cargo:rerun-if-changed={}",
        proto_dir.join("foxglove").display()
    );
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    compile(
        &proto_dir,
        &["telemetry.proto", "tracker.proto"],
        &out,
        "dronetel_descriptor.bin",
        prost_build::Config::new().btree_map(["."]),
    )?;
    let foxglove = ["LocationFix", "Log", "SceneUpdate"];
    let roots: Vec<String> = foxglove
        .iter()
        .map(|s| format!("foxglove/{s}.proto"))
        .collect();
    let roots: Vec<&str> = roots.iter().map(String::as_str).collect();
    compile(
        &proto_dir,
        &roots,
        &out,
        "foxglove_descriptor.bin",
        &mut prost_build::Config::new(),
    )?;
    // One small set per schema, as Foxglove's own writers embed them: the
    // schema's file and its imports, without comments (a recording carries
    // each set twice, in its data and its summary).
    for (name, root) in foxglove.iter().zip(&roots) {
        let mut fds = protox::compile([root], [&proto_dir])?;
        for f in &mut fds.file {
            f.source_code_info = None;
        }
        std::fs::write(
            out.join(format!("foxglove.{name}.bin")),
            prost::Message::encode_to_vec(&fds),
        )?;
    }
    Ok(())
}
