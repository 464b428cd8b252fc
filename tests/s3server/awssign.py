#!/usr/bin/python3
"""Print SigV4 headers for requests, signed by awscli's own botocore signer.

usage: /usr/bin/python3 awssign.py METHOD URL [BODY_FILE]
       /usr/bin/python3 awssign.py --stdin

URL must already be percent-encoded as it will be sent (e.g. by curl), because botocore's S3
signer takes the path and query as given. Credentials and region come from AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION. Prints one "Name: value" line per header, for
curl -H. With --stdin, reads "METHOD URL [BODY_FILE]" lines and answers each with its header
lines and an empty line (one Python start-up for many requests).

Used by selftest.sh to send requests that awscli itself cannot shape (a trailing "/bucket/",
raw listing XML), with a signer independent of the server's verifier.
"""
import os
import sys

import awscli  # noqa: F401  (makes awscli's bundled botocore importable as "botocore")
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDENTIALS = Credentials(os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_SECRET_ACCESS_KEY'])
REGION = os.environ.get('AWS_DEFAULT_REGION', 'us-east-1')


def sign(method, url, body_file=None):
    body = b''
    if body_file:
        with open(body_file, 'rb') as f:
            body = f.read()
    request = AWSRequest(method=method, url=url, data=body)
    S3SigV4Auth(CREDENTIALS, 's3', REGION).add_auth(request)
    return [f'{name}: {value}' for name, value in request.headers.items()]


def main():
    if sys.argv[1:] == ['--stdin']:
        for line in sys.stdin:
            fields = line.split()
            if not fields:
                continue
            print('\n'.join(sign(*fields[:3]) + ['']), flush=True)
        return
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    print('\n'.join(sign(*sys.argv[1:])))


if __name__ == '__main__':
    main()
