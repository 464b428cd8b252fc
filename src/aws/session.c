/*
 * session.c - the AWS session of a configuration (see session.h): a small
 * table of live sessions under one lock, each with a reference count.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds.h"
#include "aws/http.h"
#include "aws/session.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"

struct aws_session {
	/* the key: the configuration and what the session took from it */
	const struct sw_config *cfg;
	char *profile;
	char *cfg_region;
	int64_t requests;
	/* under table_mu */
	unsigned refs;
	struct aws_session *next;
	/* read-only once made */
	struct creds_provider *creds;
	char *region;              /* NULL: none configured */
	struct http_shared *http;
};

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static struct aws_session *table;

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
same_config(const struct aws_session *s, const struct sw_config *cfg)
{
	return s->cfg == cfg && str_eq(s->profile, cfg->profile) &&
	    str_eq(s->cfg_region, cfg->region) &&
	    s->requests == cfg->requests;
}

static void
session_free(struct aws_session *s)
{
	if (s == NULL)
		return;
	creds_provider_free(s->creds);  /* its clients use s->http */
	http_shared_free(s->http);
	free(s->region);
	free(s->profile);
	free(s->cfg_region);
	free(s);
}

/* Make the session of cfg (not yet in the table). */
static sw_err
session_new(const struct sw_config *cfg, struct aws_session **out)
{
	struct aws_session *s;
	sw_err rc;

	*out = NULL;
	s = xcalloc(1, sizeof(*s));
	s->cfg = cfg;
	s->profile = cfg->profile != NULL ? xstrdup(cfg->profile) : NULL;
	s->cfg_region = cfg->region != NULL ? xstrdup(cfg->region) : NULL;
	s->requests = cfg->requests;
	s->refs = 1;
	rc = http_shared_new(cfg->requests > 0 ? (unsigned)cfg->requests : 1,
	    &s->http);
	if (rc == SW_OK)
		rc = creds_region(cfg, &s->region);
	if (rc == SW_OK)
		rc = creds_provider_new_shared(cfg, s->http, &s->creds);
	if (rc != SW_OK) {
		session_free(s);
		return rc;
	}
	log_debug("AWS session: credentials from %s, region %s, at most "
	    "%lld requests at once", creds_source(s->creds),
	    s->region ? s->region : "(default)", (long long)s->requests);
	*out = s;
	return SW_OK;
}

/*
 * The table's lock is held while a session is made, so two threads
 * opening stores of one configuration at once find credentials once; a
 * slow credential source (IMDS) delays other configurations' first open
 * too, which happens only at start-up.
 */
sw_err
aws_session_get(const struct sw_config *cfg, struct aws_session **out)
{
	struct aws_session *s;
	sw_err rc = SW_OK;

	*out = NULL;
	pthread_mutex_lock(&table_mu);
	for (s = table; s != NULL; s = s->next)
		if (same_config(s, cfg))
			break;
	if (s != NULL) {
		s->refs++;
	} else if ((rc = session_new(cfg, &s)) == SW_OK) {
		s->next = table;
		table = s;
	}
	pthread_mutex_unlock(&table_mu);
	if (rc == SW_OK)
		*out = s;
	return rc;
}

void
aws_session_release(struct aws_session *s)
{
	struct aws_session **pp;

	if (s == NULL)
		return;
	pthread_mutex_lock(&table_mu);
	if (--s->refs > 0) {
		pthread_mutex_unlock(&table_mu);
		return;
	}
	for (pp = &table; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	pthread_mutex_unlock(&table_mu);
	session_free(s);
}

struct creds_provider *
aws_session_creds(struct aws_session *s)
{
	return s->creds;
}

const char *
aws_session_region(const struct aws_session *s)
{
	return s->region;
}

struct http_shared *
aws_session_http(struct aws_session *s)
{
	return s->http;
}

sw_err
aws_session_client(struct aws_session *s, const char *service, int s3_rules,
    const char *region, struct http_client **out)
{
	return http_client_from_config(s->cfg, service, s3_rules, region,
	    s->creds, s->http, out);
}
