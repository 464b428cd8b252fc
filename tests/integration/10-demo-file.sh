#!/bin/bash
# 10-demo-file.sh - gen and ls on a file:// cold tier; the command line's
# and config file's errors.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro

D=$T/cold
check "gen writes every kind of file" \
	"$SWREPART" gen --days 2 --series 24 --records 300 --deflate-share 0.2 \
	--null-share 0.2 --variant-share 0.3 --bad-share 0.3 \
	--uncertain-share 0.2 --start 2022-05-30 "$D"
check "python3-avro reads every file and each record matches its key" \
	"$PY" "$AVRO_TOOL" check-gen --require-all "$D"
"$SWREPART" gen --days 2 --series 24 --records 300 --deflate-share 0.2 \
	--null-share 0.2 --variant-share 0.3 --bad-share 0.3 \
	--uncertain-share 0.2 --start 2022-05-30 "file://$T/again" >/dev/null
check "gen is deterministic (same bytes twice)" diff -r "$D" "$T/again"

"$SWREPART" --cold-bucket "file://$D" ls >"$T/ls" 2>"$T/ls.err"
ok $? "ls exits 0"
n1=$(find "$D/raw/startYear=2022/startMonth=5/startDay=30" -name '*.avro' | wc -l)
n2=$(find "$D/raw/startYear=2022/startMonth=5/startDay=31" -name '*.avro' | wc -l)
grep -Eq "^2022-05-30 +$n1 +24 " "$T/ls"
ok $? "ls counts 2022-05-30's $n1 objects and 24 series"
grep -Eq "^2022-05-31 +$n2 +24 " "$T/ls"
ok $? "ls counts 2022-05-31's $n2 objects"
grep -q "^2 days, $((n1 + n2)) objects" "$T/ls"
ok $? "ls sums up"
"$SWREPART" --cold-bucket "file://$D" ls --from 2022-05-31 >"$T/ls1"
[ "$(grep -c '^2022-' "$T/ls1")" -eq 1 ] && grep -q '^2022-05-31' "$T/ls1"
ok $? "ls --from limits the days"

# Odd keys under the prefix are reported and skipped, never misread.
day=$D/raw/startYear=2022/startMonth=5/startDay=30
mkdir -p "$day/seriesBucket=zz" "$D/raw/startYear=abc" "$day/seriesBucket=0a"
echo x >"$day/seriesBucket=zz/raw_x_1_GOOD.avro"
echo x >"$day/seriesBucket=0a/raw_7020c8e2-e6db-40fa-9845-ed0dddd4c77d_1_PERFECT.avro"
echo x >"$day/seriesBucket=0a/notes.txt"
echo x >"$D/raw/startYear=abc/x"
"$SWREPART" --cold-bucket "file://$D" ls >"$T/ls2" 2>"$T/ls2.err"
ok $? "ls still exits 0 with odd keys"
grep -Eq "^2022-05-30 +$n1 +24 " "$T/ls2"
ok $? "odd keys are not counted"
grep -q "skipping 'file://$D/raw/startYear=2022/startMonth=5/startDay=30/seriesBucket=zz/raw_x_1_GOOD.avro': seriesBucket is not two lowercase hex digits" "$T/ls2.err"
ok $? "a bad bucket is reported with its key"
grep -q "PERFECT.avro': quality 'PERFECT' is not GOOD, BAD or UNCERTAIN" "$T/ls2.err"
ok $? "a bad quality is reported"
grep -q "notes.txt'" "$T/ls2.err" && grep -q "startYear=abc/': not a startYear= partition" "$T/ls2.err"
ok $? "stray files and partitions are reported"
grep -q "3 keys skipped" "$T/ls2.err"
ok $? "and counted"

# The command line.
fails "unknown command" 2 "unknown command 'frob'" "$SWREPART" frob
fails "unknown option" 2 "unknown option '--frob'" "$SWREPART" ls --frob
fails "bad date" 2 "'2022-02-30' is not a valid date" \
	"$SWREPART" --cold-bucket "file://$D" ls --from 2022-02-30
