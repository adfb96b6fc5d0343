#!/usr/bin/env python3
"""Writes the .deb's /usr/share/doc/dronetel/copyright: dronetel's own
licence, then every third-party crate linked into /usr/bin/dronetel with its
licence expression and source, then each crate's licence files verbatim
(identical texts once, with the crates that ship them).

The crate set is what the release binary links for the target:
`cargo tree -p dronetel -e normal,no-proc-macro --target T` (default
features; build scripts, proc-macros and dev-dependencies are not in the
binary). Licence files come from the crates' published sources in cargo's
registry cache (`cargo metadata` gives their paths).

    scripts/third-party-notices.py [--target TRIPLE] --out PATH

Called by scripts/package-deb.sh; standard library only.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

LICENCE_PREFIXES = ("license", "licence", "copying", "notice", "unlicense", "copyright")


def cargo(*args):
    return subprocess.run(
        ["cargo", *args], check=True, capture_output=True, text=True
    ).stdout


def linked_crates(target):
    """(name, version) of every package the binary links, dronetel included."""
    args = ["tree", "--locked", "-p", "dronetel", "-e", "normal,no-proc-macro",
            "--prefix", "none", "-f", "{p}"]
    if target:
        args += ["--target", target]
    out = set()
    for line in cargo(*args).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith("v"):
            out.add((parts[0], parts[1][1:]))
    return out


def licence_files(pkg):
    root = os.path.dirname(pkg["manifest_path"])
    found = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if os.path.isfile(path) and name.lower().startswith(LICENCE_PREFIXES):
            found.append(path)
    if pkg.get("license_file"):
        path = os.path.normpath(os.path.join(root, pkg["license_file"]))
        if os.path.isfile(path) and path not in found:
            found.append(path)
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    meta_args = ["metadata", "--locked", "--format-version", "1"]
    if a.target:
        meta_args += ["--filter-platform", a.target]
    meta = json.loads(cargo(*meta_args))
    members = set(meta["workspace_members"])
    by_key = {(p["name"], p["version"]): p for p in meta["packages"]}
    own = next(p for p in meta["packages"] if p["name"] == "dronetel")

    crates = []
    for key in sorted(linked_crates(a.target)):
        pkg = by_key.get(key)
        if pkg is None:
            sys.exit(f"{key[0]} {key[1]}: not in cargo metadata")
        if pkg["id"] in members:
            continue
        crates.append(pkg)

    texts = {}  # sha256 -> (text, [crate labels], first path)
    missing = []
    for pkg in crates:
        label = f"{pkg['name']} {pkg['version']}"
        files = licence_files(pkg)
        if not files:
            missing.append(pkg)
        for path in files:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read().rstrip() + "\n"
            digest = hashlib.sha256(text.encode()).hexdigest()
            entry = texts.setdefault(digest, (text, [], os.path.basename(path)))
            if label not in entry[1]:
                entry[1].append(label)

    target = a.target or "the build machine's target"
    out = []
    w = out.append
    w("dronetel\n========\n")
    w(f"Copyright: {', '.join(own.get('authors') or ['dronetel developers'])}\n")
    w(f"License: {own.get('license')}\n")
    if own.get("repository"):
        w(f"Source: {own['repository']}\n")
    w("\n")
    w("Third-party crates linked into /usr/bin/dronetel\n")
    w("=================================================\n\n")
    w(f"Generated at package time for {target} by scripts/third-party-notices.py\n")
    w("(`cargo tree -p dronetel -e normal,no-proc-macro`): {} crates, all from\n".format(len(crates)))
    w("crates.io, unmodified; the source of each is at\n")
    w("https://crates.io/crates/NAME/VERSION. Their licence files follow the list.\n\n")
    width = max(len(f"{p['name']} {p['version']}") for p in crates)
    for pkg in crates:
        label = f"{pkg['name']} {pkg['version']}"
        w(f"  {label:<{width}}  {pkg.get('license') or 'see licence file'}\n")
    mpl = [p for p in crates if "MPL" in (p.get("license") or "")]
    if mpl:
        w("\nMPL-2.0 (file-level copyleft): the Source Code Form of these crates, as\n")
        w("linked (unmodified), is available at:\n")
        for pkg in mpl:
            w(f"  {pkg['name']} {pkg['version']}: https://crates.io/crates/{pkg['name']}/{pkg['version']}")
            if pkg.get("repository"):
                w(f" ({pkg['repository']})")
            w("\n")
    if missing:
        w("\nThese crates publish no licence file; their licence is the SPDX\n")
        w("expression above, whose standard text appears below for other crates:\n")
        for pkg in missing:
            authors = ", ".join(pkg.get("authors") or []) or "their authors"
            w(f"  {pkg['name']} {pkg['version']}: {pkg.get('license')}, copyright {authors}\n")
    w("\nLicence texts\n=============\n")
    for _, (text, labels, fname) in sorted(texts.items(), key=lambda kv: kv[1][1][0]):
        w("\n" + "-" * 78 + "\n")
        w(f"{fname} of: {', '.join(labels)}\n")
        w("-" * 78 + "\n\n")
        w(text)

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("".join(out))
    print(f"{a.out}: {len(crates)} crates, {len(texts)} distinct licence texts, "
          f"{len(missing)} crates without a licence file", file=sys.stderr)


if __name__ == "__main__":
    main()
