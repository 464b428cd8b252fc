/*
 * t_creds.c - credentials and region resolution (creds.c).
 *
 *   t_creds              the unit tests: environment, shared files, region,
 *                        refresh and wiping; nothing touches the network
 *                        (IMDS is disabled or pointed at a closed port)
 *   t_creds --mock PORT  the IMDS and ECS tests against creds_mock.py on
 *                        127.0.0.1:PORT; run by
 *                        tests/integration/20-creds-imds-ecs.sh
 *
 * Every test starts from an environment without AWS_* variables, with HOME
 * and the shared files in a temporary directory.
 */
#include "config.h"

#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "aws/creds.h"
#include "base/log.h"
#include "base/options.h"
#include "tap.h"
#include "testlib.h"
#include "base/util.h"

extern char **environ;

static const char *tmpdir;
static char cred_path[300], conf_path[300], log_path[300];

/*
 * What gets wiped.  This definition takes the place of libcrypto's for the
 * whole program (the executable's symbol wins), so the tests can tell
 * whether a buffer holding a secret went through OPENSSL_cleanse.
 */
static const char *watch;       /* the secret looked for */
static int watch_exact;         /* wipes of exactly the secret */
static int watch_larger;        /* wipes of a larger buffer holding it */

void
OPENSSL_cleanse(void *ptr, size_t len)
{
	size_t n;

	if (watch != NULL && ptr != NULL) {
		n = strlen(watch);
		if (len == n && memcmp(ptr, watch, n) == 0)
			watch_exact++;
		else if (len > n && memmem(ptr, len, watch, n) != NULL)
			watch_larger++;
	}
	if (ptr != NULL)
		explicit_bzero(ptr, len);
}

static void
watch_start(const char *secret)
{
	watch = secret;
	watch_exact = watch_larger = 0;
}

/*
 * Environment and files.
 */

