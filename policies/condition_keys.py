"""What the package knows about condition keys: shape, multi-valued keys, forbidden keys.

Condition key names are case-insensitive everywhere, including the parameter after
``kms:EncryptionContext:`` or ``aws:PrincipalTag/``; the evaluator compares their
lower-cased forms.
"""

from __future__ import annotations

import re

_KEY_SHAPE = re.compile(r"[A-Za-z0-9.-]+:[^\s:][^\t\n\r]*")

#: Keys that carry a set of values and need ``ForAllValues``/``ForAnyValue``.
MULTI_VALUED_KEYS = frozenset(
    {
        "aws:tagkeys",
        "aws:calledvia",
        "aws:principalorgpaths",
        "aws:principalservicenameslist",
        "kms:encryptioncontextkeys",
        "kms:grantoperations",
        "kms:resourcealiases",
    }
)

#: Single-valued keys. Set operators on them are legal but misleading (lint).
SINGLE_VALUED_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principaltype",
        "aws:userid",
        "aws:username",
        "aws:sourceip",
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:securetransport",
        "aws:currenttime",
        "aws:epochtime",
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "aws:tokenissuetime",
        "aws:viaawsservice",
        "kms:bypasspolicylockoutsafetycheck",
        "kms:calleraccount",
        "kms:customermasterkeyspec",
        "kms:customermasterkeyusage",
        "kms:datakeypairspec",
        "kms:encryptionalgorithm",
        "kms:expirationmodel",
        "kms:grantconstrainttype",
        "kms:grantisforawsresource",
        "kms:granteeprincipal",
        "kms:retiringprincipal",
        "kms:keyagreementalgorithm",
        "kms:keyorigin",
        "kms:keyspec",
        "kms:keyusage",
        "kms:macalgorithm",
        "kms:messagetype",
        "kms:multiregion",
        "kms:multiregionkeytype",
        "kms:reencryptonsamekey",
        "kms:requestalias",
        "kms:rotationperiodindays",
        "kms:schedulekeydeletionpendingwindowindays",
        "kms:signingalgorithm",
        "kms:validto",
        "kms:viaservice",
        "kms:wrappingalgorithm",
        "kms:wrappingkeyspec",
    }
)

#: Parametrised single-valued keys, by lower-case prefix.
SINGLE_VALUED_PREFIXES = (
    "kms:encryptioncontext:",
    "aws:requesttag/",
    "aws:principaltag/",
    "aws:resourcetag/",
    "kms:resourcetag/",
)

#: ``ForAllValues`` on these is refused: it matches requests that lack the key.
OVERLY_PERMISSIVE_FOR_ALL_VALUES = {
    "kms:encryptioncontext:": "encryption context",
    "aws:requesttag/": "request tags",
}

#: Keys KMS refuses in a key policy (they describe the key the policy is on).
KEY_POLICY_FORBIDDEN_PREFIXES = ("aws:resourcetag/", "kms:resourcetag/")
KEY_POLICY_FORBIDDEN_KEYS = frozenset({"kms:resourcealiases"})
KEY_POLICY_FORBIDDEN_MESSAGE = (
    "These condition keys are not permitted in a key policy: "
    "aws:ResourceTag, kms:ResourceTag, kms:ResourceAliases"
)


def is_well_formed(key: str) -> bool:
    """``vendor:name`` with a vendor of ``[A-Za-z0-9.-]`` and a non-empty name."""
    return _KEY_SHAPE.fullmatch(key) is not None


def is_multi_valued(key_lower: str) -> bool:
    return key_lower in MULTI_VALUED_KEYS


def is_single_valued(key_lower: str) -> bool:
    return key_lower in SINGLE_VALUED_KEYS or key_lower.startswith(SINGLE_VALUED_PREFIXES)


def is_forbidden_in_key_policy(key_lower: str) -> bool:
    return key_lower in KEY_POLICY_FORBIDDEN_KEYS or key_lower.startswith(
        KEY_POLICY_FORBIDDEN_PREFIXES
    )


def overly_permissive_subject(key_lower: str) -> str | None:
    """What ``ForAllValues`` on this key would wrongly let through, if it is refused."""
    for prefix, subject in OVERLY_PERMISSIVE_FOR_ALL_VALUES.items():
        if key_lower.startswith(prefix):
            return subject
    return None
