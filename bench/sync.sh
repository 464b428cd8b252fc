#!/bin/bash
# bench/sync.sh - benchmark of `swrepart sync` (issue 4, "Proof", bench/).
#
# Run from the project top after building in-tree (./swrepart):
#
#   bench/sync.sh [--quick] [--reps N] [--keep]
#
# It generates the realistic day of bench/materialize.sh with `swrepart
# gen` (1,334 series x 4 six-hour windows x 500 records), serves it from
# the S3 test server (tests/s3server), and times, side by side in each
# repetition, each into a target bucket of its own on the same server:
#
#   materialize     `swrepart materialize` of the day, empty cache (the
#                   day engine alone: list, fetch, merge)
#   sync cold       `swrepart sync` of the day, empty cache, empty target
#   sync warm       `swrepart sync` again: nothing new (one GET, one HEAD,
#                   listings; nothing fetched or uploaded)
#   sync warm cache `swrepart sync` into an empty target from the warm
#                   cache: the upload alone
#   aws s3 cp       the AWS CLI uploading the same day file (a peer's
#                   upload of the same bytes)
#   sync +window    the day exported in three windows, synced, then the
#                   fourth window exported and synced: the incremental
#                   path (only the new objects are fetched, the day is
#                   extended and replaced)
#
# and prints wall times (median), peak RSS, the S3 server's CPU share, and
# ratios to `materialize` measured in the same repetition.  Everything it
# starts (the S3 server, by PID) and its temporary directory are removed
# on exit.  Needs bash, /usr/bin/python3, node, tests/s3server/node_modules
# and /usr/bin/aws (else the aws row is skipped).
set -u

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<'EOF'

Options:
  --quick     a small smoke run (134 series, 1 repetition)
  --reps N    repetitions (3)
  --keep      keep the temporary directory (its path is printed)
EOF
}

QUICK=0 REPS=3 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 REPS=1 ;;
	--reps) REPS=${2:?--reps needs a number}; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench/sync.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $REPS in '' | *[!0-9]* | 0) echo "bench/sync.sh: --reps must be a positive number" >&2; exit 2 ;; esac
SERIES=1334
[ "$QUICK" = 1 ] && SERIES=134

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
PY=/usr/bin/python3
AWS=/usr/bin/aws
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[ -x "$TOP/swrepart" ] || die "no ./swrepart: build the project first"
NODE_BIN=${NODE:-$(command -v node)}
MODS=${SWREPART_S3SERVER_MODULES:-$TOP/tests/s3server/node_modules}
[ -n "$NODE_BIN" ] && [ -d "$MODS/@20minutes/s3rver" ] ||
	die "needs node and tests/s3server/node_modules (cd tests/s3server && npm ci)"

