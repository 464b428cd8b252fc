#!/usr/bin/env bash
# Self-test of the local S3 test server (server.js). Prints TAP; exits 0 only if all pass,
# 77 (skip) when node, npm (to install the pinned package), curl, python3 or /usr/bin/aws is
# missing.
#
# Each workaround is checked with a real request: awscli (/usr/bin/aws, full path: another
# "aws" may be first on PATH) for normal traffic; curl for the control endpoints and for raw
# listing XML, with SigV4 headers from awscli's own signer (awssign.py).
#
# Environment: NODE=/path/to/node picks the node binary (default: node on PATH); VERBOSE=1
# makes the server log its requests (the log's tail is shown when a test fails).
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE=${NODE:-node}
AWS=/usr/bin/aws
PY=/usr/bin/python3

skip() { echo "1..0 # SKIP $*"; exit 77; }
command -v "$NODE" >/dev/null 2>&1 || skip "node not found"
[ -x "$AWS" ] || skip "$AWS (Debian's awscli) not found"
[ -x "$PY" ] || skip "$PY not found"
command -v curl >/dev/null 2>&1 || skip "curl not found"
if [ ! -f "$HERE/node_modules/@20minutes/s3rver/package.json" ]; then
  command -v npm >/dev/null 2>&1 || skip "npm not found to install @20minutes/s3rver"
  (cd "$HERE" && npm ci --no-audit --no-fund >&2) || { echo "Bail out! npm ci failed"; exit 1; }
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/s3selftest.XXXXXX")
DATA=$TMP/data
SERVER_PID=
SIGNER_PID=
cleanup() {
  [ -n "$SIGNER_PID" ] && kill "$SIGNER_PID" 2>/dev/null
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------- TAP helpers
N=0
FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
  N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"
  shift
  local line
  for line in "$@"; do printf '#   %s\n' "$line"; done
}
# check DESCRIPTION COMMAND...: ok if the command succeeds.
check() { local d=$1; shift; if "$@" >"$TMP/check.out" 2>&1; then ok "$d"; else not_ok "$d" "$(head -c 1500 "$TMP/check.out")"; fi; }
# is DESCRIPTION GOT WANT
is() { if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi; }
# like DESCRIPTION TEXT REGEX (grep -E)
# like / unlike DESCRIPTION TEXT REGEX: grep -E on TEXT with its newlines made spaces.
like() { if printf '%s' "$2" | tr '\n' ' ' | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1" "got: $(printf '%s' "$2" | head -c 1500)" "want match: $3"; fi; }
unlike() { if printf '%s' "$2" | tr '\n' ' ' | grep -Eq -- "$3"; then not_ok "$1" "got: $(printf '%s' "$2" | head -c 1500)" "want no match: $3"; else ok "$1"; fi; }
words() { tr '\t\n' '  ' | sed 's/  */ /g; s/^ //; s/ $//'; }  # tabs/lines -> single spaces

# ---------------------------------------------------------------------------- server
ACCESS=AKIDSWREPARTTEST
SECRET='selftest/Secret+Key=1'
READY=$TMP/ready.json
"$NODE" "$HERE/server.js" --dir "$DATA" --ready-file "$READY" \
  --access-key "$ACCESS" --secret-key "$SECRET" \
  --bucket test --bucket cold --bucket page --bucket test ${VERBOSE:+--verbose} 2>"$TMP/server.log" &
SERVER_PID=$!
for _ in $(seq 1 200); do [ -s "$READY" ] && break; kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
if [ ! -s "$READY" ]; then
  echo "Bail out! server did not start: $(cat "$TMP/server.log")"
  exit 1
fi
json() { "$NODE" -e 'const v=JSON.parse(require("fs").readFileSync(0,"utf8")); const r=(new Function("v","return ("+process.argv[1]+")"))(v); console.log(typeof r==="string"?r:JSON.stringify(r))' "$1"; }
PORT=$(json v.port <"$READY")
like "ready file holds {port, pid} of the server" "$(cat "$READY")" "^\{\"port\":[0-9]+,\"pid\":$SERVER_PID\}$"
BASE=http://127.0.0.1:$PORT

# awscli, isolated from any user configuration.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_DEFAULT_PROFILE
export AWS_CONFIG_FILE=$TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=$TMP/aws-credentials
export AWS_ACCESS_KEY_ID=$ACCESS AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
: >"$AWS_SHARED_CREDENTIALS_FILE"
# Same as "aws configure set default.s3.addressing_style path" (and standard retries).
printf '[default]\nretry_mode = standard\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
aws_() { "$AWS" --endpoint-url "$BASE" "$@"; }

# One long-lived awscli signer (awssign.py --stdin) for the raw requests below.
coproc SIGNER { exec "$PY" "$HERE/awssign.py" --stdin; }
# bash closes coproc descriptors in pipeline children: use ordinary copies (fds 7 and 8).
exec 7>&"${SIGNER[1]}" 8<&"${SIGNER[0]}"
# scurl METHOD TARGET [-T BODY_FILE] [curl args...]: curl with SigV4 headers from awscli's
# signer. TARGET is the path and query, percent-encoded exactly as sent. A body is given
# with -T FILE right after TARGET (it is signed too). Other credentials or another region in
# the environment than the test's use a one-shot signer.
scurl() {
  local method=$1 url=$BASE$2 h body=
  shift 2
  if [ "${1:-}" = -T ]; then body=$2; shift 2; fi
  local -a args=()
  if [ "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY:$AWS_DEFAULT_REGION" = "$ACCESS:$SECRET:us-east-1" ]; then
    printf '%s %s %s\n' "$method" "$url" "$body" >&7
    while IFS= read -r h <&8 && [ -n "$h" ]; do args+=(-H "$h"); done
  else
    while IFS= read -r h; do args+=(-H "$h"); done < <("$PY" "$HERE/awssign.py" "$method" "$url" $body)
  fi
  if [ -n "$body" ]; then args+=(-T "$body"); fi
  # HEAD needs -I: with "-X HEAD" curl would wait for a body of Content-Length bytes.
  if [ "$method" = HEAD ]; then args+=(-I); else args+=(-X "$method"); fi
  curl -sS "${args[@]}" "$@" "$url"
}
# status METHOD TARGET [curl args...]: HTTP status of a signed request (000 if none).
status() { scurl "$@" -o /dev/null -w '%{http_code}' 2>/dev/null; }
control() { local m=$1 p=$2; shift 2; curl -sS -X "$m" "$@" "$BASE/__control/$p"; }

# fixture BUCKET KEY CONTENT: writes an object straight into the data directory, in exactly
# s3rver's layout (see README.md): content, hex MD5, metadata JSON.
fixture() {
  local obj="$DATA/$1/$2._S3rver_object"
  mkdir -p "$(dirname "$obj")"
  printf '%s' "$3" >"$obj"
  printf '%s' "$3" | md5sum | cut -d' ' -f1 | tr -d '\n' >"$obj.md5"
  printf '{\n  "content-type": "application/octet-stream"\n}' >"$DATA/$1/$2._S3rver_metadata.json"
}

# ---------------------------------------------------------------------------- basics
like "GET /__control/health" "$(control GET health)" '"ok":true'
like "the named buckets exist (created at start; named twice = once)" "$(scurl GET /)" \
  "<Name>cold</Name>.*<Name>page</Name>.*<Name>test</Name>"

printf 'hello, world\n' >"$TMP/small"
out=$(aws_ s3api put-object --bucket test --key dir/small.txt --body "$TMP/small" --output json 2>&1)
like "PutObject answers the ETag (MD5 of the body)" "$out" "$(md5sum <"$TMP/small" | cut -c1-32)"
aws_ s3api get-object --bucket test --key dir/small.txt "$TMP/small.back" >/dev/null 2>&1
check "GetObject returns the bytes put" cmp "$TMP/small" "$TMP/small.back"
like "HeadObject gives size and ETag" "$(scurl HEAD /test/dir/small.txt)" \
  "Content-Length: 13.*|ETag: \"$(md5sum <"$TMP/small" | cut -c1-32)\""
is "CreateBucket (PUT /newbucket) is 200" "$(status PUT /newbucket)" 200
is "HeadBucket: 200 for a bucket, 404 for none" "$(status HEAD /newbucket) $(status HEAD /nosuchbucket)" "200 404"
is "DeleteObject is 204, then HeadObject is 404" \
  "$(status DELETE /test/dir/small.txt) $(status HEAD /test/dir/small.txt)" "204 404"

# ---------------------------------------------------------------------------- authentication
out=$(AWS_SECRET_ACCESS_KEY=wrong-secret aws_ s3api list-objects-v2 --bucket test 2>&1)
like "a wrong secret gets 403 SignatureDoesNotMatch (awscli)" "$out" "SignatureDoesNotMatch"
out=$(AWS_SECRET_ACCESS_KEY=wrong-secret scurl GET '/test?list-type=2' -w ' HTTP%{http_code}')
like "a wrong secret gets 403 SignatureDoesNotMatch (raw)" "$out" "<Code>SignatureDoesNotMatch</Code>.* HTTP403$"
out=$(AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER scurl GET '/test?list-type=2' -w ' HTTP%{http_code}')
like "s3rver's default key pair is refused when another is given" "$out" "<Code>InvalidAccessKeyId</Code>.* HTTP403$"
out=$(curl -sS -w ' HTTP%{http_code}' "$BASE/test?list-type=2")
like "an unsigned request gets 403 AccessDenied" "$out" "<Code>AccessDenied</Code>.* HTTP403$"
out=$(AWS_DEFAULT_REGION=eu-west-1 scurl GET '/test?list-type=2' -w ' HTTP%{http_code}')
like "a request signed for another region: 400 AuthorizationHeaderMalformed naming the region" "$out" \
  "<Code>AuthorizationHeaderMalformed</Code>.*<Region>us-east-1</Region>.* HTTP400$"

# ---------------------------------------------------------------------------- canonical request
fixture test "x/y/z!'()*.txt" "punctuation"
fixture test "x/y/plain.txt" "plain"
out=$(aws_ s3api list-objects-v2 --bucket test --prefix "x/y/z!'()*" --query 'Contents[].Key' --output text 2>&1)
is "awscli lists with a prefix containing !'()* (canonical query encodes them)" "$out" "x/y/z!'()*.txt"
is "raw signed GET with prefix=...%21%27%28%29%2A is 200" \
  "$(status GET '/test?list-type=2&prefix=x%2Fy%2Fz%21%27%28%29%2A')" 200
out=$(aws_ s3api get-object --bucket test --key "x/y/z!'()*.txt" "$TMP/punct" 2>&1 && cat "$TMP/punct")
like "awscli GetObject of a key with !'()* (canonical URI)" "$out" "punctuation$"
out=$(scurl GET '/test/?list-type=2' -w ' HTTP%{http_code}')
like "signed GET /test/?list-type=2 (trailing slash kept in the canonical URI) is 200" "$out" "<Key>x/y/plain.txt</Key>.* HTTP200$"
is "a query value with a space (%20) and a plus (%2B) signs right" \
  "$(status GET '/test?list-type=2&prefix=a%20b%2Bc')" 200

# ---------------------------------------------------------------------------- XML escaping
fixture test 'amp&lt<gt>"q"'"'"'s' "escape me"
xml=$(scurl GET '/test?list-type=2&prefix=amp')
like "a key with & < > \" ' is XML-escaped once in raw listing XML" "$xml" "<Key>amp&amp;lt&lt;gt&gt;&quot;q&quot;&apos;s</Key>"
unlike "... and never twice" "$xml" "&amp;amp;"
is "awscli reads the key back exactly" \
  "$(aws_ s3api list-objects-v2 --bucket test --prefix amp --query 'Contents[0].Key' --output text)" 'amp&lt<gt>"q"'"'"'s'
like "encoding-type=url percent-encodes keys" "$(scurl GET '/test?list-type=2&prefix=amp&encoding-type=url')" \
  "<EncodingType>url</EncodingType>.*<Key>amp%26lt%3Cgt%3E%22q%22%27s</Key>"

# ---------------------------------------------------------------------------- pagination (> 1000 keys)
# 2,500 keys written straight into the data directory, in s3rver's format, by one node process.
# They include non-ASCII keys whose UTF-8 byte order differs from JavaScript's UTF-16 order
# (U+E000 sorts before U+1F600 in UTF-8, after it in UTF-16).
"$NODE" - "$DATA/page" "$TMP/expected-keys" <<'JS'
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const [dir, listFile] = process.argv.slice(2);
const keys = [];
for (let i = 0; i < 2490; i++) keys.push(`many/k${String(i).padStart(5, '0')}`);
for (const s of ['\u00e9', '\ue000', '\u{1F600}', 'Z', 'a', '~', ' ', '+', '%', '\u00ff'])
  keys.push(`many/u${s}x`);
for (const key of keys) {
  const obj = path.join(dir, `${key}._S3rver_object`);
  fs.mkdirSync(path.dirname(obj), { recursive: true });
  const content = `${key}\n`;
  fs.writeFileSync(obj, content);
  fs.writeFileSync(`${obj}.md5`, crypto.createHash('md5').update(content).digest('hex'));
  fs.writeFileSync(path.join(dir, `${key}._S3rver_metadata.json`),
    JSON.stringify({ 'content-type': 'application/octet-stream' }, null, 2));
}
keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
fs.writeFileSync(listFile, JSON.stringify(keys));
JS
control DELETE stats >/dev/null
aws_ s3api list-objects-v2 --bucket page --prefix many/ --output json >"$TMP/listed.json" 2>"$TMP/listed.err"
is "awscli pages through 2,500 keys, in UTF-8 byte order" \
  "$("$NODE" -e 'const fs=require("fs"); const got=JSON.parse(fs.readFileSync(process.argv[1])).Contents.map(c=>c.Key); const want=JSON.parse(fs.readFileSync(process.argv[2])); console.log(got.length+" "+(JSON.stringify(got)===JSON.stringify(want)))' "$TMP/listed.json" "$TMP/expected-keys" 2>&1)" "2500 true"
is "... in three ListObjectsV2 requests (max-keys capped at 1000)" "$(control GET stats | json 'v.byOperation.ListObjectsV2')" 3

p1=$(scurl GET '/page?list-type=2&prefix=many%2F&max-keys=5000')
like "page 1: KeyCount 1000, MaxKeys echoed, IsTruncated true, NextContinuationToken" "$p1" \
  "<NextContinuationToken>[^<]+</NextContinuationToken><KeyCount>1000</KeyCount><MaxKeys>5000</MaxKeys><IsTruncated>true</IsTruncated>"
tok=$(printf '%s' "$p1" | sed -n 's/.*<NextContinuationToken>\([^<]*\)<.*/\1/p')
enc=$("$NODE" -e 'console.log(encodeURIComponent(process.argv[1]))' "$tok")
p2=$(scurl GET "/page?list-type=2&prefix=many%2F&max-keys=1000&continuation-token=$enc")
like "page 2 follows the token: starts at the 1001st key" "$p2" "<ContinuationToken>[^<]+</ContinuationToken>.*<Contents><Key>many/k01000</Key>"
like "continuation tokens contain + and / (clients must percent-encode them)" "$tok" '[+/]'
like "a made-up continuation token is 400 InvalidArgument" \
  "$(scurl GET '/page?list-type=2&continuation-token=bm9wZQ%3D%3D' -w ' HTTP%{http_code}')" "InvalidArgument.* HTTP400$"
like "start-after skips up to the given key" "$(scurl GET '/page?list-type=2&prefix=many%2F&start-after=many%2Fk02488&max-keys=2')" \
  "<StartAfter>many/k02488</StartAfter>.*<Contents><Key>many/k02489</Key>.*<Contents><Key>many/u x</Key>"
like "ListObjects V1 pages with Marker / NextMarker" "$(scurl GET '/page?prefix=many%2F&marker=many%2Fk00009&max-keys=1')" \
  "<Marker>many/k00009</Marker><NextMarker>many/k00010</NextMarker>.*<Key>many/k00010</Key>"
like "max-keys=0 lists nothing" "$(scurl GET '/page?list-type=2&max-keys=0')" "<KeyCount>0</KeyCount>"
like "Contents carry ETag, Size, LastModified, StorageClass" "$p1" \
  "<Contents><Key>many/k00000</Key><LastModified>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z</LastModified><ETag>&quot;$(printf 'many/k00000\n' | md5sum | cut -c1-32)&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>"

# ---------------------------------------------------------------------------- cold-tier layout
ID1=7020c8e2-e6db-40fa-9845-ed0dddd4c77d_95e63da7-d34e-43e1-bc6f-1b490154b07a
ID2=0a1b2c3d-0000-4000-8000-000000000001
for k in \
  "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=ab/raw_${ID1}_1651536000_GOOD.avro" \
  "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=ab/raw_${ID1}_1651557600_GOOD.avro" \
  "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=ab/raw_${ID2}_1651536000_BAD.avro" \
  "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=0f/raw_${ID2}_1651536000_GOOD.avro" \
  "raw/startYear=2022/startMonth=5/startDay=30/seriesBucket=ab/raw_${ID1}_1653868800_GOOD.avro" \
  "raw/startYear=2022/startMonth=12/startDay=1/seriesBucket=ab/raw_${ID1}_1669852800_GOOD.avro" \
  "raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=ab/raw_${ID1}_1609545600_UNCERTAIN.avro" \
  "agg/startYear=2022/startMonth=5/startDay=3/seriesBucket=ab/agg_${ID1}_1651536000_GOOD.avro" \
  "asset_metadata/asset_7020c8e2-e6db-40fa-9845-ed0dddd4c77d.ndjson"; do
  fixture cold "$k" "$k"
done
# awscps PREFIX [awscli args]: CommonPrefixes of an awscli delimiter "/" listing.
awscps() { local p=$1; shift; aws_ s3api list-objects-v2 --bucket cold --prefix "$p" --delimiter / "$@" \
  --query 'CommonPrefixes[].Prefix' --output text 2>&1 | words; }
# rawcps ENCODED_PREFIX: CommonPrefixes of a raw signed delimiter "/" listing.
rawcps() { scurl GET "/cold?list-type=2&delimiter=%2F&prefix=$1" | grep -o '<CommonPrefixes><Prefix>[^<]*' | sed 's/.*>//' | words; }
is "cold tier, delimiter /, top level (awscli)" "$(awscps '')" "agg/ asset_metadata/ raw/"
is "cold tier, raw/ -> years" "$(rawcps raw%2F)" "raw/startYear=2021/ raw/startYear=2022/"
is "cold tier, year -> months (byte order: 12 before 5)" "$(rawcps raw%2FstartYear%3D2022%2F)" \
  "raw/startYear=2022/startMonth=12/ raw/startYear=2022/startMonth=5/"
is "cold tier, month -> days (3 before 30)" "$(rawcps raw%2FstartYear%3D2022%2FstartMonth%3D5%2F)" \
  "raw/startYear=2022/startMonth=5/startDay=3/ raw/startYear=2022/startMonth=5/startDay=30/"
is "cold tier, day -> series buckets (awscli, one CommonPrefix per page)" \
  "$(awscps raw/startYear=2022/startMonth=5/startDay=3/ --page-size 1)" \
  "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=0f/ raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=ab/"
like "cold tier, series bucket -> its 3 objects, no CommonPrefixes" \
  "$(scurl GET '/cold?list-type=2&delimiter=%2F&prefix=raw%2FstartYear%3D2022%2FstartMonth%3D5%2FstartDay%3D3%2FseriesBucket%3Dab%2F')" \
  "<KeyCount>3</KeyCount>.*_1651536000_BAD.avro</Key>.*_1651536000_GOOD.avro</Key>.*_1651557600_GOOD.avro</Key>.*</Contents></ListBucketResult>$"
like "cold tier, a partial prefix rolls up at the next delimiter" \
  "$(scurl GET '/cold?list-type=2&prefix=raw%2FstartYear%3D2022%2FstartMonth%3D5%2FstartDay%3D3&delimiter=%2F')" \
  "<KeyCount>2</KeyCount>.*<CommonPrefixes><Prefix>raw/startYear=2022/startMonth=5/startDay=3/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>raw/startYear=2022/startMonth=5/startDay=30/</Prefix></CommonPrefixes>"
like "a delimiter other than / (=) works at depth" \
  "$(scurl GET '/cold?list-type=2&prefix=raw%2FstartYear%3D2022%2F&delimiter=%3D')" \
  "<CommonPrefixes><Prefix>raw/startYear=2022/startMonth=</Prefix></CommonPrefixes></ListBucketResult>"

# ---------------------------------------------------------------------------- ranges
printf '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/' >"$TMP/range"  # 64 bytes
is "PUT of range.bin (raw, signed payload hash)" "$(status PUT /test/range.bin -T "$TMP/range")" 200
out=$(aws_ s3api get-object --bucket test --key range.bin --range bytes=-5 "$TMP/range.out" --query ContentRange --output text 2>&1)
is "suffix range bytes=-5 (awscli): the last 5 bytes" "$out $(cat "$TMP/range.out")" "bytes 59-63/64 XYZ+/"
# range SPEC: "status content-range body" of a raw ranged GET.
range() { scurl GET /test/range.bin -H "Range: $1" -D "$TMP/h" -o "$TMP/b" -w '%{http_code}'
  printf ' %s %s' "$(sed -n 's/^Content-Range: \(.*\)\r$/\1/Ip' "$TMP/h")" "$(cat "$TMP/b")"; }
is "suffix range bytes=-3: 206" "$(range bytes=-3)" "206 bytes 61-63/64 Z+/"
is "open range bytes=60-" "$(range bytes=60-)" "206 bytes 60-63/64 YZ+/"
is "bytes=0-0: one byte" "$(range bytes=0-0)" "206 bytes 0-0/64 0"
is "bytes=62-1000: clipped to the end" "$(range bytes=62-1000)" "206 bytes 62-63/64 +/"
is "bytes=-100 on 64 bytes: the whole object, 206" "$(range bytes=-100 | cut -c1-18)" "206 bytes 0-63/64 "
is "range beyond the end: 416" "$(status GET /test/range.bin -H 'Range: bytes=64-')" 416
is "If-Match with another ETag: 412; with its ETag: 200" \
  "$(status GET /test/range.bin -H 'If-Match: "00000000000000000000000000000000"') $(status GET /test/range.bin -H "If-Match: \"$(md5sum <"$TMP/range" | cut -c1-32)\"")" "412 200"
