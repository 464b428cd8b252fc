#!/bin/bash
# 80-sync.sh - `swrepart sync` against the signature-checking S3 test
# server: each published day holds exactly the records of its raw objects
# (read back with python3-avro), one data object per day whatever the
# sequence of exports and runs, reruns upload nothing, another machine
# continues from the manifest, the sample's buckets are continued (and
# adopted with --adopt), kill -9 at any point loses nothing and leaves no
# multipart upload, injected faults change no byte, shards together do
# what one run does, uploads ask for the configured encryption.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro
start_s3 cold tgt tgt2 tgtf tgtc tgts tgt1 legacy tgtx

C=$T/cold
G="--start 2022-05-30 --days 3 --series 40 --records 60 --deflate-share 0.1
   --variant-share 0.1 --bad-share 0.2 --legacy-share 0.5"
# S TARGET [CACHE] -- ARGS: sync from s3://cold into s3://TARGET.
S() {
	_tgt=$1 _cache=${2:-$T/cache}
	shift 2
	sw --cold-bucket cold --timeseries-type ALL --target-bucket "$_tgt" \
		--cache-dir "$_cache" sync "$@"
}
inputs() { find "$C/raw/startYear=$1/startMonth=$2/startDay=$3" -name '*.avro' | sort; }
series_of() { inputs "$@" | sed 's|.*/raw_||; s|_[0-9]*_[A-Z]*\.avro$||' | sort -u; }
part() { echo "startYear=$1/startMonth=$2/startDay=$3"; }
# fetch BUCKET: the bucket's objects, downloaded with the AWS CLI.
fetch() {
	rm -rf "$T/got-$1"
	awscli s3 sync --only-show-errors "s3://$1" "$T/got-$1"
}
# data_objects BUCKET Y M D: the objects Athena would read for the day.
data_objects() { find "$T/got-$1/consolidated/$(part "$2" "$3" "$4")" -type f 2>/dev/null | sort; }
gets() { s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get(sys.argv[1], 0))' "$1"; }
# all_days_exact BUCKET: every day of the cold tier is published as one
# object holding exactly its records, with its series in timeseries.txt.
all_days_exact() {
	fetch "$1" || return 1
	for d in "2022 5 30" "2022 5 31" "2022 6 1"; do
		# shellcheck disable=SC2086
		set -- "$1" $d
		[ "$(data_objects "$@" | wc -l)" = 1 ] || { echo "$*: not one data object"; data_objects "$@"; return 1; }
		# shellcheck disable=SC2046
		"$PY" "$AVRO_TOOL" same-records $(inputs "$2" "$3" "$4") -- "$(data_objects "$@")" >/dev/null || return 1
		diff <(series_of "$2" "$3" "$4") "$T/got-$1/index/$(part "$2" "$3" "$4")/timeseries.txt" || return 1
	done
}

# ---- a first export: windows 0 and 1 of 30 series ----
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 30 --window-to 1 "$C" >/dev/null
check "upload the first export" awscli s3 sync --only-show-errors "$C" s3://cold/
S tgt "" >"$T/s1" 2>&1
ok $? "sync exits 0"
grep -q "^2022-05-30: published: .* objects, 30 new series (30 in all), .* uploaded .* (new day" "$T/s1" &&
	grep -q "^3 days: 3 published, 0 unchanged, 0 with nothing to publish, 0 failed" "$T/s1"
ok $? "a line per day and a summary" || sed 's/^/# /' "$T/s1"
check "each day: one object with exactly its records, and its series in timeseries.txt" all_days_exact tgt
[ "$(data_objects tgt 2022 5 30)" = "$T/got-tgt/consolidated/$(part 2022 5 30)/swrepart_2022-05-30.avro" ]
ok $? "the data object sits in the layout Athena queries"
"$PY" - "$T/got-tgt/index/$(part 2022 5 30)/swrepart-manifest.json" "$T/got-tgt/consolidated/$(part 2022 5 30)/swrepart_2022-05-30.avro" <<'EOF'
import hashlib, json, os, sys
m = json.load(open(sys.argv[1]))
data = open(sys.argv[2], 'rb').read()
assert m["format"] == "swrepart-day-manifest" and m["day"] == "2022-05-30", m
assert m["data"]["md5"] == hashlib.md5(data).hexdigest(), "md5"
assert m["data"]["size"] == len(data), "size"
assert m["data"]["etag"] == '"%s"' % hashlib.md5(data).hexdigest(), "etag"
assert m["source"]["bucket"] == "s3://cold/" and m["objects"]["count"] > 0
EOF
ok $? "a manifest beside the index records the object's size, MD5 and ETag and its source"

