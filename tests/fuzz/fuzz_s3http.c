/*
 * fuzz_s3http.c - the S3 backend's answers, through the store interface:
 * ListObjectsV2 pages (continuation tokens included), ListMultipartUploads
 * pages and the aborts they lead to, GET (ranged or not), HEAD, PUT and
 * DELETE, with the status, headers and error documents (XML or JSON) that
 * a server or a man in the middle could send.  The answers come from a
 * loopback HTTP server in the harness (fuzz_common.c), so the whole
 * client path runs: http.c's request loop and error mapping, s3.c's
 * parsers and pagers.  No retries (aws.max_retries 0): every answer is
 * final.
 *
 * Input: the operation (a digit 0-8, then a newline), then up to 16 HTTP
 * answers separated by "\n=====\n" (see fuzz_common.h for their form).
 * Invariants: listed keys lie under the prefix asked for and under the
 * store's root; a ranged GET delivers no more than the range; HEAD, GET
 * and PUT give a NUL-terminated ETag; an ETag read and sent back in
 * If-Match adds no header line; errors carry a message, and no answer
 * makes an internal error (that code means a bug of swrepart's).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "base/options.h"
#include "store/store.h"

#define SEP "\n=====\n"
#define PREFIX "raw/startYear=2022/"

static struct sw_config cfg;

struct got {
	size_t n, bytes;
	const char *prefix;
};

static sw_err
on_entry(void *arg, const struct store_entry *e)
{
	struct got *g = arg;

	FUZZ_ASSERT(strncmp(e->key, g->prefix, strlen(g->prefix)) == 0,
	    "list of '%s' gave key '%s'", g->prefix, e->key);
	FUZZ_ASSERT(e->etag != NULL, "no etag");
	g->n++;
	return SW_OK;
}

static sw_err
on_body(void *arg, const void *p, size_t n)
{
	struct got *g = arg;

	(void)p;
	g->bytes += n;
	return SW_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[17];
	size_t len[17], n;
	struct store *st = NULL;
	struct store_info info;
	struct got g = { 0, 0, PREFIX };
	unsigned aborted = 0;
	int op;
	sw_err rc;

	fuzz_aws_config(&cfg, &cfg.endpoint_url);
	if (size < 2 || data[1] != '\n' || size > 64 * 1024)
		return 0;
	op = (uint8_t)(data[0] - '0') % 9;
	n = fuzz_split(data + 2, size - 2, SEP, p, len, 17);
	fuzz_http_queue(p, len, n > 16 ? 16 : n, 1);
	if (store_open("s3://fuzz-bucket/root/", &cfg, &st) != SW_OK) {
		FUZZ_ASSERT(0, "store_open: %s", sw_errmsg());
	}
	memset(&info, 0, sizeof(info));
	switch (op) {
	case 0:
		rc = store_list(st, PREFIX, NULL, NULL, on_entry, &g);
		break;
	case 1:
		rc = store_list(st, PREFIX, "/", PREFIX "startMonth=1/",
		    on_entry, &g);
		break;
	case 2:
		rc = store_get(st, "day.avro", 10, 20, on_body, &g, &info);
		FUZZ_ASSERT(rc != SW_OK || g.bytes <= 20, "a GET of 20 bytes "
		    "delivered %zu", g.bytes);
		break;
	case 3:
		rc = store_get(st, "day.avro", 0, 0, on_body, &g, &info);
		break;
	case 4:
		rc = store_head(st, "day.avro", &info);
		break;
	case 5:
		rc = store_put_mem(st, "index/day.json", "{}", 2, NULL, &info);
		break;
	case 6:
		rc = store_delete(st, "day.avro");
		break;
	case 7:
		rc = store_abort_uploads(st, "day.avro", &aborted);
		break;
	default:
		/* As publish.c replaces a manifest: the ETag read, then a
		 * PUT that replaces that version only. */
		rc = store_head(st, "index/m.json", &info);
		if (rc == SW_OK) {
			struct store_put_opts po = { .if_match = info.etag };
			char etag[sizeof(info.etag)];

			snprintf(etag, sizeof(etag), "%s", info.etag);
			po.if_match = etag;
			rc = store_put_mem(st, "index/m.json", "{}", 2, &po,
			    &info);
		}
		break;
	}
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "op %d: %s %s\n", op, sw_errname(rc),
		    rc == SW_OK ? "" : sw_errmsg());
	FUZZ_ASSERT(memchr(info.etag, '\0', sizeof(info.etag)) != NULL,
	    "etag not terminated");
	fuzz_http_check(rc, n);
	store_free(st);
	return 0;
}
