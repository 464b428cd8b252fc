#!/bin/bash
# 15-cli.sh - a tool that talks to its user: "did you mean" for commands,
# options and -o keys; gen never writes into the configured cold tier; the
# sample's Glue keys said once and silenced by -q and log_level; log lines
# off a terminal carry an ISO 8601 time; an empty listing says what was
# listed and what is there; file:// with ASSOCIATED says why credentials
# are asked for; sync in a real terminal (tmux) shows a live line whose
# figures move, days in date order and a summary; SIGINT and SIGTERM stop
# it with a word, 130 and 143, and no half-published day.
. "${top_srcdir:-.}/tests/integration/lib.sh"

D=$T/cold
TS='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z '
export HOME=$T/home AWS_EC2_METADATA_DISABLED=true
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE
mkdir -p "$HOME"
"$SWREPART" gen --days 2 --series 6 --records 20 --start 2022-03-01 "$D" >/dev/null

# ---- did you mean ----
fails "a mistyped command: exit 2 and the command meant" 2 \
	"${TS}swrepart: error: unknown command 'sycn' \(did you mean 'sync'\?\)$" "$SWREPART" sycn
fails "a command far from any: no guess" 2 \
	"${TS}swrepart: error: unknown command 'frobnicate' \(see 'swrepart help'\)$" "$SWREPART" frobnicate
fails "a mistyped command option" 2 \
	"${TS}swrepart: error: unknown option '--form' for 'sync' \(did you mean '--from'\?\)$" \
	"$SWREPART" sync --form 2022-03-01
fails "a mistyped setting option, with its value" 2 \
	"${TS}swrepart: error: unknown option '--cold-buket' \(did you mean '--cold-bucket'\?\)$" \
	"$SWREPART" --cold-buket=x ls
fails "a mistyped -o key" 2 \
	"${TS}swrepart: error: -o: unknown key 'aws.regoin' \(did you mean 'aws.region'\?\)$" \
	"$SWREPART" -o aws.regoin=eu-west-1 ls

# ---- gen and the configured cold tier ----
snap() { (cd "$D" && find . -type f -exec md5sum {} + | sort); }
snap >"$T/snap0"
fails "gen without DEST: exit 2, and it says why" 2 \
	"${TS}swrepart: error: gen needs a destination: give DEST, a directory, file:///DIR or s3://BUCKET\[/PREFIX\] \(gen never writes into the configured cold tier by default\)$" \
	"$SWREPART" --cold-bucket "file://$D" gen
for dest in "$D" "file://$D/" "$D/raw"; do
	fails "gen refuses DEST '${dest#$T/}' in the configured cold tier" 2 \
		"error: 'file://$D(/raw)?' is in the configured cold tier \(s3.cold_tier.bucket_name 'file://$D'\): gen writes synthetic objects, never into real data; give another DEST, or --force if that cold tier is a demonstration$" \
		"$SWREPART" --cold-bucket "file://$D" gen --days 1 --seed 7 "$dest"
done
printf 's3:\n  cold_tier:\n    bucket_name: cold\n' >"$T/s3.yml"
fails "... and a DEST in the configured bucket, from the config file" 2 \
	"error: 's3://cold/other/' is in the configured cold tier \(s3.cold_tier.bucket_name 'cold'\)" \
	"$SWREPART" -c "$T/s3.yml" gen s3://cold/other/
snap >"$T/snap1"
cmp -s "$T/snap0" "$T/snap1"
ok $? "the cold tier is unchanged"
"$SWREPART" --cold-bucket "file://$D" gen --days 1 --seed 7 --start 2022-04-01 --force "$D" >/dev/null
ok $? "gen --force writes into it all the same"
rm -rf "$D/raw/startYear=2022/startMonth=4"

# ---- the sample's Glue keys ----
cat >"$T/glue.yml" <<YML
timeseries_type: ALL
s3:
  cold_tier:
    bucket_name: "file://$D"
  glue_assets:
    bucket_name: glue
    scripts_prefix: scripts/
glue_role_arn: arn:aws:iam::1:role/x
YML
"$SWREPART" -c "$T/glue.yml" ls >/dev/null 2>"$T/g.err"
[ "$(grep -c Glue "$T/g.err")" = 1 ] &&
	grep -Eq "^[0-9T:-]+Z swrepart: $T/glue.yml: ignoring the keys that only the sample's AWS Glue jobs use: 's3.glue_assets.bucket_name' \(line 6\), 's3.glue_assets.scripts_prefix' \(line 7\), 'glue_role_arn' \(line 8\)$" "$T/g.err"
ok $? "the Glue keys: one notice naming them and their lines" || sed 's/^/# /' "$T/g.err"
"$SWREPART" -q -c "$T/glue.yml" ls >/dev/null 2>"$T/g.err"
[ ! -s "$T/g.err" ]
ok $? "-q silences it" || sed 's/^/# /' "$T/g.err"
echo "log_level: error" >>"$T/glue.yml"
"$SWREPART" -c "$T/glue.yml" ls >/dev/null 2>"$T/g.err"
[ ! -s "$T/g.err" ]
ok $? "log_level: error silences it" || sed 's/^/# /' "$T/g.err"