# ---- a rerun with nothing new uploads nothing and says so ----
s3ctl DELETE stats >/dev/null
S tgt "" >"$T/s2" 2>&1
ok $? "rerun exits 0"
grep -q "^2022-05-30: unchanged" "$T/s2" && grep -q "^3 days: 0 published, 3 unchanged" "$T/s2"
ok $? "and says every day is unchanged"
[ "$(gets PutObject)" = 0 ] && [ "$(gets GetObject)" = 3 ]
ok $? "and uploads nothing, reading only the 3 manifests ($(gets PutObject) PUTs, $(gets GetObject) GETs)"

# ---- dry run after a later export: late windows and 10 new series ----
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 40 "$T/full" >/dev/null
awscli s3 sync --only-show-errors "$T/full" s3://cold/
rm -rf "$C"; cp -a "$T/full" "$C"
s3ctl DELETE stats >/dev/null
S tgt "" --dry-run >"$T/s3" 2>&1
ok $? "--dry-run exits 0"
grep -q "^2022-05-30: would publish: .* replacing the published day" "$T/s3" &&
	grep -q "^3 days: 3 would be published" "$T/s3"
ok $? "--dry-run lists what would change"
[ "$(gets PutObject)" = 0 ] && [ "$(gets GetObject)" = 3 ]
ok $? "--dry-run writes nothing and fetches no object ($(gets PutObject) PUTs, $(gets GetObject) GETs)"

# ---- the sync after it: every late window and new series published ----
S tgt "" --jobs 3 >"$T/s4" 2>&1
ok $? "sync --jobs 3 after the later export"
grep -q "^2022-05-30: published: .* 10 new series (40 in all)" "$T/s4"
ok $? "10 new series reported" || sed 's/^/# /' "$T/s4"
check "each day is still one object, now with the late windows and new series (nothing lost, nothing doubled)" \
	all_days_exact tgt

# ---- another machine (empty cache) continues from the manifests ----
s3ctl DELETE stats >/dev/null
S tgt "$T/cache-b" >"$T/s5" 2>&1
ok $? "a second machine's sync exits 0"
grep -q "^3 days: 0 published, 3 unchanged" "$T/s5" && [ "$(gets GetObject)" = 3 ]
ok $? "it finds every day published and fetches no object ($(gets GetObject) GETs)"
# A new series on day 1 only, synced from the second machine.
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 41 --days 1 "$T/more" >/dev/null
awscli s3 sync --only-show-errors "$T/more" s3://cold/
cp -a "$T/more/." "$C/"
S tgt "$T/cache-b" >"$T/s6" 2>&1
ok $? "the second machine publishes a new series"
grep -q "^2022-05-30: published: .* 1 new series (41 in all)" "$T/s6" && grep -q "^3 days: 1 published, 2 unchanged" "$T/s6"
ok $? "only the day that changed" || sed 's/^/# /' "$T/s6"
check "all days exact after the second machine" all_days_exact tgt
S tgt "" >"$T/s7" 2>&1
grep -q "^3 days: 0 published, 3 unchanged" "$T/s7"
ok $? "and the first machine then finds nothing to do"

# ---- a damaged target: the data object deleted behind swrepart's back ----
awscli s3 rm --only-show-errors "s3://tgt/consolidated/$(part 2022 5 31)/swrepart_2022-05-31.avro"
S tgt "" >"$T/s8" 2>&1
grep -q "is gone: publishing it again" "$T/s8" && grep -q "^3 days: 1 published, 2 unchanged" "$T/s8"
ok $? "a published object that vanished is published again"
check "all days exact again" all_days_exact tgt
awscli s3 rm --only-show-errors "s3://tgt/index/$(part 2022 5 31)/timeseries.txt"
S tgt "" >"$T/s9" 2>&1
grep -q "timeseries.txt' is gone: publishing the day again" "$T/s9" && grep -q "^3 days: 1 published, 2 unchanged" "$T/s9" &&
	grep -q "^2022-05-31: .*the object was uploaded already" "$T/s9"