is "If-None-Match with its ETag: 304" "$(status GET /test/range.bin -H "If-None-Match: \"$(md5sum <"$TMP/range" | cut -c1-32)\"")" 304
out=$(aws_ s3api put-object --bucket test --key md5.bin --body "$TMP/range" --content-md5 "$("$NODE" -e 'console.log(require("crypto").createHash("md5").update("not it").digest("base64"))')" 2>&1)
like "a wrong Content-MD5 is refused (BadDigest)" "$out" "BadDigest"
is "... and no object is left" "$(status HEAD /test/md5.bin)" 404
# A valid signature over an x-amz-content-sha256 of other bytes than the body sent.
mapfile -t hdrs < <("$PY" "$HERE/awssign.py" PUT "$BASE/test/range.bin" "$TMP/range")
like "a body not matching x-amz-content-sha256: 400 XAmzContentSHA256Mismatch" \
  "$(curl -sS "${hdrs[@]/#/-H}" -T "$TMP/small" -w ' HTTP%{http_code}' "$BASE/test/range.bin")" "<Code>XAmzContentSHA256Mismatch</Code>.* HTTP400$"
is "... and the object keeps its old content" "$(scurl GET /test/range.bin)" "$(cat "$TMP/range")"
like "error XML is escaped once (NoSuchKey of a key with & and ')" "$(scurl GET /test/a%26b%27c)" \
  "<Code>NoSuchKey</Code>.*<Key>a&amp;b&apos;c</Key>"

# ---------------------------------------------------------------------------- multipart
head -c $((50 * 1024 * 1024)) /dev/urandom >"$TMP/big"
control DELETE stats >/dev/null
check "aws s3 cp of 50 MB (multipart upload)" aws_ s3 cp --only-show-errors "$TMP/big" s3://test/big/50mb.bin
like "... used CreateMultipartUpload, UploadPart x7, CompleteMultipartUpload" \
  "$(control GET stats | json '[v.byOperation.CreateMultipartUpload, v.byOperation.UploadPart, v.byOperation.CompleteMultipartUpload].join(" ")')" "^1 7 1$"
check "aws s3 cp back of 50 MB compares equal" sh -c "\"$AWS\" --endpoint-url \"$BASE\" s3 cp --only-show-errors s3://test/big/50mb.bin \"$TMP/big.back\" && cmp \"$TMP/big\" \"$TMP/big.back\""
like "the 50 MB object's ETag is its MD5 (not md5-N)" "$(scurl HEAD /test/big/50mb.bin)" "ETag: \"$(md5sum <"$TMP/big" | cut -c1-32)\""
is "no multipart upload left over" "$(control GET 'uploads?bucket=test' | json 'v.uploads.length')" 0

uid=$(aws_ s3api create-multipart-upload --bucket test --key orphan.bin --query UploadId --output text 2>&1)
head -c 1000 /dev/urandom >"$TMP/part"
aws_ s3api upload-part --bucket test --key orphan.bin --upload-id "$uid" --part-number 1 --body "$TMP/part" >/dev/null 2>&1
is "ListMultipartUploads (GET /bucket?uploads, awscli) shows the open upload" \
  "$(aws_ s3api list-multipart-uploads --bucket test --query 'Uploads[].[Key,UploadId]' --output text 2>&1 | words)" "orphan.bin $uid"
is "ListParts (awscli) shows its part" "$(aws_ s3api list-parts --bucket test --key orphan.bin --upload-id "$uid" --query 'Parts[].[PartNumber,Size]' --output text 2>&1 | words)" "1 1000"
like "GET /__control/uploads shows it too" "$(control GET 'uploads?bucket=test')" "\"key\":\"orphan.bin\",\"uploadId\":\"$uid\".*\"parts\":1"
check "AbortMultipartUpload (awscli) succeeds" aws_ s3api abort-multipart-upload --bucket test --key orphan.bin --upload-id "$uid"
is "... and leaves no upload" "$(control GET 'uploads?bucket=test' | json 'v.uploads.length') $(scurl GET '/test?uploads' | grep -c '<Upload>')" "0 0"
out=$(scurl PUT "/test/orphan.bin?partNumber=2&uploadId=$uid" -T "$TMP/part" -w ' HTTP%{http_code}')
like "UploadPart to an aborted upload: 404 NoSuchUpload" "$out" "<Code>NoSuchUpload</Code>.* HTTP404$"
is "AbortMultipartUpload of an unknown upload: 404" "$(status DELETE "/test/orphan.bin?uploadId=$uid")" 404
# A raw multipart upload with two 1000-byte parts: S3 refuses parts under 5 MiB but the last.
uid=$(scurl POST '/test/small-parts.bin?uploads' | sed -n 's/.*<UploadId>\([^<]*\)<.*/\1/p')
e1=$(scurl PUT "/test/small-parts.bin?partNumber=1&uploadId=$uid" -T "$TMP/part" -D - -o /dev/null | sed -n 's/^ETag: \(.*\)\r$/\1/Ip')
e2=$(scurl PUT "/test/small-parts.bin?partNumber=2&uploadId=$uid" -T "$TMP/part" -D - -o /dev/null | sed -n 's/^ETag: \(.*\)\r$/\1/Ip')
printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' "$e1" "$e2" >"$TMP/complete.xml"
like "CompleteMultipartUpload with a non-last part under 5 MiB: 400 EntityTooSmall" \
  "$(scurl POST "/test/small-parts.bin?uploadId=$uid" -T "$TMP/complete.xml" -w ' HTTP%{http_code}')" "<Code>EntityTooSmall</Code>.* HTTP400$"
printf '<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' '"0123"' >"$TMP/complete.xml"
like "CompleteMultipartUpload with a wrong part ETag: 400 InvalidPart" \
  "$(scurl POST "/test/small-parts.bin?uploadId=$uid" -T "$TMP/complete.xml" -w ' HTTP%{http_code}')" "<Code>InvalidPart</Code>.* HTTP400$"
printf '<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' "$e2" >"$TMP/complete.xml"
like "CompleteMultipartUpload of one (last) small part: 200" \
  "$(scurl POST "/test/small-parts.bin?uploadId=$uid" -T "$TMP/complete.xml" -w ' HTTP%{http_code}')" "<CompleteMultipartUploadResult .*<ETag>&quot;$(md5sum <"$TMP/part" | cut -c1-32)&quot;</ETag>.* HTTP200$"

# ---------------------------------------------------------------------------- other operations
check "CopyObject of a key with + & % (x-amz-copy-source decoded right)" \
  aws_ s3 cp --only-show-errors "s3://test/x/y/z!'()*.txt" "s3://test/copy/a b+c&100%.txt"
is "... the copy has the content" "$(aws_ s3 cp "s3://test/copy/a b+c&100%.txt" - 2>&1)" punctuation
mkdir -p "$TMP/many" && for i in $(seq 1 30); do echo "$i" >"$TMP/many/f$i"; done
control DELETE stats >/dev/null
aws_ s3 cp --only-show-errors --recursive "$TMP/many" s3://test/many/ >/dev/null 2>&1
aws_ s3 rm --only-show-errors --recursive s3://test/many/ >/dev/null 2>&1
is "30 concurrent PUTs and DELETEs in one folder: no 5xx, folder gone from listings" \
  "$(control GET stats | json '[v.byOperation.PutObject, v.byOperation.DeleteObject, Object.keys(v.byStatus).filter(s => s >= 500).length].join(" ")') $(scurl GET '/test?list-type=2&delimiter=%2F' | grep -c '<Prefix>many/')" "30 30 0 0"
like "a presigned GET URL (aws s3 presign) works" "$(curl -sS -w ' HTTP%{http_code}' "$(aws_ s3 presign s3://test/range.bin)")" "XYZ\+/ HTTP200$"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$TMP/4mb"
scurl PUT /test/range.bin -T "$TMP/4mb" --limit-rate 1M --max-time 1 -o /dev/null 2>/dev/null
is "an interrupted PUT leaves the old object whole, and no temporary file" \
  "$(scurl GET /test/range.bin) $(find "$DATA" -name '*.tmp-*' | wc -l)" "$(cat "$TMP/range") 0"

# ---------------------------------------------------------------------------- conditional writes
# presign METHOD TARGET BODY_FILE OUT: the signed headers of one request into OUT (for curl -H @OUT),
# from the long-lived signer, so that many requests can then be sent at once.
presign() { printf '%s %s %s\n' "$1" "$BASE$2" "$3" >&7; : >"$4"; local h; while IFS= read -r h <&8 && [ -n "$h" ]; do printf '%s\n' "$h" >>"$4"; done; }
etag_of() { scurl HEAD "$1" | sed -n 's/^ETag: "\(.*\)"\r$/\1/Ip'; }
printf 'first' >"$TMP/c1"; printf 'second' >"$TMP/c2"
is "PutObject with If-None-Match: * creates a new key: 200" "$(status PUT /test/cond/a -T "$TMP/c1" -H 'If-None-Match: *')" 200
like "... and on an existing key: 412 PreconditionFailed" \
  "$(scurl PUT /test/cond/a -T "$TMP/c2" -H 'If-None-Match: *' -w ' HTTP%{http_code}')" "<Code>PreconditionFailed</Code>.*<Condition>If-None-Match</Condition>.* HTTP412$"
et=$(etag_of /test/cond/a)
is "PutObject with If-Match of another ETag: 412; with the object's ETag: 200" \
  "$(status PUT /test/cond/a -T "$TMP/c2" -H 'If-Match: "00000000000000000000000000000000"') $(status PUT /test/cond/a -T "$TMP/c2" -H "If-Match: \"$et\"")" "412 200"
is "... the object has the second body" "$(scurl GET /test/cond/a)" second
like "PutObject with If-Match on a missing key: 404 NoSuchKey (as S3)" \
  "$(scurl PUT /test/cond/none -T "$TMP/c1" -H "If-Match: \"$et\"" -w ' HTTP%{http_code}')" "<Code>NoSuchKey</Code>.* HTTP404$"
