"""Readers for the known-answer files the ``cryptography_vectors`` package ships
(NIST CAVP ``.rsp`` files and RFC test cases in the same ``Key = value`` form)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cryptography_vectors

ROOT = Path(cryptography_vectors.__file__).resolve().parent


def vector_file(*parts: str) -> Path:
    return ROOT.joinpath(*parts)


def records(path: Path) -> Iterator[dict[str, str]]:
    """Every record of a vector file, as ``name -> value``.

    A ``[section]`` line sets ``section`` for the records after it; values
    given once before a section's records (``n`` of an RSA modulus) are kept
    until the section changes; a blank line ends a record that has a result
    or digest.
    """
    section = ""
    shared: dict[str, str] = {}
    current: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            shared = {}
            current = {}
            continue
        if not line:
            if {"Msg", "S"} <= current.keys() or "MD" in current:
                yield {"section": section, **shared, **current}
                current = {}
            elif current:
                shared.update(current)
                current = {}
            continue
        name, sep, value = line.partition("=")
        if sep:
            current[name.strip()] = value.strip()