ok $? "a deleted timeseries.txt is written again, without uploading the data again"
check "all days exact again" all_days_exact tgt

# ---- a lost manifest: the day is published anew, whole ----
awscli s3 rm --only-show-errors "s3://tgt/index/$(part 2022 5 31)/swrepart-manifest.json"
S tgt "$T/cache-m" --from 2022-05-31 --to 2022-05-31 >"$T/lm.log" 2>&1
ok $? "sync after the manifest of a published day was deleted"
grep -q "no manifest (swrepart's own day): publishing the day anew" "$T/lm.log" && ! grep -q "Python sample" "$T/lm.log"
ok $? "it is not taken for the sample's day" || sed 's/^/# /' "$T/lm.log"
check "the day is whole again, with its manifest" all_days_exact tgt
S tgt "$T/cache-m" --from 2022-05-31 --to 2022-05-31 >"$T/lm2.log" 2>&1
grep -q "^1 day: 0 published, 1 unchanged" "$T/lm2.log"
ok $? "and unchanged on the next run"

# ---- a cold tier that lost objects never shrinks a published day ----
gone=$(cd "$C" && find "raw/$(part 2022 5 31)" -name '*.avro' | sort | tail -n 1)
awscli s3 rm --only-show-errors "s3://cold/$gone"
S tgt "$T/cache-shrink" --from 2022-05-31 --to 2022-05-31 >"$T/shrink.log" 2>&1 &&
	grep -q "^2022-05-31: unchanged" "$T/shrink.log"
ok $? "a day whose cold tier lost an object keeps it: unchanged (exit 0)" || sed 's/^/# /' "$T/shrink.log"
awscli s3 cp --only-show-errors "$C/$gone" "s3://cold/$gone"
check "the published day is left whole" all_days_exact tgt

# ---- faults: 503 SlowDown, resets, truncated bodies on a share of requests ----
S tgtc "$T/cache-c" >/dev/null 2>&1
s3ctl POST fault '[{"action":"slowdown","every":11,"count":1000},
	{"action":"reset","every":13,"count":1000},
	{"method":"GET","action":"truncate","every":9,"count":1000}]' >/dev/null
S tgtf "$T/cache-f" >"$T/f1" 2>&1
st=$?
nf=$(s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["faults"]["total"])')
s3ctl DELETE fault >/dev/null
[ "$st" = 0 ] && [ "$nf" -gt 20 ]
ok $? "sync through $nf injected faults exits 0" || sed 's/^/# /' "$T/f1" | tail -n 20
fetch tgtc; fetch tgtf
( cd "$T/got-tgtc" && find consolidated index -name '*.avro' -o -name timeseries.txt | sort | xargs md5sum ) >"$T/clean.md5"
( cd "$T/got-tgtf" && md5sum -c --quiet "$T/clean.md5" ) &&
	[ "$(find "$T/got-tgtf" -type f | wc -l)" = "$(find "$T/got-tgtc" -type f | wc -l)" ]
ok $? "and publishes the same bytes as a clean run from another cache"
check "which hold exactly the records" all_days_exact tgtf

# ---- shards: 3 at once do what one run does ----
S tgt1 "$T/cache-1" >/dev/null 2>&1
for i in 0 1 2; do
	S tgts "$T/cache-s$i" --shard "$i/3" >"$T/sh$i.log" 2>&1 &
	eval "p$i=\$!"
done
wait "$p0"; r0=$?; wait "$p1"; r1=$?; wait "$p2"; r2=$?
[ "$r0$r1$r2" = 000 ] && grep -q "shard 1/3: 1 of 3 days" "$T/sh1.log"
ok $? "3 shards run at once, a day each"
fetch tgt1; fetch tgts
( cd "$T/got-tgt1" && find consolidated index -name '*.avro' -o -name timeseries.txt | sort | xargs md5sum ) >"$T/one.md5"
( cd "$T/got-tgts" && md5sum -c --quiet "$T/one.md5" ) &&
	[ "$(find "$T/got-tgts" -type f | wc -l)" = "$(find "$T/got-tgt1" -type f | wc -l)" ]
