#!/bin/bash
# 68-series-days.sh - one series' days in the mount, for real (FUSE, the
# signature-checking S3 test server, python3-avro reading):
# /series/{id}/YYYY/MM/ lists the days that hold the series; on an empty
# cache its day is built from its own objects only (the GETs counted on the
# server: no other object is read); its records equal that series' records
# in the whole day and its raw inputs; once the whole day is cached a
# series' day is cut from it with no byte written to the cache, and is the
# same bytes as the series' own entry; a day without the series, a
# malformed id and writes are refused; the same over file://.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro
[ -c /dev/fuse ] || skip_all "/dev/fuse is absent"
command -v fusermount3 >/dev/null 2>&1 || skip_all "fusermount3 is not installed (Debian: fuse3)"
[ "$(id -u)" = 0 ] || [ -w /dev/fuse ] || skip_all "/dev/fuse is not usable by this user"
start_s3 cold

C=$T/cold
MP=$T/mnt
CACHE=$T/cache
mkdir -p "$MP"
AT="$PY $top_srcdir/tests/integration/avro_tool.py"
gets() { s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get(sys.argv[1], 0))' "$1"; }
is_mounted() { grep -q " $1 fuse.swrepart " /proc/mounts; }
part() { echo "startYear=$1/startMonth=$((10#$2))/startDay=$((10#$3))"; }
# inputs SERIES Y M D: the series' raw objects of a day, in key order
inputs() { find "$C/raw/$(part "$2" "$3" "$4")" -name "raw_$1_*.avro" | LC_ALL=C sort; }
cache_bytes() { find "$CACHE/days" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

# mount_fg ARGS...: swrepart mount -f in the background, waiting for it.
mount_fg() {
	"$SWREPART" --retry-max-time 10 --timeseries-type ALL --cache-dir "$CACHE" \
		"$@" mount -f "$MP" >>"$T/mount.log" 2>&1 &
	MPID=$!
	PIDS="$PIDS $MPID"
	for _i in $(seq 1 100); do
		is_mounted "$MP" && return 0
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# /' "$T/mount.log" | tail -n 20
	return 1
}
unmount_fg() {
	fusermount3 -u "$MP" 2>/dev/null
	for _i in $(seq 1 100); do
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$MPID" 2>/dev/null
}
trap 'fusermount3 -uz "$MP" 2>/dev/null; cleanup' EXIT

# Three days; the generator's series come and go (--window-to), so some
# series miss some days.
"$SWREPART" gen --start 2022-03-01 --days 3 --series 60 --records 20 \
	--legacy-share 0.5 --disassociated-share 0.2 "$C" >/dev/null
# Two series of the first day; the second one has no object on 03-02.
S=$(find "$C/raw/$(part 2022 03 01)" -name 'raw_*.avro' | sed 's|.*/raw_||; s|_[0-9]*_[A-Z]*\.avro$||' | LC_ALL=C sort -u | head -n 1)
S2=$(find "$C/raw/$(part 2022 03 01)" -name 'raw_*.avro' | sed 's|.*/raw_||; s|_[0-9]*_[A-Z]*\.avro$||' | LC_ALL=C sort -u | sed -n 2p)
[ -n "$S" ] && [ -n "$S2" ] && inputs "$S2" 2022 03 02 | xargs rm -f &&
	[ -z "$(inputs "$S2" 2022 03 02)" ]
ok $? "two series of the first day ($S, $S2); $S2 taken out of 03-02"
# One more object of $S written by another writer (python3-avro, deflate,
# its own sync marker), in $S's bucket: the series' day must hold it too.
dir=$(dirname "$(inputs "$S" 2022 03 01 | head -n 1)")
"$PY" - "$top_srcdir/tests/integration" "$dir/raw_${S}_1646110800_UNCERTAIN.avro" "$S" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import avro.datafile, avro.io, avro.schema, json
from avro_tool import RAWDATUM
schema = avro.schema.parse(json.dumps(RAWDATUM))
w = avro.datafile.DataFileWriter(open(sys.argv[2], "wb"), avro.io.DatumWriter(), schema, codec="deflate")
for i in range(7):
    w.append({"seriesId": sys.argv[3], "timeInSeconds": 1646110800 + i, "offsetInNanos": i,
              "quality": "UNCERTAIN", "doubleValue": i / 3.0, "stringValue": None,
              "integerValue": None, "booleanValue": None, "jsonValue": None, "recordVersion": None})
w.close()
PYEOF
ok $? "python3-avro writes a deflate object of $S"
# And a corrupt object of $S2 on 03-03.
BADKEY=$(dirname "$(inputs "$S2" 2022 03 03 | head -n 1)")/raw_${S2}_1646290800_GOOD.avro
echo "not an Avro file" >"$BADKEY" && BADKEY=${BADKEY#"$C"/}
ok $? "a corrupt object of $S2 on 03-03"
# Names to make path-safe, rewritten into the generator's metadata by
# python: two assets both called "Pump/7", a property called "..", and an
# alias with a blank part and a part that reads like a year.  names.txt:
# the series id, then the paths the rules of mount.swrepart(8) give it,
# computed here independently.
"$PY" - "$C/asset_metadata" >"$T/names.txt" <<'PYEOF'
import glob, json, os, sys
d = sys.argv[1]
files = sorted(glob.glob(os.path.join(d, "asset_*.ndjson")))
def rows(p): return [json.loads(l) for l in open(p) if l.strip()]
def enc(s, year=False):
    if s in (".", ".."): return "%2E" * len(s)
    out = ""
    for i, ch in enumerate(s.encode()):
        if ch in b"%/" or ch < 0x20 or ch == 0x7f or (year and i == 0 and len(s) == 4 and s.isdigit()):
            out += "%%%02X" % ch
        else:
            out += chr(ch)
    return out
picked = []
for p in files[:2]:
    rs = rows(p)
    r = next(x for x in rs if x.get("timeSeriesId"))
    for x in rs: x["assetName"] = "Pump/7"
    if not picked:
        r["assetPropertyName"] = ".."
        r["assetPropertyAlias"] = "/plant 1/2022//temp"
    with open(p, "w") as f:
        for x in rs: f.write(json.dumps(x) + "\n")
    picked.append(r)
for r in picked:
    a = "/assets/%s (%s)/%s" % (enc("Pump/7"), r["assetId"], enc(r["assetPropertyName"]))
    print(r["timeSeriesId"], a, sep="\t")
r = picked[0]
print(r["timeSeriesId"], "/aliases/" + "/".join(enc(x, True) for x in r["assetPropertyAlias"].split("/") if x), sep="\t")
PYEOF
ok $? "two assets renamed Pump/7, a property .., an alias with a year-like part"
check "upload the cold tier" awscli s3 sync --only-show-errors "$C" s3://cold/

check "mount over S3, empty cache" mount_fg --endpoint-url "$S3_URL" --cold-bucket cold

# ---- directories ----
ls "$MP" | grep -qx series && [ -d "$MP/series" ]
ok $? "the root shows series/"
s3ctl DELETE stats >/dev/null   # from here: no metadata read (no catalogue)
for s in "$S" "$S2"; do
	want=$(for d in 01 02 03; do [ -n "$(inputs "$s" 2022 03 $d)" ] && echo "$d.avro"; done)
	got=$(ls "$MP/series/$s/2022/03")
	[ "$got" = "$want" ]
	ok $? "series/$s/2022/03 lists the days that hold it ($(echo $got))"
done

# ---- a series' day on an empty cache: its objects only ----
lists=$(gets ListObjectsV2)
cp "$MP/series/$S/2022/03/01.avro" "$T/own.avro"
ok $? "cp of the series' day"
n=$(inputs "$S" 2022 03 01 | wc -l)
[ "$(gets GetObject)" = "$n" ]
ok $? "listed and built from the series' objects alone: $(gets GetObject) GETs for its $n objects (the day has $(find "$C/raw/$(part 2022 03 01)" -name '*.avro' | wc -l)), no metadata"
[ "$(gets ListObjectsV2)" -le $((lists + 2)) ]
ok $? "the build: $(($(gets ListObjectsV2) - lists)) listing(s)"
# shellcheck disable=SC2046
$AT same-records "$T/own.avro" -- $(inputs "$S" 2022 03 01)
ok $? "its records are the series' inputs' (python3-avro)"
[ "$($AT dump "$T/own.avro" | "$PY" -c 'import json,sys; print(len({json.loads(l)["seriesId"] for l in sys.stdin}))')" = 1 ]
ok $? "and only that series'"
[ "$(stat -c %s "$MP/series/$S/2022/03/01.avro")" = "$(stat -c %s "$T/own.avro")" ]
ok $? "its size is exact once built"

# ---- the whole day, then series' days cut from it ----
cp "$MP/2022/03/01.avro" "$T/whole.avro"
ok $? "cp of the whole day"
$AT dump "$T/whole.avro" | S="$S" "$PY" -c 'import json,os,sys
for l in sys.stdin:
    if json.loads(l)["seriesId"] == os.environ["S"]: sys.stdout.write(l)' >"$T/want.jsonl"
$AT dump "$T/own.avro" >"$T/got.jsonl"
[ -s "$T/want.jsonl" ] && cmp -s "$T/want.jsonl" "$T/got.jsonl"
ok $? "the series' day equals its records in the whole day, record for record, in order"

before=$(cache_bytes)
s3ctl DELETE stats >/dev/null
cp "$MP/series/$S/2022/03/01.avro" "$T/cut.avro" &&
	cat "$MP/series/$S2/2022/03/01.avro" >"$T/cut2.avro"
ok $? "series' days read after the whole day"
[ "$(gets GetObject)" = 0 ] && [ "$(cache_bytes)" = "$before" ]
ok $? "cut from the cached whole day: $(gets GetObject) GETs, cache bytes $before -> $(cache_bytes)"
cmp -s "$T/cut.avro" "$T/own.avro"
ok $? "the cut is the same bytes as the series' own entry"
$AT dump "$T/whole.avro" | S="$S2" "$PY" -c 'import json,os,sys
for l in sys.stdin:
    if json.loads(l)["seriesId"] == os.environ["S"]: sys.stdout.write(l)' >"$T/want2.jsonl"
$AT dump "$T/cut2.avro" >"$T/got2.jsonl"
[ -s "$T/want2.jsonl" ] && cmp -s "$T/want2.jsonl" "$T/got2.jsonl"
ok $? "another series cut from the whole day equals its records there"
"$PY" - "$MP/series/$S2/2022/03/01.avro" "$T/cut2.avro" <<'EOF'
import mmap, sys
# reads at odd offsets and lengths across the pieces equal the file's bytes
a = open(sys.argv[2], "rb").read()
with open(sys.argv[1], "rb") as f:
    for off, n in [(0, 1), (3, 7), (100, 4096), (len(a) - 5, 100), (17, len(a))]:
        f.seek(off)
        if f.read(n) != a[off:off + n]:
            sys.exit("differs at %d+%d" % (off, n))
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    if m[:] != a:
        sys.exit("mmap differs")
EOF
ok $? "reads at odd offsets and mmap of a cut day equal its bytes"

# ---- the catalogue and the friendly paths ----
"$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold --timeseries-type ALL \
	--cache-dir "$T/cache-cli" --catalog-list-timeseries off series --format csv >"$T/series.csv" &&
	cmp -s "$MP/series.csv" "$T/series.csv"
ok $? "/series.csv is the catalogue that swrepart series prints"
"$PY" -c '
import csv, json, sys
a = list(csv.DictReader(open(sys.argv[1])))
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) > 0, (len(a), len(b))
for x, y in zip(a, b):
    assert x["timeSeriesId"] == y["timeSeriesId"] and (x["assetName"] or None) == y["assetName"], (x, y)
' "$MP/series.csv" "$MP/series.ndjson"
ok $? "/series.ndjson holds the same rows (python reads both)"
[ "$(ls "$MP/series" | wc -l)" = "$(($(wc -l <"$T/series.csv") - 1))" ]
ok $? "/series lists every series of the catalogue ($(ls "$MP/series" | wc -l))"
while IFS=$(printf '\t') read -r id path; do
	d=$(ls "$MP$path/2022/03" 2>/dev/null | head -n 1)
	[ -n "$d" ] && cmp -s "$MP$path/2022/03/$d" "$MP/series/$id/2022/03/$d"
	ok $? "$path/2022/03/$d is series $id's day"
done <"$T/names.txt"
ls "$MP/assets" | grep -c '^Pump%2F7 (' | grep -qx 2
ok $? "two assets of one name: each with its id"
[ ! -e "$MP/assets/Pump%2F7" ] && [ ! -e "$MP/aliases/plant 1/2022" ] && [ -d "$MP/aliases/plant 1/%32022" ]
ok $? "and no ambiguous path"
! ls "$MP/assets/Nowhere" >/dev/null 2>&1
ok $? "an unknown asset: ENOENT"

# ---- the aggregates: the same tree under /agg ----
ainputs() { find "$C/agg/$(part "$2" "$3" "$4")" -name "agg_$1_*.avro" | LC_ALL=C sort; }
ls "$MP" | grep -qx agg && [ "$(ls "$MP/agg/2022/03" | grep -c '\.avro$')" = 3 ]
ok $? "the root shows agg/, its month the three days"
s3ctl DELETE stats >/dev/null
cp "$MP/agg/series/$S/2022/03/01.avro" "$T/agg-own.avro"
n=$(ainputs "$S" 2022 03 01 | wc -l)
# shellcheck disable=SC2046
[ "$n" -gt 0 ] && [ "$(gets GetObject)" = "$n" ] &&
	$AT same-records "$T/agg-own.avro" -- $(ainputs "$S" 2022 03 01) >/dev/null
ok $? "agg/series/ID/...: the series' aggregates from its $n agg objects alone ($(gets GetObject) GETs), equal to them"
# shellcheck disable=SC2046
cp "$MP/agg/2022/03/01.avro" "$T/agg-whole.avro" &&
	$AT same-records "$T/agg-whole.avro" -- $(find "$C/agg/$(part 2022 03 01)" -name '*.avro') >/dev/null
ok $? "agg/2022/03/01.avro: the day's aggregates, equal to its agg objects"
cmp -s "$MP/agg/series/$S/2022/03/01.avro" "$T/agg-own.avro"
ok $? "the series' aggregates cut from the whole aggregate day: the same bytes"
! [ -e "$MP/agg/agg" ] && ! [ -e "$MP/agg/series.csv" ]
ok $? "no /agg/agg, no /agg/series.csv"
IFS=$(printf '\t') read -r id path <"$T/names.txt"
cmp -s "$MP/agg$path/2022/03/01.avro" "$MP/agg/series/$id/2022/03/01.avro" &&
	[ "$($AT count "$MP/agg$path/2022/03/01.avro")" -gt 0 ]
ok $? "/agg$path/2022/03/01.avro is series $id's aggregates"

# ---- refusals ----
for i in 1 2; do
	! cat "$MP/series/$S2/2022/03/03.avro" >/dev/null 2>"$T/err$i" && grep -q "Input/output error" "$T/err$i"
	ok $? "a series' day with a corrupt object: EIO (read $i: nothing cached as complete)"
done
grep -q "of series $S2: cannot materialize the day: .*$BADKEY" "$T/mount.log"
ok $? "and the log names the day, the series and the key"
! cat "$MP/series/$S2/2022/03/02.avro" >/dev/null 2>"$T/err" && grep -q "No such file" "$T/err"
ok $? "a day without the series: ENOENT"
! ls "$MP/series/not-a-series/2022" >/dev/null 2>&1
ok $? "a malformed id: ENOENT"
! sh -c ": >>'$MP/series/$S/2022/03/01.avro'" 2>/dev/null
ok $? "writes are refused"
[ ! -e "$MP/series/$S/2022/03/01.timeseries.txt" ]
ok $? "a series' day has no timeseries.txt"

unmount_fg
! is_mounted "$MP"
ok $? "unmounted"

# ---- file://, a fresh cache ----
rm -rf "$CACHE"
check "mount over file://" mount_fg --cold-bucket "file://$C"
cp "$MP/series/$S/2022/03/01.avro" "$T/file.avro" && $AT dump "$T/file.avro" | cmp -s - "$T/got.jsonl"
ok $? "the series' day over file:// has the same records (another source: another sync marker)"
unmount_fg
done_testing
