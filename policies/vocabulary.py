"""Which action and condition-key names a policy may use.

A name that nothing supplies matches nothing: an ``Allow`` using it grants nothing,
and a ``Deny`` using it never applies, which fails open. So, when the parser is
strict (every new document; see ``parse_policy``):

* a ``kms:`` action pattern must match at least one documented KMS action
  (``kms:Encrypt*`` does, ``kms:Encryptt`` and ``kms:Foo*`` do not); a ``trent:``
  pattern must match one of Trent's own actions. Action names are case-insensitive.
* a key policy may name only ``kms:`` actions (or ``"*"``): it governs one KMS key,
  so an action of another service can never apply, and a misspelt vendor
  (``ksm:Encrypt``) would otherwise make a ``Deny`` silently inert. (The reference
  does not say what AWS's PutKeyPolicy does with them; Trent refuses them.)
  Identity policies may name other services' actions (``iam:`` is how identity
  policies are managed); only ``kms:`` and ``trent:`` are checked there.
* a condition key (or a ``${...}`` variable) in the ``aws:`` or ``kms:`` namespace must
  be documented by AWS or supplied by Trent (:mod:`policies.condition_keys`).
  Parametrised keys (``aws:PrincipalTag/<tag>``, ``kms:EncryptionContext:<key>``)
  take any non-empty parameter. Keys of other namespaces are not checked.
"""

from __future__ import annotations

from policies import condition_keys
from policies.actions import ALL_ACTIONS
from policies.matching import Glob

#: Vendors whose every action is known: KMS's documented ones and Trent's own.
CHECKED_ACTION_VENDORS = ("kms", "trent")
KEY_POLICY_VENDOR = "kms"

_ACTIONS_BY_VENDOR: dict[str, tuple[str, ...]] = {
    vendor: tuple(
        action.lower().partition(":")[2]
        for action in ALL_ACTIONS
        if action.lower().partition(":")[0] == vendor
    )
    for vendor in CHECKED_ACTION_VENDORS
}


def action_names_nothing(vendor: str, name: Glob) -> bool:
    """True if ``vendor:name`` is a checked vendor's pattern that matches none of its actions."""
    known = _ACTIONS_BY_VENDOR.get(vendor)
    if known is None:
        return False
    return not any(name.matches(candidate) for candidate in known)


def unknown_action_message(text: str) -> str:
    vendor = text.partition(":")[0].lower()
    what = "KMS action" if vendor == "kms" else "Trent action"
    message = f"Action {text!r} matches no {what}"
    if text.lower() == "kms:reencrypt":
        return f"{message}: ReEncrypt is authorized as kms:ReEncryptFrom and kms:ReEncryptTo."
    return f"{message}; check its spelling."


def foreign_action_message(text: str) -> str:
    return (
        f"Action {text!r} is not a KMS action: a key policy governs one KMS key and may "
        'name only kms: actions (or "*").'
    )


def unknown_condition_key_message(key: str) -> str:
    message = (
        f"Condition key {key!r} is neither a documented AWS or AWS KMS condition key nor "
        "one Trent supplies, so it would never be present"
    )
    close = condition_keys.suggestion(key.lower())
    if close is not None:
        return f"{message} (did you mean {close}?)."
    return f"{message}."