ok $? "the shards published exactly what one run did"
AWS_BATCH_JOB_ARRAY_INDEX=1 AWS_BATCH_JOB_ARRAY_SIZE=3 S tgts "$T/cache-s1" --shard auto >"$T/sa.log" 2>&1 &&
	grep -q "shard 1/3: 1 of 3 days" "$T/sa.log" && grep -q "^1 day: 0 published, 1 unchanged" "$T/sa.log"
ok $? "--shard auto reads an AWS Batch array job's index and size"
SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_COUNT=3 S tgts "$T/cache-s2" --shard auto >"$T/sa.log" 2>&1 &&
	grep -q "shard 2/3: 1 of 3 days" "$T/sa.log"
ok $? "--shard auto reads a Slurm array's task id, minimum and count"
JOB_COMPLETION_INDEX=0 S tgts "$T/cache-s0" --shard auto/3 >"$T/sa.log" 2>&1 &&
	grep -q "shard 0/3: 1 of 3 days" "$T/sa.log"
ok $? "--shard auto/3 reads a Kubernetes Indexed Job's completion index"
fails "--shard auto without a count for Kubernetes: exit 2" 2 "give --shard auto/N" \
	env JOB_COMPLETION_INDEX=0 "$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold --target-bucket tgts sync --shard auto
fails "--shard 3/3: exit 2" 2 "0 <= I < N" \
	"$SWREPART" --cold-bucket cold --target-bucket tgts sync --shard 3/3

# ---- a bucket the Python sample kept ----
# The sample published 12 of the first day's series (all their windows) as
# merged_series_<time>.avro and listed them in timeseries.txt.
"$SWREPART" gen --start 2022-05-30 --days 1 --series 12 --records 60 --deflate-share 0.1 \
	--variant-share 0.1 --bad-share 0.2 --legacy-share 0.5 "$T/sample12" >/dev/null
"$SWREPART" --cold-bucket "file://$T/sample12" --timeseries-type ALL --cache-dir "$T/cache-sample" \
	materialize >/dev/null 2>&1
L=legacy
mkdir -p "$T/lg/consolidated/$(part 2022 5 30)" "$T/lg/index/$(part 2022 5 30)"
cp "$(ls "$T"/cache-sample/days/*/2022/05/30.*.avro)" "$T/lg/consolidated/$(part 2022 5 30)/merged_series_1654041600.avro"
cp "$(ls "$T"/cache-sample/days/*/2022/05/30.*.timeseries.txt)" "$T/lg/index/$(part 2022 5 30)/timeseries.txt"
awscli s3 sync --only-show-errors "$T/lg" "s3://$L"
S $L "$T/cache-l" --from 2022-05-30 --to 2022-05-30 >"$T/l1.log" 2>&1
ok $? "sync into the sample's bucket exits 0"
grep -q "published by the Python sample (12 series in 1 merged_series objects)" "$T/l1.log" &&
	grep -q "^2022-05-30: published: .* beside the sample's 12 series in 1 objects" "$T/l1.log"
ok $? "it says the sample published 12 series and publishes the others beside them" || sed 's/^/# /' "$T/l1.log"
fetch $L
[ "$(data_objects $L 2022 5 30 | wc -l)" = 2 ] &&
	cmp -s "$T/lg/consolidated/$(part 2022 5 30)/merged_series_1654041600.avro" \
		"$T/got-$L/consolidated/$(part 2022 5 30)/merged_series_1654041600.avro"
ok $? "the sample's object is left alone"
# shellcheck disable=SC2046
check "its object and ours together hold every record once" \
	"$PY" "$AVRO_TOOL" same-records $(inputs 2022 5 30) -- $(data_objects $L 2022 5 30)
