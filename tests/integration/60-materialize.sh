#!/bin/bash
# 60-materialize.sh - the day engine: days merged into the cache hold
# exactly the records of their objects (checked by python3-avro), reruns
# fetch nothing, later exports extend days, bad objects fail a day (or are
# skipped with --skip-bad), and a kill -9 at any moment loses nothing.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro
start_s3 cold gold

C=$T/cold
CACHE=$T/cache
G="--start 2022-05-30 --days 2 --series 40 --records 120 --deflate-share 0.15
   --null-share 0.15 --variant-share 0.2 --bad-share 0.2 --uncertain-share 0.1"
M() { sw --cold-bucket cold --timeseries-type ALL --cache-dir "$CACHE" materialize "$@"; }
dayfile() { ls "$CACHE"/days/*/"$1"/"$2".*.avro 2>/dev/null | awk -F. '{print $(NF-1), $0}' | sort -n | tail -n 1 | cut -d' ' -f2-; }
dayindex() { ls "$CACHE"/days/*/"$1"/"$2".*.timeseries.txt 2>/dev/null | tail -n 1; }
inputs() { find "$C/raw/startYear=$1/startMonth=$2/startDay=$3" -name '*.avro' | sort; }
series_of() { inputs "$@" | sed 's|.*/raw_||; s|_[0-9]*_[A-Z]*\.avro$||' | sort -u; }

# A first export: windows 0 and 1 of 30 series.
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 30 --window-to 1 "$C" >/dev/null
check "upload it" awscli s3 sync --only-show-errors "$C" s3://cold/
s3ctl DELETE stats >/dev/null
M >"$T/m1" 2>&1
ok $? "materialize exits 0"
grep -q "^2022-05-30: .* listed, .* fetched" "$T/m1" && grep -q "^2 days: 2 built" "$T/m1"
ok $? "per-day lines and a summary"
f=$(dayfile 2022/05 30)
[ -n "$f" ]
ok $? "the day file is in the cache"
# shellcheck disable=SC2046
check "2022-05-30: the merged day holds exactly its objects' records" \
	"$PY" "$AVRO_TOOL" same-records $(inputs 2022 5 30) -- "$f"
# shellcheck disable=SC2046
check "2022-05-31 too" "$PY" "$AVRO_TOOL" same-records $(inputs 2022 5 31) -- "$(dayfile 2022/05 31)"
"$PY" "$AVRO_TOOL" meta "$f" >"$T/meta"
grep -q snappy "$T/meta" && grep -q RawDatum "$T/meta"
ok $? "one snappy container with the RawDatum schema"
check "timeseries.txt lists the day's series, sorted and unique" \
	diff <(series_of 2022 5 30) "$(dayindex 2022/05 30)"
[ "$(stat -c %a "$CACHE")" = 700 ] && [ "$(stat -c %a "$f")" = 600 ] &&
	[ "$(stat -c %a "$CACHE/index.sqlite")" = 600 ]
ok $? "the cache is private (0700 directory, 0600 files)"

# A rerun with nothing new fetches nothing.
s3ctl DELETE stats >/dev/null
M >"$T/m2" 2>&1
ok $? "rerun exits 0"
grep -q "^2022-05-30: up to date" "$T/m2"
ok $? "and says the day is up to date"
gets=$(s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get("GetObject", 0))')
[ "$gets" = 0 ]
ok $? "and fetched nothing ($gets GETs)"

# A later export: windows 2 and 3 of the known series (late windows) and
# 10 new series (new assets and properties).
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 40 "$T/full" >/dev/null
awscli s3 sync --only-show-errors "$T/full" s3://cold/
rm -rf "$C"; cp -a "$T/full" "$C"
s3ctl DELETE stats >/dev/null
M --from 2022-05-30 --to 2022-05-30 >"$T/m3" 2>&1
ok $? "materialize after a later export"
f2=$(dayfile 2022/05 30)
[ "$f2" != "$f" ] && [ ! -e "$f" ]
ok $? "a new generation replaced the old one"
# shellcheck disable=SC2046
check "the extended day holds the records of all its objects" \
	"$PY" "$AVRO_TOOL" same-records $(inputs 2022 5 30) -- "$f2"
check "and its index the new series" diff <(series_of 2022 5 30) "$(dayindex 2022/05 30)"
gets=$(s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get("GetObject", 0))')
listed=$(grep -o '[0-9]* objects listed' "$T/m3" | cut -d' ' -f1)
fetched=$(grep -o '[0-9]* fetched' "$T/m3" | cut -d' ' -f1)
[ "$gets" = "$fetched" ] && [ "$fetched" -lt "$listed" ]
ok $? "only the new objects were fetched ($fetched of $listed, $gets GETs)"
grep -q "10 new series (40 in all)" "$T/m3"
ok $? "10 new series reported"

