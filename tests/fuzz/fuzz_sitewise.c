/*
 * fuzz_sitewise.c - ListTimeSeries pages as IoT SiteWise (or anything at
 * aws.sitewise_endpoint_url) could send them: the JSON page parser, the
 * nextToken loop and the error answers, through the public
 * sitewise_list_timeseries() against the harness's loopback HTTP server
 * (fuzz_common.c).  No retries: every answer is final.
 *
 * Input: up to 16 HTTP answers separated by "\n=====\n".  After the last
 * one the server answers 404, so a listing that keeps asking ends.
 * Invariants: every id handed over is a non-empty string; a listing that
 * succeeds used only answers that were given; requests stay bounded and
 * carry no header line of the answers' making; no answer makes an
 * internal error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "aws/sitewise.h"
#include "base/options.h"

#define SEP "\n=====\n"

static struct sw_config cfg;

static sw_err
on_id(void *arg, const char *id)
{
	size_t *n = arg;

	FUZZ_ASSERT(id != NULL && id[0] != '\0', "an empty series id");
	(*n)++;
	return SW_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[17];
	size_t len[17], n, ids = 0;
	sw_err rc;

	fuzz_aws_config(&cfg, &cfg.sitewise_endpoint_url);
	if (size > 64 * 1024)
		return 0;
	n = fuzz_split(data, size, SEP, p, len, 17);
	fuzz_http_queue(p, len, n > 16 ? 16 : n, 1);
	rc = sitewise_list_timeseries(&cfg, size % 2 ? "ASSOCIATED" :
	    "DISASSOCIATED", on_id, &ids);
	FUZZ_ASSERT(rc != SW_OK || fuzz_http_requests() == fuzz_http_used(),
	    "a listing that got a 404 after %u pages succeeded",
	    fuzz_http_used());
	fuzz_http_check(rc, n);
	return 0;
}
