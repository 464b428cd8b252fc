#!/usr/bin/python3
"""sitewise_mock.py - a loopback mock of AWS IoT SiteWise ListTimeSeries.

Standard library only (Debian's /usr/bin/python3).  Binds 127.0.0.1 on a
free port and writes the port number to --port-file (atomically: a
temporary file renamed) once it listens.  SIGTERM or SIGINT stop it
cleanly.

The truth is the --series FILE, re-read on every request: the output of
`swrepart gen --list-series`, one series a line, tab-separated:

    id  dataType  ASSOCIATED|DISASSOCIATED  assetId|-  propertyId|-  alias|-

Blank lines and lines starting with '#' are ignored.  timeSeriesId is the
id column as it is (for the legacy "assetId_propertyId" form too).

API (rest-json, as the real service; every request must be signed):
  GET /timeseries/?timeSeriesType=ASSOCIATED|DISASSOCIATED
                   [&maxResults=1..250 (default 50)][&nextToken=T]
                   [&aliasPrefix=P][&assetId=UUID]
  -> 200 {"TimeSeriesSummaries": [...], "nextToken": "..."}
     nextToken is left out on the last page.  Summaries come sorted by
     timeSeriesId; a token remembers the last id returned, so a series
     file changed between pages neither repeats nor skips the others.
     Tokens are opaque base64 that always contain '+', '/' and '=' (so a
     client must percent-encode them), are bound to this process and to
     the request's timeSeriesType/aliasPrefix/assetId.

Signature Version 4 (Authorization header form only), checked for real:
service "iotsitewise", --region, --access-key/--secret-key, optional
--session-token (x-amz-security-token), x-amz-date within --max-skew
seconds, host and x-amz-date among the signed headers.

Errors: HTTP status, header x-amzn-ErrorType: NAME, x-amzn-RequestId, and
a JSON body {"message": "..."}:
  400 ValidationException        missing/bad timeSeriesType, maxResults
                                 outside 1..250 or not an integer, a
                                 nextToken outside the model's pattern,
                                 a bad assetId, a repeated parameter
  400 InvalidRequestException    a well-formed nextToken this mock did
                                 not issue (or issued for other filters)
  403 MissingAuthenticationTokenException   no Authorization header
  403 IncompleteSignatureException          malformed Authorization
  403 UnrecognizedClientException           unknown access key / token
  403 InvalidSignatureException             bad signature, scope, date
  404 UnknownOperationException  another path or method
  429 ThrottlingException        {"message": "Rate exceeded"}
  500 InternalFailureException   injected, or a malformed series file

Control (no signature needed):
  POST   /__control/throttle?count=N  the next N signed requests get 429
  POST   /__control/fail?count=N      the next N signed requests get 500
  POST   /__control/repeat_token?on=1 a server that pages forever: every
                                      page has a nextToken, the one the
                                      request carried (the first page: a
                                      token of its last series); on=0 ends
                                      the mode.  Answers {"repeat_token":B}
  GET    /__control/stats             counters as JSON (see Stats below)
  DELETE /__control/stats             resets counters (and the sequence
                                      that --throttle-every counts)
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import signal
import sys
import threading
import urllib.parse
import uuid

SERVICE = "iotsitewise"
ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TYPES = ("ASSOCIATED", "DISASSOCIATED")
UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9+/=]+$")
AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")
UNRESERVED = "-_.~"
# Token bytes start with these two, so the base64 text starts with "+/".
TOKEN_MAGIC = b"\xfb\xff"
RECENT_MAX = 500

lock = threading.Lock()
cfg = None          # argparse namespace, set by main()
token_key = secrets.token_bytes(32)


def fresh_stats():
    return {
        "requests": 0,          # every request outside /__control/
        "authenticated": 0,     # of those, with a valid signature
        "pages": 0,             # 200 answers
        "series_served": 0,     # summaries in those answers
        "token_pages": 0,       # 200 answers to a request with nextToken
        "throttled": 0,         # 429 answers
        "failed": 0,            # injected 500 answers
        "rejected_signatures": 0,   # 403 answers
        "invalid": 0,           # 400 answers
        "not_found": 0,         # 404 answers
        "max_results": [],      # maxResults as sent (int, string or null)
                                # by every authenticated request
        "recent": [],           # the last requests, oldest first
    }


state = {
    "stats": fresh_stats(),
    "pending_throttles": 0,
    "pending_failures": 0,
    "repeat_token": False,
}


class ApiError(Exception):
    def __init__(self, status, etype, message, stat):
        Exception.__init__(self, message)
        self.status = status
        self.etype = etype
        self.message = message
        self.stat = stat


def sig_error(etype, message):
    return ApiError(403, etype, message, "rejected_signatures")


def validation_error(problems):
    n = len(problems)
    return ApiError(400, "ValidationException", "%d validation error%s "
                    "detected: %s" % (n, "" if n == 1 else "s",
                                      "; ".join(problems)), "invalid")


# ---------------------------------------------------------------- SigV4

def uri_encode(data, safe):
    """Percent-encodes bytes or str the AWS way (uppercase hex)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return urllib.parse.quote_from_bytes(data, safe=UNRESERVED + safe)


