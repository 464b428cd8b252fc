#!/bin/bash
# 83-lossless.sh - a published record leaves the target only when the user
# asks, whatever happens to the cold tier, the cache or the target:
#  1. objects expired from the cold tier (and others added) are kept, from
#     a fresh cache too, and the same objects give the same bytes on any
#     machine; --prune-expired drops them on purpose;
#  2. --adopt deletes a sample object only when its records are proven to
#     be in the new day;
#  3. a tampered manifest is reported, never obeyed: nothing outside the
#     day is deleted;
#  4. a damaged cached day is built anew, never published;
#  5. a cache directory that is not ours alone is refused;
#  6. two syncs at once, and a dead run's late PUT, lose nothing;
#     a store without conditional writes still publishes, with a warning.
# Records are read back with python3-avro and compared as multisets.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro
start_s3 cold tgt tgt2 tgtm tgtd legacy tgtc tgtn

C=$T/cold
D="startYear=2022/startMonth=5/startDay=30"
part() { echo "startYear=$1/startMonth=$2/startDay=$3"; }
S() {  # S TARGET CACHE ARGS...: sync 2022-05-30 from s3://cold
	_tgt=$1 _cache=$2
	shift 2
	sw --cold-bucket cold --timeseries-type ALL --target-bucket "$_tgt" \
		--cache-dir "$_cache" sync --from 2022-05-30 --to 2022-05-30 "$@"
}
fetch() {
	rm -rf "$T/got-$1"
	awscli s3 sync --only-show-errors "s3://$1" "$T/got-$1"
}
data_of() { echo "$T/got-$1/consolidated/$D/swrepart_2022-05-30.avro"; }
inputs() { find "$1/raw/$D" -name '*.avro' | sort; }

