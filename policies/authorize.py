"""The KMS decision: key policy, identity policies and grants combined.

For an action on a key (:func:`decide_key_access`), as KMS decides it:

1. An applicable ``Deny`` in the key policy or in any of the caller's identity
   policies → ``explicitDeny``. Identity-policy denies count even when the key
   policy does not delegate to identity policies.
2. Otherwise ``allowed`` when one of these holds:

   * the key policy allows the caller directly (its ARN, its role, a service name or
     ``*``) and the caller is in the key's account;
   * the key policy allows the caller directly, the caller is in another account,
     and an identity policy of the caller allows the action too;
   * the key policy allows the caller's *account* (its root ARN) and an identity
     policy of the caller allows the action — delegation, in the key's account or
     across accounts;
   * a grant on the key names the caller (or the caller's role) and covers the
     action and the request's encryption context; or names the caller's account
     and an identity policy of the caller allows the action
     (:mod:`policies.grants`). Grants are consulted last and can only allow, so
     they never lift a Deny; given as a function, they are read only when the
     decision comes to them.

3. Otherwise ``implicitDeny``.

The account root caller is treated as having an identity-policy allow for every
action (it holds every permission in its account unless denied), so the root of an
account the key policy names may use the key across accounts, as in AWS.

For account-level actions (:func:`decide_account_action`: CreateKey, ListKeys,
ListAliases, GenerateRandom, ``trent:ReadAuditLog``...) only identity policies
take part; the account root is allowed unless an identity policy denies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple, NoReturn

from policies.evaluate import Decision, PolicyEvaluation, StatementEvaluation, evaluate_policy
from policies.grants import Grant, GrantSource, grants_from
from policies.model import Policy, PolicyKind, StatementRef
from policies.request import Request


class Basis(StrEnum):
    """Why the decision came out as it did (for explanations and the audit log)."""

    EXPLICIT_DENY = "explicitDeny"
    KEY_POLICY = "keyPolicy"
    KEY_POLICY_AND_IDENTITY_POLICY = "keyPolicyAndIdentityPolicy"
    DELEGATED_TO_IDENTITY_POLICY = "delegatedToIdentityPolicy"
    GRANT = "grant"
    IDENTITY_POLICY = "identityPolicy"
    ACCOUNT_ROOT = "accountRoot"
    CROSS_ACCOUNT_WITHOUT_IDENTITY_ALLOW = "crossAccountWithoutIdentityAllow"
    DELEGATED_WITHOUT_IDENTITY_ALLOW = "delegatedWithoutIdentityAllow"
    KEY_POLICY_DOES_NOT_DELEGATE = "keyPolicyDoesNotDelegate"
    NO_ALLOW = "noAllow"


class PolicyDecision(NamedTuple):
    """One policy's own verdict, for the per-policy breakdown."""

    source: str
    kind: PolicyKind
    decision: Decision
    #: The policy allows the caller's account, deferring to identity policies.
    delegates: bool


class Evaluation(NamedTuple):
    """The decision and everything needed to explain it.

    ``decisive_statements`` are the statements the decision rests on (the Deny
    statements for ``explicitDeny``; the allowing statements of the path taken for
    ``allowed``; none for ``implicitDeny``). The explanation properties are computed
    from ``policy_results`` on access, so a caller that only needs the decision
    does not pay for them.

    Test ``evaluation.allowed``: truth-testing the object itself raises, so that
    ``if evaluation:`` can never be mistaken for "allowed".
    """

    decision: Decision
    basis: Basis
    decisive_statements: tuple[StatementRef, ...]
    policy_results: tuple[PolicyEvaluation, ...]
    #: The ids of the grants the decision rests on (basis ``grant``).
    decisive_grants: tuple[str, ...] = ()

    def __bool__(self) -> NoReturn:
        raise TypeError("an Evaluation has no truth value; test .allowed")

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED

    @property
    def matched_statements(self) -> tuple[StatementRef, ...]:
        """Every statement that applied, by policy then statement index."""
        return tuple(
            evaluation.statement
            for result in self.policy_results
            for evaluation in result.evaluated
            if evaluation.applies
        )

    @property
    def statements(self) -> tuple[StatementEvaluation, ...]:
        """Every statement whose principal and action matched, with details."""
        return tuple(
            evaluation for result in self.policy_results for evaluation in result.evaluated
        )

    @property
    def missing_context_values(self) -> tuple[str, ...]:
        """Keys the matching statements read that the request did not supply, sorted."""
        missing: dict[str, str] = {}
        for result in self.policy_results:
            for key in result.missing_keys:
                missing.setdefault(key.lower(), key)
        return tuple(missing[key] for key in sorted(missing))

    @property
    def policy_decisions(self) -> tuple[PolicyDecision, ...]:
        return tuple(
            PolicyDecision(
                result.policy.source, result.policy.kind, result.decision, result.delegates
            )
            for result in self.policy_results
        )