static void
clear_aws_env(void)
{
	char *names[256], *eq;
	size_t i, n = 0;

	for (i = 0; environ[i] != NULL && n < 256; i++)
		if (strncmp(environ[i], "AWS_", 4) == 0 &&
		    (eq = strchr(environ[i], '=')) != NULL)
			names[n++] = strndup(environ[i],
			    (size_t)(eq - environ[i]));
	for (i = 0; i < n; i++) {
		unsetenv(names[i]);
		free(names[i]);
	}
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

/* A clean slate: no AWS_* variables, no shared files, IMDS off. */
static void
reset(void)
{
	clear_aws_env();
	setenv("HOME", tmpdir, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
	setenv("AWS_CONFIG_FILE", conf_path, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unlink(cred_path);
	unlink(conf_path);
}

static void
setup(void)
{
	tmpdir = test_tmpdir("t_creds");
	snprintf(cred_path, sizeof(cred_path), "%s/credentials", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/config", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/log", tmpdir);
}

/*
 * Resolving.
 */

struct result {
	sw_err rc;
	char msg[1024];
	char *source;
	struct aws_creds c;
};

static void
resolve(const char *profile, struct result *r)
{
	struct creds_provider *p;
	struct sw_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	memset(r, 0, sizeof(*r));
	cfg.profile = (char *)profile;
	r->rc = creds_provider_new(&cfg, &p);
	snprintf(r->msg, sizeof(r->msg), "%s", sw_errmsg());
	if (r->rc != SW_OK)
		return;
	r->source = xstrdup(creds_source(p));
	r->rc = creds_get(p, time(NULL), &r->c);
	creds_provider_free(p);
}

static void
result_release(struct result *r)
{
	free(r->source);
	creds_release(&r->c);
	memset(r, 0, sizeof(*r));
}

static int
has(const char *s, const char *needle)
{
	return s != NULL && strstr(s, needle) != NULL;
}

/* Expect success with access key ak (any when NULL) from a source
 * containing src. */
static void
expect_ok(const char *profile, const char *ak, const char *src,
    const char *name)
{
	struct result r;
	char what[300];

	resolve(profile, &r);
	snprintf(what, sizeof(what), "%s: resolves", name);
	if (!ok(r.rc == SW_OK, "%s", what))
		diag("error: %s", r.msg);
	snprintf(what, sizeof(what), "%s: access key", name);
	if (ak != NULL)
		is_str(r.c.access_key, ak, what);
	else
		ok(r.c.access_key != NULL, "%s", what);
	snprintf(what, sizeof(what), "%s: source mentions \"%s\"", name, src);
	if (!ok(has(r.source, src), "%s", what))
		diag("source: %s", r.source ? r.source : "(null)");
	result_release(&r);
}

/* Expect failure rc with a message containing each of the NULL-ended
 * needles. */
static void
expect_err(const char *profile, sw_err rc, const char *name, ...)
{
	struct result r;
	const char *needle;
	va_list ap;

	resolve(profile, &r);
	if (!ok(r.rc == rc, "%s: fails with %s", name, sw_errname(rc)))
		diag("got %s: %s", sw_errname(r.rc), r.msg);
	va_start(ap, name);
	while ((needle = va_arg(ap, const char *)) != NULL)
		if (!ok(has(r.msg, needle), "%s: message names \"%s\"", name,
		    needle))
			diag("message: %s", r.msg);
	va_end(ap);
	result_release(&r);
}

/* Start capturing stderr (the log) into log_path. */
static int
capture_start(void)
{
	int saved, fd;

	fflush(stderr);
	saved = dup(2);
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	log_set_level(LOG_LVL_DEBUG);
	return saved;
}

/* Stop capturing; the captured text (caller frees). */
static char *
capture_end(int saved)
{
	struct buf b;
	char chunk[512];
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_set_level(LOG_LVL_NOTICE);
	buf_init(&b);
	if ((fd = open(log_path, O_RDONLY)) >= 0) {
		while ((n = read(fd, chunk, sizeof(chunk))) > 0)
			buf_append(&b, chunk, (size_t)n);
		close(fd);
	}
	return buf_detach(&b);
}

/*
 * The unit tests.
 */

#define AK1 "AKIAENVIRONMENT00001"
#define SK1 "env/secret/key/0000000000000000000000001"

static void
test_env(void)
{
	struct result r;

	reset();
	setenv("AWS_ACCESS_KEY_ID", AK1, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SK1, 1);
	setenv("AWS_SESSION_TOKEN", "env-token", 1);
	resolve(NULL, &r);
	ok(r.rc == SW_OK, "env: resolves");
	is_str(r.source, "environment", "env: source");
	is_str(r.c.access_key, AK1, "env: access key");
	is_str(r.c.secret_key, SK1, "env: secret key");
	is_str(r.c.session_token, "env-token", "env: session token");
	is_int(r.c.expiration, 0, "env: never expires");
	result_release(&r);

	unsetenv("AWS_SESSION_TOKEN");
	resolve(NULL, &r);
	ok(r.rc == SW_OK && r.c.session_token == NULL,
	    "env: no session token when AWS_SESSION_TOKEN is unset");
	result_release(&r);

	setenv("AWS_SESSION_TOKEN", "", 1);
	resolve(NULL, &r);
	ok(r.rc == SW_OK && r.c.session_token == NULL,
	    "env: an empty AWS_SESSION_TOKEN counts as unset");
	result_release(&r);

	/* Half a key pair. */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	expect_err(NULL, SW_ERR_CREDS, "env: only the access key",
	    "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not", NULL);
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SECRET_ACCESS_KEY", SK1, 1);
	expect_err(NULL, SW_ERR_CREDS, "env: only the secret key",
	    "AWS_ACCESS_KEY_ID is not", NULL);
	/* Both set but one empty is half a pair too. */
	setenv("AWS_ACCESS_KEY_ID", "", 1);
	expect_err(NULL, SW_ERR_CREDS, "env: empty access key",
	    "AWS_ACCESS_KEY_ID is not", NULL);
}

static void
test_env_vs_files(void)
{
	reset();
	write_file(cred_path, "[default]\naws_access_key_id = AKIAFILEDEFAULT\n"
	    "aws_secret_access_key = file-secret\n"
	    "[x]\naws_access_key_id = AKIAFILEX\n"
	    "aws_secret_access_key = file-secret-x\n");
	setenv("AWS_ACCESS_KEY_ID", AK1, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SK1, 1);
	expect_ok(NULL, AK1, "environment", "env beats the default profile");
	setenv("AWS_PROFILE", "x", 1);
	expect_ok(NULL, AK1, "environment", "env beats AWS_PROFILE");
	/* As the AWS CLI's --profile: a named profile skips the
	 * environment. */
	expect_ok("x", "AKIAFILEX", "profile 'x' in '", "explicit profile "
	    "skips the environment");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	expect_ok(NULL, "AKIAFILEDEFAULT", cred_path, "default profile from "
	    "the credentials file");
}

static void
test_files(void)
{
	reset();
	/* Both files: the credentials file wins. */
	write_file(cred_path, "[default]\naws_access_key_id = AKIACRED\n"
	    "aws_secret_access_key = cred-secret\n");
	write_file(conf_path, "[default]\naws_access_key_id = AKIACONF\n"
	    "aws_secret_access_key = conf-secret\nregion = eu-west-1\n"
	    "[profile only-conf]\naws_access_key_id = AKIAONLYCONF\n"
	    "aws_secret_access_key = s\n"
	    "[bare]\naws_access_key_id = AKIABARE\naws_secret_access_key = s\n"
	    "[profile   spaced  ]\naws_access_key_id = AKIASPACED\n"
	    "aws_secret_access_key = s\n"
	    "[profile \"quoted name\"]\naws_access_key_id = AKIAQUOTED\n"
	    "aws_secret_access_key = s\n");
	expect_ok(NULL, "AKIACRED", cred_path, "credentials file beats "
	    "config file");
	expect_ok("only-conf", "AKIAONLYCONF", conf_path, "[profile x] in "
	    "the config file");
	expect_ok("spaced", "AKIASPACED", conf_path, "[profile   x  ] in the "
	    "config file");
	expect_ok("quoted name", "AKIAQUOTED", conf_path, "[profile \"a b\"] "
	    "in the config file");
	expect_err("bare", SW_ERR_NOTFOUND, "[x] in the config file is not "
	    "profile x", "'bare'", NULL);
	expect_ok("default", "AKIACRED", cred_path, "explicit default");

	/* Config file only. */
	unlink(cred_path);
	expect_ok(NULL, "AKIACONF", conf_path, "default from the config file");

	/* [profile x] in the credentials file is a profile named so. */
	write_file(cred_path, "[profile y]\naws_access_key_id = AKIAPROFY\n"
	    "aws_secret_access_key = s\n");
	expect_err("y", SW_ERR_NOTFOUND, "[profile y] in the credentials "
	    "file is not profile y", "'y'", NULL);
	expect_ok("profile y", "AKIAPROFY", cred_path, "it is profile "
	    "'profile y'");

	/* [profile default] is the default profile too; the later wins. */
	write_file(cred_path, "");
	write_file(conf_path, "[default]\naws_access_key_id = AKIAFIRST\n"
	    "aws_secret_access_key = s\n[profile default]\n"
	    "aws_access_key_id = AKIASECOND\naws_secret_access_key = s\n");
	expect_ok(NULL, "AKIASECOND", conf_path, "[profile default]");

	/* A profile in the credentials file and another in the config file:
	 * keys from each, the credentials file first. */
	write_file(cred_path, "[p]\nregion = us-west-2\n");
	write_file(conf_path, "[profile p]\naws_access_key_id = AKIAP\n"
	    "aws_secret_access_key = s\n");
	expect_ok("p", "AKIAP", conf_path, "keys from the config file when "
	    "the credentials file has none");

	/* Partial keys in a file. */
	write_file(cred_path, "[default]\naws_access_key_id = AKIAHALF\n");
	expect_err(NULL, SW_ERR_CREDS, "file: only the access key",
	    "aws_access_key_id but no aws_secret_access_key", cred_path, NULL);

	/* The default home paths. */
	reset();
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	{
		char dir[300], path[320];

		snprintf(dir, sizeof(dir), "%s/.aws", tmpdir);
		mkdir(dir, 0700);
		snprintf(path, sizeof(path), "%s/credentials", dir);
		write_file(path, "[default]\naws_access_key_id = AKIAHOME\n"
		    "aws_secret_access_key = s\n");
		expect_ok(NULL, "AKIAHOME", "/.aws/credentials'", "~/.aws/"
		    "credentials by default");
		unlink(path);
		rmdir(dir);
	}
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/creds-elsewhere", 1);
	write_file(cred_path, "");
	{
		char path[320];

		snprintf(path, sizeof(path), "%s/creds-elsewhere", tmpdir);
		write_file(path, "[default]\naws_access_key_id = AKIATILDE\n"
		    "aws_secret_access_key = s\n");
		expect_ok(NULL, "AKIATILDE", path, "~ in "
		    "AWS_SHARED_CREDENTIALS_FILE");
		unlink(path);
	}
}

static void
test_profiles(void)
{
	reset();
	write_file(cred_path, "[a]\naws_access_key_id = AKIAA\n"
	    "aws_secret_access_key = s\n[b]\naws_access_key_id = AKIAB\n"
	    "aws_secret_access_key = s\n[default]\n"
	    "aws_access_key_id = AKIADEF\naws_secret_access_key = s\n");
	setenv("AWS_PROFILE", "a", 1);
	expect_ok(NULL, "AKIAA", "profile 'a'", "AWS_PROFILE");
	expect_ok("b", "AKIAB", "profile 'b'", "explicit profile beats "
	    "AWS_PROFILE");
	setenv("AWS_DEFAULT_PROFILE", "b", 1);
	expect_ok(NULL, "AKIAB", "profile 'b'", "AWS_DEFAULT_PROFILE beats "
	    "AWS_PROFILE (botocore)");
	unsetenv("AWS_DEFAULT_PROFILE");

	/* Named profiles must exist; the default need not. */
	expect_err("nope", SW_ERR_NOTFOUND, "missing explicit profile",
	    "profile 'nope'", cred_path, conf_path, NULL);
	setenv("AWS_PROFILE", "gone", 1);
	expect_err(NULL, SW_ERR_NOTFOUND, "missing AWS_PROFILE profile",
	    "profile 'gone' (from AWS_PROFILE)", cred_path, conf_path, NULL);
	unsetenv("AWS_PROFILE");
	write_file(cred_path, "[other]\n");
	expect_err(NULL, SW_ERR_CREDS, "no default profile: nothing found",
	    "no AWS credentials found", "environment", "profile 'default'",
	    "ECS", "IMDS", NULL);
	unlink(cred_path);
	expect_err(NULL, SW_ERR_CREDS, "no files: the message says so",
	    "missing", NULL);
}

static void
test_parse(void)
{
	struct result r;

	reset();
	/* Comments, blanks, CRLF, ':' delimiters, case, nested blocks,
	 * continuation lines and [DEFAULT]. */
	write_file(conf_path,
	    "# a comment\n"
	    "; another\n"
	    "\n"
	    "[DEFAULT]\n"
	    "aws_session_token = inherited-token\n"
	    "[default]\r\n"
	    "   # an indented comment\r\n"
	    "AWS_Access_Key_ID = AKIAPARSED   \r\n"
	    "aws_secret_access_key: parsed-secret=with:delims\r\n"
	    "s3 =\n"
	    "    max_concurrent_requests = 20\n"
	    "\n"
	    "    # a comment inside\n"
	    "    signature_version = s3v4\n"
	    "cli_pager = less # not a comment\n"
	    "  -R\n"
	    "region = eu-central-1\n");
	resolve(NULL, &r);
	if (!ok(r.rc == SW_OK, "parse: comments, nested and CRLF accepted"))
		diag("error: %s", r.msg);
	is_str(r.c.access_key, "AKIAPARSED", "parse: keys are "
	    "case-insensitive, values trimmed");
	is_str(r.c.secret_key, "parsed-secret=with:delims", "parse: ':' "
	    "delimiter, later '=' and ':' kept");
	is_str(r.c.session_token, "inherited-token", "parse: [DEFAULT] is "
	    "inherited");
	result_release(&r);

	/* Malformed lines name FILE:LINE, never the line. */
#define BAD(text, needle, name) do {                                   \
		char want[400];                                          \
		write_file(conf_path, text);                             \
		snprintf(want, sizeof(want), "%s:%s", conf_path, needle); \
		expect_err(NULL, SW_ERR_CONFIG, name, want, NULL);        \
	} while (0)
	BAD("[default]\naws_access_key_id = A\nsecretwithoutdelimiter\n",
	    "3: expected 'name = value'", "a line without '='");
	BAD("aws_access_key_id = A\n[default]\n", "1: expected a [section]",
	    "a setting before any section");
	BAD("[default]\nk = 1\n[x]\n[default]\n", "4: section [default] "
	    "already appears on line 1", "a duplicate section");
	BAD("[default]\nk = 1\nK = 2\n", "3: 'k' already set",
	    "a duplicate key");
	BAD("[default]\ns3 =\n  a = 1\n  oops\n", "4: expected 'name = value' "
	    "in the settings nested under 's3'", "a nested line without '='");
	BAD("[default]\n = value\n", "2: a setting without a name",
	    "a setting without a name");
	BAD("[default]\n[]\n", "2: expected", "an empty section name");
	write_file(conf_path, "[default]\naws_secret_access_key = SECRETVAL\n"
	    "SECRETVAL-on-its-own\n");
	resolve(NULL, &r);
	ok(r.rc == SW_ERR_CONFIG && !has(r.msg, "SECRETVAL"), "parse: the "
	    "error does not quote the line");
	result_release(&r);
	/* An indented line continues the value, as in botocore. */
	write_file(conf_path, "[default]\naws_access_key_id = AKIA\n"
	    "  aws_secret_access_key = s\n");
	expect_err(NULL, SW_ERR_CREDS, "parse: an indented line continues "
	    "the value above", "no aws_secret_access_key", NULL);
	/* An error in the credentials file names it. */
	write_file(conf_path, "");
	write_file(cred_path, "[a]\n[a]\n");
	{
		char want[400];

		snprintf(want, sizeof(want), "%s:2:", cred_path);
		expect_err(NULL, SW_ERR_CONFIG, "parse: credentials file",
		    want, NULL);
	}
	/* A directory is not a file. */
	unlink(cred_path);
	mkdir(cred_path, 0700);
	expect_err(NULL, SW_ERR_IO, "parse: a directory", "is a directory",
	    NULL);
	rmdir(cred_path);
}

static void
test_unsupported(void)
{
	reset();
	write_file(conf_path, "[profile role]\nrole_arn = arn:aws:iam::1:role/r\n"
	    "source_profile = default\n"
	    "[profile sso]\nsso_session = corp\nsso_account_id = 1\n"
	    "[profile proc]\ncredential_process = /bin/true\n"
	    "[profile proc-keys]\ncredential_process = /bin/true\n"
	    "[profile login]\nlogin_session = arn:aws:iam::1:user/u\n");
	write_file(cred_path, "[role]\naws_access_key_id = AKIAROLE\n"
	    "aws_secret_access_key = s\n[proc-keys]\n"
	    "aws_access_key_id = AKIAPROCKEYS\naws_secret_access_key = s\n");
	expect_err("role", SW_ERR_CREDS, "role_arn (even with keys)",
	    "profile 'role' sets role_arn", conf_path, "export-credentials",
	    NULL);
	expect_err("sso", SW_ERR_CREDS, "sso_*", "sets sso_session",
	    "IAM Identity Center", NULL);
	expect_err("proc", SW_ERR_CREDS, "credential_process",
	    "sets credential_process", NULL);
	expect_err("login", SW_ERR_CREDS, "login_session",
	    "sets login_session", NULL);
	/* botocore reads the credentials file before credential_process. */
	expect_ok("proc-keys", "AKIAPROCKEYS", cred_path, "keys in the "
	    "credentials file beat credential_process");

	/* Web identity from the environment (EKS IRSA). */
	write_file(conf_path, "");
	write_file(cred_path, "");
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token", 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
	expect_err(NULL, SW_ERR_CREDS, "web identity environment",
	    "AWS_WEB_IDENTITY_TOKEN_FILE", NULL);
}

static void
test_ecs_url_rules(void)
{
	reset();
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
	    "http://example.com/creds", 1);
	expect_err(NULL, SW_ERR_CONFIG, "ECS: plain http to another host",
	    "not allowed", "http://example.com/creds", NULL);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.0.0.1/c", 1);
	expect_err(NULL, SW_ERR_CONFIG, "ECS: plain http to a private address",
	    "not allowed", NULL);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://127.0.0.1/c", 1);
	expect_err(NULL, SW_ERR_CONFIG, "ECS: another scheme", "not allowed",
	    NULL);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "not a url", 1);
	expect_err(NULL, SW_ERR_CONFIG, "ECS: not a URL", "not a URL", NULL);
	/* Loopback over plain http is allowed: a closed port fails on the
	 * network, after the URL passed. */
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c", 1);
	expect_err(NULL, SW_ERR_NET, "ECS: loopback is allowed; a failure "
	    "ends the search", "http://127.0.0.1:1/c", NULL);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://[::1]:1/c", 1);
	expect_err(NULL, SW_ERR_NET, "ECS: IPv6 loopback is allowed",
	    "[::1]", NULL);
}

