/* t_s3parse.c - the pure parts of the S3 backend: endpoint and addressing
 * style, ListObjectsV2 answers (entities, URL encoding, prefixes,
 * truncation, malformed documents, sizes out of range) and the guard of
 * paged calls (repeated tokens, page limit). */
#include "config.h"

#include <string.h>

#include "aws/http.h"
#include "store/store_s3.h"
#include "tap.h"

static sw_err
collect(void *arg, const struct store_entry *e)
{
	buf_printf(arg, "%s%s:%llu:%s|", e->is_prefix ? "P:" : "", e->key,
	    (unsigned long long)e->size, e->etag);
	return SW_OK;
}

static sw_err
parse(const char *xml, const char *root, struct buf *out, char *token)
{
	struct buf in;
	sw_err rc;

	buf_init(&in);
	buf_puts(&in, xml);
	out->len = 0;
	buf_puts(out, "");
	rc = s3_parse_list(&in, root, collect, out, token, 256, "list 't'");
	buf_release(&in);
	return rc;
}

static void
endpoint(const char *bucket, const char *region, const char *url,
    const char *style, const char *want, const char *name)
{
	struct s3_endpoint e;
	char got[512];

	if (s3_endpoint_resolve(bucket, region, url, style, &e) != SW_OK) {
		ok(0, "%s: %s", name, sw_errmsg());
		return;
	}
	snprintf(got, sizeof(got), "%s://%s%s", e.scheme, e.host,
	    e.path_base);
	is_str(got, want, name);
	s3_endpoint_release(&e);
}

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" \
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

