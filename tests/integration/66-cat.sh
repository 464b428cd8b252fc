#!/bin/bash
# 66-cat.sh - `swrepart cat`: its JSON lines and its CSV equal, record for
# record and value for value, what python3-avro reads from the cold tier's
# objects themselves (in key order, as a day file holds them), over
# file:// and over the S3 test server; so do its filters (time edges,
# quality, a series, an asset and property, an alias), against python's
# own filtering with the asset metadata read by python's json; doubles
# round-trip (NaN and infinities as documented), strings keep quotes,
# commas, line breaks and non-ASCII letters; `cat | head -1` exits 0 and
# builds no further day; bad arguments and unknown names are refused.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro
start_s3 cold

C=$T/cold           # file:// tree, data prefix raw/
P=$T/pref           # S3 tree, data prefix site/raw/
G="--start 2022-03-01 --days 3 --series 24 --records 40 --bad-share 0.3
   --uncertain-share 0.3 --variant-share 0.2 --null-share 0.1
   --deflate-share 0.1 --disassociated-share 0.2"
# shellcheck disable=SC2086
"$SWREPART" gen $G "$C" >/dev/null &&
	"$SWREPART" gen $G --prefix site/raw/ "$P" >/dev/null
ok $? "gen writes the two cold tiers"

# A hand-written object of odd values, written by python3-avro: NaN,
# infinities, -0.0, subnormals, doubles that need 17 digits, strings with
# quotes, commas, line breaks, control characters and non-ASCII letters,
# the int32 bounds, a version past 2^53, and records on the edges of
# 2022-03-01T06:00:00Z..07:00:00Z.  Its series has an alias.
ODD=0c000000-0000-4000-8000-0000000000aa
cat >"$T/odd.py" <<'PYEOF'
import json, sys
import avro.datafile, avro.io, avro.schema
sys.path.insert(0, sys.argv[2])
from avro_tool import RAWDATUM
sid, out = sys.argv[1], sys.argv[3]
t6 = 1646114400  # 2022-03-01T06:00:00Z
recs = []
def add(t, ns, **v):
    r = {"seriesId": sid, "timeInSeconds": t, "offsetInNanos": ns,
         "quality": "GOOD", "doubleValue": None, "stringValue": None,
         "integerValue": None, "booleanValue": None, "jsonValue": None,
         "recordVersion": None}
    r.update(v)
    recs.append(r)
for i, d in enumerate([float("nan"), float("inf"), float("-inf"), -0.0, 0.0,
        5e-324, 2.2250738585072014e-308, 0.1, 1 / 3, 1e22, 1e23, 123456789.0,
        -1.7976931348623157e308, 9007199254740993.0]):
    add(t6 - 100 + i, 0, doubleValue=d, recordVersion=2 ** 53 + 1 + i)
for i, s in enumerate(['say "hi", then leave', "two\nlines\r\n", "tab\tand \x01",
        "", "°C ü 😀 —", "back\\slash", ",", '"']):
    add(t6 - 50 + i, 7, stringValue=s)
add(t6 - 30, 0, integerValue=2147483647)
add(t6 - 29, 0, integerValue=-2147483648)
add(t6 - 28, 0, booleanValue=True)
add(t6 - 27, 0, jsonValue='{"a": [1, "x,y"]}')
add(t6 - 26, 0)   # every value null
add(t6 - 1, 999999999, doubleValue=1.0)    # just before 06:00
add(t6, 0, doubleValue=2.0)                # 06:00 exactly: in
add(t6 + 1799, 500000000, doubleValue=2.5)
add(t6 + 3599, 999999999, doubleValue=3.0) # just before 07:00: in
add(t6 + 3600, 0, doubleValue=4.0)         # 07:00 exactly: out
add(t6 + 10, 2 * 10 ** 9 + 5, doubleValue=5.0)  # an offset past a second
with open(out, "wb") as f:
    w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(),
        avro.schema.parse(json.dumps(RAWDATUM)), codec="null")
    for r in recs:
        w.append(r)
    w.close()
