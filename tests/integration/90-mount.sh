#!/bin/bash
# 90-mount.sh - the FUSE mount, for real (root and /dev/fuse), over the
# signature-checking S3 test server and over file://: the tree, lazy
# single-flight builds, exact records through python3-avro, cp / cat /
# mmap byte-identical to the cache file, refresh of a day that grows (an
# open file keeps its version), EROFS, EIO and a log line for a corrupt
# day while others work, eviction under cache.max_size, kill -9 then a
# remount that reuses the cache, clean unmounts, mount.swrepart and
# mount -t swrepart with fstab words; a build's progress seen from
# another process (ls, cache status, an xattr, the progress file) and
# the start and end lines of the log; listxattr names only what getxattr
# answers; -o exact_size and tar; the messages for a non-root user, a
# non-empty mount point, mount.swrepart --help; the journal under systemd.
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
# Days young enough to grow: today and yesterday (UTC).
D1=$(date -u -d yesterday +%Y-%m-%d)
D2=$(date -u +%Y-%m-%d)
Y=${D1%%-*} M1=$(echo "$D1" | cut -d- -f2) DD1=${D1##*-} DD2=${D2##*-} M2=$(echo "$D2" | cut -d- -f2) Y2=${D2%%-*}
G="--start $D1 --days 2 --records 60 --deflate-share 0.1 --variant-share 0.1 --bad-share 0.2"
part() { echo "startYear=$1/startMonth=$((10#$2))/startDay=$((10#$3))"; }
inputs() { find "$C/raw/$(part "$1" "$2" "$3")" -name '*.avro' | sort; }
series_of() { inputs "$@" | sed 's|.*/raw_||; s|_[0-9]*_[A-Z]*\.avro$||' | sort -u; }
gets() { s3ctl GET stats | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["byOperation"].get(sys.argv[1], 0))' "$1"; }
cachefile() { ls "$CACHE"/days/*/"$1"/"$2"/"$3".*.avro 2>/dev/null | awk -F. '{print $(NF-1), $0}' | sort -n | tail -n 1 | cut -d' ' -f2-; }
is_mounted() { grep -q " $1 fuse.swrepart " /proc/mounts; }
xattr() { "$PY" -c 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$1" "$2" 2>/dev/null; }

# mount_fg [ARGS...]: swrepart mount -f in the background (its own PID in
# MPID, its log in $T/mount.log), waiting until the mount is there.
mount_fg() {
	"$SWREPART" --endpoint-url "$S3_URL" --retry-max-time 10 --cold-bucket cold \
		--timeseries-type ALL --cache-dir "$CACHE" mount -f "$@" "$MP" >>"$T/mount.log" 2>&1 &
	MPID=$!
	PIDS="$PIDS $MPID"
	for _i in $(seq 1 100); do
		is_mounted "$MP" && return 0
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# the mount did not come up:"
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
# Whatever happens, leave no mount behind.
trap 'fusermount3 -uz "$MP" 2>/dev/null; fusermount3 -uz "$T/mnt2" 2>/dev/null; fusermount3 -uz "$T/ne" 2>/dev/null; cleanup' EXIT

# shellcheck disable=SC2086
"$SWREPART" gen $G --series 30 --window-to 1 "$C" >/dev/null
check "upload the cold tier" awscli s3 sync --only-show-errors "$C" s3://cold/
s3ctl DELETE stats >/dev/null
check "swrepart mount -f mounts" mount_fg -o mount.refresh_interval=2,mount.dir_ttl=1

# ---- the tree, without reading any object ----
! grep -q " $MP fuse.swrepart .*allow_other" /proc/mounts
ok $? "no allow_other unless asked"
[ "$(ls "$MP" | grep -E '^[0-9]{4}$')" = "$(ls "$C/raw" | sed 's/startYear=//' | sort)" ] &&
	[ "$(ls "$MP/$Y")" = "$(ls "$C/raw/startYear=$Y" | sed 's/startMonth=//' | xargs printf '%02d\n' | sort)" ]
ok $? "/ lists the years, /YYYY the zero-padded months"
ls "$MP/$Y/$M1" >"$T/ls1"
grep -qx "$DD1.avro" "$T/ls1" && grep -qx "$DD1.timeseries.txt" "$T/ls1"
ok $? "a month lists DD.avro and DD.timeseries.txt"
ls -lR "$MP/$Y" >/dev/null && ls -l "$MP" >/dev/null
[ "$(gets GetObject)" = 0 ]
ok $? "ls -lR of the days, ls -l of the root read no object ($(gets GetObject) GETs)"
[ "$(stat -c %s "$MP/$Y/$M1/$DD1.avro")" = 0 ] && [ "$(xattr "$MP/$Y/$M1/$DD1.avro" user.swrepart.state)" = cold ]
ok $? "an unbuilt day shows size 0 and state cold"
fails "a name that is no day: ENOENT" 2 "No such file" ls "$MP/$Y/$M1/32.avro"

# ---- 8 readers of one cold day: one build ----
F1=$MP/$Y/$M1/$DD1.avro
nobj=$(inputs "$Y" "$M1" "$DD1" | wc -l)
for i in 1 2 3 4 5 6 7 8; do
	cat "$F1" >"$T/r$i.avro" &
	eval "rp$i=\$!"
done
st=0
for i in 1 2 3 4 5 6 7 8; do eval "wait \$rp$i" || st=1; done
[ "$st" = 0 ]
ok $? "8 concurrent readers of a cold day all succeed"
[ "$(gets GetObject)" = "$nobj" ] && [ "$(grep -c "$D1: materialized" "$T/mount.log")" = 1 ]
ok $? "and cause one materialization ($(gets GetObject) GETs for $nobj objects)"
cf=$(cachefile "$Y" "$M1" "$DD1")
st=0
for i in 1 2 3 4 5 6 7 8; do cmp -s "$T/r$i.avro" "$cf" || st=1; done
[ "$st" = 0 ]
ok $? "each got the whole day, byte-identical to the cache file"
[ "$(stat -c %s "$F1")" = "$(stat -c %s "$cf")" ]
ok $? "stat gives the exact size once built"
# shellcheck disable=SC2046
check "python3-avro reads the day through the mount: exactly its records" \
	"$PY" "$AVRO_TOOL" same-records $(inputs "$Y" "$M1" "$DD1") -- "$F1"
cp "$F1" "$T/cp.avro"
cmp -s "$T/cp.avro" "$cf" && cat "$F1" | cmp -s - "$cf"
ok $? "cp and cat give the cache file's bytes"
check "DD.timeseries.txt lists the day's series" diff <(series_of "$Y" "$M1" "$DD1") "$MP/$Y/$M1/$DD1.timeseries.txt"
[ "$(xattr "$F1" user.swrepart.state)" = cached ] && [ "$(xattr "$F1" user.swrepart.objects)" = "$nobj" ] &&
	[ -n "$(xattr "$F1" user.swrepart.built)" ]
ok $? "extended attributes: state cached, the objects merged, when built"

# ---- read-only ----
fails "writing a day: EROFS" 2 "Read-only file system" sh -c "echo x >>'$F1'"
fails "creating a file: EROFS" 1 "Read-only file system" touch "$MP/$Y/new"
fails "mkdir: EROFS" 1 "Read-only file system" mkdir "$MP/$Y/d"
fails "rm: EROFS" 1 "Read-only file system" rm -f "$F1"
fails "mv: EROFS" 1 "Read-only file system" mv "$F1" "$MP/$Y/x.avro"

# ---- a day that grows: the refresh, and an open file keeps its version ----
exec 7<"$F1"
old_md5=$(md5sum <"$cf" | cut -d' ' -f1)
# shellcheck disable=SC2086
"$SWREPART" gen $G --series 32 "$T/full" >/dev/null
awscli s3 sync --only-show-errors "$T/full" s3://cold/
rm -rf "$C"; cp -a "$T/full" "$C"
sleep 2.5
# shellcheck disable=SC2046
check "after the refresh interval, a new open sees the late windows and new series" \
	"$PY" "$AVRO_TOOL" same-records $(inputs "$Y" "$M1" "$DD1") -- "$F1"
[ "$(md5sum <&7 | cut -d' ' -f1)" = "$old_md5" ]
ok $? "while a reader that had the file open still reads the old version"
exec 7<&-
grep -q "$D1: extended with" "$T/mount.log"
ok $? "the log says the day was extended"

# ---- a corrupt day: EIO and one log line; the others keep working ----
F2=$MP/$Y2/$M2/$DD2.avro
bad=$(cd "$C" && find "raw/$(part "$Y2" "$M2" "$DD2")" -name '*.avro' | sort | head -n 1)
head -c 100 "$C/$bad" >"$T/trunc.avro"
awscli s3 cp --only-show-errors "$T/trunc.avro" "s3://cold/$bad"
fails "a day with a truncated object: EIO" 1 "Input/output error" cat "$F2"
grep -q "$D2: cannot materialize the day: .*$bad" "$T/mount.log"
ok $? "and one log line naming the day and the object"
[ "$(xattr "$F2" user.swrepart.state)" = failed ] && xattr "$F2" user.swrepart.error | grep -q "$bad"
ok $? "state failed, with the error as an attribute"
walk_xattrs() {
	"$PY" - "$1" <<'EOF'
import os, sys
n = 0
for root, dirs, files in os.walk(sys.argv[1]):
    for p in [root] + [os.path.join(root, f) for f in files]:
        {k: os.getxattr(p, k) for k in os.listxattr(p)}
        n += 1
print(n, "paths")
EOF
}
check "listxattr names only what getxattr answers, on every path (cold, cached, failed days)" walk_xattrs "$MP"
[ "$("$PY" -c 'import os,sys; print(" ".join(sorted(os.listxattr(sys.argv[1]))))' "$MP/$Y/$M1/$DD1.timeseries.txt")" = \
	"user.swrepart.built user.swrepart.generation user.swrepart.objects user.swrepart.records user.swrepart.series user.swrepart.size user.swrepart.state" ]
ok $? "a cached day lists its figures, and neither error nor progress"
cat "$F1" >/dev/null
ok $? "the other day still reads"
# Readers that wait for the same failing build share its failure: one
# build, one log line (a GET of the day held 1.5 s makes them meet).
n0=$(grep -c "$D2: cannot materialize the day" "$T/mount.log")
s3ctl POST fault '{"method":"GET","path_regex":"startDay(=|%3D)'"$((10#$DD2))"'/.*raw_","action":"delay","delay_ms":1500,"count":1}' >/dev/null
for i in 1 2 3 4; do cat "$F2" >/dev/null 2>&1 & eval "fp$i=\$!"; done
st=0
for i in 1 2 3 4; do eval "wait \$fp$i" && st=1; done
s3ctl DELETE fault >/dev/null
[ "$st" = 0 ] && [ "$(grep -c "$D2: cannot materialize the day" "$T/mount.log")" = $((n0 + 1)) ]
ok $? "4 readers of a failing day: all get EIO, from one build logged once ($(($(grep -c "$D2: cannot materialize the day" "$T/mount.log") - n0)) lines)"
awscli s3 cp --only-show-errors "$C/$bad" "s3://cold/$bad"
# shellcheck disable=SC2046
check "once the object is repaired, the next open builds the day" \
	"$PY" "$AVRO_TOOL" same-records $(inputs "$Y2" "$M2" "$DD2") -- "$F2"

# ---- a stuck request wedges nothing; a new day appears after dir_ttl ----
D3=$(date -u -d tomorrow +%Y-%m-%d)
"$SWREPART" gen --start "$D3" --days 1 --series 5 --records 20 "$T/day3" >/dev/null
awscli s3 sync --only-show-errors "$T/day3" s3://cold/
cp -a "$T/day3/." "$C/"
sleep 1.2
Y3=${D3%%-*} M3=$(echo "$D3" | cut -d- -f2) DD3=${D3##*-}
ls "$MP/$Y3/$M3" 2>/dev/null | grep -qx "$DD3.avro"
ok $? "a day exported after the mount appears once the listing expires (mount.dir_ttl)"
s3ctl POST fault '{"method":"GET","path_regex":"startDay(=|%3D)'"$((10#$DD3))"'/.*raw_","action":"delay","delay_ms":6000,"count":1}' >/dev/null
cat "$MP/$Y3/$M3/$DD3.avro" >"$T/slow.avro" 2>/dev/null &
slow=$!
sleep 0.5
t0=$(date +%s.%N)
ls -l "$MP/$Y/$M1" >/dev/null && cat "$F1" >/dev/null && getfattr_state=$(xattr "$MP/$Y3/$M3/$DD3.avro" user.swrepart.state)
t1=$(date +%s.%N)
fast=$("$PY" -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]) < 3)' "$t0" "$t1")
# The build's progress, from other processes, while one GET is delayed.
pf=$CACHE/progress/$(basename "$(dirname "$(dirname "$(dirname "$(cachefile "$Y" "$M1" "$DD1")")")")")-$D3
for _i in $(seq 1 40); do [ -s "$pf" ] && break; sleep 0.1; done
[ "$(stat -c %a "$pf" 2>/dev/null)" = 600 ] && [ "$(stat -c %a "$CACHE/progress")" = 700 ]
ok $? "a build in progress publishes its state in the cache, privately ($pf)" && pf_seen=1
"$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold --timeseries-type ALL --cache-dir "$CACHE" \
	ls --from "$D3" --to "$D3" >"$T/ls.live" 2>&1
grep -Eq "^$D3 .* building [0-9,]+/[0-9,]+ objects \(fetching" "$T/ls.live"
ok $? "swrepart ls shows the mount's build: building N/M objects" || sed 's/^/# /' "$T/ls.live"
"$SWREPART" --cache-dir "$CACHE" cache status >"$T/st.live" 2>&1
grep -q "; 1 being built" "$T/st.live" && grep -Eq "^$D3  building [0-9,]+/[0-9,]+ objects .*pid $MPID, " "$T/st.live"
ok $? "swrepart cache status shows it, with the mount's pid" || sed 's/^/# /' "$T/st.live"
xattr "$MP/$Y3/$M3/$DD3.avro" user.swrepart.progress | grep -Eq "^building [0-9,]+/[0-9,]+ objects"
ok $? "and so does user.swrepart.progress: $(xattr "$MP/$Y3/$M3/$DD3.avro" user.swrepart.progress)"
wait "$slow"
st=$?
[ "$fast" = True ] && [ "$getfattr_state" = building ] && [ "$st" = 0 ]
ok $? "while a request of one day's build is stuck, the mount answers (listing, another day, its state: $getfattr_state)"
s3ctl DELETE fault >/dev/null
# shellcheck disable=SC2046
check "and the slow day arrives whole" "$PY" "$AVRO_TOOL" same-records $(inputs "$Y3" "$M3" "$DD3") -- "$T/slow.avro"
[ -n "${pf_seen:-}" ] && [ ! -e "$pf" ] && "$PY" -c 'import os,sys; sys.exit("user.swrepart.progress" in os.listxattr(sys.argv[1]))' "$MP/$Y3/$M3/$DD3.avro" &&
	! "$SWREPART" --cache-dir "$CACHE" cache status 2>&1 | grep -q "being built"
ok $? "once built, the progress is gone"
ts='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z '
grep -Eq "$ts.*$D3: materializing the day" "$T/mount.log" && grep -Eq "$ts.*$D3: materialized from" "$T/mount.log"
ok $? "the foreground log has a timed line at the start and at the end of the build"

# ---- already mounted; kill -9; remount reuses the cache ----
fails "a mount point already mounted is refused" 2 "already a mount point" \
	"$SWREPART" --cold-bucket cold --cache-dir "$CACHE" mount -f "$MP"
kill -9 "$MPID"
wait "$MPID" 2>/dev/null
fails "after kill -9: the dead mount is named, with the fix" 2 "fusermount3 -u" \
	"$SWREPART" --cold-bucket cold --cache-dir "$CACHE" mount -f "$MP"
fusermount3 -u "$MP"
s3ctl DELETE stats >/dev/null
check "remount after kill -9" mount_fg -o mount.refresh_interval=3600
cmp -s "$F1" "$(cachefile "$Y" "$M1" "$DD1")" && [ "$(gets GetObject)" = 0 ]
ok $? "the remount reuses the cached day ($(gets GetObject) GETs)"
unmount_fg
# A damaged cached day (one flipped bit) is built anew, never served.
flip_bit "$(cachefile "$Y" "$M1" "$DD1")" 2 0x04
check "remount over a damaged cached day" mount_fg -o mount.refresh_interval=3600
# shellcheck disable=SC2046
"$PY" "$AVRO_TOOL" same-records $(inputs "$Y" "$M1" "$DD1") -- "$F1" >/dev/null 2>&1 &&
	grep -q "is damaged (MD5 .*building the day anew" "$T/mount.log"
ok $? "the damaged day is built anew, with exactly its records, and the log says so" || tail -n 5 "$T/mount.log" | sed 's/^/# /'
unmount_fg
# A settled day (settle time 0: yesterday has ended) is cached by the
# kernel, and mmap works.
# As root on a kernel with FUSE passthrough, the kernel reads it from the
# cache file itself; -o nopassthrough (or no passthrough) through the
# daemon: the same bytes either way.
: >"$T/mount.log"
check "remount with days settled" mount_fg -v -o mount.settle_time=0,mount.refresh_interval=3600
cat "$F1" >/dev/null
"$PY" -c 'import mmap,sys; f=open(sys.argv[1],"rb"); m=mmap.mmap(f.fileno(),0,access=mmap.ACCESS_READ); open(sys.argv[2],"wb").write(m[:])' "$F1" "$T/mmap.avro"
cmp -s "$T/mmap.avro" "$(cachefile "$Y" "$M1" "$DD1")" && cp "$F1" "$T/cp2.avro" && cmp -s "$T/cp2.avro" "$T/mmap.avro"
ok $? "mmap and cp of a settled day give the cache file's bytes"
passthrough=no
grep -q "passthrough: the kernel reads settled cached days" "$T/mount.log" && passthrough=yes
if [ "$(id -u)" = 0 ]; then
	[ $passthrough = yes ] || grep -q "the kernel offers no FUSE passthrough" "$T/mount.log"
	ok $? "as root, the log says whether the kernel reads cached days itself (passthrough: $passthrough)"
else
	[ $passthrough = no ]
	ok $? "not root: no passthrough (the daemon may not give the kernel backing files)"
fi
rpids=""
for i in 1 2 3 4 5 6 7 8; do cat "$F1" >"$T/p$i.avro" & rpids="$rpids $!"; done
# shellcheck disable=SC2086
wait $rpids
st=0
for i in 1 2 3 4 5 6 7 8; do cmp -s "$T/p$i.avro" "$T/mmap.avro" || st=1; done
[ "$st" = 0 ]
ok $? "8 readers of the settled day at once each get its bytes (passthrough: $passthrough)"
exec 7<"$F1"
diff <(series_of "$Y" "$M1" "$DD1") "$MP/$Y/$M1/$DD1.timeseries.txt" >/dev/null &&
	cmp -s - "$T/mmap.avro" <"$F1" && cmp -s - "$T/mmap.avro" <&7
ok $? "while a settled day is open, its index and a second open read right"
# Evicted and built again while open: the kernel holds the old cache file
# for the path; the new one has the same bytes, so a new open joins it.
if [ $passthrough = yes ]; then
	exec 8<"$F1"
	"$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold --timeseries-type ALL --cache-dir "$CACHE" \
		cache prune --max-size 1 >"$T/prune.out" 2>&1
	st1=$? st2=$(xattr "$F1" user.swrepart.state)
	cmp -s "$F1" "$T/mmap.avro"; st3=$?
	cmp -s - "$T/mmap.avro" <&8; st4=$?
	exec 8<&-
	[ "$st1$st2$st3$st4" = 0cold00 ]
	ok $? "a day evicted and built again alike while open: a new open reads (the same bytes)" ||
		{ echo "# prune $st1, state $st2, cmp new $st3, cmp old $st4"; sed 's/^/# /' "$T/prune.out"; tail -n 3 "$T/mount.log" | sed 's/^/# /'; }
else
	ok 0 "# SKIP a day built again while open: no passthrough"
fi
exec 7<&-
unmount_fg
: >"$T/mount.log"
check "remount with -o nopassthrough" mount_fg -v -o nopassthrough,mount.settle_time=0,mount.refresh_interval=3600
cat "$F1" >/dev/null
cmp -s "$F1" "$T/mmap.avro" && cmp -s "$F1" "$T/mmap.avro" &&
	! grep -q "passthrough: the kernel reads" "$T/mount.log"
ok $? "-o nopassthrough: the daemon answers the reads, the same bytes (read twice: the kernel's pages)"

# ---- SIGTERM unmounts cleanly ----
kill -TERM "$MPID"
wait "$MPID"
st=$?
[ "$st" = 0 ] && ! is_mounted "$MP" && ls "$MP" >/dev/null 2>&1
ok $? "SIGTERM: exit 0, unmounted, no dead mount left (exit $st)"

# ---- -d: libfuse's trace of every request, in the foreground ----
"$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold --timeseries-type ALL --cache-dir "$CACHE" \
	mount -d "$MP" >"$T/debug.log" 2>&1 &
dpid=$!
PIDS="$PIDS $dpid"
for _i in $(seq 1 100); do is_mounted "$MP" && break; sleep 0.1; done
ls "$MP" >/dev/null
fusermount3 -u "$MP"
wait "$dpid"
grep -q "fuse: .*LOOKUP\|fuse: .*opcode\|fuse: .*unique:" "$T/debug.log"
ok $? "mount -d logs libfuse's requests" || tail -n 5 "$T/debug.log" | sed 's/^/# /'

# ---- eviction under a small cache.max_size ----
s1=$(stat -c %s "$(cachefile "$Y" "$M1" "$DD1")")
check "mount with cache.max_size below two days" mount_fg -o "cache.max_size=$((s1 + s1 / 2)),allow_other"
grep -q " $MP fuse.swrepart .*allow_other" /proc/mounts
ok $? "allow_other when asked"
[ "$(xattr "$F1" user.swrepart.state)" = cached ] && [ "$(xattr "$F2" user.swrepart.state)" = cold ]
ok $? "at mount, the cache is brought within the bound: the least recently read day goes"
cat "$F2" >/dev/null
[ "$(xattr "$F2" user.swrepart.state)" = cached ] && [ "$(xattr "$F1" user.swrepart.state)" = cold ]
ok $? "reading the evicted day rebuilds it, and evicts the other"
cat "$F1" >"$T/again.avro"
cmp -s "$T/again.avro" "$(cachefile "$Y" "$M1" "$DD1")" && [ "$(xattr "$F1" user.swrepart.state)" = cached ]
ok $? "which rebuilds in turn, with the same bytes"
unmount_fg
! is_mounted "$MP" && ! kill -0 "$MPID" 2>/dev/null
ok $? "fusermount3 -u: the daemon exits and the mount is gone"

# ---- mount.swrepart, daemonized, with fstab words ----
ln -sf "$SWREPART" "$T/mount.swrepart"
"$T/mount.swrepart" s3://cold/ "$MP" -o "endpoint-url=$S3_URL,cache.dir=$CACHE,timeseries_type=ALL,_netdev,nofail,noauto,x-systemd.automount,rw" >"$T/helper.log" 2>&1
st=$?
[ "$st" = 0 ] && is_mounted "$MP"
ok $? "mount.swrepart SOURCE DIR -o settings,fstab words: mounted in the background" || sed 's/^/# /' "$T/helper.log"
dpid=$(pgrep -f "mount.swrepart s3://cold/ $MP" | head -n 1)
cmp -s "$F1" "$(cachefile "$Y" "$M1" "$DD1")"
ok $? "and serves the days"
fails "an unknown mount word is refused" 2 "unknown mount option 'bogus'" \
	"$T/mount.swrepart" s3://cold/ "$T/mnt2" -o bogus
umount "$MP"
for _i in $(seq 1 50); do [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
! is_mounted "$MP" && { [ -z "$dpid" ] || ! kill -0 "$dpid" 2>/dev/null || grep -q '^State:.*Z' "/proc/$dpid/status"; }
ok $? "umount ends the daemon"

# ---- mount -t swrepart, through mount(8) ----
if [ ! -e /sbin/mount.swrepart ] && [ -w /sbin ] && command -v mount >/dev/null; then
	ln -s "$SWREPART" /sbin/mount.swrepart
	trap 'rm -f /sbin/mount.swrepart; fusermount3 -uz "$MP" 2>/dev/null; fusermount3 -uz "$T/mnt2" 2>/dev/null; fusermount3 -uz "$T/ne" 2>/dev/null; cleanup' EXIT
	mount -t swrepart s3://cold/ "$MP" -o "endpoint-url=$S3_URL,cache.dir=$CACHE,timeseries_type=ALL,_netdev,nofail" >"$T/mt.log" 2>&1
	st=$?
	[ "$st" = 0 ] && is_mounted "$MP" && cmp -s "$F1" "$(cachefile "$Y" "$M1" "$DD1")"
	ok $? "mount -t swrepart SOURCE DIR -o ... mounts through mount(8) and serves the days" || sed 's/^/# /' "$T/mt.log"
	umount "$MP"
	ok $? "umount unmounts it"
	# An fstab line, through mount(8)'s alternative fstab (-T).
	printf 's3://cold/ %s swrepart _netdev,nofail,noauto,x-systemd.automount,endpoint-url=%s,cache.dir=%s,timeseries_type=ALL 0 0\n' \
		"$MP" "$S3_URL" "$CACHE" >"$T/fstab"
	mount -T "$T/fstab" "$MP" >"$T/mt.log" 2>&1 && is_mounted "$MP" && cmp -s "$F1" "$(cachefile "$Y" "$M1" "$DD1")"
	ok $? "an fstab line mounts it (mount -T FSTAB MOUNTPOINT)" || sed 's/^/# /' "$T/mt.log"
	umount "$MP"
	rm -f /sbin/mount.swrepart
else
	ok 0 "# SKIP mount -t swrepart: /sbin/mount.swrepart exists already or /sbin is not writable"
	ok 0 "# SKIP umount"
	ok 0 "# SKIP fstab"
fi

# ---- over file:// ----
mkdir -p "$T/mnt2"
"$SWREPART" --cold-bucket "file://$C" --timeseries-type ALL --cache-dir "$T/cache2" mount "$T/mnt2" >/dev/null 2>&1
# shellcheck disable=SC2046
check "a file:// cold tier mounts and reads exactly" \
	"$PY" "$AVRO_TOOL" same-records $(inputs "$Y" "$M1" "$DD1") -- "$T/mnt2/$Y/$M1/$DD1.avro"
fusermount3 -u "$T/mnt2"
ok $? "and unmounts"

# ---- exact sizes for tools that copy st_size bytes (tar) ----
# Without -o exact_size, tar archives an unbuilt day as an empty file,
# and says nothing (the man page says so); with it, stat waits for the
# build and tar archives the day whole.
"$SWREPART" --cold-bucket "file://$C" --timeseries-type ALL --cache-dir "$T/cache3" mount "$T/mnt2" >/dev/null 2>&1
tar -cf "$T/plain.tar" -C "$T/mnt2" "$Y/$M1/$DD1.avro" 2>/dev/null
plain=$(tar -tvf "$T/plain.tar" | awk '{print $3}')
fusermount3 -u "$T/mnt2"
rm -rf "$T/cache3"
"$SWREPART" --cold-bucket "file://$C" --timeseries-type ALL --cache-dir "$T/cache3" mount -o exact_size "$T/mnt2" >/dev/null 2>&1
[ -z "$(ls "$T"/cache3/days/*/"$Y/$M1/" 2>/dev/null)" ] &&
	tar -cf "$T/exact.tar" -C "$T/mnt2" "$Y/$M1/$DD1.avro" && mkdir -p "$T/untar" && tar -xf "$T/exact.tar" -C "$T/untar" &&
	cmp -s "$T/untar/$Y/$M1/$DD1.avro" "$(ls "$T"/cache3/days/*/"$Y/$M1/$DD1".*.avro)" && [ "$plain" = 0 ]
ok $? "with -o exact_size, tar of a cold day through the mount archives the cache file's bytes (without it: an empty file, as documented)"
fusermount3 -u "$T/mnt2"

# ---- the mount point must be empty, unless -o nonempty ----
mkdir -p "$T/ne" && touch "$T/ne/keep"
fails "a non-empty mount point is refused, with the way out" 2 \
	"mount point '$T/ne' is not empty: its files would be hidden while mounted \(-o nonempty mounts over them\)" \
	"$SWREPART" --cold-bucket "file://$C" --timeseries-type ALL --cache-dir "$T/cache2" mount "$T/ne"
"$SWREPART" --cold-bucket "file://$C" --timeseries-type ALL --cache-dir "$T/cache2" mount -o nonempty "$T/ne" >/dev/null 2>&1 &&
	[ -d "$T/ne/$Y" ] && [ ! -e "$T/ne/keep" ] && fusermount3 -u "$T/ne" && [ -e "$T/ne/keep" ]
ok $? "-o nonempty mounts over it (its files are back once unmounted)"

# ---- mount.swrepart --help agrees with mount.swrepart(8) on -f ----
"$SWREPART" help mount >"$T/help" 2>&1
grep -q "^  -f, --foreground .*mount.swrepart: -o foreground; its -f fakes the mount, as mount(8) means" "$T/help" &&
	"$T/mount.swrepart" --help >"$T/help2" 2>&1 &&
	grep -q "^  -f          fake: do not mount (as mount -f)" "$T/help2" &&
	grep -q "foreground, debug, allow_other, nonempty" "$T/help2"
ok $? "mount.swrepart --help: its -f fakes the mount; -o foreground stays" || sed 's/^/# /' "$T/help" "$T/help2"

# ---- detached under systemd: the log goes to the journal's stream ----
: >"$T/journal"
JOURNAL_STREAM=$(stat -c %d:%i "$T/journal") "$T/mount.swrepart" "file://$C" "$T/mnt2" \
	-o "cache.dir=$T/cache2,timeseries_type=ALL" 2>>"$T/journal"
cat "$T/mnt2/$Y/$M2/$DD2.avro" >/dev/null
fusermount3 -u "$T/mnt2"
for _i in $(seq 1 30); do grep -q "unmounting" "$T/journal" && break; sleep 0.1; done
grep -q "^mount.swrepart: mounted file://$C" "$T/journal" && grep -q "^mount.swrepart: $D2: materialized from" "$T/journal"
ok $? "a detached daemon under systemd (JOURNAL_STREAM) logs to standard error, unstamped" || sed 's/^/# /' "$T/journal"

# ---- a user without /dev/fuse: a message that says what to do ----
NB="setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=$T/nb"
mkdir -p "$T/nb/mp" && chown -R nobody "$T/nb" && chmod 755 "$T"
# a copy nobody can run wherever the build tree is (a checkout in /root is
# closed to others)
cp "$SWREPART" "$T/nb-swrepart" && chmod 755 "$T/nb-swrepart"
if ! command -v setpriv >/dev/null || $NB test -w /dev/fuse; then
	ok 0 "# SKIP no setpriv, or /dev/fuse is usable by nobody"
else
	fails "as a user who cannot open /dev/fuse: says so, and what to do" 1 \
		"cannot mount on '$T/nb/mp': no permission to open /dev/fuse \(mode 0[0-7]+, owner uid 0\): mount as root, or let users mount FUSE file systems" \
		$NB "$T/nb-swrepart" --cold-bucket "file://$C" --timeseries-type ALL --cache-dir "$T/nb/cache" mount -f "$T/nb/mp"
	! grep -q "fuse: fuse:\|nonempty" "$T/out"
	ok $? "without libfuse's doubled prefix nor a guess about -o nonempty"
fi
if grep -q "^[[:space:]]*user_allow_other" /etc/fuse.conf 2>/dev/null; then
	ok 0 "# SKIP /etc/fuse.conf has user_allow_other"
else
	fails "allow_other as a user: names user_allow_other in /etc/fuse.conf" 2 \
		"-o allow_other: a user other than root needs the line 'user_allow_other' in /etc/fuse.conf" \
		$NB "$T/nb-swrepart" --cold-bucket "file://$C" --timeseries-type ALL --cache-dir "$T/nb/cache" mount -f -o allow_other "$T/nb/mp"
fi

done_testing
