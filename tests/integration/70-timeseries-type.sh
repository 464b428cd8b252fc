#!/bin/bash
# 70-timeseries-type.sh - timeseries_type ASSOCIATED / DISASSOCIATED:
# the series come from ListTimeSeries (a loopback mock that checks SigV4
# and pages like the real API; nothing real can run here), the answer is
# cached, throttling is retried, and a series that becomes associated is
# merged into the days it was left out of.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro
start_s3 cold

C=$T/cold
G="--start 2023-03-01 --days 1 --series 600 --records 6 --windows 2 --disassociated-share 0.2"
# shellcheck disable=SC2086
"$SWREPART" gen $G "$C" >/dev/null
# shellcheck disable=SC2086
"$SWREPART" gen $G --list-series >"$T/truth.tsv"
awscli s3 sync --only-show-errors "$C" s3://cold/

"$PY" "$top_srcdir/tests/integration/sitewise_mock.py" --series "$T/truth.tsv" \
	--port-file "$T/sw.port" --throttle-every 2 --quiet >"$T/sw.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s "$T/sw.port" ] && break; sleep 0.1; done
SW_URL="http://127.0.0.1:$(cat "$T/sw.port")"
swstat() { curl -sf "$SW_URL/__control/stats" | "$PY" -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

M() { sw --cold-bucket cold --cache-dir "$T/cache" --sitewise-endpoint-url "$SW_URL" materialize "$@"; }
day=$C/raw/startYear=2023/startMonth=3/startDay=1
of_type() {  # the day's files of series of type $1
	awk -F'\t' -v t="$1" '$3 == t {print $1}' "$T/truth.tsv" | sort >"$T/ids"
	find "$day" -name '*.avro' | sort | while read -r f; do
		id=$(basename "$f" | sed 's/^raw_//; s/_[0-9]*_[A-Z]*\.avro$//')
		grep -qx -- "$id" "$T/ids" && echo "$f"
	done
}
cached() { ls "$T/cache"/days/"$1"/2023/03/01.*.avro 2>/dev/null | tail -n 1; }

M --timeseries-type ASSOCIATED >"$T/m1" 2>&1
ok $? "materialize ASSOCIATED" || sed 's/^/# /' "$T/m1"
of_type ASSOCIATED >"$T/assoc"
# shellcheck disable=SC2046
check "the day holds exactly the associated series' records" \
	"$PY" "$AVRO_TOOL" same-records $(cat "$T/assoc") -- "$(cached 1)"
pages=$(swstat pages)
[ "$pages" -ge 2 ]
ok $? "ListTimeSeries was paged ($pages pages of at most 250)"
[ "$(swstat throttled)" -ge 1 ]
ok $? "429 ThrottlingException answers were retried ($(swstat throttled))"
[ "$(swstat rejected_signatures 2>/dev/null || echo 0)" = 0 ]
ok $? "every request was signed correctly for iotsitewise"

req=$(swstat requests)
M --timeseries-type ASSOCIATED >"$T/m2" 2>&1
[ "$(swstat requests)" = "$req" ] && grep -q "up to date" "$T/m2"
ok $? "a rerun uses the cached list (no API call) and finds nothing new"

M --timeseries-type DISASSOCIATED >"$T/m3" 2>&1
ok $? "materialize DISASSOCIATED"
# shellcheck disable=SC2046
check "that day holds exactly the disassociated series' records" \
	"$PY" "$AVRO_TOOL" same-records $(of_type DISASSOCIATED) -- "$(cached 2)"

# A data stream is mapped to an asset property: disassociated -> associated.
moved=$(awk -F'\t' '$3 == "DISASSOCIATED" {print $1; exit}' "$T/truth.tsv")
awk -F'\t' -v id="$moved" 'BEGIN {OFS="\t"} $1 == id {$3 = "ASSOCIATED"; $4 = "11111111-2222-3333-4444-555555555555"; $5 = "66666666-7777-8888-9999-000000000000"} {print}' \
	"$T/truth.tsv" >"$T/truth2" && mv "$T/truth2" "$T/truth.tsv"
M --timeseries-type ASSOCIATED >"$T/m4" 2>&1
grep -q "up to date" "$T/m4"
ok $? "within the cache time the old list is used"
s3ctl DELETE stats >/dev/null
M --timeseries-type ASSOCIATED --sitewise-cache-ttl 0 >"$T/m5" 2>&1
ok $? "with the list refreshed"
n=$(find "$day" -name "raw_${moved}_*" | wc -l)
gets=$(s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get("GetObject", 0))')
[ "$gets" = "$n" ]
ok $? "only the newly associated series' $n objects were fetched ($gets)"
of_type ASSOCIATED >"$T/assoc2"
# shellcheck disable=SC2046
check "and the day now holds its records too" \
	"$PY" "$AVRO_TOOL" same-records $(cat "$T/assoc2") -- "$(cached 1)"
grep -qx -- "$moved" "$(ls "$T"/cache/days/1/2023/03/01.*.timeseries.txt)"
ok $? "and lists it in timeseries.txt"

fails "a wrong secret at ListTimeSeries: exit 4 and the service's code" 4 \
	"403 InvalidSignatureException" \
	env AWS_SECRET_ACCESS_KEY=wrong "$SWREPART" --cold-bucket "file://$C" \
	--cache-dir "$T/cache2" --sitewise-endpoint-url "$SW_URL" \
	--timeseries-type ASSOCIATED materialize
fails "an unreachable ListTimeSeries endpoint: exit 5" 5 "cannot reach" \
	"$SWREPART" --cold-bucket "file://$C" --cache-dir "$T/cache2" \
	--sitewise-endpoint-url http://127.0.0.1:1 --timeseries-type ASSOCIATED \
	materialize
done_testing