fails "no cold tier" 2 "s3.cold_tier.bucket_name" "$SWREPART" -c /dev/null ls
fails "missing directory" 6 "cannot open store directory '/nonexistent/?'" \
	"$SWREPART" --cold-bucket file:///nonexistent ls
fails "gen share out of range" 2 "--bad-share must be a share from 0 to 1" \
	"$SWREPART" gen --bad-share 2 "$T/x"
check "help lists the commands" sh -c "'$SWREPART' help | grep -q '^  gen '"
check "version" sh -c "'$SWREPART' --version | grep -q '^swrepart [0-9]'"
ln -s "$SWREPART" "$T/mount.swrepart"
fails "mount.swrepart without a mount point: exit 2" 2 \
	"give one mount point" "$T/mount.swrepart"
fails "mount.swrepart with an unknown mount option: exit 2" 2 \
	"unknown mount option 'frob'" "$T/mount.swrepart" "$T" -o frob
"$T/mount.swrepart" -f s3://b/ "$T/mnt" -o frob
ok $? "mount.swrepart -f (fake, as mount(8) passes it) mounts nothing and exits 0"
"$T/mount.swrepart" --help >"$T/mh" 2>&1 &&
	grep -q "^usage: mount.swrepart \[SOURCE\] MOUNTPOINT \[-fnsv\] \[-o OPTIONS\]" "$T/mh" &&
	grep -q "^  -f          fake: do not mount (as mount -f)" "$T/mh" &&
	grep -q "every option: mount.swrepart(8)" "$T/mh" && ! grep -q "mount.swrepart help" "$T/mh"
ok $? "mount.swrepart --help speaks as mount(8) runs it (-f fakes; no 'mount.swrepart help')" || sed 's/^/# /' "$T/mh"

# The config file.
cat >"$T/c.yml" <<YML
timeseries_type: ALL
s3:
  cold_tier:
    bucket_name: "file://$D"
    data_prefix: raw/
  glue_assets:
    bucket_name: glue
glue_role_arn: arn:aws:iam::1:role/x
YML
"$SWREPART" -c "$T/c.yml" ls >"$T/ls3" 2>"$T/ls3.err"
ok $? "a sample-style config file works"
grep -q "^2 days" "$T/ls3" && grep -q "c.yml: ignoring the keys that only the sample's AWS Glue jobs use: 's3.glue_assets.bucket_name' (line 7), 'glue_role_arn' (line 8)$" "$T/ls3.err"
ok $? "Glue-only keys are ignored with one notice naming their lines"
SWREPART_CONFIG=$T/c.yml "$SWREPART" ls >/dev/null 2>&1
ok $? "SWREPART_CONFIG is read"
printf 's3:\n  cold_tier:\n    bucket: x\n' >"$T/bad.yml"
fails "a mistyped key: exit 2, file:line and a suggestion" 2 \
	"bad.yml:3: unknown key 's3.cold_tier.bucket' \(did you mean 's3.cold_tier.bucket_name'\?\)" \
	"$SWREPART" -c "$T/bad.yml" ls
printf 's3:\n  cold_tier:\n    bucket_name: b\n    data_prefix: /raw\n' >"$T/bad2.yml"
fails "an invalid prefix: exit 2" 2 "must not start with '/'" \
	"$SWREPART" -c "$T/bad2.yml" ls
fails "an invalid prefix given on the command line" 2 "must end with '/'" \
	"$SWREPART" --cold-bucket "file://$D" --cold-prefix raw ls
fails "-c with a missing file" 2 "config file '/nonexistent.yml' does not exist" \
	"$SWREPART" -c /nonexistent.yml ls
fails "-o with an unknown key" 2 "unknown key 'frob'" \
	"$SWREPART" -o frob=1 ls
"$SWREPART" -c "$T/bad.yml" help >/dev/null 2>&1
ok $? "help works even with a broken config"
done_testing
