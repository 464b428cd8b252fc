#!/bin/bash
# bench/speed.sh - issue 14, "speed at the limit": each target of the issue
# measured side by side in one run, printed as ratios with pass/fail.
#
# Run from the project top after building (./swrepart), or name a build:
#
#   bench/speed.sh [--quick] [--reps N] [--swrepart PATH] [--server-workers N]
#                  [--sample-series N] [--sample-reps N] [--rss-scale N] [--keep]
#
# It generates the realistic day of bench/materialize.sh (1,334 series x 4
# six-hour windows x 500 records, 10 % disassociated) and a smaller day for
# the Python sample, serves both from the S3 test server (tests/s3server)
# and the big one from a directory (file://), and measures in each
# repetition, order rotating:
#
#   cat        `cat FILES > /dev/null` of the day's input files (hot)
#   mat_file   `swrepart materialize` from file://, empty cache
#   mat_s3     `swrepart materialize` from the S3 server, empty cache
#   sync_cold  `swrepart sync` from the S3 server, empty cache, new target
#   aws_cp     `aws s3 cp --recursive` of the day's raw/ prefix to a directory
#
# then, alternating, the Python sample's pipeline (benchutil.py sample: list,
# download with botocore/s3transfer from a Pool, decode and re-encode every
# record with python3-avro, upload) and `swrepart sync` of the smaller day,
# each into a new target; and peak RSS of materialize and sync (file:// to
# file://) at --rss-scale times the day (records per file, then series).
#
# The targets (the table at the end, stdout; progress on stderr):
#   1. materialize file:// at least as fast as cat of its inputs (>= 1.0x)
#   2. swrepart's CPU (user + sys) <= 0.4 ms per object from S3, and the S3
#      server's CPU share (all its processes) during those runs
#   3. sync of a cold day <= 1.0x the wall time of aws s3 cp of its objects
#   4. against the Python sample: >= 100x less CPU, >= 40x less wall time
#   5. peak RSS <= 64 MiB at 1x and at --rss-scale times the day
# Before each timed run, sync(1) writes back what earlier steps left dirty
# (aws s3 cp's 10,000 files, a deleted cache), so that no run pays for the
# writeback of the one before it (as hyperfine --prepare 'sync').
# Ratios are taken within each repetition (runs next to each other), then
# the median and the range are printed. Each row says what bounded it, from
# the CPU shares measured over the run: the S3 server, the CPUs, the disk
# (iowait), or none of these (waiting on round trips).
#
# Credentials: the test server's defaults, given to clients through the
# environment only. Everything it starts (the server, by PID) and its
# temporary directory are removed on exit. Needs bash, /usr/bin/python3
# (python3-avro), node with tests/s3server/node_modules, /usr/bin/aws.
set -u

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<'EOF'

Options:
  --quick              smoke run (134 series, a 34-series sample day run once, x2 memory runs)
  --reps N             repetitions of the five side-by-side runs (3)
  --swrepart PATH      the build to measure (default ./swrepart of this tree)
  --server-workers N   S3 server processes, if server.js has --workers (2; 1: none)
  --sample-series N    series of the Python sample's day (134; 34 with --quick)
  --sample-reps N      runs of the sample and of swrepart on its day (3; 1 with --quick)
  --rss-scale N        size factor of the peak-RSS runs (10; 2 with --quick; 0: none)
  --keep               keep the temporary directory (its path is printed)
EOF
}

QUICK=0 REPS=3 SW_ARG="" WORKERS=2 SAMPLE_SERIES="" SAMPLE_REPS="" RSS_SCALE="" KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS=${2:?--reps needs a number}; shift ;;
	--swrepart) SW_ARG=${2:?--swrepart needs a path}; shift ;;
	--server-workers) WORKERS=${2:?--server-workers needs a number}; shift ;;
	--sample-series) SAMPLE_SERIES=${2:?}; shift ;;
	--sample-reps) SAMPLE_REPS=${2:?}; shift ;;
	--rss-scale) RSS_SCALE=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench/speed.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
SERIES=1334 RECORDS=500
if [ "$QUICK" = 1 ]; then
	SERIES=134
	: "${SAMPLE_SERIES:=34}" "${SAMPLE_REPS:=1}" "${RSS_SCALE:=2}"
else
	: "${SAMPLE_SERIES:=134}" "${SAMPLE_REPS:=3}" "${RSS_SCALE:=10}"