is "... and creates nothing" "$(status HEAD /test/cond/none)" 404
# Ten writers at once with the same If-Match: the check is made at the commit, under the
# key's lock, so exactly one wins (checking only when the request arrives lets all ten in).
et=$(etag_of /test/cond/a)
for i in $(seq 1 10); do printf 'writer %02d' "$i" >"$TMP/w$i"; presign PUT /test/cond/a "$TMP/w$i" "$TMP/h$i"; done
pids=()
for i in $(seq 1 10); do curl -sS -o /dev/null -w '%{http_code}\n' -H @"$TMP/h$i" -H "If-Match: \"$et\"" -T "$TMP/w$i" "$BASE/test/cond/a" >"$TMP/st$i" & pids+=($!); done
wait "${pids[@]}"  # (a plain wait would wait for the server too)
is "10 concurrent PUTs with the same If-Match: one 200, nine 412" "$(cat "$TMP"/st* | sort | uniq -c | words)" "1 200 9 412"
like "... the object is one writer's whole body" "$(scurl GET /test/cond/a)" '^writer (0[1-9]|10)$'
for i in $(seq 1 10); do presign PUT /test/cond/new "$TMP/w$i" "$TMP/h$i"; done
pids=()
for i in $(seq 1 10); do curl -sS -o /dev/null -w '%{http_code}\n' -H @"$TMP/h$i" -H 'If-None-Match: *' -T "$TMP/w$i" "$BASE/test/cond/new" >"$TMP/st$i" & pids+=($!); done
wait "${pids[@]}"
is "10 concurrent PUTs of a new key with If-None-Match: *: one 200, nine 412" "$(cat "$TMP"/st* | sort | uniq -c | words)" "1 200 9 412"
# A GET during PUTs of the key sees one whole version: its length, ETag and bytes agree (S3
# PUTs are atomic; s3rver wrote the metadata holding the length after the content).
head -c 3 /dev/urandom >"$TMP/v0"; head -c 300000 /dev/urandom >"$TMP/v1"
status PUT /test/atomic/x -T "$TMP/v0" >/dev/null
for i in $(seq 1 16); do presign PUT /test/atomic/x "$TMP/v$((i % 2))" "$TMP/ph$i"; presign GET /test/atomic/x "" "$TMP/gh$i"; done
pids=()
for i in $(seq 1 16); do
  curl -sS -o /dev/null -H @"$TMP/ph$i" -T "$TMP/v$((i % 2))" "$BASE/test/atomic/x" & pids+=($!)
  for j in 1 2 3; do curl -sS -D "$TMP/gd$i.$j" -o "$TMP/gb$i.$j" -H @"$TMP/gh$i" "$BASE/test/atomic/x" & pids+=($!); done
