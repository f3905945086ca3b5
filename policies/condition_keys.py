"""What the package knows about condition keys: shape, names, multi-valued keys, forbidden keys.

Condition key names are case-insensitive everywhere, including the parameter after
``kms:EncryptionContext:`` or ``aws:PrincipalTag/``; the evaluator compares their
lower-cased forms.

Names. In the ``aws:`` and ``kms:`` namespaces a key is *known* when AWS documents it
(the global condition keys of the IAM User Guide and the AWS KMS condition keys) or
Trent supplies it; any other name there is a misspelling, which would match nothing
(so a ``Deny`` using it would never apply), and the parser refuses it. A known key
that Trent never *supplies* is absent from every request; the lint says so. Keys of
other namespaces (``s3:prefix``, ``ec2:...``) are not checked: Trent supplies none,
and their vocabularies are not Trent's to know.
"""

from __future__ import annotations

import difflib
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


#: The namespaces whose vocabulary is known (and checked).
CHECKED_VENDORS = ("aws", "kms")

#: Documented global condition keys (IAM User Guide, "AWS global condition context keys").
DOCUMENTED_GLOBAL_KEYS = frozenset(
    {
        "aws:assumedroot",
        "aws:calledvia",
        "aws:calledviafirst",
        "aws:calledvialast",
        "aws:chatbotsourcearn",
        "aws:currenttime",
        "aws:ec2instancesourceprivateipv4",
        "aws:ec2instancesourcevpc",
        "aws:epochtime",
        "aws:federatedprovider",
        "aws:multifactorauthage",
        "aws:multifactorauthpresent",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalisawsservice",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalservicename",
        "aws:principalservicenameslist",
        "aws:principaltype",
        "aws:referer",
        "aws:requestedregion",
        "aws:resourceaccount",
        "aws:resourceorgid",
        "aws:resourceorgpaths",
        "aws:securetransport",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceidentity",
        "aws:sourceip",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpcarn",
        "aws:sourcevpce",
        "aws:tagkeys",
        "aws:tokenissuetime",
        "aws:useragent",
        "aws:userid",
        "aws:username",
        "aws:viaawsservice",
        "aws:vpceaccount",
        "aws:vpceorgid",
        "aws:vpceorgpaths",
        "aws:vpcsourceip",
    }
)

#: Documented AWS KMS condition keys (the kms: table of the reference, §8).
DOCUMENTED_KMS_KEYS = frozenset(
    {
        "kms:bypasspolicylockoutsafetycheck",
        "kms:calleraccount",
        "kms:customermasterkeyspec",
        "kms:customermasterkeyusage",
        "kms:datakeypairspec",
        "kms:encryptionalgorithm",
        "kms:encryptioncontextkeys",
        "kms:expirationmodel",
        "kms:grantconstrainttype",
        "kms:granteeprincipal",
        "kms:grantisforawsresource",
        "kms:grantoperations",
        "kms:keyagreementalgorithm",
        "kms:keyorigin",
        "kms:keyspec",
        "kms:keyusage",
        "kms:macalgorithm",
        "kms:messagetype",
        "kms:multiregion",
        "kms:multiregionkeytype",
        "kms:primaryregion",
        "kms:recipientattestation:imagesha384",
        "kms:reencryptonsamekey",
        "kms:replicaregion",
        "kms:requestalias",
        "kms:resourcealiases",
        "kms:retiringprincipal",
        "kms:rotationperiodindays",
        "kms:schedulekeydeletionpendingwindowindays",
        "kms:signingalgorithm",
        "kms:validto",
        "kms:viaservice",
        "kms:wrappingalgorithm",
        "kms:wrappingkeyspec",
    }
)

#: Documented keys that take a parameter (a tag key, a context key): any non-empty one.
DOCUMENTED_PREFIXES = (
    "aws:principaltag/",
    "aws:requesttag/",
    "aws:resourcetag/",
    "kms:encryptioncontext:",
)
_RECIPIENT_PCR = re.compile(r"kms:recipientattestation:pcr[0-9]{1,2}")