fi
for v in "$REPS" "$WORKERS" "$SAMPLE_SERIES" "$SAMPLE_REPS" "$RSS_SCALE"; do
	case $v in '' | *[!0-9]*) echo "bench/speed.sh: '$v' is not a number" >&2; exit 2 ;; esac
done
[ "$REPS" -ge 1 ] && [ "$WORKERS" -ge 1 ] && [ "$SAMPLE_SERIES" -ge 1 ] ||
	{ echo "bench/speed.sh: --reps, --server-workers and --sample-series must be at least 1" >&2; exit 2; }

# --swrepart PATH relative to where the script was started.
case $SW_ARG in '' | /*) ;; *) SW_ARG=$PWD/$SW_ARG ;; esac
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
PY=/usr/bin/python3
AWS=/usr/bin/aws
U() { "$PY" "$TOP/bench/benchutil.py" "$@"; }
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

SWREPART_SRC=${SW_ARG:-$TOP/swrepart}
[ -x "$SWREPART_SRC" ] || die "no $SWREPART_SRC: build the project first, or name a build with --swrepart"
[ -x "$PY" ] || die "$PY is needed"
[ -x "$AWS" ] || die "$AWS (Debian's awscli) is needed for target 3"
NODE_BIN=${NODE:-$(command -v node)}
MODS=${SWREPART_S3SERVER_MODULES:-$TOP/tests/s3server/node_modules}
[ -n "$NODE_BIN" ] && [ -d "$MODS/@20minutes/s3rver" ] ||
	die "needs node and tests/s3server/node_modules (cd tests/s3server && npm ci)"

T=$(mktemp -d "${TMPDIR:-/tmp}/swrepart-speed.XXXXXX") || exit 1
S3_PID="" RUN_PID="" PROBE_PID=""
# stop_server PID: stops a server started here and any worker processes it
# forked (each by PID: their parent's PID names them).
stop_server() {
	_kids=$(ps -o pid= --ppid "$1" 2>/dev/null)
	kill "$1" 2>/dev/null && wait "$1" 2>/dev/null
	for _k in $_kids; do
		kill -0 "$_k" 2>/dev/null && kill "$_k" 2>/dev/null
	done
}
cleanup() {
	if [ -n "$RUN_PID" ]; then
		kill "$RUN_PID" 2>/dev/null && wait "$RUN_PID" 2>/dev/null
	fi
	[ -z "$PROBE_PID" ] || stop_server "$PROBE_PID"
	[ -z "$S3_PID" ] || stop_server "$S3_PID"
	if [ "$KEEP" = 1 ]; then
		say "kept $T"
	else
		rm -rf "$T" 2>/dev/null || { sleep 1; rm -rf "$T"; }
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

LOAD0=$(cat /proc/loadavg)
START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
SECONDS=0

# A copy of what is measured: a rebuild during the run changes nothing.
cp -p "$SWREPART_SRC" "$T/swrepart" || die "cannot copy $SWREPART_SRC"
SWREPART=$T/swrepart
BUILD="$SWREPART_SRC built $(date -u -r "$SWREPART_SRC" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$SWREPART_SRC" | cut -c1-12)"
SRCDIR=$(cd "$(dirname "$SWREPART_SRC")" && pwd)
if COMMIT=$(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null); then
	DIRTY=$(git -C "$SRCDIR" status --porcelain -- src 2>/dev/null | wc -l)
	BUILD="$BUILD, tree at $COMMIT$([ "$DIRTY" -gt 0 ] && echo " + uncommitted changes in $DIRTY src/ files")"
fi

RUNS=$T/runs.jsonl
: >"$RUNS"
FAILED=0
# run LABEL [benchutil run options] -- CMD...: one timed run, in the
# background and waited for, so that a signal is handled at once.
run() {
	_label=$1
	shift
	sync
	"$PY" "$TOP/bench/benchutil.py" run --out "$RUNS" --label "$_label" "$@" &
	RUN_PID=$!
	wait "$RUN_PID"
	_st=$?
	RUN_PID=""
	if [ "$_st" -ne 0 ]; then
		say "run '$_label' failed (exit $_st)"
		FAILED=$((FAILED + 1))
	fi
}
# expect LOG REGEX: the run's output says what it should.
expect() {
	grep -Eq "$2" "$1" || {
		say "unexpected output in $1 (wanted /$2/):"
		tail -n 5 "$1" | sed 's/^/bench:   /' >&2
		FAILED=$((FAILED + 1))
	}
}

# ---- the days ------------------------------------------------------------------
# gen_day DIR SERIES RECORDS: writes the day; sets NOBJ NBYTES NREC (raw objects).
gen_day() {
	"$SWREPART" gen --start 2022-01-01 --days 1 --series "$2" --records "$3" \
		--disassociated-share 0.1005 "$1" >"$1.gen" 2>&1 || { cat "$1.gen" >&2; die "gen failed"; }
	(cd "$1" && find raw -type f -name '*.avro' | LC_ALL=C sort) >"$1.list"
	read -r NOBJ NBYTES <<EOF
$(cd "$1" && U sizes "$1.list")
EOF
	NREC=$(sed -n 's/.*, \([0-9]*\) records[;)].*/\1/p' "$1.gen")
	[ -n "$NREC" ] || { cat "$1.gen" >&2; die "cannot read the record count from gen's output"; }
}
say "generating the day: $SERIES series x 4 windows x $RECORDS records"
gen_day "$T/cold" "$SERIES" "$RECORDS"
DAY_OBJ=$NOBJ DAY_BYTES=$NBYTES DAY_REC=$NREC
say "$DAY_OBJ objects, $DAY_BYTES bytes, $DAY_REC records"
say "generating the sample's day: $SAMPLE_SERIES series"
gen_day "$T/small" "$SAMPLE_SERIES" "$RECORDS"
SM_OBJ=$NOBJ SM_BYTES=$NBYTES SM_REC=$NREC
say "$SM_OBJ objects, $SM_BYTES bytes, $SM_REC records"
DAYPFX="raw/startYear=2022/startMonth=1/startDay=1/"

