#!/usr/bin/env bash
# Checks the dependency tree against deny.toml: RustSec advisories
# (vulnerable, unmaintained, unsound crates), banned and duplicate crates,
# licences, sources. Offline: the advisory database is the snapshot in
# ../shared/advisory-db/ (see its SNAPSHOT file), never the network.
#
#   scripts/deny.sh                 # the four checks, as .ci/run runs them
#   scripts/deny.sh licenses        # one of them
#
# cargo-deny is installed when missing (pinned version, `cargo install
# --locked`, without the fat LTO and single codegen unit of its release
# profile, at opt-level 1: on this 2-core machine, idle, 118 s instead of
# 151 s; the check runs in seconds either way). The snapshot is copied to
# a temp dir and made a git repository there, and git is told (through a
# temporary GIT_CONFIG_GLOBAL) to fetch the upstream URL from that copy;
# ../shared is only read.
set -euo pipefail
cd "$(dirname "$0")/.."

DENY_VERSION=0.20.2
SNAPSHOT=../shared/advisory-db

if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $DENY_VERSION" ]; then
    echo "cargo-deny $DENY_VERSION not found: installing it" >&2
    start=$(date +%s)
    CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
        cargo install --locked "cargo-deny@$DENY_VERSION"
    echo "cargo-deny installed in $(($(date +%s) - start)) s" >&2
fi

if [ ! -f "$SNAPSHOT/SNAPSHOT" ]; then
    echo "no advisory database snapshot at $SNAPSHOT (see its SNAPSHOT file)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$SNAPSHOT" "$tmp/advisory-db"
chmod -R u+w "$tmp/advisory-db"
git -C "$tmp/advisory-db" init -q -b main
git -C "$tmp/advisory-db" add -A
git -C "$tmp/advisory-db" -c user.name=dronetel -c user.email=ci@localhost \
    -c commit.gpgsign=false commit -q -m "RustSec advisory-db snapshot"
cat >"$tmp/gitconfig" <<EOF
[url "file://$tmp/advisory-db"]
	insteadOf = https://github.com/RustSec/advisory-db
	insteadOf = https://github.com/rustsec/advisory-db
EOF
export GIT_CONFIG_GLOBAL="$tmp/gitconfig"
# deny.toml's db-path: the clone goes to the temp dir, not $CARGO_HOME.
export DRONETEL_ADVISORY_DBS="$tmp/dbs"

# The clone of the local copy (the URL is rewritten: nothing leaves the
# machine), then the checks with fetching off.
cargo deny fetch db
# `cargo metadata --offline` needs every crate of the lock file in cargo's
# cache, including those of other platforms: fetch them from crates.io.
cargo fetch --locked --quiet
# deny.toml ignores RUSTSEC-2024-0436 (paste, unmaintained) because mcap,
# the only crate that depends on it, uses it only in its own `#[cfg(test)]
# mod tests`: check that this still holds for the mcap in Cargo.lock.
cargo metadata --locked --offline --format-version 1 | python3 -c '
import json, os, re, sys
meta = json.load(sys.stdin)
pkgs = {p["id"]: p for p in meta["packages"]}
paste = {i for i, p in pkgs.items() if p["name"] == "paste"}
users = [pkgs[n["id"]] for n in meta["resolve"]["nodes"] if any(d["pkg"] in paste for d in n["deps"])]
bad = [p["name"] for p in users if p["name"] != "mcap"]
for p in users:
    if p["name"] != "mcap":
        continue
    src = os.path.join(os.path.dirname(p["manifest_path"]), "src")
    for root, _, files in os.walk(src):
        for f in files:
            text = open(os.path.join(root, f), encoding="utf-8").read()
            uses = [m.start() for m in re.finditer(r"\bpaste\b", text)]
            tests = re.search(r"#\[cfg\(test\)\]\s*mod tests\b", text)
            if uses and (tests is None or min(uses) < tests.start()):
                bad.append(f"mcap {p['version']} {f}")
if bad:
    sys.exit("paste is used outside mcap tests (" + ", ".join(bad) + "): revisit the RUSTSEC-2024-0436 ignore in deny.toml")
'
if [ $# -eq 0 ]; then
    set -- advisories bans licenses sources
fi
cargo deny --offline --locked check --show-stats "$@"