def form_unquote(s):
    """Decodes one query-string component to bytes ('+' is a space)."""
    return urllib.parse.unquote_to_bytes(s.replace("+", " "))


def split_query(raw):
    """[(name_bytes, value_bytes)] of a raw query string, in order."""
    out = []
    for part in raw.split("&"):
        if part == "":
            continue
        k, _, v = part.partition("=")
        out.append((form_unquote(k), form_unquote(v)))
    return out


def canonical_query(params):
    enc = sorted((uri_encode(k, ""), uri_encode(v, "")) for k, v in params)
    return "&".join("%s=%s" % kv for kv in enc)


def remove_dot_segments(path):
    """As botocore does: '.', '..' and empty segments go, a trailing
    slash stays."""
    out = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
        else:
            out.append(seg)
    res = "/" + "/".join(out)
    if out and path.endswith("/"):
        res += "/"
    return res


def canonical_uri(wire_path):
    # The wire path is encoded once already; encoding it again gives the
    # "each segment encoded twice" form of non-S3 services.
    return uri_encode(remove_dot_segments(wire_path), "/")


def canonical_header_value(values):
    return ",".join(re.sub(r"\s+", " ", v.strip()) for v in values)


def signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(),
                 hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def parse_authorization(auth):
    if not auth.startswith(ALGORITHM + " "):
        algo = auth.split(" ", 1)[0]
        raise sig_error("IncompleteSignatureException",
                        "Unsupported Authorization Type: '%s'; only %s is "
                        "accepted." % (algo, ALGORITHM))
    fields = {}
    for item in auth[len(ALGORITHM) + 1:].split(","):
        item = item.strip()
        if not item:
            continue
        k, eq, v = item.partition("=")
        if not eq:
            raise sig_error("IncompleteSignatureException",
                            "'%s' not a valid key=value pair (missing equal-"
                            "sign) in Authorization header: '%s'."
                            % (item, auth))
        fields[k.strip()] = v.strip()
    missing = [f for f in ("Credential", "SignedHeaders", "Signature")
               if f not in fields]
    if missing:
        raise sig_error("IncompleteSignatureException", " ".join(
            "Authorization header requires '%s' parameter." % f
            for f in missing))
    return fields


