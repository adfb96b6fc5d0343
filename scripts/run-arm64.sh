#!/usr/bin/env bash
# Runs the aarch64 build of dronetel on this (x86-64) machine under
# qemu-aarch64 user-mode emulation (Debian's qemu-user, with the arm64 C
# library of libc6-arm64-cross), installing both when missing:
#
#   1. `dronetel --version`
#   2. `dronetel check-config` on every configuration in config/ (*.toml;
#      foxglove-layout.json is a Foxglove layout, not a configuration)
#   3. `dronetel demo` for 5 s: its simulated GPS receiver, flight controller
#      and tracker (firmware-sim, linked into the binary, so arm64 code too)
#      feed the arm64 daemon; the run must print GPS, battery and tracking
#      frames.
#
#   scripts/run-arm64.sh                 # the binary in the .deb's build dir
#   scripts/run-arm64.sh path/to/dronetel
#   scripts/run-arm64.sh path/to/dronetel_*_arm64.deb   # the packaged binary
#
# Build first with `scripts/package-deb.sh --target aarch64-unknown-linux-gnu`.
# Not part of `cargo test` (it needs the cross build).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The workspace's target directory (CARGO_TARGET_DIR and config included).
target_dir() {
    cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}

bin="${1:-}"
if [ -z "$bin" ]; then
    bin="$(target_dir)/aarch64-unknown-linux-gnu/release/dronetel"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ "$bin" == *.deb ]]; then
    dpkg-deb -x "$bin" "$work/deb"
    bin="$work/deb/usr/bin/dronetel"
fi
if [ ! -x "$bin" ]; then
    echo "no aarch64 dronetel at $bin: run scripts/package-deb.sh --target aarch64-unknown-linux-gnu" >&2
    exit 1
fi

if ! command -v qemu-aarch64 >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
    echo "installing qemu-user and the arm64 C library (libc6-arm64-cross)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross
fi
qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
arm64() { "${qemu[@]}" "$bin" "$@"; }

echo "== $(file -b "$bin" 2>/dev/null | cut -d, -f1-2 || echo "$bin")"
echo "== dronetel --version"
arm64 --version