static void
test_imds_unreachable(void)
{
	reset();
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
	expect_err(NULL, SW_ERR_CREDS, "IMDS: a closed port means not found",
	    "no AWS credentials found", "IMDS (cannot reach "
	    "'http://127.0.0.1:1/latest/api/token'", NULL);
	setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "zero", 1);
	expect_err(NULL, SW_ERR_CONFIG, "IMDS: a bad attempt count",
	    "AWS_METADATA_SERVICE_NUM_ATTEMPTS", NULL);
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	expect_err(NULL, SW_ERR_CREDS, "IMDS: AWS_EC2_METADATA_DISABLED",
	    "AWS_EC2_METADATA_DISABLED is true", NULL);
}

/*
 * An IMDS stand-in on 127.0.0.1 for one test: the token request (PUT) is
 * answered 200 with token, every other request 404; all requests' heads
 * are kept in seen.  One connection per request (creds.c uses a new
 * handle each time).
 */
struct imds_stub {
	int fd;
	const char *token;
	char seen[8192];
	size_t nseen;
	atomic_int stop;
};

static void *
imds_stub_main(void *arg)
{
	struct imds_stub *s = arg;
	char req[4096], head[256];
	struct pollfd pfd;
	size_t have;
	ssize_t r;
	int c, n;

	while (!s->stop) {
		pfd.fd = s->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) <= 0 || (c = accept(s->fd, NULL,
		    NULL)) < 0)
			continue;
		have = 0;
		while (have < sizeof(req) - 1 && (r = recv(c, req + have,
		    sizeof(req) - 1 - have, 0)) > 0) {
			have += (size_t)r;
			req[have] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		req[have] = '\0';
		if (s->nseen + have < sizeof(s->seen)) {
			memcpy(s->seen + s->nseen, req, have + 1);
			s->nseen += have;
		}
		if (strncmp(req, "PUT ", 4) == 0)
			n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			    strlen(s->token));
		else
			n = snprintf(head, sizeof(head), "HTTP/1.1 404 Not "
			    "Found\r\nContent-Length: 0\r\nConnection: "
			    "close\r\n\r\n");
		if (send(c, head, (size_t)n, MSG_NOSIGNAL) == n &&
		    strncmp(req, "PUT ", 4) == 0)
			(void)send(c, s->token, strlen(s->token), MSG_NOSIGNAL);
		close(c);
	}
	return NULL;
}

