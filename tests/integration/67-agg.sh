#!/bin/bash
# 67-agg.sh - the aggregates (agg/ beside raw/): gen writes them from its
# raw records; materialize --dataset agg and sync --dataset all merge and
# publish them exactly (python3-avro reads the published day and the agg/
# inputs: the same records), to consolidated_agg/ + index_agg/ with a
# manifest; the raw dataset still equals its inputs; a second sync
# publishes nothing; an aggregate file with a wrong schema is refused,
# naming its key, and the published day stays as it was.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro
start_s3 cold tgt

C=$T/cold
CACHE=$T/cache
G="--start 2022-05-30 --days 2 --series 16 --records 60 --deflate-share 0.1
   --variant-share 0.1 --bad-share 0.2"
part() { echo "startYear=$1/startMonth=$2/startDay=$3"; }
# inputs raw|agg Y M D: the cold tier's files of the day
inputs() { find "$C/$1/$(part "$2" "$3" "$4")" -name '*.avro' | sort; }
series_of() { inputs "$@" | sed 's|.*/[a-z]*_||; s|_[0-9]*_[A-Z]*\.avro$||' | sort -u; }
M() { sw --cold-bucket cold --timeseries-type ALL --cache-dir "$CACHE" materialize "$@"; }
S() { sw --cold-bucket cold --timeseries-type ALL --target-bucket tgt --cache-dir "$CACHE" sync "$@"; }
fetch() { rm -rf "$T/got" && awscli s3 sync --only-show-errors s3://tgt "$T/got"; }
puts() { s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get("PutObject", 0))'; }
# agg_dayfile Y/MM DD: the cached day file with the AggDatum schema
agg_dayfile() {
	for f in "$CACHE"/days/*/"$1"/"$2".*.avro; do
		"$PY" "$AVRO_TOOL" meta "$f" 2>/dev/null | grep -q '^name AggDatum$' && echo "$f"
	done | tail -n 1
}

# shellcheck disable=SC2086
"$SWREPART" gen $G "$C" >"$T/gen.out"
ok $? "gen writes a cold tier with aggregates"
nraw=$(find "$C/raw" -name 'raw_*.avro' | wc -l)
nagg=$(find "$C/agg" -name 'agg_*.avro' | wc -l)
[ "$nagg" -gt 0 ] && [ "$nagg" = "$nraw" ] && grep -q "; $nagg aggregate files)" "$T/gen.out"
ok $? "one agg_ file per raw file, under agg/ ($nagg)"
check "check-gen: python3-avro computes every agg_ file from its raw file" \
	"$PY" "$AVRO_TOOL" check-gen "$C"
check "upload it" awscli s3 sync --only-show-errors "$C" s3://cold/

# ---- materialize --dataset agg ----
M --dataset agg >"$T/m1" 2>&1
ok $? "materialize --dataset agg exits 0" || sed 's/^/# /' "$T/m1"
grep -q "^2022-05-30 (agg): .* listed, .* fetched" "$T/m1" &&
	grep -q "^aggregates: 2 days: 2 built" "$T/m1" && ! grep -q "^2022-05-30: " "$T/m1"
ok $? "lines and summary of the aggregates only"
for d in 30 31; do
	f=$(agg_dayfile 2022/05 $d)
	# shellcheck disable=SC2046
	check "2022-05-$d: the cached day of aggregates holds exactly its agg/ records" \
		"$PY" "$AVRO_TOOL" same-records $(inputs agg 2022 5 $d) -- "$f"
done
[ "$(ls "$CACHE"/days/*/2022/05/*.avro | wc -l)" = 2 ]
ok $? "no raw day built"

# ---- sync --dataset all ----
S --dataset all >"$T/s1" 2>&1
ok $? "sync --dataset all exits 0" || sed 's/^/# /' "$T/s1"
grep -q "^2022-05-30: published" "$T/s1" && grep -q "^2022-05-30 (agg): published" "$T/s1" &&
	grep -q "^2 days: 2 published" "$T/s1" && grep -q "^aggregates: 2 days: 2 published" "$T/s1"
ok $? "both datasets published, raw first, each with its summary"
grep "^2022-05-3. (agg): published" "$T/s1" | grep -qv "objects fetched now"
ok $? "the aggregates' days come from the cache materialize filled"
fetch
for d in 30 31; do
	p=$(part 2022 5 $d)
	[ "$(find "$T/got/consolidated_agg/$p" -type f | wc -l)" = 1 ]
	ok $? "2022-05-$d: one object in consolidated_agg/"
	# shellcheck disable=SC2046
	check "2022-05-$d: the published aggregates equal the agg/ inputs, record for record (python3-avro)" \
		"$PY" "$AVRO_TOOL" same-records $(inputs agg 2022 5 $d) -- "$T/got/consolidated_agg/$p/swrepart_2022-05-$d.avro"
	# shellcheck disable=SC2046
	check "2022-05-$d: the published raw day still equals the raw/ inputs" \
		"$PY" "$AVRO_TOOL" same-records $(inputs raw 2022 5 $d) -- "$T/got/consolidated/$p/swrepart_2022-05-$d.avro"
	check "2022-05-$d: index_agg/ lists the aggregates' series" \
		diff <(series_of agg 2022 5 $d) "$T/got/index_agg/$p/timeseries.txt"
	"$PY" - "$T/got/index_agg/$p/swrepart-manifest.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
s = json.dumps(m)
assert "agg/startYear=" in s and "/agg_" in s and "/raw_" not in s, "manifest does not name agg objects"
PYEOF
	ok $? "2022-05-$d: the aggregates' manifest names agg/ objects only"
done
"$PY" "$AVRO_TOOL" meta "$T/got/consolidated_agg/$(part 2022 5 30)/swrepart_2022-05-30.avro" >"$T/meta"
grep -q '^name AggDatum$' "$T/meta" && grep -q '^namespace amazon.aws.iot.sitewise.agg$' "$T/meta" &&
	grep -q '^codec snappy$' "$T/meta"
ok $? "one snappy container with the AggDatum schema"

# ---- a second sync: nothing new ----
s3ctl DELETE stats >/dev/null
S --dataset all >"$T/s2" 2>&1
ok $? "a second sync exits 0"
[ "$(grep -c ': unchanged: ' "$T/s2")" = 4 ] && [ "$(puts)" = 0 ]
ok $? "and publishes nothing: 4 days unchanged, no PUT"

# ---- an aggregate file with a wrong schema ----
# A raw file put under agg/ with an agg_ name, as a new object of 2022-05-31.
raw=$(inputs raw 2022 5 31 | head -n 1)
name=$(basename "$raw")
sid=${name#raw_}
sid=${sid%_*_*}
bucket=$(basename "$(dirname "$raw")")
badkey="agg/$(part 2022 5 31)/$bucket/agg_${sid}_1654041601_GOOD.avro"
check "upload a raw file as '$badkey'" awscli s3 cp --only-show-errors "$raw" "s3://cold/$badkey"
etag() { awscli s3api head-object --bucket tgt --key "consolidated_agg/$(part 2022 5 31)/swrepart_2022-05-31.avro" --query ETag --output text; }
before=$(etag)
S --dataset agg >"$T/s3" 2>&1
[ $? = 1 ]
ok $? "sync --dataset agg fails"
grep -q "s3://cold/$badkey': not an aggregate cold-tier file: its schema is record 'amazon.aws.iot.sitewise.raw.RawDatum', not AggDatum" "$T/s3"
ok $? "naming the key and why" || sed 's/^/# /' "$T/s3"
grep -q "^2022-05-30 (agg): unchanged" "$T/s3" && [ "$(etag)" = "$before" ]
ok $? "the other day is unchanged and the published day stays as it was"
M --dataset agg --from 2022-05-31 >"$T/m3" 2>&1
[ $? = 1 ] && grep -q "$badkey': not an aggregate cold-tier file" "$T/m3"
ok $? "materialize --dataset agg refuses it too"
S --dataset raw --from 2022-05-31 >"$T/s4" 2>&1
ok $? "the raw dataset is not affected" || sed 's/^/# /' "$T/s4"

done_testing
