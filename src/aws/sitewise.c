/*
 * sitewise.c - ListTimeSeries over http.c (see sitewise.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/creds.h"
#include "aws/http.h"
#include "aws/session.h"
#include "aws/sigv4.h"
#include "aws/sitewise.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"

#define PAGE_SIZE "250"
#define PAGE_MAX 250u            /* PAGE_SIZE as a number */
/* Pages of one listing before it is taken for a server that pages without
 * end: 100,000 pages of 250 are 25 million series, far more than an
 * account holds. */
#define SITEWISE_MAX_PAGES 100000UL
/* The API's limits: a nextToken is 1..4096 characters; a time series id
 * is a UUID or two joined by '_' (73 characters); 256 leaves room. */
#define TOKEN_MAX 4096u
#define SERIES_ID_MAX 256u
/* An alias is 1..2048 characters; a data type one of a few words. */
#define ALIAS_MAX 2048u
#define DATA_TYPE_MAX 64u

char *
sitewise_endpoint(const struct sw_config *cfg, const char *region)
{
	struct buf ep;

	buf_init(&ep);
	if (cfg->sitewise_endpoint_url != NULL)
		buf_puts(&ep, cfg->sitewise_endpoint_url);
	else
		buf_printf(&ep, "https://api.iotsitewise.%s.amazonaws.com",
		    region);
	while (ep.len > 0 && ep.data[ep.len - 1] == '/')
		ep.data[--ep.len] = '\0';
	return buf_detach(&ep);
}

/* Split an endpoint URL into its scheme and host (the path is dropped). */
static sw_err
split_endpoint(const char *ep, char **scheme, char **host)
{
	const char *p = strstr(ep, "://");

	if (p == NULL || p[3] == '\0')
		return sw_seterr(SW_ERR_CONFIG, "invalid IoT SiteWise "
		    "endpoint '%s'", ep);
	*scheme = xstrndup(ep, (size_t)(p - ep));
	*host = xstrdup(p + 3);
	(*host)[strcspn(*host, "/")] = '\0';
	return SW_OK;
}

/*
 * Fetch one page of ListTimeSeries (after token, if any) into *out, a
 * parsed answer whose TimeSeriesSummaries is an array of at most
 * PAGE_MAX; the caller decrefs it.  q is scratch space for the query.
 */
static sw_err
fetch_page(struct http_client *http, const char *scheme, const char *host,
    const char *type, const char *token, const char *what, struct buf *q,
    json_t **out)
{
	struct http_req req;
	struct http_resp resp;
	json_t *j, *list;
	json_error_t je;
	sw_err rc;

	*out = NULL;
	q->len = 0;
	http_query_add(q, "maxResults", PAGE_SIZE);
	if (token != NULL)
		http_query_add(q, "nextToken", token);
	http_query_add(q, "timeSeriesType", type);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.scheme = scheme;
	req.host = host;
	req.path = "/timeseries/";
	req.query = q->data;
	req.body_fd = -1;
	req.what = what;
	if ((rc = http_perform(http, &req, &resp)) != SW_OK)
		return rc;
	j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len,
	    0, &je);
	buf_release(&resp.body);
	list = json_object_get(j, "TimeSeriesSummaries");
	if (j == NULL || !json_is_array(list)) {
		rc = sw_seterr(SW_ERR_PROTO, "cannot %s: the answer is "
		    "not a ListTimeSeries result%s%s", what,
		    j == NULL ? ": " : "", j == NULL ? je.text : "");
		json_decref(j);
		return rc;
	}
	if (json_array_size(list) > PAGE_MAX) {
		rc = sw_seterr(SW_ERR_PROTO, "cannot %s: a page of %zu "
		    "summaries, where at most %u were asked for", what,
		    json_array_size(list), PAGE_MAX);
		json_decref(j);
		return rc;
	}
	*out = j;
	return SW_OK;
}

/* The string field name of a summary into *out (NULL when it is absent
 * or null), at most max characters and no control character: what the
 * API's patterns allow, and what the catalogue can show. */
static sw_err
summary_field(json_t *item, const char *name, size_t max, const char *what,
    const char **out)
{
	json_t *v = json_object_get(item, name);
	const char *s;
	size_t i, n;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return SW_OK;
	s = json_string_value(v);
	n = json_string_length(v);
	if (s == NULL || n == 0 || n > max || strlen(s) != n)
		return sw_seterr(SW_ERR_PROTO, "cannot %s: a summary whose %s "
		    "is not a string of 1 to %zu characters", what, name, max);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return sw_seterr(SW_ERR_PROTO, "cannot %s: a summary "
			    "whose %s holds a control character", what, name);
	*out = s;
	return SW_OK;
}