done
wait "${pids[@]}"
torn=0
for f in "$TMP"/gb*; do
  d=${f/gb/gd}
  len=$(sed -n 's/^Content-Length: \([0-9]*\)\r$/\1/Ip' "$d")
  et=$(sed -n 's/^ETag: "\(.*\)"\r$/\1/Ip' "$d")
  [ "$(stat -c %s "$f")" = "$len" ] && [ "$(md5sum <"$f" | cut -c1-32)" = "$et" ] || torn=$((torn + 1))
done
is "48 GETs during 16 PUTs of one key: each returns one whole version (length, ETag, bytes agree)" "$torn" 0
# CompleteMultipartUpload takes them too.
mpu() {  # mpu KEY: an upload of one part ($TMP/part); prints "uploadId" and writes $TMP/complete.xml
  local u e
  u=$(scurl POST "/test/$1?uploads" | sed -n 's/.*<UploadId>\([^<]*\)<.*/\1/p')
  e=$(scurl PUT "/test/$1?partNumber=1&uploadId=$u" -T "$TMP/part" -D - -o /dev/null | sed -n 's/^ETag: \(.*\)\r$/\1/Ip')
  printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' "$e" >"$TMP/complete.xml"
  echo "$u"
}
uid=$(mpu cond/a)
like "CompleteMultipartUpload with If-None-Match: * over an existing key: 412" \
  "$(scurl POST "/test/cond/a?uploadId=$uid" -T "$TMP/complete.xml" -H 'If-None-Match: *' -w ' HTTP%{http_code}')" "<Code>PreconditionFailed</Code>.* HTTP412$"
