"""The tamper-evident audit log: events, the hash chain, signed checkpoints,
query, export and verification.

Public names: :class:`~app.audit.log.AuditLog` (append, checkpoints),
:func:`~app.audit.verify.verify`, :mod:`app.audit.query`,
:func:`~app.audit.sanitize.sanitize_parameters`, and the ``audit`` CLI group
in :mod:`app.audit.commands`.
"""

# app.store.models lists the audit tables (app.store.audit) in ALL_MODELS and
# app.store.audit subclasses its BaseModel; loading models first makes that
# circle resolve whichever module a caller imports first.
import app.store.models  # noqa: F401
