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

sw_err
sitewise_list_timeseries(const struct sw_config *cfg, const char *type,
    sitewise_fn fn, void *arg)
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
	{
		const char *p = strstr(ep, "://");

		if (p == NULL || p[3] == '\0') {
			rc = sw_seterr(SW_ERR_CONFIG, "invalid IoT SiteWise "
			    "endpoint '%s'", ep);
			goto out;
		}
		scheme = xstrndup(ep, (size_t)(p - ep));
		host = xstrdup(p + 3);
		host[strcspn(host, "/")] = '\0';
	}
	snprintf(what, sizeof(what), "list the %s time series at '%s'", type,
	    ep);
	if ((rc = aws_session_client(session, "iotsitewise", 0, region,
	    &http)) != SW_OK)
		goto out;
	do {
		struct http_req req;
		struct http_resp resp;
		json_t *j, *list, *item;
		json_error_t je;
		size_t i;

		q.len = 0;
		http_query_add(&q, "maxResults", PAGE_SIZE);
		if (token != NULL)
			http_query_add(&q, "nextToken", token);
		http_query_add(&q, "timeSeriesType", type);
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.scheme = scheme;
		req.host = host;
		req.path = "/timeseries/";
		req.query = q.data;
		req.body_fd = -1;
		req.what = what;
		if ((rc = http_perform(http, &req, &resp)) != SW_OK)
			break;
		j = json_loadb(resp.body.data ? resp.body.data : "",
		    resp.body.len, 0, &je);
		buf_release(&resp.body);
		list = json_object_get(j, "TimeSeriesSummaries");
		if (j == NULL || !json_is_array(list)) {
			rc = sw_seterr(SW_ERR_PROTO, "cannot %s: the answer is "
			    "not a ListTimeSeries result%s%s", what,
			    j == NULL ? ": " : "", j == NULL ? je.text : "");
			json_decref(j);
			break;
		}
		if (json_array_size(list) > PAGE_MAX) {
			rc = sw_seterr(SW_ERR_PROTO, "cannot %s: a page of %zu "
			    "summaries, where at most %u were asked for", what,
			    json_array_size(list), PAGE_MAX);
			json_decref(j);
			break;
		}
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
				    "time series id", what,
				    json_string_length(jid));
				break;
			}
			if ((rc = fn(arg, id)) != SW_OK)
				break;
			n++;
		}
		free(token);
		token = NULL;
		if (rc == SW_OK && json_object_get(j, "nextToken") != NULL &&
		    !json_is_null(json_object_get(j, "nextToken"))) {
			json_t *jt = json_object_get(j, "nextToken");

			if (!json_is_string(jt) || json_string_length(jt) == 0 ||
			    json_string_length(jt) > TOKEN_MAX ||
			    strlen(json_string_value(jt)) !=
			    json_string_length(jt))
				rc = sw_seterr(SW_ERR_PROTO, "cannot %s: a "
				    "nextToken that is not a string of 1 to "
				    "%u characters", what, TOKEN_MAX);
			else
				token = xstrdup(json_string_value(jt));
		}
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
