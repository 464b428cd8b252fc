#!/bin/bash
# bench/cat.sh - `swrepart cat` throughput in records per second, beside
# python3-avro reading the same day file, in one run (issue 13).
#
# Run from the project top after building in-tree (./swrepart):
#
#   bench/cat.sh [--series N] [--records N] [--reps N] [--keep]
#
# It generates one day (file:// cold tier; N series (300) with four
# six-hour windows of N records (500) each, 600,000 records by default),
# materializes it into a cache, and then, in each repetition (3), rotating
# the order, times:
#
#   cat json        swrepart cat DAY > /dev/null          (JSON lines)
#   cat csv         swrepart cat --format csv DAY > /dev/null
#   cat 1 series    swrepart cat --series ID DAY          (its objects only)
#   py read         python3-avro: DataFileReader over the cached day file,
#                   every record decoded, nothing printed
#   py json         the same, each record printed with json.dumps
#
# and prints the median wall time, records per second (the day's records,
# or the series' for "cat 1 series", over the wall time, process start-up
# included), peak RSS, and the speed-up over "py json" and "py read".
# Before the timed runs every output is checked once: cat's JSON lines and
# python's have as many records.  Everything runs in a directory under
# $TMPDIR, removed on exit (--keep keeps it).  Figures, not a test.
set -u

SERIES=300 RECORDS=500 REPS=3 KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--series) SERIES=${2:?}; shift ;;
	--records) RECORDS=${2:?}; shift ;;
	--reps) REPS=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/cat.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
for v in "$SERIES" "$RECORDS" "$REPS"; do
	case $v in '' | *[!0-9]* | 0) echo "bench/cat.sh: give positive numbers" >&2; exit 2 ;; esac
done

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
PY=/usr/bin/python3
BU=$TOP/bench/benchutil.py
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[ -x "$TOP/swrepart" ] || die "no ./swrepart: build the project first"
"$PY" -c 'import avro, snappy' 2>/dev/null || die "needs python3-avro and python3-snappy"

T=$(mktemp -d "${TMPDIR:-/tmp}/swrepart-cat.XXXXXX") || exit 1
cleanup() {
	if [ "$KEEP" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DAY=2022-01-01
SW=("$TOP/swrepart" --cold-bucket "file://$T/cold" --timeseries-type ALL --cache-dir "$T/cache")
say "generating $DAY: $SERIES series, 4 windows of $RECORDS records"
"$TOP/swrepart" gen --start $DAY --days 1 --series "$SERIES" --records "$RECORDS" \
	--no-metadata "$T/cold" >/dev/null || die "gen failed"
"${SW[@]}" materialize >"$T/materialize.log" 2>&1 || die "materialize failed"
FILE=$(ls "$T"/cache/days/*/2022/01/01.*.avro | tail -n 1)
[ -f "$FILE" ] || die "no day file in the cache"
SID=$(ls "$T/cold/raw/startYear=2022/startMonth=1/startDay=1/"*/ | sed -n 's/^raw_\(.*\)_[0-9]*_GOOD\.avro$/\1/p' | sort | head -n 1)

cat >"$T/py.py" <<'EOF'
import json, sys
import avro.datafile, avro.io
mode, path = sys.argv[1], sys.argv[2]
n = 0
with open(path, "rb") as f, avro.datafile.DataFileReader(f, avro.io.DatumReader()) as r:
    if mode == "json":
        w = sys.stdout.write
        for rec in r:
            w(json.dumps(rec) + "\n")
            n += 1
    else:
        for rec in r:
            n += 1
sys.stderr.write("%d\n" % n)
EOF

# The outputs once: as many records from cat as python reads.
say "checking the outputs once"
"${SW[@]}" cat $DAY >"$T/cat.json" || die "cat failed"
"${SW[@]}" cat --series "$SID" $DAY >"$T/one.json" || die "cat --series failed"
"$PY" "$T/py.py" json "$FILE" >"$T/py.json" 2>"$T/py.n" || die "python3-avro failed"
N=$(wc -l <"$T/cat.json")
N1=$(wc -l <"$T/one.json")
[ "$N" = "$(wc -l <"$T/py.json")" ] && [ "$N" = "$(cat "$T/py.n")" ] && [ "$N1" -gt 0 ] ||
	die "cat printed $N records, python read $(cat "$T/py.n")"
rm -f "$T/cat.json" "$T/py.json"
say "$N records in $(du -h "$FILE" | cut -f1) of day file; series $SID: $N1 records"

RES=$T/runs.jsonl
run() {  # run LABEL CMD...
	_l=$1
	shift
	"$PY" "$BU" run --out "$RES" --label "$_l" --output /dev/null -- "$@" ||
		die "$_l failed"
}
labels=("cat json" "cat csv" "cat 1 series" "py read" "py json")
for r in $(seq 1 "$REPS"); do
	for k in 0 1 2 3 4; do
		i=$(( (k + r) % 5 ))
		l=${labels[$i]}
		say "repetition $r/$REPS: $l"
		case $i in
		0) run "$l" "${SW[@]}" cat $DAY ;;
		1) run "$l" "${SW[@]}" cat --format csv $DAY ;;
		2) run "$l" "${SW[@]}" cat --series "$SID" $DAY ;;
		3) run "$l" "$PY" "$T/py.py" read "$FILE" ;;
		4) run "$l" "$PY" "$T/py.py" json "$FILE" ;;
		esac
	done
done

"$PY" - "$RES" "$N" "$N1" "$REPS" <<'EOF'
import collections, json, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    o = json.loads(line)
    runs[o["label"]].append(o)
n, n1, reps = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
med = {l: statistics.median(o["wall_s"] for o in v) for l, v in runs.items()}
print("swrepart cat vs python3-avro on one cached day: %d records; median of %s run(s)" % (n, reps))
print("%-14s %9s %13s %10s %9s %9s" % ("", "wall s", "records/s", "peak RSS", "vs py json", "vs py read"))
for l in ("cat json", "cat csv", "cat 1 series", "py read", "py json"):
    recs = n1 if l == "cat 1 series" else n
    rss = max(o["maxrss_kib"] for o in runs[l])
    print("%-14s %9.3f %13.0f %7.1f MiB %9.1fx %9.1fx" % (
        l, med[l], recs / med[l], rss / 1024, med["py json"] / med[l],
        med["py read"] / med[l]))
print("(cat 1 series: records/s counts that series' %d records; the speed-ups compare wall times)" % n1)
EOF