echo "== check-config on config/*.toml"
for cfg in config/*.toml; do
    arm64 check-config --config "$cfg"
done

# Which of the demo's frames a view printed: GPS fixes as "FIX 3D ...",
# batteries as "BATTERY ...", tracker frames as "TRACKING frame ...".
frames_seen() {
    local out=$1 missing=0 kind n
    for kind in "FIX 3D" BATTERY TRACKING; do
        n=$(grep -c "$kind" "$out" || true)
        echo "lines with \"$kind\": $n"
        [ "$n" -gt 0 ] || missing=1
    done
    return $missing
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

echo "== dronetel demo for 5 s"
# Its own stream port: another daemon may hold the default 4780.
set +e
timeout -s INT 5 "${qemu[@]}" "$bin" demo \
    --stream "127.0.0.1:$(free_port)" --link-dir "$work/links" >"$work/demo.out" 2>"$work/demo.err"
rc=$?
set -e
# timeout's 124 is the expected end (SIGINT after 5 s); anything else but 0 failed.
if [ "$rc" -ne 124 ] && [ "$rc" -ne 0 ]; then
    echo "demo exited $rc" >&2
    cat "$work/demo.err" >&2
    exit 1
fi
head -n 6 "$work/demo.out"
echo "..."
if frames_seen "$work/demo.out"; then
    echo "arm64 binary: ok"
    exit 0
fi
# qemu-user (7.2 in Debian 12, 10.0 in its backports) does not emulate the
# termios2 ioctls (TCGETS2) that the serialport crate opens every serial
# device with on Linux, so under emulation no pty opens ("open failed: Not
# a typewriter" or "Function not implemented"); arm64 Linux itself has
# them. Then the same simulated devices go over TCP instead.
if ! grep -q "open failed: \(Not a typewriter\|Function not implemented\)" "$work/demo.out"; then
    echo "the demo did not show GPS, battery and tracking frames" >&2
    cat "$work/demo.err" >&2
    exit 1
fi
echo "(qemu-user cannot open serial devices here: it does not emulate TCGETS2)"

echo "== the demo's devices over TCP: arm64 firmware-sim, arm64 dronetel run and tail, 5 s"
sim="$(dirname "$bin")/firmware-sim"
if [ ! -x "$sim" ]; then
    sim="$(target_dir)/aarch64-unknown-linux-gnu/release/firmware-sim"
fi
if [ ! -x "$sim" ]; then
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:-aarch64-linux-gnu-gcc} \
        CC_aarch64_unknown_linux_gnu=${CC_aarch64_unknown_linux_gnu:-aarch64-linux-gnu-gcc} \
        cargo build --release --locked --target aarch64-unknown-linux-gnu -p firmware-sim
fi
if ! command -v socat >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq socat
fi
fc=$(free_port) gps=$(free_port) trk=$(free_port) stream=$(free_port)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# The simulator (arm64) writes its ptys and serves the flight controller's
# MAVLink on TCP itself; socat (host) serves the GPS and tracker ptys on TCP.
mkdir -p "$work/sim"
"${qemu[@]}" "$sim" --link-dir "$work/sim" \
    --fc-tcp-listen "127.0.0.1:$fc" >"$work/sim.out" 2>"$work/sim.err" &
pids+=($!)
for _ in $(seq 100); do [ -e "$work/sim/tracker" ] && break; sleep 0.1; done
if [ ! -e "$work/sim/tracker" ]; then
    echo "the arm64 firmware-sim made no ptys in 10 s" >&2
    cat "$work/sim.err" >&2
    exit 1
fi
socat -u "OPEN:$work/sim/gps,rawer" "TCP-LISTEN:$gps,bind=127.0.0.1,reuseaddr" &
pids+=($!)
socat -u "OPEN:$work/sim/tracker,rawer" "TCP-LISTEN:$trk,bind=127.0.0.1,reuseaddr" &
pids+=($!)
printf '%s\n' \
    '[daemon]' 'vehicle_id = "arm64"' 'health_interval = "1s"' '' \
    '[[sensor]]' 'name = "gps"' 'kind = "gps"' 'protocol = "nmea"' "path = \"tcp://127.0.0.1:$gps\"" '' \
    '[[sensor]]' 'name = "fc"' 'kind = "flight_controller"' 'protocol = "mavlink"' "path = \"tcp://127.0.0.1:$fc\"" '' \
    '[[sensor]]' 'name = "tracker"' 'kind = "tracking"' 'protocol = "tracker"' "path = \"tcp://127.0.0.1:$trk\"" '' \
    '[stream]' "tcp = \"127.0.0.1:$stream\"" >"$work/run.toml"
arm64 check-config --config "$work/run.toml"
"${qemu[@]}" "$bin" run --allow-root --config "$work/run.toml" \
    2>"$work/run.err" &
pids+=($!)
listening=no
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $stream), 0.2)" 2>/dev/null &&
        listening=yes && break
    sleep 0.1
done
if [ "$listening" != yes ]; then
    echo "the arm64 daemon did not listen on 127.0.0.1:$stream in 10 s" >&2
    cat "$work/run.err" >&2
    exit 1
fi
set +e
timeout -s INT 5 "${qemu[@]}" "$bin" tail --tcp "127.0.0.1:$stream" \
    >"$work/tail.out" 2>"$work/tail.err"
set -e
grep -v HEALTH "$work/tail.out" | head -n 8
echo "..."
if ! frames_seen "$work/tail.out"; then
    echo "the arm64 daemon did not stream GPS, battery and tracking frames" >&2
    cat "$work/run.err" "$work/tail.err" >&2
    exit 1
fi
echo "arm64 binary: ok"
