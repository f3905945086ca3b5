"""SigV4 verification: a valid request yields its principal; every way of
being wrong yields AWS's error code (and never echoes the secret or the
signature)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from app.auth.access_keys import SecretAccessKey
from app.auth.sigv4 import (
    INCOMPLETE_SIGNATURE,
    INVALID_SIGNATURE,
    MISMATCH_MESSAGE,
    MISSING_AUTHENTICATION_TOKEN,
    UNRECOGNIZED_CLIENT,
    SignedRequest,
    SigV4Error,
    SigV4Verifier,
)
from app.auth.sigv4.authorization import parse_authorization
from app.auth.sigv4.signing import signing_key
from app.config import Settings
from tests.unit.sigv4.conftest import (
    ACCESS_KEY_ID,
    ACCOUNT,
    BODY,
    HOST,
    NOW,
    REGION,
    SECRET,
    Build,
    Keys,
    amz_date,
    body_sha256,
    kms_headers,
)


def refused(verifier: SigV4Verifier, request: SignedRequest, code: str) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        verifier.verify(request)
    error = caught.value
    assert error.code == code, (error.code, error.reason)
    assert error.status == 400
    # Nothing a caller or a log reader sees carries the secret or a signature.
    authorization = dict((n.lower(), v) for n, v in request.headers).get("authorization", "")
    signature = authorization.rpartition("Signature=")[2]
    for text in (error.message, error.reason, str(error), repr(error)):
        assert SECRET not in text
        if len(signature) >= 16:
            assert signature not in text
    return error


def replace_header(
    request: SignedRequest, name: str, value: str | None, *, append: bool = False
) -> SignedRequest:
    """``request`` with header ``name`` set to ``value`` (removed if ``None``),
    after signing."""
    headers = [(n, v) for n, v in request.headers if append or n.lower() != name.lower()]
    if value is not None:
        headers.append((name, value))
    return dataclasses.replace(request, headers=tuple(headers))


def set_authorization(request: SignedRequest, value: str) -> SignedRequest:
    return replace_header(request, "Authorization", value)


# --- The good case --------------------------------------------------------


def test_a_valid_request_yields_the_key_owner(
    verifier: SigV4Verifier, build: Build, keys: Keys
) -> None:
    request, _ = build()
    principal = verifier.verify(request)
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert principal.account == ACCOUNT
    assert dict(principal.tags) == {"team": "payments"}
    assert principal.auth_method == "sigv4"
    assert principal.token_id == ACCESS_KEY_ID
    assert keys.calls == [ACCESS_KEY_ID]
    assert keys.verified == [ACCESS_KEY_ID]


def test_botocore_spacing_and_other_part_orders_are_accepted(
    verifier: SigV4Verifier, build: Build
) -> None:
    request, signed = build()
    credential = f"{ACCESS_KEY_ID}/{amz_date(NOW)[:8]}/{REGION}/kms/aws4_request"
    for value in (
        f"AWS4-HMAC-SHA256 Credential={credential},SignedHeaders={signed.signed_headers},"
        f"Signature={signed.signature}",
        f"AWS4-HMAC-SHA256 Signature={signed.signature}, Credential={credential}, "
        f"SignedHeaders={signed.signed_headers}",
        f"AWS4-HMAC-SHA256  Credential={credential} ,  SignedHeaders={signed.signed_headers}"
        f", Signature={signed.signature}",
    ):
        assert verifier.verify(set_authorization(request, value)).token_id == ACCESS_KEY_ID


def test_the_clock_window_is_five_minutes_inclusive(verifier: SigV4Verifier, build: Build) -> None:
    for epoch in (NOW - 300, NOW + 300):
        request, _ = build(epoch=epoch)
        assert verifier.verify(request).token_id == ACCESS_KEY_ID


def test_an_extra_unsigned_header_is_fine(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    request = replace_header(request, "User-Agent", "something else entirely")
    request = replace_header(request, "X-Forwarded-For", "10.0.0.1", append=True)
    assert verifier.verify(request).token_id == ACCESS_KEY_ID


def test_repeated_headers_are_joined_with_commas(verifier: SigV4Verifier, build: Build) -> None:
    headers = [*kms_headers(), ("X-Amz-Meta-Tag", "first"), ("X-Amz-Meta-Tag", "second")]
    request, signed = build(headers=headers)
    assert "x-amz-meta-tag:first,second\n" in signed.canonical_request
    assert verifier.verify(request).token_id == ACCESS_KEY_ID
    # The order of repeated values is part of what was signed.
    swapped = [(n, v) for n, v in request.headers if n != "X-Amz-Meta-Tag"]
    swapped += [("X-Amz-Meta-Tag", "second"), ("X-Amz-Meta-Tag", "first")]
    error = refused(
        verifier, dataclasses.replace(request, headers=tuple(swapped)), INVALID_SIGNATURE
    )
    assert error.message == MISMATCH_MESSAGE


def test_header_whitespace_is_trimmed_and_collapsed(verifier: SigV4Verifier, build: Build) -> None:
    headers = [*kms_headers(), ("X-Amz-Meta-Note", "  several   spaces\t and  tabs  ")]
    request, signed = build(headers=headers)
    assert "x-amz-meta-note:several spaces and tabs\n" in signed.canonical_request
    assert verifier.verify(request).token_id == ACCESS_KEY_ID
    # The server normalises too: a value re-spaced in transit still verifies.
    respaced = replace_header(request, "X-Amz-Meta-Note", "several spaces and tabs")
    assert verifier.verify(respaced).token_id == ACCESS_KEY_ID


def test_header_names_are_case_insensitive(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    lowered = tuple((n.lower(), v) for n, v in request.headers)
    assert verifier.verify(dataclasses.replace(request, headers=lowered)).token_id == ACCESS_KEY_ID


def test_the_date_header_is_used_when_x_amz_date_is_absent(
    verifier: SigV4Verifier, build: Build
) -> None:
    headers = [(n, v) for n, v in kms_headers() if n != "X-Amz-Date"]
    http_date = datetime.fromtimestamp(NOW, tz=UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers.append(("Date", http_date))
    request, _ = build(headers=headers)
    assert verifier.verify(request).token_id == ACCESS_KEY_ID


def test_a_signed_content_sha256_that_matches_is_fine(
    verifier: SigV4Verifier, build: Build
) -> None:
    headers = [*kms_headers(), ("X-Amz-Content-SHA256", body_sha256(BODY))]
    request, _ = build(headers=headers)
    assert verifier.verify(request).token_id == ACCESS_KEY_ID


def test_paths_and_query_strings_are_canonicalised(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build(
        path="/some path/x",
        wire_path="/some%20path/x",
        params=[("b", "2"), ("a", "x y")],
        raw_query="b=2&a=x%20y",
    )
    assert verifier.verify(request).token_id == ACCESS_KEY_ID


def test_an_empty_body_is_signed_as_the_hash_of_nothing(
    verifier: SigV4Verifier, build: Build
) -> None:
    request, signed = build(body=b"")
    assert signed.canonical_request.endswith(body_sha256(b""))
    assert verifier.verify(request).token_id == ACCESS_KEY_ID


# --- Missing and malformed Authorization ----------------------------------


def test_no_authorization_header_is_a_missing_token(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    error = refused(
        verifier, replace_header(request, "Authorization", None), MISSING_AUTHENTICATION_TOKEN
    )
    assert error.message == "Missing Authentication Token"


def test_two_authorization_headers_are_refused(verifier: SigV4Verifier, build: Build) -> None:
    request, signed = build()
    request = replace_header(request, "Authorization", signed.authorization, append=True)
    refused(verifier, request, INCOMPLETE_SIGNATURE)


@pytest.mark.parametrize(
    "algorithm",
    ["AWS4-HMAC-SHA512", "AWS4-ECDSA-P256-SHA256", "aws4-hmac-sha256", "AWS", "Bearer", ""],
)
def test_other_algorithms_are_refused(
    verifier: SigV4Verifier, build: Build, keys: Keys, algorithm: str
) -> None:
    request, signed = build()
    value = signed.authorization.replace("AWS4-HMAC-SHA256", algorithm, 1)
    refused(verifier, set_authorization(request, value), INCOMPLETE_SIGNATURE)
    assert keys.calls == []


def test_a_sigv2_header_is_refused(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    refused(
        verifier,
        set_authorization(request, f"AWS {ACCESS_KEY_ID}:c2lnbmF0dXJl"),
        INCOMPLETE_SIGNATURE,
    )


def _without(part: str) -> Callable[[str], str]:
    def edit(authorization: str) -> str:
        algorithm, _, rest = authorization.partition(" ")
        kept = [p for p in rest.split(", ") if not p.startswith(part + "=")]
        return f"{algorithm} {', '.join(kept)}"

    return edit


MALFORMED: dict[str, Callable[[str], str]] = {
    "no credential": _without("Credential"),
    "no signed headers": _without("SignedHeaders"),
    "no signature": _without("Signature"),
    "nothing after the algorithm": lambda a: "AWS4-HMAC-SHA256",
    "algorithm and a space": lambda a: "AWS4-HMAC-SHA256 ",
    "empty signature": lambda a: a.rpartition("Signature=")[0] + "Signature=",
    "short signature": lambda a: a[:-1],
    "upper-case signature": lambda a: (
        a.rpartition("Signature=")[0] + "Signature=" + a.rpartition("Signature=")[2].upper()
    ),
    "non-hex signature": lambda a: a[:-1] + "g",
    "repeated part": lambda a: a + ", Signature=" + "0" * 64,
    "unknown part": lambda a: a + ", Extra=1",
    "part without a value": lambda a: a.replace("SignedHeaders=", "SignedHeaders"),
    "credential with four elements": lambda a: a.replace("/aws4_request", ""),
    "credential with six elements": lambda a: a.replace("/aws4_request", "/aws4_request/x"),
    "credential with an empty element": lambda a: a.replace(f"/{REGION}/", "//"),
    "malformed scope date": lambda a: a.replace(f"/{amz_date(NOW)[:8]}/", "/2027-01-15/"),
    "signed headers in upper case": lambda a: a.replace(
        "SignedHeaders=content", "SignedHeaders=Content"
    ),
    "signed headers with an empty name": lambda a: a.replace("SignedHeaders=", "SignedHeaders=;"),
    "signed headers with a repeat": lambda a: a.replace("SignedHeaders=", "SignedHeaders=host;"),
    "too long": lambda a: a + " " * 5000,
}


@pytest.mark.parametrize("edit", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_authorization_header_is_incomplete(
    verifier: SigV4Verifier, build: Build, keys: Keys, edit: Callable[[str], str]
) -> None:
    request, signed = build()
    refused(verifier, set_authorization(request, edit(signed.authorization)), INCOMPLETE_SIGNATURE)
    assert keys.calls == []


def test_an_unsigned_host_is_incomplete(verifier: SigV4Verifier, build: Build, keys: Keys) -> None:
    names = ["content-length", "content-type", "x-amz-date", "x-amz-target"]
    request, _ = build(signed_names=names)
    error = refused(verifier, request, INCOMPLETE_SIGNATURE)
    assert "'Host'" in error.message
    assert keys.calls == []


# --- Time and scope -------------------------------------------------------


def test_an_expired_request_names_the_times_like_aws(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build(epoch=NOW - 301)
    error = refused(verifier, request, INVALID_SIGNATURE)
    assert error.message == (
        f"Signature expired: {amz_date(NOW - 301)} is now earlier than "
        f"{amz_date(NOW - 300)} ({amz_date(NOW)} - 5 min.)"
    )


def test_a_request_from_the_future_is_not_yet_current(
    verifier: SigV4Verifier, build: Build
) -> None:
    request, _ = build(epoch=NOW + 301)
    error = refused(verifier, request, INVALID_SIGNATURE)
    assert error.message == (
        f"Signature not yet current: {amz_date(NOW + 301)} is still later than "
        f"{amz_date(NOW + 300)} ({amz_date(NOW)} + 5 min.)"
    )


def test_a_scope_date_other_than_the_request_date_is_invalid(
    verifier: SigV4Verifier, build: Build
) -> None:
    other_day = amz_date(NOW - 86400)[:8]
    request, _ = build(scope_date=other_day)
    error = refused(verifier, request, INVALID_SIGNATURE)
    assert error.message.startswith("Date in Credential scope does not match YYYYMMDD")
    assert f"'{other_day}' != '{amz_date(NOW)[:8]}'" in error.message


def test_a_request_near_midnight_uses_its_own_date(
    settings: Settings, keys: Keys, build: Build
) -> None:
    midnight = 1_800_057_600  # 2027-01-16T00:00:00Z
    verifier = SigV4Verifier(settings, keys.lookup, clock=lambda: midnight + 120)
    request, _ = build(epoch=midnight - 60)
    assert verifier.verify(request).token_id == ACCESS_KEY_ID


def test_another_region_is_invalid(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build(region="us-east-1")
    error = refused(verifier, request, INVALID_SIGNATURE)
    assert error.message == "Credential should be scoped to a valid region."


def test_another_service_is_invalid(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build(service="s3")
    error = refused(verifier, request, INVALID_SIGNATURE)
    assert error.message == "Credential should be scoped to correct service: 'kms'."


def test_another_terminator_is_invalid(verifier: SigV4Verifier, build: Build) -> None:
    request, signed = build()
    value = signed.authorization.replace("/aws4_request", "/aws5_request")
    refused(verifier, set_authorization(request, value), INVALID_SIGNATURE)


@pytest.mark.parametrize(
    "value",
    [
        "20270115T080000",
        "2027-01-15T08:00:00Z",
        "20270115T250000Z",
        "20270230T080000Z",
        "1800000000",
    ],
)
def test_a_malformed_x_amz_date_is_incomplete(
    verifier: SigV4Verifier, build: Build, value: str
) -> None:
    request, _ = build()
    refused(verifier, replace_header(request, "X-Amz-Date", value), INCOMPLETE_SIGNATURE)


def test_no_date_at_all_is_incomplete(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    refused(verifier, replace_header(request, "X-Amz-Date", None), INCOMPLETE_SIGNATURE)


def test_a_date_header_with_the_wrong_weekday_is_incomplete(
    verifier: SigV4Verifier, build: Build
) -> None:
    request, _ = build()
    request = replace_header(request, "X-Amz-Date", None)
    real = datetime.fromtimestamp(NOW, tz=UTC)
    wrong_day = ("Mon", "Tue")[real.weekday() == 0]
    refused(
        verifier,
        replace_header(request, "Date", real.strftime(f"{wrong_day}, %d %b %Y %H:%M:%S GMT")),
        INCOMPLETE_SIGNATURE,
    )


def test_two_x_amz_date_headers_are_incomplete(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    refused(
        verifier,
        replace_header(request, "X-Amz-Date", amz_date(NOW), append=True),
        INCOMPLETE_SIGNATURE,
    )


# --- Keys -----------------------------------------------------------------


def test_a_wrong_secret_is_a_signature_mismatch(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build(secret="x" * 40)
    error = refused(verifier, request, INVALID_SIGNATURE)
    assert error.message == MISMATCH_MESSAGE


def test_a_credential_seen_before_still_needs_its_own_signature(
    verifier: SigV4Verifier, build: Build
) -> None:
    # The Credential and SignedHeaders parts are remembered once checked; the
    # signature never is: the same parts with another secret's signature fail.
    good, _ = build()
    assert verifier.verify(good).name == "alice"
    forged, _ = build(secret="x" * 40)
    good_auth = parse_authorization(dict(good.headers)["Authorization"])
    forged_auth = parse_authorization(dict(forged.headers)["Authorization"])
    assert (good_auth.access_key_id, good_auth.scope, good_auth.signed_headers) == (
        forged_auth.access_key_id,
        forged_auth.scope,
        forged_auth.signed_headers,
    )
    refused(verifier, forged, INVALID_SIGNATURE)
    assert verifier.verify(good).name == "alice"


def test_a_malformed_credential_is_refused_every_time(verifier: SigV4Verifier) -> None:
    # A refusal is never remembered as a parse.
    header = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2027/eu-west-3/kms/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )
    for _ in range(2):
        with pytest.raises(SigV4Error) as refused_twice:
            parse_authorization(header)
        assert refused_twice.value.code == INCOMPLETE_SIGNATURE


def test_an_unknown_key_id_is_an_unrecognized_client(
    verifier: SigV4Verifier, build: Build, keys: Keys
) -> None:
    request, _ = build(access_key_id="AKIAAAAAAAAAAAAAAAAA")
    error = refused(verifier, request, UNRECOGNIZED_CLIENT)
    assert error.message == "The security token included in the request is invalid."
    assert keys.calls == ["AKIAAAAAAAAAAAAAAAAA"]
    assert keys.verified == []


def test_a_malformed_key_id_is_refused_without_a_lookup(
    verifier: SigV4Verifier, build: Build, keys: Keys
) -> None:
    request, _ = build(access_key_id="akia-not-an-id")
    refused(verifier, request, UNRECOGNIZED_CLIENT)
    assert keys.calls == []


def test_a_deleted_key_stops_working_at_once(
    verifier: SigV4Verifier, build: Build, keys: Keys
) -> None:
    request, _ = build()
    assert verifier.verify(request).token_id == ACCESS_KEY_ID
    del keys.table[ACCESS_KEY_ID]
    refused(verifier, request, UNRECOGNIZED_CLIENT)


def test_a_changed_secret_is_verified_with_its_own_signing_key(
    verifier: SigV4Verifier, build: Build, keys: Keys
) -> None:
    # The signing key of the day is kept between requests: only while the
    # key's secret is the one it was derived from.
    request, _ = build()
    assert verifier.verify(request).token_id == ACCESS_KEY_ID
    new_secret = "n" * 40
    keys.table[ACCESS_KEY_ID] = dataclasses.replace(
        keys.table[ACCESS_KEY_ID], secret=SecretAccessKey(new_secret.encode())
    )
    refused(verifier, request, INVALID_SIGNATURE)
    renewed, _ = build(secret=new_secret)
    assert verifier.verify(renewed).token_id == ACCESS_KEY_ID
    keys.table[ACCESS_KEY_ID] = dataclasses.replace(
        keys.table[ACCESS_KEY_ID], secret=SecretAccessKey(SECRET.encode())
    )
    refused(verifier, renewed, INVALID_SIGNATURE)
    assert verifier.verify(request).token_id == ACCESS_KEY_ID


def test_the_signing_keys_kept_are_bounded_and_not_shown(
    verifier: SigV4Verifier, build: Build, keys: Keys
) -> None:
    request, _ = build()
    verifier.verify(request)
    kept = verifier._signing_keys
    assert SECRET not in repr(kept)
    credential = keys.table[ACCESS_KEY_ID]
    auth = parse_authorization(dict(request.headers)["Authorization"])
    for n in range(kept.MAX_ENTRIES + 5):
        other = dataclasses.replace(credential, access_key_id=f"AKIA{n:016d}")
        assert kept.get(other, auth) == signing_key(
            SECRET.encode(), auth.date_stamp, auth.region, auth.service
        )
        assert len(kept._entries) <= kept.MAX_ENTRIES
    for day in ("20260101", "20260102"):
        dated = dataclasses.replace(auth, date_stamp=day)
        assert kept.get(credential, dated) == signing_key(
            SECRET.encode(), day, auth.region, auth.service
        )


def test_a_key_the_lookup_no_longer_knows_is_forgotten(
    verifier: SigV4Verifier, build: Build, keys: Keys
) -> None:
    request, _ = build()
    verifier.verify(request)
    assert ACCESS_KEY_ID in verifier._signing_keys._entries
    del keys.table[ACCESS_KEY_ID]
    refused(verifier, request, UNRECOGNIZED_CLIENT)
    assert ACCESS_KEY_ID not in verifier._signing_keys._entries


def test_a_session_token_is_refused(verifier: SigV4Verifier, build: Build) -> None:
    headers = [*kms_headers(), ("X-Amz-Security-Token", "FwoGZXIvYXdzEBYaDEXAMPLE")]
    request, _ = build(headers=headers)
    error = refused(verifier, request, UNRECOGNIZED_CLIENT)
    assert error.message == "The security token included in the request is invalid."


# --- Tampering ------------------------------------------------------------


def test_a_tampered_body_is_a_mismatch(verifier: SigV4Verifier, build: Build, keys: Keys) -> None:
    request, _ = build()
    tampered = dataclasses.replace(request, body=BODY.replace(b"payments", b"paymentz"))
    error = refused(verifier, tampered, INVALID_SIGNATURE)
    assert error.message == MISMATCH_MESSAGE
    assert keys.verified == []


def test_a_tampered_signed_header_is_a_mismatch(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    tampered = replace_header(request, "X-Amz-Target", "TrentService.ScheduleKeyDeletion")
    refused(verifier, tampered, INVALID_SIGNATURE)


def test_a_tampered_host_is_a_mismatch(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    refused(verifier, replace_header(request, "Host", "evil.example:8080"), INVALID_SIGNATURE)


def test_a_tampered_method_path_or_query_is_a_mismatch(
    verifier: SigV4Verifier, build: Build
) -> None:
    request, _ = build()
    for changed in (
        dataclasses.replace(request, method="PUT"),
        dataclasses.replace(request, path="/other"),
        dataclasses.replace(request, query="a=1"),
    ):
        refused(verifier, changed, INVALID_SIGNATURE)


def test_a_signed_header_missing_from_the_request_is_a_mismatch(
    verifier: SigV4Verifier, build: Build, keys: Keys
) -> None:
    request, _ = build()
    refused(verifier, replace_header(request, "X-Amz-Target", None), INVALID_SIGNATURE)
    assert keys.calls == []


def test_a_content_sha256_that_differs_from_the_body_is_invalid(
    verifier: SigV4Verifier, build: Build
) -> None:
    # The header is signed and the signature is right; the body is not what it claims.
    headers = [*kms_headers(), ("X-Amz-Content-SHA256", body_sha256(b"{}"))]
    request, _ = build(headers=headers)
    error = refused(verifier, request, INVALID_SIGNATURE)
    assert "x-amz-content-sha256" in error.message


@pytest.mark.parametrize(
    "value", ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "not-a-digest"]
)
def test_unsigned_and_streaming_payloads_are_refused(
    verifier: SigV4Verifier, build: Build, value: str
) -> None:
    headers = [*kms_headers(), ("X-Amz-Content-SHA256", value)]
    request, _ = build(headers=headers)
    refused(verifier, request, INVALID_SIGNATURE)


# --- Bounds ---------------------------------------------------------------


def test_too_many_headers_are_refused(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    many = request.headers + tuple((f"X-Pad-{i}", "x") for i in range(200))
    refused(verifier, dataclasses.replace(request, headers=many), INCOMPLETE_SIGNATURE)


def test_huge_headers_are_refused(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    refused(verifier, replace_header(request, "X-Pad", "x" * 70_000), INCOMPLETE_SIGNATURE)


def test_a_body_above_the_limit_is_refused_before_any_lookup(
    settings: Settings, build: Build, keys: Keys
) -> None:
    verifier = SigV4Verifier(settings, keys.lookup, clock=lambda: NOW, max_body_bytes=16)
    request, _ = build()
    refused(verifier, request, INCOMPLETE_SIGNATURE)
    assert keys.calls == []


def test_a_long_path_is_refused(verifier: SigV4Verifier, build: Build) -> None:
    request, _ = build()
    refused(verifier, dataclasses.replace(request, path="/" + "a" * 5000), INCOMPLETE_SIGNATURE)


def test_the_request_repr_hides_headers_and_body(build: Build) -> None:
    request, signed = build()
    assert signed.signature not in repr(request)
    assert "aGVsbG8" not in repr(request)
    assert HOST not in repr(request)


_CREDENTIAL = "Credential=AKIAIOSFODNN7EXAMPLE/20270101/eu-west-3/kms/aws4_request"
_SIGNATURE = "Signature=" + "ab" * 32


@pytest.mark.parametrize(
    "header",
    [
        f"AWS4-HMAC-SHA256 {_CREDENTIAL}, SignedHeaders=host;x-amz-date, {_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {_CREDENTIAL},SignedHeaders=host;x-amz-date,{_SIGNATURE}  ",
        f"  AWS4-HMAC-SHA256 {_CREDENTIAL}, SignedHeaders=host, {_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {_SIGNATURE}, {_CREDENTIAL}, SignedHeaders=host",
        f"AWS4-HMAC-SHA256 SignedHeaders=host, {_CREDENTIAL}, {_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {_CREDENTIAL}, SignedHeaders=host, {_SIGNATURE}, {_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {_CREDENTIAL}, SignedHeaders=host,, {_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {_CREDENTIAL}, SignedHeaders=x-amz-date, {_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {_CREDENTIAL}, SignedHeaders=host, Signature=" + "AB" * 32,
        f"AWS4-HMAC-SHA256 {_CREDENTIAL}, SignedHeaders=host, Signature=",
        f"AWS4-HMAC-SHA256 {_CREDENTIAL}, SignedHeaders=host, Extra=1, {_SIGNATURE}",
        f"AWS4-HMAC-SHA512 {_CREDENTIAL}, SignedHeaders=host, {_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {_CREDENTIAL}, {_SIGNATURE}",
        f"AWS4-HMAC-SHA256 {_CREDENTIAL}/x, SignedHeaders=host, {_SIGNATURE}",
    ],
)
def test_the_parse_remembered_up_to_the_signature_is_the_full_parse(header: str) -> None:
    """What precedes a trailing signature is parsed once per text; for every
    form, well formed or not, the result or the refusal is the full parse's."""
    from app.auth.sigv4.authorization import _parse

    def outcome(parse: Callable[[str], object]) -> object:
        try:
            return parse(header)
        except SigV4Error as refused:
            return (refused.code, refused.message)

    expected = outcome(_parse)
    assert outcome(parse_authorization) == expected
    assert outcome(parse_authorization) == expected  # and again, remembered
