#!/bin/bash
# bench/series.sh - benchmark of one series' days through the mount
# (issue 13, "Proof", bench/).
#
# Run as root from the project top after building in-tree (./swrepart):
#
#   bench/series.sh [--quick] [--reps N] [--days N] [--series N] [--keep]
#                   [--swrepart PATH]
#
# It generates --days days (default 2) of the realistic day of
# bench/mount.sh scaled to 10x series (13,340 series x 4 six-hour windows
# x 500 records a day; --series N for another count), serves them from
# the S3 test server (tests/s3server) and picks one series.  In each
# repetition, each from an empty cache, it measures side by side:
#
#  1. the first read of the series' month through the mount (`cat` of
#     every /series/ID/2022/01/DD.avro, built from the series' objects
#     alone) against the first read of the same whole days (`cat` of
#     every /2022/01/DD.avro, each merged from all the day's objects);
#  2. the bytes fetched for each: the sizes of the objects GETted, taken
#     from the generated tree, with the number of GETs confirmed by the
#     server's counters (GET /__control/stats after DELETE), and their
#     ratio (target: at least 50x fewer bytes for the series);
#  3. the time to data of each series' day (the whole `cat` of the day:
#     target under 1 s) and of each whole day, after an `ls` of the month
#     (timed apart: the lookup of a series' day lists the series' month,
#     one LIST of its prefix per day of the month, and on a fresh mount,
#     the series' bucket not known yet, the whole first day's listing);
#  4. the series' days read again once the whole days are cached (cut
#     from the cached days): the time, the GETs (none) and the cache's
#     bytes before and after (the same).
#
# The series' days are checked: python3-avro counts the records of the
# first one read (it must equal those of the series' objects, counted by
# python3-avro too), and every series' day cut from the cached whole day
# must be the same bytes as the one built from its objects.  Any failed
# check makes the exit status 1: then don't trust the figures.
#
# --quick: 134 series, 2 days, 1 repetition (a smoke run of about 20 s).
# --swrepart PATH benchmarks another build (default ./swrepart).
# The default is 1 repetition (the full size takes 12 to 13 min each on
# 2 cores); the ratios are computed within each repetition, then their
# median taken.
#
# Prints a table.  Everything it starts (the S3 server, the mounts, by
# PID) and its temporary directory are removed on exit (--keep keeps
# the directory).
set -u

QUICK=0 REPS=1 KEEP=0 BIN='' DAYS=2 SERIES=13340
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS=${2:?--reps needs a number}; shift ;;
	--days) DAYS=${2:?--days needs a number}; shift ;;
	--series) SERIES=${2:?--series needs a number}; shift ;;
	--keep) KEEP=1 ;;
	--swrepart) BIN=${2:?--swrepart needs a path}; shift ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/series.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
[ "$QUICK" = 1 ] && SERIES=134
for v in "$REPS" "$DAYS" "$SERIES"; do
	case $v in '' | *[!0-9]* | 0) echo "bench/series.sh: --reps, --days and --series take positive numbers" >&2; exit 2 ;; esac
done
[ "$DAYS" -le 31 ] || { echo "bench/series.sh: --days is at most 31 (one month)" >&2; exit 2; }

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
PY=/usr/bin/python3
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
BIN=${BIN:-$TOP/swrepart}
[ -x "$BIN" ] || die "no $BIN: build the project first"
[ -c /dev/fuse ] && command -v fusermount3 >/dev/null || die "needs /dev/fuse and fusermount3"
NODE_BIN=${NODE:-$(command -v node)}
MODS=${SWREPART_S3SERVER_MODULES:-$TOP/tests/s3server/node_modules}
[ -n "$NODE_BIN" ] && [ -d "$MODS/@20minutes/s3rver" ] || die "needs node and tests/s3server/node_modules"
"$PY" -c 'import avro.datafile' 2>/dev/null || die "needs python3-avro for $PY"

