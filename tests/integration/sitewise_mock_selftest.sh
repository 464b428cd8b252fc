#!/bin/bash
# sitewise_mock_selftest.sh - proves tests/integration/sitewise_mock.py
# against an independent client: botocore (bundled with Debian's awscli),
# whose SigV4Auth signs the raw requests and whose ListTimeSeries
# paginator follows nextToken by itself.  TAP output.
#
# The awscli command itself cannot be used: the ListTimeSeries model has
# the host prefix "api.", so `aws --endpoint-url http://127.0.0.1:PORT`
# would connect to api.127.0.0.1; the botocore client here is made with
# inject_host_prefix=False instead.

. "$(dirname "$0")/lib.sh"

MOCK="$top_srcdir/tests/integration/sitewise_mock.py"
[ -x "$PY" ] || skip_all "$PY is not installed"
"$PY" -c 'import awscli, botocore.auth, botocore.session' 2>/dev/null ||
	skip_all "Debian's awscli (its bundled botocore) is not installed"

export AWS_CONFIG_FILE="$T/no-aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$T/no-aws-credentials"
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
	AWS_REGION AWS_DEFAULT_REGION AWS_CA_BUNDLE

# ---------------------------------------------------------------- client
cat >"$T/client.py" <<'EOF'
"""client.py - signs requests for sitewise_mock.py with botocore."""
import argparse
import datetime
import http.client
import json
import math
import sys
import types
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--port", required=True)
ap.add_argument("--access-key", default="swrepart-test")
ap.add_argument("--secret", default="swrepart-test-secret")
ap.add_argument("--token", default=None)
ap.add_argument("--region", default="us-east-1")
ap.add_argument("--service", default="iotsitewise")
ap.add_argument("--skew", type=int, default=0, help="seconds added to now")
ap.add_argument("--tamper", action="store_true",
                help="change the query after signing")
ap.add_argument("cmd")
ap.add_argument("args", nargs="*")
a = ap.parse_args()
BASE = "http://127.0.0.1:%s" % a.port

if a.cmd not in ("ctl", "stat"):    # botocore takes a while to import
    import awscli  # noqa: F401  (makes the bundled botocore importable)
    import botocore.auth
    import botocore.session
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials

if a.skew:
    class ShiftedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return datetime.datetime.utcnow() + datetime.timedelta(
                seconds=a.skew)
    botocore.auth.datetime = types.SimpleNamespace(datetime=ShiftedDatetime)


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def send(method, path, params, sign=True):
    """(status, error type, parsed body) of one request."""
    query = "&".join("%s=%s" % (enc(k), enc(v)) for k, v in params)
    url = BASE + path + ("?" + query if query else "")
    req = AWSRequest(method=method, url=url, headers={})
    if sign:
        botocore.auth.SigV4Auth(Credentials(a.access_key, a.secret, a.token),
                                a.service, a.region).add_auth(req)
    if a.tamper:
        query += "&maxResults=1"
    conn = http.client.HTTPConnection("127.0.0.1", int(a.port), timeout=30)
    conn.request(method, path + ("?" + query if query else ""),
                 headers=dict(req.headers.items()))
    r = conn.getresponse()
    body = r.read()
    conn.close()
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = body.decode("utf-8", "replace")
    return r.status, r.getheader("x-amzn-ErrorType", "-"), doc


def expected(tsv, kind):
    out = {}
    with open(tsv) as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) == 6 and c[2] == kind:
                out[c[0]] = c
    return out


def check_summary(s, row, arn=True):
    # arn=False for botocore's parsed output: awscli 2.9's model predates
    # timeSeriesArn and drops it.
    errs = []
    sid, dtype, kind, asset, prop, alias = row
    if s.get("dataType") != dtype:
        errs.append("dataType %r, wanted %r" % (s.get("dataType"), dtype))
    if kind == "ASSOCIATED":
        if (s.get("assetId"), s.get("propertyId")) != (asset, prop):
            errs.append("assetId/propertyId differ")
    elif "assetId" in s or "propertyId" in s:
        errs.append("assetId/propertyId on a disassociated series")
    if s.get("alias") != alias:
        errs.append("alias %r, wanted %r" % (s.get("alias"), alias))
    if (dtype == "STRUCT") != ("dataTypeSpec" in s):
        errs.append("dataTypeSpec %r for %s" % (s.get("dataTypeSpec"), dtype))
    if arn and not s.get("timeSeriesArn", "").endswith(
            ":time-series/" + sid):
        errs.append("timeSeriesArn %r" % s.get("timeSeriesArn"))
    for k in ("timeSeriesCreationDate", "timeSeriesLastUpdateDate"):
        v = s.get(k)
        if not isinstance(v, (int, float)) or not 1e9 < v < 4e9:
            errs.append("%s %r is not epoch seconds" % (k, v))
    return ["%s: %s" % (sid, e) for e in errs]


