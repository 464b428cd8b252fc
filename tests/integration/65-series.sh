#!/bin/bash
# 65-series.sh - `swrepart series`: the catalogue equals the asset metadata
# read independently (python3's json module) over file:// and over the S3
# test server, with names holding spaces, commas and quotes, duplicate
# names, aliases and disassociated series; the filters; csv (read by
# python3's csv module), ndjson and the table; a bad metadata line is
# refused, named by key and line number.
. "${top_srcdir:-.}/tests/integration/lib.sh"
[ -x "$PY" ] || skip_all "python3 is not installed"
start_s3 cold

C=$T/cold           # file:// tree, data prefix raw/
P=$T/pref           # S3 tree, data prefix site/raw/
G="--start 2022-03-01 --days 1 --series 41 --records 4 --windows 1
   --disassociated-share 0.25 --legacy-share 0.5"

# What the generator writes, and what it says it wrote.
# shellcheck disable=SC2086
"$SWREPART" gen $G "$C" >/dev/null &&
	"$SWREPART" gen $G --prefix site/raw/ "$P" >/dev/null
ok $? "gen writes two cold tiers (raw/ and site/raw/)"
# shellcheck disable=SC2086
"$SWREPART" gen $G --list-series "$T/none" >"$T/gen.series"
ok $? "gen --list-series"

# Lines gen does not write: names with a comma, quotes, spaces and a
# non-ASCII letter, two assets of the same name, a disassociated stream
# with an alias, a property without a time series, a blank line, CRLF
# line ends and a last line without a newline.
manual() {
	printf '%s\r\n' \
	'{"assetId":"0a000000-0000-4000-8000-000000000001","assetName":"Pump, \"north\" 7","assetPropertyId":"0b000000-0000-4000-8000-000000000001","assetPropertyName":"Kühlung, Temperatur","assetPropertyDataType":"DOUBLE","assetPropertyUnit":"°C","assetPropertyAlias":"/manual/pump north/temp","timeSeriesId":"0c000000-0000-4000-8000-000000000001","timeSeriesBucket":"3f"}' \
	'' \
	'{"assetId":"0a000000-0000-4000-8000-000000000002","assetName":"Pump, \"north\" 7","assetPropertyId":"0b000000-0000-4000-8000-000000000002","assetPropertyName":"Temperature","assetPropertyDataType":"DOUBLE","assetPropertyUnit":null,"assetPropertyAlias":null,"timeSeriesId":"0c000000-0000-4000-8000-000000000002","timeSeriesBucket":"a0"}' \
	'{"assetId":"0a000000-0000-4000-8000-000000000002","assetName":"Pump, \"north\" 7","assetPropertyId":"0b000000-0000-4000-8000-000000000003","assetPropertyName":"Serial Number","assetPropertyDataType":"STRING","timeSeriesId":null}'
	printf '%s' '{"assetId":null,"assetName":null,"assetPropertyId":null,"assetPropertyName":null,"assetPropertyDataType":"INTEGER","assetPropertyUnit":null,"assetPropertyAlias":"/manual/stream-9/count","timeSeriesId":"0c000000-0000-4000-8000-000000000009","timeSeriesBucket":"1e"}'
}
manual >"$C/asset_metadata/asset_manual.ndjson" &&
	manual >"$P/site/asset_metadata/asset_manual.ndjson" &&
	awscli s3 sync --only-show-errors "$P" s3://cold/
ok $? "hand-written metadata added; the site/raw/ tree uploaded"

# The independent reader: every line of every asset_*.ndjson, a series
# once, associated when it names its asset and property; rows sorted by
# asset name, asset id, property name, series id.  check.py DIR FORMAT
# [asset property alias] reads swrepart's output on stdin.
cat >"$T/check.py" <<'PYEOF'
import csv, glob, io, json, os, sys

COLS = ["timeSeriesId", "assetId", "assetName", "propertyId",
        "propertyName", "alias", "unit", "dataType", "bucket", "associated"]
SRC = {"assetId": "assetId", "assetName": "assetName",
       "propertyId": "assetPropertyId", "propertyName": "assetPropertyName",
       "alias": "assetPropertyAlias", "unit": "assetPropertyUnit",
       "dataType": "assetPropertyDataType", "bucket": "timeSeriesBucket",
       "timeSeriesId": "timeSeriesId"}

def expected(d, asset, prop, alias):
    rows = {}
    for p in sorted(glob.glob(os.path.join(d, "asset_*.ndjson"))):
        for line in open(p, encoding="utf-8", newline=""):
            if not line.strip():
                continue
            o = json.loads(line)
            if o.get("timeSeriesId") is None:
                continue
            r = {k: o.get(v) for k, v in SRC.items()}
            r["associated"] = bool(r["assetId"]) and bool(r["propertyId"])
            assert r["timeSeriesId"] not in rows, "a series twice"
            rows[r["timeSeriesId"]] = r
    out = [r for r in rows.values()
           if (asset is None or r["assetName"] == asset)
           and (prop is None or r["propertyName"] == prop)
           and (alias is None or (r["alias"] or "\0").startswith(alias))]
    key = lambda r: (r["assetName"] or "", r["assetId"] or "",
                     r["propertyName"] or "", r["timeSeriesId"])
    return sorted(out, key=key)

