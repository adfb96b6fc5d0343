#!/usr/bin/env bash
# The benchmark suite (not part of CI): decoder throughput (divan: NMEA,
# MAVLink, tracker and u-blox UBX; NMEA and UBX also through the nmea and
# ublox crates), then the
# whole daemon over real ptys with gpsd side by side. Installs gpsd and
# gpspipe (Debian packages gpsd, gpsd-clients) when missing; the gpsd-port
# runs also fetch Debian 13's gpsd 3.25 into target/tmp (as the capture
# test does) and leave it out when it cannot be fetched.
#
#   scripts/bench.sh                 # everything (about 5 minutes of runs)
#   scripts/bench.sh --flood-only    # flood runs only (dronetel and gpsd)
#   scripts/bench.sh --fc-net-only   # flight controller: serial vs UDP only
#   scripts/bench.sh --nominal-only  # the three sensors at nominal rates only
#   scripts/bench.sh --fanout-only   # the fan-out runs only
#   scripts/bench.sh --gpsd-only     # gpsd 3.22 and Debian 13's gpsd 3.25 vs dronetel's [gpsd] port:
#                                    # CPU per TPV at 10 and 200 Hz
#   BENCH_SKIP_DECODE=1 scripts/bench.sh ...   # skip the divan benches
#
# Arguments go to the dronetel-bench binary (see `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v gpsd >/dev/null || ! command -v gpspipe >/dev/null; then
    echo "installing gpsd and gpsd-clients ..." >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq || true
    $sudo apt-get install -y -qq --no-install-recommends gpsd gpsd-clients >/dev/null \
        || echo "gpsd could not be installed: its comparison is left out" >&2
fi

# The daemon on its own, as it is packaged: built together with the bench
# (which depends on the test kit), its dependencies would be compiled with
# the features the bench adds, under other symbol names than
# crates/daemon/hot-code.ld lists, and the code layout would be lost.
nice -n 5 cargo build --release -p dronetel
nice -n 5 cargo build --release -p dronetel-bench
target="${CARGO_TARGET_DIR:-target}"

echo "== machine"
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "kernel $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -z "${BENCH_SKIP_DECODE:-}" ]; then
    echo "== decoder throughput (cargo bench -p dronetel-bench --bench decode)"
    cargo bench -p dronetel-bench --bench decode
fi

echo "== whole daemon over ptys"
DRONETEL_BIN="$target/release/dronetel" "$target/release/dronetel-bench" "$@"