like "... the object is unchanged" "$(scurl GET /test/cond/a)" '^writer'
like "... with If-Match of the object's ETag: 200" \
  "$(scurl POST "/test/cond/a?uploadId=$uid" -T "$TMP/complete.xml" -H "If-Match: \"$(etag_of /test/cond/a)\"" -w ' HTTP%{http_code}')" "<CompleteMultipartUploadResult .* HTTP200$"
is "... the object is the upload's" "$(scurl GET /test/cond/a | md5sum | cut -c1-32)" "$(md5sum <"$TMP/part" | cut -c1-32)"

# ---------------------------------------------------------------------------- modes
mode() { local j=$1; shift; control POST mode -H 'Content-Type: application/json' -d "$j" "$@"; }
like "POST /__control/mode sets modes (answers all of them)" "$(mode '{"no_conditional_writes":true}')" \
  '"no_conditional_writes":true,"no_multipart_listing":false,"repeat_token":null,"list_size":null'
like "no_conditional_writes: PutObject with If-None-Match: 501 NotImplemented naming the header" \
  "$(scurl PUT /test/cond/b -T "$TMP/c1" -H 'If-None-Match: *' -w ' HTTP%{http_code}')" "<Code>NotImplemented</Code>.*<Header>If-None-Match</Header>.* HTTP501$"
