#!/bin/bash
# bench/lossless.sh - the cost of lossless days (issue 10, "Proof", bench/).
#
# Run from the project top after building in-tree (./swrepart):
#
#   bench/lossless.sh [--quick] [--reps N] [--keep] [--old BIN]
#
# Issue 10 made days exact per object: each day file in the cache has an
# MD5 that is checked before the file is reused, published or first pinned;
# a new generation is written in key order by copying the previous one's
# objects by byte range (no longer copy_file + append); sync writes the
# manifest twice (a "pending" record before the data upload, the final one
# after) with conditional writes (If-Match / If-None-Match), and HEADs the
# data object.  This compares NEW (the in-tree ./swrepart) with OLD (built
# here from commit 3e27048, the state before that work, in a temporary git
# worktree that is removed on exit), side by side in each repetition, the
# order of the two alternating, each with a cache and target bucket of its
# own, on the realistic day of bench/sync.sh (1,334 series x 4 windows x
# 500 records from `swrepart gen`) served by the S3 test server:
#
#   mat_s3          materialize, empty cache, from the S3 server
#   mat_file        materialize, empty cache, from file://
#   inc_base_*      materialize of the day exported as windows 0-2 (S3,
#                   file://), then
#   inc_ext_*       window 3 added and materialized again: the extension
#                   (OLD: copy + append; NEW: range copy + MD5)
#   sync_cold       sync, empty cache, empty target
#   sync_warm       sync again: nothing new
#   sync_warm_cache sync into an empty target from the warm cache: the
#                   upload alone (NEW adds the pending manifest PUT, the
#                   conditional headers and the MD5 check of the pinned day)
#   md5             the MD5 of NEW's day file, in-process (python hashlib,
#                   which is OpenSSL's MD5 as swrepart's) and as `openssl
#                   dgst -md5` (with its start-up, dgst of /dev/null): the
#                   digest check alone, as a share of NEW's sync from the
#                   warm cache and of materialize
#
# It prints medians, NEW/OLD ratios (medians of the per-repetition ratios,
# and each repetition's), peak RSS (GNU time -f %M, else benchutil.py's
# wait4 / VmHWM), the S3 server's CPU share, and the requests by operation
# (the server's GET /__control/stats) of one run of each sync.  Progress
# goes to stderr, the table to stdout; the exit status is 1 if a run failed
# or said something unexpected.  Everything it starts (the build, the S3
# server, the timed run, each by PID) and its temporary directory are
# removed on exit.  Needs bash, git, autotools and a compiler (for OLD),
# /usr/bin/python3, node and tests/s3server/node_modules.
set -u

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<'EOF'

Options:
  --quick     a small smoke run (134 series, 1 repetition)
  --reps N    repetitions (3)
  --keep      keep the temporary directory (its path is printed)
  --old BIN   use BIN as OLD instead of building commit 3e27048
EOF
}

QUICK=0 REPS=3 KEEP=0 OLD_BIN=""
OLD_COMMIT=3e27048
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 REPS=1 ;;
	--reps) REPS=${2:?--reps needs a number}; shift ;;
	--keep) KEEP=1 ;;
	--old) OLD_BIN=${2:?--old needs a binary}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench/lossless.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $REPS in '' | *[!0-9]* | 0) echo "bench/lossless.sh: --reps must be a positive number" >&2; exit 2 ;; esac
SERIES=1334
[ "$QUICK" = 1 ] && SERIES=134
MD5_REPS=3

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
PY=/usr/bin/python3
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[ -x "$TOP/swrepart" ] || die "no ./swrepart: build the project first"
[ -x "$PY" ] || die "$PY is needed"
NODE_BIN=${NODE:-$(command -v node)}
MODS=${SWREPART_S3SERVER_MODULES:-$TOP/tests/s3server/node_modules}
if [ -z "$NODE_BIN" ] || [ ! -d "$MODS/@20minutes/s3rver" ]; then
	die "needs node and tests/s3server/node_modules (cd tests/s3server && npm ci)"
fi
[ -z "$OLD_BIN" ] || [ -x "$OLD_BIN" ] || die "--old: '$OLD_BIN' is not executable"

