"""What a simulation's reader is told besides the decisions: warnings and a summary.

A simulation answers whatever it is asked, so a mistake in the question
comes back as a plausible answer: ``kms:Decryptt`` is no action any
statement allows, so it is an implicit deny; ``tenant=t-1`` is a context
key no condition reads (conditions name ``kms:EncryptionContext:tenant``),
so a condition on the tenant fails as if the value were missing. Both are
almost always typing mistakes; :func:`warnings` names them, with the likely
intended spelling, so that the author fixes the question rather than the
policy.

:func:`summary_lines` is the decision alone, one line per action, for a
reader who wants to know what was decided and by what, not the full
explanation.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from policies.actions import ALL_ACTIONS, canonical_action


def warnings(actions: Sequence[str], context_names: Sequence[str]) -> list[str]:
    """Warnings about the request itself: unknown actions, then context keys
    without a namespace (in the order given, each once)."""
    found: list[str] = []
    for action in actions:
        if "*" in action or "?" in action or canonical_action(action) is not None:
            continue
        near = difflib.get_close_matches(action.lower(), [a.lower() for a in ALL_ACTIONS], n=1)
        hint = f" (did you mean {canonical_action(near[0])}?)" if near else ""
        message = (
            f"{action} is not a known action{hint}: no statement can allow it, "
            "so it is decided as implicitDeny"
        )
        if message not in found:
            found.append(message)
    for name in context_names:
        if ":" in name:
            continue
        message = (
            f"context key {name!r} has no namespace, so no condition reads it "
            f"(did you mean kms:EncryptionContext:{name}?)"
        )
        if message not in found:
            found.append(message)
    return found


def summary_lines(result: Mapping[str, Any]) -> list[str]:
    """One line per action of a :func:`~policies.simulate.simulate` result:
    ``<action> <decision> <basis>: <the statements or grants that decided it>``,
    columns aligned (the basis tells an implicit deny's reason apart: no
    allow at all, or a key policy that does not delegate, and so on)."""
    rows = [
        (str(entry["Action"]), str(entry["Decision"]), _decided_by(entry))
        for entry in result.get("EvaluationResults", [])
    ]
    action_width = max((len(action) for action, _, _ in rows), default=0)
    decision_width = max((len(decision) for _, decision, _ in rows), default=0)
    return [
        f"{action:<{action_width}}  {decision:<{decision_width}}  {why}"
        for action, decision, why in rows
    ]


def _statement(ref: Mapping[str, Any]) -> str:
    sid = f" {ref['Sid']!r}" if ref.get("Sid") else ""
    line = ref.get("StartPosition", {}).get("Line")
    where = f", line {line}" if line is not None else ""
    return f"{ref['Source']} statement{sid} (#{ref['Index']}{where})"


def _decided_by(entry: Mapping[str, Any]) -> str:
    parts = [f"by {_statement(ref)}" for ref in entry.get("DecisiveStatements", [])]
    parts += [f"by grant {grant}" for grant in entry.get("DecisiveGrants", [])]
    if not parts:
        parts.append("no statement or grant decided it")
    missing = entry.get("MissingContextValues") or []
    if missing:
        parts.append(f"missing context: {', '.join(str(name) for name in missing)}")
    return f"{entry.get('Basis')}: " + "; ".join(parts)