int
main(void)
{
	struct buf out;
	char token[256];
	struct s3_endpoint e;

	endpoint("cold", "eu-west-1", NULL, "auto",
	    "https://cold.s3.eu-west-1.amazonaws.com",
	    "AWS: virtual-hosted by default");
	endpoint("my.cold", "eu-west-1", NULL, "auto",
	    "https://s3.eu-west-1.amazonaws.com/my.cold",
	    "AWS: path style for a bucket with dots");
	endpoint("cold", "us-east-1", NULL, "path",
	    "https://s3.us-east-1.amazonaws.com/cold", "AWS: path style asked");
	endpoint("cold", "us-east-1", "http://127.0.0.1:9000", "auto",
	    "http://127.0.0.1:9000/cold", "custom endpoint implies path style");
	endpoint("cold", "us-east-1", "https://minio.example:9000/", "virtual",
	    "https://cold.minio.example:9000",
	    "custom endpoint, virtual-hosted when asked");
	ok(s3_endpoint_resolve("cold", "r", "http://", "auto", &e) ==
	    SW_ERR_CONFIG, "an endpoint without a host is refused");

	buf_init(&out);
	ok(parse(HEAD "<Name>b</Name><Prefix>raw/</Prefix><KeyCount>3</KeyCount>"
	    "<IsTruncated>false</IsTruncated>"
	    "<Contents><Key>raw/a&amp;b</Key><Size>12</Size>"
	    "<ETag>&quot;abc&quot;</ETag>"
	    "<LastModified>2022-05-05T10:00:00.000Z</LastModified></Contents>"
	    "<Contents><Key>raw/c</Key><Size>0</Size><ETag>\"d\"</ETag></Contents>"
	    "<CommonPrefixes><Prefix>raw/startYear=2022/</Prefix></CommonPrefixes>"
	    "</ListBucketResult>", "", &out, token) == SW_OK, "a listing parses");
	is_str(out.data, "raw/a&b:12:\"abc\"|raw/c:0:\"d\"|"
	    "P:raw/startYear=2022/:0:|", "entities decoded once, prefixes too");
	is_str(token, "", "not truncated: no token");

	ok(parse(HEAD "<EncodingType>url</EncodingType>"
	    "<IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>1ab+/=</NextContinuationToken>"
	    "<Contents><Key>root/sp+ace%2Bplus%C3%BC%26</Key><Size>1</Size>"
	    "<ETag>\"e\"</ETag></Contents>"
	    "<Contents><Key>elsewhere</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>", "root/", &out, token) == SW_OK,
	    "a URL-encoded, truncated listing parses");
	is_str(out.data, "sp ace+plus\xc3\xbc&:1:\"e\"|",
	    "keys URL-decoded, the root stripped, keys outside it dropped");
	is_str(token, "1ab+/=", "the continuation token");

	ok(parse(HEAD "<IsTruncated>true</IsTruncated></ListBucketResult>", "",
	    &out, token) == SW_ERR_PROTO, "truncated without a token: error");
	ok(parse(HEAD "<Contents><Key>k</Key><Size>x1</Size></Contents>"
	    "</ListBucketResult>", "", &out, token) == SW_ERR_PROTO &&
	    strstr(sw_errmsg(), "size of 'x1'"), "a bad size: %s",
	    sw_errmsg());
	/* Sizes another party writes: only plain numbers up to 2^62. */
	{
		static const char *bad[] = { "-1", "-0", "+5", " 5", "5 ",
		    "", "0x10", "1e3", "18446744073709551616",
		    "18446744073709551615", "4611686018427387905", NULL };
		char xml[512];
		int i;

		for (i = 0; bad[i] != NULL; i++) {
			snprintf(xml, sizeof(xml), HEAD "<Contents><Key>day/"
			    "obj.avro</Key><Size>%s</Size></Contents>"
			    "</ListBucketResult>", bad[i]);
			ok(parse(xml, "", &out, token) == SW_ERR_PROTO &&
			    strstr(sw_errmsg(), "'day/obj.avro'") &&
			    out.len == 0, "<Size>%s</Size> is refused, naming "
			    "the key: %s", bad[i], sw_errmsg());
		}
		ok(parse(HEAD "<Contents><Key>k</Key><Size>4611686018427387904"
		    "</Size></Contents></ListBucketResult>", "", &out, token) ==
		    SW_OK && strcmp(out.data, "k:4611686018427387904:|") == 0,
		    "<Size> of 2^62 is the largest believed");
	}
	ok(parse("<Error><Code>AccessDenied</Code></Error>", "", &out, token) ==
	    SW_ERR_PROTO, "an Error document is not a listing");
	ok(parse(HEAD "<Contents><Key>k</Ke", "", &out, token) == SW_ERR_PROTO,
	    "broken XML: error");
	ok(parse("", "", &out, token) == SW_ERR_PROTO, "an empty answer: error");
	ok(parse("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
	    "<ListBucketResult><Contents><Key>&e;</Key><Size>1</Size>"
	    "</Contents></ListBucketResult>", "", &out, token) == SW_OK &&
	    strstr(out.data, "root:") == NULL,
	    "external entities are not loaded");
	buf_release(&out);

	/* The guard of paged calls. */
	{
		struct http_pager pg;
		char tok[32];
		int i;
		sw_err rc = SW_OK;

		http_pager_init(&pg, "list 's3://b/p/'", 1000000);
		for (i = 0; i < 5000 && rc == SW_OK; i++) {
			snprintf(tok, sizeof(tok), "token-%d", i);
			rc = http_pager_next(&pg, tok, strlen(tok));
		}
		ok(rc == SW_OK, "5,000 distinct tokens pass");
		rc = http_pager_next(&pg, "token-4999", 10);
		ok(rc == SW_ERR_PROTO && strstr(sw_errmsg(), "s3://b/p/") &&
		    strstr(sw_errmsg(), "token it gave before"),
		    "the last token again: %s", sw_errmsg());
		http_pager_release(&pg);
		http_pager_init(&pg, "list 's3://b/p/'", 1000000);
		http_pager_next(&pg, "a", 1);
		http_pager_next(&pg, "b", 1);
		http_pager_next(&pg, "c", 1);
		ok(http_pager_next(&pg, "a", 1) == SW_ERR_PROTO,
		    "a repeat of an older token (a cycle a, b, c, a) too");
		http_pager_release(&pg);
		http_pager_init(&pg, "list the time series", 1000000);
		ok(http_pager_next(&pg, "x\0y", 3) == SW_OK &&
		    http_pager_next(&pg, "x\0z", 3) == SW_OK,
		    "tokens are compared whole (NUL inside)");
		ok(http_pager_next(&pg, NULL, 0) == SW_OK, "the last page");
		http_pager_release(&pg);
		http_pager_init(&pg, "list 's3://b/p/'", 3);
		ok(http_pager_next(&pg, "1", 1) == SW_OK &&
		    http_pager_next(&pg, "2", 1) == SW_OK,
		    "two pages of three");
		rc = http_pager_next(&pg, "3", 1);
		ok(rc == SW_ERR_PROTO && strstr(sw_errmsg(), "3 pages") &&
		    strstr(sw_errmsg(), "s3://b/p/"),
		    "a third page that asks for a fourth: %s", sw_errmsg());
		http_pager_release(&pg);
		http_pager_init(&pg, "x", 3);
		http_pager_next(&pg, "1", 1);
		http_pager_next(&pg, "2", 1);
		ok(http_pager_next(&pg, NULL, 0) == SW_OK,
		    "the third page may be the last");
		http_pager_release(&pg);
		http_pager_release(NULL);
	}
	return done_testing();
}
