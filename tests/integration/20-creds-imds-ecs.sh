#!/bin/bash
# 20-creds-imds-ecs.sh - credentials from the EC2 instance metadata service
# (IMDSv2, IMDSv1 fallback) and the ECS container endpoint, against a mock
# of both (creds_mock.py).  The checks themselves live in the unit test
# program, run as "t_creds --mock PORT"; its TAP output is this test's.
#
# Environment (set by make check): top_srcdir, top_builddir; T_CREDS
# overrides the path of the t_creds program.
set -u

py=/usr/bin/python3
if [ ! -x "$py" ]; then
	# A skip the way tap-driver.sh understands it (it reports any
	# non-zero exit status, 77 included, as an error).
	echo "1..0 # SKIP $py not found: the mock metadata server needs it"
	exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$here/../..}
builddir=${top_builddir:-$srcdir}
t_creds=${T_CREDS:-$builddir/tests/unit/t_creds}
if [ ! -x "$t_creds" ]; then
	echo "Bail out! $t_creds is not built (make check builds it)"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/swrepart-creds.XXXXXX") || exit 1
mock_pid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	if [ -n "$mock_pid" ]; then
		kill "$mock_pid" 2>/dev/null
		wait "$mock_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Not a real secret, but passed the way real ones are: in the environment.
CREDS_MOCK_ECS_TOKEN="mock-ecs-$$-$RANDOM$RANDOM"
export CREDS_MOCK_ECS_TOKEN

"$py" "$srcdir/tests/integration/creds_mock.py" --port-file "$tmp/port" \
	2>"$tmp/mock.log" &
mock_pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/port" ] && break
	kill -0 "$mock_pid" 2>/dev/null || break
	sleep 0.1
done
if [ ! -s "$tmp/port" ]; then
	echo "Bail out! the mock metadata server did not start"
	sed 's/^/# mock: /' "$tmp/mock.log"
	exit 1
fi
port=$(cat "$tmp/port")
echo "# mock IMDS and ECS endpoint on 127.0.0.1:$port"

TMPDIR=$tmp "$t_creds" --mock "$port"
rc=$?
if [ "$rc" -ne 0 ]; then
	sed 's/^/# mock: /' "$tmp/mock.log"
fi
exit "$rc"
