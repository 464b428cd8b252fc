#!/bin/bash
# 30-s3-store.sh - the S3 store against the real test server: runs the
# t_s3live TAP program (pagination, delimiters, odd keys, ranges, 50 MB
# multipart, injected faults, aborts, wrong credentials).
. "${top_srcdir:-.}/tests/integration/lib.sh"
start_s3 live
S3_URL=$S3_URL S3_BUCKET=live "$top_builddir/tests/unit/t_s3live"