T=$(mktemp -d "${TMPDIR:-/tmp}/swrepart-bench.XXXXXX") || exit 1
S3_PID="" RUN_PID="" BUILD_PID="" WT=""
# The PIDs of a process and all its descendants, leaves first.
tree_pids() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		tree_pids "$c"
	done
	echo "$1"
}
stop_tree() {  # stop_tree PID: the process and what it started, by PID
	local pids
	pids=$(tree_pids "$1")
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null
	wait "$1" 2>/dev/null
}
remove_worktree() {
	[ -n "$WT" ] || return 0
	git -C "$TOP" worktree remove --force "$WT" 2>/dev/null ||
		say "note: could not remove the worktree $WT (git worktree prune will)"
	WT=""
}
cleanup() {
	[ -n "$RUN_PID" ] && stop_tree "$RUN_PID"
	[ -n "$BUILD_PID" ] && stop_tree "$BUILD_PID"
	[ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
	remove_worktree
	if [ "$KEEP" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$T/log" "$T/c" "$T/f" "$T/stats"
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
START=$(date -u '+%Y-%m-%d %H:%M UTC')

# ---- the two binaries ------------------------------------------------------------
# Copies of what is measured: a rebuild during the run changes nothing.
cp -p "$TOP/swrepart" "$T/new" || die "cannot copy ./swrepart"
NEW_INFO="./swrepart built $(date -u -r "$TOP/swrepart" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$TOP/swrepart" | cut -c1-12)"
if HEAD=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null); then
	DIRTY=$(git -C "$TOP" status --porcelain -- src 2>/dev/null | wc -l)
	NEW_INFO="$NEW_INFO, tree at $HEAD$([ "$DIRTY" -gt 0 ] && echo " + uncommitted changes in $DIRTY src/ files")"
	for f in $(git -C "$TOP" ls-files src); do
		[ "$TOP/$f" -nt "$TOP/swrepart" ] && say "note: $f changed after ./swrepart was built: run make for current figures"
	done
fi
if [ -n "$OLD_BIN" ]; then
	cp -p "$OLD_BIN" "$T/old" || die "cannot copy $OLD_BIN"
	OLD_INFO="$OLD_BIN (given with --old), sha256 $(sha256sum "$OLD_BIN" | cut -c1-12)"
else
	say "building OLD from commit $OLD_COMMIT in a temporary worktree (log: $T/old-build.log)"
	WT=$T/old-src
	git -C "$TOP" worktree add --detach "$WT" "$OLD_COMMIT" >"$T/old-build.log" 2>&1 ||
		{ WT=""; tail -n 5 "$T/old-build.log" >&2; die "git worktree add failed"; }
	(cd "$WT" && autoreconf -fi && ./configure && make -j2 swrepart) >>"$T/old-build.log" 2>&1 &
	BUILD_PID=$!
	wait "$BUILD_PID" || { BUILD_PID=""; tail -n 20 "$T/old-build.log" >&2; die "the build of $OLD_COMMIT failed"; }
	BUILD_PID=""
	cp -p "$WT/swrepart" "$T/old" || die "no swrepart in the worktree"
	remove_worktree
	OLD_INFO="commit $OLD_COMMIT built here, sha256 $(sha256sum "$T/old" | cut -c1-12)"
fi
say "NEW: $NEW_INFO"
say "OLD: $OLD_INFO"

# ---- the day ----------------------------------------------------------------------
GEN="--start 2022-01-01 --days 1 --series $SERIES --records 500 --disassociated-share 0.1005"
say "generating the day: swrepart gen $GEN"
# shellcheck disable=SC2086
"$T/new" gen $GEN "$T/cold" >"$T/gen.log" 2>&1 || { cat "$T/gen.log" >&2; die "gen failed"; }
# shellcheck disable=SC2086
"$T/new" gen $GEN --window-to 2 "$T/cold3" >/dev/null 2>&1 || die "gen of 3 windows failed"
say "$(cat "$T/gen.log")"
NOBJ=$(find "$T/cold/raw" -type f -name '*.avro' | wc -l)
NOBJ3=$(find "$T/cold3/raw" -type f -name '*.avro' | wc -l)
NW3=$((NOBJ - NOBJ3))
NREC=$(sed -n 's/.*, \([0-9]*\) records[);].*/\1/p' "$T/gen.log")
[ -n "$NREC" ] || die "cannot read the record count from gen's output"
# $T/w3: the fourth window alone (hard links), added to a 3-window source.
"$PY" - "$T/cold" "$T/cold3" "$T/w3" <<'EOF' || die "cannot link the fourth window"
import os, sys
full, three, out = sys.argv[1:4]
for dp, _, fs in os.walk(full):
    rel = os.path.relpath(dp, full)
    for f in fs:
        if not os.path.exists(os.path.join(three, rel, f)):
            os.makedirs(os.path.join(out, rel), exist_ok=True)
            os.link(os.path.join(dp, f), os.path.join(out, rel, f))
EOF
[ "$(find "$T/w3" -type f | wc -l)" -eq "$NW3" ] || die "the fourth window is not $NW3 objects"
say "$NOBJ objects ($NOBJ3 in windows 0-2, $NW3 in window 3), $NREC records"

# ---- the S3 test server -------------------------------------------------------------
# A copy of the server as it is now (others may be editing it).
cp -p "$TOP/tests/s3server/server.js" "$T/server.js" || die "cannot copy tests/s3server/server.js"
SERVER_INFO="tests/s3server/server.js sha256 $(sha256sum "$T/server.js" | cut -c1-12)"
git -C "$TOP" diff --quiet HEAD -- tests/s3server/server.js 2>/dev/null ||
	SERVER_INFO="$SERVER_INFO (uncommitted changes)"
buckets=""
for i in $(seq 1 "$REPS"); do
	for b in old new; do
		buckets="$buckets --bucket tcold$b$i --bucket tcache$b$i --bucket inc$b$i"
	done
done
"$PY" "$TOP/bench/benchutil.py" s3fixtures "$T/cold" "$T/s3data" cold >/dev/null || die "s3fixtures failed"
# shellcheck disable=SC2086
NODE_PATH="$MODS" "$NODE_BIN" "$T/server.js" --dir "$T/s3data" --port 0 \
	--ready-file "$T/s3.ready" --access-key swrepart-bench --secret-key swrepart-bench-secret \
	--bucket cold $buckets >"$T/s3.log" 2>&1 &
S3_PID=$!
i=0
while [ ! -s "$T/s3.ready" ]; do
	i=$((i + 1))
	{ [ "$i" -gt 300 ] || ! kill -0 "$S3_PID" 2>/dev/null; } && { tail -n 20 "$T/s3.log" >&2; die "the S3 server did not start"; }
	sleep 0.1
done
URL="http://127.0.0.1:$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$T/s3.ready")"
export AWS_ACCESS_KEY_ID=swrepart-bench AWS_SECRET_ACCESS_KEY=swrepart-bench-secret
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_CA_BUNDLE
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
"$T/new" --endpoint-url "$URL" --cold-bucket cold ls >/dev/null 2>&1   # warm-up: the server's JIT
# control METHOD WHAT [OUT]: the server's /__control/WHAT (the answer to OUT).
control() {
	"$PY" - "$1" "$URL/__control/$2" "${3:-/dev/null}" <<'EOF'
import sys, urllib.request
method, url, out = sys.argv[1:4]
with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as r:
    open(out, "wb").write(r.read())
EOF
}

