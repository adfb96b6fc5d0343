//! Config loader: arbitrary text never panics, and an error always names
//! the file (the `file:line:` prefix the binary prints).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = dronetel::Config::parse(src, "fuzz.toml") {
        let msg = e.to_string();
        assert!(msg.starts_with("fuzz.toml"), "error without the file: {msg}");
        assert!(!msg.contains('\n'), "error on more than one line: {msg}");
    }
});