like "... with If-Match: 501 naming If-Match" \
  "$(scurl PUT /test/cond/a -T "$TMP/c1" -H 'If-Match: "x"' -w ' HTTP%{http_code}')" "<Header>If-Match</Header>.* HTTP501$"
is "... a PUT without them: 200; conditional GETs still work (200)" \
  "$(status PUT /test/cond/b -T "$TMP/c1") $(status GET /test/cond/b -H "If-Match: \"$(etag_of /test/cond/b)\"")" "200 200"
uid=$(mpu cond/c)
is "... CompleteMultipartUpload with If-None-Match: 501" "$(status POST "/test/cond/c?uploadId=$uid" -T "$TMP/complete.xml" -H 'If-None-Match: *')" 501
mode '{"no_conditional_writes":false,"no_multipart_listing":true}' >/dev/null
control DELETE stats >/dev/null
like "no_multipart_listing: ListMultipartUploads is 501 NotImplemented" "$(scurl GET '/test?uploads' -w ' HTTP%{http_code}')" "<Code>NotImplemented</Code>.* HTTP501$"
is "... AbortMultipartUpload too; the others work (Complete 200)" \
  "$(status DELETE "/test/cond/c?uploadId=$uid") $(status POST "/test/cond/c?uploadId=$uid" -T "$TMP/complete.xml")" "501 200"
is "... and are counted by operation and status" \
  "$(control GET stats | json '[v.byOperation.ListMultipartUploads, v.byOperation.AbortMultipartUpload, v.byStatus["501"]].join(" ")')" "1 1 2"
mode '{"no_multipart_listing":false,"repeat_token":"prefix=many"}' >/dev/null
p1=$(scurl GET '/page?list-type=2&prefix=many%2F&max-keys=2')
tok=$(printf '%s' "$p1" | sed -n 's/.*<NextContinuationToken>\([^<]*\)<.*/\1/p')
enc=$("$NODE" -e 'console.log(encodeURIComponent(process.argv[1]))' "$tok")
p2=$(scurl GET "/page?list-type=2&prefix=many%2F&max-keys=2&continuation-token=$enc")
is "repeat_token: page 2 gives as next token the token it was given" \
  "$(printf '%s' "$p2" | sed -n 's/.*<NextContinuationToken>\([^<]*\)<.*/\1/p')" "$tok"
like "... IsTruncated stays true, even for a listing that fits one page" \
  "$(scurl GET '/page?list-type=2&prefix=many%2Fu')" "<NextContinuationToken>[^<]+</NextContinuationToken>.*<IsTruncated>true</IsTruncated>"
like "... listings the regex does not match are normal" "$(scurl GET '/test?list-type=2&prefix=cond%2F')" "<IsTruncated>false</IsTruncated>"
mode '{"repeat_token":null,"list_size":{"key_regex":"^cond/b$","size":"-1"}}' >/dev/null
like "list_size: the listed <Size> of matching keys is what was set" "$(scurl GET '/test?list-type=2&prefix=cond%2F')" \
  "<Key>cond/a</Key>.*<Size>[0-9]+</Size>.*<Key>cond/b</Key>.*<Size>-1</Size>"
like "GET /__control/mode shows the modes" "$(control GET mode)" '"list_size":\{"key_regex":"\^cond/b\$","size":"-1"\}'
like "DELETE /__control/mode resets them" "$(control DELETE mode)" '"no_conditional_writes":false,"no_multipart_listing":false,"repeat_token":null,"list_size":null'
like "an unknown mode is refused" "$(mode '{"fast":true}' -w ' HTTP%{http_code}')" "unknown mode fast.* HTTP400$"

# ---------------------------------------------------------------------------- faults
fault() { control POST fault -H 'Content-Type: application/json' -d "$1" >/dev/null; }
control DELETE stats >/dev/null
fault '{"method":"GET","path_regex":"^/test/range\\.bin","action":"slowdown","count":1}'
like "slowdown: 503 SlowDown once" "$(scurl GET /test/range.bin -w ' HTTP%{http_code}')" "<Code>SlowDown</Code>.* HTTP503$"
is "... then normal" "$(status GET /test/range.bin)" 200
fault '{"action":"503","path_regex":"range","count":2}'
is "503: ServiceUnavailable for count=2 requests, then normal" \
  "$(for _ in 1 2 3; do scurl GET /test/range.bin -o "$TMP/f" -w '%{http_code}:'; grep -o 'ServiceUnavailable' "$TMP/f"; done | words)" \
  "503:ServiceUnavailable 503:ServiceUnavailable 200:"
fault '{"method":"HEAD","action":"500"}'
is "500 InternalError (method filter: a GET passes, the HEAD gets it)" \
  "$(status GET /test/range.bin) $(status HEAD /test/range.bin) $(status HEAD /test/range.bin)" "200 500 200"
fault '{"path_regex":"range","action":"reset"}'
scurl GET /test/range.bin -o /dev/null 2>/dev/null; rc=$?
is "reset: the connection is dropped without an answer (curl exit 56 or 52)" "$([ "$rc" = 56 ] || [ "$rc" = 52 ] && echo dropped || echo "rc=$rc")" dropped
is "... then normal" "$(status GET /test/range.bin)" 200
fault '{"path_regex":"range","action":"delay","delay_ms":1500}'
like "delay: answered normally after >= 1.5 s" "$(scurl GET /test/range.bin -o /dev/null -w '%{http_code} %{time_total}')" '^200 (1\.[5-9]|[2-9]\.)'
fault '{"method":"GET","path_regex":"^/test/big/","action":"truncate"}'
scurl GET /test/big/50mb.bin -o "$TMP/trunc" 2>/dev/null; rc=$?
is "truncate: a short body, then the connection closes (curl exit 18)" "$rc $([ "$(stat -c %s "$TMP/trunc")" -lt 52428800 ] && echo short)" "18 short"
is "... then normal" "$(status GET /test/big/50mb.bin)" 200
fault '{"path_regex":"range","action":"truncate","bytes":10}'
scurl GET /test/range.bin -o "$TMP/trunc" 2>/dev/null; rc=$?
is "truncate with bytes=10: exactly 10 bytes arrive" "$rc $(cat "$TMP/trunc")" "18 0123456789"
fault '[{"path_regex":"range","action":"500"},{"path_regex":"range","action":"slowdown"}]'
is "rules queue in order" "$(for _ in 1 2; do scurl GET /test/range.bin | grep -o '<Code>[A-Za-z]*</Code>'; done | words)" \
  "<Code>InternalError</Code> <Code>SlowDown</Code>"