T=$(mktemp -d "${TMPDIR:-/tmp}/swrepart-bench.XXXXXX") || exit 1
S3_PID="" RUN_PID=""
cleanup() {
	[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null && wait "$RUN_PID" 2>/dev/null
	[ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
	if [ "$KEEP" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A copy of what is measured: a rebuild during the run changes nothing.
cp -p "$TOP/swrepart" "$T/swrepart" || die "cannot copy ./swrepart"
SWREPART=$T/swrepart
RUNS=$T/runs.jsonl
: >"$RUNS"
FAILED=0
# run LABEL REP -- CMD...: one timed run (the server's CPU watched).
run() {
	_label=$1 _rep=$2
	shift 3
	"$PY" "$TOP/bench/benchutil.py" run --out "$RUNS" --label "$_label#$_rep" \
		--watch "$S3_PID" --output "$T/$_label.$_rep.log" -- "$@" &
	RUN_PID=$!
	wait "$RUN_PID"
	_st=$?
	RUN_PID=""
	if [ "$_st" -ne 0 ]; then
		say "run '$_label' failed (exit $_st):"
		tail -n 5 "$T/$_label.$_rep.log" | sed 's/^/bench:   /' >&2
		FAILED=$((FAILED + 1))
	fi
}
expect() {  # expect LABEL REP REGEX: the run's output says what it should
	grep -Eq "$3" "$T/$1.$2.log" || {
		say "unexpected output of '$1' (wanted /$3/):"
		sed 's/^/bench:   /' "$T/$1.$2.log" | tail -n 5 >&2
		FAILED=$((FAILED + 1))
	}
}

GEN="--start 2022-01-01 --days 1 --series $SERIES --records 500 --disassociated-share 0.1005"
say "generating the day: swrepart gen $GEN"
# shellcheck disable=SC2086
"$SWREPART" gen $GEN "$T/cold" >"$T/gen.log" 2>&1 || { cat "$T/gen.log" >&2; die "gen failed"; }
# shellcheck disable=SC2086
"$SWREPART" gen $GEN --window-to 2 "$T/cold3" >/dev/null 2>&1 || die "gen of 3 windows failed"
say "$(cat "$T/gen.log")"

buckets=""
for i in $(seq 1 "$REPS"); do
	buckets="$buckets --bucket tcold$i --bucket tcache$i --bucket tcp$i --bucket tinc$i --bucket cold3x$i"
done
mkdir -p "$T/s3data"
"$PY" "$TOP/bench/benchutil.py" s3fixtures "$T/cold" "$T/s3data" cold >/dev/null || die "s3fixtures failed"
# shellcheck disable=SC2086
NODE_PATH="$MODS" "$NODE_BIN" "$TOP/tests/s3server/server.js" --dir "$T/s3data" --port 0 \
	--ready-file "$T/s3.ready" --access-key swrepart-bench --secret-key swrepart-bench-secret \
	--bucket cold $buckets >"$T/s3.log" 2>&1 &
S3_PID=$!
i=0
while [ ! -s "$T/s3.ready" ]; do
	i=$((i + 1))
	{ [ "$i" -gt 300 ] || ! kill -0 "$S3_PID" 2>/dev/null; } && { cat "$T/s3.log" >&2; die "the S3 server did not start"; }
	sleep 0.1
done
URL="http://127.0.0.1:$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$T/s3.ready")"
export AWS_ACCESS_KEY_ID=swrepart-bench AWS_SECRET_ACCESS_KEY=swrepart-bench-secret
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_CA_BUNDLE
printf '[default]\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
SW="$SWREPART --endpoint-url $URL --timeseries-type ALL"
# shellcheck disable=SC2086
$SW --cold-bucket cold ls >/dev/null 2>&1   # warm-up: the server's JIT

for i in $(seq 1 "$REPS"); do
	say "repetition $i/$REPS"
	rm -rf "$T/c-mat" "$T/c-sync" "$T/c-inc"
	# shellcheck disable=SC2086
	run materialize "$i" -- $SW --cold-bucket cold --cache-dir "$T/c-mat" materialize
	# shellcheck disable=SC2086
	run sync_cold "$i" -- $SW --cold-bucket cold --cache-dir "$T/c-sync" --target-bucket "tcold$i" sync
	expect sync_cold "$i" "^1 day: 1 published"
	# shellcheck disable=SC2086
	run sync_warm "$i" -- $SW --cold-bucket cold --cache-dir "$T/c-sync" --target-bucket "tcold$i" sync
	expect sync_warm "$i" "^1 day: 0 published, 1 unchanged"
	# shellcheck disable=SC2086
	run sync_warm_cache "$i" -- $SW --cold-bucket cold --cache-dir "$T/c-sync" --target-bucket "tcache$i" sync
	expect sync_warm_cache "$i" "^1 day: 1 published"
	day=$(ls "$T"/c-sync/days/*/2022/01/01.*.avro)
	if [ -x "$AWS" ]; then
		run aws_cp "$i" -- "$AWS" --endpoint-url "$URL" s3 cp --only-show-errors "$day" "s3://tcp$i/day.avro"
	fi
	# The incremental path: three windows, then the fourth.
	"$PY" "$TOP/bench/benchutil.py" s3fixtures "$T/cold3" "$T/s3data" "cold3x$i" >/dev/null
	# shellcheck disable=SC2086
	$SW --cold-bucket "cold3x$i" --cache-dir "$T/c-inc" --target-bucket "tinc$i" sync >"$T/inc0.$i.log" 2>&1 ||
		{ FAILED=$((FAILED + 1)); say "the 3-window sync failed"; }
	"$PY" "$TOP/bench/benchutil.py" s3fixtures "$T/cold" "$T/s3data" "cold3x$i" >/dev/null
	# shellcheck disable=SC2086
	run sync_window "$i" -- $SW --cold-bucket "cold3x$i" --cache-dir "$T/c-inc" --target-bucket "tinc$i" sync
	expect sync_window "$i" "^1 day: 1 published"
done

"$PY" - "$RUNS" "$FAILED" "$SERIES" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in runs:
    label, rep = r["label"].split("#")
    by.setdefault(label, {})[rep] = r
rows = [("materialize", "materialize, empty cache"),
        ("sync_cold", "sync, empty cache + target"),
        ("sync_warm", "sync again: nothing new"),
        ("sync_warm_cache", "sync, warm cache, empty target"),
        ("aws_cp", "aws s3 cp of the day file"),
        ("sync_window", "sync after a 4th window")]
print("swrepart sync benchmark: %s series, %d repetition(s); failed checks: %s"
      % (sys.argv[3], len(by.get("materialize", {})), sys.argv[2]))
print("%-32s %8s %10s %9s %9s %16s" % ("run", "wall s", "peak RSS", "cpu s", "server", "÷ materialize"))
for key, name in rows:
    reps = by.get(key)
    if not reps:
        continue
    wall = statistics.median(r["wall_s"] for r in reps.values())
    rss = max(r["maxrss_kib"] for r in reps.values()) / 1024
    cpu = statistics.median(r["user_s"] + r["sys_s"] for r in reps.values())
    srv = statistics.median(r.get("watch_cpu_s", 0) / r["wall_s"] for r in reps.values())
    ratios = [r["wall_s"] / by["materialize"][k]["wall_s"] for k, r in reps.items()
              if k in by.get("materialize", {})]
    print("%-32s %8.2f %7.1f MiB %9.2f %8.0f%% %15.2fx" % (name, wall, rss, cpu, 100 * srv,
          statistics.median(ratios) if ratios else float("nan")))
print("wall: median; peak RSS: the largest; server: the S3 server's CPU share of the wall time;")
print("÷ materialize: median of the per-repetition ratios to materialize's wall time.")
EOF
[ "$FAILED" -eq 0 ]