_ALLOWED = Decision.ALLOWED
_EXPLICIT_DENY = Decision.EXPLICIT_DENY
_IMPLICIT_DENY = Decision.IMPLICIT_DENY
_KEY = PolicyKind.KEY
_IDENTITY = PolicyKind.IDENTITY


def decide_key_access(
    key_policy: Policy,
    identity_policies: Sequence[Policy],
    request: Request,
    key_account: str,
    *,
    grants: GrantSource = (),
    new_grant: Grant | None = None,
) -> Evaluation:
    """Decide an action on a key (``request.resource`` is the key's ARN).

    ``grants`` are the key's grants (any others are ignored); ``new_grant`` is the
    grant a CreateGrant request would create, which a grant allows only when the
    new grant is no wider than itself.
    """
    if key_policy.kind is not _KEY:
        _wrong_kind(key_policy, _KEY)
    key_result = evaluate_policy(key_policy, request)
    results = [key_result]
    denies = list(key_result.denies)
    identity_allows: list[StatementEvaluation] = []
    for policy in identity_policies:
        if policy.kind is not _IDENTITY:
            _wrong_kind(policy, _IDENTITY)
        result = evaluate_policy(policy, request)
        results.append(result)
        denies.extend(result.denies)
        identity_allows.extend(result.allows)
    if denies:
        return Evaluation(_EXPLICIT_DENY, Basis.EXPLICIT_DENY, _refs(denies), tuple(results))
    identity_allowed = bool(identity_allows) or request.caller.is_account_root
    direct = key_result.allows
    delegated = key_result.account_allows
    if direct and request.account == key_account:
        return Evaluation(_ALLOWED, Basis.KEY_POLICY, _refs(direct), tuple(results))
    if direct and identity_allowed:
        decisive = _refs([*direct, *identity_allows])
        return Evaluation(_ALLOWED, Basis.KEY_POLICY_AND_IDENTITY_POLICY, decisive, tuple(results))
    if delegated and identity_allowed:
        decisive = _refs([*delegated, *identity_allows])
        return Evaluation(_ALLOWED, Basis.DELEGATED_TO_IDENTITY_POLICY, decisive, tuple(results))
    granting = _granting(grants, request, new_grant, identity_allowed)
    if granting:
        return Evaluation(_ALLOWED, Basis.GRANT, (), tuple(results), granting)
    if direct:
        basis = Basis.CROSS_ACCOUNT_WITHOUT_IDENTITY_ALLOW
    elif delegated:
        basis = Basis.DELEGATED_WITHOUT_IDENTITY_ALLOW
    elif identity_allows:
        basis = Basis.KEY_POLICY_DOES_NOT_DELEGATE
    else:
        basis = Basis.NO_ALLOW
    return Evaluation(_IMPLICIT_DENY, basis, (), tuple(results))