/* Hand each summary of a page to fn; *n counts those handed. */
static sw_err
page_series(json_t *list, const char *what, sitewise_summary_fn fn,
    void *arg, unsigned long *n)
{
	struct sitewise_summary s;
	json_t *item;
	size_t i;
	sw_err rc = SW_OK;

	json_array_foreach(list, i, item) {
		json_t *jid = json_object_get(item, "timeSeriesId");
		const char *id = json_string_value(jid);

		if (id == NULL) {
			rc = sw_seterr(SW_ERR_PROTO, "cannot %s: a "
			    "summary without timeSeriesId", what);
			break;
		}
		if (json_string_length(jid) == 0 ||
		    json_string_length(jid) > SERIES_ID_MAX ||
		    strlen(id) != json_string_length(jid)) {
			rc = sw_seterr(SW_ERR_PROTO, "cannot %s: a "
			    "timeSeriesId of %zu characters is not a "
			    "time series id", what, json_string_length(jid));
			break;
		}
		memset(&s, 0, sizeof(s));
		s.series_id = id;
		rc = summary_field(item, "assetId", SERIES_ID_MAX, what,
		    &s.asset_id);
		if (rc == SW_OK)
			rc = summary_field(item, "propertyId", SERIES_ID_MAX,
			    what, &s.property_id);
		if (rc == SW_OK)
			rc = summary_field(item, "alias", ALIAS_MAX, what,
			    &s.alias);
		if (rc == SW_OK)
			rc = summary_field(item, "dataType", DATA_TYPE_MAX,
			    what, &s.data_type);
		if (rc == SW_OK)
			rc = fn(arg, &s);
		if (rc != SW_OK)
			break;
		(*n)++;
	}
	return rc;
}

/* The page's nextToken into *token (NULL on the last page), checked
 * against the API's bounds. */
static sw_err
page_token(json_t *j, const char *what, char **token)
{
	json_t *jt = json_object_get(j, "nextToken");

	*token = NULL;
	if (jt == NULL || json_is_null(jt))
		return SW_OK;
	if (!json_is_string(jt) || json_string_length(jt) == 0 ||
	    json_string_length(jt) > TOKEN_MAX ||
	    strlen(json_string_value(jt)) != json_string_length(jt))
		return sw_seterr(SW_ERR_PROTO, "cannot %s: a nextToken that "
		    "is not a string of 1 to %u characters", what, TOKEN_MAX);
	*token = xstrdup(json_string_value(jt));
	return SW_OK;
}

sw_err
sitewise_list_summaries(const struct sw_config *cfg, const char *type,
    sitewise_summary_fn fn, void *arg)
{
	struct aws_session *session = NULL;
	struct http_client *http = NULL;
	const char *region;
	char *scheme = NULL, *host = NULL, *token = NULL;
	char *ep = NULL;
	struct buf q;
	char what[512];
	unsigned long pages = 0, n = 0;
	struct http_pager pg;
	sw_err rc;

	buf_init(&q);
	what[0] = '\0';
	http_pager_init(&pg, what, SITEWISE_MAX_PAGES);
	if ((rc = aws_session_get(cfg, &session)) != SW_OK)
		return rc;
	if ((region = aws_session_region(session)) == NULL)
		region = "us-east-1";
	ep = sitewise_endpoint(cfg, region);
	if ((rc = split_endpoint(ep, &scheme, &host)) != SW_OK)
		goto out;
	snprintf(what, sizeof(what), "list the %s time series at '%s'", type,
	    ep);
	if ((rc = aws_session_client(session, "iotsitewise", 0, region,
	    &http)) != SW_OK)
		goto out;
	do {
		json_t *j;

		if ((rc = fetch_page(http, scheme, host, type, token, what, &q,
		    &j)) != SW_OK)
			break;
		rc = page_series(json_object_get(j, "TimeSeriesSummaries"),
		    what, fn, arg, &n);
		free(token);
		token = NULL;
		if (rc == SW_OK)
			rc = page_token(j, what, &token);
		json_decref(j);
		pages++;
		if (rc == SW_OK)
			rc = http_pager_next(&pg, token, token ? strlen(token) :
			    0);
	} while (rc == SW_OK && token != NULL);
	if (rc == SW_OK)
		log_info("%lu %s time series in %lu page%s from %s", n, type,
		    pages, pages == 1 ? "" : "s", ep);
out:
	http_pager_release(&pg);
	http_client_free(http);
	aws_session_release(session);
	free(token);
	free(scheme);
	free(host);
	free(ep);
	buf_release(&q);
	return rc;
}

struct id_only {
	sitewise_fn fn;
	void *arg;
};

static sw_err
on_summary_id(void *arg, const struct sitewise_summary *s)
{
	struct id_only *o = arg;

	return o->fn(o->arg, s->series_id);
}

sw_err
sitewise_list_timeseries(const struct sw_config *cfg, const char *type,
    sitewise_fn fn, void *arg)
{
	struct id_only o = { fn, arg };

	return sitewise_list_summaries(cfg, type, on_summary_id, &o);
}