# A corrupt object fails its day and keeps the previous generation.
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 44 "$T/more" >/dev/null
victim=$(cd "$T/more" && find raw/startYear=2022/startMonth=5/startDay=31 -name '*.avro' | sort | tail -n 1)
awscli s3 sync --only-show-errors "$T/more" s3://cold/
good31=$(dayfile 2022/05 31)
"$PY" -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0xff; open(p,"wb").write(b)' "$T/more/$victim"
awscli s3 cp --only-show-errors "$T/more/$victim" "s3://cold/$victim"
M --from 2022-05-31 >"$T/m4" 2>&1
[ $? -eq 1 ]
ok $? "a corrupt object: exit 1"
grep -q "s3://cold/$victim" "$T/m4"
ok $? "the error names the bucket and key"
[ "$(dayfile 2022/05 31)" = "$good31" ] && [ -e "$good31" ]
ok $? "the previous good day stays current"
M --from 2022-05-31 --skip-bad >"$T/m5" 2>&1
ok $? "--skip-bad builds the day" || sed 's/^/# /' "$T/m5"
grep -q "skipping 's3://cold/$victim'" "$T/m5"
ok $? "and reports the object it skipped"
# shellcheck disable=SC2046
check "the day holds every other object's records" \
	"$PY" "$AVRO_TOOL" same-records $(cd "$T/more" && find raw/startYear=2022/startMonth=5/startDay=31 -name '*.avro' | sort | grep -v "$victim" | sed "s|^|$T/more/|") -- "$(dayfile 2022/05 31)"
"$PY" - "$CACHE/index.sqlite" "$victim" <<'PYX'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("select count(*) from bad_object where key = ?", (sys.argv[2],)).fetchone()[0]
sys.exit(0 if n == 1 else 1)
PYX
ok $? "the bad object is recorded in the index"

# A key in the day's partition that is not a cold-tier object.
echo "not avro" >"$T/notes.txt"
stray=raw/startYear=2022/startMonth=5/startDay=31/seriesBucket=0a/notes.txt
awscli s3 cp --only-show-errors "$T/notes.txt" "s3://cold/$stray"
fails "a stray key in a day: exit 1 naming it" 1 \
	"'s3://cold/$stray': file name does not start with raw_ or agg_ \(the day is not built" \
	M --from 2022-05-31
M --from 2022-05-31 --skip-bad >"$T/m5b" 2>&1
ok $? "--skip-bad builds it" || sed 's/^/# /' "$T/m5b"
grep -q "skipping 's3://cold/$stray'" "$T/m5b" && grep -Eq "bad objects? skipped" "$T/m5b"
ok $? "and reports the key and a total at the end" || sed 's/^/# /' "$T/m5b"
awscli s3 rm --only-show-errors "s3://cold/$stray"

# kill -9 in the middle of a build, then a rerun: nothing lost or doubled.
rm -rf "$CACHE"
killed=0
for delay in 0.2 0.4 0.6 0.9; do
	# Not through M: $! must be swrepart's own PID, not a subshell's.
	"$SWREPART" --endpoint-url "$S3_URL" --retry-max-time 30 --cold-bucket cold \
		--timeseries-type ALL --cache-dir "$CACHE" materialize >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ $? = 137 ] && killed=$((killed + 1))
done
[ "$killed" -ge 1 ]
ok $? "kill -9 hit $killed runs in the middle"
M --skip-bad >"$T/m6" 2>&1
ok $? "rerun after kill -9"
# shellcheck disable=SC2046
check "the day rebuilt after kill -9 holds exactly its records" \
	"$PY" "$AVRO_TOOL" same-records $(cd "$T/more" && find raw/startYear=2022/startMonth=5/startDay=30 -name '*.avro' | sort | sed "s|^|$T/more/|") -- "$(dayfile 2022/05 30)"
