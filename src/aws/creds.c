/*
 * creds.c - AWS credentials and region: the environment, the shared
 * credentials and config files, the ECS/EKS container endpoint and the EC2
 * instance metadata service (IMDSv2), in the AWS CLI's order and with its
 * rules (botocore's credentials.py, configloader.py and utils.py are the
 * reference), plus a thread-safe refresh of expiring credentials.
 *
 * Secrets (keys, tokens, the files and HTTP bodies that hold them) live in
 * buffers that are wiped before they are freed; buffers that may hold one
 * never grow with realloc(), which would leave a copy behind.  Error and
 * log messages name files, lines, keys and URLs, never values.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "aws/creds.h"
#include "aws/http.h"
#include "base/dates.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"

#define FILE_MAX (1024 * 1024)      /* ~/.aws files, token files */
#define HTTP_BODY_MAX (64 * 1024)   /* a credentials document */
#define RETRY_DELAY 10              /* seconds between failed refreshes */
#define MIN_VALID 60                /* others wait for a refresh below this */

#define ECS_HOST "http://169.254.170.2"
#define ECS_TIMEOUT_MS 2000         /* botocore: 2 s, 3 attempts, 1 s apart */
#define ECS_ATTEMPTS 3
#define IMDS_BASE "http://169.254.169.254"
#define IMDS_BASE6 "http://[fd00:ec2::254]"
#define IMDS_TIMEOUT 1              /* seconds to connect, again to answer */
#define IMDS_ATTEMPTS 2
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

struct creds_provider {
	pthread_mutex_t lock;
	pthread_cond_t refreshed;   /* signalled when a refresh ends */
	/* under lock */
	struct aws_creds cur;
	int refreshing;
	time_t retry_at;            /* after a failure: no attempt before */
	sw_err fail_rc;
	char fail_msg[512];
	int margin;
	/* set once by the constructor, read-only afterwards */
	char *source;
	sw_err (*fetch)(struct creds_provider *p, struct aws_creds *out);
	char *ecs_url;
	char *ecs_label;            /* ecs_url as shown in messages */
	char *ecs_token;            /* secret */
	char *ecs_token_file;
	char *imds_base;
	long imds_timeout_ms;
	int imds_attempts;
	int imds_v1_disabled;
	struct http_shared *shared;     /* borrowed, or NULL */
	struct http_client *ecs_http, *imds_http;   /* unsigned clients */
	creds_fetch_fn user_fn;
	void *user_arg;
};

/*
 * Small helpers.
 */

