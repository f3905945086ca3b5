"""The tamper-evident audit log: events, the hash chain, signed checkpoints,
query, export and verification.

Public names: :class:`~app.audit.log.AuditLog` (append, checkpoints),
:func:`~app.audit.verify.verify`, :mod:`app.audit.query`,
:func:`~app.audit.sanitize.sanitize_parameters`. Its CLI group is
:mod:`app.cli.audit`.
"""