fault '{"method":"PUT","path_regex":"^/test/put-fault","action":"503"}'
is "a PUT with a body gets its 503, then the retried PUT works" \
  "$(status PUT /test/put-fault -T "$TMP/range") $(status PUT /test/put-fault -T "$TMP/range")" "503 200"
fault '{"method":"GET","path_regex":"^/test/range\\.bin","action":"slowdown","count":2}'
check "awscli retries through 2 x 503 SlowDown" aws_ s3api get-object --bucket test --key range.bin "$TMP/retried"
fault '[{"path_regex":"range","action":"501"},{"path_regex":"range","action":"403"},{"path_regex":"range","action":"conflict"}]'
is "actions 501, 403 and conflict: 501 NotImplemented, 403 AccessDenied, 409 ConditionalRequestConflict" \
  "$(for _ in 1 2 3; do scurl GET /test/range.bin -o "$TMP/f" -w '%{http_code}:'; grep -o '<Code>[A-Za-z]*</Code>' "$TMP/f"; done | words)" \
  "501:<Code>NotImplemented</Code> 403:<Code>AccessDenied</Code> 409:<Code>ConditionalRequestConflict</Code>"
fault '{"action":"500","count":5}'
like "GET /__control/fault lists pending rules" "$(control GET fault)" '"action":"500","count":5'
is "DELETE /__control/fault clears them" "$(control DELETE fault >/dev/null; status GET /test/range.bin)" 200
like "bad fault rules are refused" "$(control POST fault -d '{"action":"explode"}' -w ' HTTP%{http_code}')" "action must be.* HTTP400$"
is "stats count the faults injected, by action" \
  "$(control GET stats | json '[v.faults.total, v.faults.byAction.slowdown, v.faults.byAction["503"], v.faults.byAction["500"], v.faults.byAction.reset, v.faults.byAction.delay, v.faults.byAction.truncate, v.faults.byAction["501"], v.faults.byAction["403"], v.faults.byAction.conflict].join(" ")')" \
  "16 4 3 2 1 1 2 1 1 1"

# ---------------------------------------------------------------------------- stats
control DELETE stats >/dev/null
status PUT /test/stats.txt -T "$TMP/small" >/dev/null
status GET /test/stats.txt >/dev/null
aws_ s3api get-object --bucket test --key stats.txt "$TMP/x" >/dev/null 2>&1
status HEAD /test/stats.txt >/dev/null
status GET '/test?list-type=2&prefix=stats' >/dev/null
status DELETE /test/stats.txt >/dev/null
is "stats count requests by S3 operation" \
  "$(control GET stats | json '["PutObject","GetObject","HeadObject","ListObjectsV2","DeleteObject"].map(o => o + "=" + v.byOperation[o]).join(" ")')" \
  "PutObject=1 GetObject=2 HeadObject=1 ListObjectsV2=1 DeleteObject=1"
is "stats count requests by method and status" \
  "$(control GET stats | json '[v.requests, v.byMethod.GET, v.byMethod.PUT, v.byMethod.HEAD, v.byMethod.DELETE, v.byStatus["200"], v.byStatus["204"]].join(" ")')" \
  "6 3 1 1 1 5 1"
is "DELETE /__control/stats resets" "$(control DELETE stats | json 'v.requests')" 0

# ---------------------------------------------------------------------------- fast path
# GET/HEAD Object are answered before Koa with cached metadata (README: "Fast path").
fixture test fast/fx "version one"
sleep 1.2  # older than a second: its metadata is cached at the next read
is "fast path: GET of a fixture" "$(scurl GET /test/fast/fx)" "version one"
fixture test fast/fx "version two"  # rewritten in place, same length
is "... rewritten in place with the same length: the new bytes and ETag at once" \
  "$(scurl GET /test/fast/fx -D "$TMP/fxh") $(sed -n 's/^ETag: "\(.*\)"\r$/\1/Ip' "$TMP/fxh")" \
  "version two $(printf 'version two' | md5sum | cut -c1-32)"
printf 'copy me' >"$TMP/cp"
aws_ s3api put-object --bucket test --key fast/cp --body "$TMP/cp" --content-type text/plain >/dev/null 2>&1
sleep 1.2
scurl GET /test/fast/cp -o /dev/null
aws_ s3api copy-object --bucket test --key fast/cp --copy-source test/fast/cp --metadata-directive REPLACE \
  --content-type application/x-swrepart >/dev/null 2>&1
