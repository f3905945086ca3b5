"""Marks for operations that change nothing.

A read-only operation (DescribeKey, Encrypt, Decrypt, GenerateDataKey, …) runs
outside a write transaction; only its audit event takes the write lock, for as
long as one insert takes. An operation that changes state runs inside one
transaction together with its audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])


def read_only(operation: F) -> F:
    operation.trent_read_only = True  # type: ignore[attr-defined]
    return operation


def is_read_only(operation: Callable[..., object]) -> bool:
    return bool(getattr(operation, "trent_read_only", False))