def fail(msgs):
    for m in msgs[:20]:
        print(m)
    sys.exit(1 if msgs else 0)


cmd, args = a.cmd, a.args
if cmd == "get":            # get [k=v ...]: prints STATUS TYPE, then body
    params = [tuple(x.split("=", 1)) for x in args[1:]]
    status, etype, doc = send("GET", args[0], params)
    print(status, etype)
    print(json.dumps(doc))
elif cmd == "walk":         # walk TSV TYPE MAXRESULTS: pages by hand
    tsv, kind, maxr = args[0], args[1], int(args[2])
    want = expected(tsv, kind)
    seen, pages, token, errs = [], 0, None, []
    while True:
        params = [("timeSeriesType", kind), ("maxResults", str(maxr))]
        if token:
            params.append(("nextToken", token))
        status, etype, doc = send("GET", "/timeseries/", params)
        if status != 200:
            fail(["page %d: %s %s %s" % (pages + 1, status, etype, doc)])
        pages += 1
        got = doc["TimeSeriesSummaries"]
        if len(got) > maxr:
            errs.append("page %d has %d > %d" % (pages, len(got), maxr))
        for s in got:
            seen.append(s["timeSeriesId"])
            if s["timeSeriesId"] in want:
                errs += check_summary(s, want[s["timeSeriesId"]])
        token = doc.get("nextToken")
        if token is None:
            break
        if not all(ch in token for ch in "+/="):
            errs.append("token %r lacks one of + / =" % token)
        if len(got) != maxr:
            errs.append("page %d is short but not the last" % pages)
    if len(seen) != len(set(seen)):
        errs.append("%d series listed more than once"
                    % (len(seen) - len(set(seen))))
    if set(seen) != set(want):
        errs.append("missing %d, unexpected %d" % (
            len(set(want) - set(seen)), len(set(seen) - set(want))))
    if pages != max(1, math.ceil(len(want) / maxr)):
        errs.append("%d pages for %d series by %d" % (pages, len(want), maxr))
    fail(errs)
elif cmd == "paginate":     # paginate TSV TYPE PAGESIZE ATTEMPTS: botocore
    tsv, kind, size, attempts = args[0], args[1], int(args[2]), int(args[3])
    client = botocore.session.get_session().create_client(
        "iotsitewise", region_name=a.region, endpoint_url=BASE,
        aws_access_key_id=a.access_key, aws_secret_access_key=a.secret,
        aws_session_token=a.token,
        config=Config(inject_host_prefix=False, retries={
            "mode": "standard", "max_attempts": attempts}))
    want = expected(tsv, kind)
    seen, errs = [], []
    for page in client.get_paginator("list_time_series").paginate(
            timeSeriesType=kind, PaginationConfig={"PageSize": size}):
        for s in page["TimeSeriesSummaries"]:
            seen.append(s["timeSeriesId"])
            if s["timeSeriesId"] in want:
                s = dict(s)
                for k in ("timeSeriesCreationDate",
                          "timeSeriesLastUpdateDate"):
                    s[k] = s[k].timestamp()
                errs += check_summary(s, want[s["timeSeriesId"]], False)
    if len(seen) != len(set(seen)) or set(seen) != set(want):
        errs.append("listed %d (%d unique), wanted %d" % (
            len(seen), len(set(seen)), len(want)))
    fail(errs)
elif cmd == "ctl":          # ctl METHOD PATH: a control endpoint, no signature
    conn = http.client.HTTPConnection("127.0.0.1", int(a.port), timeout=30)
    conn.request(args[0], args[1])
    r = conn.getresponse()
    print(r.read().decode())
    sys.exit(0 if r.status == 200 else 1)
elif cmd == "stat":         # stat EXPR: a Python expression over stats `s`
    conn = http.client.HTTPConnection("127.0.0.1", int(a.port), timeout=30)
    conn.request("GET", "/__control/stats")
    s = json.loads(conn.getresponse().read())
    v = eval("(" + args[0] + ")", {"s": s})
    print(json.dumps(v))
    sys.exit(0 if v else 1)
else:
    sys.exit("client.py: unknown command " + cmd)
EOF

