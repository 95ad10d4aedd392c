#!/usr/bin/env python3
"""Writes sigv4-vectors.json: AWS Signature V4 known answers for SignatureV4Tests.

Two sources, both independent of TwinStore:
  * AWS's published examples (signature values copied from AWS documentation, cited per vector):
    the SigV4 test suite's "get-vanilla" and the S3 "Authenticating Requests: Using the
    Authorization Header" examples. They are checked against botocore below before being written.
  * botocore (the signer of the AWS CLI and boto3), for requests shaped like the S3 backend's:
    path-style keys, ListObjectsV2 queries with tokens that need escaping, copies, session tokens.
"""
import json
from botocore.auth import SigV4Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def sign(method, url, headers, body, payload_hash, creds, region, service, timestamp, s3=True):
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    request.context["timestamp"] = timestamp
    request.headers["X-Amz-Date"] = timestamp
    if creds.token:
        request.headers["X-Amz-Security-Token"] = creds.token
    auth = (S3SigV4Auth if s3 else SigV4Auth)(creds, service, region)
    if s3:
        request.context["payload_signing_enabled"] = True
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    return canonical, auth.signature(string_to_sign, request)


def vector(name, source, method, host, path, query, headers, body, payload_hash, key, secret, region, service, timestamp,
           token=None, s3=True, expected=None):
    from urllib.parse import quote
    qs = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    url = f"http://{host}{quote(path, safe='/-_.~')}" + (f"?{qs}" if qs else "")
    creds = Credentials(key, secret, token)
    all_headers = [("host", host)] + headers
    canonical, signature = sign(method, url, all_headers, body, payload_hash, creds, region, service, timestamp, s3)
    if expected is not None:
        assert signature == expected, (name, signature, expected)
    return {
        "name": name, "source": source, "accessKey": key, "secretKey": secret, "sessionToken": token,
        "region": region, "service": service, "timestamp": timestamp, "method": method, "path": path,
        "query": [list(q) for q in query],
        "headers": [list(h) for h in all_headers] + ([["x-amz-security-token", token]] if token else []) + [["x-amz-date", timestamp]],
        "payloadHash": payload_hash, "canonicalRequest": canonical, "signature": signature,
    }


AWS_SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
S3_DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
vectors = [
    vector("aws-sig-v4-test-suite/get-vanilla", "AWS Signature Version 4 test suite, get-vanilla",
           "GET", "example.amazonaws.com", "/", [], [], b"", EMPTY, "AKIDEXAMPLE", AWS_SUITE_SECRET,
           "us-east-1", "service", "20150830T123600Z", s3=False,
           expected="5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    vector("s3-doc/get-object", "AWS S3 API reference, sig-v4-header-based-auth: GET Object example",
           "GET", "examplebucket.s3.amazonaws.com", "/test.txt", [],
           [("range", "bytes=0-9"), ("x-amz-content-sha256", EMPTY)], b"", EMPTY,
           "AKIAIOSFODNN7EXAMPLE", S3_DOC_SECRET, "us-east-1", "s3", "20130524T000000Z",
           expected="f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
]
key, secret, region = "TESTACCESSKEY0000001", "testsecretkey0000000000000000000000000001", "us-east-1"
body = bytes(range(256)) * 3
import hashlib
body_hash = hashlib.sha256(body).hexdigest()
tag = "a5" + "0f" * 31
vectors += [
    vector("botocore/put-chunk", "botocore S3SigV4Auth", "PUT", "127.0.0.1:17480", f"/twin-blobs/chunks/{tag}", [],
           [("x-amz-content-sha256", body_hash), ("content-length", str(len(body)))], body, body_hash,
           key, secret, region, "s3", "20261207T051500Z"),
    vector("botocore/list-first-page", "botocore S3SigV4Auth", "GET", "127.0.0.1:17480", "/twin-blobs",
           [("list-type", "2"), ("prefix", "chunks/")], [("x-amz-content-sha256", EMPTY)], b"", EMPTY,
           key, secret, region, "s3", "20261207T051500Z"),
    vector("botocore/list-next-page", "botocore S3SigV4Auth", "GET", "127.0.0.1:17480", "/twin-blobs",
           [("list-type", "2"), ("prefix", "chunks/"), ("continuation-token", "1/a+b=c d~e_f.g")],
           [("x-amz-content-sha256", EMPTY)], b"", EMPTY, key, secret, "eu-central-1", "s3", "20261231T235959Z"),
    vector("botocore/copy-to-quarantine", "botocore S3SigV4Auth", "PUT", "s3.example.com", f"/bucket/quarantine/{tag}.1765084500",
           [], [("x-amz-copy-source", f"/bucket/chunks/{tag}"), ("x-amz-content-sha256", EMPTY)], b"", EMPTY,
           key, secret, region, "s3", "20261207T051500Z"),
    vector("botocore/delete-with-session-token", "botocore S3SigV4Auth", "DELETE", "s3.example.com", f"/bucket/chunks/{tag}",
           [], [("x-amz-content-sha256", EMPTY)], b"", EMPTY, key, secret, "ap-southeast-2", "s3", "20260101T000000Z",
           token="FQoGZXIvYXdzE//session+token="),
    vector("botocore/odd-key-and-spaces", "botocore S3SigV4Auth", "GET", "s3.example.com", "/bucket/a key/ü+%.txt", [],
           [("x-amz-content-sha256", EMPTY), ("x-amz-meta-note", "  two   spaces  ")], b"", EMPTY,
           key, secret, region, "s3", "20260101T000000Z"),
]
with open(__file__.rsplit("/", 1)[0] + "/sigv4-vectors.json", "w") as out:
    json.dump(vectors, out, indent=1, ensure_ascii=False)
    out.write("\n")
print(f"{len(vectors)} vectors")
