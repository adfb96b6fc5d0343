#!/usr/bin/env python3
"""Instructions per TPV delivered to one `gpspipe -w`, counted by callgrind
(user-space instructions: unlike CPU time they do not depend on the load of
a shared machine; kernel time, i.e. syscalls and wake-ups, is not in them).

Each server runs under `valgrind --tool=callgrind` on its own pty and gets N
GPS cycles at 10 Hz (GGA, GSA, 3 GSV with 12 satellites, RMC; time steps
0.1 s), then SIGTERM (callgrind writes its totals at exit). Two lengths;
(Ir(long) - Ir(short)) / (TPV(long) - TPV(short)) removes start-up and
shut-down. gpsd runs as nobody (started as root it drops privileges before
callgrind writes its file).

It also prints each server's code footprint per cycle: the 64-byte lines
and 4 KiB pages of machine code it executes in a cycle, from callgrind's
per-instruction counts (--dump-instr=yes) of the two lengths (a line run
k more times in the long run than in the short one counts min(1, k/cycles)).
At 10 Hz every wake-up starts with cold caches, so on a virtual machine
this figure tells CPU time per cycle better than the instruction count.

    scripts/gpsd_instructions.py gpsd /usr/sbin/gpsd gpsd 50 250
    scripts/gpsd_instructions.py dronetel target/release/dronetel dronetel 50 250

With --sim the servers get firmware-sim's receiver instead (a u-blox M9
in NMEA 4.10: RMC, VTG, GGA, four GSA, GSV of four constellations, GLL,
GST, ZDA; about 37 satellites), the cycle `dronetel-bench` feeds them:
the cycles are first read from firmware-sim at 10 Hz (target/release/ or
target/debug/firmware-sim, or $FIRMWARE_SIM; `cargo build -p firmware-sim`),
then written as below. With --cycles FILE they are those of FILE (written
by scripts/split/run.sh with SPLIT_CYCLES=FILE: each read of the daemon in
the bench as a 4-byte length and its bytes), from the 11th on.

Needs valgrind, gpsd, gpspipe; writes /tmp/gpsd-instructions/TAG.N.cg.
"""
import os, pty, subprocess, sys, time, socket, threading, signal, re, tempfile
from functools import reduce

def nmea(body):
    return "$%s*%02X\r\n" % (body, reduce(lambda a, b: a ^ b, body.encode(), 0))

RECORDED = []

def recorded(path):
    """The cycles a daemon read in the bench (see the module's doc)."""
    data, at, out = open(path, "rb").read(), 0, []
    while at + 4 <= len(data):
        n = int.from_bytes(data[at:at + 4], "little")
        out.append(data[at + 4:at + 4 + n])
        at += 4 + n
    return out

