#!/usr/bin/env bash
# The machine's floor for the gpsd-port CPU row: the `--gpsd-only` bench
# with floor_gpsd.c (wake, read, one canned send per cycle; no parsing) in
# place of dronetel, gpsd measured in the same run as usual. Needs gcc,
# gpsd and gpspipe (scripts/bench.sh installs the last two).
#
#   scripts/floor/run.sh [--paced-secs 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -o "$work/floor_gpsd" scripts/floor/floor_gpsd.c
# dronetel-bench starts its daemon as `BIN --allow-root run --config FILE`;
# the wrapper takes the pty and the [gpsd] port from that file.
cat > "$work/dronetel" <<WRAP
#!/bin/sh
cfg="\$4"
dev=\$(sed -n 's/^path = "\(.*\)"/\1/p' "\$cfg" | head -n 1)
port=\$(sed -n 's/^listen = ".*:\([0-9]*\)"/\1/p' "\$cfg" | head -n 1)
exec "$work/floor_gpsd" "\$dev" "\$port"
WRAP
chmod +x "$work/dronetel"
nice -n 5 cargo build --release -p dronetel-bench
DRONETEL_BIN="$work/dronetel" "$target/release/dronetel-bench" --gpsd-only "$@"