# ---- an empty listing ----
fails "ls of a wrong prefix: exit 1, what was listed and what is there" 1 \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z swrepart: error: no day in the cold tier: 'file://$D/wrong/' holds nothing; 'file://$D/' holds 'agg/', 'asset_metadata/', 'raw/' \(is s3.cold_tier.data_prefix right\?\)$" \
	"$SWREPART" --cold-bucket "file://$D" --cold-prefix wrong/ ls
fails "a prefix one level too deep: what it holds instead" 1 \
	"error: no day in the cold tier: 'file://$D/raw/startYear=2022/' holds no startYear= partition, only 'startMonth=3/'; 'file://$D/raw/' holds 'startYear=2022/' \(is s3.cold_tier.data_prefix right\?\)$" \
	"$SWREPART" --cold-bucket "file://$D" --cold-prefix raw/startYear=2022/ ls
fails "materialize of a wrong prefix: exit 1 and the same words" 1 \
	"error: no day in the cold tier: 'file://$D/wrong/' holds nothing" \
	"$SWREPART" --cold-bucket "file://$D" --cold-prefix wrong/ --timeseries-type ALL --cache-dir "$T/c0" materialize
mkdir -p "$T/tgt0"
fails "sync of a wrong prefix: exit 1 and the same words" 1 \
	"error: no day in the cold tier: 'file://$D/wrong/' holds nothing" \
	"$SWREPART" --cold-bucket "file://$D" --cold-prefix wrong/ --timeseries-type ALL --cache-dir "$T/c0" --target-bucket "file://$T/tgt0" sync
fails "ls of an empty range: exit 1, as aws s3 ls" 1 \
	"swrepart: no day with data in the cold tier in that range$" \
	"$SWREPART" --cold-bucket "file://$D" ls --from 2023-01-01

# ---- file:// and ASSOCIATED ----
fails "file:// with ASSOCIATED: why credentials, and what to do" 3 \
	"error: timeseries_type ASSOCIATED needs the IoT SiteWise API \(ListTimeSeries\), hence AWS credentials, even for the local cold tier 'file://$D/': give --timeseries-type ALL to take every series of the files: no AWS credentials found" \
	"$SWREPART" --cold-bucket "file://$D" --cache-dir "$T/c0" --target-bucket "file://$T/tgt0" sync

# ---- sync in a terminal, and interrupted ----
command -v tmux >/dev/null || { echo "# tmux is not installed: no terminal tests"; done_testing; exit; }
start_s3 cold tgt tgt2 tgt3
"$SWREPART" gen --days 4 --series 6 --records 20 --start 2022-05-01 "$T/s3src" >/dev/null
awscli s3 sync --only-show-errors "$T/s3src" s3://cold/ || echo "Bail out! cannot upload the cold tier"
# Each GET of a cold object waits 80 ms, two at a time: a day takes ~1 s;
# the first day's wait 200 ms, so that the second is done before it.
s3ctl POST fault '{"method":"GET","path_regex":"^/cold/raw/startYear=2022/startMonth=5/startDay=1/","action":"delay","delay_ms":200,"count":100000}' >/dev/null
s3ctl POST fault '{"method":"GET","path_regex":"^/cold/raw/","action":"delay","delay_ms":80,"count":100000}' >/dev/null
cat >"$T/run.sh" <<EOF
#!/bin/bash
# bash: it goes on after a child that handled SIGINT
export AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
export AWS_REGION=us-east-1 AWS_CONFIG_FILE=$AWS_CONFIG_FILE HOME=$HOME
"$SWREPART" --endpoint-url $S3_URL --cold-bucket cold --timeseries-type ALL --requests 2 --cache-dir "\$1" --target-bucket "\$2" sync --jobs 2
echo "exit status \$?"
sleep 60
EOF
chmod +x "$T/run.sh"
TM="tmux -S $T/tmux.sock"
# tm_start ARGS: run.sh ARGS in a new tmux server's terminal.
tm_start() {
	$TM -f /dev/null new-session -d -x 160 -y 30 "$T/run.sh $*"
	PIDS="$PIDS $($TM display -p '#{pid}')"
}
tm_start "$T/tc1" tgt
pane() { $TM capture-pane -p -J; }
# status: the live line's figures, as "days objects seconds".
status() { pane | sed -n 's/^sync \([0-9]*\)\/4 days.* \([0-9]*\)\/[0-9]* objects.* \([0-9]*\) s$/\1 \2 \3/p' | tail -n 1; }
# Polled, not timed: on a loaded machine the first draw may come late;
# what matters is that a line is there while days are in flight and that
# its figures move.
s1= s2= i=0
while [ -z "$s1" ] && [ $i -lt 100 ]; do
	sleep 0.2
	s1=$(status)
	i=$((i + 1))