# start_mock NAME ARGS...: starts a mock; sets NAME_PORT and NAME_PID.
start_mock() {
	_name=$1
	shift
	"$MOCK" --port-file "$T/$_name.port" "$@" >"$T/$_name.log" 2>&1 &
	_pid=$!
	PIDS="$PIDS $_pid"
	_i=0
	while [ ! -s "$T/$_name.port" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 100 ] || ! kill -0 "$_pid" 2>/dev/null; then
			sed 's/^/# /' "$T/$_name.log"
			echo "Bail out! sitewise_mock.py did not start"
			exit 1
		fi
		sleep 0.1
	done
	eval "${_name}_PORT=\$(cat \"\$T/\$_name.port\")"
	eval "${_name}_PID=\$_pid"
}

cl() {  # cl PORT ARGS...: the client
	_p=$1
	shift
	"$PY" "$T/client.py" --port "$_p" "$@"
}

# want_reply NAME STATUS TYPE PATTERN CLIENT-ARGS...: the first line of
# `client.py get` is "STATUS TYPE" and its body matches PATTERN.
want_reply() {
	_name=$1 _st=$2 _ty=$3 _pat=$4
	shift 4
	cl "$@" >"$T/out" 2>&1
	if [ "$(head -n 1 "$T/out")" = "$_st $_ty" ] &&
		tail -n +2 "$T/out" | grep -Eq -- "$_pat"; then
		ok 0 "$_name"
	else
		ok 1 "$_name"
		echo "# wanted $_st $_ty /$_pat/, got:"
		head -c 2000 "$T/out" | sed 's/^/# /'
	fi
}

# ---------------------------------------------------------------- truth
if [ -x "$SWREPART" ]; then
	"$SWREPART" gen --list-series --series 600 >"$T/series.tsv"
else
	"$PY" - "$T/series.tsv" <<'EOF'
import sys, uuid
types = ["DOUBLE", "INTEGER", "STRING", "BOOLEAN", "STRUCT"]
with open(sys.argv[1], "w") as f:
    for i in range(600):
        a, p, s = (str(uuid.uuid4()) for _ in range(3))
        if i % 8 == 7:
            f.write("%s\t%s\tDISASSOCIATED\t-\t-\t/x/stream-%d/v\n"
                    % (s, types[i % 5], i))
        else:
            f.write("%s\t%s\tASSOCIATED\t%s\t%s\t/x/asset-%d/v\n"
                    % (a + "_" + p if i % 2 else s, types[i % 5], a, p, i))
EOF
fi
NASSOC=$(grep -c '	ASSOCIATED	' "$T/series.tsv")
NDIS=$(grep -c '	DISASSOCIATED	' "$T/series.tsv")
[ "$NASSOC" -gt 250 ] && [ "$NDIS" -gt 0 ] ||
	{ echo "Bail out! the series file has $NASSOC/$NDIS series"; exit 1; }

start_mock M --series "$T/series.tsv"
P=$M_PORT

# ---------------------------------------------------------------- signed
want_reply "a signed request succeeds: 50 summaries and a nextToken" \
	200 - '"nextToken": "\+/' \
	"$P" get /timeseries/ timeSeriesType=ASSOCIATED
check "the default page holds 50" \
	cl "$P" stat 's["series_served"] == 50 and s["max_results"] == [None]'
check "paging by 250 lists each of the $NASSOC associated series once" \
	cl "$P" walk "$T/series.tsv" ASSOCIATED 250
check "paging by 7 lists each associated series once (+/= tokens)" \
	cl "$P" walk "$T/series.tsv" ASSOCIATED 7
check "paging by 1 lists each of the $NDIS disassociated series once" \
	cl "$P" walk "$T/series.tsv" DISASSOCIATED 1
check "botocore's paginator gets every associated series once" \
	cl "$P" paginate "$T/series.tsv" ASSOCIATED 100 1
check "botocore's paginator gets every disassociated series once" \
	cl "$P" paginate "$T/series.tsv" DISASSOCIATED 3 1
check "stats count pages and maxResults values" \
	cl "$P" stat '250 in s["max_results"] and 7 in s["max_results"] and
		s["token_pages"] > 0 and s["throttled"] == 0'

AID=$(awk -F'\t' '$3 == "ASSOCIATED" { print $4; exit }' "$T/series.tsv")
NAID=$(awk -F'\t' -v a="$AID" '$4 == a' "$T/series.tsv" | wc -l)
want_reply "assetId filters ($NAID series of $AID)" \
	200 - "^\\{\"TimeSeriesSummaries\": \\[(\\{[^{}]*\"assetId\": \"$AID\"[^{}]*\\}(, )?){$NAID}\\]\\}$" \
	"$P" get /timeseries/ timeSeriesType=ASSOCIATED assetId="$AID"
