//! Configuration text the tests assemble: the sections of a minimal daemon
//! reading one simulated GPS, so each test only writes what it is about.

use std::path::Path;

/// The `[daemon]`, `[[sensor]]` and `[stream]` sections for a simulated GPS
/// at `gps` (TCP stream on an ephemeral loopback port), followed by `extra`.
pub fn config_text(gps: &Path, extra: &str) -> String {
    format!(
        r#"
[daemon]
vehicle_id = "v1"
shutdown_grace = "5s"

[[sensor]]
name = "gps0"
kind = "gps"
protocol = "nmea"
path = "{gps}"
baud = 115200
stale_after = "2s"

[stream]
tcp = "127.0.0.1:0"
max_clients = 8
{extra}
"#,
        gps = gps.display()
    )
}

/// A `[[sensor]]` section for an NMEA GPS on `path`.
pub fn gps_section(name: &str, path: &Path) -> String {
    format!(
        "\n[[sensor]]\nname = \"{name}\"\nkind = \"gps\"\nprotocol = \"nmea\"\npath = \"{}\"\nbaud = 115200\nstale_after = \"2s\"\n",
        path.display()
    )
}