def verify_signature(h, wire_path, params, body):
    """Raises ApiError unless the request carries a valid signature."""
    auth = h.headers.get("Authorization")
    if auth is None:
        raise sig_error("MissingAuthenticationTokenException",
                        "Missing Authentication Token")
    fields = parse_authorization(auth.strip())

    amz_date = h.headers.get("X-Amz-Date")
    if amz_date is None:
        raise sig_error("IncompleteSignatureException",
                        "Authorization header requires existence of an "
                        "'X-Amz-Date' header.")
    amz_date = amz_date.strip()
    try:
        if not AMZ_DATE_RE.match(amz_date):
            raise ValueError
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise sig_error("IncompleteSignatureException",
                        "Date must be in ISO-8601 'basic format'. Got '%s'. "
                        "See http://en.wikipedia.org/wiki/ISO_8601"
                        % amz_date)

    cred = fields["Credential"].split("/")
    if len(cred) != 5:
        raise sig_error("IncompleteSignatureException",
                        "Credential must have exactly 5 slash-delimited "
                        "elements, e.g. keyid/date/region/service/term, "
                        "got '%s'" % fields["Credential"])
    akid, cdate, cregion, cservice, cterm = cred

    if akid != cfg.access_key:
        raise sig_error("UnrecognizedClientException",
                        "The security token included in the request is "
                        "invalid.")
    token = h.headers.get("X-Amz-Security-Token")
    if (token is None) != (cfg.session_token is None) or (
            token is not None and token.strip() != cfg.session_token):
        raise sig_error("UnrecognizedClientException",
                        "The security token included in the request is "
                        "invalid.")

    now = datetime.datetime.now(datetime.timezone.utc)
    skew = datetime.timedelta(seconds=cfg.max_skew)
    fmt = "%Y%m%dT%H%M%SZ"
    if t < now - skew:
        raise sig_error("InvalidSignatureException",
                        "Signature expired: %s is now earlier than %s (%s - "
                        "%d min.)" % (amz_date, (now - skew).strftime(fmt),
                                      now.strftime(fmt), cfg.max_skew // 60))
    if t > now + skew:
        raise sig_error("InvalidSignatureException",
                        "Signature not yet current: %s is still later than "
                        "%s (%s + %d min.)" % (amz_date,
                                               (now + skew).strftime(fmt),
                                               now.strftime(fmt),
                                               cfg.max_skew // 60))
    if cdate != amz_date[:8]:
        raise sig_error("InvalidSignatureException",
                        "Date in Credential scope does not match YYYYMMDD "
                        "from ISO-8601 version of date from HTTP: '%s' != "
                        "'%s', from '%s'." % (cdate, amz_date[:8], amz_date))
    if cregion != cfg.region:
        raise sig_error("InvalidSignatureException",
                        "Credential should be scoped to a valid region, not "
                        "'%s'. " % cregion)
    if cservice != SERVICE:
        raise sig_error("InvalidSignatureException",
                        "Credential should be scoped to correct service: "
                        "'%s'. " % SERVICE)
    if cterm != "aws4_request":
        raise sig_error("InvalidSignatureException",
                        "Credential should be scoped with a valid "
                        "terminator: 'aws4_request', not '%s'. " % cterm)

    signed = fields["SignedHeaders"].split(";")
    if any(s == "" or s != s.lower() for s in signed):
        raise sig_error("InvalidSignatureException",
                        "SignedHeaders must be lowercase names separated by "
                        "';', got '%s'." % fields["SignedHeaders"])
    if signed != sorted(set(signed)):
        raise sig_error("InvalidSignatureException",
                        "SignedHeaders must be sorted and unique, got '%s'."
                        % fields["SignedHeaders"])
    for need in ("host", "x-amz-date"):
        if need not in signed:
            raise sig_error("InvalidSignatureException",
                            "Signed request requires setting up "
                            "SignedHeaders with '%s', got '%s'."
                            % (need, fields["SignedHeaders"]))
    lines = []
    for name in signed:
        values = h.headers.get_all(name)
        if not values:
            raise sig_error("InvalidSignatureException",
                            "SignedHeaders lists '%s', which the request "
                            "does not carry." % name)
        lines.append("%s:%s\n" % (name, canonical_header_value(values)))

    payload = hashlib.sha256(body).hexdigest()
    declared = h.headers.get("X-Amz-Content-Sha256")
    if declared is not None and declared.strip() != payload:
        raise sig_error("InvalidSignatureException",
                        "The provided 'x-amz-content-sha256' header does not "
                        "match what was computed.")

    creq = "\n".join([h.command, canonical_uri(wire_path),
                      canonical_query(params), "".join(lines),
                      fields["SignedHeaders"], payload])
    scope = "/".join(cred[1:])
    sts = "\n".join([ALGORITHM, amz_date, scope,
                     hashlib.sha256(creq.encode("utf-8")).hexdigest()])
    want = hmac.new(signing_key(cfg.secret_key, cdate, cregion, cservice),
                    sts.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, fields["Signature"]):
        shown = creq
        if token is not None:
            shown = shown.replace(token.strip(), "<redacted>")
        raise sig_error("InvalidSignatureException",
                        "The request signature we calculated does not match "
                        "the signature you provided. Check your AWS Secret "
                        "Access Key and signing method. Consult the service "
                        "documentation for details.\n\nThe Canonical String "
                        "for this request should have been\n'%s'\n\nThe "
                        "String-to-Sign should have been\n'%s'\n"
                        % (shown, sts))


# ---------------------------------------------------------------- data

def load_series():
    try:
        with open(cfg.series, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ApiError(500, "InternalFailureException",
                       "mock: cannot read the series file: %s" % e, "failed")
    series = {}
    for no, line in enumerate(text.split("\n"), 1):
        if line.strip() == "" or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 6 or cols[2] not in TYPES or cols[0] == "":
            raise ApiError(500, "InternalFailureException",
                           "mock: %s:%d: not 6 tab-separated columns "
                           "(id, dataType, ASSOCIATED|DISASSOCIATED, assetId,"
                           " propertyId, alias)" % (cfg.series, no), "failed")
        sid, dtype, kind, asset, prop, alias = cols
        if sid in series:
            raise ApiError(500, "InternalFailureException",
                           "mock: %s:%d: series %s listed twice"
                           % (cfg.series, no, sid), "failed")
        series[sid] = {
            "id": sid, "dataType": dtype, "type": kind,
            "assetId": asset if asset not in ("", "-") else None,
            "propertyId": prop if prop not in ("", "-") else None,
            "alias": alias if alias not in ("", "-") else None,
        }
    return [series[k] for k in sorted(series)]


def series_dates(sid):
    """Stable (created, updated) for a series: (seconds, milliseconds)."""
    d = hashlib.sha256(sid.encode()).digest()
    created = 1577836800 + int.from_bytes(d[0:4], "big") % 94608000
    updated = created + int.from_bytes(d[4:8], "big") % 31536000
    return ((created, int.from_bytes(d[8:10], "big") % 1000),
            (updated, int.from_bytes(d[10:12], "big") % 1000))


def json_date(sec_ms):
    sec, ms = sec_ms
    if cfg.date_format == "int":
        return "%d" % sec
    if cfg.date_format == "frac":
        return "%d.%03d" % (sec, ms)
    # What the real service sends: Java's Double.toString of epoch seconds,
    # e.g. 1.669327813256E9.
    s = str(sec)
    digits = (s + "%03d" % ms).rstrip("0")
    return "%s.%sE%d" % (digits[0], digits[1:] or "0", len(s) - 1)


def summary_json(s):
    parts = [("timeSeriesId", json.dumps(s["id"]))]
    if s["type"] == "ASSOCIATED":
        if s["assetId"]:
            parts.append(("assetId", json.dumps(s["assetId"])))
        if s["propertyId"]:
            parts.append(("propertyId", json.dumps(s["propertyId"])))
    if s["alias"]:
        parts.append(("alias", json.dumps(s["alias"])))
    parts.append(("dataType", json.dumps(s["dataType"])))
    if s["dataType"] == "STRUCT":
        parts.append(("dataTypeSpec", json.dumps("AWS/ALARM_STATE")))
    parts.append(("timeSeriesArn", json.dumps(
        "arn:aws:iotsitewise:%s:%s:time-series/%s"
        % (cfg.region, cfg.account_id, s["id"]))))
    created, updated = series_dates(s["id"])
    parts.append(("timeSeriesCreationDate", json_date(created)))
    parts.append(("timeSeriesLastUpdateDate", json_date(updated)))
    return "{" + ",".join('"%s":%s' % kv for kv in parts) + "}"


def filters_of(q):
    return [q.get("timeSeriesType"), q.get("aliasPrefix"), q.get("assetId")]


def make_token(last_id, q):
    payload = json.dumps({"after": last_id, "f": filters_of(q)},
                         separators=(",", ":")).encode()
    mac = hmac.new(token_key, payload, hashlib.sha256).digest()[:16]
    raw = TOKEN_MAGIC + mac + payload
    while len(raw) % 3 != 1:    # so the base64 text ends in "=="
        raw += b" "
    return base64.b64encode(raw).decode()


def read_token(tok, q):
    bad = ApiError(400, "InvalidRequestException",
                   "The nextToken is invalid or has expired.", "invalid")
    try:
        raw = base64.b64decode(tok, validate=True)
    except ValueError:
        raise bad
    if raw[:2] != TOKEN_MAGIC or len(raw) < 18:
        raise bad
    mac, payload = raw[2:18], raw[18:].rstrip(b" ")
    if not hmac.compare_digest(
            mac, hmac.new(token_key, payload, hashlib.sha256).digest()[:16]):
        raise bad
    d = json.loads(payload)
    if d["f"] != filters_of(q):
        raise ApiError(400, "InvalidRequestException",
                       "The nextToken was issued for other request "
                       "parameters (timeSeriesType, aliasPrefix, assetId).",
                       "invalid")
    return d["after"]


def parse_list_query(params):
    """Validates the ListTimeSeries query; returns a dict of str."""
    q, problems = {}, []
    for k, v in params:
        try:
            k, v = k.decode("utf-8"), v.decode("utf-8")
        except UnicodeDecodeError:
            problems.append("Query parameter is not valid UTF-8")
            continue
        if k in q:
            problems.append("Query parameter '%s' is given more than once"
                            % k)
        q[k] = v
    t = q.get("timeSeriesType")
    if t is None:
        problems.append("Value null at 'timeSeriesType' failed to satisfy "
                        "constraint: Member must not be null")
    elif t not in TYPES:
        problems.append("Value '%s' at 'timeSeriesType' failed to satisfy "
                        "constraint: Member must satisfy enum value set: "
                        "[ASSOCIATED, DISASSOCIATED]" % t)
    m = q.get("maxResults")
    if m is not None:
        if not re.match(r"^[+-]?\d{1,10}$", m):
            problems.append("Value '%s' at 'maxResults' failed to satisfy "
                            "constraint: Member must be an integer" % m)
        elif int(m) < 1:
            problems.append("Value '%s' at 'maxResults' failed to satisfy "
                            "constraint: Member must have value greater than "
                            "or equal to 1" % m)
        elif int(m) > 250:
            problems.append("Value '%s' at 'maxResults' failed to satisfy "
                            "constraint: Member must have value less than or "
                            "equal to 250" % m)
    n = q.get("nextToken")
    if n is not None and not (1 <= len(n) <= 4096 and TOKEN_RE.match(n)):
        problems.append("Value '%s' at 'nextToken' failed to satisfy "
                        "constraint: Member must have length between 1 and "
                        "4096 and satisfy regular expression pattern: "
                        "[A-Za-z0-9+/=]+" % n)
    a = q.get("assetId")
    if a is not None and not UUID_RE.match(a):
        problems.append("Value '%s' at 'assetId' failed to satisfy "
                        "constraint: Member must satisfy regular expression "
                        "pattern: ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                        "[0-9a-f]{4}-[0-9a-f]{12}$" % a)
    p = q.get("aliasPrefix")
    if p is not None and (p == "" or re.search(r"[\x00-\x1f\x7f]", p)):
        problems.append("Value '%s' at 'aliasPrefix' failed to satisfy "
                        "constraint: Member must have length greater than or "
                        "equal to 1 and satisfy regular expression pattern: "
                        "[^\\u0000-\\u001F\\u007F]+" % p)
    if problems:
        raise validation_error(problems)
    return q


def list_page(q):
    """The body of one ListTimeSeries page; returns (json text, count)."""
    after = read_token(q["nextToken"], q) if "nextToken" in q else None
    limit = int(q.get("maxResults", "50"))
    rows = [s for s in load_series()
            if s["type"] == q["timeSeriesType"]
            and ("aliasPrefix" not in q or (
                s["alias"] or "").startswith(q["aliasPrefix"]))
            and ("assetId" not in q or s["assetId"] == q["assetId"])
            and (after is None or s["id"] > after)]
    page = rows[:limit]
    body = '{"TimeSeriesSummaries":[' + ",".join(
        summary_json(s) for s in page) + "]"
    with lock:
        repeat = state["repeat_token"]
    if repeat:
        # The mode repeat_token: the token given is the one received.
        tok = q.get("nextToken") or make_token(
            page[-1]["id"] if page else "", q)
        body += ',"nextToken":%s' % json.dumps(tok)
    elif len(rows) > limit:
        body += ',"nextToken":%s' % json.dumps(make_token(page[-1]["id"], q))
    return body + "}", len(page)


# ---------------------------------------------------------------- HTTP

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sitewise-mock/1"

    def log_message(self, fmt, *args):
        if not cfg.quiet:
            sys.stderr.write("sitewise_mock: %s %s\n"
                             % (self.address_string(), fmt % args))

    def send(self, status, body, extra=()):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error_json(self, e):
        etype = e.etype
        if cfg.coral_error_type:
            etype += ":http://internal.amazon.com/coral/com.amazon.coral." \
                     "service/"
        self.send(e.status, json.dumps({"message": e.message}),
                  [("x-amzn-ErrorType", etype)])

    def read_body(self):
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return None
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if n < 0:
            self.close_connection = True
            return None
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        body = self.read_body()
        wire_path, _, raw_query = self.path.partition("?")
        if wire_path.startswith("/__control/"):
            return self.control(wire_path, raw_query)
        record = {"method": self.command, "path": wire_path,
                  "query": raw_query}
        with lock:
            st = state["stats"]
            st["requests"] += 1
        try:
            if body is None:
                raise ApiError(400, "SerializationException",
                               "mock: send a Content-Length body (chunked "
                               "bodies are not supported)", "invalid")
            params = split_query(raw_query)
            verify_signature(self, wire_path, params, body)
            with lock:
                st["authenticated"] += 1
                seq = st["authenticated"]
                m = [v for k, v in params if k == b"maxResults"]
                if m:
                    try:
                        st["max_results"].append(int(m[0]))
                    except ValueError:
                        st["max_results"].append(
                            m[0].decode("utf-8", "replace"))
                else:
                    st["max_results"].append(None)
            if wire_path != "/timeseries/" or self.command != "GET":
                raise ApiError(404, "UnknownOperationException",
                               "No operation %s %s in this mock (only GET "
                               "/timeseries/)" % (self.command, wire_path),
                               "not_found")
            with lock:
                throttle = state["pending_throttles"] > 0 or (
                    cfg.throttle_every > 0 and seq % cfg.throttle_every == 0)
                if state["pending_throttles"] > 0:
                    state["pending_throttles"] -= 1
                fail = not throttle and state["pending_failures"] > 0
                if fail:
                    state["pending_failures"] -= 1
            if throttle:
                raise ApiError(429, "ThrottlingException", "Rate exceeded",
                               "throttled")
            if fail:
                raise ApiError(500, "InternalFailureException",
                               "mock: injected internal failure", "failed")
            q = parse_list_query(params)
            text, n = list_page(q)
        except ApiError as e:
            with lock:
                st[e.stat] += 1
                record.update(status=e.status, error=e.etype)
                self.remember(st, record)
            return self.send_error_json(e)
        with lock:
            st["pages"] += 1
            st["series_served"] += n
            if "nextToken" in q:
                st["token_pages"] += 1
            record.update(status=200, series=n)
            self.remember(st, record)
        self.send(200, text)

    @staticmethod
    def remember(st, record):
        st["recent"].append(record)
        del st["recent"][:-RECENT_MAX]

    def control(self, path, raw_query):
        q = dict(urllib.parse.parse_qsl(raw_query))
        if path in ("/__control/throttle", "/__control/fail") and \
                self.command == "POST":
            try:
                n = int(q.get("count", "1"))
                if n < 0:
                    raise ValueError
            except ValueError:
                return self.send(400, json.dumps(
                    {"message": "count must be an integer >= 0"}))
            key = "pending_throttles" if path.endswith("throttle") \
                else "pending_failures"
            with lock:
                state[key] = n
                out = {"pending_throttles": state["pending_throttles"],
                       "pending_failures": state["pending_failures"]}
            return self.send(200, json.dumps(out))
        if path == "/__control/repeat_token" and self.command == "POST":
            on = q.get("on", "1")
            if on not in ("0", "1"):
                return self.send(400, json.dumps(
                    {"message": "on must be 0 or 1"}))
            with lock:
                state["repeat_token"] = on == "1"
            return self.send(200, json.dumps({"repeat_token": on == "1"}))
        if path == "/__control/stats" and self.command == "GET":
            with lock:
                out = json.loads(json.dumps(state["stats"]))
                out["pending_throttles"] = state["pending_throttles"]
                out["pending_failures"] = state["pending_failures"]
            return self.send(200, json.dumps(out, indent=1))
        if path == "/__control/stats" and self.command == "DELETE":
            with lock:
                state["stats"] = fresh_stats()
            return self.send(200, json.dumps({"reset": True}))
        return self.send(404, json.dumps(
            {"message": "no control endpoint %s %s" % (self.command, path)}))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


def main():
    global cfg
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--series", required=True, metavar="FILE",
                    help="the truth, as `swrepart gen --list-series` "
                    "prints it; re-read on every request")
    ap.add_argument("--port-file", required=True, metavar="FILE",
                    help="written (atomically) with the port once listening")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--access-key", default="swrepart-test")
    ap.add_argument("--secret-key", default="swrepart-test-secret")
    ap.add_argument("--session-token", default=None,
                    help="require this x-amz-security-token (default: the "
                    "request must carry none)")
    ap.add_argument("--account-id", default="123456789012",
                    help="for timeSeriesArn")
    ap.add_argument("--throttle-every", type=int, default=0, metavar="N",
                    help="every Nth signed request answers 429 (0: never)")
    ap.add_argument("--max-skew", type=int, default=900, metavar="SECONDS",
                    help="how far x-amz-date may be from now (900)")
    ap.add_argument("--date-format", choices=("exp", "frac", "int"),
                    default="exp", help="how dates are written: exp (the "
                    "real service: 1.669327813256E9, the default), frac "
                    "(1669327813.256) or int (1669327813)")
    ap.add_argument("--coral-error-type", action="store_true",
                    help="x-amzn-ErrorType with the ':http://internal..."
                    "' suffix some real services add")
    ap.add_argument("--quiet", action="store_true",
                    help="no request log on stderr")
    cfg = ap.parse_args()
    if cfg.throttle_every < 0:
        ap.error("--throttle-every must be >= 0")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        if not cfg.quiet:
            sys.stderr.write("sitewise_mock: stopping on signal %d\n"
                             % signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = "%s.tmp.%d" % (cfg.port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, cfg.port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