ALIAS=$(awk -F'\t' '$3 == "DISASSOCIATED" { print $6; exit }' "$T/series.tsv")
want_reply "aliasPrefix filters" 200 - "\"alias\": \"$ALIAS\"" \
	"$P" get /timeseries/ timeSeriesType=DISASSOCIATED aliasPrefix="$ALIAS"

# The truth is re-read: a disassociated series becomes associated.
DID=$(awk -F'\t' '$3 == "DISASSOCIATED" { print $1; exit }' "$T/series.tsv")
awk -F'\t' -v OFS='\t' -v id="$DID" '$1 == id {
	$3 = "ASSOCIATED"; $4 = "11111111-2222-4333-8444-555555555555";
	$5 = "66666666-7777-4888-9999-aaaaaaaaaaaa" } { print }' \
	"$T/series.tsv" >"$T/series.new" && mv "$T/series.new" "$T/series.tsv"
check "a changed series file is seen at once (associated)" \
	cl "$P" walk "$T/series.tsv" ASSOCIATED 250
check "a changed series file is seen at once (disassociated)" \
	cl "$P" walk "$T/series.tsv" DISASSOCIATED 250

# ---------------------------------------------------------------- signature
want_reply "a wrong secret gets 403 InvalidSignatureException" \
	403 InvalidSignatureException 'Canonical String for this request' \
	"$P" --secret wrong-secret get /timeseries/ timeSeriesType=ASSOCIATED
want_reply "an unknown access key gets 403 UnrecognizedClientException" \
	403 UnrecognizedClientException 'security token included' \
	"$P" --access-key AKIDUNKNOWN get /timeseries/ timeSeriesType=ASSOCIATED
want_reply "an unexpected session token gets 403 UnrecognizedClientException" \
	403 UnrecognizedClientException 'security token included' \
	"$P" --token tok get /timeseries/ timeSeriesType=ASSOCIATED
want_reply "a query changed after signing gets 403" \
	403 InvalidSignatureException 'does not match' \
	"$P" --tamper get /timeseries/ timeSeriesType=ASSOCIATED
want_reply "another region's scope gets 403" \
	403 InvalidSignatureException 'valid region' \
	"$P" --region eu-west-1 get /timeseries/ timeSeriesType=ASSOCIATED
want_reply "another service's scope gets 403" \
	403 InvalidSignatureException "correct service: 'iotsitewise'" \
	"$P" --service s3 get /timeseries/ timeSeriesType=ASSOCIATED
want_reply "x-amz-date 20 minutes old gets 403" \
	403 InvalidSignatureException 'Signature expired' \
	"$P" --skew -1200 get /timeseries/ timeSeriesType=ASSOCIATED
want_reply "x-amz-date 20 minutes ahead gets 403" \
	403 InvalidSignatureException 'not yet current' \
	"$P" --skew 1200 get /timeseries/ timeSeriesType=ASSOCIATED
want_reply "x-amz-date 10 minutes old is accepted" 200 - 'TimeSeriesSummaries' \
	"$P" --skew -600 get /timeseries/ timeSeriesType=ASSOCIATED maxResults=1
"$PY" - "$P" >"$T/out" 2>&1 <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
c.request("GET", "/timeseries/?timeSeriesType=ASSOCIATED")
r = c.getresponse()
print(r.status, r.getheader("x-amzn-ErrorType"), r.read().decode())
EOF
grep -q '^403 MissingAuthenticationTokenException {"message": "Missing Authentication Token"}$' "$T/out"
ok $? "an unsigned request gets 403 MissingAuthenticationTokenException"
check "stats count rejected signatures" \
	cl "$P" stat 's["rejected_signatures"] == 9'

# ---------------------------------------------------------------- validation
want_reply "no timeSeriesType gets 400 ValidationException" \
	400 ValidationException "Value null at 'timeSeriesType'" \
	"$P" get /timeseries/ maxResults=5
want_reply "a bad timeSeriesType gets 400 ValidationException" \
	400 ValidationException 'enum value set' \
	"$P" get /timeseries/ timeSeriesType=ALL
for m in 0 251 abc; do
	want_reply "maxResults=$m gets 400 ValidationException" \
		400 ValidationException "'$m' at 'maxResults'" \
		"$P" get /timeseries/ timeSeriesType=ASSOCIATED maxResults=$m
done
want_reply "maxResults=250 is accepted" 200 - 'nextToken' \
	"$P" get /timeseries/ timeSeriesType=ASSOCIATED maxResults=250