PYEOF
for root in "$C/raw" "$P/site/raw"; do
	d=$root/startYear=2022/startMonth=3/startDay=1/seriesBucket=3c
	mkdir -p "$d" && "$PY" "$T/odd.py" "$ODD" "$top_srcdir/tests/integration" \
		"$d/raw_${ODD}_1646092800_GOOD.avro" || break
	printf '%s\n' '{"assetId":"0a000000-0000-4000-8000-0000000000aa","assetName":"Odd, \"values\"","assetPropertyId":"0b000000-0000-4000-8000-0000000000aa","assetPropertyName":"Edge cases","assetPropertyDataType":"DOUBLE","assetPropertyAlias":"/manual/odd values","timeSeriesId":"'"$ODD"'","timeSeriesBucket":"3c"}' \
		>"${root%raw}asset_metadata/asset_odd.ndjson"
done
awscli s3 sync --only-show-errors "$P" s3://cold/
ok $? "the odd object and its metadata added; the site/raw/ tree uploaded"

# The independent reading: every object of the day, in key order, read by
# python3-avro (avro_tool.records, resolved to RawDatum), then python's own
# filtering; swrepart's output on stdin.  check.py TREE DAYS FORMAT
# [--from NS] [--to NS] [--quality Q,..] [--series ID] [--asset A]
# [--property P] [--alias PATH]
cat >"$T/check.py" <<'PYEOF'
import argparse, csv, glob, io, json, math, os, pickle, sys
sys.path.insert(0, os.environ["TOOLDIR"])
from avro_tool import records

FIELDS = ["seriesId", "timeInSeconds", "offsetInNanos", "quality",
          "doubleValue", "stringValue", "integerValue", "booleanValue",
          "jsonValue", "recordVersion"]
VALUES = ["doubleValue", "stringValue", "integerValue", "booleanValue",
          "jsonValue"]
TYPES = dict(zip(VALUES, ["double", "string", "integer", "boolean", "json"]))

ap = argparse.ArgumentParser()
ap.add_argument("tree"); ap.add_argument("days"); ap.add_argument("fmt")
ap.add_argument("--from", dest="lo", type=int)
ap.add_argument("--to", dest="hi", type=int)
ap.add_argument("--quality"); ap.add_argument("--series", action="append")
ap.add_argument("--asset"); ap.add_argument("--property")
ap.add_argument("--alias")
a = ap.parse_args()

sel = set(a.series or [])
if a.asset or a.property or a.alias:
    for p in glob.glob(os.path.join(a.tree, "asset_metadata", "*.ndjson")):
        for line in open(p, encoding="utf-8"):
            o = json.loads(line)
            if not o.get("timeSeriesId"):
                continue
            if (a.asset or a.property) and \
                    (a.asset is None or a.asset == o.get("assetName")) and \
                    (a.property is None or a.property == o.get("assetPropertyName")):
                sel.add(o["timeSeriesId"])
            al = o.get("assetPropertyAlias") or ""
            if a.alias and (al == a.alias or
                            (a.alias.endswith("/") and al.startswith(a.alias))):
                sel.add(o["timeSeriesId"])
    assert sel, "the names select no series: a test that proves nothing"
selecting = bool(a.series or a.asset or a.property or a.alias)

def day_records(day):
    """The day's records, python3-avro's reading of its objects in key
    order (kept in a pickle for the next check of the day)."""
    saved = os.path.join(os.environ["PYCACHE"], day + ".pickle")
    if os.path.exists(saved):
        with open(saved, "rb") as f:
            return pickle.load(f)
    y, m, d = (int(x) for x in day.split("-"))
    part = os.path.join(a.tree, "raw", f"startYear={y}", f"startMonth={m}",
                        f"startDay={d}")
    keys = sorted(os.path.relpath(p, a.tree) for p in
                  glob.glob(os.path.join(part, "*", "*.avro")))
    out = [r for k in keys for r in records(os.path.join(a.tree, k))]
    with open(saved + ".tmp", "wb") as f:
        pickle.dump(out, f)
    os.rename(saved + ".tmp", saved)
    return out

want = []
for r in (r for day in a.days.split(",") for r in day_records(day)):
    t = r["timeInSeconds"] * 10 ** 9 + r["offsetInNanos"]
    if a.lo is not None and t < a.lo:
        continue
    if a.hi is not None and t >= a.hi:
        continue
    if a.quality and r["quality"] not in a.quality.split(","):
        continue
    if selecting and r["seriesId"] not in sel:
        continue
    want.append(r)

