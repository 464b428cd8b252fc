/*
 * fuzz_s3list.c - the ListObjectsV2 answer parser (s3_parse_list) and the
 * libxml2 helpers every S3 answer goes through (xml_parse, xml_text: the
 * Error documents, CompleteMultipartUpload, ListMultipartUploads).
 *
 * Input: the store's root (first line), then the XML document.
 * Invariants: every entry has a key and an ETag string, a common prefix
 * has no size; the continuation token is NUL-terminated within its
 * buffer; a document that is not a listing is a protocol error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/http.h"
#include "aws/xml.h"
#include "store/store_s3.h"
#include "fuzz_common.h"
#include "base/util.h"

struct seen {
	size_t n;
	size_t keybytes;
};

static sw_err
on_entry(void *arg, const struct store_entry *e)
{
	struct seen *s = arg;

	FUZZ_ASSERT(e->key != NULL && e->etag != NULL, "entry without key");
	s->keybytes += strlen(e->key) + strlen(e->etag);
	FUZZ_ASSERT(!e->is_prefix || e->size == 0, "a prefix with a size");
	s->n++;
	return s->n > 5000 ? sw_seterr(SW_ERR_INTERNAL, "enough") : SW_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[2];
	size_t len[2];
	struct buf xml;
	struct seen s = { 0, 0 };
	char token[1024], code[128], msg[512];
	char *root;
	xmlDoc *doc;
	xmlNode *rn;
	sw_err rc;

	fuzz_init();
	if (size > 256 * 1024)
		return 0;
	if (fuzz_split(data, size, "\n", p, len, 2) < 2)
		return 0;
	root = fuzz_strndup(p[0], len[0]);
	buf_init(&xml);
	buf_append(&xml, p[1], len[1]);
	memset(token, 'x', sizeof(token));
	rc = s3_parse_list(&xml, root, on_entry, &s, token, sizeof(token),
	    "list 's3://fuzz/'");
	FUZZ_ASSERT(memchr(token, '\0', sizeof(token)) != NULL,
	    "token not terminated");
	FUZZ_ASSERT(rc == SW_OK || rc == SW_ERR_PROTO ||
	    (rc == SW_ERR_INTERNAL && s.n > 5000), "s3_parse_list: %s (%s)",
	    sw_errname(rc), sw_errmsg());

	/* The same document as an error answer or another S3 answer. */
	doc = xml_parse(&xml);
	rn = doc ? xmlDocGetRootElement(doc) : NULL;
	if (rn != NULL) {
		xml_text(rn, "Code", code, sizeof(code));
		xml_text(rn, "Message", msg, sizeof(msg));
		xml_text(rn, "UploadId", msg, sizeof(msg));
		FUZZ_ASSERT(strlen(code) < sizeof(code) &&
		    strlen(msg) < sizeof(msg), "xml_text overflow");
	}
	xmlFreeDoc(doc);
	buf_release(&xml);
	free(root);
	return 0;
}
