/*
 * retry.c - when an AWS request is asked again (see retry.h).
 */
#include "config.h"

#include <string.h>

#include <curl/curl.h>

#include "aws/retry.h"

int
retry_status(long status, const char *code)
{
	static const char *const slow[] = {
		"RequestTimeout", "SlowDown", "ThrottlingException",
		"Throttling", "TooManyRequestsException",
	};
	size_t i;

	if (status == 501)
		return 0;
	if (status >= 500 || status == 429)
		return 1;
	if (status == 409)
		return strcmp(code, "ConditionalRequestConflict") == 0;
	if (status != 400)
		return 0;
	for (i = 0; i < sizeof(slow) / sizeof(slow[0]); i++)
		if (strcmp(code, slow[i]) == 0)
			return 1;
	return 0;
}

int
retry_transport(int curl_code, unsigned connect_fails)
{
	switch ((CURLcode)curl_code) {
	case CURLE_COULDNT_CONNECT:
		return connect_fails < RETRY_CONNECT_ATTEMPTS;
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

double
retry_backoff(unsigned attempt, double jitter)
{
	double delay;

	if (attempt == 0)
		attempt = 1;
	delay = RETRY_BACKOFF_BASE * (double)(1u << (attempt < 16 ?
	    attempt - 1 : 15));
	if (delay > RETRY_BACKOFF_CAP)
		delay = RETRY_BACKOFF_CAP;
	return delay * jitter;
}

int
retry_within(unsigned attempt, unsigned max_retries, double elapsed,
    double delay, double max_time)
{
	return attempt <= max_retries && elapsed + delay <= max_time;
}
