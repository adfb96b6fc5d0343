#!/usr/bin/env bash
# Where each server's CPU per GPS cycle goes: the `--gpsd-only` bench with
# split.c preloaded into every process it starts. Prints, per gpsd and per
# dronetel, the µs per wake-up from the wait's return to the next wait,
# the part of it spent in read and in write/send, and the rest (user
# space). Needs gcc, gpsd and gpspipe (scripts/bench.sh installs the last
# two). SPLIT_CYCLES=FILE also records the daemon's reads (the bench's
# cycles) for `scripts/gpsd_instructions.py --cycles FILE`.
#
#   scripts/split/run.sh [--paced-secs 20] [--gpsd-hz 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -shared -fPIC -o "$work/split.so" scripts/split/split.c -ldl
chmod 711 "$work"
mkdir "$work/out"
chmod 1777 "$work/out"
# The daemon on its own, as scripts/bench.sh builds it (its hot-code list
# matches only the names of that build).
nice -n 5 cargo build --release -p dronetel
nice -n 5 cargo build --release -p dronetel-bench
LD_PRELOAD="$work/split.so" SPLIT_DIR="$work/out" "$target/release/dronetel-bench" --gpsd-only "$@"
echo
echo "per wake-up, in µs (active = read + write + user):"
cat "$work/out"/* | grep -E '^[^ ]*(gpsd|dronetel) ' | sort