want_reply "a forged nextToken gets 400 InvalidRequestException" \
	400 InvalidRequestException 'nextToken is invalid' \
	"$P" get /timeseries/ timeSeriesType=ASSOCIATED nextToken=+/AAAABBBB==
want_reply "a nextToken outside the pattern gets 400 ValidationException" \
	400 ValidationException "at 'nextToken'" \
	"$P" get /timeseries/ timeSeriesType=ASSOCIATED nextToken=a-b
TOKEN=$(cl "$P" get /timeseries/ timeSeriesType=ASSOCIATED maxResults=1 |
	sed -n 's/.*"nextToken": "\([^"]*\)".*/\1/p')
want_reply "a token reused with other filters gets 400 InvalidRequestException" \
	400 InvalidRequestException 'other request parameters' \
	"$P" get /timeseries/ timeSeriesType=DISASSOCIATED nextToken="$TOKEN"
want_reply "another path gets 404 UnknownOperationException" \
	404 UnknownOperationException 'only GET /timeseries/' \
	"$P" get /timeseries timeSeriesType=ASSOCIATED

# ---------------------------------------------------------------- throttling
check "DELETE /__control/stats resets" cl "$P" ctl DELETE /__control/stats
check "the stats are zero after a reset" \
	cl "$P" stat 's["requests"] == 0 and s["max_results"] == []'
check "POST /__control/throttle?count=2" \
	cl "$P" ctl POST '/__control/throttle?count=2'
for i in 1 2; do
	want_reply "throttled request $i of 2 gets 429 ThrottlingException" \
		429 ThrottlingException '^\{"message": "Rate exceeded"\}$' \
		"$P" get /timeseries/ timeSeriesType=ASSOCIATED
done
want_reply "the request after them succeeds" 200 - 'TimeSeriesSummaries' \
	"$P" get /timeseries/ timeSeriesType=ASSOCIATED
check "stats count 2 throttled of 3" \
	cl "$P" stat 's["throttled"] == 2 and s["pages"] == 1 and
		s["requests"] == 3'
check "POST /__control/fail?count=1" cl "$P" ctl POST '/__control/fail?count=1'
want_reply "an injected failure gets 500 InternalFailureException" \
	500 InternalFailureException 'injected' \
	"$P" get /timeseries/ timeSeriesType=ASSOCIATED

start_mock E --series "$T/series.tsv" --throttle-every 3
for i in 1 2 3 4 5 6; do
	case $i in
	3|6) want_reply "--throttle-every 3: request $i gets 429" \
		429 ThrottlingException 'Rate exceeded' \
		"$E_PORT" get /timeseries/ timeSeriesType=ASSOCIATED maxResults=1 ;;
	*) want_reply "--throttle-every 3: request $i succeeds" \
		200 - 'TimeSeriesSummaries' \
		"$E_PORT" get /timeseries/ timeSeriesType=ASSOCIATED maxResults=1 ;;
	esac
done
check "botocore retries 429s and still lists every series once" \
	cl "$E_PORT" paginate "$T/series.tsv" ASSOCIATED 60 6
check "... after being throttled" cl "$E_PORT" stat 's["throttled"] >= 3'

# ---------------------------------------------------------------- session token
start_mock S --series "$T/series.tsv" --session-token session-tok/+= \
	--region eu-central-1 --date-format int
want_reply "with --session-token, the right token is accepted" \
	200 - '"timeSeriesCreationDate": [0-9]+,' \
	"$S_PORT" --token session-tok/+= --region eu-central-1 \
	get /timeseries/ timeSeriesType=ASSOCIATED
check "botocore's paginator works with a session token" \
	cl "$S_PORT" --token session-tok/+= --region eu-central-1 \
	paginate "$T/series.tsv" ASSOCIATED 250 1
want_reply "with --session-token, no token gets 403" \
	403 UnrecognizedClientException 'security token' \
	"$S_PORT" --region eu-central-1 get /timeseries/ timeSeriesType=ASSOCIATED
want_reply "with --session-token, another token gets 403" \
	403 UnrecognizedClientException 'security token' \
	"$S_PORT" --token other --region eu-central-1 \
	get /timeseries/ timeSeriesType=ASSOCIATED

# ---------------------------------------------------------------- SIGTERM
kill -TERM "$S_PID"
_i=0
while kill -0 "$S_PID" 2>/dev/null && [ "$_i" -lt 50 ]; do
	sleep 0.1
	_i=$((_i + 1))
done
wait "$S_PID"
ok $? "SIGTERM stops the mock with status 0"

done_testing