check "timeseries.txt lists every series" diff <(series_of 2022 5 30) "$T/got-$L/index/$(part 2022 5 30)/timeseries.txt"
S $L "$T/cache-l2" --from 2022-05-30 --to 2022-05-30 >"$T/l2.log" 2>&1
grep -q "^1 day: 0 published, 1 unchanged" "$T/l2.log"
ok $? "a rerun (another machine) finds the day unchanged"
S $L "$T/cache-l" --from 2022-05-30 --to 2022-05-30 --adopt >"$T/l3.log" 2>&1
ok $? "sync --adopt exits 0"
grep -q "adopted: 1 merged_series objects of the sample deleted" "$T/l3.log"
ok $? "it says it folded the day" || sed 's/^/# /' "$T/l3.log"
fetch $L
[ "$(data_objects $L 2022 5 30)" = "$T/got-$L/consolidated/$(part 2022 5 30)/swrepart_2022-05-30.avro" ]
ok $? "the day is one object now"
# shellcheck disable=SC2046
check "holding every record once" "$PY" "$AVRO_TOOL" same-records $(inputs 2022 5 30) -- $(data_objects $L 2022 5 30)
S $L "$T/cache-l" --from 2022-05-30 --to 2022-05-30 >"$T/l4.log" 2>&1
grep -q "^1 day: 0 published, 1 unchanged" "$T/l4.log"
ok $? "adoption sticks: a later run without --adopt finds the day unchanged"

# ---- kill -9 at each step, then a rerun ----
# killat REGEX METHOD WHAT [EVERY]: delay the first (or EVERY-th) request
# matching REGEX, kill -9 the sync of day $KD while it waits.
KD=2022-05-30
killat() {
	_re=$1 _m=$2 _what=$3 _every=${4:-1}
	s3ctl DELETE stats >/dev/null
	s3ctl POST fault "{\"method\":\"$_m\",\"path_regex\":\"$_re\",\"action\":\"delay\",\"delay_ms\":20000,\"every\":$_every}" >/dev/null ||
		echo "Bail out! the fault rule for $_re was refused"
	# Not through S: $! must be swrepart's own PID, not a subshell's.
	"$SWREPART" --endpoint-url "$S3_URL" --retry-max-time 30 --cold-bucket cold \
		--timeseries-type ALL --target-bucket tgtx --cache-dir "$T/cache-x" \
		sync --from $KD --to $KD -o aws.multipart_threshold=1M >"$T/k.log" 2>&1 &
	_pid=$!
	_i=0
	while [ "$(s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["faults"]["total"])')" = 0 ]; do
		_i=$((_i + 1))
		[ "$_i" -lt 300 ] || break
		sleep 0.1
	done
	kill -9 "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	s3ctl DELETE fault >/dev/null
	# What the killed run had sent may still land: let it, before the rerun.
	if [ "$_i" -ge 300 ]; then
		_why="the delayed request never came in 30 s"
	elif ! s3_settle; then
		_why="the server still had requests in progress 30 s after the release: $(s3ctl GET inflight)"
	else
		_why=
	fi
	[ -z "$_why" ]
	ok $? "kill -9 $_what" || {
		echo "# $_why; the killed run said:"
		sed 's/^/# /' "$T/k.log" | tail -n 20
	}
}
after_kill() {
	S tgtx "$T/cache-x" --from $KD --to $KD -o aws.multipart_threshold=1M >"$T/k2.log" 2>&1
	ok $? "$1: the rerun exits 0" || sed 's/^/# /' "$T/k2.log"
	fetch tgtx
	# shellcheck disable=SC2046
	set -- "$1" $(echo "$KD" | awk -F- '{print $1+0, $2+0, $3+0}')
	_cnt=$(data_objects tgtx "$2" "$3" "$4" | wc -l)
	[ "$_cnt" = 1 ] &&
		"$PY" "$AVRO_TOOL" same-records $(inputs "$2" "$3" "$4") -- "$(data_objects tgtx "$2" "$3" "$4")" >"$T/k2.same" 2>&1 &&
		diff <(series_of "$2" "$3" "$4") "$T/got-tgtx/index/$(part "$2" "$3" "$4")/timeseries.txt" >"$T/k2.diff" 2>&1
	ok $? "$1: then the day is complete and single" || {
		echo "# $_cnt data objects; same-records and timeseries.txt said:"
		sed 's/^/# /' "$T/k2.same" "$T/k2.diff" | head -20
		echo "# the killed run and the rerun said:"
		sed 's/^/# /' "$T/k.log" "$T/k2.log"
	}
}
killat 'swrepart_2022-05-30[.]avro$' PUT "during the data upload"
fetch tgtx
# The killed run's PUT may land all the same (its whole body had been
# sent): then it is the whole day, never a part of it.
dobj=$(data_objects tgtx 2022 5 30)
# shellcheck disable=SC2046,SC2086
{ [ -z "$dobj" ] || "$PY" "$AVRO_TOOL" same-records $(inputs 2022 5 30) -- $dobj >/dev/null; } &&
	[ ! -e "$T/got-tgtx/index/$(part 2022 5 30)/timeseries.txt" ]
