#!/bin/sh
# debian-packages.sh - install what swrepart needs on Debian 12, as root.
#   contrib/debian-packages.sh          build and run
#   contrib/debian-packages.sh --test   also what the test suite needs
set -eu
build="build-essential autoconf automake pkg-config
  libfuse3-dev fuse3 libavro-dev libcurl4-openssl-dev libssl-dev
  libsqlite3-dev libyaml-dev libjansson-dev libxml2-dev zlib1g-dev
  libsnappy-dev ca-certificates"
# python3-avro (+ python3-snappy) reads outputs back independently; awscli
# cross-checks the S3 client; Node runs the S3 test server; mandoc lints
# the man pages; the mount test needs mount(8) and pgrep; clang and its
# libFuzzer runtime build the fuzz harnesses (make fuzz-regress); tmux is
# the real terminal in which sync's live line is checked; man-db runs
# man -l with warnings on.
test="python3 python3-avro python3-snappy python3-yaml awscli mandoc curl
  mount procps clang libclang-rt-14-dev tmux man-db"
pkgs=$build
if [ "${1:-}" = "--test" ]; then
	pkgs="$pkgs $test"
	# A machine may already have Node.js from elsewhere (with its own
	# npm); Debian's npm would conflict with it.
	command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
