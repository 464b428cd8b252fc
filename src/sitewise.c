/*
 * sitewise.c - ListTimeSeries over http.c (see sitewise.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "creds.h"
#include "http.h"
#include "log.h"
#include "options.h"
#include "sigv4.h"
#include "sitewise.h"
#include "util.h"

#define PAGE_SIZE "250"

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
	struct creds_provider *creds = NULL;
	struct http_client *http = NULL;
	char *region = NULL, *scheme = NULL, *host = NULL, *token = NULL;
	char *ep = NULL;
	struct buf q;
	char what[512];
	unsigned long pages = 0, n = 0;
	sw_err rc;

	buf_init(&q);
	if ((rc = creds_region(cfg, &region)) != SW_OK)
		return rc;
	if (region == NULL)
		region = xstrdup("us-east-1");
	ep = sitewise_endpoint(cfg, region);
	{
		const char *p = strstr(ep, "://");

		if (p == NULL || p[3] == '\0') {
			rc = sw_seterr(SW_ERR_CONFIG, "invalid IoT SiteWise "
			    "endpoint '%s'", ep);
			goto out;
		}
		scheme = strndup(ep, (size_t)(p - ep));
		host = xstrdup(p + 3);
		host[strcspn(host, "/")] = '\0';
	}
	snprintf(what, sizeof(what), "list the %s time series at '%s'", type,
	    ep);
	if ((rc = creds_provider_new(cfg, &creds)) != SW_OK)
		goto out;
	if ((rc = http_client_from_config(cfg, "iotsitewise", 0, region, creds,
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
		json_array_foreach(list, i, item) {
			const char *id = json_string_value(json_object_get(item,
			    "timeSeriesId"));

			if (id == NULL) {
				rc = sw_seterr(SW_ERR_PROTO, "cannot %s: a "
				    "summary without timeSeriesId", what);
				break;
			}
			if ((rc = fn(arg, id)) != SW_OK)
				break;
			n++;
		}
		free(token);
		token = NULL;
		if (json_string_value(json_object_get(j, "nextToken")) != NULL)
			token = xstrdup(json_string_value(json_object_get(j,
			    "nextToken")));
		json_decref(j);
		pages++;
	} while (rc == SW_OK && token != NULL);
	if (rc == SW_OK)
		log_info("%lu %s time series in %lu page%s from %s", n, type,
		    pages, pages == 1 ? "" : "s", ep);
out:
	http_client_free(http);
	creds_provider_free(creds);
	free(token);
	free(scheme);
	free(host);
	free(region);
	free(ep);
	buf_release(&q);
	return rc;
}
