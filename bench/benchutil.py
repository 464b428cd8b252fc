#!/usr/bin/python3
"""benchutil.py - helpers of bench/materialize.sh (Python 3 standard library only).

  benchutil.py run --out JSONL --label L [--watch PID] [--log FILE]
                   [--output FILE] -- CMD...
      Runs CMD (stdio inherited, or stdout and stderr to --output FILE), waits for it with wait4() and appends one
      JSON line to JSONL: wall time (monotonic clock), the child's peak RSS
      in KiB (ru_maxrss of that child and the descendants it waited for, or,
      when that is not above this wrapper's own RSS, which a forked child
      inherits in ru_maxrss until it execs, the child's VmHWM polled from
      /proc every 2 ms), its user and system CPU, its exit status; with --watch, the CPU time the
      process PID used over the same interval (utime + stime from
      /proc/PID/stat, all threads) and that of its main thread alone
      (/proc/PID/task/PID/stat); with --log, what swrepart materialize
      printed there (objects, MiB, fetch and merge seconds, records).
      Exits with CMD's status.

  benchutil.py s3fixtures SRC DATADIR BUCKET
      Puts every file under SRC into the S3 test server's data directory as
      the object of the same key (tests/s3server/README.md, "Data directory
      layout"): a hard link (a copy across file systems) named
      KEY._S3rver_object plus its MD5 in KEY._S3rver_object.md5, so the
      server computes no ETag during the benchmark.

  benchutil.py sizes LIST
      Prints "FILES BYTES" for the paths listed in LIST (one a line).

  benchutil.py report JSONL [--meta KEY=VALUE]...
      Prints the summary table of the runs in JSONL.
"""
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(path):
    """utime + stime (seconds) from a /proc/.../stat file, None if gone."""
    try:
        with open(path) as f:
            s = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its ')'.
    rest = s[s.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def machine_cpu():
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    total = sum(v[:8])             # guest time is already in user
    return total - v[3] - v[4], total


def parse_materialize(path):
    """The figures of swrepart materialize's per-day line."""
    out = {}
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return out
    m = re.search(r"^\d{4}-\d\d-\d\d: (\d+) objects listed, (\d+) fetched "
                  r"\(([\d.]+) ([KMGT]?i?B)\) in ([\d.]+) s.*?(\d+) records "
                  r"merged in ([\d.]+) s", text, re.M)
    if m:
        out["listed"] = int(m.group(1))
        out["fetched"] = int(m.group(2))
        out["fetch_s"] = float(m.group(5))
        out["records"] = int(m.group(6))
        out["merge_s"] = float(m.group(7))
    return out


def cmd_run(argv):
    out = label = log = output = None
    watch = None
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--out":
            out = argv.pop(0)
        elif opt == "--label":
            label = argv.pop(0)
        elif opt == "--watch":
            watch = int(argv.pop(0))
        elif opt == "--log":
            log = argv.pop(0)
        elif opt == "--output":
            output = argv.pop(0)
        else:
            sys.exit("benchutil run: unknown option " + opt)
    if not argv or out is None or label is None:
        sys.exit("usage: benchutil.py run --out F --label L [--watch PID] "
                 "[--log F] [--output F] -- CMD...")
    cmd = argv[1:]
    w0 = wm0 = None
    if watch:
        w0 = proc_cpu("/proc/%d/stat" % watch)
        wm0 = proc_cpu("/proc/%d/task/%d/stat" % (watch, watch))
    # ru_maxrss of a child counts the memory of the process it was forked
    # from until its exec (this wrapper's), so it is exact only above that
    # floor; below it, the child's VmHWM (its own peak, read from
    # /proc/PID/status every 2 ms while it runs) is used instead.
    done = {}

    def waiter(pid):
        _, status, ru = os.wait4(pid, 0)
        done["t"] = time.monotonic()
        done["status"], done["ru"] = status, ru

    m0 = machine_cpu()
    t0 = time.monotonic()
    if output:
        with open(output, "wb") as f:
            p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    else:
        p = subprocess.Popen(cmd)
    def stop(_signum, _frame):
        # Stopped (bench/materialize.sh's cleanup): stop the command too,
        # and return once it has exited (recorded as failed).
        try:
            os.kill(p.pid, signal.SIGTERM)
        except OSError:
            pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    th = threading.Thread(target=waiter, args=(p.pid,))
    th.start()
    hwm = 0
    while "t" not in done:
        try:
            with open("/proc/%d/status" % p.pid) as f:
                for ln in f:
                    if ln.startswith("VmHWM:"):
                        hwm = max(hwm, int(ln.split()[1]))
                        break
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    th.join()
    m1 = machine_cpu()
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall = done["t"] - t0
    status, ru = done["status"], done["ru"]
    p.returncode = os.waitstatus_to_exitcode(status)
    rec = {
        "label": label,
        "wall_s": wall,
        "maxrss_kib": ru.ru_maxrss if ru.ru_maxrss > floor else hwm,
        "ru_maxrss_kib": ru.ru_maxrss,
        "vmhwm_kib": hwm,
        "wrapper_floor_kib": floor,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "rc": p.returncode,
        # Share of all CPUs busy during the run (this run included).
        "machine_busy": (m1[0] - m0[0]) / max(1, m1[1] - m0[1]),
    }
    if watch:
        w1 = proc_cpu("/proc/%d/stat" % watch)
        wm1 = proc_cpu("/proc/%d/task/%d/stat" % (watch, watch))
        if None not in (w0, w1, wm0, wm1):
            rec["watch_cpu_s"] = w1 - w0
            rec["watch_main_cpu_s"] = wm1 - wm0
    if log:
        rec.update(parse_materialize(log))
    with open(out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)


def cmd_s3fixtures(argv):
    src, datadir, bucket = argv
    root = os.path.join(datadir, bucket)
    os.makedirs(root, exist_ok=True)
    n = 0
    for dirpath, _dirs, files in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        dst = root if rel == "." else os.path.join(root, rel)
        os.makedirs(dst, exist_ok=True)
        for name in files:
            s = os.path.join(dirpath, name)
            d = os.path.join(dst, name + "._S3rver_object")
            try:
                os.link(s, d)
            except OSError:
                shutil.copyfile(s, d)
            h = hashlib.md5()
            with open(s, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            with open(d + ".md5", "w") as f:
                f.write(h.hexdigest())
            n += 1
    print(n)


def cmd_sizes(argv):
    n = total = 0
    with open(argv[0]) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                n += 1
                total += os.stat(line).st_size
    print(n, total)


def med(xs):
    return statistics.median(xs) if xs else None


def cmd_report(argv):
    path = argv.pop(0)
    meta = {}
    while argv:
        opt = argv.pop(0)
        if opt == "--meta":
            k, _, v = argv.pop(0).partition("=")
            meta[k] = v
    runs = [json.loads(line) for line in open(path) if line.strip()]
    by = {}
    for r in runs:
        by.setdefault(r["label"], []).append(r)
    files = int(meta.get("files", 0))
    nbytes = int(meta.get("bytes", 0))
    records = int(meta.get("records", 0))
    MiB = 1024 * 1024
    failed = [r for r in runs if r["rc"] != 0]

    def line(s=""):
        print(s)

    line("== swrepart day engine benchmark: %s ==" % meta.get("title", ""))
    line("day: %d objects, %.1f MiB, %d records (%s)" %
         (files, nbytes / MiB, records, meta.get("gen", "")))
    line("machine: %s; %s" % (meta.get("machine", ""), meta.get("date", "")))
    line("swrepart: %s" % meta.get("build", "?"))
    line("every figure is the median of the repetitions shown (n); inputs "
         "are in the page cache (hot)")
    busy = [r["machine_busy"] for r in runs if "machine_busy" in r]
    if busy:
        line("load: 1-min load average %s at the start, %s at the end; all "
             "CPUs busy during the runs: median %.0f%%, max %.0f%% (the "
             "benchmark's own processes included)" % (
                 meta.get("load0", "?"), meta.get("load1", "?"),
                 100 * med(busy), 100 * max(busy)))
    line()

    # 1. materialize, end to end.
    line("1. swrepart --timeseries-type ALL materialize, empty cache, end to "
         "end (list + fetch + merge + fsync + index + sqlite)")
    line("   (fetch s and merge s: the phases as swrepart reports them; "
         "other: list, index, sqlite, start)")
    hdr = "%-24s %3s %8s %9s %8s %11s %9s %8s %8s %8s" % (
        "source", "n", "wall s", "objects/s", "MiB/s", "records/s",
        "peak RSS", "fetch s", "merge s", "other s")
    line(hdr)
    for lab, name in (("mat_s3", "S3 test server"),
                      ("mat_s3_j8", "S3 test server, --requests 8"),
                      ("mat_s3_j128", "S3, --requests 128"),
                      ("mat_file", "file:// directory")):
        rs = by.get(lab, [])
        if lab == "mat_file":
            rs = rs + by.get("mat_file_pair", [])
        if not rs:
            continue
        w = med([r["wall_s"] for r in rs])
        f = med([r.get("fetch_s", 0) for r in rs])
        m = med([r.get("merge_s", 0) for r in rs])
        line("%-24s %3d %8.2f %9.0f %8.1f %11.0f %5.1f MiB %8.2f %8.2f "
             "%8.2f" % (
                 name, len(rs), w, files / w, nbytes / MiB / w, records / w,
                 max(r["maxrss_kib"] for r in rs) / 1024, f, m, w - f - m))
    s3, fp = by.get("mat_s3", []), by.get("mat_file_pair", [])
    if s3 and fp:
        line()
        line("   S3 run / the file:// run right after it: median %.1fx the "
             "wall time (%s)" % (
                 med([a["wall_s"] / b["wall_s"] for a, b in zip(s3, fp)]),
                 ", ".join("%.1fx" % (a["wall_s"] / b["wall_s"])
                           for a, b in zip(s3, fp))))
    rs = [r for k in ("mat_s3", "mat_s3_j8", "mat_s3_j128")
          for r in by.get(k, [])]
    if rs and "watch_cpu_s" in rs[0]:
        line()
        line("   during the S3 runs (CPU seconds / wall seconds; 100%% = one "
             "core of %s):" % meta.get("cores", "?"))
        for r in rs:
            line("   %-11s wall %6.2f s: S3 server %4.0f%% (its main thread, "
                 "the event loop, %4.0f%%); swrepart %4.0f%% (user %.2f s, "
                 "sys %.2f s); all CPUs %3.0f%% busy" % (
                     r["label"], r["wall_s"],
                     100 * r["watch_cpu_s"] / r["wall_s"],
                     100 * r["watch_main_cpu_s"] / r["wall_s"],
                     100 * (r["user_s"] + r["sys_s"]) / r["wall_s"],
                     r["user_s"], r["sys_s"], 100 * r["machine_busy"]))
    line()

    # 2. merge vs cat, side by side.
    cat = by.get("cat", [])
    if cat:
        line("2. the same input files, side by side in each repetition "
             "(speed relative to cat = cat time / its time; >= 0.5 is the "
             "target)")
        line("   (CPU s: user + system, all threads; vs read: the same "
             "ratio against the plain read)")
        line("%-46s %3s %8s %8s %7s %8s %8s %9s" % (
            "what", "n", "wall s", "MiB/s", "CPU s", "vs cat", "vs read",
            "peak RSS"))
        rows = (
            ("cat", "cat FILES > /dev/null"),
            ("cat_one", "cat ONE_FILE > /dev/null (same bytes)"),
            ("read_only", "plain read of FILES (one 128 KiB buffer)"),
            ("merge_null", "merge alone -> /dev/null"),
            ("merge_file", "merge alone -> file (no fsync)"),
            ("mat_file", "materialize file:// (all of 1.)"),
        )
        rd = by.get("read_only", [])

        def ratio(base, rs, key="wall_s"):
            # Per repetition (runs made next to each other), then the
            # median.
            if not base:
                return "%8s" % "-"
            return "%7.2fx" % med([b["wall_s"] / r[key]
                                   for b, r in zip(base, rs) if r.get(key)])
        for lab, name in rows:
            rs = by.get(lab, [])
            if not rs:
                continue
            w = med([r["wall_s"] for r in rs])
            line("%-46s %3d %8.3f %8.1f %7.2f %s %s %6.1f MiB" % (
                name, len(rs), w, nbytes / MiB / w,
                med([r["user_s"] + r["sys_s"] for r in rs]),
                ratio(cat, rs), ratio(rd, rs),
                max(r["maxrss_kib"] for r in rs) / 1024))
        rs = by.get("mat_file", [])
        if rs and "merge_s" in rs[0]:
            m = med([r["merge_s"] for r in rs])
            line("%-46s %3d %8.3f %8.1f %7s %s %s" % (
                "  its merge step (as swrepart reports it)", len(rs), m,
                nbytes / MiB / m, "", ratio(cat, rs, "merge_s"),
                ratio(rd, rs, "merge_s")))
        line()

    # 3. memory.
    line("3. peak RSS of swrepart materialize (file://, empty cache; "
         "target < 64 MiB)")
    for lab in sorted(k for k in by if k.startswith("rss_") or
                      k in ("mat_s3", "mat_file")):
        rs = by[lab] + (by.get("mat_file_pair", []) if lab == "mat_file"
                        else [])
        desc = meta.get("desc_" + lab, lab)
        peak = max(r["maxrss_kib"] for r in rs) / 1024
        line("   %-58s %7.1f MiB  %s" % (desc, peak,
                                          "ok" if peak < 64 else "MISSED"))
    if failed:
        line()
        line("FAILED RUNS: " + ", ".join("%s (exit %d)" % (r["label"], r["rc"])
                                         for r in failed))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, argv = sys.argv[1], sys.argv[2:]
    {"run": cmd_run, "s3fixtures": cmd_s3fixtures, "sizes": cmd_sizes,
     "report": cmd_report}.get(cmd, lambda a: sys.exit(__doc__))(argv)


if __name__ == "__main__":
    main()