#: The keys the service puts in a request's context (``app/operations/access.py``, the
#: operations' own keys) or that :class:`policies.request.Request` derives from the
#: caller. ``docs/policies.md`` lists them; a test keeps the three in step.
SUPPLIED_KEYS = frozenset(
    {
        "aws:currenttime",
        "aws:epochtime",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principaltype",
        "aws:securetransport",
        "aws:sourceip",
        "aws:tagkeys",
        "aws:username",
        "kms:bypasspolicylockoutsafetycheck",
        "kms:calleraccount",
        "kms:encryptionalgorithm",
        "kms:encryptioncontextkeys",
        "kms:grantconstrainttype",
        "kms:granteeprincipal",
        "kms:grantisforawsresource",
        "kms:grantoperations",
        "kms:keyorigin",
        "kms:keyspec",
        "kms:keyusage",
        "kms:multiregion",
        "kms:reencryptonsamekey",
        "kms:requestalias",
        "kms:retiringprincipal",
        "kms:rotationperiodindays",
        "kms:schedulekeydeletionpendingwindowindays",
        "kms:signingalgorithm",
        "kms:messagetype",
        "kms:macalgorithm",
        "kms:datakeypairspec",
        "kms:expirationmodel",
        "kms:validto",
        "kms:wrappingalgorithm",
        "kms:wrappingkeyspec",
    }
)
SUPPLIED_PREFIXES = DOCUMENTED_PREFIXES


def is_checked(key_lower: str) -> bool:
    """Whether the key's namespace has a known vocabulary (``aws:``, ``kms:``)."""
    return key_lower.partition(":")[0] in CHECKED_VENDORS


def _has_parameter(key_lower: str, prefixes: tuple[str, ...]) -> bool:
    return any(key_lower.startswith(prefix) and len(key_lower) > len(prefix) for prefix in prefixes)


def is_documented(key_lower: str) -> bool:
    return (
        key_lower in DOCUMENTED_GLOBAL_KEYS
        or key_lower in DOCUMENTED_KMS_KEYS
        or _has_parameter(key_lower, DOCUMENTED_PREFIXES)
        or _RECIPIENT_PCR.fullmatch(key_lower) is not None
    )


def is_supplied(key_lower: str) -> bool:
    """Whether Trent ever puts this key in a request's context."""
    return key_lower in SUPPLIED_KEYS or _has_parameter(key_lower, SUPPLIED_PREFIXES)


def is_known(key_lower: str) -> bool:
    """False only for a key of a checked namespace that nothing documents or supplies."""
    return not is_checked(key_lower) or is_documented(key_lower) or is_supplied(key_lower)


_SUGGESTIONS = sorted(
    {*DOCUMENTED_GLOBAL_KEYS, *DOCUMENTED_KMS_KEYS, *SUPPLIED_KEYS, *DOCUMENTED_PREFIXES}
)
_SPELLING = {
    key.lower(): key
    for key in (
        "aws:PrincipalTag/",
        "aws:RequestTag/",
        "aws:ResourceTag/",
        "kms:EncryptionContext:",
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalType",
        "aws:SourceIp",
        "aws:SecureTransport",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:TagKeys",
        "kms:CallerAccount",
        "kms:EncryptionAlgorithm",
        "kms:EncryptionContextKeys",
        "kms:KeyOrigin",
        "kms:KeySpec",
        "kms:KeyUsage",
        "kms:MultiRegion",
        "kms:ReEncryptOnSameKey",
        "kms:RequestAlias",
        "kms:RotationPeriodInDays",
        "kms:ScheduleKeyDeletionPendingWindowInDays",
        "kms:BypassPolicyLockoutSafetyCheck",
        "kms:ViaService",
        "kms:GrantOperations",
        "kms:GranteePrincipal",
        "kms:GrantIsForAWSResource",
        "kms:SigningAlgorithm",
        "kms:MessageType",
        "kms:MacAlgorithm",
        "kms:DataKeyPairSpec",
        "kms:ExpirationModel",
        "kms:ValidTo",
        "kms:WrappingAlgorithm",
        "kms:WrappingKeySpec",
    )
}


def suggestion(key_lower: str) -> str | None:
    """The known key (or key prefix) closest to a misspelt one, if one is close."""
    probes = [key_lower]
    for separator in ("/", ":"):
        head, found, _ = key_lower.rpartition(separator)
        if found and head.count(":") >= 1 and head != key_lower:
            probes.append(head + separator)
    for probe in probes:
        close = difflib.get_close_matches(probe, _SUGGESTIONS, n=1, cutoff=0.85)
        if close:
            return _SPELLING.get(close[0], close[0])
    return None
