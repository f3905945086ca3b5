"""AWS's published SigV4 examples, checked against both the service's
functions and the tests' own signer (so the signer is known to be right).

The values are AWS's documented example for IAM ``ListUsers`` ("Examples of
the complete Signature Version 4 signing process") and the ``get-vanilla``
case of AWS's SigV4 test suite, both with the documentation's example secret.
"""

from __future__ import annotations

import hashlib

from app.auth import sigv4
from tests.unit.sigv4.signer import derive_key, sign

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20150830T123600Z"
EMPTY = hashlib.sha256(b"").hexdigest()

IAM_HEADERS = [
    ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
    ("Host", "iam.amazonaws.com"),
    ("X-Amz-Date", AMZ_DATE),
]
IAM_QUERY = "Action=ListUsers&Version=2010-05-08"
IAM_CANONICAL_REQUEST = (
    "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
    "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
    "host:iam.amazonaws.com\n"
    "x-amz-date:20150830T123600Z\n\n"
    "content-type;host;x-amz-date\n" + EMPTY
)
IAM_CANONICAL_REQUEST_SHA256 = "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
IAM_SIGNING_KEY = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
IAM_SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

GET_VANILLA_SIGNATURE = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def test_the_iam_list_users_example_with_the_service_functions() -> None:
    canonical = sigv4.canonical_request(
        "GET", "/", IAM_QUERY, IAM_HEADERS, "content-type;host;x-amz-date", EMPTY
    )
    assert canonical == IAM_CANONICAL_REQUEST
    assert hashlib.sha256(canonical.encode()).hexdigest() == IAM_CANONICAL_REQUEST_SHA256
    key = sigv4.signing_key(SECRET.encode(), "20150830", "us-east-1", "iam")
    assert key.hex() == IAM_SIGNING_KEY
    to_sign = sigv4.string_to_sign(AMZ_DATE, "20150830/us-east-1/iam/aws4_request", canonical)
    assert to_sign == (
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
        + IAM_CANONICAL_REQUEST_SHA256
    )
    assert sigv4.signature(key, to_sign) == IAM_SIGNATURE


def test_the_iam_list_users_example_with_the_test_signer() -> None:
    assert derive_key(SECRET, "20150830", "us-east-1", "iam").hex() == IAM_SIGNING_KEY
    signed = sign(
        method="GET",
        path="/",
        params=[("Version", "2010-05-08"), ("Action", "ListUsers")],
        headers=IAM_HEADERS,
        body=b"",
        access_key_id="AKIDEXAMPLE",
        secret=SECRET,
        region="us-east-1",
        service="iam",
        amz_date=AMZ_DATE,
    )
    assert signed.canonical_request == IAM_CANONICAL_REQUEST
    assert signed.signature == IAM_SIGNATURE


def test_the_get_vanilla_case_of_the_aws_test_suite() -> None:
    headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", AMZ_DATE)]
    canonical = sigv4.canonical_request("GET", "/", "", headers, "host;x-amz-date", EMPTY)
    key = sigv4.signing_key(SECRET.encode(), "20150830", "us-east-1", "service")
    to_sign = sigv4.string_to_sign(AMZ_DATE, "20150830/us-east-1/service/aws4_request", canonical)
    assert sigv4.signature(key, to_sign) == GET_VANILLA_SIGNATURE
    signed = sign(
        method="GET",
        path="/",
        headers=headers,
        body=b"",
        access_key_id="AKIDEXAMPLE",
        secret=SECRET,
        region="us-east-1",
        service="service",
        amz_date=AMZ_DATE,
    )
    assert signed.signature == GET_VANILLA_SIGNATURE
    assert signed.authorization == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={GET_VANILLA_SIGNATURE}"
    )


def test_paths_are_normalised_and_encoded_twice() -> None:
    assert sigv4.canonical_uri("/") == "/"
    assert sigv4.canonical_uri("") == "/"
    assert sigv4.canonical_uri("/foo%20bar/baz") == "/foo%2520bar/baz"
    assert sigv4.canonical_uri("/a/./b/../c//d/") == "/a/c/d/"
    assert sigv4.canonical_uri("/~user") == "/~user"


def test_query_strings_are_sorted_and_encoded() -> None:
    assert sigv4.canonical_query_string("") == ""
    assert sigv4.canonical_query_string("b=2&a=1&a=0") == "a=0&a=1&b=2"
    assert sigv4.canonical_query_string("k=a b") == "k=a%20b"
    assert sigv4.canonical_query_string("k=a%2fb") == "k=a%2Fb"
    assert sigv4.canonical_query_string("flag") == "flag="
