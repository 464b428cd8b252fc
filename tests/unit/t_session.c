/*
 * t_session.c - the AWS session (aws/session.h): stores and the SiteWise
 * client opened from one configuration share one credential provider
 * (credentials are fetched once, counted at a container endpoint served
 * here), another configuration gets its own, and the request budget caps
 * the requests in flight across stores (counted by the server here, which
 * holds each S3 request a moment).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aws/http.h"
#include "aws/session.h"
#include "aws/sitewise.h"
#include "base/options.h"
#include "base/util.h"
#include "store/store.h"
#include "tap.h"

/* ---- a loopback server: ECS credentials, SiteWise, slow S3 HEADs ---- */

static int lfd;
static unsigned short port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int creds_fetches, s3_now, s3_peak, s3_total;

static void
answer(int fd, const char *status, const char *body)
{
	char head[256];

	snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
	    "ETag: \"e\"\r\nContent-Type: application/json\r\n\r\n", status,
	    strlen(body));
	if (write(fd, head, strlen(head)) < 0 ||
	    write(fd, body, strlen(body)) < 0)
		return;
}

static void *
conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[8192];
	size_t n = 0;
	ssize_t r;

	for (;;) {
		char *end;

		while ((end = memmem(req, n, "\r\n\r\n", 4)) == NULL) {
			if (n == sizeof(req) ||
			    (r = read(fd, req + n, sizeof(req) - n)) <= 0)
				goto out;
			n += (size_t)r;
		}
		if (strncmp(req, "GET /creds ", 11) == 0) {
			pthread_mutex_lock(&mu);
			creds_fetches++;
			pthread_mutex_unlock(&mu);
			answer(fd, "200 OK", "{\"AccessKeyId\":\"AKIDSESSION\","
			    "\"SecretAccessKey\":\"s3cr3t\",\"Token\":\"tok\","
			    "\"Expiration\":\"2999-01-01T00:00:00Z\"}");
		} else if (strncmp(req, "GET /timeseries/", 16) == 0) {
			answer(fd, "200 OK", "{\"TimeSeriesSummaries\":[]}");
		} else {
			struct timespec ts = { 0, 30 * 1000 * 1000 };

			pthread_mutex_lock(&mu);
			s3_total++;
			if (++s3_now > s3_peak)
				s3_peak = s3_now;
			pthread_mutex_unlock(&mu);
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&mu);
			s3_now--;
			pthread_mutex_unlock(&mu);
			static const char head[] = "HTTP/1.1 200 OK\r\n"
			    "Content-Length: 3\r\nETag: \"e\"\r\n\r\n";

			/* HEAD: headers only. */
			if (write(fd, head, sizeof(head) - 1) < 0)
				goto out;
		}
		end += 4;
		n -= (size_t)(end - req);
		memmove(req, end, n);
	}
out:
	close(fd);
	return NULL;
}

static void *
accept_main(void *arg)
{
	pthread_t t;
	int fd;

	(void)arg;
	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		if (pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd) != 0)
			close(fd);
		else
			pthread_detach(t);
	}
	return NULL;
}

static void
server_start(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	pthread_t t;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
		skip_all("no loopback socket");
	port = ntohs(a.sin_port);
	pthread_create(&t, NULL, accept_main, NULL);
	pthread_detach(t);
}

static int
fetches(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = creds_fetches;
	pthread_mutex_unlock(&mu);
	return n;
}

static void
cfg_for(struct sw_config *cfg, int requests)
{
	char url[64];

	config_defaults(cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	free(cfg->endpoint_url);
	cfg->endpoint_url = xstrdup(url);
	free(cfg->sitewise_endpoint_url);
	cfg->sitewise_endpoint_url = xstrdup(url);
	free(cfg->addressing_style);
	cfg->addressing_style = xstrdup("path");
	free(cfg->region);
	cfg->region = xstrdup("eu-west-1");
	cfg->requests = requests;
	cfg->max_retries = 0;
}

/* ---- parallel HEADs ---- */

struct worker {
	struct store *st;
	int heads;
	int failed;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct store_info info;
	int i;

	for (i = 0; i < w->heads; i++)
		if (store_head(w->st, "k", &info) != SW_OK)
			w->failed++;
	return NULL;
}

static sw_err
count_series(void *arg, const char *id)
{
	(void)id;
	(*(int *)arg)++;
	return SW_OK;
}

int
main(void)
{
	struct sw_config cfg, cfg2;
	struct aws_session *s1, *s2, *s3;
	struct store *a, *b;
	struct http_stats hs;
	struct worker w[8];
	pthread_t t[8];
	char url[80];
	int i, n = 0, failed = 0;

	server_start();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/creds", port);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_DEFAULT_PROFILE");
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	unsetenv("AWS_CA_BUNDLE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);

	/* One configuration, one session. */
	cfg_for(&cfg, 2);
	cfg_for(&cfg2, 2);
	ok(aws_session_get(&cfg, &s1) == SW_OK, "a session: %s", sw_errmsg());
	is_int(fetches(), 1, "its credentials are fetched once");
	ok(aws_session_get(&cfg, &s2) == SW_OK && s2 == s1,
	    "the same configuration gets the same session");
	is_str(aws_session_region(s1), "eu-west-1", "the region is cfg's");
	ok(aws_session_get(&cfg2, &s3) == SW_OK && s3 != s1,
	    "another configuration gets a session of its own");
	is_int(fetches(), 2, "with credentials of its own");
	aws_session_release(s3);
	aws_session_release(s2);

	/* Two stores and the SiteWise listing share s1's provider. */
	ok(store_open("s3://one/", &cfg, &a) == SW_OK, "open s3://one/: %s",
	    sw_errmsg());
	ok(store_open("s3://two/p/", &cfg, &b) == SW_OK, "open s3://two/p/");
	ok(sitewise_list_timeseries(&cfg, "ASSOCIATED", count_series, &n) ==
	    SW_OK, "list the time series: %s", sw_errmsg());
	is_int(n, 0, "none listed");
	is_int(fetches(), 2, "two stores and SiteWise: no more fetches");
	aws_session_release(s1);

	/* The budget: 8 threads, two stores, at most 2 requests at once. */
	for (i = 0; i < 8; i++) {
		w[i].st = i % 2 ? a : b;
		w[i].heads = 4;
		w[i].failed = 0;
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		failed += w[i].failed;
	}
	is_int(failed, 0, "32 HEADs from 8 threads over two stores");
	is_int(s3_total, 32, "all reached the server");
	ok(s3_peak <= 2, "the server saw at most 2 at once (%d)", s3_peak);
	ok(aws_session_get(&cfg, &s1) == SW_OK, "the session again");
	http_shared_stats(aws_session_http(s1), &hs);
	is_int(hs.max_inflight, 2, "budget: cfg->requests");
	ok(hs.peak == 2, "budget: 2 in flight at the peak (%u)", hs.peak);
	is_int(hs.inflight, 0, "budget: none left in flight");
	aws_session_release(s1);

	/* The last reference frees the session: the next one is new. */
	store_free(a);
	store_free(b);
	ok(aws_session_get(&cfg, &s1) == SW_OK, "a session after the last "
	    "store was freed");
	is_int(fetches(), 3, "finds its credentials again");
	aws_session_release(s1);
	aws_session_release(NULL);
	ok(1, "aws_session_release(NULL)");

	config_release(&cfg);
	config_release(&cfg2);
	return done_testing();
}