def same_double(g, w):
    if math.isnan(w):
        return g == "NaN"
    if math.isinf(w):
        return g == ("Infinity" if w > 0 else "-Infinity")
    return type(g) is float and g == w and \
        math.copysign(1, g) == math.copysign(1, w)

text = sys.stdin.buffer.read().decode("utf-8")
if a.fmt == "json":
    got = [json.loads(l) for l in text.split("\n") if l]
    assert len(text) == 0 or text.endswith("\n")
else:
    rd = csv.reader(io.StringIO(text, newline=""))
    head = next(rd)
    assert head == ["seriesId", "timeInSeconds", "offsetInNanos", "quality",
                    "type", "value", "recordVersion"], head
    got = list(rd)
if len(got) != len(want):
    sys.exit(f"{len(got)} records, python reads {len(want)}")
for i, (g, w) in enumerate(zip(got, want)):
    if a.fmt == "json":
        ok = list(g) == FIELDS and all(
            same_double(g[f], w[f]) if f == "doubleValue" and w[f] is not None
            else g[f] == w[f] and type(g[f]) is type(w[f]) for f in FIELDS)
    else:
        v = next((f for f in VALUES if w[f] is not None), None)
        wv = w[v] if v else None
        ok = g[:5] == [w["seriesId"], str(w["timeInSeconds"]),
                       str(w["offsetInNanos"]), w["quality"],
                       TYPES.get(v, "")] and \
            g[6] == ("" if w["recordVersion"] is None else
                     str(w["recordVersion"])) and (
            g[5] == "" if v is None else
            same_double(g[5] if g[5] in ("NaN", "Infinity", "-Infinity")
                        else float(g[5]), wv) if v == "doubleValue" else
            g[5] == ("true" if wv else "false") if v == "booleanValue" else
            int(g[5]) == wv if v == "integerValue" else g[5] == wv)
    if not ok:
        sys.exit(f"record {i + 1} differs:\n got  {g!r}\n want {w!r}")
print(f"{len(got)} records")
if not want:
    sys.exit("no record selected: a test that proves nothing")
PYEOF
export TOOLDIR=$top_srcdir/tests/integration PYCACHE=$T/py
mkdir -p "$PYCACHE"

F() { "$SWREPART" --cold-bucket "file://$C" --timeseries-type ALL \
	--cache-dir "$T/cache-f" cat "$@"; }
S() { sw --cold-bucket cold --cold-prefix site/raw/ --timeseries-type ALL \
	--cache-dir "$T/cache-s" cat "$@"; }
# same NAME FORMAT DAYS [check.py filters] -- [cat arguments]: both
# stores' output equals python's reading.
same() {
	_name=$1 _fmt=$2 _days=$3
	shift 3
	_py=()
	while [ "$1" != -- ]; do _py+=("$1"); shift; done
	shift
	for st in F S; do
		if "$st" --format "$_fmt" "$@" >"$T/got" 2>"$T/err" &&
		    "$PY" "$T/check.py" "$C" "$_days" "$_fmt" "${_py[@]}" \
		    <"$T/got" >"$T/chk" 2>&1; then
			ok 0 "$([ $st = F ] && echo file:// || echo S3): $_name ($(tail -n 1 "$T/chk"))"
		else
			ok 1 "$([ $st = F ] && echo file:// || echo S3): $_name"
			sed 's/^/# /' "$T/err" "$T/chk" | head -n 20
		fi
	done
}

same "a day as JSON lines" json 2022-03-01 -- 2022-03-01
same "a day as CSV" csv 2022-03-01 -- 2022-03-01
same "--from/--to: three days as JSON lines" json 2022-03-01,2022-03-02,2022-03-03 \
	-- --from 2022-03-01 --to 2022-03-03
same "DAY operands out of order and repeated: the days once, in order" csv \
	2022-03-02,2022-03-03 -- 2022-03-03 2022-03-02 2022-03-03
# [06:00, 07:00): the edges of the odd series, and --from-time/--to-time
# choosing the day themselves.
lo=$((1646114400 * 1000000000)) hi=$((1646118000 * 1000000000))
same "--from-time/--to-time (ISO 8601) choose the day and filter, half-open" json \
	2022-03-01 --from $lo --to $hi -- \
	--from-time 2022-03-01T06:00:00Z --to-time 2022-03-01T07:00:00Z