/* Found by tests/fuzz/fuzz_creds_http: the IMDS session token went into
 * the header of the next requests as sent, so a line break in it added
 * headers of the sender's choosing. */
static void
test_imds_token_line_break(void)
{
	struct imds_stub s;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	pthread_t t;
	char url[64];

	memset(&s, 0, sizeof(s));
	s.token = "AQAEAfUKf2s=\r\nX-Injected: 1";
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s.fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(s.fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(s.fd, 4) != 0 ||
	    getsockname(s.fd, (struct sockaddr *)&a, &al) != 0 ||
	    pthread_create(&t, NULL, imds_stub_main, &s) != 0) {
		printf("Bail out! cannot start the IMDS stand-in\n");
		exit(1);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	reset();
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "1", 1);
	expect_err(NULL, SW_ERR_CREDS, "IMDS: a session token with a line "
	    "break is refused", "no AWS credentials found", "session token "
	    "with a control character", NULL);
	s.stop = 1;
	pthread_join(t, NULL);
	close(s.fd);
	ok(strstr(s.seen, "X-Injected") == NULL, "IMDS: nothing of the token "
	    "reaches a request header");
}

static void
test_region(void)
{
	struct sw_config cfg;
	char *region;
	sw_err rc;

#define REGION(want, name) do {                                        \
		rc = creds_region(&cfg, &region);                        \
		if (!ok(rc == SW_OK, "region: %s: no error", name))      \
			diag("error: %s", sw_errmsg());                  \
		is_str(region, want, "region: " name);                   \
		free(region);                                            \
	} while (0)

	reset();
	memset(&cfg, 0, sizeof(cfg));
	REGION(NULL, "none configured");
	write_file(conf_path, "[default]\nregion = eu-west-1\n"
	    "[profile x]\nregion = ap-south-1\n");
	REGION("eu-west-1", "from the default profile");
	write_file(cred_path, "[default]\nregion = eu-north-1\n");
	REGION("eu-north-1", "the credentials file merges over the config "
	    "file");
	unlink(cred_path);
	setenv("AWS_PROFILE", "x", 1);
	REGION("ap-south-1", "from AWS_PROFILE's profile");
	unsetenv("AWS_PROFILE");
	cfg.profile = (char *)"x";
	REGION("ap-south-1", "from the explicit profile");
	setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
	REGION("us-west-1", "AWS_DEFAULT_REGION beats the profile");
	setenv("AWS_REGION", "us-east-2", 1);
	REGION("us-east-2", "AWS_REGION beats AWS_DEFAULT_REGION");
	cfg.region = (char *)"sa-east-1";
	REGION("sa-east-1", "the configuration beats everything");
	cfg.region = NULL;
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	cfg.profile = (char *)"missing";
	rc = creds_region(&cfg, &region);
	ok(rc == SW_ERR_NOTFOUND && region == NULL, "region: a missing named "
	    "profile is an error");
	free(region);
	cfg.profile = NULL;
	write_file(conf_path, "[default]\nregion\n");
	rc = creds_region(&cfg, &region);
	ok(rc == SW_ERR_CONFIG && region == NULL, "region: a malformed file "
	    "is an error");
	free(region);
}

