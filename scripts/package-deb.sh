#!/usr/bin/env bash
# Builds the dronetel .deb (release binary, systemd unit, default config in
# /etc/dronetel/, examples, and /usr/share/doc/dronetel/copyright with the
# licences of every crate the binary links) with cargo-deb, installing
# cargo-deb when missing.
#
#   scripts/package-deb.sh                                     # this machine's arch
#   scripts/package-deb.sh --target aarch64-unknown-linux-gnu  # Raspberry Pi 4/5, Jetson
#
# For a cross target it installs what is missing on a Debian/Ubuntu machine:
# the Rust standard library for the target (`rustup target add`) and Debian's
# cross C toolchain (gcc-<arch>-linux-gnu: the linker, and the compiler that
# `ring` and `zstd-sys` build their C with), and points cargo and the `cc`
# crate at it (CARGO_TARGET_<TRIPLE>_LINKER, CC_<triple>, AR_<triple>; values
# already set win).
#
# Extra arguments go to `cargo deb`. Prints the path of the .deb and its
# contents. Not part of `cargo test`: a release build takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

target=""
prev=""
for arg in "$@"; do
    case "$arg" in
    --target=*) target="${arg#--target=}" ;;
    *) [ "$prev" = "--target" ] && target="$arg" ;;
    esac
    prev="$arg"
done

# Runs a command as root (directly, or through sudo).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

host=$(rustc -vV | sed -n 's/^host: //p')
if [ -n "$target" ] && [ "$target" != "$host" ]; then
    case "$target" in
    aarch64-unknown-linux-gnu) gnu=aarch64-linux-gnu deb_arch=arm64 ;;
    armv7-unknown-linux-gnueabihf) gnu=arm-linux-gnueabihf deb_arch=armhf ;;
    *)
        echo "no cross toolchain known for $target: set CARGO_TARGET_<TRIPLE>_LINKER and CC_<triple> yourself" >&2
        gnu="" deb_arch=""
        ;;
    esac
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        echo "installing the Rust standard library for $target (rustup target add)" >&2
        rustup target add "$target"
    fi
    if [ -n "$gnu" ]; then
        if ! command -v "$gnu-gcc" >/dev/null; then
            echo "installing the $deb_arch cross C toolchain (gcc-$gnu, libc6-dev-$deb_arch-cross)" >&2
            as_root apt-get update -qq
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                "gcc-$gnu" "libc6-dev-$deb_arch-cross"
        fi
        triple_env=$(echo "$target" | tr 'a-z-' 'A-Z_')
        triple_cc=$(echo "$target" | tr '-' '_')
        linker_var="CARGO_TARGET_${triple_env}_LINKER"
        export "$linker_var=${!linker_var:-$gnu-gcc}"
        cc_var="CC_${triple_cc}"
        export "$cc_var=${!cc_var:-$gnu-gcc}"
        ar_var="AR_${triple_cc}"
        export "$ar_var=${!ar_var:-$gnu-ar}"
        echo "cross toolchain: $linker_var=${!linker_var}, $cc_var=${!cc_var}" >&2
    fi
fi

if ! cargo deb --version >/dev/null 2>&1; then
    echo "cargo-deb not found: installing it (cargo install cargo-deb --locked)" >&2
    cargo install cargo-deb --locked
fi

if ! command -v python3 >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3
fi
# The licences of everything the binary links, for this target: the asset
# `.deb-build/copyright` of crates/daemon/Cargo.toml (git-ignored).
python3 scripts/third-party-notices.py ${target:+--target "$target"} --out .deb-build/copyright

# --strip: the release profile keeps line tables, 30+ MB a Pi does not need.
deb=$(cargo deb -p dronetel --strip "$@" | tail -n 1)
echo "built: $deb ($(du -h "$deb" | cut -f1))"
if command -v dpkg-deb >/dev/null; then
    dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
    dpkg-deb --contents "$deb"
fi
