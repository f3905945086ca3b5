"""Backups of a Trent host: what ``trent backup`` writes and ``trent restore`` reads.

A backup is a directory::

    manifest.json                what is in it: versions, time, the audit
                                 log's head and newest checkpoint, the local
                                 issuer, and the size and SHA-256 of each file
    trent.db                     the SQLite database, copied with SQLite's
                                 backup API (app.store.snapshot)
    audit-checkpoints.jsonl      the checkpoint file (TRENT_AUDIT_CHECKPOINT_FILE)
    audit-checkpoint-sink.jsonl  the sink (TRENT_AUDIT_CHECKPOINT_SINK), when
                                 it is a file the host can read
    issuer/issuer.json           the local token issuer's description and
    issuer/public_key.pem        public key

The root key is not in it, nor the local issuer's signing key: with the
database, either would let whoever holds the backup read every key's
material (the root key) or act as any principal (the signing key). They are
kept apart, as secrets, and restored from where they are kept.
"""
