#!/usr/bin/env python3
"""Writes crates/daemon/hot-code.ld: the daemon's functions that run on
every GPS cycle, in the order the release link lays them out, side by side
at the start of the program's code.

At 10 Hz every cycle starts with cold caches and TLB, and the cost of a
cycle follows the code lines and pages it touches more than its
instructions. Left where the compiler emits them, the ~160 functions of a
cycle lie on about 90 pages of a 10 MB text; gathered, on about 50.

    cargo build --release -p dronetel
    cargo build -p firmware-sim
    scripts/hot_code.py target/release/dronetel

It runs `scripts/gpsd_instructions.py`'s callgrind runs (a GPS receiver
at 10 Hz, one `gpspipe -w` on the `[gpsd]` port, 50 and 250 cycles), once
with that script's GPS-only cycle and once with firmware-sim's
four-constellation receiver (its `--sim`; needs `cargo build -p
firmware-sim`, in a cargo call of its own), keeps the functions of the
daemon's binary that ran more often in the long run than in the short one
(those of a cycle, not of start-up) and
writes their sections, the most often run first: each by its exact name,
then again as a pattern in which the hash at the end of a Rust symbol
(`17h…E`) and the standard library's crate disambiguators (`Cs…_`) become
`*`. The names place exactly the instances of generic functions that run;
the patterns keep the list useful across builds and toolchains (a rebuild
that changes a function's hash leaves it to its pattern, which also takes
the generic function's other instances: less compact, still together).
Run this again when the code of a cycle changes; a stale line only
matches nothing.

crates/daemon/build.rs hands the file to the linker (`-T`, an `INSERT`
script: the default layout stays, the listed sections go first) for the
`dronetel` binary of release builds on Linux.
"""
import importlib.util, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("gi", os.path.join(HERE, "gpsd_instructions.py"))
gi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gi)

SHORT, LONG = 50, 250
OUT = os.path.join(HERE, "..", "crates", "daemon", "hot-code.ld")


def self_costs(path, binary):
    """Instructions each function of `binary` ran itself, by symbol, from a
    callgrind file written with --demangle=no (names are compressed as
    `fn=(id) name` the first time, `fn=(id)` after; the line after
    `calls=` is a call's inclusive cost, not the caller's own). Valgrind
    takes only the `.text` section for the binary's code: a binary already
    laid out by this script has its hot functions in an object it calls
    `???` (still named from the symbol table), so those count too."""
    names, objects = {}, {}
    ob = fn = None
    costs, after_call, npos = {}, False, 1

    def ref(line, table):
        body = line.split("=", 1)[1].strip()
        if body.startswith("("):
            key, _, name = body[1:].partition(")")
            if name.strip():
                table[key] = name.strip()
            return table.get(key)
        return body

    for line in open(path, errors="replace"):
        if line.startswith("positions:"):
            npos = len(line.split()) - 1
        elif line.startswith("ob="):
            ob = ref(line, objects)
        elif line.startswith("fn="):
            fn = ref(line, names)
        elif line.startswith(("cob=", "cfn=")):
            ref(line, objects if line[1] == "o" else names)
        elif line.startswith("calls="):
            after_call = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            if after_call:
                after_call = False
            elif ob in (binary, "???") and fn:
                parts = line.split()
                if len(parts) > npos:
                    costs[fn] = costs.get(fn, 0) + int(parts[npos])
    return costs


def hot(binary, short_cg, long_cg):
    """The binary's functions run in the cycles between the two runs, with
    how many instructions of theirs ran there, most first."""
    a, b = self_costs(short_cg, binary), self_costs(long_cg, binary)
    ran = {name: n - a.get(name, 0) for name, n in b.items() if n > a.get(name, 0)}
    return sorted(ran.items(), key=lambda x: -x[1])


def section(symbol):
    """The input sections of `symbol`: `.text.NAME`, and the
    `.text.unlikely.NAME` and `.text.startup.NAME` LLVM gives functions it
    takes for cold (`#[cold]`, as `RawVec`'s growth) or for start-up
    (`main`, where the runtime's loop runs), which a cycle may run all the
    same."""
    return ".text.*" + symbol


def pattern(symbol):
    """An input-section pattern for `symbol` that survives rebuilds
    (`.text.` only: with the hash a `*`, `.text.*` would also take the
    cold parts LLVM splits off functions, `.text.unlikely.NAME.cold.1`,
    in among the hot code)."""
    p = re.sub(r"17h[0-9a-f]{16}E$", "17h*", symbol)
    p = re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", p)
    return ".text." + p


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/hot_code.py target/release/dronetel")
    binary = sys.argv[1]
    os.makedirs(gi.OUT, exist_ok=True)
    os.chmod(gi.OUT, 0o1777)
    # Two receivers: the script's own GPS-only cycle and firmware-sim's
    # four-constellation u-blox M9 (the bench's), so that the code of both
    # kinds of cycle is laid out; a function's weight is its instructions
    # in the two together.
    ran = {}
    for shape, cycles in (("gps", []), ("sim", gi.simulated(11 + LONG))):
        gi.RECORDED[:] = cycles
        cg = {}
        for n in (SHORT, LONG):
            cg[n] = os.path.join(gi.OUT, "hot.%s.%d.cg" % (shape, n))
            ir, tpv = gi.run("dronetel", binary, n, cg[n], ["--demangle=no"])
            print(shape, "cycles", n, "instructions", ir, "TPV", tpv, flush=True)
        for name, k in hot(os.path.abspath(binary), cg[SHORT], cg[LONG]):
            ran[name] = ran.get(name, 0) + k
    write([name for name, _ in sorted(ran.items(), key=lambda x: -x[1])])


def write(names):
    """The script: each function by its exact name first (one instance of a
    generic function), then the patterns, which gather whatever a rebuild
    renamed (and with a generic function's hot instance all its others)."""
    seen, lines = set(), []
    for p in [section(n) for n in names] + [pattern(n) for n in names]:
        if p not in seen:
            seen.add(p)
            lines.append("    *(%s)" % p)
    with open(OUT, "w") as f:
        f.write("/* Written by scripts/hot_code.py: the functions of a GPS cycle\n"
                "   (NMEA in, gpsd JSON out), most run first, laid out together\n"
                "   ahead of the rest of the code. See that script. */\n"
                "SECTIONS\n{\n  .text.dronetel_hot :\n  {\n")
        f.write("\n".join(lines) + "\n")
        f.write("  }\n}\nINSERT BEFORE .text;\n")
    print("wrote %d patterns to %s" % (len(lines), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
