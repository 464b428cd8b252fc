#!/bin/bash
# 85-contrib.sh - the deployment examples in contrib/ stay true: they parse,
# every swrepart option they use exists, their config is accepted, the
# systemd units verify, and the Athena table's schema and partition
# template match what `swrepart sync` publishes.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need_python_avro
"$PY" -c 'import yaml' 2>/dev/null || skip_all "python3-yaml is not installed"
CON=$top_srcdir/contrib

# options_known ARGS...: every --option among ARGS is in swrepart's help.
options_known() {
	"$SWREPART" help >"$T/help-all"
	for c in sync materialize ls gen; do "$SWREPART" help "$c" >>"$T/help-all"; done
	for a in "$@"; do
		case $a in
		--*) o=${a%%=*}
			grep -Eq -- "(^|[ ,])$o( |$|\[)" "$T/help-all" || { echo "unknown option $o"; return 1; } ;;
		esac
	done
}

# Kubernetes: the Job's args and the ConfigMap's config.yml.
"$PY" - "$CON/kubernetes/swrepart-sync-job.yaml" "$T" <<'EOF'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
cm = next(d for d in docs if d["kind"] == "ConfigMap")
job = next(d for d in docs if d["kind"] == "Job")
open(sys.argv[2] + "/k8s-config.yml", "w").write(cm["data"]["config.yml"])
spec = job["spec"]
assert spec["completionMode"] == "Indexed"
args = spec["template"]["spec"]["containers"][0]["args"]
assert "--shard=auto/%d" % spec["completions"] in args, "shard count != completions"
open(sys.argv[2] + "/k8s-args", "w").write("\n".join(args[1:]) + "\n")
EOF
ok $? "the Kubernetes manifest parses; its Indexed Job shards by auto/<completions>"
mapfile -t args <"$T/k8s-args"
check "every option of the Job exists" options_known "${args[@]}"
# a small cold tier laid out as the ConfigMap says (its data prefix)
"$SWREPART" -c "$T/k8s-config.yml" gen --days 1 --series 1 --records 1 "$T/cold1" >/dev/null 2>&1
check "swrepart accepts the ConfigMap's config.yml" \
	"$SWREPART" -c "$T/k8s-config.yml" --cold-bucket "file://$T/cold1" ls

# AWS Batch.
"$PY" - "$CON/aws-batch/swrepart-sync-job-definition.json" "$T" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
cmd = d["containerProperties"]["command"]
assert cmd[0] == "swrepart" and "sync" in cmd and "--shard=auto" in cmd
params = ["--" + v.split("--", 1)[1] for v in d["parameters"].values()]
args = [a for a in cmd[1:] if not a.startswith("Ref::")] + params
for a in cmd:
    if a.startswith("Ref::"):
        assert a[5:] in d["parameters"], a
open(sys.argv[2] + "/batch-args", "w").write("\n".join(args) + "\n")
EOF
ok $? "the AWS Batch job definition parses; its parameters are all defined"
mapfile -t args <"$T/batch-args"
check "every option of the job definition exists" options_known "${args[@]}"

# systemd.
exec_line=$(sed -n 's/^ExecStart=//p' "$CON/systemd/swrepart-sync.service")
# shellcheck disable=SC2086
check "every option of the service exists" options_known $exec_line
mkdir -p "$T/units"
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|^ExecStart=[^ ]*|ExecStart=$SWREPART|" "$CON/systemd/swrepart-sync.service" >"$T/units/swrepart-sync.service"
	cp "$CON/systemd/swrepart-sync.timer" "$T/units/"
	check "the service and timer verify" \
		sh -c "cd '$T/units' && systemd-analyze verify --man=no ./swrepart-sync.service ./swrepart-sync.timer"
else
	ok 0 "# SKIP systemd-analyze is not installed"
fi