d, fmt = sys.argv[1], sys.argv[2]
flt = [None if a == "-" else a for a in (sys.argv[3:] + ["-"] * 3)[:3]]
want = expected(d, *flt)
text = sys.stdin.buffer.read().decode("utf-8")
csv.field_size_limit(1 << 24)
if fmt == "csv":
    rd = csv.reader(io.StringIO(text, newline=""))
    head = next(rd)
    assert head == COLS, "header %r" % head
    got = [dict(zip(COLS, row)) for row in rd]
    want = [{k: ("" if r[k] is None else
                 ("true" if r[k] else "false") if k == "associated" else
                 r[k]) for k in COLS} for r in want]
elif fmt == "ndjson":
    got = [json.loads(l) for l in text.splitlines()]
    assert all(list(g) == COLS for g in got), "keys or their order"
else:
    sys.exit("format?")
if got != want:
    print("got %d rows, want %d" % (len(got), len(want)))
    for g, w in zip(got, want):
        if g != w:
            print("first difference:\n got  %r\n want %r" % (g, w))
            break
    sys.exit(1)
print("%d rows" % len(got))
if not want:
    sys.exit("no row selected: a filter test that proves nothing")
PYEOF

MF=$C/asset_metadata
MP=$P/site/asset_metadata
# (--catalog-ttl 0: the metadata is read at each run, as this test changes
# it; 69-series-cache.sh tests the cached catalogue)
F() { "$SWREPART" --cold-bucket "file://$C" --cache-dir "$T/cache" --catalog-ttl 0 series "$@"; }
# (ListTimeSeries off: timeseries_type ASSOCIATED over S3 would ask AWS)
S() { sw --cold-bucket cold --cold-prefix site/raw/ --cache-dir "$T/cache" --catalog-ttl 0 --catalog-list-timeseries off series "$@"; }

F --format csv >"$T/f.csv"
ok $? "series --format csv over file:// exits 0"
check "file://: the csv equals the metadata read by python" \
	"$PY" "$T/check.py" "$MF" csv <"$T/f.csv"
F --format ndjson >"$T/f.ndjson"
check "file://: the ndjson equals it too" \
	"$PY" "$T/check.py" "$MF" ndjson <"$T/f.ndjson"
S --format csv >"$T/s.csv"
ok $? "series --format csv over S3 (data prefix site/raw/) exits 0"
check "S3: the csv equals the metadata read by python" \
	"$PY" "$T/check.py" "$MP" csv <"$T/s.csv"
S --format ndjson >"$T/s.ndjson"
check "S3: the ndjson equals it too" \
	"$PY" "$T/check.py" "$MP" ndjson <"$T/s.ndjson"
cmp -s "$T/f.ndjson" "$T/s.ndjson"
ok $? "file:// and S3 give the same catalogue"

# The generator's own word: its associated series are exactly the
# catalogue's associated series (less the hand-written ones).
awk -F'\t' '$3 == "ASSOCIATED" {print $1}' "$T/gen.series" | sort >"$T/gen.assoc"
"$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["associated"] and not o["timeSeriesId"].startswith("0c000000-"):
        print(o["timeSeriesId"])' "$T/f.ndjson" | sort >"$T/cat.assoc"
[ -s "$T/gen.assoc" ] && cmp -s "$T/gen.assoc" "$T/cat.assoc"
ok $? "the associated series are gen --list-series's ($(wc -l <"$T/gen.assoc"))"
grep -c DISASSOCIATED "$T/gen.series" | grep -qv '^0$'
ok $? "gen made disassociated series (that no asset metadata names)"
"$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
d = [r for r in rows if not r["associated"]]
assert [(r["timeSeriesId"], r["alias"], r["assetId"]) for r in d] == \
    [("0c000000-0000-4000-8000-000000000009", "/manual/stream-9/count", None)], d
assert "0b000000-0000-4000-8000-000000000003" not in [r["propertyId"] for r in rows]
' "$T/f.ndjson"
ok $? "a line naming no asset is a disassociated series with its alias; a property without a series is left out"

# Filters, each compared with python's selection.
for fl in "Pump, \"north\" 7|-|-" "-|Temperature|-" "-|-|/swrepart/site-1/pump" \
    "-|Temperature|/swrepart/" "Pump, \"north\" 7|Temperature|-"; do
	IFS='|' read -r a p l <<<"$fl"
	set --
	[ "$a" = - ] || set -- "$@" --asset "$a"
	[ "$p" = - ] || set -- "$@" --property "$p"
	[ "$l" = - ] || set -- "$@" --alias "$l"
	S --format ndjson "$@" >"$T/flt.ndjson" &&
		"$PY" "$T/check.py" "$MP" ndjson "$a" "$p" "$l" <"$T/flt.ndjson" >"$T/flt.out" 2>&1
	ok $? "filter $* ($(cat "$T/flt.out"))"