left=$(find "$CACHE/tmp" -mindepth 1 2>/dev/null | wc -l)
n30=$(ls "$CACHE"/days/*/2022/05/30.*.avro | wc -l)
[ "$left" = 0 ] && [ "$n30" = 1 ]
ok $? "no staging files or stray generations left ($left, $n30)"

# Two processes on one cache at once.
rm -rf "$CACHE"
M --skip-bad >"$T/p1" 2>&1 &
p1=$!
M --skip-bad >"$T/p2" 2>&1
r2=$?
wait "$p1"
r1=$?
[ "$r1" = 0 ] && [ "$r2" = 0 ]
ok $? "two concurrent runs on one cache both succeed"
# shellcheck disable=SC2046
check "and the day is built once, correctly" \
	"$PY" "$AVRO_TOOL" same-records $(cd "$T/more" && find raw/startYear=2022/startMonth=5/startDay=30 -name '*.avro' | sort | sed "s|^|$T/more/|") -- "$(dayfile 2022/05 30)"

# The same through file:// (a local mirror, no S3 at all).
"$SWREPART" --cold-bucket "file://$T/full" --timeseries-type ALL \
	--cache-dir "$T/fcache" materialize >"$T/m7" 2>&1
ok $? "materialize from file://"
# shellcheck disable=SC2046
check "the day from file:// holds exactly its records" \
	"$PY" "$AVRO_TOOL" same-records $(inputs 2022 5 31 | sed "s|$C|$T/full|") -- "$(ls "$T"/fcache/days/*/2022/05/31.*.avro)"

# The same bytes as before issue 14 (objects streamed into the merge from
# memory, or read in place from file://): a fixed generated day (raw,
# deflate, null-codec and variant-schema objects, so every merge path)
# merges to the file that swrepart wrote at bd02595, from S3 and from
# file://.  gen is deterministic; a day's sync marker is derived from the
# cold tier's URL, so the digest is taken with the marker zeroed (unmark).
# If gen's output is ever changed on purpose, this digest changes with it.
GOLD_MD5=b12627ec0ca8a2cf63c3bbe5157c77b1
unmark() {
	"$PY" -c 'import hashlib, sys
b = open(sys.argv[1], "rb").read(); m = b[-16:]
print(hashlib.md5(b.replace(m, bytes(16))).hexdigest())' "$1"
}
GG="--start 2022-07-01 --days 1 --series 25 --records 80 --deflate-share 0.2
    --null-share 0.1 --variant-share 0.2 --disassociated-share 0.2"
# shellcheck disable=SC2086
"$SWREPART" gen $GG "$T/gold" >/dev/null
"$SWREPART" --cold-bucket "file://$T/gold" --timeseries-type ALL \
	--cache-dir "$T/gcache-f" materialize >"$T/g1" 2>&1
ok $? "the fixed day from file://"
gf=$(ls "$T"/gcache-f/days/*/2022/07/01.*.avro)
[ "$(unmark "$gf")" = "$GOLD_MD5" ]
ok $? "is byte for byte the day file swrepart wrote before (MD5 $GOLD_MD5 but for the sync marker)"
awscli s3 sync --only-show-errors "$T/gold" s3://gold/
s3ctl DELETE stats >/dev/null
sw -v --cold-bucket gold --timeseries-type ALL --cache-dir "$T/gcache-s" \
	materialize >"$T/g2" 2>"$T/g2.err"
ok $? "the fixed day from S3"
[ "$(unmark "$(ls "$T"/gcache-s/days/*/2022/07/01.*.avro)")" = "$GOLD_MD5" ]
ok $? "the same bytes through the fetch window"
# -v counts the requests by kind: exactly what the server answered.
"$PY" - "$T/g2.err" "$(s3ctl GET stats)" <<'PYEOF' >"$T/g2.cmp" 2>&1
import json, re, sys
line = [l for l in open(sys.argv[1]) if "cold tier s3://gold/" in l]
assert len(line) == 1, "no -v line for the cold tier: %r" % open(sys.argv[1]).read()
m = re.search(r": (\d+) requests?: (.*?); ", line[0])
total, kinds = int(m.group(1)), dict((k, int(n)) for n, k in (p.split() for p in m.group(2).split(", ")))
ops = json.loads(sys.argv[2])["byOperation"]
server = {"LIST": ops.get("ListObjectsV2", 0) + ops.get("ListObjects", 0), "GET": ops.get("GetObject", 0)}
ours = {"LIST": kinds.get("LIST", 0), "GET": kinds.get("GET", 0)}
print("ours", kinds, "total", total, "server", ops)
assert ours == server and total == sum(kinds.values()) and set(kinds) <= {"LIST", "GET"}, "differ"
assert kinds["GET"] == 100, "one GET per object: %d" % kinds["GET"]
PYEOF
ok $? "-v: the requests by kind are the server's count, one GET per object, no HEAD" || sed 's/^/# /' "$T/g2.cmp"
grep -q "CPU .* ms per object read (100), .* ms per MiB; peak RSS" "$T/g2.err"
ok $? "-v: CPU time per object and per MiB"
done_testing
