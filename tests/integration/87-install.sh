#!/bin/bash
# 87-install.sh - swrepart installed like a file system: `make install
# DESTDIR=` puts mount.swrepart where mount(8) looks (configure
# --with-mount-helper-dir, default /sbin) as a link to the installed
# swrepart, with the man pages; then that installed tree, mounted in a
# mount namespace of its own over /usr/local and /sbin, mounts
# contrib/fstab.example (only the bucket, mount point and config file
# changed) through mount(8) with the environment mount(8) gives helpers:
# no HOME, no AWS variables (env -i).  The cache then lives in
# /var/cache/swrepart, credentials come from root's ~/.aws (from the
# password database), settings from the config file.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro
[ "$(id -u)" = 0 ] || skip_all "needs root (make install into a namespace, mount(8))"
[ -c /dev/fuse ] || skip_all "/dev/fuse is absent"

# ---- make install DESTDIR=: the layout ----
R=$T/root
make -s -C "$top_builddir" install DESTDIR="$R" >"$T/install.log" 2>&1
ok $? "make install DESTDIR=... succeeds" || sed 's/^/# /' "$T/install.log"
want=$(sed -n 's/^mounthelperdir = //p' "$top_builddir/Makefile")
link=$(find "$R" -name mount.swrepart | head -n 1)
helperdir=$(dirname "${link#"$R"}")
case $want in
/*) [ "$helperdir" = "$want" ] ;;
*) true ;;   # relative to the prefix (make distcheck)
esac
ok $? "mount.swrepart goes to the configured directory ($helperdir, configure says ${want:-?})"
target=$(readlink "$link")
[ -L "$link" ] && [ "${target#/}" != "$target" ] && [ -x "$R$target" ] && cmp -s "$R$target" "$SWREPART"
ok $? "mount.swrepart is a link in $helperdir to the installed swrepart ($target), right under DESTDIR"
man1=$(find "$R" -name swrepart.1 | head -n 1)
[ -n "$man1" ] && [ -n "$(find "$R" -name mount.swrepart.8)" ] && [ -n "$(find "$R" -name swrepart.conf.5)" ]
ok $? "the man pages are installed"
make -s -C "$top_builddir" uninstall DESTDIR="$R" >"$T/uninstall.log" 2>&1 &&
	[ ! -e "$link" ] && [ ! -L "$link" ] && [ -z "$(find "$R" -type f)" ]
ok $? "make uninstall removes them, the link too" || find "$R" -type f -o -type l | sed 's/^/# /'
make -s -C "$top_builddir" install DESTDIR="$R" >/dev/null 2>&1

# ---- the installed tree, through mount(8), without HOME ----
why=
command -v unshare >/dev/null 2>&1 || why="unshare is not installed (Debian: util-linux)"
command -v mount >/dev/null 2>&1 || why="mount(8) is not installed"
[ -n "$why" ] || unshare -m true 2>/dev/null || why="cannot make a mount namespace here"
if [ -n "$why" ]; then
	for t in "the fstab example" "mount(8) under env -i" "the cache without HOME" "exact records" "a series' day" "umount"; do
		ok 0 "# SKIP $t: $why"
	done
	"$SWREPART" help >"$T/help" 2>&1
	grep -q "first config file found of:" "$T/help" && grep -q "/etc/swrepart/config.yml" "$T/help" &&
		grep -q "/var/cache/swrepart for root without HOME" "$T/help"
	ok $? "--help names the config files looked for and the cache without HOME" || sed 's/^/# /' "$T/help"
	done_testing
	exit
fi
start_s3 cold
C=$T/cold
"$SWREPART" gen --start 2022-05-30 --days 1 --series 5 --records 20 "$C" >/dev/null
awscli s3 sync --only-show-errors "$C" s3://cold/
MP=$T/mnt
mkdir -p "$MP" "$T/varcache" "$T/roothome/.aws" "$T/bin"
chmod 700 "$T/roothome"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/roothome/.aws/credentials"
cat >"$T/config.yml" <<EOF
timeseries_type: ALL
aws:
  region: us-east-1
  endpoint_url: $S3_URL
EOF
# contrib/fstab.example with the bucket, mount point and config changed
sed -e "s|^s3://my-sitewise-cold-tier/|s3://cold/|" -e "s|/mnt/sw |$MP |" \
	-e "s|config=/etc/swrepart/config.yml|config=$T/config.yml|" \
	"$top_srcdir/contrib/fstab.example" | grep -v '^#' >"$T/fstab"
[ "$(wc -l <"$T/fstab")" = 1 ] && grep -q "^s3://cold/ *$MP *swrepart" "$T/fstab"
ok $? "the fstab example, bucket, mount point and config changed" || sed 's/^/# /' "$T/fstab"
bindir=$(dirname "$target")
cat >"$T/ns.sh" <<EOF
set -u
mount --make-rprivate /
# the installed tree is the system's, in this namespace only
mount --bind "$R$bindir" "$bindir"
mount --bind "$R$helperdir" "$helperdir"
mount --bind "$T/varcache" /var/cache
mount --bind "$T/roothome" /root
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin mount -T "$T/fstab" "$MP" >"$T/mount.log" 2>&1
echo "mount \$?" >"$T/ns.out"
grep " $MP fuse.swrepart " /proc/mounts >>"$T/ns.out"
cp "$MP/2022/05/30.avro" "$T/day.avro" && echo "read 0" >>"$T/ns.out"
ls -ld /var/cache/swrepart >>"$T/ns.out" 2>&1
ls /var/cache/swrepart/days/*/2022/05/30.*.avro >>"$T/ns.out" 2>&1
cp /var/cache/swrepart/days/*/2022/05/30.*.avro "$T/cached.avro" 2>/dev/null
id=\$(sed -n 2p "$MP/series.csv" | cut -d, -f1)
echo "series id \$id" >>"$T/ns.out"
cp "$MP/series/\$id/2022/05/30.avro" "$T/series.avro" && echo "series read 0" >>"$T/ns.out"
umount "$MP" && echo "umount 0" >>"$T/ns.out"
grep -q " $MP fuse.swrepart " /proc/mounts && umount -l "$MP"
EOF
timeout 120 unshare -m sh "$T/ns.sh"
grep -q "^mount 0" "$T/ns.out" && grep -q "fuse.swrepart" "$T/ns.out"
ok $? "the installed mount.swrepart mounts the fstab line through mount(8), under env -i" ||
	sed 's/^/# /' "$T/ns.out" "$T/mount.log"
grep -q "^read 0" "$T/ns.out" && grep -q "^drwx------ .* /var/cache/swrepart" "$T/ns.out" &&
	cmp -s "$T/day.avro" "$T/cached.avro"
ok $? "without HOME the cache is /var/cache/swrepart (0700), and the day reads from it" || sed 's/^/# /' "$T/ns.out"
# shellcheck disable=SC2046
check "the day read through the mount holds exactly its records" \
	"$PY" "$AVRO_TOOL" same-records $(find "$C/raw" -name '*.avro' | sort) -- "$T/day.avro"
sid=$(sed -n 's/^series id //p' "$T/ns.out")
# shellcheck disable=SC2046
[ -n "$sid" ] && grep -q "^series read 0" "$T/ns.out" &&
	"$PY" "$AVRO_TOOL" same-records $(find "$C/raw" -name "raw_${sid}_*.avro" | sort) -- "$T/series.avro" >"$T/same.out" 2>&1
ok $? "a series of /series.csv, its day through /series/ID: exactly its records" || sed 's/^/# /' "$T/ns.out" "$T/same.out"
grep -q "^umount 0" "$T/ns.out"
ok $? "umount unmounts it"
"$SWREPART" help >"$T/help" 2>&1
grep -q "first config file found of:" "$T/help" && grep -q "/etc/swrepart/config.yml" "$T/help" &&
	grep -q "/var/cache/swrepart for root without HOME" "$T/help"
ok $? "--help names the config files looked for and the cache without HOME" || sed 's/^/# /' "$T/help"

done_testing