# ---- timed runs ---------------------------------------------------------------------
TIMEBIN=""
if /usr/bin/time -f %M -o "$T/time.chk" true 2>/dev/null && grep -Eq '^[0-9]+$' "$T/time.chk"; then
	TIMEBIN=/usr/bin/time
fi
RUNS=$T/runs.jsonl
: >"$RUNS"
FAILED=0
# run STEP BIN REP [--s3] -- CMD...: one timed run; with --s3, the server's
# request counts of that run are kept.
run() {
	local step=$1 bin=$2 rep=$3 s3=0 st
	shift 3
	[ "$1" = --s3 ] && { s3=1; shift; }
	shift
	local base=$T/log/$step.$bin.$rep
	[ "$s3" = 1 ] && control DELETE stats
	if [ -n "$TIMEBIN" ]; then
		set -- "$TIMEBIN" -f %M -o "$base.rss" "$@"
	fi
	"$PY" "$TOP/bench/benchutil.py" run --out "$RUNS" --label "$step.$bin#$rep" \
		--watch "$S3_PID" --output "$base.log" -- "$@" &
	RUN_PID=$!
	wait "$RUN_PID"
	st=$?
	RUN_PID=""
	[ "$s3" = 1 ] && control GET stats "$base.stats.json"
	if [ "$st" -ne 0 ]; then
		say "run '$step' of $bin failed (exit $st):"
		grep -v '^Command exited' "$base.log" | tail -n 5 | sed 's/^/bench:   /' >&2
		FAILED=$((FAILED + 1))
	fi
	return 0
}
expect() {  # expect STEP BIN REP REGEX: the run's output says what it should
	grep -Eq "$4" "$T/log/$1.$2.$3.log" || {
		say "unexpected output of '$1' of $2 (wanted /$4/):"
		tail -n 5 "$T/log/$1.$2.$3.log" | sed 's/^/bench:   /' >&2
		FAILED=$((FAILED + 1))
	}
}
bin_of() { echo "$T/$1"; }
day_md5() {  # day_md5 CACHE: the MD5 of the one day file in a cache
	local f
	f=$(ls "$1"/days/*/2022/01/01.*.avro 2>/dev/null)
	[ -n "$f" ] && [ "$(echo "$f" | wc -l)" -eq 1 ] && md5sum "$f" | cut -d' ' -f1
}
DAYRE="^2022-01-01: $NOBJ objects listed, $NOBJ fetched .* $NREC records merged"
: >"$T/same-bytes"

# The steps, each given the binary (old or new) and the repetition.
mat() {  # mat STEP BIN REP SOURCE-OPTIONS...: materialize of the whole day, empty cache
	local step=$1 b=$2 i=$3 s3=""
	shift 3
	[ "$step" = mat_s3 ] && s3=--s3
	rm -rf "$T/c/$b-mat"
	run "$step" "$b" "$i" $s3 -- "$(bin_of "$b")" "$@" --timeseries-type ALL --cache-dir "$T/c/$b-mat" materialize
	expect "$step" "$b" "$i" "$DAYRE"
	echo "$step $i $b $(day_md5 "$T/c/$b-mat")" >>"$T/same-bytes"
	rm -rf "$T/c/$b-mat"
}
step_mat_s3() { mat mat_s3 "$1" "$2" --endpoint-url "$URL" --cold-bucket cold; }
step_mat_file() { mat mat_file "$1" "$2" --cold-bucket "file://$T/cold"; }
step_inc_s3() {
	local b=$1 i=$2
	local sw=("$(bin_of "$b")" --endpoint-url "$URL" --cold-bucket "inc$b$i" --timeseries-type ALL --cache-dir "$T/c/$b-inc")
	rm -rf "$T/c/$b-inc"
	"$PY" "$TOP/bench/benchutil.py" s3fixtures "$T/cold3" "$T/s3data" "inc$b$i" >/dev/null || die "s3fixtures failed"
	run inc_base_s3 "$b" "$i" --s3 -- "${sw[@]}" materialize
	expect inc_base_s3 "$b" "$i" "^2022-01-01: $NOBJ3 objects listed, $NOBJ3 fetched"
	"$PY" "$TOP/bench/benchutil.py" s3fixtures "$T/w3" "$T/s3data" "inc$b$i" >/dev/null || die "s3fixtures failed"
	run inc_ext_s3 "$b" "$i" --s3 -- "${sw[@]}" materialize
	expect inc_ext_s3 "$b" "$i" "^2022-01-01: $NOBJ objects listed, $NW3 fetched .* $((NREC / 4)) records merged"
	rm -rf "$T/c/$b-inc"
}
step_inc_file() {
	local b=$1 i=$2
	local sw=("$(bin_of "$b")" --cold-bucket "file://$T/f/$b-inc" --timeseries-type ALL --cache-dir "$T/c/$b-finc")
	rm -rf "$T/c/$b-finc" "$T/f/$b-inc"
	cp -al "$T/cold3" "$T/f/$b-inc" || die "cannot link the 3-window source"
	run inc_base_file "$b" "$i" -- "${sw[@]}" materialize
	expect inc_base_file "$b" "$i" "^2022-01-01: $NOBJ3 objects listed, $NOBJ3 fetched"
	cp -al "$T/w3/." "$T/f/$b-inc/" || die "cannot link the fourth window"
	run inc_ext_file "$b" "$i" -- "${sw[@]}" materialize
	expect inc_ext_file "$b" "$i" "^2022-01-01: $NOBJ objects listed, $NW3 fetched .* $((NREC / 4)) records merged"
	rm -rf "$T/c/$b-finc" "$T/f/$b-inc"
}
sync_to() {  # sync_to STEP BIN REP TARGET REGEX
	run "$1" "$2" "$3" --s3 -- "$(bin_of "$2")" --endpoint-url "$URL" --cold-bucket cold \
		--timeseries-type ALL --cache-dir "$T/c/$2-sync" --target-bucket "$4" sync
	expect "$1" "$2" "$3" "$5"
}
step_sync_cold() { rm -rf "$T/c/$1-sync"; sync_to sync_cold "$1" "$2" "tcold$1$2" "^1 day: 1 published"; }
step_sync_warm() { sync_to sync_warm "$1" "$2" "tcold$1$2" "^1 day: 0 published, 1 unchanged"; }
step_sync_warm_cache() {
	sync_to sync_warm_cache "$1" "$2" "tcache$1$2" "^1 day: 1 published"
	echo "sync $2 $1 $(day_md5 "$T/c/$1-sync")" >>"$T/same-bytes"
}
step_md5() {  # the digest check alone, on NEW's day file (in the page cache, as after a sync)
	local i=$1 day k
	day=$(ls "$T"/c/new-sync/days/*/2022/01/01.*.avro 2>/dev/null)
	[ -n "$day" ] || { say "no day file in NEW's cache: md5 runs skipped"; FAILED=$((FAILED + 1)); return; }
	stat -c %s "$day" >"$T/day.size"
	for k in $(seq 1 "$MD5_REPS"); do
		# hashlib is OpenSSL's MD5, as swrepart's; it times the digest alone
		# (1 MiB reads, as swrepart's), without the start-up of a process.
		run md5_py new "$i.$k" -- "$PY" -c 'import hashlib, sys, time
t = time.monotonic(); h = hashlib.md5(); f = open(sys.argv[1], "rb", buffering=0)
for b in iter(lambda: f.read(1 << 20), b""): h.update(b)
print(h.hexdigest(), time.monotonic() - t)' "$day"
		if command -v openssl >/dev/null 2>&1; then
			run md5 new "$i.$k" -- openssl dgst -md5 "$day"
			run md5_start new "$i.$k" -- openssl dgst -md5 /dev/null
		fi
	done
}

