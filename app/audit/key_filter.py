"""Aliases in an audit search's key filter.

A search by ``alias/payments`` means the key that alias names, but only the
alias's owner (the caller's account, or for operators' tools the account
given) can say which key that is, so the filter is resolved before the
query: by the operation for the REST door, by the command for ``trent
audit``. The query itself refuses an alias it is handed unresolved rather
than search for a key called ``alias/...`` and find nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.keys.identifiers import ALIAS_ARN_RE


@dataclass(frozen=True)
class AliasReference:
    """An alias a key filter names: its account, partition and region when an
    alias ARN gave them."""

    name: str
    account: str | None = None
    partition: str | None = None
    region: str | None = None

    def elsewhere(self, partition: str, region: str) -> bool:
        """True when an alias ARN names another partition or region than the service's."""
        return self.partition is not None and (self.partition, self.region) != (partition, region)


def alias_in_key_filter(key: str | None) -> AliasReference | None:
    """The alias the ``key`` filter names (``alias/payments`` or an alias ARN), if any."""
    if key is None:
        return None
    if key.startswith("alias/"):
        return AliasReference(key)
    match = ALIAS_ARN_RE.match(key)
    if match is None:
        return None
    return AliasReference(match["name"], match["account"], match["partition"], match["region"])