# ---- 1. expired objects are kept, from any cache ----
"$SWREPART" gen --start 2022-05-30 --days 1 --series 8 --records 10 --window-to 1 "$C" >/dev/null
mkdir -p "$T/all"
cp -r "$C/." "$T/all/"
awscli s3 sync --only-show-errors "$C" s3://cold/
S tgt "$T/cacheA" >"$T/s1" 2>&1
ok $? "first sync publishes the day" || sed 's/^/# /' "$T/s1"
# The cold tier expires one object and exports another (one delete, one
# add: as many objects as before).
gone=$(inputs "$C" | head -n 1)
gone_key=${gone#"$C"/}
awscli s3 rm --only-show-errors "s3://cold/$gone_key"
rm -f "$gone"
"$SWREPART" gen --start 2022-05-30 --days 1 --series 8 --records 10 --window-from 2 --window-to 2 "$T/w2" >/dev/null
new=$(inputs "$T/w2" | head -n 1)
new_key=${new#"$T/w2"/}
mkdir -p "$(dirname "$C/$new_key")" "$(dirname "$T/all/$new_key")"
cp "$new" "$C/$new_key"
cp "$new" "$T/all/$new_key"
awscli s3 cp --only-show-errors "$new" "s3://cold/$new_key"
[ "$(inputs "$C" | wc -l)" = "$(($(inputs "$T/all" | wc -l) - 1))" ]
ok $? "the cold tier lost one object and gained one"
S tgt "$T/cacheB" >"$T/s2" 2>&1
ok $? "a sync from a fresh cache exits 0" || sed 's/^/# /' "$T/s2"
grep -q "kept 1 object that the cold tier no longer holds (copied from the published day)" "$T/s2" &&
	grep -q "^2022-05-30: published: .*1 object that the cold tier no longer holds kept" "$T/s2"
ok $? "and says it kept the object the cold tier no longer holds" || sed 's/^/# /' "$T/s2"
fetch tgt
# shellcheck disable=SC2046
check "the target holds every record ever published, each once" \
	"$PY" "$AVRO_TOOL" same-records $(inputs "$T/all") -- "$(data_of tgt)"
cp "$(data_of tgt)" "$T/fromB.avro"
sw --cold-bucket cold --timeseries-type ALL --cache-dir "$T/cacheA" materialize >"$T/m1" 2>&1 &&
	grep -q "1 object that the cold tier no longer holds kept" "$T/m1"
ok $? "the first machine's cache keeps it too" || sed 's/^/# /' "$T/m1"
cmp -s "$T/fromB.avro" "$(ls "$T"/cacheA/days/*/2022/05/30.*.avro)"
ok $? "and both machines' days are the same bytes"
S tgt "$T/cacheB" >"$T/s3" 2>&1 && grep -q "^2022-05-30: unchanged" "$T/s3"
ok $? "a rerun finds the day unchanged" || sed 's/^/# /' "$T/s3"
# file:// too: publish the first export into a local target, expire one
# object and add another, rebuild from a fresh cache.
mkdir -p "$T/fcold" "$T/ftgt2"
cp -r "$T/all/." "$T/fcold/"
rm -f "$T/fcold/$new_key"
sw --cold-bucket "file://$T/fcold" --timeseries-type ALL --target-bucket "file://$T/ftgt2" \
	--cache-dir "$T/cacheF2" sync >/dev/null 2>&1 &&
	rm -f "$T/fcold/$gone_key" && cp "$new" "$T/fcold/$new_key" &&
	sw --cold-bucket "file://$T/fcold" --timeseries-type ALL --target-bucket "file://$T/ftgt2" \
		--cache-dir "$T/cacheF3" sync >"$T/f1" 2>&1 && grep -q "kept 1 object" "$T/f1"
ok $? "file://: an expired object is kept from a fresh cache" || sed 's/^/# /' "$T/f1"
# shellcheck disable=SC2046
check "file://: the local target holds every record" \
	"$PY" "$AVRO_TOOL" same-records $(inputs "$T/all") -- "$T/ftgt2/consolidated/$D/swrepart_2022-05-30.avro"
S tgt "$T/cacheB" --prune-expired >"$T/s4" 2>&1 &&
	grep -q "1 object that the cold tier no longer holds dropped (--prune-expired)" "$T/s4"
ok $? "--prune-expired drops it on purpose, and says so" || sed 's/^/# /' "$T/s4"
fetch tgt
# shellcheck disable=SC2046
check "then the day holds exactly what the cold tier holds" \
	"$PY" "$AVRO_TOOL" same-records $(inputs "$C") -- "$(data_of tgt)"

# ---- 4. a damaged cached day is built anew, not published ----
"$SWREPART" gen --start 2022-05-30 --days 1 --series 6 --records 30 "$T/c4" >/dev/null
sw --cold-bucket "file://$T/c4" --timeseries-type ALL --cache-dir "$T/cache4" materialize >/dev/null 2>&1
f4=$(ls "$T"/cache4/days/*/2022/05/30.*.avro)
flip_bit "$f4" 2 0x10
sw --cold-bucket "file://$T/c4" --timeseries-type ALL --target-bucket tgtd --cache-dir "$T/cache4" \
	sync >"$T/d1" 2>&1
ok $? "sync with a damaged cached day exits 0" || sed 's/^/# /' "$T/d1"
grep -q "is damaged (MD5 .*building the day anew" "$T/d1"
ok $? "and says the cached day was damaged and built anew" || sed 's/^/# /' "$T/d1"
fetch tgtd
# shellcheck disable=SC2046
check "the published day holds exactly the cold tier's records" \
	"$PY" "$AVRO_TOOL" same-records $(inputs "$T/c4") -- "$(data_of tgtd)"
f4=$(ls "$T"/cache4/days/*/2022/05/30.*.avro)
flip_bit "$f4" 3 0x01
sw --cold-bucket "file://$T/c4" --timeseries-type ALL --cache-dir "$T/cache4" materialize >"$T/d2" 2>&1
# materialize finds nothing new; the mount and sync check before use:
sw --cold-bucket "file://$T/c4" --timeseries-type ALL --cache-dir "$T/cache4" cache verify >"$T/d3" 2>&1
[ $? != 0 ] && grep -q "30" "$T/d3"
ok $? "cache verify finds the damaged day" || sed 's/^/# /' "$T/d3"

# ---- 3. a tampered manifest is reported, never obeyed ----
"$SWREPART" gen --start 2022-05-30 --days 2 --series 5 --records 10 --window-to 1 "$T/c3" >/dev/null
sync_m() {
	sw --cold-bucket "file://$T/c3" --timeseries-type ALL --target-bucket tgtm \
		--cache-dir "$T/cache3" sync "$@"
}
sync_m >/dev/null 2>&1
echo precious | awscli s3 cp --only-show-errors - s3://tgtm/other/precious.txt
M=index/$D/swrepart-manifest.json
awscli s3 cp --only-show-errors "s3://tgtm/$M" "$T/m.json"
other=consolidated/$(part 2022 5 31)/swrepart_2022-05-31.avro
"$PY" - "$T/m.json" "$other" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["sample"] = {"adopted": True, "series": [], "objects": ["other/precious.txt", sys.argv[2]]}
json.dump(m, open(sys.argv[1], "w"))
EOF
awscli s3 cp --only-show-errors "$T/m.json" "s3://tgtm/$M"
# something new for the day, so that sync acts on it
"$SWREPART" gen --start 2022-05-30 --days 1 --series 5 --records 10 --window-from 2 --window-to 2 "$T/c3" >/dev/null
sync_m >"$T/t1" 2>&1
st=$?
[ "$st" = 1 ] && grep -q "names 'other/precious.txt' as an object of the Python sample, but it is not a merged_series_\*.avro of the day's partition" "$T/t1"
ok $? "a manifest naming foreign keys fails its day (exit 1), naming the key" || { echo "# exit $st"; sed 's/^/# /' "$T/t1"; }
awscli s3api head-object --bucket tgtm --key other/precious.txt >/dev/null 2>&1 &&
	awscli s3api head-object --bucket tgtm --key "$other" >/dev/null 2>&1
ok $? "and deletes neither the foreign object nor another day's data"
"$PY" - "$T/m.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
del m["sample"]
m["day"] = "2022-05-31"
json.dump(m, open(sys.argv[1], "w"))
EOF
awscli s3 cp --only-show-errors "$T/m.json" "s3://tgtm/$M"
fails "a manifest of another day is not obeyed" 1 "describes day 2022-05-31, not 2022-05-30" sync_m
"$PY" - "$T/m.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["day"] = "2022-05-30"
m["merged"][0]["offset"] = m["data"]["size"] + 10
json.dump(m, open(sys.argv[1], "w"))
EOF
awscli s3 cp --only-show-errors "$T/m.json" "s3://tgtm/$M"
fails "a manifest whose ranges leave the data object is not obeyed" 1 "not a range of the" sync_m
printf '{"format": "swrepart-day-manifest", "version": 2, "day": ' | awscli s3 cp --only-show-errors - "s3://tgtm/$M"
fails "a manifest that does not parse is reported" 1 "not a manifest" sync_m

# ---- 2. --adopt keeps a sample object whose records are not all in the day ----
"$SWREPART" gen --start 2022-05-30 --days 1 --series 6 --records 20 "$T/s6" >/dev/null
sw --cold-bucket "file://$T/s6" --timeseries-type ALL --cache-dir "$T/cache-s6" materialize >/dev/null 2>&1
mkdir -p "$T/lg/consolidated/$D" "$T/lg/index/$D"
cp "$(ls "$T"/cache-s6/days/*/2022/05/30.*.avro)" "$T/lg/consolidated/$D/merged_series_1654041600.avro"
cp "$(ls "$T"/cache-s6/days/*/2022/05/30.*.timeseries.txt)" "$T/lg/index/$D/timeseries.txt"
awscli s3 sync --only-show-errors "$T/lg" s3://legacy
# the cold tier then expired one of the sample's objects
mkdir -p "$T/s6c"
cp -r "$T/s6/." "$T/s6c/"
rm -f "$(inputs "$T/s6c" | head -n 1)"
adopt() {
	sw --cold-bucket "file://$T/s6c" --timeseries-type ALL --target-bucket legacy \
		--cache-dir "$T/cache-a" sync --adopt
}
adopt >"$T/a1" 2>&1
ok $? "sync --adopt exits 0" || sed 's/^/# /' "$T/a1"
grep -q "keeping 's3://legacy/consolidated/$D/merged_series_1654041600.avro': its .* records of series .* are not all in the new day" "$T/a1"
ok $? "it keeps the sample's object and says why" || sed 's/^/# /' "$T/a1"
fetch legacy
# shellcheck disable=SC2046
check "no record the sample published is lost" \
	"$PY" "$AVRO_TOOL" contains $(inputs "$T/s6") -- $(find "$T/got-legacy/consolidated/$D" -name '*.avro')
# once the cold tier holds all of it again, the object is proven and goes
rm -rf "$T/s6c"
cp -r "$T/s6" "$T/s6c"
adopt >"$T/a2" 2>&1 && grep -q "adopted: 1 merged_series objects of the sample deleted" "$T/a2"
ok $? "with every record in the new day, the sample's object is deleted" || sed 's/^/# /' "$T/a2"
fetch legacy
# shellcheck disable=SC2046
check "and the day is one object with every record once" \
	"$PY" "$AVRO_TOOL" same-records $(inputs "$T/s6") -- $(find "$T/got-legacy/consolidated/$D" -name '*.avro')

# ---- 5. a cache directory that is not ours alone is refused ----
mat5() { sw --cold-bucket "file://$T/s6" --timeseries-type ALL --cache-dir "$1" cache status; }
mkdir -p "$T/shared" && chmod 1777 "$T/shared"
fails "a world-writable cache directory is refused" 2 "is writable by everyone \(mode 1777\)" mat5 "$T/shared"
[ "$(stat -c %a "$T/shared")" = 1777 ]
ok $? "and left as it was (not chmod'ed)"
mkdir -p "$T/theirs" && chmod 700 "$T/theirs" && chown nobody "$T/theirs"
fails "a cache directory of another user is refused" 2 "belongs to uid [0-9]+, not to this user" mat5 "$T/theirs"
mkdir -p "$T/real" && ln -s "$T/real" "$T/link"
fails "a symbolic link as the cache directory is refused" 2 "not a directory \(a symbolic link" mat5 "$T/link"
mkdir -p "$T/group" && chmod 770 "$T/group"
fails "a group-writable one too" 2 "writable by its group" mat5 "$T/group"
mkdir -p "$T/mine" && chmod 755 "$T/mine"
mat5 "$T/mine" >/dev/null 2>&1 && [ "$(stat -c %a "$T/mine")" = 700 ]
ok $? "one of ours that others can read is made private"
mat5 "$T/new/deeper/cache" >/dev/null 2>&1 && [ "$(stat -c %a "$T/new/deeper/cache")" = 700 ]
ok $? "a new one is created 0700"

# ---- 6. concurrent syncs and a dead run's late PUT lose nothing ----
"$SWREPART" gen --start 2022-05-30 --days 3 --series 10 --records 10 --window-to 1 "$T/c6" >/dev/null
awscli s3 sync --only-show-errors "$T/c6" s3://cold/ --delete
sync6() { sw --cold-bucket cold --timeseries-type ALL --target-bucket tgtc --cache-dir "$1" sync; }
all_exact6() {
	fetch tgtc || return 1
	for d in "2022 5 30" "2022 5 31" "2022 6 1"; do
		# shellcheck disable=SC2086
		p=$(part $d)
		n=$(find "$T/got-tgtc/consolidated/$p" -type f | wc -l)
		[ "$n" = 1 ] || { echo "$p: $n data objects"; return 1; }
		# shellcheck disable=SC2046
		"$PY" "$AVRO_TOOL" same-records $(find "$T/c6/raw/$p" -name '*.avro' | sort) -- \
			"$T/got-tgtc/consolidated/$p/"*.avro >/dev/null || { echo "$p: records differ"; return 1; }
	done
}
# PUTs slowed down so that the two runs overlap
s3ctl POST fault '{"method":"PUT","path_regex":"^/tgtc/","action":"delay","delay_ms":150,"count":1000}' >/dev/null
sync6 "$T/c6a" >"$T/r1" 2>&1 &
p1=$!
sync6 "$T/c6b" >"$T/r2" 2>&1
r2=$?
wait "$p1"
r1=$?
s3ctl DELETE fault >/dev/null
[ "$r1" = 0 ] && [ "$r2" = 0 ]
ok $? "two syncs of the same days at once both succeed" || sed 's/^/# /' "$T/r1" "$T/r2"
check "every day is published once, with exactly its records" all_exact6
# a later export, then a run killed while its data PUT is held
"$SWREPART" gen --start 2022-05-30 --days 3 --series 10 --records 10 --window-from 2 --window-to 2 "$T/c6" >/dev/null
awscli s3 sync --only-show-errors "$T/c6" s3://cold/
s3ctl POST fault '{"method":"PUT","path_regex":"^/tgtc/consolidated/startYear=2022/startMonth=5/startDay=31/","action":"delay","delay_ms":60000,"count":1}' >/dev/null
sync6 "$T/c6k" >"$T/r3" 2>&1 &
pk=$!
i=0
while [ "$(s3ctl GET inflight | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["delayed"])')" = 0 ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$pk" 2>/dev/null
wait "$pk" 2>/dev/null
# ... a newer export is published meanwhile, then the dead run's PUT lands
"$SWREPART" gen --start 2022-05-30 --days 3 --series 10 --records 10 --window-from 3 --window-to 3 "$T/c6" >/dev/null
awscli s3 sync --only-show-errors "$T/c6" s3://cold/
s3ctl DELETE fault >/dev/null
sync6 "$T/c6a" >"$T/r4" 2>&1
ok $? "a sync after the killed one exits 0" || sed 's/^/# /' "$T/r4"
s3_settle
check "the killed run's late PUT changes nothing: every day exact" all_exact6
sync6 "$T/c6b" >"$T/r5" 2>&1 && grep -q "^3 days: 0 published, 3 unchanged" "$T/r5"
ok $? "and a rerun finds every day unchanged" || sed 's/^/# /' "$T/r5"

# ---- a store without conditional writes: published, with a warning ----
s3ctl POST mode '{"no_conditional_writes": true}' >/dev/null
sw --cold-bucket cold --timeseries-type ALL --target-bucket tgtn --cache-dir "$T/c6a" sync >"$T/n1" 2>&1
st=$?
s3ctl DELETE mode >/dev/null
[ "$st" = 0 ] && [ "$(grep -c "does not support conditional writes" "$T/n1")" = 1 ]
ok $? "without conditional writes: published, warned once" || sed 's/^/# /' "$T/n1"
sw --cold-bucket cold --timeseries-type ALL --target-bucket tgtn --cache-dir "$T/c6b" sync >"$T/n2" 2>&1 &&
	grep -q "^3 days: 0 published, 3 unchanged" "$T/n2"
ok $? "and what it published is whole" || sed 's/^/# /' "$T/n2"

done_testing