STEPS="mat_s3 mat_file inc_s3 inc_file sync_cold sync_warm sync_warm_cache"
for i in $(seq 1 "$REPS"); do
	if [ $((i % 2)) = 1 ]; then ORDER="old new"; else ORDER="new old"; fi
	say "repetition $i/$REPS (order: $ORDER)"
	for s in $STEPS; do
		for b in $ORDER; do
			"step_$s" "$b" "$i"
		done
	done
	step_md5 "$i"
	rm -rf "$T/c/old-sync" "$T/c/new-sync"
done
kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
S3_PID=""

# ---- the table ------------------------------------------------------------------------
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
DAYSIZE=$(cat "$T/day.size" 2>/dev/null || echo 0)
echo
"$PY" - "$T" "$FAILED" <<EOF
import glob, json, os, statistics, sys
T, failed = sys.argv[1], int(sys.argv[2])
runs = {}
for line in open(os.path.join(T, "runs.jsonl")):
    r = json.loads(line)
    label, rep = r["label"].split("#")
    step, binary = label.split(".")
    f = os.path.join(T, "log", "%s.%s.%s.rss" % (step, binary, rep))
    try:
        r["rss_kib"] = int(open(f).read().split()[-1])
        r["rss_from"] = "GNU time"
    except (OSError, ValueError, IndexError):
        r["rss_kib"] = r["maxrss_kib"]
        r["rss_from"] = "wait4/VmHWM"
    runs.setdefault(step, {}).setdefault(binary, {})[rep] = r