T=$(mktemp -d "${TMPDIR:-/tmp}/swrepart-bench.XXXXXX") || exit 1
S3_PID="" MPIDS=""
cleanup() {
	for mp in "$T"/mnt-*; do [ -d "$mp" ] && fusermount3 -uz "$mp" 2>/dev/null; done
	for p in $MPIDS; do kill "$p" 2>/dev/null; done
	[ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
	if [ "$KEEP" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cp -p "$BIN" "$T/swrepart" || die "cannot copy $BIN"
SW=$T/swrepart
RES=$T/results.txt
: >"$RES"
FAILED=0
now() { date +%s.%N; }
rec() { echo "$*" >>"$RES"; }   # rec NAME REP VALUE
fail() { say "FAILED: $*"; rec fail 0 "$*"; FAILED=1; }
part() { printf 'raw/startYear=2022/startMonth=1/startDay=%d' "$((10#$1))"; }

say "generating $DAYS day(s) of $SERIES series x 4 windows x 500 records"
t0=$(now)
"$SW" gen --start 2022-01-01 --days "$DAYS" --series "$SERIES" --records 500 --disassociated-share 0.1005 "$T/cold" >"$T/gen.log" || die "gen failed"
say "$(cat "$T/gen.log") ($(printf '%.0f' "$(echo "$(now) - $t0" | bc)") s)"
mkdir -p "$T/s3data"
"$PY" "$TOP/bench/benchutil.py" s3fixtures "$T/cold" "$T/s3data" cold >/dev/null || die "s3fixtures failed"

# The series: the first plain-UUID series (in byte order) of the first day.
S=$(find "$T/cold/$(part 01)" -name 'raw_*.avro' | sed 's|.*/raw_||; s|_[0-9]*_[A-Z]*\.avro$||' | grep -v _ | LC_ALL=C sort -u | head -n 1)
[ -n "$S" ] || die "no series found in the generated day"
DAYLIST=$(seq -f '%02g' 1 "$DAYS")
# Per day: the whole day's objects and bytes, the series' objects, bytes
# and records (python3-avro), into $RES as "info" lines.
for d in $DAYLIST; do
	find "$T/cold/$(part "$d")" -type f -name '*.avro' >"$T/day-$d.list"
	grep "/raw_${S}_" "$T/day-$d.list" >"$T/ser-$d.list"
	rec info "day_$d" "$("$PY" "$TOP/bench/benchutil.py" sizes "$T/day-$d.list")"
	rec info "ser_$d" "$("$PY" "$TOP/bench/benchutil.py" sizes "$T/ser-$d.list")"
	recs=$("$PY" -c '
import sys, avro.datafile, avro.io
n = 0
for p in open(sys.argv[1]).read().splitlines():
    with open(p, "rb") as f:
        n += sum(1 for _ in avro.datafile.DataFileReader(f, avro.io.DatumReader()))
print(n)' "$T/ser-$d.list") || die "python3-avro cannot read the series' objects"
	rec info "serrec_$d" "$recs"
done
# Warm the page cache with the server's files, so that both reads start alike.
find "$T/s3data" -type f -name '*._S3rver_object' -print0 | xargs -0 cat >/dev/null

NODE_PATH="$MODS" "$NODE_BIN" "$TOP/tests/s3server/server.js" --dir "$T/s3data" --port 0 \
	--ready-file "$T/s3.ready" --access-key swrepart-bench --secret-key swrepart-bench-secret \
	--bucket cold >"$T/s3.log" 2>&1 &
S3_PID=$!
for _ in $(seq 1 300); do [ -s "$T/s3.ready" ] && break; sleep 0.1; done
[ -s "$T/s3.ready" ] || die "the S3 server did not start"
URL="http://127.0.0.1:$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$T/s3.ready")"
export AWS_ACCESS_KEY_ID=swrepart-bench AWS_SECRET_ACCESS_KEY=swrepart-bench-secret
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_CA_BUNDLE
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
"$SW" --endpoint-url "$URL" --cold-bucket cold ls --from 2022-01-01 --to 2022-01-01 >/dev/null 2>&1

# The server's counters (unsigned /__control/ requests).
stats_reset() { curl -sf -X DELETE "$URL/__control/stats" >/dev/null || die "cannot reset the server's stats"; }
stat_op() {   # stat_op OPERATION...: the sum of their counts
	curl -sf "$URL/__control/stats" | "$PY" -c '
import json, sys
ops = json.load(sys.stdin)["byOperation"]
print(sum(ops.get(o, 0) for o in sys.argv[1:]))' "$@"
}
# The cache's day files (what a read cut from the cache must not change),
# and everything under the cache (the index too).
cache_bytes() { find "$1/days" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
cache_all() { find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}'; }

# mount_at NAME CACHE: a foreground mount of the S3 server in the background.
mount_at() {
	_mp=$T/mnt-$1
	mkdir -p "$_mp"
	"$SW" --endpoint-url "$URL" --cold-bucket cold --timeseries-type ALL --cache-dir "$2" \
		mount -f "$_mp" >>"$T/mount.log" 2>&1 &
	MPIDS="$MPIDS $!"
	for _i in $(seq 1 100); do grep -q " $_mp fuse.swrepart " /proc/mounts && return 0; sleep 0.1; done
	die "the mount at $_mp did not come up"
}
unmount_at() { fusermount3 -u "$T/mnt-$1"; sleep 0.2; }

# read_days KIND MOUNT DIR REP: `ls` DIR (the series' month or the whole
# month: its listings), then cat every day of it into $T/out-KIND-DD.avro;
# the time of the ls, of each day and their sum, and the LISTs of the ls.
read_days() {
	t0=$(now)
	ls "$2/$3" >/dev/null || fail "ls $3 ($1)"
	_tot=$(echo "$(now) - $t0" | bc)
	rec "${1}_ls" "$4" "$_tot"
	rec "${1}_ls_lists" "$4" "$(stat_op ListObjectsV2 ListObjects)"
	for d in $DAYLIST; do
		t0=$(now)
		cat "$2/$3/$d.avro" >"$T/out-$1-$d.avro" || fail "cat $3/$d.avro ($1)"
		_t=$(echo "$(now) - $t0" | bc)
		rec "${1}_day_$d" "$4" "$_t"
		_tot=$(echo "$_tot + $_t" | bc)
	done
	rec "${1}_month" "$4" "$_tot"
}

NSER=$(cat "$T"/ser-*.list | wc -l)
NDAY=$(cat "$T"/day-*.list | wc -l)
for r in $(seq 1 "$REPS"); do
	say "repetition $r/$REPS: the series' $DAYS day(s), empty cache"
	rm -rf "$T/c-ser" "$T/c-day"
	mount_at ser "$T/c-ser"
	stats_reset
	read_days ser "$T/mnt-ser" "series/$S/2022/01" "$r"
	g=$(stat_op GetObject) l=$(stat_op ListObjectsV2 ListObjects)
	rec ser_gets "$r" "$g"
	rec ser_lists "$r" "$l"
	[ "$g" = "$NSER" ] || fail "the series' days took $g GETs, not one per its $NSER objects"
	if [ "$r" = 1 ]; then
		for d in $DAYLIST; do cp "$T/out-ser-$d.avro" "$T/own-$d.avro"; done
		got=$("$PY" -c '
import sys, avro.datafile, avro.io
with open(sys.argv[1], "rb") as f:
    print(sum(1 for _ in avro.datafile.DataFileReader(f, avro.io.DatumReader())))' "$T/own-01.avro") ||
			fail "python3-avro cannot read the series' day 01"
		want=$(awk '$1 == "info" && $2 == "serrec_01" {print $3}' "$RES")
		rec info check_records "${got:-0} $want"
		[ "${got:-x}" = "$want" ] || fail "the series' day 01 has ${got:-no} records, its objects $want"
	fi
	for d in $DAYLIST; do
		cmp -s "$T/out-ser-$d.avro" "$T/own-$d.avro" || fail "the series' day $d differs between repetitions"
	done
	unmount_at ser

	say "repetition $r/$REPS: the whole $DAYS day(s), empty cache"
	mount_at day "$T/c-day"
	stats_reset
	read_days day "$T/mnt-day" 2022/01 "$r"
	g=$(stat_op GetObject) l=$(stat_op ListObjectsV2 ListObjects)
	rec day_gets "$r" "$g"
	rec day_lists "$r" "$l"
	[ "$g" = "$NDAY" ] || fail "the whole days took $g GETs, not one per their $NDAY objects"

	say "repetition $r/$REPS: the series' day(s) again, cut from the cached whole days"
	b0=$(cache_bytes "$T/c-day") a0=$(cache_all "$T/c-day")
	stats_reset
	read_days cut "$T/mnt-day" "series/$S/2022/01" "$r"
	rec cut_gets "$r" "$(stat_op GetObject)"
	rec cut_lists "$r" "$(stat_op ListObjectsV2 ListObjects)"
	b1=$(cache_bytes "$T/c-day") a1=$(cache_all "$T/c-day")
	rec cut_cache "$r" "$b0 $b1 $a0 $a1"
	[ "$b0" = "$b1" ] || fail "the cache's day files went from $b0 to $b1 bytes"
	[ "$(stat_op GetObject)" = 0 ] || fail "the series' days cut from the cache made GETs"
	for d in $DAYLIST; do
		cmp -s "$T/out-cut-$d.avro" "$T/own-$d.avro" ||
			fail "the series' day $d cut from the whole day differs from the one built from its objects"
	done
	unmount_at day
	rm -f "$T"/out-*.avro
done

"$PY" - "$RES" "$SERIES" "$DAYS" "$S" <<'EOF'
import collections, statistics, sys
t = collections.defaultdict(dict)
info = {}
fails = []
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "info":
        info[f[1]] = [int(x) for x in f[2:]]
    elif f[0] == "fail":
        fails.append(" ".join(f[2:]))
    else:
        t[f[0]][f[1]] = [float(x) for x in f[2:]]
series, ndays, sid = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
days = ["%02d" % d for d in range(1, ndays + 1)]
reps = sorted(t.get("ser_month", {}), key=int)
def med(k, i=0):
    v = [x[i] for x in t.get(k, {}).values()]
    return statistics.median(v) if v else float("nan")
def ratio(a, b):
    rs = [t[a][r][0] / t[b][r][0] for r in t.get(a, {}) if r in t.get(b, {}) and t[b][r][0] > 0]
    return statistics.median(rs) if rs else float("nan")
dobj = sum(info["day_" + d][0] for d in days)
dbytes = sum(info["day_" + d][1] for d in days)
sobj = sum(info["ser_" + d][0] for d in days)
sbytes = sum(info["ser_" + d][1] for d in days)
srec = sum(info["serrec_" + d][0] for d in days)
MiB = 1048576
print("swrepart series benchmark: %d day(s) of %s series x 4 windows x 500 records from the S3 test server;"
      % (ndays, format(series, ",")))
print("series %s; %d repetition(s), each from an empty cache" % (sid, len(reps)))
print("%-58s %10s %12s" % ("measure", "median", "ratio"))
print("%-58s %9.2fs" % ("first read of the whole %d day(s) (ls + cat /2022/01/DD.avro)" % ndays, med("day_month")))
print("%-58s %9.2fs %10.1fx faster" % ("first read of the series' %d day(s) (/series/ID/...)" % ndays,
      med("ser_month"), ratio("day_month", "ser_month")))
print("%-58s %9.3fs %10d LISTs" % ("  ls of the whole month", med("day_ls"), med("day_ls_lists")))
print("%-58s %9.3fs %10d LISTs" % ("  ls of the series' month, fresh mount", med("ser_ls"), med("ser_ls_lists")))
for d in days:
    print("%-58s %9.3fs" % ("  time to data, series' day %s (target < 1 s)" % d, med("ser_day_" + d)))
for d in days:
    print("%-58s %9.2fs" % ("  time to data, whole day %s" % d, med("day_day_" + d)))
print("%-58s %9.1f MiB  %d objects, %d GETs, %d LISTs"
      % ("bytes fetched, whole days", dbytes / MiB, dobj, med("day_gets"), med("day_lists")))
print("%-58s %9.3f MiB  %d objects, %d GETs, %d LISTs"
      % ("bytes fetched, the series' days", sbytes / MiB, sobj, med("ser_gets"), med("ser_lists")))
print("%-58s %9.0fx  (target >= 50x)" % ("fewer bytes for the series", dbytes / sbytes))
print("%-58s %9.3fs %10.1fx faster than built"
      % ("series' days again, cut from the cached whole days", med("cut_month"), ratio("ser_month", "cut_month")))
print("%-58s %9.3fs %10d LISTs" % ("  ls of the series' month (the same mount)", med("cut_ls"), med("cut_ls_lists")))
for d in days:
    print("%-58s %9.3fs" % ("  time to data, series' day %s cut from the cache" % d, med("cut_day_" + d)))
print("%-58s %9d GETs, %d LISTs" % ("  fetched for the cut", med("cut_gets"), med("cut_lists")))
cc = [t["cut_cache"][r] for r in reps]
if cc:
    c = cc[-1]
    print("%-58s %d -> %d bytes (everything, index too: %d -> %d)"
          % ("  cache's day files before -> after the cut", c[0], c[1], c[2], c[3]))
if "check_records" in info:
    g, w = info["check_records"]
    print("%-58s %d records (python3-avro), its objects %d: %s" % ("check: the series' day 01", g, w,
          "ok" if g == w else "WRONG"))
print("%-58s %d records a day on average" % ("  the series' records", srec // ndays))
for f in fails:
    print("FAILED: " + f)
EOF
exit "$FAILED"