# The mount unit, automount and fstab line: the units verify, and the
# helper accepts their options (it gets as far as the mount point).
ln -s "$SWREPART" "$T/mount.swrepart"
printf 'timeseries_type: ALL\n' >"$T/conf.yml"
# helper_accepts OPTIONS: every word and setting of OPTIONS is accepted.
helper_accepts() {
	_o=$(printf '%s' "$1" | sed "s|config=[^,]*|config=$T/conf.yml|; s|cache.dir=[^,]*|cache.dir=$T/c|")
	"$T/mount.swrepart" s3://bucket/ "$T/no-such-dir" -o "$_o" >"$T/h.log" 2>&1
	[ $? = 6 ] && grep -q "mount point '$T/no-such-dir'" "$T/h.log" || { sed 's/^/# /' "$T/h.log"; return 1; }
}
check "the mount unit's options are accepted by mount.swrepart" \
	helper_accepts "$(sed -n 's/^Options=//p' "$CON/systemd/mnt-sw.mount")"
[ "$(sed -n 's/^Type=//p' "$CON/systemd/mnt-sw.mount")" = swrepart ] &&
	[ "$(sed -n 's/^Where=//p' "$CON/systemd/mnt-sw.mount")" = /mnt/sw ] &&
	[ "$(sed -n 's/^Where=//p' "$CON/systemd/mnt-sw.automount")" = /mnt/sw ]
ok $? "the mount unit and automount agree on /mnt/sw, type swrepart"
fst=$(grep -v '^#' "$CON/fstab.example" | grep .)
[ "$(echo "$fst" | awk '{print $3}')" = swrepart ] && [ "$(echo "$fst" | awk '{print NF}')" = 6 ]
ok $? "the fstab example has six fields, type swrepart"
check "the fstab example's options are accepted by mount.swrepart" \
	helper_accepts "$(echo "$fst" | awk '{print $4}')"
if command -v systemd-analyze >/dev/null 2>&1; then
	cp "$CON/systemd/mnt-sw.mount" "$CON/systemd/mnt-sw.automount" "$T/units/"
	check "the mount and automount units verify" \
		sh -c "cd '$T/units' && systemd-analyze verify --man=no ./mnt-sw.mount ./mnt-sw.automount"
else
	ok 0 "# SKIP systemd-analyze is not installed"
fi

# Athena: each table's schema is the one published, and its location
# template gives the keys sync writes (raw and aggregates).
"$SWREPART" gen --start 2022-05-05 --days 1 --series 3 --records 5 "$T/cold" >/dev/null
mkdir -p "$T/tgt"
"$SWREPART" --cold-bucket "file://$T/cold" --timeseries-type ALL --cache-dir "$T/cache" \
	--target-bucket "file://$T/tgt" sync --dataset all >/dev/null 2>&1
key=$(cd "$T/tgt" && find consolidated -name '*.avro')
akey=$(cd "$T/tgt" && find consolidated_agg -name '*.avro')
"$PY" - "$top_srcdir/tests/integration" "$CON/athena/consolidated-table.sql" "$T/tgt/$key" "$key" \
	"$CON/athena/consolidated-agg-table.sql" "$T/tgt/$akey" "$akey" <<'EOF'
import json, os, re, sys
sys.path.insert(0, sys.argv[1])
import avro_tool
for sqlf, path, key in (sys.argv[2:5], sys.argv[5:8]):
    sql = open(sqlf).read()
    assert len(re.findall(r"CREATE EXTERNAL TABLE", sql)) == 1, sqlf
    props = dict(re.findall(r"'([a-z.]+)'\s*=\s*'([^']*)'", sql))
    schema = json.loads(props["avro.schema.literal"])
    assert schema == avro_tool.container(path)["schema"], "schema differs from the published file: " + sqlf
    cols = re.search(r"TABLE IF NOT EXISTS \w+ \((.*?)\)\s*PARTITIONED", sql, re.S).group(1)
    names = [l.split()[0] for l in cols.strip().splitlines()]
    assert names == [f["name"].lower() for f in schema["fields"]], names
    tmpl = props["storage.location.template"]
    assert props["projection.enabled"] == "true"
    assert re.search(r"LOCATION '([^']*)'", sql).group(1) + "startYear=" in tmpl, sqlf
    loc = tmpl.replace("s3://TARGET-BUCKET/", "").replace("${startyear}", "2022") \
        .replace("${startmonth}", "5").replace("${startday}", "5")
    assert key.startswith(loc) and "/" not in key[len(loc):], (loc, key)
    for p in ("startyear", "startmonth", "startday"):
        assert props["projection.%s.type" % p] == "integer"
EOF
ok $? "the Athena tables' schemas, columns and location templates match what sync publishes (raw and aggregates)"

done_testing