med = statistics.median
def reps(step, b):
    return runs.get(step, {}).get(b, {})
nrep = len(reps("mat_s3", "new"))
print("swrepart lossless days (issue 10): NEW vs OLD, %s series, %d repetition(s)%s"
      % ("$SERIES", nrep, ", --quick" if "$QUICK" == "1" else ""))
print("started $START; machine: $(nproc) cores ($MODEL), Linux $(uname -r), node $("$NODE_BIN" --version 2>/dev/null)")
print("load average at start $LOAD0, at end $(cut -d' ' -f1 /proc/loadavg)")
print("NEW: $NEW_INFO")
print("OLD: $OLD_INFO")
print("server: $SERVER_INFO")
print("day: $NOBJ objects ($NOBJ3 in windows 0-2), $NREC records, day file %.1f MiB" % ($DAYSIZE / 1048576))
print()
rows = [("mat_s3", "materialize, empty cache (S3)"),
        ("mat_file", "materialize, empty cache (file://)"),
        ("inc_base_s3", "materialize windows 0-2 (S3)"),
        ("inc_ext_s3", "  + window 3: the extension (S3)"),
        ("inc_base_file", "materialize windows 0-2 (file://)"),
        ("inc_ext_file", "  + window 3: the extension (file://)"),
        ("sync_cold", "sync, empty cache + target"),
        ("sync_warm", "sync again: nothing new"),
        ("sync_warm_cache", "sync, warm cache, empty target")]