/*
 * Refresh, with a fake fetch and a fake clock.
 */

#define T0 ((time_t)1700000000)

struct fake {
	pthread_mutex_t m;
	int calls;
	int fail;
	int delay_ms;
	time_t exp;
};

static sw_err
fake_fetch(void *arg, struct aws_creds *out)
{
	struct fake *f = arg;
	char s[64];
	int n, fail, delay;
	time_t exp;

	pthread_mutex_lock(&f->m);
	n = ++f->calls;
	fail = f->fail;
	delay = f->delay_ms;
	exp = f->exp;
	pthread_mutex_unlock(&f->m);
	if (delay > 0)
		usleep((useconds_t)delay * 1000);
	if (fail)
		return sw_seterr(SW_ERR_NET, "fake endpoint down");
	snprintf(s, sizeof(s), "AKIAFAKE%04d", n);
	out->access_key = xstrdup(s);
	snprintf(s, sizeof(s), "fake-secret-%04d", n);
	out->secret_key = xstrdup(s);
	out->session_token = xstrdup("fake-token");
	out->expiration = exp;
	return SW_OK;
}

static int
calls(struct fake *f)
{
	int n;

	pthread_mutex_lock(&f->m);
	n = f->calls;
	pthread_mutex_unlock(&f->m);
	return n;
}

/* creds_get at now: the access key (static buffer) or the error. */
static const char *
key_at(struct creds_provider *p, time_t now, sw_err *rc)
{
	static char key[64];
	struct aws_creds c;

	*rc = creds_get(p, now, &c);
	snprintf(key, sizeof(key), "%s", *rc == SW_OK ? c.access_key :
	    sw_errmsg());
	creds_release(&c);
	return key;
}

