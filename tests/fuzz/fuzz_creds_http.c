/*
 * fuzz_creds_http.c - the credentials documents of the ECS/EKS container
 * endpoint and of the EC2 instance metadata service (IMDSv2: token, role
 * name, then the role's JSON), through the public creds_provider_new()
 * and creds_get() against the harness's loopback HTTP server
 * (fuzz_common.c): JSON, ISO 8601 expirations, role names, status codes,
 * refreshes of credentials that expire.
 *
 * Input: the source (first byte: even = container endpoint, odd = IMDS;
 * then a newline), then up to 16 HTTP answers separated by "\n=====\n";
 * 404 once they run out.  Invariants: a provider that is created hands
 * out complete credentials (key id and secret not empty) and names its
 * source; requests carry only the headers creds.c means to send (nothing
 * from an answer adds one); secrets are freed (LeakSanitizer).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/creds.h"
#include "fuzz_common.h"

#define SEP "\n=====\n"
/* A fixed clock: 2024-05-01T00:00:00Z. */
#define NOW ((time_t)1714521600)

static char base[64];
/* What creds.c and curl send to these endpoints (the IMDS token request
 * is a PUT through http.c: an empty body, "Content-Length: 0"). */
static const char *const headers[] = { "Host", "User-Agent", "Accept",
	"Authorization", "X-aws-ec2-metadata-token",
	"X-aws-ec2-metadata-token-ttl-seconds", "Content-Length", NULL };

static void
setup(void)
{
	static int done;

	if (done++)
		return;
	fuzz_init();
	snprintf(base, sizeof(base), "%s", fuzz_http_start());
	fuzz_http_expect_headers(headers);
	setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "1", 1);
	setenv("AWS_METADATA_SERVICE_TIMEOUT", "5", 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[17];
	size_t len[17], n;
	struct creds_provider *cp = NULL;
	struct aws_creds c;
	char url[128];
	int i;
	sw_err rc;

	setup();
	if (size < 2 || data[1] != '\n' || size > 64 * 1024)
		return 0;
	if (data[0] % 2 == 0) {
		snprintf(url, sizeof(url), "%s/v2/credentials/fuzz", base);
		setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
		setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "fuzz-token", 1);
		setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	} else {
		unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
		unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
		setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
		setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base, 1);
	}
	n = fuzz_split(data + 2, size - 2, SEP, p, len, 17);
	/* The container endpoint retries a 5xx (http.c's back-off): IMDS
	 * answers only may be 5xx. */
	fuzz_http_queue(p, len, n > 16 ? 16 : n, data[0] % 2);
	rc = creds_provider_new(NULL, &cp);
	if (rc == SW_OK) {
		FUZZ_ASSERT(creds_source(cp) != NULL && creds_source(cp)[0],
		    "no source");
		/* Now, then past the expiration: a refresh. */
		for (i = 0; i < 2; i++) {
			memset(&c, 0, sizeof(c));
			if (creds_get(cp, NOW + i * 86400 * 365, &c) == SW_OK)
				FUZZ_ASSERT(c.access_key != NULL &&
				    c.access_key[0] != '\0' &&
				    c.secret_key != NULL &&
				    c.secret_key[0] != '\0', "incomplete "
				    "credentials from %s", creds_source(cp));
			creds_release(&c);
		}
	} else {
		FUZZ_ASSERT(sw_errmsg()[0] != '\0', "error %s without a message",
		    sw_errname(rc));
	}
	creds_provider_free(cp);
	FUZZ_ASSERT(fuzz_http_unexpected() == NULL, "a request carried the "
	    "header line '%s'", fuzz_http_unexpected());
	return 0;
}
