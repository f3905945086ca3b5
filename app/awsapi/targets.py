"""``X-Amz-Target`` → the operation and the request schema it runs.

The same operations and schemas as the REST door (:mod:`app.catalogue`): no
operation is written twice. KMS operations this service does not offer are named here too, so a
client gets ``UnsupportedOperationException`` for them rather than the
"unknown operation" answer reserved for names KMS itself does not have.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.catalogue import KMS
from app.pipeline.route import Route

TARGET_PREFIX = "TrentService"


#: ``TrentService.<name>`` → the route (operation and schema) it runs.
#: ``TrentService.<name>`` → the operation it runs: every KMS operation the
#: service offers (the REST door serves the same ones at paths of its own).
TARGETS: Mapping[str, Route] = KMS

#: KMS operations (botocore's model) that Trent does not offer (yet).
UNSUPPORTED = frozenset(
    {
        "DeriveSharedSecret",
        "GetKeyLastUsage",
        "ReplicateKey",
        "UpdatePrimaryRegion",
    }
)
