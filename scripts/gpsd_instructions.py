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

    scripts/gpsd_instructions.py gpsd /usr/sbin/gpsd gpsd 50 250
    scripts/gpsd_instructions.py dronetel target/release/dronetel dronetel 50 250

Needs valgrind, gpsd, gpspipe; writes /tmp/gpsd-instructions/TAG.N.cg.
"""
import os, pty, subprocess, sys, time, socket, threading, signal, re, tempfile
from functools import reduce

def nmea(body):
    return "$%s*%02X\r\n" % (body, reduce(lambda a, b: a ^ b, body.encode(), 0))

def cycle(i):
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

def run(kind, binary, n, out):
    m, sl = pty.openpty(); path = os.ttyname(sl)
    port = free_port(); d = tempfile.mkdtemp(prefix="cg-")
    cg = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]

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

OUT = "/tmp/gpsd-instructions"

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    os.chmod(OUT, 0o1777)
    kind, binary, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    short, long_ = int(sys.argv[4]), int(sys.argv[5])
    res = {}
    for n in (short, long_):
        res[n] = run(kind, binary, n, os.path.join(OUT, "%s.%d.cg" % (tag, n)))
        print(tag, n, "Ir", res[n][0], "TPV", res[n][1], flush=True)
    (a, ta), (b, tb) = res[short], res[long_]
    print("%s: %.0f instructions per TPV (%d TPVs more, %d Ir more)" % (tag, (b - a) / max(1, tb - ta), tb - ta, b - a), flush=True)