static void
test_refresh(void)
{
	struct fake f = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, T0 + 3600 };
	struct creds_provider *p;
	char *log;
	time_t e;
	int saved;
	sw_err rc;

	rc = creds_provider_new_fetch("fake", fake_fetch, &f, &p);
	ok(rc == SW_OK && calls(&f) == 1, "refresh: fetched once at start");
	is_str(creds_source(p), "fake", "refresh: source");
	is_str(key_at(p, T0, &rc), "AKIAFAKE0001", "refresh: fresh credentials "
	    "are kept");
	is_str(key_at(p, T0 + 3600 - 301, &rc), "AKIAFAKE0001", "refresh: "
	    "kept 301 s before expiry");
	is_int(calls(&f), 1, "refresh: no fetch yet");
	f.exp = T0 + 7200;
	is_str(key_at(p, T0 + 3600 - 300, &rc), "AKIAFAKE0002", "refresh: "
	    "refreshed 300 s before expiry");
	is_int(calls(&f), 2, "refresh: one fetch");

	creds_set_refresh_margin(p, 10);
	is_str(key_at(p, T0 + 7200 - 11, &rc), "AKIAFAKE0002", "refresh: "
	    "margin 10: kept 11 s before");
	f.exp = T0 + 10800;
	is_str(key_at(p, T0 + 7200 - 10, &rc), "AKIAFAKE0003", "refresh: "
	    "margin 10: refreshed 10 s before");
	creds_set_refresh_margin(p, CREDS_REFRESH_MARGIN);

	/* A failed refresh while the credentials last: keep them, and do not
	 * hammer the endpoint. */
	e = T0 + 10800;
	f.fail = 1;
	saved = capture_start();
	is_str(key_at(p, e - 200, &rc), "AKIAFAKE0003", "refresh: failure, "
	    "still valid: current credentials");
	log = capture_end(saved);
	ok(rc == SW_OK && calls(&f) == 4, "refresh: ...after one attempt");
	ok(has(log, "warning: cannot refresh credentials from fake: fake "
	    "endpoint down; using the current ones"), "refresh: a warning");
	ok(!has(log, "fake-secret"), "refresh: no secret in the log");
	free(log);
	is_str(key_at(p, e - 195, &rc), "AKIAFAKE0003", "refresh: within 10 s "
	    "of a failure: no new attempt");
	is_int(calls(&f), 4, "refresh: no fetch");
	/* Less than a minute left: an error. */
	key_at(p, e - 30, &rc);
	ok(rc == SW_ERR_NET && calls(&f) == 5, "refresh: failure, nearly "
	    "expired: the fetch's error");
	ok(has(sw_errmsg(), "cannot refresh credentials from fake: fake "
	    "endpoint down"), "refresh: the message names the source");
	key_at(p, e - 25, &rc);
	ok(rc == SW_ERR_NET && calls(&f) == 5 && has(sw_errmsg(), "fake "
	    "endpoint down"), "refresh: the same error again without a fetch");
	f.fail = 0;
	f.exp = e + 3600;
	is_str(key_at(p, e - 20, &rc), "AKIAFAKE0006", "refresh: 10 s later "
	    "it tries again");
	f.fail = 1;
	key_at(p, e + 3600 + 1, &rc);
	ok(rc == SW_ERR_NET, "refresh: expired and failing: an error");
	creds_provider_free(p);

	f.calls = 0;
	f.fail = 1;
	rc = creds_provider_new_fetch("fake", fake_fetch, &f, &p);
	ok(rc == SW_ERR_NET && p == NULL, "refresh: a first fetch failure is "
	    "creds_provider_new_fetch's");
	creds_provider_free(NULL);
}

struct worker {
	struct creds_provider *p;
	pthread_barrier_t *start;
	time_t now;
	sw_err rc;
	char key[32];
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct aws_creds c;

	pthread_barrier_wait(w->start);
	w->rc = creds_get(w->p, w->now, &c);
	if (w->rc == SW_OK)
		snprintf(w->key, sizeof(w->key), "%s", c.access_key);
	creds_release(&c);
	return NULL;
}

static int
run_workers(struct creds_provider *p, time_t now, const char *want)
{
	enum { N = 8 };
	struct worker w[N];
	pthread_t t[N];
	pthread_barrier_t start;
	int i, good = 1;

	pthread_barrier_init(&start, NULL, N);
	for (i = 0; i < N; i++) {
		w[i].p = p;
		w[i].start = &start;
		w[i].now = now;
		w[i].key[0] = '\0';
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	}
	for (i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		if (w[i].rc != SW_OK || (want != NULL &&
		    strcmp(w[i].key, want) != 0)) {
			diag("thread %d: %s %s", i, sw_errname(w[i].rc),
			    w[i].key);
			good = 0;
		}
	}
	pthread_barrier_destroy(&start);
	return good;
}

static void
test_threads(void)
{
	struct fake f = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, T0 + 3600 };
	struct creds_provider *p;

	if (creds_provider_new_fetch("fake", fake_fetch, &f, &p) != SW_OK) {
		ok(0, "threads: provider");
		return;
	}
	f.delay_ms = 200;
	f.exp = T0 + 7200;
	/* Still valid: one thread refreshes, the others do not wait. */
	ok(run_workers(p, T0 + 3600 - 120, NULL), "threads: all get "
	    "credentials while one refreshes");
	is_int(calls(&f), 2, "threads: exactly one refresh");
	/* Expired: all wait for the one refresh and get its result. */
	f.exp = T0 + 10800;
	ok(run_workers(p, T0 + 7200 + 5, "AKIAFAKE0003"), "threads: expired: "
	    "all get the refreshed credentials");
	is_int(calls(&f), 3, "threads: exactly one refresh");
	creds_provider_free(p);
}

/*
 * Secrets: wiped and never logged.
 */