/* An environment variable, NULL when unset or empty. */
static const char *
env_get(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static int
is_true(const char *v)
{
	return v != NULL && strcasecmp(v, "true") == 0;
}

/* Like buf_reserve(), but a secret never stays behind in freed memory. */
static void
secret_reserve(struct buf *b, size_t extra)
{
	struct buf nb;

	if (b->data != NULL && extra < b->cap - b->len)
		return;
	buf_init(&nb);
	buf_reserve(&nb, b->len + extra + (b->cap > 4096 ? b->cap : 4096));
	buf_append(&nb, b->data != NULL ? b->data : "", b->len);
	buf_wipe(b);
	*b = nb;
}

static void
secret_append(struct buf *b, const char *p, size_t n)
{
	secret_reserve(b, n);
	buf_append(b, p, n);
}

/* "~/x" with $HOME (or the password database) in front. */
static char *
expand_home(const char *path)
{
	const char *home;
	struct passwd *pw;
	struct buf b;

	if (path[0] != '~' || (path[1] != '/' && path[1] != '\0'))
		return xstrdup(path);
	home = env_get("HOME");
	if (home == NULL && (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL)
		return xstrdup(path);
	buf_init(&b);
	buf_printf(&b, "%s%s", home, path + 1);
	return buf_detach(&b);
}

/*
 * Read a whole file into b, which the caller wipes with buf_wipe().
 * *exists is 0 when the file does not exist (not an error).
 */
static sw_err
read_file(const char *path, struct buf *b, int *exists)
{
	struct stat st;
	ssize_t n;
	int fd;
	sw_err rc = SW_OK;

	*exists = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return SW_OK;
		return sw_seterr(SW_ERR_IO, "cannot open '%s': %s", path,
		    strerror(errno));
	}
	*exists = 1;
	if (fstat(fd, &st) != 0) {
		rc = sw_seterr(SW_ERR_IO, "cannot stat '%s': %s", path,
		    strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = sw_seterr(SW_ERR_IO, "'%s' is a directory", path);
		goto out;
	}
	/* Regular files are read without growing; pipes grow in steps. */
	if (S_ISREG(st.st_mode) && st.st_size < FILE_MAX)
		secret_reserve(b, (size_t)st.st_size + 1);
	while (rc == SW_OK) {
		secret_reserve(b, 1);
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sw_seterr(SW_ERR_IO, "cannot read '%s': %s", path,
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (b->len > FILE_MAX)
			rc = sw_seterr(SW_ERR_IO, "'%s' is larger than %d bytes",
			    path, FILE_MAX);
	}
out:
	close(fd);
	return rc;
}

/*
 * The shared files, parsed the way botocore parses them (Python's
 * RawConfigParser with its defaults, then one level of nested settings):
 *  - "[name]" starts a section: the name is everything between the first
 *    '[' and the last ']', unstripped; a section may appear only once;
 *    [DEFAULT] is not a section, its keys are inherited by every section;
 *  - "key = value" or "key: value": the key is lowercased and may appear
 *    once per section, the value is trimmed; inline '#' is part of it;
 *  - lines starting with '#' or ';' (after blanks) are comments;
 *  - a line indented deeper than its key's line continues that value;
 *    a key with an empty value and continuation lines is a nested block
 *    ("s3 =" then "  max_concurrent_requests = 20") whose lines need a '='.
 * Anything else is an error naming FILE:LINE (never the line: it may hold
 * a secret).
 */
struct ini_kv {
	char *key;
	char *val;                  /* may be a secret */
	int line;
	int nested;
	int bad_line;               /* [DEFAULT]: a nested line without '=' */
	struct ini_kv *next;
};

struct ini_sec {
	char *name;
	int line;
	struct ini_kv *kv;
	struct ini_kv **kv_tail;
	struct ini_sec *next;
};

struct ini_file {
	char *path;
	int exists;
	struct ini_sec *secs;       /* in file order, without [DEFAULT] */
	struct ini_sec *defaults;   /* [DEFAULT], or NULL */
};

static struct ini_sec *
ini_sec_new(const char *name, int line)
{
	struct ini_sec *s = xcalloc(1, sizeof(*s));

	s->name = xstrdup(name);
	s->line = line;
	s->kv_tail = &s->kv;
	return s;
}

static void
ini_sec_free(struct ini_sec *s)
{
	struct ini_kv *kv, *next;

	if (s == NULL)
		return;
	for (kv = s->kv; kv != NULL; kv = next) {
		next = kv->next;
		free(kv->key);
		freezero_str(kv->val);
		free(kv);
	}
	free(s->name);
	free(s);
}

static void
ini_release(struct ini_file *f)
{
	struct ini_sec *s, *next;

	for (s = f->secs; s != NULL; s = next) {
		next = s->next;
		ini_sec_free(s);
	}
	ini_sec_free(f->defaults);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

static const struct ini_kv *
ini_sec_find(const struct ini_sec *s, const char *key)
{
	const struct ini_kv *kv;

	for (kv = s != NULL ? s->kv : NULL; kv != NULL; kv = kv->next)
		if (strcmp(kv->key, key) == 0)
			return kv;
	return NULL;
}

/* key in section s of f, or inherited from [DEFAULT]. */
static const struct ini_kv *
ini_get(const struct ini_file *f, const struct ini_sec *s, const char *key)
{
	const struct ini_kv *kv;

	if (s == NULL)
		return NULL;
	if ((kv = ini_sec_find(s, key)) == NULL)
		kv = ini_sec_find(f->defaults, key);
	return kv;
}

/* Append a continuation line to kv's value (wiping the old copy). */
static void
ini_continue(struct ini_kv *kv, int blank_lines, const char *text)
{
	struct buf b;

	buf_init(&b);
	secret_append(&b, kv->val, strlen(kv->val));
	while (blank_lines-- >= 0)
		secret_append(&b, "\n", 1);
	secret_append(&b, text, strlen(text));
	freezero_str(kv->val);
	kv->val = buf_detach(&b);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static sw_err
nested_error(const struct ini_file *f, int line, const struct ini_kv *kv)
{
	return sw_seterr(SW_ERR_CONFIG, "%s:%d: expected 'name = value' in the "
	    "settings nested under '%s'", f->path, line, kv->key);
}

/* A "[name]" line (name in s, already cut out): make it the current
 * section.  [DEFAULT] is kept apart; another name may appear once. */
static sw_err
ini_section(struct ini_file *f, const char *s, int lineno,
    struct ini_sec **cur, struct ini_sec ***tail)
{
	struct ini_sec *sec;

	if (strcmp(s, "DEFAULT") == 0) {
		if (f->defaults == NULL)
			f->defaults = ini_sec_new(s, lineno);
		*cur = f->defaults;
		return SW_OK;
	}
	for (sec = f->secs; sec != NULL; sec = sec->next)
		if (strcmp(sec->name, s) == 0)
			break;
	if (sec != NULL)
		return sw_seterr(SW_ERR_CONFIG, "%s:%d: section [%s] already "
		    "appears on line %d", f->path, lineno, s, sec->line);
	*cur = **tail = ini_sec_new(s, lineno);
	*tail = &(*cur)->next;
	return SW_OK;
}

/* A "name = value" line s (modified in place) of section cur: append it
 * to cur and return it in *opt, the option later lines may continue. */
static sw_err
ini_setting(struct ini_file *f, struct ini_sec *cur, char *s, int lineno,
    struct ini_kv **opt)
{
	char *d, *e, *q;
	const struct ini_kv *dup;
	struct ini_kv *kv;

	if (cur == NULL)
		return sw_seterr(SW_ERR_CONFIG, "%s:%d: expected a "
		    "[section] line before any setting", f->path, lineno);
	d = strpbrk(s, "=:");
	if (d == NULL)
		return sw_seterr(SW_ERR_CONFIG, "%s:%d: expected "
		    "'name = value', '[section]' or a comment", f->path,
		    lineno);
	for (e = d; e > s && is_blank(e[-1]); e--)
		;
	if (e == s)
		return sw_seterr(SW_ERR_CONFIG, "%s:%d: a setting "
		    "without a name", f->path, lineno);
	*e = '\0';
	for (q = s; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	if ((dup = ini_sec_find(cur, s)) != NULL)
		return sw_seterr(SW_ERR_CONFIG, "%s:%d: '%s' already set "
		    "in section [%s] on line %d", f->path, lineno, s,
		    cur->name, dup->line);
	for (d++; is_blank(*d); d++)
		;
	kv = xcalloc(1, sizeof(*kv));
	kv->key = xstrdup(s);
	kv->val = xstrdup(d);
	kv->line = lineno;
	kv->nested = *d == '\0';
	*cur->kv_tail = kv;
	cur->kv_tail = &kv->next;
	*opt = kv;
	return SW_OK;
}

/* A malformed nested line under [DEFAULT] counts only once some section
 * inherits it, as in botocore. */
static sw_err
ini_check_defaults(const struct ini_file *f)
{
	const struct ini_kv *kv;

	if (f->secs != NULL && f->defaults != NULL)
		for (kv = f->defaults->kv; kv != NULL; kv = kv->next)
			if (kv->bad_line != 0)
				return nested_error(f, kv->bad_line, kv);
	return SW_OK;
}

/* Parse the text in data (modified in place) into f. */
static sw_err
ini_parse(struct ini_file *f, char *data, size_t len)
{
	char *p = data, *end = data + len, *line, *eol, *s, *e, *q;
	struct ini_sec *cur = NULL, **tail = &f->secs;
	struct ini_kv *opt = NULL;
	size_t indent, opt_indent = 0;
	int lineno = 0, blanks = 0;
	sw_err rc;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (; p < end; p = eol + 1) {
		line = p;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		*eol = '\0';
		lineno++;
		if (memchr(line, '\0', (size_t)(eol - line)) != NULL)
			return sw_seterr(SW_ERR_CONFIG, "%s:%d: NUL byte in "
			    "line", f->path, lineno);
		for (s = line; is_blank(*s); s++)
			;
		indent = (size_t)(s - line);
		for (e = eol; e > s && is_blank(e[-1]); e--)
			;
		*e = '\0';
		if (*s == '\0') {
			blanks++;
			continue;
		}
		if (*s == '#' || *s == ';')
			continue;
		if (opt != NULL && indent > opt_indent) {
			if (opt->nested && strchr(s, '=') == NULL) {
				/* botocore looks at [DEFAULT] through the
				 * sections that inherit it: later. */
				if (cur != f->defaults)
					return nested_error(f, lineno, opt);
				if (opt->bad_line == 0)
					opt->bad_line = lineno;
			}
			ini_continue(opt, blanks, s);
			blanks = 0;
			continue;
		}
		opt_indent = indent;
		blanks = 0;
		if (*s == '[' && (q = strrchr(s, ']')) != NULL && q > s + 1) {
			*q = '\0';
			opt = NULL;
			rc = ini_section(f, s + 1, lineno, &cur, &tail);
		} else {
			rc = ini_setting(f, cur, s, lineno, &opt);
		}
		if (rc != SW_OK)
			return rc;
	}
	return ini_check_defaults(f);
}

/* Load f->path; a missing file is an empty, not existing, file. */
static sw_err
ini_load(struct ini_file *f)
{
	struct buf b;
	sw_err rc;

	buf_init(&b);
	rc = read_file(f->path, &b, &f->exists);
	if (rc == SW_OK && f->exists && b.len > 0)
		rc = ini_parse(f, b.data, b.len);
	buf_wipe(&b);
	return rc;
}

/*
 * botocore's name for a config-file section: one that starts with
 * "profile" and splits like a shell command line (shlex) into exactly two
 * words names the profile of its second word.  Sets *name (caller frees).
 */
static int
section_profile(const char *sec, char **name)
{
	struct buf w;
	const char *s = sec;
	int words = 0, bad = 0;
	char quote;

	*name = NULL;
	if (strncmp(sec, "profile", 7) != 0)
		return 0;
	buf_init(&w);
	while (!bad) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s == '\0')
			break;
		words++;
		while (*s != '\0' && !bad && strchr(" \t\r\n", *s) == NULL) {
			if (*s == '\'' || *s == '"') {
				quote = *s++;
				while (*s != '\0' && *s != quote) {
					if (quote == '"' && *s == '\\' &&
					    s[1] != '\0' && strchr("\"\\$`", s[1]))
						s++;
					if (words == 2)
						buf_putc(&w, *s);
					s++;
				}
				if (*s == '\0')
					bad = 1;
				else
					s++;
			} else {
				if (*s == '\\' && *++s == '\0') {
					bad = 1;
					break;
				}
				if (words == 2)
					buf_putc(&w, *s);
				s++;
			}
		}
	}
	if (bad || words != 2) {
		buf_release(&w);
		return 0;
	}
	*name = buf_detach(&w);
	return 1;
}

/* The profile being used, with both files loaded. */
struct profile {
	char *name;
	const char *origin;         /* "AWS_PROFILE", ...; NULL if not env */
	int is_explicit;            /* from cfg->profile */
	struct ini_file cred, conf;
	const struct ini_sec *cred_sec, *conf_sec;
};

static void
profile_release(struct profile *pr)
{
	free(pr->name);
	ini_release(&pr->cred);
	ini_release(&pr->conf);
	memset(pr, 0, sizeof(*pr));
}

static sw_err
profile_load(const struct sw_config *cfg, struct profile *pr)
{
	const struct ini_sec *s;
	const char *v;
	char *name;
	sw_err rc;

	memset(pr, 0, sizeof(*pr));
	if (cfg != NULL && cfg->profile != NULL && *cfg->profile != '\0') {
		pr->name = xstrdup(cfg->profile);
		pr->is_explicit = 1;
	} else if ((v = env_get("AWS_DEFAULT_PROFILE")) != NULL) {
		pr->name = xstrdup(v);
		pr->origin = "AWS_DEFAULT_PROFILE";
	} else if ((v = env_get("AWS_PROFILE")) != NULL) {
		pr->name = xstrdup(v);
		pr->origin = "AWS_PROFILE";
	} else {
		pr->name = xstrdup("default");
	}
	v = env_get("AWS_SHARED_CREDENTIALS_FILE");
	pr->cred.path = expand_home(v != NULL ? v : "~/.aws/credentials");
	v = env_get("AWS_CONFIG_FILE");
	pr->conf.path = expand_home(v != NULL ? v : "~/.aws/config");
	if ((rc = ini_load(&pr->cred)) != SW_OK ||
	    (rc = ini_load(&pr->conf)) != SW_OK)
		return rc;

	for (s = pr->cred.secs; s != NULL; s = s->next)
		if (strcmp(s->name, pr->name) == 0)
			pr->cred_sec = s;
	/* As in botocore, a later [profile x] replaces an earlier one, and
	 * [profile default] and [default] are the same profile. */
	for (s = pr->conf.secs; s != NULL; s = s->next) {
		if (strcmp(s->name, "default") == 0) {
			if (strcmp(pr->name, "default") == 0)
				pr->conf_sec = s;
		} else if (section_profile(s->name, &name)) {
			if (strcmp(name, pr->name) == 0)
				pr->conf_sec = s;
			free(name);
		}
	}
	if ((pr->is_explicit || pr->origin != NULL) && pr->cred_sec == NULL &&
	    pr->conf_sec == NULL)
		return sw_seterr(SW_ERR_NOTFOUND, "profile '%s'%s%s%s not found "
		    "in '%s' or '%s'", pr->name, pr->origin ? " (from " : "",
		    pr->origin ? pr->origin : "", pr->origin ? ")" : "",
		    pr->cred.path, pr->conf.path);
	return SW_OK;
}

/*
 * A setting of the profile as the AWS CLI sees it: the credentials file's
 * section overrides the config file's.  Nested blocks do not count.  *f is
 * set to the file it came from.
 */
static const struct ini_kv *
profile_get(const struct profile *pr, const char *key,
    const struct ini_file **f)
{
	const struct ini_kv *kv;

	if ((kv = ini_get(&pr->cred, pr->cred_sec, key)) != NULL) {
		*f = &pr->cred;
	} else if ((kv = ini_get(&pr->conf, pr->conf_sec, key)) != NULL) {
		*f = &pr->conf;
	}
	return kv;
}

static const char *
profile_value(const struct profile *pr, const char *key)
{
	const struct ini_file *f;
	const struct ini_kv *kv = profile_get(pr, key, &f);

	return kv != NULL && !kv->nested && kv->val[0] != '\0' ? kv->val : NULL;
}

/* An IMDS setting: the environment, else the profile's key. */
static const char *
imds_setting(const struct profile *pr, const char *env, const char *key)
{
	const char *v = env_get(env);

	return v != NULL ? v : profile_value(pr, key);
}

/*
 * Credentials in one place; the provider keeps them.
 */

void
creds_release(struct aws_creds *c)
{
	if (c == NULL)
		return;
	freezero_str(c->access_key);
	freezero_str(c->secret_key);
	freezero_str(c->session_token);
	memset(c, 0, sizeof(*c));
}

static void
creds_copy(const struct aws_creds *src, struct aws_creds *dst)
{
	dst->access_key = xstrdup(src->access_key);
	dst->secret_key = xstrdup(src->secret_key);
	dst->session_token = src->session_token != NULL ?
	    xstrdup(src->session_token) : NULL;
	dst->expiration = src->expiration;
}

static void
set_static(struct creds_provider *p, const char *ak, const char *sk,
    const char *token, const char *source)
{
	creds_release(&p->cur);
	p->cur.access_key = xstrdup(ak);
	p->cur.secret_key = xstrdup(sk);
	p->cur.session_token = token != NULL ? xstrdup(token) : NULL;
	free(p->source);
	p->source = xstrdup(source);
}

/* Overwrite every string in a JSON document before it is freed. */
static void
json_wipe(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		OPENSSL_cleanse((char *)json_string_value(j),
		    json_string_length(j));
	} else if (json_is_object(j)) {
		json_object_foreach(j, key, v)
			json_wipe(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			json_wipe(v);
	}
}

/* Credentials from an ECS or IMDS JSON document; what names its origin. */
static sw_err
creds_from_json(const char *what, const struct buf *body,
    struct aws_creds *out)
{
	static const char *const need[] = { "AccessKeyId", "SecretAccessKey",
		"Token", "Expiration" };
	const char *v[4], *code, *msg;
	json_error_t jerr;
	json_t *root, *j;
	int64_t exp;
	size_t i;
	sw_err rc = SW_OK;

	root = json_loadb(body->data != NULL ? body->data : "", body->len, 0,
	    &jerr);
	if (root == NULL) {
		/* jerr.text may quote the document: leave it out. */
		rc = sw_seterr(SW_ERR_PROTO, "%s sent malformed JSON (line %d, "
		    "column %d)", what, jerr.line, jerr.column);
		OPENSSL_cleanse(&jerr, sizeof(jerr));
		return rc;
	}
	OPENSSL_cleanse(&jerr, sizeof(jerr));
	if (!json_is_object(root)) {
		rc = sw_seterr(SW_ERR_PROTO, "%s did not send a JSON object",
		    what);
		goto out;
	}
	code = json_string_value(json_object_get(root, "Code"));
	if (code != NULL && strcmp(code, "Success") != 0) {
		msg = json_string_value(json_object_get(root, "Message"));
		rc = sw_seterr(SW_ERR_CREDS, "%s answered '%.64s'%s%.200s%s",
		    what, code, msg ? " ('" : "", msg ? msg : "",
		    msg ? "')" : "");
		goto out;
	}
	for (i = 0; i < 4; i++) {
		j = json_object_get(root, need[i]);
		v[i] = json_string_value(j);
		if (v[i] == NULL || v[i][0] == '\0') {
			rc = sw_seterr(SW_ERR_PROTO, "%s sent no %s", what,
			    need[i]);
			goto out;
		}
	}
	if (date_parse_iso8601(v[3], &exp) != 0) {
		rc = sw_seterr(SW_ERR_PROTO, "%s sent an Expiration that is not "
		    "an ISO 8601 time: '%.40s'", what, v[3]);
		goto out;
	}
	out->expiration = (time_t)exp;
	out->access_key = xstrdup(v[0]);
	out->secret_key = xstrdup(v[1]);
	out->session_token = xstrdup(v[2]);
out:
	json_wipe(root);
	json_decref(root);
	return rc;
}

/*
 * HTTP through http.c's request loop (unsigned requests: one set of retry
 * and timeout rules, the session's connections and budget), no redirects.
 * Bodies go to a buffer that is wiped, never grown with realloc().
 */
struct body_sink {
	struct buf *b;
	const char *shown;          /* the URL as messages show it */
};

static sw_err
body_write(void *arg, const void *p, size_t n)
{
	struct body_sink *bs = arg;

	if (n > HTTP_BODY_MAX - bs->b->len)
		return sw_seterr(SW_ERR_PROTO, "'%s' sent more than %d bytes",
		    bs->shown, HTTP_BODY_MAX);
	secret_append(bs->b, p, n);
	return SW_OK;
}

/* An unsigned client: timeout_ms to connect, twice that per attempt,
 * attempts in all (http.c backs off between them). */
static sw_err
plain_client(struct creds_provider *p, long timeout_ms, int attempts,
    struct http_client **out)
{
	struct http_client_opts o;

	memset(&o, 0, sizeof(o));
	o.tls_verify = 1;
	o.max_retries = attempts > 1 ? (unsigned)attempts - 1 : 0;
	o.retry_max_time = 30.0;
	o.connect_timeout_ms = timeout_ms;
	o.timeout_ms = 2 * timeout_ms;
	o.shared = p->shared;
	return http_client_new(&o, out);
}

/*
 * One request, again after network errors and 5xx answers.  SW_ERR_NET
 * when no answer came; otherwise SW_OK with the HTTP status in *status
 * and a 2xx body in body (wiped and refilled).  shown is the URL as
 * messages and logs may show it.
 */
static sw_err
http_fetch(struct http_client *c, const char *method, const char *url,
    const char *shown, const struct sigv4_header *hdrs, size_t nhdrs,
    long *status, struct buf *body)
{
	struct body_sink bs = { body, shown };
	struct http_req q;
	struct http_resp resp;
	char what[600];
	sw_err rc;

	*status = 0;
	buf_wipe(body);
	snprintf(what, sizeof(what), "fetch credentials from '%s'", shown);
	memset(&q, 0, sizeof(q));
	q.method = method;
	q.url = url;
	q.show_url = shown;
	q.any_status = 1;
	q.extra = hdrs;
	q.nextra = nhdrs;
	q.body = "";
	q.body_fd = -1;
	q.sink = body_write;
	q.sink_arg = &bs;
	q.what = what;
	rc = http_perform(c, &q, &resp);
	if (rc == SW_OK)
		*status = resp.status;
	buf_wipe(&resp.body);
	return rc;
}

/*
 * The container endpoint (ECS task roles, EKS Pod Identity).
 */

/* botocore's rule: https anywhere; plain http only to a loopback address
 * or to one of the container endpoints' own addresses. */
static sw_err
ecs_check_url(const char *url)
{
	static const char *const allowed[] = { "169.254.170.2",
		"169.254.170.23", "fd00:ec2::23", "localhost" };
	char *scheme = NULL, *host = NULL, *h;
	unsigned char a[16];
	size_t i, n;
	int ok = 0;
	CURLU *u;
	sw_err rc = SW_OK;

	if ((u = curl_url()) == NULL)
		return sw_seterr(SW_ERR_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = sw_seterr(SW_ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_FULL_URI "
		    "is not a URL: '%s'", url);
		goto out;
	}
	h = host;
	n = strlen(h);
	if (n > 2 && h[0] == '[' && h[n - 1] == ']') {
		h[n - 1] = '\0';
		h++;
	}
	if (strcasecmp(scheme, "https") == 0) {
		ok = 1;
	} else if (strcasecmp(scheme, "http") == 0) {
		if (inet_pton(AF_INET, h, a) == 1)
			ok = a[0] == 127;
		else if (inet_pton(AF_INET6, h, a) == 1)
			ok = memcmp(a, &in6addr_loopback, 16) == 0;
		for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			if (strcasecmp(h, allowed[i]) == 0)
				ok = 1;
	}
	if (!ok)
		rc = sw_seterr(SW_ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_FULL_URI "
		    "'%s' is not allowed: use https, or http to a loopback "
		    "address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23",
		    url);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static sw_err
ecs_fetch(struct creds_provider *p, struct aws_creds *out)
{
	struct sigv4_header hdrs[2];
	size_t nhdrs = 0;
	struct buf tok, body;
	const char *token = p->ecs_token;
	char what[600];
	long status;
	int exists;
	sw_err rc = SW_OK;

	buf_init(&tok);
	buf_init(&body);
	snprintf(what, sizeof(what), "the container endpoint '%s'",
	    p->ecs_label);
	/* The token file is read each time: EKS rotates it. */
	if (p->ecs_token_file != NULL) {
		rc = read_file(p->ecs_token_file, &tok, &exists);
		if (rc == SW_OK && !exists)
			rc = sw_seterr(SW_ERR_IO, "cannot read "
			    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '%s': no "
			    "such file", p->ecs_token_file);
		while (rc == SW_OK && tok.len > 0 &&
		    (tok.data[tok.len - 1] == '\n' ||
		    tok.data[tok.len - 1] == '\r'))
			tok.data[--tok.len] = '\0';
		token = tok.data;
	}
	if (rc == SW_OK && token != NULL && strpbrk(token, "\r\n") != NULL)
		rc = sw_seterr(SW_ERR_CONFIG, "the container authorization token "
		    "from %s contains a line break", p->ecs_token_file ?
		    p->ecs_token_file : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	if (rc == SW_OK && token != NULL)
		hdrs[nhdrs++] = (struct sigv4_header){ "Authorization", token };
	hdrs[nhdrs++] = (struct sigv4_header){ "Accept", "application/json" };
	if (rc == SW_OK && p->ecs_http == NULL)
		rc = plain_client(p, ECS_TIMEOUT_MS, ECS_ATTEMPTS, &p->ecs_http);
	if (rc == SW_OK)
		rc = http_fetch(p->ecs_http, "GET", p->ecs_url, p->ecs_label,
		    hdrs, nhdrs, &status, &body);
	if (rc == SW_OK && status != 200)
		rc = sw_seterr(SW_ERR_CREDS, "%s answered HTTP %ld", what,
		    status);
	if (rc == SW_OK)
		rc = creds_from_json(what, &body, out);
	buf_wipe(&tok);
	buf_wipe(&body);
	return rc;
}

static sw_err
from_ecs(struct creds_provider *p, int *found, struct buf *tried)
{
	const char *rel = env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *v;
	struct buf b;
	sw_err rc;

	if (rel == NULL && full == NULL) {
		buf_puts(tried, "; ECS (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
		    "and _FULL_URI not set)");
		return SW_OK;
	}
	buf_init(&b);
	if (rel != NULL) {
		buf_printf(&b, "%s%s", ECS_HOST, rel);
		p->ecs_url = buf_detach(&b);
		/* The relative URI names the task's credentials: keep it
		 * out of log lines. */
		p->ecs_label = xstrdup(ECS_HOST
		    "$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	} else {
		if ((rc = ecs_check_url(full)) != SW_OK)
			return rc;
		p->ecs_url = xstrdup(full);
		p->ecs_label = xstrdup(full);
	}
	if ((v = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) != NULL)
		p->ecs_token_file = xstrdup(v);
	else if ((v = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN")) != NULL)
		p->ecs_token = xstrdup(v);
	p->fetch = ecs_fetch;
	/* As in botocore, a failure here ends the search. */
	if ((rc = ecs_fetch(p, &p->cur)) != SW_OK)
		return rc;
	buf_printf(&b, "ECS container endpoint '%s'", p->ecs_label);
	p->source = buf_detach(&b);
	*found = 1;
	return SW_OK;
}

/*
 * The EC2 instance metadata service: a session token first (IMDSv2), then
 * the role name, then the role's credentials.  As botocore does, a 403,
 * 404 or 405 to the token request falls back to IMDSv1 unless
 * AWS_EC2_METADATA_V1_DISABLED is true.
 */
static sw_err
imds_get(struct creds_provider *p, const char *path, const char *token,
    long *status, struct buf *body)
{
	struct sigv4_header h = { "X-aws-ec2-metadata-token", token };
	struct buf url;
	sw_err rc;

	buf_init(&url);
	buf_printf(&url, "%s%s", p->imds_base, path);
	rc = http_fetch(p->imds_http, "GET", url.data, url.data, &h,
	    token != NULL ? 1 : 0, status, body);
	buf_release(&url);
	return rc;
}

static int
role_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("+=,.@_-", *s) == NULL)
			return 0;
	return 1;
}

/*
 * Ask IMDS for a session token (IMDSv2) into token, which the caller
 * wipes; *have_token says whether one came.  Falls back to IMDSv1 on
 * 403, 404 or 405 unless AWS_EC2_METADATA_V1_DISABLED.
 */
static sw_err
imds_session_token(struct creds_provider *p, struct buf *token,
    int *have_token)
{
	static const struct sigv4_header ttl = {
		"X-aws-ec2-metadata-token-ttl-seconds", "21600" };
	struct buf url;
	long status;
	sw_err rc = SW_OK;

	*have_token = 0;
	buf_init(&url);
	buf_printf(&url, "%s/latest/api/token", p->imds_base);
	if (p->imds_http == NULL)
		rc = plain_client(p, p->imds_timeout_ms, p->imds_attempts,
		    &p->imds_http);
	if (rc == SW_OK)
		rc = http_fetch(p->imds_http, "PUT", url.data, url.data, &ttl, 1,
		    &status, token);
	buf_release(&url);
	if (rc != SW_OK)
		return rc;
	if (status == 200 && token->len > 0) {
		size_t i;

		while (token->len > 0 && isspace((unsigned char)
		    token->data[token->len - 1]))
			token->data[--token->len] = '\0';
		/* It goes into a header of the next requests: a line break
		 * would add headers of the sender's choosing. */
		for (i = 0; i < token->len; i++)
			if (iscntrl((unsigned char)token->data[i]))
				return sw_seterr(SW_ERR_PROTO, "IMDS at '%s' "
				    "sent a session token with a control "
				    "character", p->imds_base);
		*have_token = 1;
	} else if ((status == 403 || status == 404 || status == 405) &&
	    !p->imds_v1_disabled) {
		log_debug("IMDS at '%s' gave no session token (HTTP %ld): "
		    "trying IMDSv1", p->imds_base, status);
	} else if (status == 403 || status == 404 || status == 405) {
		return sw_seterr(SW_ERR_CREDS, "IMDS at '%s' gave no session "
		    "token (HTTP %ld) and AWS_EC2_METADATA_V1_DISABLED is "
		    "set", p->imds_base, status);
	} else {
		return sw_seterr(SW_ERR_CREDS, "IMDS at '%s' answered HTTP %ld "
		    "to the session token request", p->imds_base, status);
	}
	return SW_OK;
}

/* The name of the instance's role into *name (the caller frees it);
 * body is the caller's, wiped by it. */
static sw_err
imds_role_name(struct creds_provider *p, const char *token,
    struct buf *body, char **name)
{
	long status;
	char *e;
	sw_err rc;

	*name = NULL;
	rc = imds_get(p, IMDS_CREDS_PATH, token, &status, body);
	if (rc == SW_OK && status == 404)
		rc = sw_seterr(SW_ERR_CREDS, "no IAM role is attached to this "
		    "instance (IMDS at '%s')", p->imds_base);
	else if (rc == SW_OK && status != 200)
		rc = sw_seterr(SW_ERR_CREDS, "IMDS at '%s' answered HTTP %ld "
		    "to the role name request", p->imds_base, status);
	if (rc != SW_OK)
		return rc;
	*name = xstrdup(body->data != NULL ? body->data : "");
	if ((e = strpbrk(*name, "\r\n")) != NULL)
		*e = '\0';
	if (!role_name_ok(*name))
		return sw_seterr(SW_ERR_PROTO, "IMDS at '%s' sent an invalid "
		    "role name", p->imds_base);
	return SW_OK;
}

/* Fetch credentials; *role (optional) gets the role name. */
static sw_err
imds_fetch_role(struct creds_provider *p, struct aws_creds *out, char **role)
{
	struct buf token, body, path;
	char *name = NULL, what[300];
	const char *tok;
	long status;
	int have_token = 0;
	sw_err rc;

	buf_init(&token);
	buf_init(&body);
	buf_init(&path);
	if ((rc = imds_session_token(p, &token, &have_token)) != SW_OK)
		goto out;
	tok = have_token ? token.data : NULL;
	if ((rc = imds_role_name(p, tok, &body, &name)) != SW_OK)
		goto out;

	buf_printf(&path, "%s%s", IMDS_CREDS_PATH, name);
	rc = imds_get(p, path.data, tok, &status, &body);
	snprintf(what, sizeof(what), "IMDS role '%s'", name);
	if (rc == SW_OK && status != 200)
		rc = sw_seterr(SW_ERR_CREDS, "%s: IMDS at '%s' answered HTTP %ld",
		    what, p->imds_base, status);
	if (rc == SW_OK)
		rc = creds_from_json(what, &body, out);
	if (rc == SW_OK && role != NULL) {
		*role = name;
		name = NULL;
	}
out:
	free(name);
	buf_wipe(&token);
	buf_wipe(&body);
	buf_release(&path);
	return rc;
}

static sw_err
imds_fetch(struct creds_provider *p, struct aws_creds *out)
{
	return imds_fetch_role(p, out, NULL);
}

static sw_err
parse_count(const char *what, const char *v, int min, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > 3600)
		return sw_seterr(SW_ERR_CONFIG, "%s must be a number from %d to "
		    "3600, not '%s'", what, min, v);
	*out = (int)n;
	return SW_OK;
}

static sw_err
from_imds(const struct profile *pr, struct creds_provider *p, int *found,
    struct buf *tried)
{
	const char *v;
	char *role = NULL;
	int t = IMDS_TIMEOUT;
	struct buf b;
	sw_err rc;

	if (is_true(getenv("AWS_EC2_METADATA_DISABLED"))) {
		buf_puts(tried, "; IMDS (AWS_EC2_METADATA_DISABLED is true)");
		return SW_OK;
	}
	if ((v = imds_setting(pr, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
	    "ec2_metadata_service_endpoint")) != NULL)
		p->imds_base = xstrdup(v);
	else if ((v = imds_setting(pr, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
	    "ec2_metadata_service_endpoint_mode")) != NULL &&
	    strcasecmp(v, "ipv6") == 0)
		p->imds_base = xstrdup(IMDS_BASE6);
	else
		p->imds_base = xstrdup(IMDS_BASE);
	while (p->imds_base[0] != '\0' &&
	    p->imds_base[strlen(p->imds_base) - 1] == '/')
		p->imds_base[strlen(p->imds_base) - 1] = '\0';
	p->imds_attempts = IMDS_ATTEMPTS;
	p->imds_v1_disabled = is_true(imds_setting(pr,
	    "AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled"));
	if ((v = imds_setting(pr, "AWS_METADATA_SERVICE_TIMEOUT",
	    "metadata_service_timeout")) != NULL &&
	    (rc = parse_count("AWS_METADATA_SERVICE_TIMEOUT", v, 1, &t)) !=
	    SW_OK)
		return rc;
	p->imds_timeout_ms = t * 1000L;
	if ((v = imds_setting(pr, "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
	    "metadata_service_num_attempts")) != NULL &&
	    (rc = parse_count("AWS_METADATA_SERVICE_NUM_ATTEMPTS", v, 1,
	    &p->imds_attempts)) != SW_OK)
		return rc;

	/* As in botocore, IMDS failing means "not found here". */
	if (imds_fetch_role(p, &p->cur, &role) != SW_OK) {
		buf_printf(tried, "; IMDS (%s)", sw_errmsg());
		return SW_OK;
	}
	p->fetch = imds_fetch;
	buf_init(&b);
	buf_printf(&b, "IMDS role '%s'", role);
	p->source = buf_detach(&b);
	free(role);
	*found = 1;
	return SW_OK;
}

/*
 * The environment and the shared files.
 */

static sw_err
from_env(const struct profile *pr, struct creds_provider *p, int *found,
    struct buf *tried)
{
	const char *ak, *sk, *tok;

	if (pr->is_explicit) {
		buf_printf(tried, "environment (skipped: profile '%s' was "
		    "named)", pr->name);
		return SW_OK;
	}
	ak = env_get("AWS_ACCESS_KEY_ID");
	sk = env_get("AWS_SECRET_ACCESS_KEY");
	if (ak == NULL && sk == NULL) {
		buf_puts(tried, "environment (AWS_ACCESS_KEY_ID not set)");
		return SW_OK;
	}
	if (ak == NULL)
		return sw_seterr(SW_ERR_CREDS, "AWS_SECRET_ACCESS_KEY is set but "
		    "AWS_ACCESS_KEY_ID is not");
	if (sk == NULL)
		return sw_seterr(SW_ERR_CREDS, "AWS_ACCESS_KEY_ID is set but "
		    "AWS_SECRET_ACCESS_KEY is not");
	if ((tok = env_get("AWS_SESSION_TOKEN")) == NULL)
		tok = env_get("AWS_SECURITY_TOKEN");
	set_static(p, ak, sk, tok, "environment");
	*found = 1;
	return SW_OK;
}

/* Static keys in one file's section of the profile, if any. */
static sw_err
keys_from_file(const struct profile *pr, const struct ini_file *f,
    const struct ini_sec *s, struct creds_provider *p, int *found)
{
	const struct ini_kv *ak, *sk, *tok;
	struct buf src;

	ak = ini_get(f, s, "aws_access_key_id");
	sk = ini_get(f, s, "aws_secret_access_key");
	tok = ini_get(f, s, "aws_session_token");
	if (tok == NULL)
		tok = ini_get(f, s, "aws_security_token");
	if (ak != NULL && (ak->nested || ak->val[0] == '\0'))
		ak = NULL;
	if (sk != NULL && (sk->nested || sk->val[0] == '\0'))
		sk = NULL;
	if (tok != NULL && (tok->nested || tok->val[0] == '\0'))
		tok = NULL;
	if (ak == NULL && sk == NULL)
		return SW_OK;
	if (sk == NULL)
		return sw_seterr(SW_ERR_CREDS, "profile '%s' has "
		    "aws_access_key_id but no aws_secret_access_key (%s:%d)",
		    pr->name, f->path, ak->line);
	if (ak == NULL)
		return sw_seterr(SW_ERR_CREDS, "profile '%s' has "
		    "aws_secret_access_key but no aws_access_key_id (%s:%d)",
		    pr->name, f->path, sk->line);
	buf_init(&src);
	buf_printf(&src, "profile '%s' in '%s'", pr->name, f->path);
	set_static(p, ak->val, sk->val, tok != NULL ? tok->val : NULL,
	    src.data);
	buf_release(&src);
	*found = 1;
	return SW_OK;
}

/* An error for a profile that asks for a method swrepart lacks. */
static sw_err
unsupported(const struct profile *pr, const char *key, const char *what)
{
	const struct ini_file *f = NULL;
	const struct ini_kv *kv = profile_get(pr, key, &f);

	return sw_seterr(SW_ERR_CREDS, "profile '%s' sets %s (%s:%d): %s is "
	    "not supported; export temporary credentials with 'aws configure "
	    "export-credentials --profile %s --format env' and run without "
	    "the profile", pr->name, key, f != NULL ? f->path : "?",
	    kv != NULL ? kv->line : 0, what, pr->name);
}

/* The first key starting with "sso_" in the profile, or NULL. */
static const char *
profile_sso_key(const struct profile *pr)
{
	const struct ini_sec *secs[2] = { pr->cred_sec, pr->conf_sec };
	const struct ini_file *files[2] = { &pr->cred, &pr->conf };
	const struct ini_kv *kv;
	int i, j;

	for (i = 0; i < 2; i++) {
		if (secs[i] == NULL)
			continue;
		for (j = 0; j < 2; j++) {
			kv = j == 0 ? secs[i]->kv : files[i]->defaults ?
			    files[i]->defaults->kv : NULL;
			for (; kv != NULL; kv = kv->next)
				if (strncmp(kv->key, "sso_", 4) == 0)
					return kv->key;
		}
	}
	return NULL;
}

/* In botocore's order: assume role, web identity, SSO, the credentials
 * file, login, credential_process, the config file. */
static sw_err
from_profile(const struct profile *pr, struct creds_provider *p, int *found,
    struct buf *tried)
{
	const struct ini_file *f;
	const char *key;
	sw_err rc;

	if (profile_get(pr, "role_arn", &f) != NULL)
		return unsupported(pr, "role_arn", "assuming a role");
	if (!pr->is_explicit && env_get("AWS_WEB_IDENTITY_TOKEN_FILE") &&
	    env_get("AWS_ROLE_ARN"))
		return sw_seterr(SW_ERR_CREDS, "AWS_WEB_IDENTITY_TOKEN_FILE and "
		    "AWS_ROLE_ARN are set: web identity (as on EKS with IRSA) "
		    "is not supported; use EKS Pod Identity, or export "
		    "temporary credentials as AWS_ACCESS_KEY_ID, "
		    "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN");
	if ((key = profile_sso_key(pr)) != NULL)
		return unsupported(pr, key, "IAM Identity Center (SSO)");
	if ((rc = keys_from_file(pr, &pr->cred, pr->cred_sec, p, found)) !=
	    SW_OK || *found)
		return rc;
	if (profile_get(pr, "login_session", &f) != NULL)
		return unsupported(pr, "login_session", "'aws login'");
	if (profile_get(pr, "credential_process", &f) != NULL)
		return unsupported(pr, "credential_process", "an external "
		    "credential process");
	if ((rc = keys_from_file(pr, &pr->conf, pr->conf_sec, p, found)) !=
	    SW_OK || *found)
		return rc;
	buf_printf(tried, "; profile '%s' ('%s' %s, '%s' %s)", pr->name,
	    pr->cred.path, !pr->cred.exists ? "missing" : pr->cred_sec !=
	    NULL ? "has no keys for it" : "has no section for it",
	    pr->conf.path, !pr->conf.exists ? "missing" : pr->conf_sec !=
	    NULL ? "has no keys for it" : "has no section for it");
	return SW_OK;
}

/*
 * The provider.
 */

static struct creds_provider *
provider_alloc(void)
{
	struct creds_provider *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->refreshed, NULL);
	p->margin = CREDS_REFRESH_MARGIN;
	return p;
}

void
creds_provider_free(struct creds_provider *p)
{
	if (p == NULL)
		return;
	creds_release(&p->cur);
	free(p->source);
	free(p->ecs_url);
	free(p->ecs_label);
	freezero_str(p->ecs_token);
	free(p->ecs_token_file);
	free(p->imds_base);
	http_client_free(p->ecs_http);
	http_client_free(p->imds_http);
	pthread_cond_destroy(&p->refreshed);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

sw_err
creds_provider_new(const struct sw_config *cfg, struct creds_provider **out)
{
	return creds_provider_new_shared(cfg, NULL, out);
}

sw_err
creds_provider_new_shared(const struct sw_config *cfg,
    struct http_shared *shared, struct creds_provider **out)
{
	struct creds_provider *p;
	struct profile pr;
	struct buf tried;
	int found = 0;
	sw_err rc;

	*out = NULL;
	p = provider_alloc();
	p->shared = shared;
	buf_init(&tried);
	memset(&pr, 0, sizeof(pr));
	pr.is_explicit = cfg != NULL && cfg->profile != NULL &&
	    *cfg->profile != '\0';
	if (pr.is_explicit)
		pr.name = xstrdup(cfg->profile);

	rc = from_env(&pr, p, &found, &tried);
	if (rc == SW_OK && !found) {
		profile_release(&pr);
		rc = profile_load(cfg, &pr);
	}
	if (rc == SW_OK && !found)
		rc = from_profile(&pr, p, &found, &tried);
	if (rc == SW_OK && !found)
		rc = from_ecs(p, &found, &tried);
	if (rc == SW_OK && !found)
		rc = from_imds(&pr, p, &found, &tried);
	if (rc == SW_OK && !found)
		rc = sw_seterr(SW_ERR_CREDS, "no AWS credentials found; tried "
		    "%s", tried.data);
	if (rc == SW_OK) {
		log_info("credentials from %s", p->source);
		*out = p;
		p = NULL;
	}
	profile_release(&pr);
	buf_release(&tried);
	creds_provider_free(p);
	return rc;
}

static sw_err
user_fetch(struct creds_provider *p, struct aws_creds *out)
{
	sw_err rc = p->user_fn(p->user_arg, out);

	if (rc == SW_OK && (out->access_key == NULL || out->secret_key == NULL))
		rc = sw_seterr(SW_ERR_INTERNAL, "%s gave no keys", p->source);
	if (rc != SW_OK)
		creds_release(out);
	return rc;
}

sw_err
creds_provider_new_fetch(const char *source, creds_fetch_fn fn, void *arg,
    struct creds_provider **out)
{
	struct creds_provider *p;
	sw_err rc;

	*out = NULL;
	p = provider_alloc();
	p->source = xstrdup(source);
	p->user_fn = fn;
	p->user_arg = arg;
	p->fetch = user_fetch;
	if ((rc = user_fetch(p, &p->cur)) != SW_OK) {
		creds_provider_free(p);
		return rc;
	}
	log_info("credentials from %s", p->source);
	*out = p;
	return SW_OK;
}

void
creds_set_refresh_margin(struct creds_provider *p, int seconds)
{
	pthread_mutex_lock(&p->lock);
	p->margin = seconds > 0 ? seconds : 0;
	pthread_mutex_unlock(&p->lock);
}

const char *
creds_source(const struct creds_provider *p)
{
	return p->source;
}

/* Whether c expires within secs of now (never for static credentials). */
static int
expires_within(const struct aws_creds *c, time_t now, time_t secs)
{
	return c->expiration != 0 && now >= c->expiration - secs;
}

sw_err
creds_get(struct creds_provider *p, time_t now, struct aws_creds *out)
{
	struct aws_creds fresh;
	time_t must;
	sw_err rc = SW_OK;

	memset(out, 0, sizeof(*out));
	memset(&fresh, 0, sizeof(fresh));
	pthread_mutex_lock(&p->lock);
	must = p->margin < MIN_VALID ? p->margin : MIN_VALID;
	for (;;) {
		if (!expires_within(&p->cur, now, p->margin))
			goto copy;
		/* Someone is refreshing, or failed to a moment ago: use the
		 * current credentials while they last another minute. */
		if (p->refreshing || now < p->retry_at) {
			if (!expires_within(&p->cur, now, must))
				goto copy;
			if (!p->refreshing) {
				rc = sw_seterr(p->fail_rc, "%s", p->fail_msg);
				goto unlock;
			}
			pthread_cond_wait(&p->refreshed, &p->lock);
			continue;
		}
		break;
	}

	/* Fetch without the lock: the others keep their credentials. */
	p->refreshing = 1;
	pthread_mutex_unlock(&p->lock);
	rc = p->fetch != NULL ? p->fetch(p, &fresh) :
	    sw_seterr(SW_ERR_INTERNAL, "no way to refresh %s", p->source);
	pthread_mutex_lock(&p->lock);
	p->refreshing = 0;
	pthread_cond_broadcast(&p->refreshed);
	if (rc == SW_OK) {
		creds_release(&p->cur);
		p->cur = fresh;
		memset(&fresh, 0, sizeof(fresh));
		p->retry_at = 0;
		log_info("refreshed credentials from %s", p->source);
	} else {
		creds_release(&fresh);
		snprintf(p->fail_msg, sizeof(p->fail_msg), "cannot refresh "
		    "credentials from %s: %s", p->source, sw_errmsg());
		p->fail_rc = rc;
		p->retry_at = now + RETRY_DELAY;
		sw_seterr(rc, "%s", p->fail_msg);
		if (expires_within(&p->cur, now, must))
			goto unlock;
		log_warn("%s; using the current ones until they expire",
		    p->fail_msg);
		rc = SW_OK;
	}
copy:
	creds_copy(&p->cur, out);
unlock:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/*
 * jansson's allocator, wiping.  malloc_usable_size() tells how much to
 * wipe, so blocks allocated before the switch are freed correctly too.
 */
static void
wipe_free(void *ptr)
{
	if (ptr == NULL)
		return;
	OPENSSL_cleanse(ptr, malloc_usable_size(ptr));
	free(ptr);
}

void
creds_global_init(void)
{
	json_set_alloc_funcs(malloc, wipe_free);
}

/*
 * The region.
 */
sw_err
creds_region(const struct sw_config *cfg, char **out)
{
	struct profile pr;
	const char *v;
	sw_err rc;

	*out = NULL;
	if (cfg != NULL && cfg->region != NULL && *cfg->region != '\0') {
		*out = xstrdup(cfg->region);
		return SW_OK;
	}
	if ((v = env_get("AWS_REGION")) != NULL ||
	    (v = env_get("AWS_DEFAULT_REGION")) != NULL) {
		*out = xstrdup(v);
		return SW_OK;
	}
	rc = profile_load(cfg, &pr);
	if (rc == SW_OK && (v = profile_value(&pr, "region")) != NULL)
		*out = xstrdup(v);
	profile_release(&pr);
	return rc;
}