print("%-38s %7s %7s %6s  %-17s %6s %6s %6s %8s %8s %9s" % (
    "wall s (median)", "OLD", "NEW", "N/O", "each repetition", "cpu O", "cpu N", "N/O",
    "RSS O", "RSS N", "server O/N"))
for step, name in rows:
    o, n = reps(step, "old"), reps(step, "new")
    if not o or not n:
        continue
    common = sorted(set(o) & set(n), key=int)
    wr = [n[k]["wall_s"] / o[k]["wall_s"] for k in common]
    cpu = lambda r: r["user_s"] + r["sys_s"]
    cr = [cpu(n[k]) / cpu(o[k]) for k in common if cpu(o[k]) > 0]
    srv = lambda rs: med([r.get("watch_cpu_s", 0) / r["wall_s"] for r in rs.values()])
    print("%-38s %7.2f %7.2f %5.2fx  %-17s %6.2f %6.2f %5.2fx %4.1f MiB %4.1f MiB %4.0f/%3.0f%%" % (
        name, med(r["wall_s"] for r in o.values()), med(r["wall_s"] for r in n.values()),
        med(wr), " ".join("%.2f" % x for x in wr),
        med(cpu(r) for r in o.values()), med(cpu(r) for r in n.values()),
        med(cr) if cr else float("nan"),
        max(r["rss_kib"] for r in o.values()) / 1024, max(r["rss_kib"] for r in n.values()) / 1024,
        100 * srv(o), 100 * srv(n)))
print("N/O: median of NEW/OLD within each repetition (each repetition's listed after it); cpu: user+sys s of")
print("swrepart; RSS: the largest peak (%s); server: the S3 server's CPU share of the wall time."
      % sorted({r["rss_from"] for s in runs.values() for b in s.values() for r in b.values()})[0])
print("peak RSS of each repetition, MiB (OLD | NEW):")
for step, name in rows:
    o, n = reps(step, "old"), reps(step, "new")
    if o and n:
        f = lambda rs: " ".join("%.1f" % (rs[k]["rss_kib"] / 1024) for k in sorted(rs, key=int))
        print("  %-36s %s | %s" % (name.strip(), f(o), f(n)))
busy = [r["machine_busy"] for s in runs.values() for b in s.values() for r in b.values()]
print("all CPUs busy during the runs: median %.0f%% (%.0f%% to %.0f%%)" % (
    100 * med(busy), 100 * min(busy), 100 * max(busy)))