same "the same interval in epoch seconds and another zone, as CSV" csv 2022-03-01 \
	--from $lo --to $hi -- --from-time 1646114400 --to-time 2022-03-01T08:00:00+01:00
mid=$((1646092800 + 86400))
same "a time range across midnight picks both days" json 2022-03-01,2022-03-02 \
	--from $(( (mid - 7200) * 1000000000 )) \
	--to $(( (mid + 3600) * 1000000000 + 500000000 )) -- \
	--from-time 2022-03-01T22:00:00Z --to-time 2022-03-02T01:00:00.5Z
F --format json --series $ODD --from-time 2022-03-01T06:00:00Z \
	--to-time 2022-03-01T07:00:00Z >"$T/edge"
"$PY" -c '
import json, sys
got = [json.loads(l)["doubleValue"] for l in open(sys.argv[1])]
assert got == [2.0, 2.5, 3.0, 5.0], got' "$T/edge"
ok $? "the edges: 06:00:00 in, 05:59:59.999999999 and 07:00:00 out"
same "--quality BAD,UNCERTAIN" csv 2022-03-01,2022-03-02 --quality BAD,UNCERTAIN -- \
	--quality BAD,UNCERTAIN --from 2022-03-01 --to 2022-03-02
same "--quality good (any case)" json 2022-03-02 --quality GOOD -- --quality good 2022-03-02

