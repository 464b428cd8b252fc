/*
 * session.h - one AWS session per configuration: the credential chain,
 * the region, the shared curl state (DNS, TLS sessions, idle connections)
 * and the request budget (at most cfg->requests requests on the wire at
 * once, whichever client sends them), used by every S3 store and the IoT
 * SiteWise client opened from that configuration.
 *
 * Ownership: a session is reference-counted and found by its
 * configuration.  aws_session_get(cfg) hands out the live session of cfg
 * (the same struct sw_config, with the same profile, region and request
 * budget) or makes one; each store or client keeps a reference and drops
 * it with aws_session_release(); the last release frees it.  So callers
 * keep opening stores with store_open(url, cfg, ...): two stores and the
 * SiteWise listing opened from one configuration while any of them is
 * open share one credential chain, one connection cache and one budget,
 * without a session being passed through the engine, the publisher and
 * every command.  A different struct sw_config gets a session of its own
 * (and reads the environment afresh).
 */
#ifndef SWREPART_SESSION_H
#define SWREPART_SESSION_H

#include "base/err.h"

struct aws_session;
struct creds_provider;
struct http_client;
struct http_shared;
struct sw_config;

/*
 * The session of cfg, a new reference in *out: its credentials are found
 * (creds_provider_new()) and its region read (creds_region()) when it is
 * made.  Errors are theirs.  Thread-safe.  cfg must stay valid while the
 * session is referenced.
 */
sw_err aws_session_get(const struct sw_config *cfg, struct aws_session **out);

/* Drop a reference; the last one frees the session.  Accepts NULL. */
void aws_session_release(struct aws_session *s);

/* The credential chain, shared by every client of the session (borrowed). */
struct creds_provider *aws_session_creds(struct aws_session *s);

/* The configured region, or NULL when none is (callers pick a default). */
const char *aws_session_region(const struct aws_session *s);

/* The shared curl state and budget (borrowed). */
struct http_shared *aws_session_http(struct aws_session *s);

/* A signing client for service over the session (settings of the
 * session's configuration); free it with http_client_free() before the
 * session's reference is released. */
sw_err aws_session_client(struct aws_session *s, const char *service,
    int s3_rules, const char *region, struct http_client **out);

#endif
