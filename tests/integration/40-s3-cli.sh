#!/bin/bash
# 40-s3-cli.sh - swrepart's commands against the real S3 test server, with
# Debian's AWS CLI as an independent client: each reads what the other
# wrote.  Also the errors a person meets first: wrong or missing
# credentials, a missing bucket, an unreachable endpoint.
. "${top_srcdir:-.}/tests/integration/lib.sh"
[ -x "$AWS" ] || skip_all "$AWS (Debian's awscli) is not installed"
start_s3 cold other
G="--days 2 --series 30 --records 80 --start 2022-12-31 --deflate-share 0.2"

# shellcheck disable=SC2086
"$SWREPART" gen $G "$T/local" >/dev/null
# shellcheck disable=SC2086
check "gen uploads a cold tier to S3" sw gen $G s3://cold/
check "aws s3 sync downloads it" awscli s3 sync --only-show-errors s3://cold/ "$T/fromaws"
check "what swrepart uploaded is byte for byte what it writes locally" \
	diff -r "$T/local" "$T/fromaws"

"$SWREPART" --cold-bucket "file://$T/local" ls | sed '$d' >"$T/ls.local"
sw --cold-bucket cold ls >"$T/ls.s3" 2>"$T/ls.s3.err"
ok $? "ls over S3 exits 0"
sed -i '$d' "$T/ls.s3"
check "ls over S3 says what ls over the local copy says" diff "$T/ls.local" "$T/ls.s3"
grep -q '^2022-12-31 ' "$T/ls.s3" && grep -q '^2023-01-01 ' "$T/ls.s3"
ok $? "days across a year boundary"

check "aws s3 sync uploads a tree under a prefix" \
	awscli s3 sync --only-show-errors "$T/local" s3://other/mirror/
sw --cold-bucket s3://other/mirror ls | sed '$d' >"$T/ls.aws"
check "swrepart lists what the AWS CLI wrote (s3://bucket/prefix)" \
	diff "$T/ls.local" "$T/ls.aws"

# A config file with everything in it.
cat >"$T/c.yml" <<YML
s3:
  cold_tier:
    bucket_name: cold
aws:
  endpoint_url: $S3_URL
  max_retries: 4
YML
"$SWREPART" -c "$T/c.yml" ls | sed '$d' >"$T/ls.cfg"
check "endpoint and bucket from the config file" diff "$T/ls.local" "$T/ls.cfg"

# Throttling on the listings is retried.
s3ctl POST fault '{"path_regex":"list-type=2","action":"slowdown","count":3}' >/dev/null
sw --cold-bucket cold ls | sed '$d' >"$T/ls.retry"
check "ls survives SlowDown answers" diff "$T/ls.local" "$T/ls.retry"

# Credentials from a profile in the shared files.
printf '[ci]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$AWS_SHARED_CREDENTIALS_FILE"
NOKEYS="env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY"
check "credentials from a named profile" \
	$NOKEYS "$SWREPART" --endpoint-url "$S3_URL" --profile ci --cold-bucket cold ls
check "credentials from AWS_PROFILE" \
	$NOKEYS AWS_PROFILE=ci "$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold ls

# Errors a person can act on, each with its own exit status.
fails "a wrong secret: exit 4 and the server's 403 code" 4 \
	"cannot list 's3://cold/raw/': 403 SignatureDoesNotMatch" \
	env AWS_SECRET_ACCESS_KEY=wrong-secret-value "$SWREPART" \
	--endpoint-url "$S3_URL" --cold-bucket cold ls
env AWS_SECRET_ACCESS_KEY=wrong-secret-value "$SWREPART" -vv \
	--endpoint-url "$S3_URL" --cold-bucket cold ls >"$T/debug" 2>&1
grep -q "GET http://127.0.0.1:$S3_PORT/cold" "$T/debug" &&
	! grep -q "wrong-secret-value" "$T/debug"
ok $? "the secret never reaches the (debug) log"
fails "an unknown access key: exit 4" 4 "403 InvalidAccessKeyId" \
	env AWS_ACCESS_KEY_ID=AKIDUNKNOWN "$SWREPART" --endpoint-url "$S3_URL" \
	--cold-bucket cold ls
: >"$AWS_SHARED_CREDENTIALS_FILE"
fails "no credentials: exit 3 and what was tried" 3 \
	"no AWS credentials found; tried environment" \
	$NOKEYS "$SWREPART" --endpoint-url "$S3_URL" --cold-bucket cold ls
fails "a missing bucket: exit 6" 6 "404 NoSuchBucket.*bucket 'nosuch' does not exist" \
	sw --cold-bucket nosuch ls
fails "an unreachable endpoint: exit 5" 5 "cannot reach 'http://127.0.0.1:1'" \
	"$SWREPART" --endpoint-url http://127.0.0.1:1 --cold-bucket cold ls
fails "an endpoint that is not a URL: exit 2" 2 "must start with http:// or https://" \
	"$SWREPART" --endpoint-url 127.0.0.1 --cold-bucket cold ls
s3ctl POST fault '{"path_regex":"list-type=2","action":"503","count":50}' >/dev/null
fails "a server that keeps failing: exit 8 after bounded retries" 8 \
	"503 ServiceUnavailable.*gave up after 3 attempts" \
	sw --max-retries 2 --cold-bucket cold ls
s3ctl DELETE fault >/dev/null
done_testing