done
pane | grep '^sync ' | sed 's/^/# /'
i=0
while [ $i -lt 100 ]; do
	sleep 0.2
	s2=$(status)
	[ -n "$s2" ] && [ "$s2" != "$s1" ] && [ "${s2##* }" -gt "${s1##* }" ] && break
	i=$((i + 1))
done
pane | grep '^sync ' | sed 's/^/# /'
[ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" != "$s2" ] &&
	[ "${s2##* }" -gt "${s1##* }" ]
ok $? "a live line from the first second, its figures moving ('$s1', then '$s2')" || pane | sed 's/^/# /'
i=0
until pane | grep -q "^exit status"; do
	i=$((i + 1)); [ $i -lt 300 ] || break; sleep 0.1
done
pane >"$T/pane1"
grep '^2022-' "$T/pane1" | cut -c1-10 >"$T/order"
printf '2022-05-0%s\n' 1 2 3 4 | cmp -s - "$T/order" &&
	grep -q "^4 days: 4 published, 0 unchanged, 0 with nothing to publish, 0 failed; .* uploaded in .* s to tgt$" "$T/pane1" &&
	grep -q "^exit status 0$" "$T/pane1" && ! grep -q '^sync ' "$T/pane1"
ok $? "days in date order, a summary, exit 0 and no status line left" || sed 's/^/# /' "$T/pane1"
$TM kill-session

# SIGINT from the terminal: the day in flight is finished, then 130.
tm_start "$T/tc2" tgt2
i=0
until pane | grep -q '^sync [0-9]/4 days | 2022-05-0[12] fetching'; do
	i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1
done
$TM send-keys C-c
i=0
until pane | grep -q "^exit status"; do
	i=$((i + 1)); [ $i -lt 300 ] || break; sleep 0.1
done
pane >"$T/pane2"
n=$(sed -n 's/^swrepart: interrupted: \([0-9]\) of 4 days published; a rerun continues$/\1/p' "$T/pane2")
grep -q "^swrepart: stopping: finishing the days* in flight; interrupt again to abandon \(it\|them\)$" "$T/pane2" &&
	grep -q "^4 days: $n published, 0 unchanged" "$T/pane2" &&
	grep -q "^exit status 130$" "$T/pane2" && [ "$n" -ge 1 ] && [ "$n" -lt 4 ]
ok $? "Ctrl-C: the days in flight finish, a summary, 'interrupted: $n of 4 days published; a rerun continues', exit 130" ||
	sed 's/^/# /' "$T/pane2"
$TM kill-session
# No half day: each day of the target has its data, index and manifest, or nothing.
whole_days() {
	awscli s3 ls --recursive "s3://$1/" | awk '{print $4}' |
		sed -n 's|.*\(startYear=[0-9]*/startMonth=[0-9]*/startDay=[0-9]*\)/.*|\1|p' | sort | uniq -c |
		awk -v want="$2" '$1 != 3 {bad++} END {exit !(NR == want && !bad)}'
}
whole_days tgt2 "$n"
ok $? "the target holds the $n days whole, and nothing of the others" || awscli s3 ls --recursive s3://tgt2/ | sed 's/^/# /'

# SIGTERM (not on a terminal): the same, 143; the log lines carry the time.
# (not through sw: a function would run in a subshell of its own)
"$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold --timeseries-type ALL \
	--requests 2 --cache-dir "$T/tc3" --target-bucket tgt3 sync --jobs 1 \
	>"$T/t.out" 2>"$T/t.err" &
spid=$!
PIDS="$PIDS $spid"
i=0
until grep -q "published" "$T/t.out"; do
	i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1
done
kill -TERM "$spid"
wait "$spid"
st=$?
m=$(sed -n 's/^[0-9T:-]*Z swrepart: interrupted: \([0-9]\) of 4 days published; a rerun continues$/\1/p' "$T/t.err")
[ "$st" = 143 ] && [ -n "$m" ] && [ "$m" -lt 4 ] &&
	grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z swrepart: stopping: finishing the day in flight; interrupt again to abandon it$" "$T/t.err"
ok $? "SIGTERM: exit 143 ($st), the day in flight finished, time-stamped lines" || sed 's/^/# /' "$T/t.out" "$T/t.err"
s3ctl DELETE fault >/dev/null
whole_days tgt3 "$m"
ok $? "the target holds the $m days whole, and nothing of the others" || awscli s3 ls --recursive s3://tgt3/ | sed 's/^/# /'
sw --cold-bucket cold --timeseries-type ALL --cache-dir "$T/tc3" --target-bucket tgt3 sync >"$T/r.out" 2>&1 &&
	grep -q "^4 days: $((4 - m)) published, $m unchanged, 0 with nothing to publish, 0 failed" "$T/r.out" &&
	whole_days tgt3 4
ok $? "a rerun publishes the rest" || sed 's/^/# /' "$T/r.out"
done_testing
