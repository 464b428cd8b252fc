/*
 * creds.h - AWS credentials and region, found the way the AWS CLI finds
 * them.
 *
 * Credentials, first match wins:
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *      optionally AWS_SESSION_TOKEN (skipped when a profile is named
 *      explicitly in the configuration, as the AWS CLI skips it for
 *      --profile; AWS_PROFILE does not skip it);
 *   2. the shared files: $AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials,
 *      sections [name]) then $AWS_CONFIG_FILE (~/.aws/config, sections
 *      [default] and [profile name]) for the profile cfg->profile, else
 *      $AWS_DEFAULT_PROFILE or $AWS_PROFILE (botocore's order), else
 *      "default"; a profile named so must exist;
 *   3. the ECS/EKS container endpoint ($AWS_CONTAINER_CREDENTIALS_
 *      RELATIVE_URI or _FULL_URI, with $AWS_CONTAINER_AUTHORIZATION_TOKEN
 *      or _TOKEN_FILE);
 *   4. the EC2 instance metadata service, IMDSv2 ($AWS_EC2_METADATA_*).
 * Profiles that ask for a method swrepart does not implement (role_arn,
 * web identity, sso_*, credential_process, login_session) are an error
 * naming the key, never silently skipped.
 *
 * The environment is read when a function is called, so tests point the
 * code at temporary files with setenv().  Secrets are wiped when they are
 * replaced or freed and never reach a log line; only the source is logged.
 */
#ifndef SWREPART_CREDS_H
#define SWREPART_CREDS_H

#include <time.h>

#include "base/err.h"

struct sw_config;

/* One set of credentials.  The strings are owned by whoever holds the
 * struct and are released (wiped) with creds_release(). */
struct aws_creds {
	char *access_key;
	char *secret_key;
	char *session_token;  /* NULL when none */
	time_t expiration;    /* 0: never expires */
};

/* Shared by many threads; see creds_get(). */
struct creds_provider;

/* Refresh expiring credentials when fewer than this many seconds remain. */
#define CREDS_REFRESH_MARGIN 300

/* Optional, once at start-up before any thread uses jansson: makes jansson
 * wipe the memory it frees, so the parser's own scratch copies of a JSON
 * credentials document are cleared too (creds.c always wipes the document's
 * strings itself).  Costs one memset per jansson free, process-wide. */
void creds_global_init(void);

/* Find credentials once, in the order above.  cfg may be NULL (no explicit
 * profile).  Errors: SW_ERR_CREDS when nothing was found (the message lists
 * what was tried), when only half of a key pair is set, or when a profile
 * needs an unsupported method; SW_ERR_NOTFOUND for a named profile in
 * neither file; SW_ERR_CONFIG for a malformed file (FILE:LINE), a
 * disallowed container URL or a bad AWS_METADATA_SERVICE_* number;
 * SW_ERR_IO for an unreadable file; SW_ERR_NET, SW_ERR_PROTO,
 * SW_ERR_CREDS (HTTP status) from the container endpoint, whose failure
 * ends the search as in botocore (an IMDS failure only adds to the list).
 * On success *out is set; free with creds_provider_free(). */
sw_err creds_provider_new(const struct sw_config *cfg,
    struct creds_provider **out);

/* The same, with the requests to the container endpoint and IMDS sent
 * through shared (http.h: a session's connections and request budget;
 * borrowed, outlives the provider; NULL: the provider's own). */
struct http_shared;
sw_err creds_provider_new_shared(const struct sw_config *cfg,
    struct http_shared *shared, struct creds_provider **out);

/* A fetch function: store fresh credentials in *out (zeroed on entry; the
 * provider takes the strings).  Must be callable from any thread. */
typedef sw_err (*creds_fetch_fn)(void *arg, struct aws_creds *out);

/* A provider that gets its credentials from fn (tests, fixed keys).  fn is
 * called once here and again whenever the credentials near expiration.
 * source is copied; it is what creds_source() returns. */
sw_err creds_provider_new_fetch(const char *source, creds_fetch_fn fn,
    void *arg, struct creds_provider **out);

/* Change the refresh margin (default CREDS_REFRESH_MARGIN seconds). */
void creds_set_refresh_margin(struct creds_provider *p, int seconds);

/* Accepts NULL.  Wipes the credentials it holds. */
void creds_provider_free(struct creds_provider *p);

/* A private copy of the current credentials in *out (zeroed on entry; the
 * caller releases it with creds_release()), refreshed first when they
 * expire within the margin of now.  Thread-safe: one caller refreshes while
 * the others keep using the current credentials if those are valid for
 * another minute, or wait for it.  A failed refresh is retried at most
 * every 10 seconds; until then callers get the current credentials while
 * they are still valid, else that failure's error. */
sw_err creds_get(struct creds_provider *p, time_t now, struct aws_creds *out);

/* Wipe and free the strings and zero the struct.  Accepts NULL and a
 * zeroed struct. */
void creds_release(struct aws_creds *c);

/* Where the credentials come from, for log lines: "environment",
 * "profile 'x' in '/home/u/.aws/credentials'", "ECS container endpoint
 * 'http://...'", "IMDS role 'r'".  Owned by p; never NULL. */
const char *creds_source(const struct creds_provider *p);

/* The region: cfg->region when set, else $AWS_REGION, $AWS_DEFAULT_REGION,
 * then the profile's "region" key (credentials file, then config file, as
 * the AWS CLI merges them).  *out is NULL when none is configured (the
 * caller picks a default); else the caller frees it.  Errors as for
 * creds_provider_new() about the profile and the files. */
sw_err creds_region(const struct sw_config *cfg, char **out);

#endif
