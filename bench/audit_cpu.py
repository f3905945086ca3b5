"""CPU per event of the audit writer's and the checkpointer's own work:
``.venv/bin/python -m bench.audit_cpu``.

A data directory made by ``trent init`` (SQLite, ``synchronous=FULL``), the
audit log opened as ``trent audit-writer`` opens it. Each round:

- *writer*: events encoded by the request side beforehand, then, timed, what
  the writer process does with their frames: decode each, and append them in
  batches of ``--batch`` (one transaction, one head lock, one commit each);
- *checkpoint*: one :meth:`AuditLog.checkpoint` over the round's events
  (verify them, sign, store, export).

Reports CPU time (``time.process_time``: user + system of this process) per
event, each round and the median, so that the figure holds on a busy
machine. Options: ``--events N`` per round (default 4,000), ``--batch B``
(default 8), ``--rounds R`` (default 5).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from app import open_store
from app.audit.log import AuditLog
from app.audit.writer_service import decode_request, encode_request
from app.config import load_settings
from app.crypto.root_key import load_root_key
from app.store.audit.repository import SqlAuditRepository
from bench.audit_append import _event, _trent_init


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rng = random.Random()  # event ids must differ between rounds
    with tempfile.TemporaryDirectory(prefix="trent-audit-cpu-") as tmp:
        data_dir = Path(tmp) / "d"
        _trent_init(data_dir)
        settings = load_settings({"TRENT_DATA_DIR": str(data_dir), "TRENT_SCHEDULER_INTERVAL": "0"})
        store = open_store(settings, pool_size=2, cache=False)
        audit = AuditLog(load_root_key(settings), settings, SqlAuditRepository(store))
        writer_us: list[float] = []
        checkpoint_us: list[float] = []
        number = 0
        with store.connection():
            audit.checkpoint()  # the signing key, made once
            for round_no in range(1, args.rounds + 1):
                payloads = []
                for _ in range(args.events):
                    number += 1
                    frame = encode_request(audit.prepare(_event(rng, number, time.time())))
                    payloads.append(frame[4:])
                began = time.process_time()
                for start in range(0, len(payloads), args.batch):
                    batch = [decode_request(p) for p in payloads[start : start + args.batch]]
                    with store.transaction(invalidates=False):
                        audit.append_prepared(batch)
                writer_us.append((time.process_time() - began) / args.events * 1e6)
                began = time.process_time()
                if audit.checkpoint() is None:
                    raise RuntimeError("the checkpoint signed nothing")
                checkpoint_us.append((time.process_time() - began) / args.events * 1e6)
                print(
                    f"round {round_no}: writer {writer_us[-1]:6.1f} µs/event, "
                    f"checkpoint {checkpoint_us[-1]:5.1f} µs/event",
                    flush=True,
                )
        store.close()
    print(
        f"median of {args.rounds}: writer {statistics.median(writer_us):.1f} µs/event "
        f"(batches of {args.batch}), checkpoint {statistics.median(checkpoint_us):.1f} µs/event"
    )


if __name__ == "__main__":
    main()
