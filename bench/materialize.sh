#!/bin/bash
# bench/materialize.sh - benchmark of swrepart's day engine (issue 3, "Proof", bench/).
#
# Run from the project top after building in-tree (./swrepart, libswrepart.a):
#
#   bench/materialize.sh [--quick] [--scale N] [--reps N] [--s3-reps N]
#                        [--rss-scale N] [--no-sweep] [--keep]
#
# It generates a realistic day with `swrepart gen` (1,334 series, 10 %
# disassociated: 1,200 associated series x 4 windows x 500 records, plus
# 134 disassociated ones; --disassociated-share 0.1005), serves it from
# the S3 test server (tests/s3server) and from a directory (file://), and
# measures:
#
#  1. `swrepart --timeseries-type ALL materialize` of that day, empty
#     cache, from the S3 server and from file://: wall time, objects/s,
#     MiB/s, records/s, peak RSS, the fetch and merge times swrepart
#     reports, and the S3 server's CPU share during the S3 runs; each S3
#     run is followed by a file:// run, and their ratio shows how much
#     faster swrepart is than the server can serve; runs with --requests 8 and
#     128 show whether more requests in flight help;
#  2. side by side, in each repetition: `cat` of the input files, `cat` of
#     one file holding the same bytes, a plain read of the files (one
#     buffer), the merge alone (bench/merge_only.c: swrepart's own merge
#     code linked from libswrepart.a, no list, no fetch, no fsync, no
#     index), to /dev/null and to a file, and materialize from file://;
#     speeds relative to cat (and to the plain read) as medians of the
#     per-repetition ratios;
#  3. peak RSS at this day's size and at --rss-scale times the realistic
#     day (ten times the records per file, and separately ten times the
#     series), from file://.
#
# The summary table is printed last (stdout); progress goes to stderr.
# Everything it starts (the S3 server, by PID) and its temporary directory
# are removed on exit.  Needs: bash, /usr/bin/python3, node and
# tests/s3server/node_modules (else the S3 part is skipped), cc (else the
# merge-alone rows are skipped), coreutils, find, xargs.
set -u

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<'EOF'

Options:
  --quick         a small smoke run (134 series, fewer repetitions, x2 memory runs)
  --scale N       N times the records per file of the benchmarked day (1)
  --reps N        side-by-side repetitions of section 2 (5; 3 when --scale >= 5)
  --s3-reps N     materialize runs from the S3 server (3; 1 when --scale >= 5)
  --rss-scale N   size factor of the extra peak-RSS runs (10; 0: none)
  --no-sweep      skip the S3 runs with --requests 8 and 128
  --keep          keep the temporary directory (its path is printed)
EOF
}

SCALE=1 QUICK=0 REPS="" S3_REPS="" RSS_SCALE="" SWEEP=1 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--scale) SCALE=${2:?--scale needs a number}; shift ;;
	--reps) REPS=${2:?}; shift ;;
	--s3-reps) S3_REPS=${2:?}; shift ;;
	--rss-scale) RSS_SCALE=${2:?}; shift ;;
	--no-sweep) SWEEP=0 ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench/materialize.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for v in "$SCALE" "${REPS:-1}" "${S3_REPS:-0}" "${RSS_SCALE:-0}"; do
	case $v in '' | *[!0-9]*) echo "bench/materialize.sh: '$v' is not a number" >&2; exit 2 ;; esac
done
[ "$SCALE" -ge 1 ] || { echo "bench/materialize.sh: --scale must be at least 1" >&2; exit 2; }

SERIES=1334 RECORDS=500
if [ "$QUICK" = 1 ]; then
	SERIES=134
	: "${REPS:=2}" "${S3_REPS:=1}" "${RSS_SCALE:=2}"
	SWEEP=0
elif [ "$SCALE" -ge 5 ]; then
	: "${REPS:=3}" "${S3_REPS:=1}" "${RSS_SCALE:=10}"
	SWEEP=0
else
	: "${REPS:=5}" "${S3_REPS:=3}" "${RSS_SCALE:=10}"
fi
RECS=$((RECORDS * SCALE))

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
SWREPART=${SWREPART:-$TOP/swrepart}
PY=/usr/bin/python3
U() { "$PY" "$TOP/bench/benchutil.py" "$@"; }
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ -x "$SWREPART" ] || die "no $SWREPART: build the project first (./configure && make)"
[ -x "$PY" ] || die "$PY is needed"

