/*
 * fuzz_sitewise.c - ListTimeSeries pages as IoT SiteWise (or anything at
 * aws.sitewise_endpoint_url) could send them: the JSON page parser, the
 * nextToken loop and the error answers, through the public
 * sitewise_list_summaries() against the harness's loopback HTTP server
 * (fuzz_common.c).  No retries: every answer is final.
 *
 * Input: up to 16 HTTP answers separated by "\n=====\n".  After the last
 * one the server answers 404, so a listing that keeps asking ends.
 * Invariants: every id handed over is a non-empty string, every other
 * field of a summary none or a non-empty string without control
 * characters (the catalogue shows them, the mount makes paths of aliases)
 * within the API's lengths; a listing that
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

static void
check_field(const char *name, const char *v, size_t max)
{
	const char *p;

	if (v == NULL)
		return;
	FUZZ_ASSERT(v[0] != '\0' && strlen(v) <= max, "%s of %zu bytes",
	    name, strlen(v));
	for (p = v; *p != '\0'; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f,
		    "%s with the control character %#x", name, *p);
}

static sw_err
on_summary(void *arg, const struct sitewise_summary *s)
{
	size_t *n = arg;

	FUZZ_ASSERT(s->series_id != NULL && s->series_id[0] != '\0',
	    "an empty series id");
	check_field("assetId", s->asset_id, 256);
	check_field("propertyId", s->property_id, 256);
	check_field("alias", s->alias, 2048);
	check_field("dataType", s->data_type, 64);
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
	rc = sitewise_list_summaries(&cfg, size % 2 ? "ASSOCIATED" :
	    "DISASSOCIATED", on_summary, &ids);
	FUZZ_ASSERT(rc != SW_OK || fuzz_http_requests() == fuzz_http_used(),
	    "a listing that got a 404 after %u pages succeeded",
	    fuzz_http_used());
	fuzz_http_check(rc, n);
	return 0;
}
