#!/bin/bash
# 69-series-cache.sh - the series catalogue kept in the cache index
# (engine_catalog): a second `swrepart series` reads no metadata object
# (the S3 test server's counters), a changed object is seen only after
# catalog.ttl or with --refresh; ListTimeSeries' part is kept for
# aws.sitewise_cache_ttl (the SiteWise mock's counters), --refresh asks
# again; the index holds the parts (read by python's sqlite3).
. "${top_srcdir:-.}/tests/integration/lib.sh"
[ -x "$PY" ] || skip_all "python3 is not installed"
start_s3 cold

C=$T/cold
G="--start 2022-03-01 --days 1 --series 60 --records 1 --windows 1
   --disassociated-share 0.2"
# shellcheck disable=SC2086
"$SWREPART" gen $G "$C" >/dev/null &&
	"$SWREPART" gen $G --list-series "$T/none" >"$T/truth.tsv" &&
	awscli s3 sync --only-show-errors "$C" s3://cold/
ok $? "gen writes a cold tier, uploaded"
nmeta=$(find "$C/asset_metadata" -name 'asset_*.ndjson' | wc -l)

op() { s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get(sys.argv[1], 0))' "$1"; }
S() { sw --cold-bucket cold --cache-dir "$T/cache" --catalog-list-timeseries off series --format ndjson "$@"; }
# unit SERIES FILE: the unit that series has in swrepart's ndjson
unit() { "$PY" -c '
import json, sys
for l in open(sys.argv[2]):
    o = json.loads(l)
    if o["timeSeriesId"] == sys.argv[1]:
        print(o["unit"])' "$1" "$2"; }
# The metadata object of one series, changed: its unit becomes $2.
sid=$(head -n 1 "$C/asset_metadata/"asset_*.ndjson | "$PY" -c '
import json, sys
for l in sys.stdin:
    if l.startswith("{"):
        print(json.loads(l)["timeSeriesId"]); break')
obj=$(grep -l -- "$sid" "$C/asset_metadata/"asset_*.ndjson)
set_unit() {
	"$PY" - "$obj" "$sid" "$1" <<'PYEOF'
import json, sys
p, sid, unit = sys.argv[1:]
out = []
for l in open(p, encoding="utf-8"):
    o = json.loads(l)
    if o.get("timeSeriesId") == sid:
        o["assetPropertyUnit"] = unit
    out.append(json.dumps(o) + "\n")
open(p, "w", encoding="utf-8").write("".join(out))
PYEOF
	awscli s3 cp --only-show-errors "$obj" "s3://cold/asset_metadata/${obj##*/}"
}

s3ctl DELETE stats >/dev/null
S >"$T/1.ndjson"
ok $? "a first series reads the catalogue"
[ "$(op GetObject)" = "$nmeta" ] && [ "$(op ListObjectsV2)" -ge 1 ]
ok $? "from every metadata object ($(op GetObject) GETs of $nmeta objects)"
n1=$(wc -l <"$T/1.ndjson")
"$PY" -c '
import glob, json, os, sys
ids = set()
for p in glob.glob(os.path.join(sys.argv[1], "asset_*.ndjson")):
    for l in open(p):
        o = json.loads(l)
        if o.get("timeSeriesId"):
            ids.add(o["timeSeriesId"])
got = [json.loads(l)["timeSeriesId"] for l in open(sys.argv[2])]
assert len(got) == len(ids) and set(got) == ids, (len(got), len(ids))
' "$C/asset_metadata" "$T/1.ndjson"
ok $? "its $n1 series are the metadata's, as python reads them"

s3ctl DELETE stats >/dev/null
S >"$T/2.ndjson"
ok $? "a second series (a new process) exits 0"
[ "$(op GetObject)" = 0 ] && [ "$(op ListObjectsV2)" = 0 ] && cmp -s "$T/1.ndjson" "$T/2.ndjson"
ok $? "and reads no metadata object (nor lists one): the same catalogue from the index"
"$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
parts = dict(db.execute("SELECT name, id FROM catalog_part"))
pid = parts["asset metadata s3://cold/asset_metadata/"]
n = db.execute("SELECT count(*) FROM catalog_row WHERE part = ?", (pid,)).fetchone()[0]
assert n == int(sys.argv[2]), (n, sys.argv[2])
' "$T/cache/index.sqlite" "$n1"
ok $? "the index holds the part, $n1 rows (python's sqlite3)"

set_unit "kelvin (changed)"
s3ctl DELETE stats >/dev/null
S >"$T/3.ndjson"
[ "$(op GetObject)" = 0 ] && [ "$(unit "$sid" "$T/3.ndjson")" != "kelvin (changed)" ]
ok $? "a changed object is not seen within catalog.ttl (0 GETs)"
s3ctl DELETE stats >/dev/null
S --refresh >"$T/4.ndjson"
[ "$(op GetObject)" = "$nmeta" ] && [ "$(unit "$sid" "$T/4.ndjson")" = "kelvin (changed)" ]
ok $? "--refresh reads it again ($(op GetObject) GETs) and sees the change"

set_unit "millikelvin (changed again)"
sleep 3
s3ctl DELETE stats >/dev/null
S --catalog-ttl 2 >"$T/5.ndjson"
[ "$(op GetObject)" = "$nmeta" ] && [ "$(unit "$sid" "$T/5.ndjson")" = "millikelvin (changed again)" ]
ok $? "after catalog.ttl (2 s) it is read again ($(op GetObject) GETs) and sees the change"
s3ctl DELETE stats >/dev/null
S --catalog-ttl 3600 >"$T/6.ndjson"
[ "$(op GetObject)" = 0 ] && cmp -s "$T/5.ndjson" "$T/6.ndjson"
ok $? "and kept again from then on"

# ListTimeSeries' part: kept for aws.sitewise_cache_ttl.
"$PY" "$top_srcdir/tests/integration/sitewise_mock.py" --series "$T/truth.tsv" \
	--port-file "$T/sw.port" --quiet >"$T/sw.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s "$T/sw.port" ] && break; sleep 0.1; done
SW_URL="http://127.0.0.1:$(cat "$T/sw.port")"
swreq() { curl -sf "$SW_URL/__control/stats" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['requests'])"; }
A() { sw --cold-bucket cold --cache-dir "$T/cache" --sitewise-endpoint-url "$SW_URL" series --format ndjson "$@"; }
dis() { "$PY" -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if not json.loads(l)["associated"]))' "$1"; }
n_dis=$(awk -F'\t' '$3 == "DISASSOCIATED"' "$T/truth.tsv" | wc -l)

A >"$T/a1.ndjson" && r1=$(swreq) && [ "$r1" -ge 1 ] && [ "$(dis "$T/a1.ndjson")" = "$n_dis" ]
ok $? "with the API: its $n_dis disassociated series are added ($r1 requests)"
A >"$T/a2.ndjson" && [ "$(swreq)" = "$r1" ] && cmp -s "$T/a1.ndjson" "$T/a2.ndjson"
ok $? "a second run asks the API nothing"
printf '0e000000-0000-4000-8000-0000000000ee\tDOUBLE\tDISASSOCIATED\t-\t-\t/late/stream\n' >>"$T/truth.tsv"
sleep 2
s3ctl DELETE stats >/dev/null
A --catalog-ttl 1 >"$T/a3.ndjson" && [ "$(swreq)" = "$r1" ] && [ "$(dis "$T/a3.ndjson")" = "$n_dis" ] &&
	[ "$(op GetObject)" = "$nmeta" ]
ok $? "the metadata read again after catalog.ttl, the API's answer is kept (aws.sitewise_cache_ttl)"
A --refresh >"$T/a4.ndjson" && [ "$(swreq)" -gt "$r1" ] && [ "$(dis "$T/a4.ndjson")" = $((n_dis + 1)) ] &&
	grep -q '"alias":"/late/stream"' "$T/a4.ndjson"
ok $? "--refresh asks the API again: the new stream is there, with its alias"
r2=$(swreq)
A --sitewise-cache-ttl 0 >"$T/a5.ndjson" && [ "$(swreq)" -gt "$r2" ] && cmp -s "$T/a4.ndjson" "$T/a5.ndjson"
ok $? "aws.sitewise_cache_ttl 0 asks it at every run"

done_testing