T=$(mktemp -d "${TMPDIR:-/tmp}/swrepart-bench.XXXXXX") || exit 1
S3_PID="" RUN_PID=""
cleanup() {
	if [ -n "$RUN_PID" ]; then
		kill "$RUN_PID" 2>/dev/null && wait "$RUN_PID" 2>/dev/null
	fi
	if [ -n "$S3_PID" ]; then
		kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
	fi
	if [ "$KEEP" = 1 ]; then
		say "kept $T"
	else
		rm -rf "$T" 2>/dev/null || { sleep 1; rm -rf "$T"; }
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WATCH=""
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
RUNS=$T/runs.jsonl
: >"$RUNS"
FAILED=0
# run LABEL [--watch PID] [--log FILE] -- CMD...: one timed run.
# In the background and waited for, so that a signal is handled at once
# (cleanup stops the run, and benchutil.py stops its command).
run() {
	_label=$1
	shift
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
# check_day LOG: materialize built the whole day.
check_day() {
	grep -Eq "^[0-9-]+: $NOBJ objects listed, $NOBJ fetched .* $NREC records merged" "$1" || {
		say "unexpected materialize output in $1:"
		sed 's/^/bench:   /' "$1" >&2
		FAILED=$((FAILED + 1))
	}
}
# materialize LABEL CACHE LOG [global options]: one run from the source given.
materialize() {
	_l=$1 _c=$2 _log=$3
	shift 3
	rm -rf "$_c"
	run "$_l" --log "$_log" --output "$_log" ${WATCH:+--watch "$WATCH"} -- \
		"$SWREPART" "$@" --timeseries-type ALL --cache-dir "$_c" materialize
	check_day "$_log"
	rm -rf "$_c"
}

# ---- the merge-alone helper --------------------------------------------------
# Copies of what is measured, so that a rebuild during the run (others may
# be working in the tree) changes nothing.
SWREPART_SRC=$SWREPART
cp -p "$SWREPART_SRC" "$T/swrepart" || die "cannot copy $SWREPART_SRC"
SWREPART=$T/swrepart
for f in "$TOP"/src/*/*.c "$TOP"/src/*/*.h; do
	if [ "$f" -nt "$SWREPART_SRC" ]; then
		say "note: ${f#"$TOP"/} changed after ./swrepart was built: run make for current figures"
	fi
done
BUILD="$(basename "$SWREPART_SRC") built $(date -u -r "$SWREPART_SRC" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$SWREPART_SRC" | cut -c1-12)"
if COMMIT=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null); then
	DIRTY=$(git -C "$TOP" status --porcelain -- src 2>/dev/null | wc -l)
	BUILD="$BUILD, tree at $COMMIT$([ "$DIRTY" -gt 0 ] && echo " + uncommitted changes in $DIRTY src/ files")"
fi

MERGE_ONLY=""
if command -v cc >/dev/null 2>&1 && [ -f "$TOP/libswrepart.a" ]; then
	[ "$TOP/libswrepart.a" -nt "$SWREPART_SRC" ] &&
		say "note: libswrepart.a is newer than ./swrepart (a build in progress?): the merge-alone rows may use other code"
	for libs in "-lsnappy -lz -lavro -ljansson -lcrypto -lm" \
		"-lfuse3 -lavro -lcurl -lcrypto -lsqlite3 -lyaml -ljansson -lxml2 -lz -lsnappy -lm"; do
		# shellcheck disable=SC2086
		if cc -O2 -pthread -iquote "$TOP/src" -I"$TOP" "$TOP/bench/merge_only.c" \
			"$TOP/libswrepart.a" $libs -o "$T/merge_only" 2>"$T/cc.log"; then
			MERGE_ONLY=$T/merge_only
			break
		fi
	done
	[ -n "$MERGE_ONLY" ] || { say "cannot build bench/merge_only.c (merge-alone rows skipped):"; sed 's/^/bench:   /' "$T/cc.log" >&2; }
else
	say "no cc or no libswrepart.a: merge-alone rows skipped"
fi