# Series: by id, by asset and property, by alias (python reads the names).
ser=$("$PY" -c '
import glob, json, sys
for p in sorted(glob.glob(sys.argv[1] + "/asset_metadata/asset_*.ndjson")):
    for l in open(p):
        o = json.loads(l)
        if o.get("assetPropertyDataType") == "DOUBLE" and "odd" not in p:
            print(o["timeSeriesId"], o["assetName"], o["assetPropertyName"], sep="|")
            sys.exit(0)' "$C")
IFS='|' read -r sid aname pname <<<"$ser"
[ -n "$sid" ]
ok $? "python picks a double series of the metadata ($aname / $pname)"
same "--series ID (two days)" json 2022-03-01,2022-03-02 --series "$sid" -- \
	--series "$sid" --from 2022-03-01 --to 2022-03-02
same "--series twice, as CSV" csv 2022-03-01 --series "$sid" --series $ODD -- \
	--series "$sid" --series $ODD --series "$sid" 2022-03-01
same "--asset NAME --property NAME" json 2022-03-01 --asset "$aname" --property "$pname" -- \
	--asset "$aname" --property "$pname" 2022-03-01
same "--asset NAME (every property)" csv 2022-03-03 --asset "$aname" -- \
	--asset "$aname" 2022-03-03
same "--alias PATH: the odd values, exactly (JSON)" json 2022-03-01 --alias "/manual/odd values" -- \
	--alias "/manual/odd values" 2022-03-01
same "--alias PATH: the odd values, exactly (CSV)" csv 2022-03-01 --alias "/manual/odd values" -- \
	--alias "/manual/odd values" 2022-03-01
same "--alias PREFIX/ with a time range and a quality" json 2022-03-01 \
	--alias /swrepart/ --from $lo --quality GOOD -- \
	--alias /swrepart/ --from-time 2022-03-01T06:00:00Z --quality GOOD 2022-03-01
F --format json --alias "/manual/odd values" 2022-03-01 >"$T/odd.json"
grep -q '"doubleValue":"NaN",' "$T/odd.json" &&
	grep -q '"doubleValue":"-Infinity",' "$T/odd.json" &&
	grep -q '"doubleValue":-0.0,' "$T/odd.json" &&
	grep -q '"doubleValue":0.10000000000000001,\|"doubleValue":0.1,' "$T/odd.json" &&
	grep -q '"recordVersion":9007199254740993}' "$T/odd.json"
ok $? "NaN and infinities are strings in JSON, -0.0 keeps its sign, 2^53+1 is exact"

# The table on a terminal (and --format table): a header, a line a record.
script -qec "$SWREPART --cold-bucket file://$C --timeseries-type ALL --cache-dir $T/cache-f cat --series $ODD 2022-03-01" \
	/dev/null | tr -d '\r' >"$T/tty.out"
n=$(F --series $ODD 2022-03-01 | wc -l)
head -n 1 "$T/tty.out" | grep -Eq '^TIME +SERIES +QUALITY +VERSION +VALUE$' &&
	[ "$(wc -l <"$T/tty.out")" = $((n + 1)) ] &&
	grep -q '^2022-03-01T06:00:00.000000000Z  '$ODD'  GOOD .* 2.0$' "$T/tty.out" &&
	grep -q 'two\\nlines' "$T/tty.out"
ok $? "a table on a terminal: one line a record ($n), line breaks escaped"
F --format table --series $ODD 2022-03-01 | cmp -s - "$T/tty.out"
ok $? "--format table gives the same table"

# | head -1: exit 0, and no day built after the reader has gone (a fresh
# cache, four days with data... three here: the first is enough).
s3ctl DELETE stats >/dev/null
timeout 60 "$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold \
	--cold-prefix site/raw/ --timeseries-type ALL --cache-dir "$T/cache-h" \
	cat --from 2022-03-01 --to 2022-03-03 2>"$T/head.err" | head -n 1 >"$T/head.out"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ] && [ ! -s "$T/head.err" ] &&
	"$PY" -c 'import json,sys; json.loads(open(sys.argv[1]).read())' "$T/head.out"
ok $? "cat | head -1: exit 0 (${st[*]}), quietly, one record"
built=$(find "$T/cache-h/days" -name '*.avro' | wc -l)
[ "$built" -lt 3 ]
ok $? "and the days after the first are not built ($built of 3 built)"
F --from 2022-03-01 --to 2022-03-03 --format csv | head -c 100 >/dev/null
ok "${PIPESTATUS[0]}" "cat --format csv | head -c 100: exit 0"

# One series on a fresh cache: its own objects only, not the whole day.
s3ctl DELETE stats >/dev/null
"$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold --cold-prefix site/raw/ \
	--timeseries-type ALL --cache-dir "$T/cache-one" cat --series "$sid" 2022-03-01 >"$T/one.json"
nobj=$(find "$P/site/raw/startYear=2022/startMonth=3/startDay=1" -name "raw_${sid}_*.avro" | wc -l)
gets=$(s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get("GetObject", 0))')
[ "$gets" = "$nobj" ] && [ "$nobj" -gt 0 ] &&
	F --series "$sid" 2022-03-01 | cmp -s - "$T/one.json"
ok $? "cat --series on a fresh cache GETs the series' objects only ($gets for its $nobj), the same records"

# Bad arguments and unknown names.
fails "no day: a usage error" 2 "which days\?" F
fails "a bad day" 2 "'2022-02-30' is not a valid date" F 2022-02-30
fails "--format xml" 2 "unknown format 'xml': use json, ndjson, csv or table" F --format xml 2022-03-01
fails "a bad time" 2 "--from-time: 'yesterday' is not a time" F --from-time yesterday
fails "from not before to" 2 "--from-time is not before --to-time" F \
	--from-time 2022-03-01T07:00:00Z --to-time 1646114400
fails "a bad quality" 2 "--quality: 'FINE' is not a quality" F --quality GOOD,FINE 2022-03-01
fails "a bad series id" 2 "--series: 'pump-7' is not a series id" F --series pump-7 2022-03-01
fails "--from after --to" 2 "--from is after --to" F --from 2022-03-02 --to 2022-03-01
fails "an unknown asset: exit 6, named" 6 "no asset 'Nowhere' with a time series" F --asset Nowhere 2022-03-01
fails "an unknown property of a known asset" 6 "no asset '$aname' with a property 'Nothing'" \
	F --asset "$aname" --property Nothing 2022-03-01
fails "an unknown alias, over S3" 6 "no series has the alias '/nope' in the asset metadata of 's3://cold/site/asset_metadata/'" \
	S --alias /nope 2022-03-01
fails "a day the cold tier lacks: nothing, exit 0, said" 0 "2021-01-01: the cold tier holds no object of that day" \
	F 2021-01-01

# A cold tier that is not there is an error naming the bucket.
fails "no cold tier: exit 6" 6 "cold-missing" "$SWREPART" --endpoint-url "$S3_URL" \
	--cold-bucket cold-missing --timeseries-type ALL --cache-dir "$T/cache-x" cat 2022-03-01

done_testing
