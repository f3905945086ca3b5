"""PKCS#11 modules and logged-in sessions, shared by every token user of a process.

Two parts of Trent talk to tokens: the root key provider
(:mod:`app.crypto.pkcs11_root_key`) and the custom key stores
(:mod:`app.crypto.token_keys`). A PKCS#11 module is initialised once per
process, and initialising it again closes *every* session of the process, so
both go through :func:`open_session` here: it initialises the module in each
process once (again after a fork, since PKCS#11 state does not survive one),
and counts re-initialisations in :func:`generation`, so a holder of a session
can tell that its session was closed under it.

Nothing here ever echoes a module's exception text: some put the PIN's length
in it. Failures raise :class:`TokenUnavailable` with the exception's class
name only.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11.exceptions import (
    DeviceError,
    DeviceRemoved,
    GeneralError,
    NoSuchToken,
    PKCS11Error,
    TokenNotPresent,
    UserAlreadyLoggedIn,
)


class TokenUnavailable(Exception):
    """The module cannot be loaded, or the token cannot be opened or logged in to."""


class IncorrectPin(TokenUnavailable):
    """The token refused the PIN."""


_lock = threading.Lock()
#: The process that last initialised the PKCS#11 libraries.
_initialised_in: int | None = None
_generation = 0


def generation() -> tuple[int, int]:
    """This process and how many times its PKCS#11 state was initialised
    again: a session opened at another generation (or inherited through a
    fork) is closed."""
    return os.getpid(), _generation


def library(module: Path) -> Any:
    """The loaded PKCS#11 ``module``, initialised in this process."""
    global _initialised_in, _generation
    with _lock:
        try:
            lib = pkcs11.lib(str(module))
            if _initialised_in not in (None, os.getpid()):
                # A forked child (gunicorn's workers are forked after `trent
                # serve` loaded the key) must initialise the library again.
                lib.reinitialize()
                _generation += 1
            _initialised_in = os.getpid()
            return lib
        except (OSError, RuntimeError, PKCS11Error) as exc:
            raise TokenUnavailable(
                f"cannot load PKCS#11 module {module}: {type(exc).__name__}"
            ) from None


def _reinitialize(lib: Any) -> None:
    global _generation
    with _lock:
        lib.reinitialize()
        _generation += 1


def open_session(module: Path, token_label: str, pin: Callable[[], str], *, rw: bool) -> Any:
    """A logged-in session on the token labelled ``token_label``, or
    :class:`TokenUnavailable` (:class:`IncorrectPin` if the PIN is refused)."""
    lib = library(module)
    try:
        try:
            return _login(lib, token_label, pin, rw=rw)
        except (GeneralError, NoSuchToken, TokenNotPresent, DeviceRemoved, DeviceError):
            # Some modules (SoftHSM among them) find a token that came back
            # only when the library is initialised again. That closes every
            # session of this process; their holders reopen them.
            _reinitialize(lib)
            return _login(lib, token_label, pin, rw=rw)
    except (pkcs11.exceptions.PinIncorrect, pkcs11.exceptions.PinLenRange):
        raise IncorrectPin(f"token {token_label!r} refused the PIN") from None
    except PKCS11Error as exc:
        raise TokenUnavailable(
            f"cannot open token {token_label!r} with module {module}: {type(exc).__name__}"
        ) from None


def _login(lib: Any, token_label: str, pin: Callable[[], str], *, rw: bool) -> Any:
    token = lib.get_token(token_label=token_label)
    try:
        return token.open(user_pin=pin(), rw=rw)
    except UserAlreadyLoggedIn:
        # PKCS#11 logs in the application, not the session: another session
        # of this process is logged in, and a new one shares that login.
        return token.open(rw=rw)


@dataclass(frozen=True)
class TokenInfo:
    """A token in a module, as custom key stores name it."""

    label: str
    serial: str
    manufacturer: str
    model: str

    @property
    def cluster_id(self) -> str:
        """The token as a ``CloudHsmClusterId``: ``cluster-`` and 11 base32
        characters of the SHA-256 of its serial number and label, stable for
        the token's life (AWS's ids are ``cluster-`` and 11 such characters)."""
        digest = hashlib.sha256(f"{self.serial}\x00{self.label}".encode()).digest()
        return "cluster-" + base64.b32encode(digest).decode("ascii").lower()[:11]


def list_tokens(module: Path) -> list[TokenInfo]:
    """The initialised tokens the module offers."""
    lib = library(module)
    try:
        tokens = []
        for slot in lib.get_slots(token_present=True):
            token = slot.get_token()
            if not token.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED:
                continue
            tokens.append(
                TokenInfo(
                    label=token.label,
                    serial=_text(token.serial),
                    manufacturer=token.manufacturer_id,
                    model=token.model,
                )
            )
        return tokens
    except PKCS11Error as exc:
        raise TokenUnavailable(
            f"cannot list the tokens of module {module}: {type(exc).__name__}"
        ) from None


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip()
    return value.strip()
