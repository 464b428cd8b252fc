#!/bin/bash
# 82-robust.sh - swrepart against servers that misbehave, end to end with
# the real binary: a ListObjectsV2 or ListTimeSeries that repeats its
# continuation token ends at once with the listing named (not after hours
# of requests); listed sizes that cannot be are refused, naming the key;
# 501 and 4xx other than throttling are asked once; a target without
# ListMultipartUploads (501) or without conditional writes (501) still
# gets its days; dates with blanks or signs are refused; out-of-range
# partitions (startMonth=13, startDay=32) are skipped with a warning.
. "${top_srcdir:-.}/tests/integration/lib.sh"
start_s3 cold tgt tgt2

C=$T/cold
G="--start 2022-05-30 --days 2 --series 6 --records 5 --windows 1"
# shellcheck disable=SC2086
"$SWREPART" gen $G "$C" >/dev/null
check "upload a small cold tier (2 days)" awscli s3 sync --only-show-errors "$C" s3://cold/

# count OP: requests of one S3 operation since the last reset.
count() { s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get(sys.argv[1], 0))' "$1"; }
# status_count CODE: answers with that HTTP status since the last reset.
status_count() { s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byStatus"].get(sys.argv[1], 0))' "$1"; }
mode() { s3ctl POST mode "$1" >/dev/null; }
reset() { s3ctl DELETE mode >/dev/null; s3ctl DELETE fault >/dev/null; s3ctl DELETE stats >/dev/null; }
# timed SECONDS NAME STATUS PATTERN CMD...: as fails, and within SECONDS.
timed() {
	_limit=$1
	shift
	_t0=$(date +%s)
	fails "$@"
	_el=$(( $(date +%s) - _t0 ))
	[ "$_el" -le "$_limit" ]
	ok $? "... within $_limit s ($_el s)"
}
L() { sw --cold-bucket cold "$@"; }

# ---- a ListObjectsV2 that repeats its token, forever ----
reset
mode '{"repeat_token":"prefix=raw"}'
timed 10 "ls against a listing that repeats its token: exit 8, the listing and the loop named" \
	8 "cannot list 's3://cold/raw/.*continuation token it gave before" \
	timeout 120 "$SWREPART" --endpoint-url "$S3_URL" --retry-max-time 30 --cold-bucket cold ls
n=$(count ListObjectsV2)
[ "$n" -le 2 ]
ok $? "... after 2 ListObjectsV2 requests ($n)"
reset
# Only the flat listing of one day repeats: that day fails, naming its partition.
mode '{"repeat_token":"prefix=raw%2FstartYear%3D2022%2FstartMonth%3D5%2FstartDay%3D30%2F$"}'
timeout 120 "$SWREPART" --endpoint-url "$S3_URL" --retry-max-time 30 --cold-bucket cold \
	--timeseries-type ALL --cache-dir "$T/cache1" materialize >"$T/m1" 2>&1
st=$?
[ "$st" -ne 0 ] && [ "$st" -ne 124 ] &&
	grep -q "startYear=2022/startMonth=5/startDay=30/.*continuation token it gave before" "$T/m1" &&
	grep -q "^2022-05-31: " "$T/m1"
ok $? "materialize: the day whose listing repeats fails naming it, the other is built (exit $st)" ||
	sed 's/^/# /' "$T/m1"

# ---- listed sizes that cannot be ----
day30=raw/startYear=2022/startMonth=5/startDay=30
key=$(cd "$C" && find "$day30" -name '*.avro' | sort | head -n 1)
for size in -1 18446744073709551616 4611686018427387905 12x; do
	reset
	mode "{\"list_size\":{\"key_regex\":\"^$key\$\",\"size\":\"$size\"}}"
	L --timeseries-type ALL --cache-dir "$T/cache-size" materialize --from 2022-05-30 --to 2022-05-30 >"$T/ms" 2>&1
	st=$?
	[ "$st" -ne 0 ] && grep -qF "'$key' a size of '$size'" "$T/ms"
	ok $? "a listed <Size>$size</Size> fails the day, naming the key (exit $st)" ||
		sed 's/^/# /' "$T/ms"
done

# ---- never retried: 501 and 403 ----
reset
s3ctl POST fault '{"method":"GET","path_regex":"list-type=2","action":"501","count":50}' >/dev/null
fails "a listing answered 501 NotImplemented: exit 8" 8 "501 NotImplemented" L ls
n=$(count ListObjectsV2)
[ "$n" = 1 ]
ok $? "... asked once ($n requests)"
reset
s3ctl POST fault '{"method":"GET","path_regex":"list-type=2","action":"403","count":50}' >/dev/null
fails "a listing answered 403 AccessDenied: exit 4" 4 "403 AccessDenied" L ls
n=$(count ListObjectsV2)
[ "$n" = 1 ]
ok $? "... asked once ($n requests)"
reset
s3ctl POST fault '{"method":"GET","path_regex":"list-type=2","action":"slowdown","count":2}' >/dev/null
check "a listing answered 503 SlowDown twice is retried and succeeds" L ls
n=$(count ListObjectsV2)
[ "$n" -ge 3 ]
ok $? "... in more requests ($n)"

# ---- a target without ListMultipartUploads: the days are published ----
reset
mode '{"no_multipart_listing":true}'
# Depends on publish.c turning SW_ERR_UNSUPPORTED of store_abort_uploads
# into a one-time warning (the exit status and the single warning).
L --timeseries-type ALL --target-bucket tgt --cache-dir "$T/cache2" sync >"$T/s1" 2>&1
st=$?
[ "$st" = 0 ]
ok $? "sync to a target without ListMultipartUploads exits 0 ($st)" || sed 's/^/# /' "$T/s1"
[ "$(grep -c 'AbortIncompleteMultipartUpload' "$T/s1")" = 1 ]
ok $? "... and says once to set an AbortIncompleteMultipartUpload lifecycle rule"
grep 'AbortIncompleteMultipartUpload' "$T/s1" | sed 's/^/# /'
n=$(count ListMultipartUploads)
[ "$n" -le 2 ] && [ "$(count AbortMultipartUpload)" = 0 ]
ok $? "... after at most one ListMultipartUploads per day, never retried ($n for 2 days)"
awscli s3 ls --recursive s3://tgt/ >"$T/tgt.ls" 2>&1
[ "$(grep -c 'swrepart-manifest.json' "$T/tgt.ls")" = 2 ]
ok $? "... and both days are published" || sed 's/^/# /' "$T/tgt.ls"

# ---- a target without conditional writes: written without them ----
reset
mode '{"no_conditional_writes":true}'
L --timeseries-type ALL --target-bucket tgt2 --cache-dir "$T/cache2" sync >"$T/s2" 2>&1
st=$?
[ "$st" = 0 ] && [ "$(grep -c 'does not support conditional writes' "$T/s2")" = 1 ]
ok $? "sync to a target without conditional writes exits 0 and warns once ($st)" ||
	sed 's/^/# /' "$T/s2"
n=$(status_count 501)
[ "$n" -ge 1 ] && [ "$n" -le 2 ]
ok $? "... each 501 asked once: $n answers of 501"
awscli s3 ls --recursive s3://tgt2/ >"$T/tgt2.ls" 2>&1
[ "$(grep -c 'swrepart-manifest.json' "$T/tgt2.ls")" = 2 ]
ok $? "... and both days are published" || sed 's/^/# /' "$T/tgt2.ls"
reset

# ---- a ListTimeSeries that repeats its nextToken ----
# shellcheck disable=SC2086
"$SWREPART" gen $G --list-series >"$T/truth.tsv"
"$PY" "$top_srcdir/tests/integration/sitewise_mock.py" --series "$T/truth.tsv" \
	--port-file "$T/sw.port" --quiet >"$T/sw.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s "$T/sw.port" ] && break; sleep 0.1; done
SW_URL="http://127.0.0.1:$(cat "$T/sw.port")"
curl -sf -X POST "$SW_URL/__control/repeat_token?on=1" >/dev/null
timed 10 "ListTimeSeries repeating its nextToken: materialize ends, naming the endpoint and the loop" \
	8 "list the ASSOCIATED time series at '$SW_URL'.*token it gave before" \
	timeout 120 "$SWREPART" --endpoint-url "$S3_URL" --retry-max-time 30 --cold-bucket cold \
	--cache-dir "$T/cache3" --sitewise-endpoint-url "$SW_URL" materialize --timeseries-type ASSOCIATED
n=$(curl -sf "$SW_URL/__control/stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
[ "$n" -le 2 ]
ok $? "... after 2 ListTimeSeries requests ($n)"
curl -sf -X POST "$SW_URL/__control/repeat_token?on=0" >/dev/null
check "without the loop the same materialize works" \
	sw --cold-bucket cold --cache-dir "$T/cache3" --sitewise-endpoint-url "$SW_URL" \
	materialize --timeseries-type ASSOCIATED

# ---- dates: digits and dashes only ----
for args in "ls --from 2022-3-_01" "ls --from 2022-3-_1" "ls --to 2022-05-+1" "materialize --from _2022-5-30" \
	"sync --to 2022-05-30x" "ls --from 2022-05-3"; do
	# "_" stands for a blank.
	# shellcheck disable=SC2086
	set -- $args
	v=${3//_/ }
	re=$(printf '%s' "$v" | sed 's/[][\.*^$+?(){}|]/\\&/g')
	fails "$1 $2 '$v' is refused" 2 "'$re' is not a date of the form YYYY-MM-DD" \
		"$SWREPART" --cold-bucket "file://$C" --target-bucket "file://$T" --cache-dir "$T/cache4" "$1" "$2" "$v"
done
check "ls --from 2022-05-31 is fine" "$SWREPART" --cold-bucket "file://$C" ls --from 2022-05-31

# ---- partitions out of range: skipped with the warning other odd ones get ----
F=$T/odd
cp -r "$C" "$F"
obj=$(find "$F/$day30" -name '*.avro' | head -n 1)
for part in startMonth=13/startDay=1 startMonth=0/startDay=1 startMonth=5/startDay=32 startMonth=5/startDay=0; do
	mkdir -p "$F/raw/startYear=2022/$part/seriesBucket=00"
	cp "$obj" "$F/raw/startYear=2022/$part/seriesBucket=00/"
done
"$SWREPART" --cold-bucket "file://$F" ls >"$T/ls" 2>&1
ok $? "ls of a cold tier with startMonth=13, startMonth=0, startDay=32, startDay=0" || sed 's/^/# /' "$T/ls"
for w in "startYear=2022/startMonth=13/': not a startMonth= partition" \
	"startYear=2022/startMonth=0/': not a startMonth= partition" \
	"startYear=2022/startMonth=5/startDay=32/': not a startDay= partition" \
	"startYear=2022/startMonth=5/startDay=0/': not a startDay= partition"; do
	grep -q "warning: skipping 'file://$F/raw/$w" "$T/ls"
	ok $? "warns: skipping '.../$w'" || sed 's/^/# /' "$T/ls"
done
grep -Eq '2022-13|2022-00|-32|-00' "$T/ls"
[ $? = 1 ]
ok $? "... and lists no such day"

done_testing
