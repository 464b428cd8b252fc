#!/bin/bash
# bench/opens.sh - opens per second of cached days through the FUSE mount,
# with many parallel readers (issue 12: the cache no longer serializes
# every open behind one mutex and one sqlite connection).
#
# Run as root from the project top after building in-tree (./swrepart):
#
#   bench/opens.sh [--before PATH] [--readers N] [--seconds S] [--reps N]
#                  [--days N] [--keep]
#
# It generates a month of small days (file:// cold tier), materializes
# them into a cache, mounts it and reads each day once (so every day is
# cached and its digest checked), then runs N reader processes (16) that
# each, for S seconds (5), open a day of the month, read its first 4 KiB
# and close it, over and over, each reader starting at another day.  It
# prints the opens per second of all readers together.  Then it does the
# same again while another process holds the cache index's write lock
# (BEGIN IMMEDIATE) for the whole run: a writer elsewhere (sync committing
# a big day) must not stall the mount's opens.
#
# With --before PATH (another build of swrepart, e.g. an older commit
# built in a separate directory), both binaries are measured in the same
# run, alternating in each repetition, each with its own cache, and the
# ratio after/before is printed (median of the per-repetition ratios).
# Everything it starts (the mounts, by PID) and its temporary directory
# are removed on exit.  Figures, not a timed test: nothing fails on them.
set -u

BEFORE="" READERS=16 SECONDS_=5 REPS=3 DAYS=30 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--before) BEFORE=${2:?--before needs a path}; shift ;;
	--readers) READERS=${2:?}; shift ;;
	--seconds) SECONDS_=${2:?}; shift ;;
	--reps) REPS=${2:?}; shift ;;
	--days) DAYS=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/opens.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
for v in "$READERS" "$SECONDS_" "$REPS" "$DAYS"; do
	case $v in '' | *[!0-9]* | 0) echo "bench/opens.sh: give positive numbers" >&2; exit 2 ;; esac
done
[ "$DAYS" -le 31 ] || { echo "bench/opens.sh: --days at most 31" >&2; exit 2; }

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
PY=/usr/bin/python3
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[ -x "$TOP/swrepart" ] || die "no ./swrepart: build the project first"
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || die "--before '$BEFORE': not an executable"
[ -c /dev/fuse ] && command -v fusermount3 >/dev/null || die "needs /dev/fuse and fusermount3"

T=$(mktemp -d "${TMPDIR:-/tmp}/swrepart-opens.XXXXXX") || exit 1
MPIDS=""
cleanup() {
	for mp in "$T"/mnt-*; do [ -d "$mp" ] && fusermount3 -uz "$mp" 2>/dev/null; done
	for p in $MPIDS; do kill "$p" 2>/dev/null; done
	if [ "$KEEP" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cp -p "$TOP/swrepart" "$T/sw-after" || die "cannot copy ./swrepart"
BINS="after"
if [ -n "$BEFORE" ]; then
	cp -p "$BEFORE" "$T/sw-before" || die "cannot copy '$BEFORE'"
	BINS="before after"
fi
RES=$T/results.txt
: >"$RES"

say "generating $DAYS days (20 series each)"
"$T/sw-after" gen --start 2022-03-01 --days "$DAYS" --series 20 --records 20 --no-metadata \
	"$T/cold" >/dev/null || die "gen failed"
LAST=$(printf '2022-03-%02d' "$DAYS")
SRC="--cold-bucket file://$T/cold --timeseries-type ALL"

# mount NAME: a foreground mount of binary NAME in the background, its
# days materialized and read once.
mount_bin() {
	_mp=$T/mnt-$1
	mkdir -p "$_mp"
	# shellcheck disable=SC2086
	"$T/sw-$1" $SRC --cache-dir "$T/cache-$1" materialize --from 2022-03-01 \
		--to "$LAST" >/dev/null 2>&1 || die "materialize ($1) failed"
	# shellcheck disable=SC2086
	"$T/sw-$1" $SRC --cache-dir "$T/cache-$1" mount -f "$_mp" >>"$T/mount-$1.log" 2>&1 &
	MPID=$!
	MPIDS="$MPIDS $MPID"
	for _i in $(seq 1 100); do grep -q " $_mp fuse.swrepart " /proc/mounts && break; sleep 0.1; done
	grep -q " $_mp fuse.swrepart " /proc/mounts || die "the mount at $_mp did not come up"
	cat "$_mp"/2022/03/*.avro >/dev/null || die "reading the days through the mount ($1) failed"
}
unmount_bin() {
	fusermount3 -u "$T/mnt-$1"
	wait "$MPID" 2>/dev/null
}

# readers DIR: opens per second of READERS processes for SECONDS_.
readers() {
	"$PY" - "$1" "$READERS" "$SECONDS_" <<'EOF'
import glob, multiprocessing as mp, os, sys, time
files = sorted(glob.glob(sys.argv[1] + "/2022/03/*.avro"))
nr, secs = int(sys.argv[2]), float(sys.argv[3])
def run(i, start, q):
    n, k = 0, i
    while time.time() < start:
        time.sleep(0.001)
    end = start + secs
    while time.time() < end:
        fd = os.open(files[k % len(files)], os.O_RDONLY)
        os.read(fd, 4096)
        os.close(fd)
        n += 1
        k += 1
    q.put(n)
q = mp.Queue()
start = time.time() + 0.5
ps = [mp.Process(target=run, args=(i, start, q)) for i in range(nr)]
for p in ps: p.start()
total = sum(q.get() for _ in ps)
for p in ps: p.join()
print("%.1f" % (total / secs))
EOF
}

for r in $(seq 1 "$REPS"); do
	for b in $BINS; do
		say "repetition $r/$REPS: $b"
		rm -rf "$T/cache-$b"
		mount_bin "$b"
		ops=$(readers "$T/mnt-$b") || die "the readers failed ($b)"
		echo "$b $r $ops" >>"$RES"
		"$PY" - "$T/cache-$b/index.sqlite" "$((SECONDS_ + 2))" <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")
EOF
		lpid=$!
		sleep 0.3
		ops=$(readers "$T/mnt-$b") || die "the readers failed ($b, index locked)"
		wait "$lpid"
		echo "$b-locked $r $ops" >>"$RES"
		unmount_bin "$b"
	done
done

"$PY" - "$RES" "$READERS" "$SECONDS_" "$DAYS" <<'EOF'
import collections, statistics, sys
t = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    b, r, v = line.split()
    t[b][r] = float(v)
print("swrepart mount: opens per second of cached days, %s readers, %s s each, %s days; %d repetition(s)"
      % (sys.argv[2], sys.argv[3], sys.argv[4], len(t["after"])))
for kind, what in (("", ""), ("-locked", ", index write-locked by another process")):
    for b in ("before", "after"):
        if b + kind in t:
            v = t[b + kind]
            print("%-8s median %10.0f opens/s%s   (each: %s)" % (b, statistics.median(v.values()), what,
                  ", ".join("%.0f" % v[r] for r in sorted(v))))
    if "before" + kind in t:
        a, b = t["after" + kind], t["before" + kind]
        rs = [a[r] / b[r] if b[r] > 0 else float("inf") for r in a if r in b]
        print("ratio after/before%s: %.2fx (median of %d)" % (what, statistics.median(rs), len(rs)))
EOF