def decide_account_action(
    identity_policies: Sequence[Policy], request: Request, is_root: bool
) -> Evaluation:
    """Decide an action that has no key resource (``request.resource`` is ``*``)."""
    if is_root and not request.caller.is_account_root:
        raise ValueError(f"is_root is set but {request.principal} is not an account root")
    results, denies, allows = _identity_verdicts(identity_policies, request)
    if denies:
        return Evaluation(_EXPLICIT_DENY, Basis.EXPLICIT_DENY, _refs(denies), tuple(results))
    if is_root:
        return Evaluation(_ALLOWED, Basis.ACCOUNT_ROOT, _refs(allows), tuple(results))
    if allows:
        return Evaluation(_ALLOWED, Basis.IDENTITY_POLICY, _refs(allows), tuple(results))
    return Evaluation(_IMPLICIT_DENY, Basis.NO_ALLOW, (), tuple(results))


def decide_retire_grant(
    grant: Grant, identity_policies: Sequence[Policy], request: Request
) -> Evaluation:
    """Decide RetireGrant (``request.action`` is ``kms:RetireGrant``), as KMS does.

    Key policies take no part: ``kms:RetireGrant`` in a key policy is not
    effective. An identity-policy Deny refuses. Otherwise the grant's retiring
    principal may retire it; so may its grantee when the grant includes
    RetireGrant; so may the account the grant was created in: its root, and its
    principals that an identity policy allows ``kms:RetireGrant``.
    """
    results, denies, allows = _identity_verdicts(identity_policies, request)
    if denies:
        return Evaluation(_EXPLICIT_DENY, Basis.EXPLICIT_DENY, _refs(denies), tuple(results))
    caller = request.caller
    names_caller = (caller.arn, caller.role_arn)
    if grant.retiring_principal is not None and grant.retiring_principal in names_caller:
        return Evaluation(_ALLOWED, Basis.GRANT, (), tuple(results), (grant.grant_id,))
    if grant.grantee_principal in names_caller and "RetireGrant" in grant.operations:
        return Evaluation(_ALLOWED, Basis.GRANT, (), tuple(results), (grant.grant_id,))
    if grant.issuing_account is not None and caller.account_root == grant.issuing_account:
        if caller.is_account_root:
            return Evaluation(_ALLOWED, Basis.ACCOUNT_ROOT, (), tuple(results))
        if allows:
            return Evaluation(_ALLOWED, Basis.IDENTITY_POLICY, _refs(allows), tuple(results))
    return Evaluation(_IMPLICIT_DENY, Basis.NO_ALLOW, (), tuple(results))


def _identity_verdicts(
    identity_policies: Sequence[Policy], request: Request
) -> tuple[list[PolicyEvaluation], list[StatementEvaluation], list[StatementEvaluation]]:
    """Each identity policy's evaluation, and their Deny and Allow statements."""
    results: list[PolicyEvaluation] = []
    denies: list[StatementEvaluation] = []
    allows: list[StatementEvaluation] = []
    for policy in identity_policies:
        if policy.kind is not _IDENTITY:
            _wrong_kind(policy, _IDENTITY)
        result = evaluate_policy(policy, request)
        results.append(result)
        denies.extend(result.denies)
        allows.extend(result.allows)
    return results, denies, allows


def _granting(
    grants: GrantSource, request: Request, new_grant: Grant | None, identity_allowed: bool
) -> tuple[str, ...]:
    """The ids of the grants that allow ``request`` (a grant to the caller's account
    needs an identity-policy allow, as a key policy naming the account does)."""
    allowing = [
        grant.grant_id
        for grant in grants_from(grants)
        if grant.covers(request, new_grant)
        and (grant.names(request) or (identity_allowed and grant.names_account_of(request)))
    ]
    return tuple(sorted(allowing))


def _wrong_kind(policy: Policy, kind: PolicyKind) -> NoReturn:
    raise ValueError(f"{policy.source} is a {policy.kind} policy; expected a {kind} policy")


def _refs(evaluations: Sequence[StatementEvaluation]) -> tuple[StatementRef, ...]:
    return tuple([evaluation.statement for evaluation in evaluations])
