/*
 * sitewise.h - the IoT SiteWise ListTimeSeries API: which time series are
 * associated with an asset property and which are not.
 */
#ifndef SWREPART_SITEWISE_H
#define SWREPART_SITEWISE_H

#include "base/err.h"

struct sw_config;

/* Called for each time series id of the type asked for. */
typedef sw_err (*sitewise_fn)(void *arg, const char *series_id);

/*
 * List every time series of type ("ASSOCIATED" or "DISASSOCIATED"): GET
 * /timeseries/ signed for service iotsitewise, maxResults=250, following
 * nextToken, backing off on 429 ThrottlingException (the request-rate quota
 * is low).  The endpoint is aws.sitewise_endpoint_url, else
 * https://api.iotsitewise.REGION.amazonaws.com.
 */
sw_err sitewise_list_timeseries(const struct sw_config *cfg, const char *type,
    sitewise_fn fn, void *arg);

/* One time series as ListTimeSeries summarizes it.  A field the answer
 * leaves out (or null) is NULL; none is empty or holds a control
 * character.  Valid only during the callback. */
struct sitewise_summary {
	const char *series_id;    /* timeSeriesId, never NULL */
	const char *asset_id;     /* assetId (associated series) */
	const char *property_id;  /* propertyId (associated series) */
	const char *alias;
	const char *data_type;    /* dataType: DOUBLE, STRING, ... */
};
typedef sw_err (*sitewise_summary_fn)(void *arg,
    const struct sitewise_summary *s);

/* sitewise_list_timeseries() handing over whole summaries.  A field of
 * another type than a string, longer than the API allows (an alias is at
 * most 2048 characters) or holding a control character is
 * SW_ERR_PROTO. */
sw_err sitewise_list_summaries(const struct sw_config *cfg, const char *type,
    sitewise_summary_fn fn, void *arg);

/* The endpoint the list comes from (for cache keys); caller frees. */
char *sitewise_endpoint(const struct sw_config *cfg, const char *region);

#endif
