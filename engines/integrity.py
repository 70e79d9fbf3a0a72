"""Integrity digests of saved runs: a SHA-256 over the canonical JSON of the content.

Both engines seal what they save (a graph snapshot, a journey session) with
`{"integrity": {"algorithm": "sha256", "digest": ...}}` and check it last when they load it,
after every precise check has had its say: a document changed after it was written — by
hand, by a bug in a converter, by a disk — is refused even when each value in it still looks
plausible. The digest is not a signature (anyone can recompute it); it makes tampering a
deliberate act instead of an accident, and the semantic checks refuse what no run can be in.

Canonical JSON: keys sorted, no spaces, ASCII only, and what a JSON round trip would give
(tuples as lists, non-string keys as strings), so a document hashes the same before and
after it crosses a process boundary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from engines.errors import SnapshotInvalid, SnapshotTampered

FIELD = "integrity"
ALGORITHM = "sha256"


def _canonical(content: Any) -> bytes:
    def dumps(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)

    try:
        return dumps(content).encode("ascii")
    except TypeError:
        # Keys of mixed types cannot be sorted: take them as a JSON round trip would.
        try:
            return dumps(json.loads(json.dumps(content, allow_nan=True))).encode("ascii")
        except (TypeError, ValueError) as exc:
            raise SnapshotInvalid(f"content is not JSON data: {exc}") from None
    except ValueError as exc:  # a circular reference
        raise SnapshotInvalid(f"content is not JSON data: {exc}") from None


def digest(document: Mapping[str, Any]) -> str:
    """The hex SHA-256 of `document` without its own integrity field."""
    content = {key: value for key, value in document.items() if key != FIELD}
    return hashlib.sha256(_canonical(content)).hexdigest()


def seal(document: dict[str, Any], what: str = "document") -> dict[str, Any]:
    """`document` with its integrity field set (in place; returned for convenience), or
    `SnapshotInvalid` naming `what` if it is not JSON data."""
    document.pop(FIELD, None)
    try:
        value = digest(document)
    except SnapshotInvalid as exc:
        raise SnapshotInvalid(f"{what}: {exc}") from None
    document[FIELD] = {"algorithm": ALGORITHM, "digest": value}
    return document


def check_seal(document: Mapping[str, Any], what: str) -> None:
    """Refuse, with `SnapshotTampered` naming `what`, a document whose integrity field is
    missing, of another algorithm, or not the digest of its content."""
    seal_ = document.get(FIELD)
    if seal_ is None:
        raise SnapshotTampered(
            f"{what} carries no integrity digest: it was not written by this engine, or the "
            "digest was removed"
        )
    if (
        not isinstance(seal_, Mapping)
        or seal_.get("algorithm") != ALGORITHM
        or set(seal_) != {"algorithm", "digest"}
    ):
        shown = repr(seal_)
        raise SnapshotTampered(
            f"{what} has an integrity field of another kind ({shown[:80]}); this engine "
            f"writes {{algorithm: {ALGORITHM}, digest}}"
        )
    if seal_.get("digest") != digest(document):
        raise SnapshotTampered(
            f"{what} does not match its integrity digest: it was changed after it was written"
        )
