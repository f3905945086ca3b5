"""The hash chain: what each event's MAC and entry hash cover.

For the event with sequence number ``seq``::

    body_mac   = HMAC-SHA256(audit MAC key,
                             "trent/audit/mac/v1" 0x00 || u64 seq || prev_hash || body)
    entry_hash = SHA-256("trent/audit/entry/v1" 0x00 || prev_hash || u64 seq
                         || u32 len(body) || body || body_mac)

``prev_hash`` is the previous event's ``entry_hash`` (32 zero bytes for event
1). The hash chain alone detects a changed, missing, inserted or reordered
event *inside* the chain, but anyone who can write the table can recompute
it. The MAC is the anchor: its key is stored only sealed under the root key
(:mod:`app.audit.mac_key`), and it covers the event's position (``seq`` and
``prev_hash``) as well as its body, so without the root key a row cannot be
forged, moved, or re-linked over a deleted neighbour. What neither can show
is a clean cut of the newest events; the signed, exported checkpoints
(:mod:`app.audit.checkpoints`) do.
"""

from __future__ import annotations

import hashlib
import struct

from app.audit.repository import GENESIS_HASH
from app.crypto.mac import constant_time_equal, hmac_sha256

__all__ = ["GENESIS_HASH", "MAC_KEY_LABEL", "entry_hash", "entry_mac", "mac_matches"]

#: The label under which the first audit MAC key is derived from the root key
#: (then stored sealed, so that it survives a change of root key).
MAC_KEY_LABEL = b"trent/audit/mac/v1"

_MAC_TAG = b"trent/audit/mac/v1\x00"
_ENTRY_TAG = b"trent/audit/entry/v1\x00"
_SEQ = struct.Struct(">Q")
_SEQ_AND_LENGTH = struct.Struct(">QI")


def entry_mac(mac_key: bytes, seq: int, prev_hash: bytes, body: bytes) -> bytes:
    return hmac_sha256(mac_key, b"".join((_MAC_TAG, _SEQ.pack(seq), prev_hash, body)))


def mac_matches(mac_key: bytes, seq: int, prev_hash: bytes, body: bytes, mac: bytes) -> bool:
    return constant_time_equal(entry_mac(mac_key, seq, prev_hash, body), mac)


def entry_hash(prev_hash: bytes, seq: int, body: bytes, body_mac: bytes) -> bytes:
    # One call over the joined input: copying a body of a few KiB costs less
    # than four more update() calls (this runs for every event appended and
    # every event verified).
    return hashlib.sha256(
        b"".join((_ENTRY_TAG, prev_hash, _SEQ_AND_LENGTH.pack(seq, len(body)), body, body_mac))
    ).digest()