like "... CopyObject onto itself with new metadata: the next HEAD has it" "$(scurl HEAD /test/fast/cp)" "Content-Type: application/x-swrepart"
# The same request by the fast path (signed in the header) and by the slow one (presigned).
url=$("$AWS" --endpoint-url "$BASE" s3 presign s3://test/fast/fx 2>/dev/null)
for r in '' 'bytes=2-5' 'bytes=-3'; do
  slow=$(curl -sS -D - ${r:+-H "Range: $r"} "$url" | grep -viE '^(date|x-amz-request-id):' | tr -d '\r')
  fast=$(scurl GET /test/fast/fx -D - ${r:+-H "Range: $r"} | grep -viE '^(date|x-amz-request-id):' | tr -d '\r')
  is "fast and slow paths give the same answer (headers and body) to a GET${r:+ with Range: $r}" "$fast" "$slow"
done

# ---------------------------------------------------------------------------- shutdown
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"; rc=$?
is "SIGTERM: the server exits 0 and removes its ready file" "$rc $([ -e "$READY" ] && echo present || echo gone)" "0 gone"
SERVER_PID=

# ---------------------------------------------------------------------------- --workers 2
# Two processes on one port, over the same data directory: each curl is a new connection, and
# the primary hands connections to the workers in turn, so concurrent requests meet in both.
READY=$TMP/ready2.json
"$NODE" "$HERE/server.js" --dir "$DATA" --ready-file "$READY" --workers 2 \
  --access-key "$ACCESS" --secret-key "$SECRET" --bucket test ${VERBOSE:+--verbose} 2>>"$TMP/server.log" &
SERVER_PID=$!
for _ in $(seq 1 200); do [ -s "$READY" ] && break; kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
like "--workers 2: the ready file names the primary, once both workers listen" "$(cat "$READY" 2>&1)" "^\{\"port\":[0-9]+,\"pid\":$SERVER_PID\}$"
BASE=http://127.0.0.1:$(json v.port <"$READY")
workers_seen=$(for _ in 1 2 3 4 5 6; do control GET health | json 'v.pid + " " + v.worker'; done | sort -u)
is "--workers 2: health from 6 connections: one primary, two worker processes" \
  "$(printf '%s\n' "$workers_seen" | cut -d' ' -f1 | sort -u) $(printf '%s\n' "$workers_seen" | wc -l)" "$SERVER_PID 2"
is "--workers 2: GetObject of an object the first server wrote" "$(scurl GET /test/cond/a | md5sum | cut -c1-32)" "$(md5sum <"$TMP/part" | cut -c1-32)"
control DELETE stats >/dev/null
for i in $(seq 1 20); do printf 'racer %02d' "$i" >"$TMP/w$i"; presign PUT /test/workers/new "$TMP/w$i" "$TMP/h$i"; done
pids=()
for i in $(seq 1 20); do curl -sS -o /dev/null -w '%{http_code}\n' -H @"$TMP/h$i" -H 'If-None-Match: *' -T "$TMP/w$i" "$BASE/test/workers/new" >"$TMP/ws$i" & pids+=($!); done
wait "${pids[@]}"
is "--workers 2: 20 concurrent PUTs of a new key with If-None-Match: *: one 200, nineteen 412" "$(cat "$TMP"/ws* | sort | uniq -c | words)" "1 200 19 412"
like "... the object is one writer's whole body" "$(scurl GET /test/workers/new)" '^racer (0[1-9]|1[0-9]|20)$'
et=$(etag_of /test/workers/new)
# (other bodies than the winner's: a PUT of the same bytes keeps the ETag, and a second If-Match wins)
for i in $(seq 1 20); do printf 'matcher %02d' "$i" >"$TMP/w$i"; presign PUT /test/workers/new "$TMP/w$i" "$TMP/h$i"; done
pids=()
for i in $(seq 1 20); do curl -sS -o /dev/null -w '%{http_code}\n' -H @"$TMP/h$i" -H "If-Match: \"$et\"" -T "$TMP/w$i" "$BASE/test/workers/new" >"$TMP/ws$i" & pids+=($!); done
wait "${pids[@]}"
is "--workers 2: 20 concurrent PUTs with the same If-Match: one 200, nineteen 412" "$(cat "$TMP"/ws* | sort | uniq -c | words)" "1 200 19 412"
ls "$DATA"/test/workers/ >"$TMP/lsw"
is "... no lock file is left behind" "$(grep -c '\.lock$' "$TMP/lsw")" 0
status PUT /test/atomic/x -T "$TMP/v0" >/dev/null
for i in $(seq 1 16); do presign PUT /test/atomic/x "$TMP/v$((i % 2))" "$TMP/ph$i"; presign GET /test/atomic/x "" "$TMP/gh$i"; done
rm -f "$TMP"/gb* "$TMP"/gd*
pids=()
for i in $(seq 1 16); do
  curl -sS -o /dev/null -H @"$TMP/ph$i" -T "$TMP/v$((i % 2))" "$BASE/test/atomic/x" & pids+=($!)
  for j in 1 2 3; do curl -sS -D "$TMP/gd$i.$j" -o "$TMP/gb$i.$j" -H @"$TMP/gh$i" "$BASE/test/atomic/x" & pids+=($!); done
done
wait "${pids[@]}"
torn=0
for f in "$TMP"/gb*; do
  d=${f/gb/gd}
  len=$(sed -n 's/^Content-Length: \([0-9]*\)\r$/\1/Ip' "$d")
  et=$(sed -n 's/^ETag: "\(.*\)"\r$/\1/Ip' "$d")
  [ "$(stat -c %s "$f")" = "$len" ] && [ "$(md5sum <"$f" | cut -c1-32)" = "$et" ] || torn=$((torn + 1))
done
is "--workers 2: 48 GETs during 16 PUTs of one key: each returns one whole version" "$torn" 0
control DELETE stats >/dev/null
presign GET /test/range.bin "" "$TMP/gh"
pids=()
for i in $(seq 1 12); do curl -sS -o /dev/null -w '%{http_code}\n' -H @"$TMP/gh" "$BASE/test/range.bin" >"$TMP/ws$i" & pids+=($!); done
wait "${pids[@]}"
is "--workers 2: stats count every request of both workers" \
  "$(control GET stats | json '[v.requests, v.byOperation.GetObject, v.byStatus["200"], v.maxInFlight].join(" ")')" "12 12 12 "
fault '{"method":"GET","path_regex":"^/test/range\\.bin","action":"503","count":3}'
rm -f "$TMP"/ws*
pids=()
for i in $(seq 1 12); do curl -sS -o /dev/null -w '%{http_code}\n' -H @"$TMP/gh" "$BASE/test/range.bin" >"$TMP/ws$i" & pids+=($!); done
wait "${pids[@]}"
is "--workers 2: a fault rule with count=3 hits 3 of 12 concurrent GETs, whichever worker serves them" \
  "$(cat "$TMP"/ws* | sort | uniq -c | words)" "9 200 3 503"
fault '{"method":"GET","path_regex":"^/test/range\\.bin","action":"500","count":100,"every":3}'
is "... every=3: one GET in three, across workers" \
  "$(for _ in $(seq 1 9); do curl -sS -o /dev/null -w '%{http_code}\n' -H @"$TMP/gh" "$BASE/test/range.bin"; done | sort | uniq -c | words)" "6 200 3 500"
control DELETE fault >/dev/null
is "... stats count the faults of both workers" "$(control GET stats | json '[v.requests, v.faults.total].join(" ")')" "33 6"
control POST mode -d '{"no_conditional_writes":true}' >/dev/null
for i in 1 2 3 4; do presign PUT /test/workers/mode "$TMP/w$i" "$TMP/h$i"; done
is "--workers 2: a mode set through one connection holds in both workers" \
  "$(for i in 1 2 3 4; do curl -sS -o /dev/null -w '%{http_code}\n' -H @"$TMP/h$i" -H 'If-None-Match: *' -T "$TMP/w$i" "$BASE/test/workers/mode"; done | words)" "501 501 501 501"
control DELETE mode >/dev/null
fault '{"method":"GET","path_regex":"^/test/range\\.bin","action":"delay","delay_ms":60000,"count":4}'
pids=()
for i in 1 2 3 4; do curl -sS -o /dev/null -w '%{http_code}\n' -H @"$TMP/gh" "$BASE/test/range.bin" >"$TMP/ws$i" & pids+=($!); done
for _ in $(seq 1 100); do [ "$(control GET inflight | json v.delayed)" = 4 ] && break; sleep 0.1; done
is "--workers 2: inflight counts the delayed requests of both workers" "$(control GET inflight | json '[v.total, v.delayed].join(" ")')" "4 4"
is "... release lets all of them go" "$(control POST release | json v.released)" 4
wait "${pids[@]}"
is "... and they are answered" "$(cat "$TMP"/ws[1-4] | words)" "200 200 200 200"
worker_pids=$(printf '%s\n' "$workers_seen" | cut -d' ' -f2 | words)
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"; rc=$?
alive=0; for p in $worker_pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
is "--workers 2: SIGTERM to the primary: it exits 0, its workers are gone, the ready file too" \
  "$rc $alive $([ -e "$READY" ] && echo present || echo gone)" "0 0 gone"
SERVER_PID=

echo "1..$N"
if [ "$FAILED" -ne 0 ]; then
  echo "# $FAILED of $N failed; server log:"
  sed 's/^/#   /' "$TMP/server.log" | tail -n 40
  exit 1
fi
exit 0
