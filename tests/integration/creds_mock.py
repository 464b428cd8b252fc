#!/usr/bin/python3
"""creds_mock.py - a mock EC2 instance metadata service (IMDSv2) and ECS
container credentials endpoint for 20-creds-imds-ecs.sh.

Standard library only (Debian's /usr/bin/python3).  Binds 127.0.0.1 on a
free port and writes the port number to --port-file once it listens.  The
ECS authorization token it expects comes from $CREDS_MOCK_ECS_TOKEN (not
the command line, like a real one).

IMDS, at the root and under two prefixes that change its behaviour:
  PUT  /latest/api/token                      needs the TTL header (1..21600)
  GET  /latest/meta-data/iam/security-credentials/       the role name
  GET  /latest/meta-data/iam/security-credentials/ROLE   its credentials
  GET requests need a token from the PUT (401 otherwise), as with
  HttpTokens=required.  /v1only/...: the PUT answers 403 and GETs need no
  token (an IMDSv1-only service).  /norole/...: no role attached (404).
ECS:
  GET /ecs/creds    credentials, expiring in an hour; Authorization checked
  GET /ecs/short    the same, expiring in 30 seconds (to test refresh)
  GET /ecs/bad      malformed JSON;   GET /ecs/partial   no Token field
Control:
  GET /_stats       counters as JSON (token PUTs, rejected requests)
"""

import argparse
import datetime
import http.server
import json
import os
import secrets
import sys
import threading

ROLE = "swrepart-test-role"
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"

lock = threading.Lock()
state = {
    "serial": 0,
    "tokens": set(),
    "stats": {
        "token_puts": 0,
        "imds_rejected": 0,
        "imds_creds": 0,
        "ecs_rejected": 0,
        "ecs_creds": 0,
    },
}


def count(name):
    with lock:
        state["stats"][name] += 1


def next_serial():
    with lock:
        state["serial"] += 1
        return state["serial"]


def iso(seconds_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def credentials(kind, expires_in):
    n = next_serial()
    return {
        "AccessKeyId": "ASIAMOCK%s%06d" % (kind, n),
        "SecretAccessKey": "mock-secret-%s-%06d-%s" % (kind, n,
                                                        "x" * 20),
        "Token": "mock-token-%s-%06d-%s" % (kind, n, "y" * 200),
        "Expiration": iso(expires_in),
    }


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ecs_token = ""

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def reply_json(self, obj):
        self.reply(200, json.dumps(obj), "application/json")

    def split_mode(self):
        for mode in ("/v1only", "/norole"):
            if self.path.startswith(mode + "/"):
                return mode[1:], self.path[len(mode):]
        return "", self.path

    def do_PUT(self):
        mode, path = self.split_mode()
        if path != "/latest/api/token":
            return self.reply(404, "not found")
        count("token_puts")
        if mode == "v1only":
            return self.reply(403, "forbidden")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.reply(400, "missing or invalid TTL header")
        if self.headers.get("X-Forwarded-For") is not None:
            return self.reply(403, "forbidden")
        token = secrets.token_urlsafe(32)
        with lock:
            state["tokens"].add(token)
        self.reply(200, token)

    def imds_get(self, mode, path):
        if mode != "v1only":
            token = self.headers.get("X-aws-ec2-metadata-token")
            with lock:
                valid = token in state["tokens"]
            if not valid:
                count("imds_rejected")
                return self.reply(401, "unauthorized")
        if path == CREDS_PATH:
            if mode == "norole":
                return self.reply(404, "not found")
            return self.reply(200, ROLE)
        if path == CREDS_PATH + ROLE and mode != "norole":
            count("imds_creds")
            body = {"Code": "Success", "LastUpdated": iso(0),
                    "Type": "AWS-HMAC"}
            body.update(credentials("IMDS", 3600))
            return self.reply_json(body)
        return self.reply(404, "not found")

    def ecs_get(self, path):
        if self.headers.get("Authorization") != self.ecs_token:
            count("ecs_rejected")
            return self.reply(401, json.dumps({
                "code": "InvalidToken", "message": "bad token"}),
                "application/json")
        if path == "/ecs/bad":
            return self.reply(200, '{"AccessKeyId": "ASIA', "application/json")
        if path not in ("/ecs/creds", "/ecs/short", "/ecs/partial"):
            return self.reply(404, "not found")
        count("ecs_creds")
        body = {"RoleArn": "arn:aws:iam::123456789012:role/" + ROLE}
        body.update(credentials("ECS", 30 if path == "/ecs/short" else 3600))
        if path == "/ecs/partial":
            del body["Token"]
        return self.reply_json(body)

    def do_GET(self):
        mode, path = self.split_mode()
        if path == "/_stats" and not mode:
            with lock:
                return self.reply_json(dict(state["stats"]))
        if path.startswith("/latest/"):
            return self.imds_get(mode, path)
        if path.startswith("/ecs/") and not mode:
            return self.ecs_get(path)
        return self.reply(404, "not found")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    Handler.ecs_token = os.environ.get("CREDS_MOCK_ECS_TOKEN", "")
    if not Handler.ecs_token:
        sys.exit("creds_mock.py: CREDS_MOCK_ECS_TOKEN is not set")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