static void
test_wipe(void)
{
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWIPEME001";
	struct aws_creds c;
	struct result r;
	char *log;
	int saved;

	c.access_key = xstrdup("AKIAWIPE");
	c.secret_key = xstrdup(secret);
	c.session_token = xstrdup("token-to-wipe");
	c.expiration = 42;
	watch_start(secret);
	creds_release(&c);
	is_int(watch_exact, 1, "wipe: creds_release wipes the secret key");
	ok(c.access_key == NULL && c.secret_key == NULL &&
	    c.session_token == NULL && c.expiration == 0,
	    "wipe: creds_release zeroes the struct");
	creds_release(&c);
	creds_release(NULL);
	ok(1, "wipe: creds_release accepts a zeroed struct and NULL");

	c.access_key = xstrdup("AKIAWIPE");
	c.secret_key = xstrdup("s");
	c.session_token = xstrdup("token-to-wipe");
	watch_start("token-to-wipe");
	creds_release(&c);
	is_int(watch_exact, 1, "wipe: creds_release wipes the session token");

	/* A profile: the file buffer and every copy are wiped. */
	reset();
	write_file(cred_path, "[default]\naws_access_key_id = AKIAWIPEFILE\n"
	    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYWIPEME001\n");
	watch_start(secret);
	saved = capture_start();
	resolve(NULL, &r);
	is_str(r.c.secret_key, secret, "wipe: resolved from the file");
	result_release(&r);
	log = capture_end(saved);
	ok(watch_larger >= 1, "wipe: the file's read buffer is wiped (%d)",
	    watch_larger);
	/* parsed value, provider copy, caller's copy */
	ok(watch_exact >= 3, "wipe: every copy of the key is wiped (%d)",
	    watch_exact);
	ok(has(log, "credentials from profile 'default' in '"), "log: names "
	    "the source");
	ok(!has(log, secret) && !has(log, "AKIAWIPEFILE"), "log: no key in "
	    "the log");
	free(log);

	/* The environment and a refresh: logged by source only. */
	reset();
	setenv("AWS_ACCESS_KEY_ID", "AKIALOGENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
	saved = capture_start();
	resolve(NULL, &r);
	result_release(&r);
	log = capture_end(saved);
	ok(has(log, "credentials from environment"), "log: environment");
	ok(!has(log, secret) && !has(log, "AKIALOGENV"), "log: no key");
	free(log);
	watch = NULL;
}

/*
 * Against creds_mock.py (t_creds --mock PORT).
 */

static char mock_base[64];

/* One of the mock's /_stats counters, or -1. */
static long
mock_stat(const char *name)
{
	struct buf b;
	json_t *j;
	long v = -1;
	CURL *c;
	char url[128];

	buf_init(&b);
	snprintf(url, sizeof(url), "%s/_stats", mock_base);
	if ((c = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	{
		FILE *f = open_memstream(&b.data, &b.len);

		curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
		curl_easy_perform(c);
		fclose(f);
	}
	curl_easy_cleanup(c);
	if (b.data != NULL && (j = json_loads(b.data, 0, NULL)) != NULL) {
		if (json_is_integer(json_object_get(j, name)))
			v = (long)json_integer_value(json_object_get(j, name));
		json_decref(j);
	}
	free(b.data);
	return v;
}

static int
mock_tests(const char *port)
{
	const char *tok = getenv("CREDS_MOCK_ECS_TOKEN");
	struct creds_provider *p;
	struct aws_creds c;
	struct sw_config cfg;
	struct result r;
	char url[200], key[64], path[320], *log;
	long puts0, rejected0;
	time_t now;
	int saved;
	sw_err rc;

	if (tok == NULL || *tok == '\0') {
		printf("Bail out! CREDS_MOCK_ECS_TOKEN is not set\n");
		return 1;
	}
	tok = strdup(tok);
	snprintf(mock_base, sizeof(mock_base), "http://127.0.0.1:%s", port);
	memset(&cfg, 0, sizeof(cfg));

	/* IMDSv2. */
	reset();
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", mock_base, 1);
	puts0 = mock_stat("token_puts");
	rejected0 = mock_stat("imds_rejected");
	ok(puts0 >= 0, "mock: /_stats answers");
	saved = capture_start();
	rc = creds_provider_new(&cfg, &p);
	log = capture_end(saved);
	if (!ok(rc == SW_OK, "imds: resolves")) {
		diag("error: %s", sw_errmsg());
		free(log);
		return done_testing();
	}
	is_str(creds_source(p), "IMDS role 'swrepart-test-role'",
	    "imds: source names the role");
	ok(has(log, "credentials from IMDS role 'swrepart-test-role'") &&
	    !has(log, "mock-secret") && !has(log, "mock-token"), "imds: log "
	    "names the source, no secret");
	free(log);
	now = time(NULL);
	rc = creds_get(p, now, &c);
	ok(rc == SW_OK && has(c.access_key, "ASIAMOCKIMDS") &&
	    has(c.secret_key, "mock-secret-IMDS") &&
	    has(c.session_token, "mock-token-IMDS"), "imds: credentials");
	ok(c.expiration > now + 3500 && c.expiration < now + 3700,
	    "imds: Expiration parsed (%lld s ahead)",
	    (long long)(c.expiration - now));
	is_int(mock_stat("token_puts") - puts0, 1, "imds: one token request");
	is_int(mock_stat("imds_rejected") - rejected0, 0, "imds: every GET "
	    "carried a valid token");
	snprintf(key, sizeof(key), "%s", c.access_key);
	creds_release(&c);
	rc = creds_get(p, now + 60, &c);
	ok(rc == SW_OK && strcmp(c.access_key, key) == 0, "imds: no refresh "
	    "an hour before expiry");
	creds_release(&c);
	rc = creds_get(p, now + 3600 - 100, &c);
	ok(rc == SW_OK && has(c.access_key, "ASIAMOCKIMDS") &&
	    strcmp(c.access_key, key) != 0, "imds: refreshed near expiry");
	is_int(mock_stat("token_puts") - puts0, 2, "imds: a new token for the "
	    "refresh");
	creds_release(&c);
	creds_provider_free(p);

	snprintf(url, sizeof(url), "%s/", mock_base);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	expect_ok(NULL, NULL, "IMDS role", "imds: endpoint with a trailing /");
	snprintf(url, sizeof(url), "%s/v1only", mock_base);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	resolve(NULL, &r);
	ok(r.rc == SW_OK && has(r.c.access_key, "ASIAMOCKIMDS"), "imds: "
	    "falls back to IMDSv1 on 403 to the token request");
	result_release(&r);
	setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
	expect_err(NULL, SW_ERR_CREDS, "imds: not with "
	    "AWS_EC2_METADATA_V1_DISABLED", "AWS_EC2_METADATA_V1_DISABLED",
	    NULL);
	unsetenv("AWS_EC2_METADATA_V1_DISABLED");
	snprintf(url, sizeof(url), "%s/norole", mock_base);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	expect_err(NULL, SW_ERR_CREDS, "imds: no role attached",
	    "no IAM role is attached", NULL);
	/* The endpoint from the profile, as botocore reads it. */
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	snprintf(path, sizeof(path), "[default]\n"
	    "ec2_metadata_service_endpoint = %s\n", mock_base);
	write_file(conf_path, path);
	expect_ok(NULL, NULL, "IMDS role", "imds: endpoint from the config "
	    "file");
	unlink(conf_path);

	/* ECS, which comes before IMDS.  With creds_global_init(), jansson's
	 * own buffers are wiped too. */
	creds_global_init();
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", mock_base, 1);
	snprintf(url, sizeof(url), "%s/ecs/creds", mock_base);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", tok, 1);
	watch_start("mock-token-ECS-");
	resolve(NULL, &r);
	/* The HTTP body, the JSON string and the provider's copy (3), and
	 * the scanner buffers jansson outgrew while reading the token. */
	ok(watch_larger >= 4, "ecs: buffers holding the token are wiped, "
	    "jansson's too (%d)", watch_larger);
	watch = NULL;
	if (!ok(r.rc == SW_OK, "ecs: resolves"))
		diag("error: %s", r.msg);
	ok(has(r.c.access_key, "ASIAMOCKECS") && has(r.c.secret_key,
	    "mock-secret-ECS") && has(r.c.session_token, "mock-token-ECS"),
	    "ecs: credentials, before IMDS");
	ok(has(r.source, "ECS container endpoint") && has(r.source, url),
	    "ecs: source");
	result_release(&r);

	/* The token file wins over the variable; a trailing newline is
	 * dropped. */
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
	snprintf(path, sizeof(path), "%s/ecs-token", tmpdir);
	{
		char text[200];

		snprintf(text, sizeof(text), "%s\n", tok);
		write_file(path, text);
	}
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
	resolve(NULL, &r);
	ok(r.rc == SW_OK && has(r.c.access_key, "ASIAMOCKECS"), "ecs: token "
	    "from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	result_release(&r);
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	rejected0 = mock_stat("ecs_rejected");
	expect_err(NULL, SW_ERR_CREDS, "ecs: a wrong token", "HTTP 401", url,
	    NULL);
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	expect_err(NULL, SW_ERR_CREDS, "ecs: no token", "HTTP 401", NULL);
	is_int(mock_stat("ecs_rejected") - rejected0, 2, "ecs: the mock saw "
	    "both bad tokens (no retries on 4xx)");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "two\nlines", 1);
	expect_err(NULL, SW_ERR_CONFIG, "ecs: a token with a line break",
	    "line break", NULL);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", tok, 1);

	snprintf(url, sizeof(url), "http://localhost:%s/ecs/creds", port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	expect_ok(NULL, NULL, "ECS container endpoint", "ecs: http to "
	    "localhost is allowed");

	snprintf(url, sizeof(url), "%s/ecs/bad", mock_base);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	expect_err(NULL, SW_ERR_PROTO, "ecs: malformed JSON",
	    "malformed JSON", NULL);
	snprintf(url, sizeof(url), "%s/ecs/partial", mock_base);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	expect_err(NULL, SW_ERR_PROTO, "ecs: a missing field", "sent no Token",
	    NULL);

	/* Short-lived credentials are refreshed on the real clock. */
	snprintf(url, sizeof(url), "%s/ecs/short", mock_base);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	rc = creds_provider_new(&cfg, &p);
	ok(rc == SW_OK, "ecs: short-lived credentials");
	if (rc == SW_OK) {
		creds_set_refresh_margin(p, 5);
		now = time(NULL);
		rc = creds_get(p, now, &c);
		ok(rc == SW_OK && c.expiration <= now + 31, "ecs: they expire "
		    "within 30 s");
		snprintf(key, sizeof(key), "%s", c.access_key ? c.access_key :
		    "");
		creds_release(&c);
		rc = creds_get(p, time(NULL), &c);
		ok(rc == SW_OK && strcmp(c.access_key, key) == 0, "ecs: with a "
		    "5 s margin they are kept");
		creds_release(&c);
		creds_set_refresh_margin(p, 60);
		rc = creds_get(p, time(NULL), &c);
		ok(rc == SW_OK && has(c.access_key, "ASIAMOCKECS") &&
		    strcmp(c.access_key, key) != 0, "ecs: with a 60 s margin "
		    "they are refreshed");
		creds_release(&c);
		creds_provider_free(p);
	}
	free((char *)tok);
	return done_testing();
}

int
main(int argc, char **argv)
{
	int rc;

	setup();
	if (argc == 3 && strcmp(argv[1], "--mock") == 0) {
		rc = mock_tests(argv[2]);
		test_tmpdir_remove();
		return rc;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: t_creds [--mock PORT]\n");
		return 2;
	}
	test_env();
	test_env_vs_files();
	test_files();
	test_profiles();
	test_parse();
	test_unsupported();
	test_ecs_url_rules();
	test_imds_unreachable();
	test_imds_token_line_break();
	test_region();
	test_refresh();
	test_threads();
	test_wipe();
	test_tmpdir_remove();
	return done_testing();
}
