//! Lays out the release binary's code: the functions of a GPS cycle go
//! first, side by side (`hot-code.ld`, written by `scripts/hot_code.py`).
//! At 10 Hz a cycle starts with cold caches and TLB, and gathered its code
//! touches about 50 pages instead of about 90; the `[gpsd]` port's CPU per
//! fix fell by about a twentieth (README, Performance).
//!
//! Only the `dronetel` binary of release builds for Linux: tests and debug
//! builds link as before. The script is an `INSERT` script, which GNU ld and
//! LLVM's lld both read as an addition to their default layout; for a
//! linker that reads no linker scripts, `DRONETEL_CODE_LAYOUT=0` at build
//! time links without it.

fn main() {
    println!("cargo::rerun-if-changed=hot-code.ld");
    println!("cargo::rerun-if-env-changed=DRONETEL_CODE_LAYOUT");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let wanted = std::env::var("DRONETEL_CODE_LAYOUT").map_or(true, |v| v != "0");
    if release && linux && wanted {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
        println!("cargo::rustc-link-arg-bin=dronetel=-Wl,-T,{dir}/hot-code.ld");
    }
}