ok $? "nothing half-published is visible after it"
after_kill "data upload"
# Day grows (a series added), then kill between the data and the index.
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 42 --days 1 "$T/more2" >/dev/null
awscli s3 sync --only-show-errors "$T/more2" s3://cold/
cp -a "$T/more2/." "$C/"
killat 'timeseries[.]txt$' PUT "between the data object and the index"
after_kill "between data and index"
grep -q "the object was uploaded already" "$T/k2.log"
ok $? "the rerun does not upload the data object again"
# A multipart upload (a 1M threshold) killed between its parts.
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 43 --days 1 --records 400 "$T/more3" >/dev/null
awscli s3 sync --only-show-errors "$T/more3" s3://cold/
cp -a "$T/more3/." "$C/"
killat 'uploadId=.*partNumber|partNumber=.*uploadId' PUT "during a multipart upload"
n=$(s3ctl GET uploads | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["uploads"]))')
[ "$n" = 1 ]
ok $? "it left an unfinished multipart upload ($n)"
after_kill "multipart"
grep -q "aborting an unfinished upload" "$T/k2.log" &&
	[ "$(s3ctl GET uploads | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["uploads"]))')" = 0 ]
ok $? "the rerun aborted it: no multipart upload is left"
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 44 --days 1 --records 400 "$T/more4" >/dev/null
awscli s3 sync --only-show-errors "$T/more4" s3://cold/
cp -a "$T/more4/." "$C/"
killat 'swrepart-manifest[.]json$' PUT "before the manifest"
after_kill "before the manifest"
# A new day, killed after its index and before its manifest (the second
# manifest PUT: the first one comes before the index): the rerun must not
# take the index for one the Python sample left.
KD=2022-05-31
killat 'swrepart-manifest[.]json$' PUT "a new day, after the index, before the manifest" 2
[ -n "$(awscli s3 ls "s3://tgtx/index/$(part 2022 5 31)/timeseries.txt")" ]
ok $? "the index was written before the kill" || { sed 's/^/# /' "$T/k.log"; awscli s3 ls --recursive s3://tgtx/ | sed 's/^/# /'; grep -i manifest "$T/s3.log" | tail -n 8 | sed 's/^/# /'; }
after_kill "a new day killed before its manifest"
! grep -q "Python sample" "$T/k2.log"
ok $? "and the rerun did not take it for the sample's"

# ---- encryption, integrity, errors ----
s3ctl DELETE stats >/dev/null
S tgt2 "$T/cache-e" --from 2022-05-30 --to 2022-05-30 --sse SSE-KMS --sse-kms-key-id alias/swrepart >/dev/null 2>&1
ok $? "sync with SSE-KMS"
s3ctl GET stats | "$PY" -c '
import json, sys
sse = json.load(sys.stdin)["sse"]
ours = {k: v for k, v in sse.items() if k.startswith("/tgt2/")}
assert len(ours) == 3 and all(v == "aws:kms alias/swrepart" for v in ours.values()), sse'
ok $? "every object uploaded asks for aws:kms with the key"
s3ctl DELETE stats >/dev/null
awscli s3 rm --only-show-errors --recursive s3://tgt2/
S tgt2 "$T/cache-e" --from 2022-05-30 --to 2022-05-30 -o s3.repartitioned.sse=SSE-S3 >/dev/null 2>&1
s3ctl GET stats | "$PY" -c '
import json, sys
sse = json.load(sys.stdin)["sse"]
assert sse and all(v == "AES256" for k, v in sse.items() if k.startswith("/tgt2/")), sse'
ok $? "SSE-S3 asks for AES256"
fails "a KMS key without SSE-KMS: exit 2" 2 "is not SSE-KMS" \
	S tgt2 "$T/cache-e" --sse-kms-key-id k
fails "no target bucket: exit 2" 2 "no target bucket" \
	sw --cold-bucket cold --cache-dir "$T/cache-e" sync
fails "a target bucket that does not exist: named" 6 "nosuchbucket" \
	S nosuchbucket "$T/cache-e"
fails "wrong credentials: exit 4" 4 "SignatureDoesNotMatch|InvalidAccessKeyId|403" \
	env AWS_SECRET_ACCESS_KEY=wrong "$SWREPART" --endpoint-url "$S3_URL" --retry-max-time 5 \
	--cold-bucket cold --timeseries-type ALL --target-bucket tgt --cache-dir "$T/cache" sync
fails "an unreachable endpoint: exit 5" 5 "127.0.0.1:1" \
	"$SWREPART" --endpoint-url http://127.0.0.1:1 --retry-max-time 2 --max-retries 1 \
	--timeseries-type ALL --cold-bucket cold --target-bucket tgt --cache-dir "$T/cache" sync
# A damaged manifest fails its day by name; the other days go on.
printf '{"format": "swrepart-day-manifest", "version": 1, "data": ' >"$T/bad.json"
awscli s3 cp --only-show-errors "$T/bad.json" "s3://tgt/index/$(part 2022 5 31)/swrepart-manifest.json"
fails "a damaged manifest fails its day by name (exit 1)" 1 \
	"2022-05-31: 's3://tgt/index/startYear=2022/startMonth=5/startDay=31/swrepart-manifest.json' line 1: not a manifest" \
	S tgt ""
grep -q "^3 days: 1 published, 1 unchanged, 0 with nothing to publish, 1 failed" "$T/out" &&
	grep -q "failed: 2022-05-31 " "$T/out"
ok $? "the others are still checked, and the summary names the failed day"

# A corrupt object fails its day, which stays as published; --skip-bad
# publishes the day without the corrupt version and says so, keeping the
# version published before (a record leaves only when the user asks).
bad=$(cd "$C" && find "raw/$(part 2022 6 1)" -name '*.avro' | sort | head -n 1)
before=$(awscli s3api head-object --bucket tgt --key "consolidated/$(part 2022 6 1)/swrepart_2022-06-01.avro" --query ETag --output text)
head -c 200 "$C/$bad" >"$T/trunc.avro"
awscli s3 cp --only-show-errors "$T/trunc.avro" "s3://cold/$bad"
fails "a truncated object fails its day, named (exit 1)" 1 "2022-06-01: .*s3://cold/$bad" \
	S tgt "" --from 2022-06-01 --to 2022-06-01
after=$(awscli s3api head-object --bucket tgt --key "consolidated/$(part 2022 6 1)/swrepart_2022-06-01.avro" --query ETag --output text)
[ "$before" = "$after" ]
ok $? "and the published day is left as it was"
S tgt "" --from 2022-06-01 --to 2022-06-01 --skip-bad >"$T/sb.log" 2>&1
ok $? "--skip-bad publishes the day"
grep -q "skipping 's3://cold/$bad'" "$T/sb.log" &&
	grep -q "'s3://cold/$bad': keeping the version merged before" "$T/sb.log"
ok $? "and names the object whose corrupt version it left out" || sed 's/^/# /' "$T/sb.log"
fetch tgt
# shellcheck disable=SC2046
check "the day holds every record, the object's as published before" "$PY" "$AVRO_TOOL" same-records \
	$(inputs 2022 6 1) -- "$(data_objects tgt 2022 6 1)"
S tgt "$T/cache-sb2" --from 2022-06-01 --to 2022-06-01 --skip-bad >"$T/sb2.log" 2>&1 &&
	grep -q "'s3://cold/$bad': keeping the version merged before" "$T/sb2.log"
ok $? "from a fresh cache too (the version kept comes from the published day)" || sed 's/^/# /' "$T/sb2.log"
fetch tgt
# shellcheck disable=SC2046
check "which still holds every record" "$PY" "$AVRO_TOOL" same-records \
	$(inputs 2022 6 1) -- "$(data_objects tgt 2022 6 1)"

done_testing