def simulated(n):
    """`n` cycles of firmware-sim's GPS receiver at 10 Hz, read from its pty."""
    import tty
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target")
    sim = os.environ.get("FIRMWARE_SIM") or next(
        (p for p in (os.path.join(root, k, "firmware-sim") for k in ("release", "debug"))
         if os.path.exists(p)), None)
    if not sim:
        sys.exit("--sim: no firmware-sim; cargo build -p firmware-sim")
    d = tempfile.mkdtemp(prefix="sim-")
    proc = subprocess.Popen([sim, "--link-dir", d, "--gps-rate", "10"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(os.path.join(d, "gps")): break
            time.sleep(0.05)
        fd = os.open(os.path.join(d, "gps"), os.O_RDONLY | os.O_NOCTTY)
        tty.setraw(fd)
        out, pending = [], b""
        while len(out) < n:
            pending += os.read(fd, 65536)
            # A cycle ends with its last sentence (ZDA); keep whole cycles.
            end = pending.rfind(b"ZDA,")
            end = pending.find(b"\n", end) if end >= 0 else -1
            if end >= 0:
                out.append(pending[:end + 1])
                pending = pending[end + 1:]
        os.close(fd)
        return out
    finally:
        proc.terminate(); proc.wait()

def cycle(i):
    if RECORDED:
        if 10 + i >= len(RECORDED):
            sys.exit("--cycles: %d cycles recorded, %d needed" % (len(RECORDED), 11 + i))
        return RECORDED[10 + i]
    t = 12 * 3600 + i * 0.1
    hh, mm, ss = int(t // 3600), int(t % 3600 // 60), t % 60
    tod = "%02d%02d%05.2f" % (hh, mm, ss)
    lat = 4723.0 + (i % 600) * 0.0001
    s = nmea("GPGGA,%s,%.5f,N,00832.50000,E,1,08,0.9,488.%d,M,47.0,M,," % (tod, lat, i % 10))
    s += nmea("GPGSA,A,3,01,03,06,09,12,17,19,22,,,,,1.5,0.9,1.2")
    sats = [(1, 40, 83, 46), (3, 12, 297, 38), (6, 35, 140, 44), (9, 67, 21, 48),
            (12, 19, 230, 36), (17, 55, 310, 47), (19, 8, 170, 30), (22, 30, 60, 41),
            (25, 5, 200, 25), (28, 15, 350, 33), (31, 25, 110, 39), (32, 45, 250, 45)]
    for m in range(3):
        part = ",".join("%02d,%02d,%03d,%02d" % x for x in sats[m * 4:m * 4 + 4])
        s += nmea("GPGSV,3,%d,12,%s" % (m + 1, part))
    s += nmea("GPRMC,%s,A,%.5f,N,00832.50000,E,12.5,181.4,011226,,,A" % (tod, lat))
    return s.encode()

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def run(kind, binary, n, out, extra=()):
    m, sl = pty.openpty(); path = os.ttyname(sl)
    port = free_port(); d = tempfile.mkdtemp(prefix="cg-")
    cg = ["valgrind", "--tool=callgrind", "--dump-instr=yes", "--callgrind-out-file=" + out] + list(extra)

    if kind == "gpsd":
        # As nobody: gpsd started as root drops to nobody before callgrind
        # writes its file, and then cannot.
        os.chmod(path, 0o666); os.chmod(d, 0o777)
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cg + [binary, "-N", "-n", "-b", "-s", "115200", "-F", d + "/sock", "-S", str(port), path]
    else:
        cfg = d + "/d.toml"
        open(cfg, "w").write('[daemon]\nvehicle_id = "cg"\n\n[[sensor]]\nname = "gps"\nkind = "gps"\n'
            'protocol = "nmea"\npath = "%s"\nbaud = 115200\n\n[stream]\nunix = "%s/s.sock"\n\n'
            '[gpsd]\nlisten = "127.0.0.1:%d"\n' % (path, d, port))
        cmd = cg + [binary, "--allow-root", "run", "--config", cfg]
    srv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(d + "/log", "w"),
                           env=dict(os.environ, RUST_LOG="warn"))
    for _ in range(600):
        try: socket.create_connection(("127.0.0.1", port)).close(); break
        except OSError: time.sleep(0.05)
    pipe = subprocess.Popen(["gpspipe", "-w", "127.0.0.1:%d" % port], stdout=subprocess.PIPE)
    tpv = [0]
    def count():
        for line in pipe.stdout:
            if b'"class":"TPV"' in line: tpv[0] += 1
    th = threading.Thread(target=count, daemon=True); th.start()
    time.sleep(2)
    t0 = time.monotonic()
    for i in range(n):
        os.write(m, cycle(i))
        time.sleep(max(0, t0 + (i + 1) * 0.1 - time.monotonic()))
    time.sleep(2)
    pipe.terminate(); pipe.wait()
    srv.send_signal(signal.SIGTERM); srv.wait(timeout=120)
    os.close(m)
    ir = None
    for line in open(out):
        if line.startswith("totals:") or line.startswith("summary:"):
            ir = int(line.split()[1])
    return ir, tpv[0]

def executed(path):
    """Times each instruction address ran, from a callgrind file written
    with --dump-instr=yes (positions "instr line", relative addresses as
    +N/-N/*; the line after calls= is the call's inclusive cost)."""
    counts, pos, npos, after_call = {}, [0, 0], 1, False
    for line in open(path, errors="replace"):
        if line.startswith("positions:"):
            npos = len(line.split()) - 1
            continue
        if line.startswith("calls="):
            after_call = True
            continue
        if not line or not (line[0].isdigit() or line[0] in "+-*"):
            continue
        parts = line.split()
        for k, v in enumerate(parts[:npos]):
            if v == "*":
                continue
            if v[0] == "+": pos[k] += int(v[1:], 0)
            elif v[0] == "-": pos[k] -= int(v[1:], 0)
            else: pos[k] = int(v, 0)
        if after_call:
            after_call = False
            continue
        if len(parts) > npos:
            counts[pos[0]] = counts.get(pos[0], 0) + int(parts[npos])
    return counts

def footprint(short_cg, long_cg, cycles):
    """Code lines and pages executed per cycle (see the module's doc)."""
    a, b = executed(short_cg), executed(long_cg)
    lines = {}
    for addr, n in b.items():
        k = n - a.get(addr, 0)
        if k > 0:
            lines[addr >> 6] = max(lines.get(addr >> 6, 0), k)
    pages = {}
    for line, k in lines.items():
        pages[line >> 6] = max(pages.get(line >> 6, 0), k)
    per = lambda m: sum(min(1.0, k / cycles) for k in m.values())
    return per(lines), per(pages)

OUT = "/tmp/gpsd-instructions"

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    os.chmod(OUT, 0o1777)
    if "--sim" in sys.argv:
        sys.argv.remove("--sim")
        RECORDED.extend(simulated(11 + int(sys.argv[5])))
    if "--cycles" in sys.argv:
        k = sys.argv.index("--cycles")
        RECORDED.extend(recorded(sys.argv[k + 1]))
        del sys.argv[k:k + 2]
    kind, binary, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    short, long_ = int(sys.argv[4]), int(sys.argv[5])
    res = {}
    for n in (short, long_):
        res[n] = run(kind, binary, n, os.path.join(OUT, "%s.%d.cg" % (tag, n)))
        print(tag, n, "Ir", res[n][0], "TPV", res[n][1], flush=True)
    (a, ta), (b, tb) = res[short], res[long_]
    print("%s: %.0f instructions per TPV (%d TPVs more, %d Ir more)" % (tag, (b - a) / max(1, tb - ta), tb - ta, b - a), flush=True)
    lines, pages = footprint(os.path.join(OUT, "%s.%d.cg" % (tag, short)),
                             os.path.join(OUT, "%s.%d.cg" % (tag, long_)), long_ - short)
    print("%s: code executed per cycle: %.0f 64-byte lines (%.0f KiB), %.0f 4 KiB pages" % (tag, lines, lines / 16, pages), flush=True)
