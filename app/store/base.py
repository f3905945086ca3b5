"""The base of every model, and how a model finds its database.

peewee binds a model to one database object for the whole process. Trent
has one database per application (:class:`app.store.database.Store`), and a
process may hold several (two apps in one test process, say), so every model
binds to :data:`routed_database` instead: a proxy whose target is the
database of the store whose ``connection()``, ``connection_if_used()`` or
``transaction()`` is open in the current context. The target lives in a
:class:`contextvars.ContextVar`, so each thread sees only the store it
entered itself (a new thread starts with none).

A query run outside any store's connection has no database and fails
loudly (:class:`NoStoreInUse`), rather than reaching some other
application's database.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

import peewee

_in_use: ContextVar[peewee.Database | None] = ContextVar("trent_store_database", default=None)


class NoStoreInUse(AttributeError):
    """A model was used outside every store's connection (a bug in the caller).

    An ``AttributeError`` because the proxy's ``__getattr__`` raises it:
    ``hasattr`` and ``getattr(…, default)`` on the proxy keep their meaning."""


class RoutedDatabase(peewee.DatabaseProxy):
    """A ``DatabaseProxy`` that cannot be initialised: its target is the
    database in use in the current context (see :func:`use_database`)."""

    __slots__ = ()

    def __init__(self) -> None:
        # Proxy.__init__ would initialise a target; this proxy has none of its own.
        object.__setattr__(self, "_callbacks", [])

    @property
    def obj(self) -> peewee.Database | None:
        return _in_use.get()

    def initialize(self, obj: Any) -> None:
        raise TypeError("the routed database has no target of its own: use Store.connection()")

    def __getattr__(self, attr: str) -> Any:
        database = _in_use.get()
        if database is None:
            raise NoStoreInUse(
                f"no database in use here (looking up {attr!r}): "
                "run the query inside a Store's connection() or transaction()"
            )
        return getattr(database, attr)


#: Every model binds to this.
routed_database = RoutedDatabase()


def use_database(database: peewee.Database) -> Token[peewee.Database | None]:
    """Route the models to ``database`` in this context until :func:`release_database`."""
    return _in_use.set(database)


def release_database(token: Token[peewee.Database | None]) -> None:
    """Undo the :func:`use_database` that returned ``token``."""
    try:
        _in_use.reset(token)
    except ValueError:
        # The token belongs to another context: a generator that held a
        # connection was finished from another thread (a streamed response
        # closed by the garbage collector). That thread's routing is its own
        # and must not be touched; the context the token came from is gone.
        pass


class BaseModel(peewee.Model):
    class Meta:
        database = routed_database
        legacy_table_names = False
