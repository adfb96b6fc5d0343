#!/usr/bin/env bash
# Builds the dronetel .deb (release binary, systemd unit, default config in
# /etc/dronetel/, examples) with cargo-deb, installing cargo-deb when missing.
#
#   scripts/package-deb.sh                                   # this machine's arch
#   scripts/package-deb.sh --target aarch64-unknown-linux-gnu  # Raspberry Pi 4/5, Jetson
#
# Extra arguments go to `cargo deb`. Prints the path of the .deb and its
# contents. Not part of `cargo test`: a release build takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deb --version >/dev/null 2>&1; then
    echo "cargo-deb not found: installing it (cargo install cargo-deb --locked)" >&2
    cargo install cargo-deb --locked
fi

# --strip: the release profile keeps line tables, 30+ MB a Pi does not need.
deb=$(cargo deb -p dronetel --strip "$@" | tail -n 1)
echo "built: $deb"
if command -v dpkg-deb >/dev/null; then
    dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
    dpkg-deb --contents "$deb"
fi
