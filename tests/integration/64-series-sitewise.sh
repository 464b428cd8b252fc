#!/bin/bash
# 64-series-sitewise.sh - `swrepart series` with ListTimeSeries: the
# disassociated series that no asset metadata names appear with their
# aliases (and, with catalog.list_timeseries all, associated series whose
# metadata is missing), an associated series keeps its metadata's names,
# compared with what the mock of the SiteWise API (sitewise_mock.py,
# which checks SigV4 and pages like the real API) was given, read by
# python; when auto asks the API and when it does not; a protocol error
# of the API fails the command.
. "${top_srcdir:-.}/tests/integration/lib.sh"
[ -x "$PY" ] || skip_all "python3 is not installed"

export AWS_ACCESS_KEY_ID=swrepart-test AWS_SECRET_ACCESS_KEY=swrepart-test-secret
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE="$T/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$T/no-aws-credentials"
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_CA_BUNDLE AWS_DEFAULT_REGION

C=$T/cold
G="--start 2022-03-01 --days 1 --series 900 --records 1 --windows 1
   --disassociated-share 0.3 --legacy-share 0.3"
# shellcheck disable=SC2086
"$SWREPART" gen $G "$C" >/dev/null &&
	"$SWREPART" gen $G --list-series "$T/none" >"$T/truth.tsv"
ok $? "gen writes a cold tier and lists its series"

# What the API knows beyond gen: a disassociated stream without alias, one
# whose alias has spaces, a comma, quotes and a non-ASCII letter, an
# associated series whose asset metadata is not exported yet, and an id
# that no cold-tier object can have.
cat >>"$T/truth.tsv" <<'EOF'
0e000000-0000-4000-8000-000000000001	DOUBLE	DISASSOCIATED	-	-	-
0e000000-0000-4000-8000-000000000002	STRING	DISASSOCIATED	-	-	/plant 1/pump "7", Kühlung/temp
0e000000-0000-4000-8000-000000000003	INTEGER	ASSOCIATED	0f000000-0000-4000-8000-000000000001	0f000000-0000-4000-8000-000000000002	/late/asset/count
not-a-series-id	DOUBLE	DISASSOCIATED	-	-	/odd/stream
EOF
n_dis=$(awk -F'\t' '$3 == "DISASSOCIATED"' "$T/truth.tsv" | wc -l)
[ "$n_dis" -gt 250 ]
ok $? "$n_dis disassociated series: more than one page of 250"

"$PY" "$top_srcdir/tests/integration/sitewise_mock.py" --series "$T/truth.tsv" \
	--port-file "$T/sw.port" --throttle-every 2 --quiet >"$T/sw.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s "$T/sw.port" ] && break; sleep 0.1; done