# 4. the digest check alone
def inner(step):
    # the seconds each run of md5_py printed, by repetition
    out = {}
    for k in runs.get(step, {}).get("new", {}):
        try:
            t = float(open(os.path.join(T, "log", "%s.new.%s.log" % (step, k))).read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out.setdefault(k.split(".")[0], []).append(t)
    return out
def byrep(step):
    out = {}
    for k, r in runs.get(step, {}).get("new", {}).items():
        out.setdefault(k.split(".")[0], []).append(r["wall_s"])
    return out
dig = inner("md5_py")
if dig:
    print()
    size = $DAYSIZE
    alld = [x for v in dig.values() for x in v]
    t = med(alld)
    print("4. the digest check alone: MD5 of NEW's day file (%.1f MiB, in the page cache), %d runs"
          % (size / 1048576, len(alld)))
    print("   in-process (python hashlib = OpenSSL's MD5, 1 MiB reads):  median %.3f s, %.0f MiB/s"
          % (t, size / 1048576 / t))
    o, st = byrep("md5"), byrep("md5_start")
    if o and st:
        to = med([x for v in o.values() for x in v])
        ts = med([x for v in st.values() for x in v])
        print("   openssl dgst -md5 (a process):  median %.3f s, of which %.3f s is its start-up (dgst of /dev/null)"
              % (to, ts))
    for step, name in [("sync_warm_cache", "sync, warm cache, empty target"),
                       ("sync_cold", "sync, empty cache + target"),
                       ("mat_s3", "materialize, empty cache (S3)"),
                       ("mat_file", "materialize, empty cache (file://)"),
                       ("inc_ext_s3", "extension by window 3 (S3)"),
                       ("inc_ext_file", "extension by window 3 (file://)")]:
        n, o = reps(step, "new"), reps(step, "old")
        ks = [k for k in sorted(dig, key=int) if k in n]
        if not ks:
            continue
        sh = [med(dig[k]) / n[k]["wall_s"] for k in ks]
        shc = [med(dig[k]) / (n[k]["user_s"] + n[k]["sys_s"]) for k in ks]
        dw = [n[k]["wall_s"] - o[k]["wall_s"] for k in ks if k in o]
        dc = [(n[k]["user_s"] + n[k]["sys_s"]) - (o[k]["user_s"] + o[k]["sys_s"]) for k in ks if k in o]
        print("   = %5.1f%% of NEW's %-36s wall (%s), %5.1f%% of its CPU; NEW - OLD: %+.2f s wall, %+.2f s CPU"
              % (100 * med(sh), name, " ".join("%.1f%%" % (100 * x) for x in sh), 100 * med(shc),
                 med(dw) if dw else float("nan"), med(dc) if dc else float("nan")))

# requests of one run of each (the first repetition)
print()
cols = [("sync_cold", "sync cold"), ("sync_warm", "sync warm"), ("sync_warm_cache", "warm cache"),
        ("inc_ext_s3", "extension"), ("mat_s3", "materialize")]
stats = {}
for step, _ in cols:
    for b in ("old", "new"):
        f = os.path.join(T, "log", "%s.%s.1.stats.json" % (step, b))
        if os.path.exists(f):
            stats[(step, b)] = json.load(open(f))
if stats:
    print("requests to the S3 server by operation, repetition 1 (OLD / NEW)")
    keys = set()
    for s in stats.values():
        keys |= {("op", k) for k in s.get("byOperation", {})}
        keys |= {("status", k) for k in s.get("byStatus", {})}
    print("%-26s" % "" + "".join("%16s" % c for _, c in cols))
    for kind, k in sorted(keys, key=lambda x: (x[0] != "op", x[1])):
        field = "byOperation" if kind == "op" else "byStatus"
        cells = []
        for step, _ in cols:
            v = [str(stats.get((step, b), {}).get(field, {}).get(k, 0)) for b in ("old", "new")]
            cells.append("%16s" % ("%s / %s" % tuple(v)))
        print("%-26s" % (k if kind == "op" else "HTTP " + k) + "".join(cells))
    tot = []
    for step, _ in cols:
        tot.append("%16s" % ("%s / %s" % tuple(str(stats.get((step, b), {}).get("requests", 0)) for b in ("old", "new"))))
    print("%-26s" % "all requests" + "".join(tot))

# the same bytes?
same = {}
for line in open(os.path.join(T, "same-bytes")):
    p = line.split()
    if len(p) == 4:
        same.setdefault((p[0], p[1]), {})[p[2]] = p[3]
pairs = [v for v in same.values() if len(v) == 2]
if pairs:
    n_same = sum(1 for v in pairs if v["old"] == v["new"])
    print()
    print("day files of OLD and NEW from the same source: %d of %d pairs byte-identical" % (n_same, len(pairs)))
print()
print("failed runs or unexpected output: %d" % failed)
EOF
if [ "$FAILED" -gt 0 ]; then
	say "$FAILED run(s) failed or said something unexpected: the figures above are not to be trusted"
	exit 1
fi
