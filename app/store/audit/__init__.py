"""The audit log's tables and their repository.

The audit table is append-only by construction: there are functions that
insert events and read them, and none that update or delete an event row.
The only row that changes is the single chain-head row
(:class:`~app.store.audit.models.AuditHeadRow`), and only through a
compare-and-set that moves it forward by exactly the events just inserted.

* :mod:`~app.store.audit.models`: the four tables;
* :mod:`~app.store.audit.chain`: the head's lock and compare-and-set, and
  the batched event inserts (statements written out by hand);
* :mod:`~app.store.audit.search`: reading events, and which index drives a search;
* :mod:`~app.store.audit.checkpoints`: checkpoints and their signing keys;
* :mod:`~app.store.audit.repository`: all of it as one
  :class:`~app.audit.repository.AuditRepository`.

Everything here runs inside the caller's unit of work and never commits.
"""
