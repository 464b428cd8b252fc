/* t_retry.c - the retry rules of AWS requests (aws/retry.h): which
 * answers and transport failures are asked again, the back-off, and the
 * bounds in count and time. */
#include "config.h"

#include <stdio.h>

#include <curl/curl.h>

#include "aws/retry.h"
#include "tap.h"

static void
test_status(void)
{
	static const struct {
		long status;
		const char *code;
		int again;
		const char *why;
	} t[] = {
		{ 500, "InternalError", 1, "500 InternalError" },
		{ 500, "", 1, "500 without a body" },
		{ 502, "", 1, "502 from a proxy" },
		{ 503, "SlowDown", 1, "503 SlowDown" },
		{ 503, "ServiceUnavailable", 1, "503 ServiceUnavailable" },
		{ 504, "", 1, "504 gateway timeout" },
		{ 501, "NotImplemented", 0, "501 NotImplemented: the API is "
		    "missing, asking again cannot help" },
		{ 429, "", 1, "429 Too Many Requests" },
		{ 409, "ConditionalRequestConflict", 1, "409 "
		    "ConditionalRequestConflict (a racing conditional write)" },
		{ 409, "OperationAborted", 0, "another 409" },
		{ 409, "", 0, "409 without a code" },
		{ 400, "RequestTimeout", 1, "400 RequestTimeout" },
		{ 400, "SlowDown", 1, "400 SlowDown" },
		{ 400, "ThrottlingException", 1, "400 ThrottlingException "
		    "(SiteWise)" },
		{ 400, "Throttling", 1, "400 Throttling (STS)" },
		{ 400, "TooManyRequestsException", 1, "400 "
		    "TooManyRequestsException" },
		{ 400, "InvalidRequest", 0, "400 InvalidRequest" },
		{ 400, "AuthorizationHeaderMalformed", 0, "400 "
		    "AuthorizationHeaderMalformed" },
		{ 400, "", 0, "400 without a code" },
		{ 400, "slowdown", 0, "codes are case-sensitive" },
		{ 403, "SlowDown", 0, "a throttling code on a 403 is not one" },
		{ 403, "AccessDenied", 0, "403 AccessDenied" },
		{ 404, "NoSuchKey", 0, "404 NoSuchKey" },
		{ 412, "PreconditionFailed", 0, "412 PreconditionFailed" },
		{ 416, "InvalidRange", 0, "416 InvalidRange" },
		{ 301, "PermanentRedirect", 0, "301 PermanentRedirect" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(retry_status(t[i].status, t[i].code) == t[i].again,
		    "%s: %s", t[i].why, t[i].again ? "asked again" :
		    "answered at once");
}

static void
test_transport(void)
{
	static const struct {
		CURLcode cc;
		int again;
		const char *name;
	} t[] = {
		{ CURLE_OPERATION_TIMEDOUT, 1, "a timeout" },
		{ CURLE_SEND_ERROR, 1, "a send error (reset)" },
		{ CURLE_RECV_ERROR, 1, "a receive error (reset)" },
		{ CURLE_GOT_NOTHING, 1, "an empty answer" },
		{ CURLE_PARTIAL_FILE, 1, "a body cut off" },
		{ CURLE_SSL_CONNECT_ERROR, 1, "a failed TLS handshake" },
		{ CURLE_HTTP2, 1, "an HTTP/2 framing error" },
		{ CURLE_HTTP2_STREAM, 1, "an HTTP/2 stream error" },
		{ CURLE_PEER_FAILED_VERIFICATION, 0, "a certificate that "
		    "does not verify" },
		{ CURLE_SSL_CACERT_BADFILE, 0, "a bad CA bundle" },
		{ CURLE_COULDNT_RESOLVE_HOST, 0, "a host that does not "
		    "resolve" },
		{ CURLE_URL_MALFORMAT, 0, "a malformed URL" },
		{ CURLE_WRITE_ERROR, 0, "the sink refused the body" },
		{ CURLE_ABORTED_BY_CALLBACK, 0, "stopped by a callback" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(retry_transport(t[i].cc, 0) == t[i].again, "%s: %s",
		    t[i].name, t[i].again ? "tried again" : "final");
	ok(retry_transport(CURLE_COULDNT_CONNECT, 0) &&
	    retry_transport(CURLE_COULDNT_CONNECT,
	    RETRY_CONNECT_ATTEMPTS - 1),
	    "a refused connection is tried again, up to %d in a row",
	    RETRY_CONNECT_ATTEMPTS);
	ok(!retry_transport(CURLE_COULDNT_CONNECT, RETRY_CONNECT_ATTEMPTS),
	    "then it is final (nothing listens there)");
	ok(retry_transport(CURLE_OPERATION_TIMEDOUT, 99),
	    "refused connections do not bound other failures");
}

static void
test_backoff(void)
{
	unsigned a;
	int doubles = 1, capped = 1;
	double prev = 0, d;

	is_int((long long)(retry_backoff(1, 1.0) * 1000 + 0.5),
	    (long long)(RETRY_BACKOFF_BASE * 1000 + 0.5),
	    "the first wait is the base (with jitter 1)");
	for (a = 2; a <= 8; a++) {
		d = retry_backoff(a, 1.0);
		if (d < 1.999 * retry_backoff(a - 1, 1.0) ||
		    d > 2.001 * retry_backoff(a - 1, 1.0))
			doubles = 0;
	}
	ok(doubles, "each attempt doubles the wait (0.1, 0.2, 0.4 ... 12.8 s)");
	for (a = 1; a <= 200; a++) {
		d = retry_backoff(a, 1.0);
		if (d > RETRY_BACKOFF_CAP || d < prev)
			capped = 0;
		prev = d;
	}
	ok(capped && retry_backoff(200, 1.0) == RETRY_BACKOFF_CAP,
	    "never more than %.0f s, and never less than before, even after "
	    "200 attempts", RETRY_BACKOFF_CAP);
	ok(retry_backoff(5, 0.0) == 0.0 &&
	    retry_backoff(5, 0.5) == 0.5 * retry_backoff(5, 1.0),
	    "full jitter: the wait is the jitter's share of the back-off");
	ok(retry_backoff(0, 1.0) == retry_backoff(1, 1.0),
	    "attempt 0 is taken as the first");
}

static void
test_within(void)
{
	ok(retry_within(1, 3, 0.0, 0.1, 30.0), "attempt 1 of 3 retries, "
	    "no time spent: again");
	ok(retry_within(3, 3, 0.0, 0.1, 30.0), "attempt 3 of 3 retries: "
	    "again (the third retry)");
	ok(!retry_within(4, 3, 0.0, 0.1, 30.0), "attempt 4 of 3 retries: "
	    "no more");
	ok(!retry_within(1, 0, 0.0, 0.1, 30.0), "max_retries 0: never again");
	ok(retry_within(2, 10, 29.0, 1.0, 30.0), "a wait that ends at the "
	    "time limit: again");
	ok(!retry_within(2, 10, 29.5, 1.0, 30.0), "a wait that would pass "
	    "the time limit: no more (not sleeping past it)");
	ok(!retry_within(2, 10, 31.0, 0.0, 30.0), "the time limit already "
	    "passed: no more");
}

int
main(void)
{
	test_status();
	test_transport();
	test_backoff();
	test_within();
	return done_testing();
}