SW_URL="http://127.0.0.1:$(cat "$T/sw.port")"
swstat() { curl -sf "$SW_URL/__control/stats" | "$PY" -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

# The independent reader: the metadata as 65-series.sh reads it, merged
# with the truth file the mock answers from.  check.py META TRUTH TYPES
# reads swrepart's ndjson on stdin; TYPES is "", "DISASSOCIATED" or
# "ASSOCIATED,DISASSOCIATED".
cat >"$T/check.py" <<'PYEOF'
import glob, json, os, re, sys

COLS = ["timeSeriesId", "assetId", "assetName", "propertyId",
        "propertyName", "alias", "unit", "dataType", "bucket", "associated"]
SRC = {"assetId": "assetId", "assetName": "assetName",
       "propertyId": "assetPropertyId", "propertyName": "assetPropertyName",
       "alias": "assetPropertyAlias", "unit": "assetPropertyUnit",
       "dataType": "assetPropertyDataType", "bucket": "timeSeriesBucket",
       "timeSeriesId": "timeSeriesId"}
UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ID = re.compile("^%s(_%s)?$" % (UUID, UUID))

meta, truth, types = sys.argv[1], sys.argv[2], sys.argv[3]
types = [t for t in types.split(",") if t]
rows = {}
for p in sorted(glob.glob(os.path.join(meta, "asset_*.ndjson"))):
    for line in open(p, encoding="utf-8"):
        if not line.strip():
            continue
        o = json.loads(line)
        if o.get("timeSeriesId") is None:
            continue
        r = {k: o.get(v) for k, v in SRC.items()}
        r["associated"] = bool(r["assetId"]) and bool(r["propertyId"])
        rows[r["timeSeriesId"]] = r
for line in open(truth, encoding="utf-8"):
    sid, dtype, kind, asset, prop, alias = line.rstrip("\n").split("\t")
    if kind not in types or not ID.match(sid):
        continue
    none = lambda v: None if v == "-" else v
    if kind == "DISASSOCIATED":
        asset = prop = "-"
    if sid in rows:
        r = rows[sid]
        if r["alias"] is None:
            r["alias"] = none(alias)
        if r["dataType"] is None:
            r["dataType"] = dtype
        continue
    rows[sid] = {"timeSeriesId": sid, "assetId": none(asset),
                 "assetName": None, "propertyId": none(prop),
                 "propertyName": None, "alias": none(alias), "unit": None,
                 "dataType": dtype, "bucket": None,
                 "associated": asset != "-" and prop != "-"}
key = lambda r: (r["assetName"] or "", r["assetId"] or "",
                 r["propertyName"] or "", r["timeSeriesId"])
want = sorted(rows.values(), key=key)
got = [json.loads(l) for l in sys.stdin.read().splitlines()]
if got != want:
    print("got %d rows, want %d" % (len(got), len(want)))
    for g, w in zip(got, want):
        if g != w:
            print("first difference:\n got  %r\n want %r" % (g, w))
            break
    sys.exit(1)
print("%d rows, %d not associated" % (len(got),
      sum(not r["associated"] for r in got)))
PYEOF

MF=$C/asset_metadata
F() { "$SWREPART" --cold-bucket "file://$C" --cache-dir "$T/cache" "$@"; }

F --sitewise-endpoint-url "$SW_URL" series --format ndjson >"$T/auto.ndjson" 2>"$T/auto.err"
ok $? "series with the API's endpoint set (auto) exits 0" || sed 's/^/# /' "$T/auto.err"
"$PY" "$T/check.py" "$MF" "$T/truth.tsv" DISASSOCIATED <"$T/auto.ndjson" >"$T/auto.out" 2>&1
ok $? "auto: the metadata plus the disassociated series the mock was given ($(cat "$T/auto.out"))" ||
	sed 's/^/# /' "$T/auto.out"
"$PY" -c '
import json, sys
rows = {r["timeSeriesId"]: r for r in map(json.loads, open(sys.argv[1]))}
a = rows["0e000000-0000-4000-8000-000000000002"]
assert a["alias"] == "/plant 1/pump \"7\", Kühlung/temp" and not a["associated"] \
    and a["assetId"] is None and a["bucket"] is None and a["dataType"] == "STRING", a
b = rows["0e000000-0000-4000-8000-000000000001"]
assert b["alias"] is None and not b["associated"], b
assert "0e000000-0000-4000-8000-000000000003" not in rows
assert not any(r["timeSeriesId"] == "not-a-series-id" for r in rows.values())
' "$T/auto.ndjson"
ok $? "a disassociated series with its alias, one without; no bucket; the associated-only series left out"
grep -q "'not-a-series-id' is not a time series id" "$T/auto.err"
ok $? "an id no cold-tier object can have is left out, with a warning"
[ "$(swstat pages)" -ge 2 ] && [ "$(swstat throttled)" -ge 1 ] &&
	[ "$(swstat rejected_signatures)" = 0 ]
ok $? "ListTimeSeries paged ($(swstat pages) pages), throttling retried, every request signed right"

F --sitewise-endpoint-url "$SW_URL" --catalog-list-timeseries all \
	series --format ndjson >"$T/all.ndjson" 2>"$T/all.err" &&
	"$PY" "$T/check.py" "$MF" "$T/truth.tsv" ASSOCIATED,DISASSOCIATED <"$T/all.ndjson" >"$T/all.out" 2>&1
ok $? "all: the associated series too, by ids alone where the metadata has none ($(cat "$T/all.out"))" ||
	sed 's/^/# /' "$T/all.out" "$T/all.err"
"$PY" -c '
import json, sys
rows = {r["timeSeriesId"]: r for r in map(json.loads, open(sys.argv[1]))}
r = rows["0e000000-0000-4000-8000-000000000003"]
assert r["associated"] and r["assetId"] == "0f000000-0000-4000-8000-000000000001" \
    and r["assetName"] is None and r["alias"] == "/late/asset/count", r
named = [r for r in rows.values() if r["assetName"]]
assert len(named) > 100 and all(r["bucket"] for r in named)
' "$T/all.ndjson"
ok $? "all: an associated series without metadata has its ids; those with metadata keep their names and buckets"

req=$(swstat requests)
F --sitewise-endpoint-url "$SW_URL" --catalog-list-timeseries off \
	series --format ndjson >"$T/off.ndjson" &&
	"$PY" "$T/check.py" "$MF" "$T/truth.tsv" "" <"$T/off.ndjson" >"$T/off.out" 2>&1 &&
	[ "$(swstat requests)" = "$req" ]
ok $? "off: the metadata alone, no request to the API ($(cat "$T/off.out"))"
F --timeseries-type ASSOCIATED series --format ndjson >"$T/local.ndjson" &&
	cmp -s "$T/local.ndjson" "$T/off.ndjson" && [ "$(swstat requests)" = "$req" ]
ok $? "auto over a local cold tier without the endpoint set: no request"

fails "catalog.list_timeseries takes auto, off, disassociated or all" 2 \
	"must be one of auto\|off\|disassociated\|all" F --catalog-list-timeseries some series
curl -sf -X POST "$SW_URL/__control/fail?count=100" >/dev/null
fails "the API failing (500) fails the command, naming it" 8 \
	"list the DISASSOCIATED time series at '$SW_URL'" \
	F --sitewise-endpoint-url "$SW_URL" --max-retries 1 --catalog-ttl 0 --sitewise-cache-ttl 0 series
curl -sf -X POST "$SW_URL/__control/fail?count=0" >/dev/null

done_testing
