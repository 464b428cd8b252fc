/*
 * t_s3live.c - the S3 store against the real, signature-checking test
 * server (started by tests/integration/30-s3-store.sh, which passes
 * S3_URL and S3_BUCKET).  Covers pagination, delimiters, odd keys, ranges,
 * multipart, retries under injected faults, resumed bodies, abort of a
 * failed multipart upload, error reporting, conditional writes (and a store
 * without them), answers never retried (501, 403), housekeeping on a store
 * without multipart listing, listings that repeat their token and sizes
 * that cannot be.  Skips without a server.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "base/options.h"
#include "base/pool.h"
#include "store/store.h"
#include "tap.h"
#include "testlib.h"
#include "base/util.h"

static const char *server;

/* ---- the control endpoint ---- */

static size_t
to_buf_cb(char *p, size_t s, size_t n, void *arg)
{
	buf_append(arg, p, s * n);
	return s * n;
}

static json_t *
control(const char *method, const char *path, const char *body)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	struct buf url, out;
	json_t *j = NULL;

	buf_init(&url);
	buf_init(&out);
	buf_printf(&url, "%s/__control/%s", server, path);
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	if (body != NULL) {
		hd = curl_slist_append(hd, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	if (curl_easy_perform(h) == CURLE_OK && out.len > 0)
		j = json_loads(out.data, 0, NULL);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	buf_release(&url);
	buf_release(&out);
	return j;
}

static void
fault(const char *method, const char *regex, const char *action, int count)
{
	char body[512];
	json_t *j;

	snprintf(body, sizeof(body), "{\"method\":\"%s\",\"path_regex\":\"%s\","
	    "\"action\":\"%s\",\"count\":%d,\"delay_ms\":50}", method, regex,
	    action, count);
	j = control("POST", "fault", body);
	if (j == NULL)
		diag("could not add the fault rule %s", body);
	json_decref(j);
}

static void
reset_stats(void)
{
	json_decref(control("DELETE", "stats", NULL));
	json_decref(control("DELETE", "fault", NULL));
}

/* One figure of the server's stats since the last reset: group
 * "byOperation" (requests) or "maxInFlight" (most at once) of op. */
static long
op_stat(const char *group, const char *op)
{
	json_t *j = control("GET", "stats", NULL);
	long n = (long)json_integer_value(json_object_get(json_object_get(j,
	    group), op));

	json_decref(j);
	return n;
}

/* Requests of one S3 operation since the last reset. */
static long
op_count(const char *op)
{
	return op_stat("byOperation", op);
}

static long
fault_count(void)
{
	json_t *j = control("GET", "stats", NULL);
	long n = (long)json_integer_value(json_object_get(json_object_get(j,
	    "faults"), "total"));

	json_decref(j);
	return n;
}

/* Switch the server's modes (see tests/s3server/README.md). */
static void
mode(const char *json)
{
	json_t *j = control("POST", "mode", json);

	if (j == NULL || json_object_get(j, "error") != NULL)
		diag("could not set the mode %s", json);
	json_decref(j);
}

/* ---- helpers ---- */

struct listing {
	struct buf out;
	long n;
};

static sw_err
collect(void *arg, const struct store_entry *e)
{
	struct listing *l = arg;

	buf_printf(&l->out, "%s%s|", e->is_prefix ? "P:" : "", e->key);
	l->n++;
	return SW_OK;
}

static const char *
list(struct store *st, const char *prefix, const char *delim,
    const char *after, long *n)
{
	static struct listing l;

	buf_release(&l.out);
	buf_puts(&l.out, "");
	l.n = 0;
	if (store_list(st, prefix, delim, after, collect, &l) != SW_OK) {
		diag("list failed: %s", sw_errmsg());
		return "(error)";
	}
	if (n != NULL)
		*n = l.n;
	return l.out.data;
}

static sw_err
sink_sha(void *arg, const void *p, size_t n)
{
	EVP_DigestUpdate(arg, p, n);
	return SW_OK;
}

static sw_err
sink_fail(void *arg, const void *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return sw_seterr(SW_ERR_IO, "the sink is full");
}

struct put_job {
	struct store *st;
	char key[64];
};

static sw_err
put_job(void *arg)
{
	struct put_job *j = arg;

	return store_put_mem(j->st, j->key, j->key, strlen(j->key), NULL, NULL);
}

static void
cfg_for(struct sw_config *cfg, int retries)
{
	config_defaults(cfg);
	free(cfg->endpoint_url);
	cfg->endpoint_url = xstrdup(server);
	cfg->max_retries = retries;
	cfg->retry_max_time = 60;
	cfg->part_size = 8u << 20;
	cfg->multipart_threshold = 16u << 20;
}

/* A deterministic file of n bytes; returns its fd and hex SHA-256. */
static int
make_file(const char *path, size_t n, char sha[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char chunk[65536], d[32];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t done = 0, i;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while (done < n) {
		size_t m = n - done < sizeof(chunk) ? n - done : sizeof(chunk);

		for (i = 0; i < m; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			chunk[i] = (unsigned char)x;
		}
		if (write(fd, chunk, m) != (ssize_t)m)
			abort();
		EVP_DigestUpdate(md, chunk, m);
		done += m;
	}
	EVP_DigestFinal_ex(md, d, NULL);
	hex_encode(d, 32, sha);
	EVP_MD_CTX_free(md);
	return fd;
}

static void
get_sha(struct store *st, const char *key, char sha[65], sw_err *rc)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[32];

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	*rc = store_get(st, key, 0, 0, sink_sha, md, NULL);
	EVP_DigestFinal_ex(md, d, NULL);
	hex_encode(d, 32, sha);
	EVP_MD_CTX_free(md);
}

int
main(void)
{
	const char *bucket = getenv("S3_BUCKET");
	struct sw_config cfg, cfg0, cfgbad;
	struct store *st, *st0, *bad;
	struct store_info info;
	struct pool *pool;
	struct batch b;
	struct put_job *jobs;
	struct buf got, url;
	const char *tmpdir;
	char path[256], sha[65], sha2[65];
	long n;
	int i, fd;
	sw_err rc;
	static const char *odd[] = { "odd/!'()*.avro", "odd/a&b<c>\"d'.txt",
		"odd/eq=and?q#h", "odd/plus+sign", "odd/sp ace",
		"odd/\xc3\xbcnic\xc3\xb6" "de", "odd/~tilde%25", NULL };

	server = getenv("S3_URL");
	if (server == NULL || bucket == NULL)
		skip_all("S3_URL and S3_BUCKET not set (run by "
		    "tests/integration/30-s3-store.sh)");
	tmpdir = test_tmpdir("t_s3live");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	buf_init(&url);
	buf_printf(&url, "s3://%s/", bucket);
	cfg_for(&cfg, 8);
	cfg_for(&cfg0, 1);
	ok(store_open(url.data, &cfg, &st) == SW_OK, "open %s at %s: %s",
	    url.data, server, sw_errmsg());
	ok(store_open(url.data, &cfg0, &st0) == SW_OK,
	    "open a second client with one retry");
	reset_stats();

	/* 1,100 keys in parallel, then a paged listing. */
	ok(pool_new(16, &pool) == SW_OK, "16 workers");
	jobs = xcalloc(1100, sizeof(*jobs));
	batch_init(&b, pool, 1);
	for (i = 0; i < 1100; i++) {
		jobs[i].st = st;
		snprintf(jobs[i].key, sizeof(jobs[i].key), "many/k%04d", i);
		batch_submit(&b, put_job, &jobs[i]);
	}
	ok(batch_wait(&b) == SW_OK, "1,100 parallel PUTs: %s", sw_errmsg());
	batch_release(&b);
	reset_stats();
	list(st, "many/", NULL, NULL, &n);
	is_int(n, 1100, "listing pages past 1,000 keys");
	is_int(op_count("ListObjectsV2"), 2, "in two ListObjectsV2 pages");
	list(st, "many/", NULL, "many/k0995", &n);
	is_int(n, 104, "start-after inside the second page");

	/* Delimiters at every level of the cold-tier layout. */
	{
		static const char *keys[] = {
		    "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=0a/x",
		    "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=ff/y",
		    "raw/startYear=2022/startMonth=5/startDay=30/seriesBucket=0a/z",
		    "raw/startYear=2022/startMonth=12/startDay=1/seriesBucket=0a/w",
		    "raw/startYear=2023/startMonth=1/startDay=1/seriesBucket=0a/v",
		    "asset_metadata/asset_1.ndjson", NULL };

		for (i = 0; keys[i] != NULL; i++)
			store_put_mem(st, keys[i], "x", 1, NULL, NULL);
		is_str(list(st, "", "/", NULL, NULL),
		    "P:asset_metadata/|P:many/|P:raw/|", "root level");
		is_str(list(st, "raw/", "/", NULL, NULL),
		    "P:raw/startYear=2022/|P:raw/startYear=2023/|", "years");
		is_str(list(st, "raw/startYear=2022/", "/", NULL, NULL),
		    "P:raw/startYear=2022/startMonth=12/|"
		    "P:raw/startYear=2022/startMonth=5/|", "months");
		is_str(list(st, "raw/startYear=2022/startMonth=5/", "/", NULL,
		    NULL), "P:raw/startYear=2022/startMonth=5/startDay=3/|"
		    "P:raw/startYear=2022/startMonth=5/startDay=30/|", "days");
		is_str(list(st, "raw/startYear=2022/startMonth=5/startDay=3/",
		    "/", NULL, NULL),
		    "P:raw/startYear=2022/startMonth=5/startDay=3/"
		    "seriesBucket=0a/|P:raw/startYear=2022/startMonth=5/"
		    "startDay=3/seriesBucket=ff/|", "series buckets");
		is_str(list(st, "raw/startYear=2022/startMonth=5/startDay=3/",
		    NULL, NULL, NULL),
		    "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket="
		    "0a/x|raw/startYear=2022/startMonth=5/startDay=3/"
		    "seriesBucket=ff/y|", "a day, flat");
	}

	/* Keys that need encoding, in the path and in the listing query. */
	buf_init(&got);
	for (i = 0; odd[i] != NULL; i++)
		ok(store_put_mem(st, odd[i], odd[i], strlen(odd[i]), NULL,
		    NULL) == SW_OK, "put '%s': %s", odd[i], sw_errmsg());
	list(st, "odd/", NULL, NULL, &n);
	is_int(n, 7, "odd keys listed");
	is_str(list(st, "odd/!'()*", NULL, NULL, NULL), "odd/!'()*.avro|",
	    "listing with !'()* in the prefix");
	is_str(list(st, "odd/a&b", NULL, NULL, NULL), "odd/a&b<c>\"d'.txt|",
	    "listing a key with XML specials");
	for (i = 0; odd[i] != NULL; i++) {
		got.len = 0;
		rc = store_get(st, odd[i], 0, 0, buf_sink, &got, NULL);
		ok(rc == SW_OK && got.len == strlen(odd[i]) &&
		    memcmp(got.data, odd[i], got.len) == 0,
		    "get '%s' back", odd[i]);
	}

	/* Ranges and HEAD. */
	got.len = 0;
	ok(store_get(st, "many/k0042", 2, 5, buf_sink, &got, &info) == SW_OK &&
	    got.len == 5 && memcmp(got.data, "ny/k0", 5) == 0,
	    "ranged GET (bytes 2-6)");
	ok(info.size == 10, "the ranged GET reports the whole size (%llu)",
	    (unsigned long long)info.size);
	got.len = 0;
	ok(store_get(st, "many/k0042", 6, 0, buf_sink, &got, NULL) == SW_OK &&
	    got.len == 4 && memcmp(got.data, "0042", 4) == 0,
	    "open-ended range (bytes 6-)");
	ok(store_head(st, "many/k0042", &info) == SW_OK && info.size == 10 &&
	    info.etag[0] == '"', "HEAD gives size and ETag");
	reset_stats();
	ok(store_head(st, "many/nope", &info) == SW_ERR_NOTFOUND,
	    "HEAD of a missing key: not found");
	got.len = 0;
	rc = store_get(st, "many/nope", 0, 0, buf_sink, &got, NULL);
	ok(rc == SW_ERR_NOTFOUND && strstr(sw_errmsg(), "NoSuchKey") &&
	    strstr(sw_errmsg(), "many/nope"), "GET of a missing key: %s",
	    sw_errmsg());
	is_int(op_count("GetObject"), 1, "a 404 is not retried");

	/* 50 MB multipart upload, read back and compared. */
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	fd = make_file(path, 50u << 20, sha);
	reset_stats();
	rc = store_put_fd(st, "big/object", fd, 50u << 20, NULL, &info);
	ok(rc == SW_OK, "50 MB multipart PUT: %s", sw_errmsg());
	is_int(op_count("CreateMultipartUpload"), 1, "one multipart upload");
	is_int(op_count("UploadPart"), 7, "in 7 parts of 8 MiB");
	is_int(op_count("CompleteMultipartUpload"), 1, "completed");
	ok(op_stat("maxInFlight", "UploadPart") == 1, "without a pool lent, "
	    "one part at a time (%ld)", op_stat("maxInFlight", "UploadPart"));
	get_sha(st, "big/object", sha2, &rc);
	ok(rc == SW_OK && strcmp(sha, sha2) == 0, "read back: same SHA-256");

	/* With the caller's pool lent, the parts go up at once; a part held
	 * back by the server does not hold the others, and the parts are
	 * still put together in order. */
	reset_stats();
	fault("PUT", "partNumber=1([^0-9]|$)", "delay", 1);
	{
		struct store_put_opts po = { .pool = pool };

		rc = store_put_fd(st, "big/parallel", fd, 50u << 20, &po,
		    &info);
	}
	ok(rc == SW_OK, "multipart PUT with a slow first part: %s",
	    sw_errmsg());
	ok(op_stat("maxInFlight", "UploadPart") > 1, "parts in flight at "
	    "once: %ld", op_stat("maxInFlight", "UploadPart"));
	get_sha(st, "big/parallel", sha2, &rc);
	ok(rc == SW_OK && strcmp(sha, sha2) == 0, "read back: same SHA-256");
	ok(store_delete(st, "big/parallel") == SW_OK, "deleted");

	/* The caller's part MD5s go as the parts' Content-MD5s: right,
	 * the upload takes them (the ETag is S3's MD5 of the MD5s, or, from
	 * this server, the body's MD5); one wrong, the server refuses that
	 * part and nothing appears. */
	{
		unsigned char parts[7][16], all[16];
		char hex[33], want[48], whole[48];
		EVP_MD_CTX *w = EVP_MD_CTX_new();
		struct store_put_opts po = { .part_md5 =
		    (const unsigned char (*)[16])parts, .nparts = 7,
		    .part_size = 8u << 20 };
		EVP_MD_CTX *x = EVP_MD_CTX_new();
		char *chunk = xcalloc(1, 8u << 20);
		unsigned k;

		for (k = 0; k < 7; k++) {
			size_t len = k < 6 ? 8u << 20 : (50u << 20) - 6 * (8u << 20);

			ok(pread(fd, chunk, len, (off_t)k * (8u << 20)) ==
			    (ssize_t)len, "part %u read", k + 1);
			EVP_Digest(chunk, len, parts[k], NULL, EVP_md5(), NULL);
			if (k == 0)
				EVP_DigestInit_ex(w, EVP_md5(), NULL);
			EVP_DigestUpdate(w, chunk, len);
		}
		EVP_DigestFinal_ex(w, all, NULL);
		EVP_MD_CTX_free(w);
		hex_encode(all, 16, hex);
		snprintf(whole, sizeof(whole), "\"%s\"", hex);
		EVP_DigestInit_ex(x, EVP_md5(), NULL);
		EVP_DigestUpdate(x, parts, sizeof(parts));
		EVP_DigestFinal_ex(x, all, NULL);
		EVP_MD_CTX_free(x);
		hex_encode(all, 16, hex);
		snprintf(want, sizeof(want), "\"%s-7\"", hex);
		rc = store_put_fd(st, "big/given", fd, 50u << 20, &po, &info);
		ok(rc == SW_OK && (strcmp(info.etag, want) == 0 ||
		    strcmp(info.etag, whole) == 0), "the caller's "
		    "part MD5s are taken: ETag %s (%s)", info.etag,
		    sw_errmsg());
		ok(store_delete(st, "big/given") == SW_OK, "deleted");
		parts[3][0] ^= 1;
		reset_stats();
		rc = store_put_fd(st0, "big/given", fd, 50u << 20, &po, &info);
		ok(rc != SW_OK && strstr(sw_errmsg(), "part 4 of 7") &&
		    strstr(sw_errmsg(), "BadDigest"), "a part whose bytes are "
		    "not the caller's MD5 is refused by the server: %s",
		    sw_errmsg());
		is_int(op_count("AbortMultipartUpload"), 1, "the upload is "
		    "aborted");
		ok(store_head(st, "big/given", &info) == SW_ERR_NOTFOUND,
		    "no object appeared");

		/* One PUT: the whole body's MD5. */
		memcpy(chunk, "0123456789", 10);
		EVP_Digest(chunk, 10, all, NULL, EVP_md5(), NULL);
		po = (struct store_put_opts){ .md5 = all };
		ok(store_put_mem(st, "small/given", chunk, 10, &po, &info) ==
		    SW_OK, "one PUT with the caller's MD5");
		all[0] ^= 1;
		rc = store_put_mem(st0, "small/given2", chunk, 10, &po, &info);
		ok(rc != SW_OK && strstr(sw_errmsg(), "BadDigest"),
		    "one PUT with a wrong MD5 is refused: %s", sw_errmsg());
		ok(store_delete(st, "small/given") == SW_OK, "deleted");
		free(chunk);
	}

	/* A part that keeps failing fails the upload, which is aborted. */
	reset_stats();
	fault("PUT", "partNumber=5([^0-9]|$)", "500", 10);
	rc = store_put_fd(st0, "big/badpart", fd, 50u << 20, NULL, NULL);
	ok(rc == SW_ERR_SERVER && strstr(sw_errmsg(), "big/badpart") &&
	    strstr(sw_errmsg(), "part 5 of 7") && strstr(sw_errmsg(), "500"),
	    "a part that keeps failing: %s", sw_errmsg());
	is_int(op_count("AbortMultipartUpload"), 1, "the upload is aborted");
	is_int(op_count("CompleteMultipartUpload"), 0, "and not completed");
	ok(store_head(st, "big/badpart", &info) == SW_ERR_NOTFOUND,
	    "no object appeared");

	/* More than the 10,000 parts S3 allows: refused before any request
	 * (a config check stops parts under 5M; this client skips it). */
	{
		struct sw_config cfg1;
		struct store *st1;

		cfg_for(&cfg1, 1);
		cfg1.part_size = cfg1.multipart_threshold = 4096;
		ok(store_open(url.data, &cfg1, &st1) == SW_OK,
		    "open a client with 4 KiB parts");
		reset_stats();
		rc = store_put_fd(st1, "big/toomany", fd, 50u << 20, NULL, NULL);
		ok(rc == SW_ERR_CONFIG && strstr(sw_errmsg(), "big/toomany") &&
		    strstr(sw_errmsg(), "aws.multipart_part_size"),
		    "12,800 parts are refused: %s", sw_errmsg());
		is_int(op_count("CreateMultipartUpload"), 0,
		    "before the upload starts");
		store_free(st1);
		config_release(&cfg1);
	}

	/* A cut-off body resumes where it stopped, with the same bytes. */
	reset_stats();
	fault("GET", "big/object", "truncate", 2);
	get_sha(st, "big/object", sha2, &rc);
	ok(rc == SW_OK && strcmp(sha, sha2) == 0,
	    "two truncated bodies: resumed, same SHA-256 (%s)", sw_errmsg());
	is_int(op_count("GetObject"), 3, "three GETs");
	is_int(fault_count(), 2, "both faults were injected");

	/* Retries on 503 SlowDown, 500, resets; puts too. */
	reset_stats();
	fault("GET", "many/k0001", "slowdown", 2);
	fault("GET", "many/k0001", "reset", 1);
	fault("GET", "many/k0001", "500", 1);
	got.len = 0;
	ok(store_get(st, "many/k0001", 0, 0, buf_sink, &got, NULL) == SW_OK &&
	    got.len == 10, "GET survives SlowDown, 503, reset and 500: %s",
	    sw_errmsg());
	is_int(op_count("GetObject"), 5, "after four retries");
	reset_stats();
	fault("PUT", "retry/put", "503", 2);
	fault("PUT", "retry/put", "reset", 1);
	ok(store_put_mem(st, "retry/put", "payload", 7, NULL, NULL) == SW_OK,
	    "PUT survives 503s and a reset");
	got.len = 0;
	ok(store_get(st, "retry/put", 0, 0, buf_sink, &got, NULL) == SW_OK &&
	    got.len == 7, "and the object is whole");
	reset_stats();
	fault(NULL, "list-type=2", "slowdown", 1);
	list(st, "many/", NULL, NULL, &n);
	is_int(n, 1100, "a listing survives SlowDown");

	/* Bounded: give up after max_retries with the server's code. */
	reset_stats();
	fault("GET", "many/k0002", "slowdown", 10);
	got.len = 0;
	rc = store_get(st0, "many/k0002", 0, 0, buf_sink, &got, NULL);
	ok(rc == SW_ERR_SERVER && strstr(sw_errmsg(), "503 SlowDown") &&
	    strstr(sw_errmsg(), "2 attempts"), "gives up: %s", sw_errmsg());
	is_int(op_count("GetObject"), 2, "after max_retries=1");
	reset_stats();

	/* A failing sink stops the transfer without retries. */
	rc = store_get(st, "big/object", 0, 0, sink_fail, NULL, NULL);
	ok(rc == SW_ERR_IO && strstr(sw_errmsg(), "sink is full"),
	    "a sink error stops the GET: %s", sw_errmsg());
	is_int(op_count("GetObject"), 1, "and is not retried");

	/* A multipart upload that cannot complete is aborted. */
	reset_stats();
	fault("POST", "uploadId=", "500", 10);
	rc = store_put_fd(st0, "big/failed", fd, 20u << 20, NULL, NULL);
	ok(rc == SW_ERR_SERVER, "multipart PUT fails when Complete keeps "
	    "failing: %s", sw_errmsg());
	is_int(op_count("AbortMultipartUpload"), 1, "the upload is aborted");
	{
		json_t *j = control("GET", "uploads", NULL);
		size_t left = json_array_size(json_object_get(j, "uploads"));

		is_int((long long)left, 0, "no multipart upload is left behind");
		json_decref(j);
	}
	ok(store_head(st, "big/failed", &info) == SW_ERR_NOTFOUND,
	    "and no object appeared");
	reset_stats();
	close(fd);
	unlink(path);

	/* Conditional writes. */
	{
		struct store_put_opts create = { 0 }, replace = { 0 };
		struct store_info i1, i2;
		char etag[80];

		create.if_none_match = 1;
		reset_stats();
		ok(store_put_mem(st, "cond/m", "one", 3, &create, &i1) == SW_OK,
		    "If-None-Match: a new key is created: %s", sw_errmsg());
		rc = store_put_mem(st, "cond/m", "two", 3, &create, NULL);
		ok(rc == SW_ERR_EXISTS && strstr(sw_errmsg(), "s3://live/cond/m")
		    && strstr(sw_errmsg(), "another writer") &&
		    strstr(sw_errmsg(), "412 PreconditionFailed"),
		    "If-None-Match on an existing key: %s", sw_errmsg());
		is_int(op_count("PutObject"), 2, "a 412 is not retried");
		ok(store_head(st, "cond/m", &i2) == SW_OK &&
		    strcmp(i1.etag, i2.etag) == 0, "the put reports the ETag");
		snprintf(etag, sizeof(etag), "%s", i2.etag);
		replace.if_match = etag;
		ok(store_put_mem(st, "cond/m", "two", 3, &replace, &i1) ==
		    SW_OK, "If-Match with the current ETag replaces: %s",
		    sw_errmsg());
		rc = store_put_mem(st, "cond/m", "six", 3, &replace, NULL);
		ok(rc == SW_ERR_EXISTS && strstr(sw_errmsg(), "cond/m") &&
		    strstr(sw_errmsg(), "was changed by another writer"),
		    "If-Match with a stale ETag: %s", sw_errmsg());
		got.len = 0;
		ok(store_get(st, "cond/m", 0, 0, buf_sink, &got, NULL) ==
		    SW_OK && got.len == 3 && memcmp(got.data, "two", 3) == 0,
		    "the object is the one If-Match let through");
		store_delete(st, "cond/m");
		rc = store_put_mem(st, "cond/m", "x", 1, &replace, NULL);
		ok(rc == SW_ERR_EXISTS && strstr(sw_errmsg(), "deleted"),
		    "If-Match on a deleted key: %s", sw_errmsg());

		/* S3's 409 ConditionalRequestConflict is retried. */
		reset_stats();
		fault("PUT", "cond/c", "conflict", 2);
		ok(store_put_mem(st, "cond/c", "c", 1, &create, NULL) == SW_OK,
		    "two 409 ConditionalRequestConflict, then the put: %s",
		    sw_errmsg());
		is_int(op_count("PutObject"), 3, "in three PutObject requests");

		/* Multipart: the conditions go on CompleteMultipartUpload. */
		snprintf(path, sizeof(path), "%s/cond", tmpdir);
		fd = make_file(path, 20u << 20, sha);
		reset_stats();
		rc = store_put_fd(st, "big/object", fd, 20u << 20, &create,
		    NULL);
		ok(rc == SW_ERR_EXISTS && strstr(sw_errmsg(), "big/object"),
		    "multipart with If-None-Match over an object: %s",
		    sw_errmsg());
		is_int(op_count("CompleteMultipartUpload"), 1,
		    "refused at CompleteMultipartUpload");
		is_int(op_count("AbortMultipartUpload"), 1, "which is aborted");
		ok(store_head(st, "big/object", &i1) == SW_OK &&
		    i1.size == 50u << 20, "the object is unchanged");
		replace.if_match = i1.etag;
		ok(store_put_fd(st, "big/object", fd, 20u << 20, &replace,
		    &i2) == SW_OK && i2.size == 20u << 20,
		    "multipart with If-Match of the object's ETag: %s",
		    sw_errmsg());
		get_sha(st, "big/object", sha2, &rc);
		ok(rc == SW_OK && strcmp(sha, sha2) == 0,
		    "read back: the new content");
		rc = store_put_fd(st, "big/object", fd, 20u << 20, &replace,
		    NULL);
		ok(rc == SW_ERR_EXISTS && strstr(sw_errmsg(), "big/object") &&
		    strstr(sw_errmsg(), "changed by another writer"),
		    "and again with that (stale) ETag: %s", sw_errmsg());
		close(fd);
		unlink(path);

		/* A store without conditional writes: 501, once. */
		mode("{\"no_conditional_writes\":true}");
		reset_stats();
		rc = store_put_mem(st, "cond/n", "x", 1, &create, NULL);
		ok(rc == SW_ERR_UNSUPPORTED && strstr(sw_errmsg(), "cond/n") &&
		    strstr(sw_errmsg(), "If-None-Match") &&
		    strstr(sw_errmsg(), "conditional writes"),
		    "no conditional writes, If-None-Match: %s", sw_errmsg());
		replace.if_match = "\"0123\"";
		rc = store_put_mem(st, "cond/n", "x", 1, &replace, NULL);
		ok(rc == SW_ERR_UNSUPPORTED && strstr(sw_errmsg(), "If-Match"),
		    "no conditional writes, If-Match: %s", sw_errmsg());
		is_int(op_count("PutObject"), 2, "each in one request (a 501 "
		    "is not retried)");
		ok(store_put_mem(st, "cond/n", "x", 1, NULL, NULL) == SW_OK,
		    "an unconditional put still works");
		json_decref(control("DELETE", "mode", NULL));
	}

	/* Never retried: 501 and 4xx other than throttling. */
	reset_stats();
	fault("GET", "many/k0003", "501", 5);
	got.len = 0;
	rc = store_get(st, "many/k0003", 0, 0, buf_sink, &got, NULL);
	ok(rc == SW_ERR_UNSUPPORTED && strstr(sw_errmsg(), "501 NotImplemented"),
	    "a 501 answer: %s", sw_errmsg());
	is_int(op_count("GetObject"), 1, "is not retried");
	reset_stats();
	fault("GET", "many/k0003", "403", 5);
	rc = store_get(st, "many/k0003", 0, 0, buf_sink, &got, NULL);
	ok(rc == SW_ERR_AUTH && strstr(sw_errmsg(), "403 AccessDenied"),
	    "a 403 answer: %s", sw_errmsg());
	is_int(op_count("GetObject"), 1, "is not retried");
	reset_stats();
	fault("GET", "many/k0003", "conflict", 1);
	ok(store_get(st, "many/k0003", 0, 0, buf_sink, &got, NULL) == SW_OK,
	    "a 409 ConditionalRequestConflict is retried");
	is_int(op_count("GetObject"), 2, "once");
	reset_stats();

	/* Housekeeping on a store without multipart listing. */
	{
		unsigned nab = 99;

		mode("{\"no_multipart_listing\":true}");
		reset_stats();
		rc = store_abort_uploads(st, "big/object", &nab);
		ok(rc == SW_ERR_UNSUPPORTED && strstr(sw_errmsg(), "'live'") &&
		    strstr(sw_errmsg(), "ListMultipartUploads") &&
		    strstr(sw_errmsg(), "AbortIncompleteMultipartUpload"),
		    "no ListMultipartUploads: %s", sw_errmsg());
		is_int(op_count("ListMultipartUploads"), 1, "one request");
		is_int(nab, 0, "nothing aborted");
		json_decref(control("DELETE", "mode", NULL));

		/* An upload left behind (its abort refused), then a store
		 * that lists uploads but cannot abort them. */
		snprintf(path, sizeof(path), "%s/orphan", tmpdir);
		fd = make_file(path, 20u << 20, sha);
		reset_stats();
		fault("POST", "uploadId=", "500", 10);
		fault("DELETE", "uploadId=", "403", 1);
		rc = store_put_fd(st0, "big/orphan", fd, 20u << 20, NULL, NULL);
		ok(rc == SW_ERR_SERVER && strstr(sw_errmsg(), "big/orphan") &&
		    strstr(sw_errmsg(), "500"), "a failed upload keeps its own "
		    "reason, not the failed abort's: %s", sw_errmsg());
		reset_stats();
		fault("DELETE", "uploadId=", "501", 5);
		rc = store_abort_uploads(st, "big/orphan", &nab);
		ok(rc == SW_ERR_UNSUPPORTED &&
		    strstr(sw_errmsg(), "AbortMultipartUpload") &&
		    strstr(sw_errmsg(), "AbortIncompleteMultipartUpload"),
		    "no AbortMultipartUpload: %s", sw_errmsg());
		is_int(op_count("AbortMultipartUpload"), 1, "one request");
		json_decref(control("DELETE", "fault", NULL));
		rc = store_abort_uploads(st, "big/orphan", &nab);
		ok(rc == SW_OK && nab == 1, "with both, the upload is aborted "
		    "(%u)", nab);
		{
			json_t *j = control("GET", "uploads", NULL);

			is_int((long long)json_array_size(json_object_get(j,
			    "uploads")), 0, "no upload is left");
			json_decref(j);
		}
		close(fd);
		unlink(path);
	}

	/* A listing whose token repeats ends, with the listing named. */
	mode("{\"repeat_token\":\"prefix=many\"}");
	reset_stats();
	{
		struct listing l = { 0 };

		rc = store_list(st, "many/", NULL, NULL, collect, &l);
		buf_release(&l.out);
	}
	ok(rc == SW_ERR_PROTO && strstr(sw_errmsg(), "s3://live/many/") &&
	    strstr(sw_errmsg(), "token it gave before"),
	    "a repeated continuation token: %s", sw_errmsg());
	is_int(op_count("ListObjectsV2"), 2, "found on the second page");
	json_decref(control("DELETE", "mode", NULL));

	/* Sizes that cannot be. */
	{
		static const char *sizes[] = { "-1", "18446744073709551616",
		    "4611686018427387905", "12x", NULL };
		char js[256];

		for (i = 0; sizes[i] != NULL; i++) {
			snprintf(js, sizeof(js), "{\"list_size\":{\"key_regex\":"
			    "\"^many/k0007$\",\"size\":\"%s\"}}", sizes[i]);
			mode(js);
			struct listing l = { 0 };

			rc = store_list(st, "many/", NULL, NULL, collect, &l);
			buf_release(&l.out);
			ok(rc == SW_ERR_PROTO && strstr(sw_errmsg(),
			    "'many/k0007'") && strstr(sw_errmsg(), sizes[i]),
			    "listed <Size>%s</Size>: %s", sizes[i],
			    sw_errmsg());
		}
		json_decref(control("DELETE", "mode", NULL));
	}

	/* DELETE. */
	ok(store_delete(st, "retry/put") == SW_OK, "delete");
	ok(store_head(st, "retry/put", &info) == SW_ERR_NOTFOUND, "deleted");
	ok(store_delete(st, "retry/put") == SW_OK, "deleting again is fine");

	/* Wrong credentials: 403 with the server's code, no retry.  A
	 * configuration of its own: stores of cfg share cfg's session, whose
	 * credentials were found before the environment changed. */
	setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
	cfg_for(&cfgbad, 8);
	ok(store_open(url.data, &cfgbad, &bad) == SW_OK,
	    "open with a wrong secret");
	reset_stats();
	rc = store_head(bad, "many/k0001", &info);
	ok(rc == SW_ERR_AUTH, "HEAD is refused (%s)", sw_errmsg());
	rc = store_list(bad, "many/", NULL, NULL, collect, &(struct listing){0});
	ok(rc == SW_ERR_AUTH && strstr(sw_errmsg(), "403 SignatureDoesNotMatch"),
	    "listing is refused: %s", sw_errmsg());
	is_int(op_count("ListObjectsV2"), 1, "not retried");
	store_free(bad);
	config_release(&cfgbad);

	buf_release(&got);
	buf_release(&url);
	free(jobs);
	pool_free(pool);
	store_free(st);
	store_free(st0);
	config_release(&cfg);
	config_release(&cfg0);
	test_tmpdir_remove();
	curl_global_cleanup();
	return done_testing();
}