# ---- the day -------------------------------------------------------------------
GEN="--start 2022-01-01 --days 1 --series $SERIES --records $RECS --disassociated-share 0.1005"
say "generating the day: swrepart gen $GEN"
# shellcheck disable=SC2086
"$SWREPART" gen $GEN "$T/cold" >"$T/gen.log" 2>&1 || { cat "$T/gen.log" >&2; die "gen failed"; }
(cd "$T/cold" && find raw -type f -name '*.avro' | LC_ALL=C sort) >"$T/list.rel"
read -r NOBJ NBYTES <<EOF
$(cd "$T/cold" && U sizes "$T/list.rel")
EOF
NREC=$(sed -n 's/.*, \([0-9]*\) records[);].*/\1/p' "$T/gen.log")
[ -n "$NREC" ] || { cat "$T/gen.log" >&2; die "cannot read the record count from gen's output"; }
# shellcheck disable=SC2086
NASSOC=$("$SWREPART" gen $GEN --list-series "$T/x" | awk -F'\t' '$3 == "ASSOCIATED"' | wc -l)
say "$NOBJ objects, $NBYTES bytes, $NREC records ($NASSOC associated series of $SERIES)"
(cd "$T/cold" && xargs -d '\n' -s 2000000 cat <"$T/list.rel" >"$T/one.bin") || die "cannot write one.bin"

# ---- 1. materialize from the S3 test server -------------------------------------
NODE_BIN=${NODE:-$(command -v node)}
MODS=${SWREPART_S3SERVER_MODULES:-$TOP/tests/s3server/node_modules}
if [ -z "$NODE_BIN" ] || [ ! -d "$MODS/@20minutes/s3rver" ]; then
	say "no node or no tests/s3server/node_modules (cd tests/s3server && npm ci): S3 runs skipped"
	S3_REPS=0
fi
if [ "$S3_REPS" -gt 0 ]; then
	mkdir -p "$T/s3data"
	say "writing the objects into the S3 server's data directory"
	U s3fixtures "$T/cold" "$T/s3data" cold >/dev/null || die "s3fixtures failed"
	NODE_PATH="$MODS" "$NODE_BIN" "$TOP/tests/s3server/server.js" \
		--dir "$T/s3data" --port 0 --ready-file "$T/s3.ready" \
		--access-key swrepart-bench --secret-key swrepart-bench-secret \
		--bucket cold >"$T/s3.log" 2>&1 &
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
	S3_PORT=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$T/s3.ready")
	export AWS_ACCESS_KEY_ID=swrepart-bench AWS_SECRET_ACCESS_KEY=swrepart-bench-secret
	export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
	export AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_CA_BUNDLE
	: >"$AWS_CONFIG_FILE"
	: >"$AWS_SHARED_CREDENTIALS_FILE"
	S3="--endpoint-url http://127.0.0.1:$S3_PORT --cold-bucket cold"
	# A warm-up: the server's first requests pay for its JIT.
	# shellcheck disable=SC2086
	"$SWREPART" $S3 ls >/dev/null 2>&1
	for i in $(seq 1 "$S3_REPS"); do
		say "materialize from the S3 server, then from file:// ($i/$S3_REPS)"
		WATCH=$S3_PID
		# shellcheck disable=SC2086
		materialize mat_s3 "$T/cache-s3" "$T/mat_s3.$i.log" $S3
		WATCH=""
		materialize mat_file_pair "$T/cache-f" "$T/mat_file_pair.$i.log" --cold-bucket "file://$T/cold"
	done
	WATCH=$S3_PID
	if [ "$SWEEP" = 1 ]; then
		for j in 8 128; do
			say "materialize from the S3 server with --requests $j"
			# shellcheck disable=SC2086
			materialize "mat_s3_j$j" "$T/cache-s3" "$T/mat_s3_j$j.log" $S3 --requests "$j"
		done
	fi
	WATCH=""
	kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
	S3_PID=""
	rm -rf "$T/s3data"
fi