done
F --asset "Pump" --format csv >"$T/none.csv"
[ "$(wc -l <"$T/none.csv")" = 1 ]
ok $? "--asset matches whole names only (Pump: header alone)"

# Formats: csv by default when not on a terminal, a table on one.
F >"$T/def.csv"
cmp -s "$T/def.csv" "$T/f.csv"
ok $? "the default off a terminal is csv"
script -qec "$SWREPART --cold-bucket file://$C --cache-dir $T/cache series" /dev/null | tr -d '\r' >"$T/tty.out"
head -n 1 "$T/tty.out" | grep -Eq '^SERIES +ASSET ID +ASSET +PROPERTY ID +PROPERTY +ALIAS +UNIT +TYPE +BUCKET +ASSOCIATED$'
ok $? "the default on a terminal is a table"
F --format table >"$T/t.out"
"$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
lines = open(sys.argv[2], encoding="utf-8").read().splitlines()
assert len(lines) == len(rows) + 1, (len(lines), len(rows))
col = lines[0].index("ASSET ID")
for r, l in zip(rows, lines[1:]):
    assert l.startswith(r["timeSeriesId"] + " "), l
    if r["assetId"]:
        assert l[col:].startswith(r["assetId"]), l
' "$T/f.ndjson" "$T/t.out"
ok $? "the table: a header, one aligned row per series"
fails "--format xml is a usage error" 2 "unknown format 'xml'" F --format xml

# A newer object's line wins over an older one's for the same series.
sid=0c000000-0000-4000-8000-000000000001
grep -h "$sid" "$MF/asset_manual.ndjson" | sed 's/"°C"/"K"/' >"$MF/asset_newer.ndjson"
touch -d '2020-01-01' "$MF/asset_manual.ndjson"
F --format ndjson --alias "/manual/pump north/" >"$T/newer"
[ "$(wc -l <"$T/newer")" = 1 ] && grep -q '"unit":"K"' "$T/newer"
ok $? "a series in two objects is taken from the newer"
rm -f "$MF/asset_newer.ndjson"

# An object of many lines, and a line of 600 KiB, arrive in many chunks:
# lines cut across them are put together again.
"$PY" -c '
import json
for i in range(3000):
    print(json.dumps({"assetId": "0d000000-0000-4000-8000-%012d" % (i // 8),
        "assetName": "Big %d" % (i // 8) + ("x" * 600 * 1024 if i == 1234 else ""),
        "assetPropertyId": "0e000000-0000-4000-8000-%012d" % i,
        "assetPropertyName": "P %d" % (i % 8), "assetPropertyAlias": "/big/%d" % i,
        "timeSeriesId": "0f000000-0000-4000-8000-%012d" % i}))' >"$MP/asset_big.ndjson"
awscli s3 cp --only-show-errors "$MP/asset_big.ndjson" s3://cold/site/asset_metadata/asset_big.ndjson &&
	S --format csv >"$T/big.csv" &&
	"$PY" "$T/check.py" "$MP" csv <"$T/big.csv" >"$T/big.out" 2>&1
ok $? "S3: an object of 3000 lines ($(du -k "$MP/asset_big.ndjson" | cut -f1) KiB) is read whole ($(cat "$T/big.out"))"

# Bad metadata is refused, named by store, key and line.
# (the hand-written object's last line has no newline: it is line 5)
printf '\n%s\n' '{"timeSeriesId":"x","assetName":' >>"$MP/asset_manual.ndjson"
awscli s3 cp --only-show-errors "$MP/asset_manual.ndjson" s3://cold/site/asset_metadata/asset_manual.ndjson
fails "S3: a malformed line exits 7, naming the key and line 6" 7 \
	"s3://cold/site/asset_metadata/asset_manual.ndjson', line 6: " S --format csv
manual >"$MF/asset_manual.ndjson"
printf '\n{"timeSeriesId":"y","assetPropertyUnit":7}\n' >>"$MF/asset_manual.ndjson"
fails "file://: a field of the wrong type exits 7, naming the key and line 6" 7 \
	"asset_metadata/asset_manual.ndjson', line 6: 'assetPropertyUnit' is not a string" F
"$PY" -c 'import sys; sys.stdout.write("{\"timeSeriesId\":\"" + "z" * (1 << 20) + "\"}\n")' >"$MF/asset_manual.ndjson"
fails "a line over 1 MiB exits 7, named" 7 "asset_manual.ndjson', line 1: longer than" F
rm -f "$MF/asset_manual.ndjson"
F --format ndjson --alias /manual/ >"$T/gone"
[ ! -s "$T/gone" ]
ok $? "the hand-written series leave with their object"

# A reader that stops early: exit 0, quietly (not 141).
"$SWREPART" gen --start 2022-03-01 --series 3000 --records 1 --windows 1 "$T/many" >/dev/null &&
	"$SWREPART" --cold-bucket "file://$T/many" --cache-dir "$T/cache" series --format ndjson 2>"$T/head.err" | head -n 1 >/dev/null
st=("${PIPESTATUS[@]}")
[ "${st[1]}" = 0 ] && [ ! -s "$T/head.err" ]
ok $? "series | head -1: exit ${st[1]}, nothing on stderr"

done_testing
