"""The operation (event) names the audit log records, for validating filters.

A search for an operation the log can never hold would answer an empty list
that looks like "nothing happened"; a misspelt or wrongly cased name
(``decrypt``, ``Bogus``) is therefore refused with the valid names instead.
Names are matched without regard to case and turned into the log's own
spelling: no two names differ only in case, so ``decrypt`` can only mean
``Decrypt``, and the stored column holds that spelling (an exact, indexed
match).

The list is every KMS operation (the AWS door records the name a caller
sent when it is one of KMS's, supported or not), Trent's own REST
operations, the console's pages, the events the service writes by itself and the names the
front doors give to requests they could not route. A test checks that every
route of both doors is here.
"""

from __future__ import annotations

import difflib

from app.audit.log import AUTH_FAILURE_SUMMARY
from app.errors import ValidationError
from policies.actions import KMS_OPERATIONS

#: Trent's REST operations that KMS does not have.
TRENT_OPERATIONS = (
    "CreateAccessKey",
    "DeleteAccessKey",
    "DeletePrincipalPolicy",
    "ExportAuditEvents",
    "GetAuditEvent",
    "GetPrincipalPolicy",
    "ListAccessKeys",
    "ListPrincipalPolicies",
    "PutPrincipalPolicy",
    "SearchAuditEvents",
    "SimulatePolicy",
    "ValidatePolicy",
    "VerifyAuditLog",
    "WhoAmI",
)

#: The console's pages, each one audited operation of the signed-in principal.
CONSOLE_EVENTS = (
    "ConsoleApplyPolicy",
    "ConsoleExportAuditEvents",
    "ConsoleGetAuditEvent",
    "ConsoleKeyAccess",
    "ConsoleListKeys",
    "ConsolePlayground",
    "ConsolePlaygroundRun",
    "ConsoleSearchAudit",
    "ConsoleSignIn",
    "ConsoleSignOut",
    "ConsoleVerifyAuditLog",
)

#: What the service records of its own work (the scheduler's rotations,
#: deletions and expired imported material).
SERVICE_EVENTS = ("DeleteExpiredKeyMaterial", "DeleteKey", "RotateKey")

#: Requests no route took, and the summary of sampled authentication failures.
UNROUTED_EVENTS = ("Options", "UnknownOperation", "UnknownRoute", AUTH_FAILURE_SUMMARY)

# ReEncrypt is one operation authorized as two actions (ReEncryptFrom/To):
# the log records the operation.
_KMS_EVENTS = tuple(
    name for name in KMS_OPERATIONS if name not in ("ReEncryptFrom", "ReEncryptTo")
) + ("ReEncrypt",)

EVENT_NAMES: tuple[str, ...] = tuple(
    sorted({*_KMS_EVENTS, *TRENT_OPERATIONS, *CONSOLE_EVENTS, *SERVICE_EVENTS, *UNROUTED_EVENTS})
)

_BY_LOWER = {name.lower(): name for name in EVENT_NAMES}


def canonical_event_name(name: str, *, field: str = "operation") -> str:
    """The log's spelling of ``name`` (any case); ``ValidationError`` naming the
    valid names (nearest first) when it is none of them."""
    found = _BY_LOWER.get(name.lower())
    if found is not None:
        return found
    near = [
        _BY_LOWER[match]
        for match in difflib.get_close_matches(name.lower()[:128], list(_BY_LOWER), n=3, cutoff=0.6)
    ]
    hint = f" Did you mean {' or '.join(near)}?" if near else ""
    raise ValidationError(
        f"The filter '{field}' is not an operation Trent records: {name[:128]!r}.{hint} "
        f"Valid operations: {', '.join(EVENT_NAMES)}.",
        field=field,
    )
