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
      With --watch-tree PID, also the CPU time of PID and all its
      descendants (worker processes: utime + stime + cutime + cstime of
      each, so a worker that exits during the run still counts, through
      its parent) and the largest number of processes seen in that tree.
      Every record also has the share of all CPUs' time spent in iowait.
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

  benchutil.py sample --endpoint URL --bucket B --target T --day Y-M-D
                      --work DIR
      The pipeline of the Python sample this project replaces (see
      cmd_sample), pointed at an S3-compatible server, for bench/speed.sh.
      Credentials from the environment (AWS_ACCESS_KEY_ID, ...).

  benchutil.py speed-report JSONL [--meta KEY=VALUE]...
      Prints the table of bench/speed.sh (issue 14's targets).
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


def proc_tree_cpu(root):
    """(CPU seconds, processes) of ROOT and its descendants, None if gone.

    Each process counts utime + stime + cutime + cstime: a child that has
    exited and been reaped moves from its own line to its parent's cutime,
    so the sum does not drop when a worker exits.
    """
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        parent[int(name)] = (int(rest[1]),
                             sum(int(x) for x in rest[11:15]) / CLK_TCK)
    if root not in parent:
        return None
    kids = {}
    for pid, (ppid, _cpu) in parent.items():
        kids.setdefault(ppid, []).append(pid)
    total, n, todo = 0.0, 0, [root]
    while todo:
        pid = todo.pop()
        total += parent[pid][1]
        n += 1
        todo.extend(kids.get(pid, []))
    return total, n


def machine_iowait():
    """(iowait, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[4], sum(v[:8])


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
    watch = tree = None
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--out":
            out = argv.pop(0)
        elif opt == "--label":
            label = argv.pop(0)
        elif opt == "--watch":
            watch = int(argv.pop(0))
        elif opt == "--watch-tree":
            tree = int(argv.pop(0))
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
    t0cpu = proc_tree_cpu(tree) if tree else None
    io0 = machine_iowait()
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
    io1 = machine_iowait()
    t1cpu = proc_tree_cpu(tree) if tree else None
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
        "machine_iowait": (io1[0] - io0[0]) / max(1, io1[1] - io0[1]),
    }
    if t0cpu and t1cpu:
        rec["tree_cpu_s"] = t1cpu[0] - t0cpu[0]
        rec["tree_procs"] = max(t0cpu[1], t1cpu[1])
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


def cmd_sample(argv):
    """The Python sample's pipeline for one day, as it runs on this machine.

    The sample (aws-samples' IoT SiteWise cold tier re-partitioning, whose
    README is in the project's shared reference docs) runs three scripts,
    each with the same libraries as here: botocore and s3transfer (boto3 is
    a thin layer over them there; here they are the copies bundled with
    Debian's awscli, as boto3 is not installed) and python3-avro:

      1. list raw/startYear=Y/startMonth=M/startDay=D/ (ListObjectsV2 pages
         chained by StartAfter), look for the target's index of the day,
         and download each key with download_fileobj (a transfer manager
         per object: a HEAD, then a GET) from a Pool of cpu_count() - 1
         processes, into one directory for the day;
      2. decode every record of every file with python3-avro and append it
         to one snappy DataFileWriter, and join the series ids into
         timeseries.txt;
      3. upload_file the merged day to consolidated/... and timeseries.txt
         to index/... (multipart above 8 MiB, as boto3's defaults).

    Left out: its ListTimeSeries call to IoT SiteWise (every series is kept,
    as swrepart's --timeseries-type ALL) and the Glue job set-up.  Prints
    each stage's time and the records written.
    """
    opts = {}
    while argv:
        k = argv.pop(0)
        if not k.startswith("--") or not argv:
            sys.exit("usage: benchutil.py sample --endpoint URL --bucket B "
                     "--target T --day Y-M-D --work DIR")
        opts[k[2:]] = argv.pop(0)
    import multiprocessing
    y, m, d = (int(x) for x in opts["day"].split("-"))
    part = "startYear=%d/startMonth=%d/startDay=%d/" % (y, m, d)
    work = opts["work"]
    raw_dir = os.path.join(work, "raw", opts["day"])
    merged_dir = os.path.join(work, "merged", opts["day"])
    os.makedirs(raw_dir)
    os.makedirs(merged_dir)
    client = _sample_client(opts["endpoint"])

    # 1. download
    t = time.monotonic()
    keys, after = [], ""
    while True:
        page = client.list_objects_v2(Bucket=opts["bucket"], Prefix="raw/" + part,
                                      StartAfter=after)
        got = [o["Key"] for o in page.get("Contents", [])]
        keys.extend(got)
        if got:
            after = got[-1]
        if not page["IsTruncated"]:
            break
    index_key = "index/" + part + "timeseries.txt"
    client.list_objects_v2(Bucket=opts["target"], Prefix=index_key)
    series = []
    for k in keys:
        sid = k.rsplit("/", 1)[-1].split("_")[1]
        if sid not in series:
            series.append(sid)
    with open(os.path.join(raw_dir, "timeseries-new.txt"), "w") as f:
        f.write("\n".join(series))
    with multiprocessing.Pool(max(1, os.cpu_count() - 1), _sample_worker_init,
                              (opts["endpoint"],)) as pool:
        pool.starmap(_sample_download,
                     [(opts["bucket"], k, raw_dir) for k in keys])
    print("download: %d objects in %.1f s" % (len(keys), time.monotonic() - t))

    # 2. merge
    t = time.monotonic()
    import avro.schema
    from avro.datafile import DataFileReader, DataFileWriter
    from avro.io import DatumReader, DatumWriter
    merged = os.path.join(merged_dir, "merged_series_%d.avro" % int(time.time()))
    writer = None
    index = ""
    n = 0
    for name in os.listdir(raw_dir):
        path = os.path.join(raw_dir, name)
        if name.endswith(".avro"):
            reader = DataFileReader(open(path, "rb"), DatumReader())
            if writer is None:
                schema = avro.schema.parse(reader.get_meta("avro.schema").decode())
                writer = DataFileWriter(open(merged, "wb"), DatumWriter(), schema,
                                        codec="snappy")
            records = list(reader)
            reader.close()
            for r in records:
                writer.append(r)
            n += len(records)
        elif name.endswith(".txt"):
            with open(path) as f:
                text = f.read()
            index += text if not index else "\n" + text
    if writer is not None:
        writer.close()
    with open(os.path.join(merged_dir, "timeseries.txt"), "w") as f:
        f.write(index)
    print("merge: %d records in %.1f s" % (n, time.monotonic() - t))

    # 3. upload
    t = time.monotonic()
    from s3transfer.manager import TransferManager
    for src, key in ((merged, "consolidated/" + part + os.path.basename(merged)),
                     (os.path.join(merged_dir, "timeseries.txt"), index_key)):
        with TransferManager(client) as tm:
            tm.upload(src, opts["target"], key).result()
    print("upload: %.1f s" % (time.monotonic() - t))
    shutil.rmtree(work)


_SAMPLE = {}


def _bound(rs, workers, cores):
    """What bounded runs RS: the S3 server, the CPUs, the disk or none.

    From the medians of the CPU shares measured over each run: the S3
    server's (its whole process tree, in cores), the command's own (in
    cores), all CPUs' busy share and iowait share. The server is the bound
    when it used 80 % of the cores it can use (one per process, at most the
    machine's); the CPUs when 90 % of all of them were busy; the command
    itself when it kept one core 80 % busy; the disk when 10 % of the CPU
    time was iowait; else nothing saturated: waiting on round trips.
    """
    cli = med([(r["user_s"] + r["sys_s"]) / r["wall_s"] for r in rs])
    srv = med([r["tree_cpu_s"] / r["wall_s"] for r in rs if "tree_cpu_s" in r])
    busy = med([r["machine_busy"] for r in rs])
    iow = med([r.get("machine_iowait", 0) for r in rs])
    shares = "own %.0f%%" % (100 * cli)
    if srv is not None:
        shares += ", server %.0f%%" % (100 * srv)
    shares += ", CPUs %.0f%% busy, iowait %.0f%%" % (100 * busy, 100 * iow)
    if srv is not None and srv >= 0.8 * min(workers, cores):
        word = "server"
    elif busy >= 0.9:
        word = "CPU (all)"
    elif cli >= 0.8:
        word = "CPU (own)"
    elif iow >= 0.1:
        word = "disk"
    else:
        word = "latency"
    return word, shares


def cmd_speed_report(argv):
    path = argv.pop(0)
    meta = {}
    while argv:
        if argv.pop(0) == "--meta":
            k, _, v = argv.pop(0).partition("=")
            meta[k] = v
    by = {}
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            lab, _, rep = r["label"].partition("#")
            r["rep"] = rep
            by.setdefault(lab, []).append(r)
    MiB = 1024 * 1024
    files, nbytes = int(meta.get("files", 0)), int(meta.get("bytes", 0))
    cores, workers = int(meta.get("cores", 1)), int(meta.get("workers", 1))
    failed = [r for rs in by.values() for r in rs if r["rc"] != 0]

    def cpu(r):
        return r["user_s"] + r["sys_s"]

    def paired(a, b, f):
        """f(run of a, run of b) for each repetition holding both."""
        rb = {r["rep"]: r for r in by.get(b, [])}
        return [f(r, rb[r["rep"]]) for r in by.get(a, []) if r["rep"] in rb]

    def fig(xs, fmt):
        if not xs:
            return "-", None
        m = med(xs)
        txt = fmt % m
        if len(xs) > 1:
            txt += " (" + fmt % min(xs) + ".." + fmt % max(xs) + ")"
        return txt + " n=%d" % len(xs), m

    rows = []

    def row(num, what, xs, fmt, target, ok, lab):
        txt, m = fig(xs, fmt)
        verdict = "-" if m is None or ok is None else ("PASS" if ok(m) else "FAIL")
        bw = _bound(by[lab], workers, cores)[0] if by.get(lab) else "-"
        rows.append((num, what, txt, target, verdict, bw))

    row("1", "materialize file:// speed vs cat FILES",
        paired("cat", "mat_file", lambda c, m: c["wall_s"] / m["wall_s"]),
        "%.2fx", ">= 1.0x", lambda m: m >= 1.0, "mat_file")
    row("2", "CPU per object, materialize from S3",
        [1000 * cpu(r) / files for r in by.get("mat_s3", [])],
        "%.3f ms", "<= 0.4 ms", lambda m: m <= 0.4, "mat_s3")
    row("", "CPU per MiB, materialize from S3",
        [1000 * cpu(r) / (nbytes / MiB) for r in by.get("mat_s3", [])],
        "%.1f ms", "", None, "mat_s3")
    row("", "CPU per object, sync cold from S3",
        [1000 * cpu(r) / files for r in by.get("sync_cold", [])],
        "%.3f ms", "<= 0.4 ms", lambda m: m <= 0.4, "sync_cold")
    row("", "S3 server CPU, materialize from S3",
        [100 * r["tree_cpu_s"] / r["wall_s"] for r in by.get("mat_s3", [])
         if "tree_cpu_s" in r],
        "%.0f%%", "(1 core=100%)", None, "mat_s3")
    row("", "S3 server CPU per object, materialize",
        [1000 * r["tree_cpu_s"] / files for r in by.get("mat_s3", [])
         if "tree_cpu_s" in r],
        "%.3f ms", "", None, "mat_s3")
    row("3", "sync cold day wall / aws s3 cp --recursive",
        paired("sync_cold", "aws_cp", lambda s, a: s["wall_s"] / a["wall_s"]),
        "%.2fx", "<= 1.0x", lambda m: m <= 1.0, "sync_cold")
    row("4", "Python sample CPU / swrepart sync CPU",
        paired("sample", "sw_small", lambda a, b: cpu(a) / cpu(b)),
        "%.0fx", ">= 100x", lambda m: m >= 100, "sample")
    row("", "Python sample wall / swrepart sync wall",
        paired("sample", "sw_small", lambda a, b: a["wall_s"] / b["wall_s"]),
        "%.0fx", ">= 40x", lambda m: m >= 40, "sw_small")
    for lab, what in (("mat_file", "peak RSS x1, materialize file://"),
                      ("mat_s3", "peak RSS x1, materialize S3"),
                      ("sync_cold", "peak RSS x1, sync cold S3"),
                      ("rss_mat_records", "peak RSS x%s records, materialize"),
                      ("rss_sync_records", "peak RSS x%s records, sync"),
                      ("rss_mat_series", "peak RSS x%s series, materialize"),
                      ("rss_sync_series", "peak RSS x%s series, sync")):
        rs = by.get(lab)
        if not rs:
            continue
        peak = max(r["maxrss_kib"] for r in rs) / 1024
        w = what % meta.get("rss_scale", "?") if "%s" in what else what
        rows.append(("5" if lab == "mat_file" else "", w,
                     "%.1f MiB (max) n=%d" % (peak, len(rs)), "<= 64 MiB",
                     "PASS" if peak <= 64 else "FAIL",
                     _bound(rs, workers, cores)[0]))

    print("== swrepart issue 14, speed at the limit: %s ==" % meta.get("title", ""))
    print("swrepart: %s" % meta.get("build", "?"))
    print("day: %d objects, %.1f MiB, %s records (%s series x 4 windows x 500 "
          "records); the sample's day: %s objects, %.1f MiB, %s records (%s "
          "series)" % (files, nbytes / MiB, meta.get("records"),
                       meta.get("series"), meta.get("sm_files"),
                       int(meta.get("sm_bytes", 0)) / MiB,
                       meta.get("sm_records"), meta.get("sm_series")))
    print("machine: %s" % meta.get("machine", ""))
    print("%s" % meta.get("server", ""))
    print("/proc/loadavg: %s at the start, %s at the end" % (
        meta.get("load0", "?"), meta.get("load1", "?")))
    print("run: %s" % meta.get("date", ""))
    print("figures: median (min..max) over n runs; ratios are taken within "
          "each repetition, then the median; PASS/FAIL on the median")
    print()
    print("%-2s %-42s %-34s %-11s %-5s %s" % (
        "#", "target", "measured", "target", "", "bound"))
    for r in rows:
        print("%-2s %-42s %-34s %-11s %-5s %s" % r)
    print()
    print("each run (medians; own/server: CPU seconds / wall seconds, 100%% = "
          "one core of %d; CPUs: all cores' busy share)" % cores)
    print("%-16s %3s %8s %8s %8s %9s  %-10s %s" % (
        "run", "n", "wall s", "min s", "CPU s", "peak RSS", "bound", "shares"))
    order = ["cat", "mat_file", "mat_s3", "sync_cold", "aws_cp", "sample",
             "sw_small", "rss_mat_records", "rss_sync_records",
             "rss_mat_series", "rss_sync_series"]
    for lab in order + sorted(set(by) - set(order)):
        rs = by.get(lab)
        if not rs:
            continue
        word, shares = _bound(rs, workers, cores)
        print("%-16s %3d %8.2f %8.2f %8.2f %5.1f MiB  %-10s %s" % (
            lab, len(rs), med([r["wall_s"] for r in rs]),
            min(r["wall_s"] for r in rs), med([cpu(r) for r in rs]),
            max(r["maxrss_kib"] for r in rs) / 1024, word, shares))
    for k in sorted(meta):
        if k.startswith("desc_"):
            print("%s" % meta[k])
    if failed:
        print()
        print("FAILED RUNS: " + ", ".join("%s (exit %d)" % (r["label"], r["rc"])
                                         for r in failed))


def _sample_client(endpoint):
    import awscli  # noqa: F401  (makes its bundled botocore importable)
    import botocore.config
    import botocore.session
    return botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=botocore.config.Config(s3={"addressing_style": "path"}))


def _sample_worker_init(endpoint):
    _SAMPLE["client"] = _sample_client(endpoint)


def _sample_download(bucket, key, day_dir):
    from s3transfer.manager import TransferManager
    with open(os.path.join(day_dir, key.rsplit("/", 1)[-1]), "w+b") as f:
        with TransferManager(_SAMPLE["client"]) as tm:
            tm.download(bucket, key, f).result()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, argv = sys.argv[1], sys.argv[2:]
    {"run": cmd_run, "s3fixtures": cmd_s3fixtures, "sizes": cmd_sizes,
     "report": cmd_report, "sample": cmd_sample,
     "speed-report": cmd_speed_report}.get(cmd, lambda a: sys.exit(__doc__))(argv)


if __name__ == "__main__":
    main()
