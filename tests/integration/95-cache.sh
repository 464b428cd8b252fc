#!/bin/bash
# 95-cache.sh - `swrepart cache status|prune|verify` and the states of
# `swrepart ls` (cold, cached, stale, published), over file:// stores.
. "${top_srcdir:-.}/tests/integration/lib.sh"

C=$T/cold
"$SWREPART" gen --start 2022-05-30 --days 3 --series 12 --records 40 "$C" >/dev/null
SW() { "$SWREPART" --cold-bucket "file://$C" --timeseries-type ALL --cache-dir "$T/cache" \
	--target-bucket "file://$T/tgt" "$@"; }
mkdir -p "$T/tgt"
state() { SW ls | awk -v d="$1" '$1 == d {print $NF}'; }

[ "$(state 2022-05-30)" = cold ]
ok $? "ls: a day in the cold tier only is cold"
SW materialize --from 2022-05-30 --to 2022-05-31 >/dev/null 2>&1
[ "$(state 2022-05-30)" = cached ] && [ "$(state 2022-06-01)" = cold ]
ok $? "ls: materialized days are cached"
"$SWREPART" gen --start 2022-05-30 --days 1 --series 13 --records 40 "$C" >/dev/null
[ "$(state 2022-05-30)" = stale ] && [ "$(state 2022-05-31)" = cached ]
ok $? "ls: a day that gained objects since it was cached is stale"
SW sync --from 2022-05-31 --to 2022-05-31 >/dev/null 2>&1
[ "$(state 2022-05-31)" = cached,published ] && [ "$(state 2022-05-30)" = stale ]
ok $? "ls: a day with a manifest in the target is published"

SW cache status >"$T/st" 2>&1
grep -q "^cache $T/cache: 2 days, " "$T/st" && grep -q "^2022-05-30 " "$T/st" && grep -q "days built or extended 0" "$T/st"
ok $? "cache status: size, days and counters" || sed 's/^/# /' "$T/st"
SW cache verify >"$T/v1" 2>&1
ok $? "cache verify of a sound cache exits 0"
grep -q "^2 days checked, 0 damaged" "$T/v1"
ok $? "and says so"
f=$(ls "$T"/cache/days/*/2022/05/31.*.avro)
printf 'XXXXXXXX' | dd of="$f" bs=1 seek=3000 conv=notrunc 2>/dev/null
fails "cache verify names a damaged day and exits 1" 1 "^2022-05-31: damaged: .*dropped" SW cache verify
[ "$(state 2022-05-31)" = cold,published ] && [ ! -e "$f" ]
ok $? "the damaged day is dropped"
SW materialize >/dev/null 2>&1
s=$(stat -c %s "$(ls "$T"/cache/days/*/2022/05/30.*.avro)")
touch "$T/x"
SW cache prune --max-size "$((s * 2 + s / 2))" >"$T/p1" 2>&1
ok $? "cache prune --max-size exits 0"
[ "$(grep -c ': evicted' "$T/p1")" = 1 ] && grep -q "1 day evicted" "$T/p1"
ok $? "and evicts the least recently read day until the cache fits" || sed 's/^/# /' "$T/p1"
SW cache prune --older-than 0s >"$T/p2" 2>&1
grep -q "2 days evicted" "$T/p2" && [ -z "$(ls "$T"/cache/days/*/*/*/*.avro 2>/dev/null)" ]
ok $? "cache prune --older-than 0s evicts every day and its files"
fails "prune without a bound: exit 2" 2 "needs --max-size or --older-than" SW cache prune
fails "an unknown subcommand: exit 2" 2 "status, prune, verify" SW cache frob
fails "a bad age: exit 2" 2 "give an age" SW cache prune --older-than soon
# An index of an older schema (version 2: no listing tables, no byte
# ranges of objects, no digests of day files) is brought to version 4,
# keeping its days; a day it built is built anew on its next use.
SW materialize --from 2022-05-30 --to 2022-05-30 >/dev/null 2>&1
"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript("DROP TABLE listing; DROP TABLE day_access; DROP TABLE counter; ALTER TABLE day_object DROP COLUMN off; ALTER TABLE day_object DROP COLUMN len; ALTER TABLE day_object DROP COLUMN records; ALTER TABLE day DROP COLUMN md5; PRAGMA user_version=2;")' "$T/cache/index.sqlite"
SW cache status >"$T/st2" 2>&1 && grep -q "1 day," "$T/st2" &&
	[ "$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$T/cache/index.sqlite")" = 5 ]
ok $? "an index of schema 2 is brought to schema 5, keeping its days" || sed 's/^/# /' "$T/st2"
SW materialize --from 2022-05-30 --to 2022-05-30 >"$T/st3" 2>&1 &&
	grep -q "predates per-object ranges" "$T/st3" && grep -q "1 built" "$T/st3"
ok $? "and a day of the older index is built anew on its next use" || sed 's/^/# /' "$T/st3"
SW materialize --from 2022-05-30 --to 2022-05-30 >"$T/st4" 2>&1 &&
	grep -q "1 up to date" "$T/st4"
ok $? "then it is up to date" || sed 's/^/# /' "$T/st4"
[ "$(stat -c %a "$T/cache")" = 700 ]
ok $? "the cache stays private"

# A build in progress, as another process publishes it (the writer side,
# live, is in 90-mount.sh): ls and cache status show its figures; one
# whose process is gone is ignored.
src=$(basename "$(dirname "$(dirname "$(dirname "$(ls "$T"/cache/days/*/2022/05/30.*.avro)")")")")
mkdir -p "$T/cache/progress"
sleep 60 &
live=$!
PIDS="$PIDS $live"
now=$(date +%s)
printf '1 %s %s 2022-05-31 fetching 1234 5018 1048576 %s %s\n' "$live" "$src" "$((now - 12))" "$now" >"$T/cache/progress/$src-2022-05-31"
sh -c 'exit 0' & dead=$!; wait "$dead"
printf '1 %s %s 2022-06-01 merging 3 9 0 %s %s\n' "$dead" "$src" "$now" "$now" >"$T/cache/progress/$src-2022-06-01"
SW ls >"$T/ls.b" 2>&1
grep -q "^2022-05-31 .*  building 1,234/5,018 objects (fetching, 1.0 MiB),published$" "$T/ls.b" &&
	grep -q "^2022-06-01 .*  cold$" "$T/ls.b"
ok $? "ls: a day being built shows 'building 1,234/5,018 objects'; a dead builder's day does not" || sed 's/^/# /' "$T/ls.b"
SW cache status >"$T/st.b" 2>&1
grep -q "^cache $T/cache: 1 day, .*; 1 being built$" "$T/st.b" &&
	grep -Eq "^2022-05-31  building 1,234/5,018 objects \(fetching, 1.0 MiB\), for 1[2-9] s, pid $live, file://$C" "$T/st.b" &&
	! grep -q "2022-06-01" "$T/st.b"
ok $? "cache status: the builds in progress, with their pid and source" || sed 's/^/# /' "$T/st.b"
kill "$live"

done_testing