# ---- the S3 test server ----------------------------------------------------------
mkdir -p "$T/s3data"
say "writing the objects into the S3 server's data directory"
U s3fixtures "$T/cold" "$T/s3data" cold >/dev/null || die "s3fixtures failed"
U s3fixtures "$T/small" "$T/s3data" small >/dev/null || die "s3fixtures failed"
BUCKETS=(--bucket cold --bucket small)
for i in $(seq 1 "$REPS"); do BUCKETS+=(--bucket "tsync$i"); done
for i in $(seq 1 "$SAMPLE_REPS"); do BUCKETS+=(--bucket "tsample$i" --bucket "tsw$i"); done
SERVER_NOTE=""
WORKER_ARGS=()
if [ "$WORKERS" -gt 1 ]; then
	if NODE_PATH="$MODS" "$NODE_BIN" "$TOP/tests/s3server/server.js" --help 2>&1 | grep -q -- '--workers'; then
		WORKER_ARGS=(--workers "$WORKERS")
		SERVER_NOTE="S3 test server: $WORKERS processes (--workers $WORKERS, in its --help)"
	else
		# Not in --help: a quick start tells whether it is understood.
		mkdir -p "$T/probe"
		NODE_PATH="$MODS" "$NODE_BIN" "$TOP/tests/s3server/server.js" --workers "$WORKERS" \
			--dir "$T/probe" --port 0 --ready-file "$T/probe.ready" >"$T/probe.log" 2>&1 &
		PROBE_PID=$!
		i=0
		while [ ! -s "$T/probe.ready" ] && kill -0 "$PROBE_PID" 2>/dev/null && [ "$i" -lt 100 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		if [ -s "$T/probe.ready" ]; then
			WORKER_ARGS=(--workers "$WORKERS")
			SERVER_NOTE="S3 test server: $WORKERS processes (--workers $WORKERS: a quick start took it)"
		else
			SERVER_NOTE="S3 test server: one process (server.js does not take --workers: --server-workers $WORKERS not applied)"
		fi
		stop_server "$PROBE_PID"
		PROBE_PID=""
		rm -rf "$T/probe"
	fi
else
	SERVER_NOTE="S3 test server: one process (--server-workers 1)"
fi
say "$SERVER_NOTE"
SERVER_SHA=$(sha256sum "$TOP/tests/s3server/server.js" | cut -c1-12)
# No --access-key/--secret-key: the server's defaults (S3RVER) keep
# credentials off every command line; clients get them from the environment.
NODE_PATH="$MODS" "$NODE_BIN" "$TOP/tests/s3server/server.js" "${WORKER_ARGS[@]}" \
	--dir "$T/s3data" --port 0 --ready-file "$T/s3.ready" "${BUCKETS[@]}" >"$T/s3.log" 2>&1 &
S3_PID=$!
i=0
while [ ! -s "$T/s3.ready" ]; do
	i=$((i + 1))
	if [ "$i" -gt 300 ] || ! kill -0 "$S3_PID" 2>/dev/null; then
		cat "$T/s3.log" >&2
		die "the S3 test server did not start"
	fi
	sleep 0.1
done
URL="http://127.0.0.1:$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$T/s3.ready")"
# As tests/s3server/selftest.sh sets up awscli.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_DEFAULT_PROFILE
export AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
: >"$AWS_SHARED_CREDENTIALS_FILE"
printf '[default]\nretry_mode = standard\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
SW="$SWREPART --endpoint-url $URL --timeseries-type ALL"

