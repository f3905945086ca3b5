"""The filters ``trent audit search`` and ``export`` share, and how they become a query.

The same rules as ``GET /v1/audit/events`` (the validation itself is
:func:`app.audit.query.event_filter`'s): an operation in any case, refused
with the valid names when unknown; times as ISO 8601 or epoch seconds; a
key as its id, its ARN, an alias name or an alias ARN. These commands see
every account, so a bare alias name is looked up in ``--account`` when it is
given, and otherwise in every account: found in one, it is that account's;
found in several, the command asks which.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from app.audit import query
from app.audit.key_filter import AliasReference, alias_in_key_filter
from app.config.settings import Settings
from app.keys.identifiers import alias_arn
from app.store.database import Store
from app.store.keys import SqlKeyRepository

F = TypeVar("F", bound=Callable[..., Any])

_TIME_HELP = (
    "ISO 8601 (2026-12-05, 2026-12-05T10:00Z) or epoch seconds; inclusive. "
    "A date alone is the whole day."
)


def filter_options(command: F) -> F:
    """The filter options shared by ``search`` and ``export``."""
    options = [
        click.option("--principal", help="Principal ARN."),
        click.option(
            "--operation",
            help="Operation (event) name, e.g. Decrypt (any case; an unknown name "
            "is refused with the valid ones).",
        ),
        click.option("--key", help="Key id, key ARN, alias name (alias/payments) or alias ARN."),
        click.option("--outcome", type=click.Choice(["success", "denied", "failed"])),
        click.option("--error-code", help="Error code, e.g. AccessDeniedException."),
        click.option("--since", metavar="TIME", help=_TIME_HELP),
        click.option("--until", metavar="TIME", help=_TIME_HELP),
        click.option("--account", help="Only events of this account's principals or keys."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def audit_query(options: dict[str, Any], store: Store, settings: Settings) -> query.AuditQuery:
    """The query the options ask for, with an alias resolved to its key."""
    found = query.AuditQuery(
        principal=options["principal"],
        operation=options["operation"],
        key=options["key"],
        outcome=options["outcome"],
        error_code=options["error_code"],
        since=options["since"],
        until=options["until"],
    )
    alias = alias_in_key_filter(found.key)
    if alias is None:
        return found
    return query.with_key(found, _alias_target(store, settings, alias, options["account"]))


def _alias_target(
    store: Store, settings: Settings, alias: AliasReference, account: str | None
) -> str:
    """The ARN of the key ``alias`` names; a usage error when it names none or is ambiguous."""
    keys = SqlKeyRepository(store)
    if alias.account is not None and account is not None and alias.account != account:
        raise click.UsageError(
            f"--key names an alias of account {alias.account}, --account is {account}"
        )
    owner = alias.account or account
    if alias.elsewhere(settings.partition, settings.region):
        candidates = []
    elif owner is not None:
        candidates = [found] if (found := keys.get_alias(owner, alias.name)) else []
    else:
        candidates = keys.aliases_named(alias.name)
    if not candidates:
        where = alias_arn(settings.partition, settings.region, owner, alias.name) if owner else None
        raise click.ClickException(
            f"NotFoundException: Alias {where or alias.name} is not found"
            + ("" if owner else " in any account")
            + "."
        )
    if len(candidates) > 1:
        accounts = ", ".join(candidate.account for candidate in candidates)
        raise click.UsageError(
            f"{alias.name} exists in several accounts ({accounts}): give --account or the alias ARN"
        )
    target = candidates[0]
    key = keys.get_key(target.account, target.key_id)
    if key is None:  # pragma: no cover - the alias row cascades with its key
        raise click.ClickException(f"NotFoundException: Alias {alias.name} is not found.")
    return key.arn