# ---- 2. side by side: cat, the merge alone, materialize from file:// --------------
MO_OUT=$T/merged.avro
# shellcheck disable=SC2016
step() {
	case $1 in
	cat) run cat -- sh -c 'cd "$1" && exec xargs -d "\n" -s 2000000 cat <"$2" >/dev/null' sh "$T/cold" "$T/list.rel" ;;
	cat_one) run cat_one -- cat "$T/one.bin" >/dev/null ;;
	read_only) [ -z "$MERGE_ONLY" ] ||
		run read_only -- sh -c 'cd "$1" && exec "$2" --read "$3" >/dev/null' sh "$T/cold" "$MERGE_ONLY" "$T/list.rel" ;;
	merge_null) [ -z "$MERGE_ONLY" ] ||
		run merge_null -- sh -c 'cd "$1" && exec "$2" "$3" /dev/null >/dev/null' sh "$T/cold" "$MERGE_ONLY" "$T/list.rel" ;;
	merge_file) [ -z "$MERGE_ONLY" ] || {
		run merge_file -- sh -c 'cd "$1" && exec "$2" "$3" "$4" >/dev/null' sh "$T/cold" "$MERGE_ONLY" "$T/list.rel" "$MO_OUT"
		rm -f "$MO_OUT"; } ;;
	mat_file) materialize mat_file "$T/cache-f" "$T/mat_file.$2.log" --cold-bucket "file://$T/cold" ;;
	esac
}
STEPS="cat cat_one read_only merge_null merge_file mat_file"
say "warming up (page cache)"
cat "$T/one.bin" >/dev/null
(cd "$T/cold" && xargs -d '\n' -s 2000000 cat <"$T/list.rel" >/dev/null)
[ -z "$MERGE_ONLY" ] || (cd "$T/cold" && "$MERGE_ONLY" "$T/list.rel" /dev/null >"$T/merge_only.out") ||
	die "merge_only failed on the day: $(cat "$T/merge_only.out")"
for i in $(seq 1 "$REPS"); do
	say "side by side, repetition $i/$REPS"
	# Rotate the order from one repetition to the next.
	# shellcheck disable=SC2086
	set -- $STEPS
	k=$(((i - 1) % $#))
	while [ "$k" -gt 0 ]; do
		first=$1
		shift
		set -- "$@" "$first"
		k=$((k - 1))
	done
	for s in "$@"; do
		step "$s" "$i"
	done
done
rm -f "$T/one.bin"

# ---- 3. peak RSS at a larger day -------------------------------------------------
RSS_META=()
if [ "$RSS_SCALE" -gt 1 ]; then
	big() {  # big LABEL DESCRIPTION GEN-OPTIONS...
		_lab=$1 _desc=$2
		shift 2
		say "memory run: $_desc"
		"$SWREPART" gen --start 2022-01-01 --days 1 --disassociated-share 0.1005 "$@" "$T/big" >"$T/$_lab.gen" 2>&1 ||
			{ cat "$T/$_lab.gen" >&2; die "gen failed"; }
		_o=$NOBJ _r=$NREC
		NOBJ=$(find "$T/big/raw" -type f -name '*.avro' | wc -l)
		NREC=$(sed -n 's/.*, \([0-9]*\) records[);].*/\1/p' "$T/$_lab.gen")
		_mib=$(find "$T/big/raw" -type f -name '*.avro' -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1048576 }')
		materialize "$_lab" "$T/cache-big" "$T/$_lab.log" --cold-bucket "file://$T/big"
		RSS_META+=(--meta "desc_$_lab=x$RSS_SCALE: $NOBJ objects, $_mib MiB, $NREC records (file://)")
		NOBJ=$_o NREC=$_r
		rm -rf "$T/big"
	}
	[ "$RSS_SCALE" = "$SCALE" ] ||
		big rss_records "x$RSS_SCALE records per file" --series "$SERIES" --records $((RECORDS * RSS_SCALE))
	big rss_series "x$RSS_SCALE series" --series $((SERIES * RSS_SCALE)) --records "$RECORDS"
fi

# ---- the table -------------------------------------------------------------------
MIB=$(awk -v b="$NBYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
echo
U report "$RUNS" \
	--meta "title=x$SCALE day$([ "$QUICK" = 1 ] && echo ', --quick')" \
	--meta "files=$NOBJ" --meta "bytes=$NBYTES" --meta "records=$NREC" \
	--meta "gen=swrepart gen $GEN: $NASSOC associated series of $SERIES, 4 windows" \
	--meta "machine=$(nproc) cores ($MODEL), $MEM RAM, Linux $(uname -r), $("$NODE_BIN" --version 2>/dev/null | sed 's/^/node /')" \
	--meta "cores=$(nproc)" --meta "build=$BUILD" \
	--meta "load0=$LOAD0" --meta "load1=$(cut -d' ' -f1 /proc/loadavg)" \
	--meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
	--meta "desc_mat_s3=x$SCALE (this day, $NOBJ objects, $MIB MiB), from the S3 server" \
	--meta "desc_mat_file=x$SCALE (this day, $NOBJ objects, $MIB MiB), from file://" \
	"${RSS_META[@]}"
if [ "$FAILED" -gt 0 ]; then
	say "$FAILED run(s) failed or built the wrong day: the figures above are not to be trusted"
	exit 1
fi
