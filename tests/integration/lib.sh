# lib.sh - shared helpers for the integration tests (sourced, POSIX sh + bash).
#
# Each test prints TAP, skips with a reason ("1..0 # SKIP why") where
# something it needs is truly absent, and cleans up what it started (by PID) and its
# temporary directory, whatever way it exits.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SWREPART:=$top_builddir/swrepart}"
PY=/usr/bin/python3
AWS=/usr/bin/aws
AVRO_TOOL="$top_srcdir/tests/integration/avro_tool.py"

T=$(mktemp -d "${TMPDIR:-/tmp}/swrepart-test.XXXXXX")
PIDS=""
_n=0
_failed=0

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A skip as TAP says it (automake's tap-driver counts a non-zero exit
# status, 77 included, as an error).
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

ok() {  # ok COND_STATUS NAME
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
	[ "$1" -eq 0 ]
}

# check NAME CMD...: runs CMD, ok when it exits 0; shows its output if not.
check() {
	_name=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		ok 0 "$_name"
	else
		ok 1 "$_name"
		sed 's/^/# /' "$T/out" | head -n 40
	fi
}

# fails NAME STATUS PATTERN CMD...: CMD must exit with STATUS and print
# (stdout or stderr) a line matching the extended regex PATTERN.
fails() {
	_name=$1 _want=$2 _pat=$3
	shift 3
	"$@" >"$T/out" 2>&1
	_st=$?
	if [ "$_st" -eq "$_want" ] && grep -Eq -- "$_pat" "$T/out"; then
		ok 0 "$_name"
	else
		ok 1 "$_name"
		echo "# exit status $_st (wanted $_want), output:"
		sed 's/^/# /' "$T/out" | head -n 20
	fi
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

need_python_avro() {
	[ -x "$PY" ] && "$PY" -c 'import avro, snappy' 2>/dev/null ||
		skip_all "Debian's python3-avro and python3-snappy are not installed"
}

# start_s3: start the test S3 server; sets S3_PORT, S3_URL, S3_DIR and the
# AWS_* variables the clients use.  Buckets: "$@".
start_s3() {
	_node=${NODE:-$(command -v node)}
	[ -n "$_node" ] || skip_all "node is not installed"
	_mods=${SWREPART_S3SERVER_MODULES:-$top_srcdir/tests/s3server/node_modules}
	[ -d "$_mods/@20minutes/s3rver" ] ||
		skip_all "the S3 test server is not installed (cd tests/s3server && npm ci)"
	S3_DIR="$T/s3data"
	mkdir -p "$S3_DIR"
	_args=""
	for b in "$@"; do _args="$_args --bucket $b"; done
	# shellcheck disable=SC2086
	NODE_PATH="$_mods" "$_node" "$top_srcdir/tests/s3server/server.js" \
		--dir "$S3_DIR" --port 0 --ready-file "$T/s3.ready" \
		--access-key swrepart-test --secret-key swrepart-test-secret \
		$_args >"$T/s3.log" 2>&1 &
	S3_PID=$!
	PIDS="$PIDS $S3_PID"
	_i=0
	while [ ! -s "$T/s3.ready" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 300 ] || ! kill -0 "$S3_PID" 2>/dev/null; then
			echo "# the S3 test server did not start:"
			sed 's/^/# /' "$T/s3.log"
			echo "Bail out! no S3 server"
			exit 1
		fi
		sleep 0.1
	done
	S3_PORT=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$T/s3.ready")
	S3_URL="http://127.0.0.1:$S3_PORT"
	export AWS_ACCESS_KEY_ID=swrepart-test
	export AWS_SECRET_ACCESS_KEY=swrepart-test-secret
	export AWS_REGION=us-east-1
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_CA_BUNDLE
	export AWS_EC2_METADATA_DISABLED=true
	export AWS_CONFIG_FILE="$T/aws-config"
	export AWS_SHARED_CREDENTIALS_FILE="$T/aws-credentials"
	printf '[default]\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
	: >"$AWS_SHARED_CREDENTIALS_FILE"
}

# s3ctl METHOD PATH [JSON]: the test server's control endpoint.
s3ctl() {
	if [ -n "${3:-}" ]; then
		curl -sf -X "$1" -H 'Content-Type: application/json' \
			--data "$3" "$S3_URL/__control/$2"
	else
		curl -sf -X "$1" "$S3_URL/__control/$2"
	fi
}

# s3_settle: end every delay the server holds and wait until it has no
# request in progress.  A client killed while the server delayed its PUT
# may still have its request carried out (the server cannot see it gone
# behind an unread body); this makes that happen now, not later.
s3_settle() {
	s3ctl POST release >/dev/null || return 1
	_w=0
	while [ "$(s3ctl GET inflight | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total"])')" != 0 ]; do
		_w=$((_w + 1))
		[ "$_w" -lt 300 ] || return 1
		sleep 0.1
	done
}

# sw ARGS...: swrepart against the test server, quick to give up.
sw() {
	"$SWREPART" --endpoint-url "$S3_URL" --retry-max-time 30 "$@"
}

awscli() {
	"$AWS" --endpoint-url "$S3_URL" "$@"
}

# flip_bit FILE DIVISOR MASK: damage FILE in one byte, the one at
# size/DIVISOR, by XOR with MASK (a disk's or a hand's doing).
flip_bit() {
	"$PY" - "$1" "$2" "$3" <<'PYEOF'
import os, sys
p, div, mask = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 0)
with open(p, 'r+b') as f:
    f.seek(os.path.getsize(p) // div)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ mask]))
PYEOF
}