say "warming up (the server's JIT, the page cache)"
# shellcheck disable=SC2086
$SW --cold-bucket cold ls >/dev/null 2>&1
"$AWS" --endpoint-url "$URL" s3 ls "s3://cold/$DAYPFX" >/dev/null 2>&1
(cd "$T/cold" && xargs -d '\n' -s 2000000 cat <"$T/cold.list" >/dev/null)
NPROCS=$(U run --out "$T/probe.jsonl" --label probe --watch-tree "$S3_PID" -- true && "$PY" -c \
	'import json,sys; print(json.loads(open(sys.argv[1]).readline()).get("tree_procs", 1))' "$T/probe.jsonl")
SERVER_NOTE="$SERVER_NOTE; $NPROCS process(es) in its tree"

# ---- 1 to 3: side by side, order rotating ------------------------------------------
# shellcheck disable=SC2016
step() {
	case $1 in
	cat) run "cat#$2" -- sh -c 'cd "$1" && exec xargs -d "\n" -s 2000000 cat <"$2" >/dev/null' \
		sh "$T/cold" "$T/cold.list" ;;
	mat_file)
		rm -rf "$T/c"
		run "mat_file#$2" --output "$T/mat_file.$2.log" -- \
			"$SWREPART" --timeseries-type ALL --cache-dir "$T/c" --cold-bucket "file://$T/cold" materialize
		expect "$T/mat_file.$2.log" "$DAY_OBJ fetched .* $DAY_REC records merged"
		rm -rf "$T/c" ;;
	mat_s3)
		rm -rf "$T/c"
		# shellcheck disable=SC2086
		run "mat_s3#$2" --watch-tree "$S3_PID" --output "$T/mat_s3.$2.log" -- \
			$SW --cache-dir "$T/c" --cold-bucket cold materialize
		expect "$T/mat_s3.$2.log" "$DAY_OBJ fetched .* $DAY_REC records merged"
		rm -rf "$T/c" ;;
	sync_cold)
		rm -rf "$T/c"
		# shellcheck disable=SC2086
		run "sync_cold#$2" --watch-tree "$S3_PID" --output "$T/sync_cold.$2.log" -- \
			$SW --cache-dir "$T/c" --cold-bucket cold --target-bucket "tsync$2" sync
		expect "$T/sync_cold.$2.log" "^1 day: 1 published"
		rm -rf "$T/c" ;;
	aws_cp)
		rm -rf "$T/awsdir"
		run "aws_cp#$2" --watch-tree "$S3_PID" --output "$T/aws_cp.$2.log" -- \
			"$AWS" --endpoint-url "$URL" s3 cp --recursive --only-show-errors "s3://cold/$DAYPFX" "$T/awsdir"
		n=$(find "$T/awsdir" -type f -name '*.avro' 2>/dev/null | wc -l)
		[ "$n" = "$DAY_OBJ" ] || { say "aws s3 cp copied $n objects, not $DAY_OBJ"; FAILED=$((FAILED + 1)); }
		rm -rf "$T/awsdir" ;;
	esac
}
STEPS="cat mat_file mat_s3 sync_cold aws_cp"
for i in $(seq 1 "$REPS"); do
	# shellcheck disable=SC2086
	set -- $STEPS
	k=$(((i - 1) % $#))
	while [ "$k" -gt 0 ]; do
		first=$1
		shift
		set -- "$@" "$first"
		k=$((k - 1))
	done
	say "side by side, repetition $i/$REPS: $*"
	for s in "$@"; do
		step "$s" "$i"
	done
done

# ---- 4. the Python sample against swrepart sync, on the smaller day ------------------
for i in $(seq 1 "$SAMPLE_REPS"); do
	say "the Python sample and swrepart sync, $SAMPLE_SERIES series ($i/$SAMPLE_REPS)"
	for s in $([ $((i % 2)) = 1 ] && echo "sample sw_small" || echo "sw_small sample"); do
		rm -rf "$T/c" "$T/sw"
		if [ "$s" = sample ]; then
			run "sample#$i" --watch-tree "$S3_PID" --output "$T/sample.$i.log" -- \
				"$PY" "$TOP/bench/benchutil.py" sample --endpoint "$URL" --bucket small \
				--target "tsample$i" --day 2022-01-01 --work "$T/sw"
			expect "$T/sample.$i.log" "^merge: $SM_REC records"
		else
			# shellcheck disable=SC2086
			run "sw_small#$i" --watch-tree "$S3_PID" --output "$T/sw_small.$i.log" -- \
				$SW --cache-dir "$T/c" --cold-bucket small --target-bucket "tsw$i" sync
			expect "$T/sw_small.$i.log" "^1 day: 1 published"
		fi
	done
	rm -rf "$T/c" "$T/sw"
done
stop_server "$S3_PID"
S3_PID=""
rm -rf "$T/s3data" "$T/small"

# ---- 5. peak RSS at a bigger day (file://) -----------------------------------------
RSS_META=()
if [ "$RSS_SCALE" -gt 1 ]; then
	# big LABEL SERIES RECORDS: materialize, then sync (file:// to file://).
	big() {
		say "memory runs: x$RSS_SCALE $1 ($2 series x 4 windows x $3 records)"
		rm -rf "$T/cold"
		gen_day "$T/big" "$2" "$3"
		rm -rf "$T/c"
		run "rss_mat_$1" --output "$T/rss_mat_$1.log" -- \
			"$SWREPART" --timeseries-type ALL --cache-dir "$T/c" --cold-bucket "file://$T/big" materialize
		expect "$T/rss_mat_$1.log" "$NOBJ fetched .* $NREC records merged"
		rm -rf "$T/c" "$T/tgt"
		mkdir "$T/tgt"
		run "rss_sync_$1" --output "$T/rss_sync_$1.log" -- \
			"$SWREPART" --timeseries-type ALL --cache-dir "$T/c" --cold-bucket "file://$T/big" \
			--target-bucket "file://$T/tgt" sync
		expect "$T/rss_sync_$1.log" "^1 day: 1 published"
		RSS_META+=(--meta "desc_$1=x$RSS_SCALE $1: $NOBJ objects, $(awk -v b="$NBYTES" 'BEGIN { printf "%.0f", b / 1048576 }') MiB, $NREC records")
		rm -rf "$T/c" "$T/tgt" "$T/big"
	}
	big records "$SERIES" $((RECORDS * RSS_SCALE))
	big series $((SERIES * RSS_SCALE)) "$RECORDS"
fi

# ---- the table ------------------------------------------------------------------
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
U speed-report "$RUNS" \
	--meta "title=$([ "$QUICK" = 1 ] && echo 'bench/speed.sh --quick' || echo 'bench/speed.sh')" \
	--meta "files=$DAY_OBJ" --meta "bytes=$DAY_BYTES" --meta "records=$DAY_REC" --meta "series=$SERIES" \
	--meta "sm_files=$SM_OBJ" --meta "sm_bytes=$SM_BYTES" --meta "sm_records=$SM_REC" \
	--meta "sm_series=$SAMPLE_SERIES" --meta "rss_scale=$RSS_SCALE" \
	--meta "machine=$(nproc) cores ($MODEL), Linux $(uname -r), $("$NODE_BIN" --version), $("$AWS" --version 2>&1 | cut -d' ' -f1)" \
	--meta "cores=$(nproc)" --meta "build=$BUILD" \
	--meta "server=$SERVER_NOTE, server.js sha256 $SERVER_SHA" --meta "workers=$NPROCS" \
	--meta "load0=$LOAD0" --meta "load1=$(cat /proc/loadavg)" \
	--meta "date=$START, $SECONDS s" \
	"${RSS_META[@]}" || { say "the report failed"; FAILED=$((FAILED + 1)); }
if [ "$FAILED" -gt 0 ]; then
	say "$FAILED run(s) failed or gave unexpected output: the figures above are not to be trusted"
	exit 1
fi
