"""The snapshot store interface, and the rules every backend keeps by construction.

A backend supplies a handful of primitives — an atomic section, and reading and writing one
execution's row and claim inside it — and `SnapshotStore` builds the whole interface on them:
`save`, `load`, `delete`, `ids`, and the claims (`claim`, `renew`, `release`, `holder`,
`engines.graph.claims`). So the rules (who may write, when a lease has run out, what a
corrupt row is) are written once, and one conformance spec runs against every backend.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, Self

from engines.errors import SnapshotClaimed, SnapshotCorrupt, SnapshotInvalid
from engines.graph.claims import (
    DEFAULT_LEASE_SECONDS,
    Claim,
    Lease,
    Now,
    check_id,
    check_request,
    claimed,
    is_live,
    is_text,
    lost,
    new_token,
)


def encoded(execution_id: object, snapshot: object) -> str:
    """The JSON text stored for a snapshot, or `SnapshotInvalid` before anything is written."""
    check_id(execution_id)
    if not isinstance(snapshot, Mapping):
        raise SnapshotInvalid(
            f"snapshot of {execution_id!r} must be a mapping, not {type(snapshot).__name__}"
        )
    try:
        text = json.dumps(snapshot, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SnapshotInvalid(f"snapshot of {execution_id!r} is not JSON: {exc}") from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (a payload may carry "\ud800") has no UTF-8 form: escape it.
        text = json.dumps(snapshot, ensure_ascii=True, allow_nan=False)
    return text


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
_JSON_KINDS[type(None)] = "null"


def missing(execution_id: str) -> SnapshotInvalid:
    return SnapshotInvalid(f"no snapshot stored for execution {execution_id!r}")


def workflow_of(snapshot: Mapping[str, Any]) -> str:
    """The workflow id a snapshot names, for listing ("" when it names none)."""
    workflow = snapshot.get("workflow")
    found = workflow.get("id") if isinstance(workflow, Mapping) else None
    return found if isinstance(found, str) and is_text(found) else ""


class SnapshotStore(ABC):
    """Snapshots by execution id, and claims on them. `save` replaces what was stored under
    the same id. `now` is the clock leases are measured on (wall time unless injected)."""

    def __init__(self, now: Now | None = None) -> None:
        self._now: Now = now if now is not None else time.time

    # ------------------------------------------------------------------ backend primitives

    @abstractmethod
    def _atomic(self, doing: str, *, write: bool = True) -> AbstractContextManager[None]:
        """A section no other writer to this store (process, thread) interleaves with, and
        whose writes all happen or none do; `write=False` only reads a consistent state."""

    @abstractmethod
    def _read_claim(self, execution_id: str) -> tuple[bool, Claim | None]:
        """Whether the execution is stored, and its claim (live or not), inside `_atomic`."""

    @abstractmethod
    def _write_claim(self, execution_id: str, expected: str | None, claim: Claim | None) -> bool:
        """Set the execution's claim if its token is still `expected`; whether it was set."""

    @abstractmethod
    def _write_row(self, execution_id: str, text: str, workflow_id: str, now: float) -> None:
        """Insert or replace the snapshot text, keeping the claim, as the newest row."""

    @abstractmethod
    def _delete_row(self, execution_id: str) -> bool: ...

    @abstractmethod
    def _read_text(self, execution_id: str) -> str | None:
        """The stored text (None if none), `SnapshotCorrupt` if the backend's own record of
        it says it is not what was written."""

    @abstractmethod
    def ids(self) -> Iterator[str]:
        """Stored execution ids, oldest save first."""

    def where(self) -> str:
        """Where the rows are kept, for messages (`" in <file>"`)."""
        return ""

    # ------------------------------------------------------------------ snapshots

    def save(
        self, execution_id: str, snapshot: Mapping[str, Any], *, claim: Claim | None = None
    ) -> None:
        """Store `snapshot` under `execution_id`. Refused with `SnapshotClaimed` while someone
        else holds a live claim on it, or when `claim` is given and is no longer its claim."""
        text = encoded(execution_id, snapshot)
        with self._atomic("saving"):
            self._guard(execution_id, claim, "save")
            self._write_row(execution_id, text, workflow_of(snapshot), self._now())

    def load(self, execution_id: str) -> dict[str, Any]:
        """The stored snapshot; `SnapshotInvalid` if there is none, `SnapshotCorrupt` if the
        row cannot be read back as one. Reading needs no claim."""
        check_id(execution_id)
        with self._atomic("loading", write=False):
            text = self._read_text(execution_id)
        if text is None:
            raise missing(execution_id)
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise SnapshotCorrupt(
                f"stored snapshot of execution {execution_id!r}{self.where()} is not JSON: {exc}"
            ) from None
        if not isinstance(data, dict):
            raise SnapshotCorrupt(
                f"stored snapshot of execution {execution_id!r}{self.where()} is a JSON "
                f"{_JSON_KINDS.get(type(data), 'value')}, not a mapping"
            )
        return data

    def delete(self, execution_id: str, *, claim: Claim | None = None) -> bool:
        """Forget a snapshot (and its claim); whether there was one. Refused like `save`."""
        check_id(execution_id)
        with self._atomic("deleting"):
            self._guard(execution_id, claim, "delete")
            return self._delete_row(execution_id)

    def __contains__(self, execution_id: object) -> bool:
        return isinstance(execution_id, str) and execution_id in set(self.ids())

    # ------------------------------------------------------------------ claims

    def claim(
        self, execution_id: str, owner: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> Claim:
        """Claim a stored execution for resuming, for `lease_seconds` on the store's clock.
        Exactly one of any number of concurrent callers gets it; the others, and everyone
        until it is released or its lease runs out, get `SnapshotClaimed` naming the holder.
        `SnapshotInvalid` if nothing is stored under `execution_id`."""
        lease = check_request(execution_id, owner, lease_seconds)
        with self._atomic("claiming"):
            stored, current = self._read_claim(execution_id)
            if not stored:
                raise missing(execution_id)
            now = self._now()
            if current is not None and is_live(current, now):
                raise claimed(execution_id, current, now, "claim")
            claim = Claim(execution_id, owner, new_token(), now + lease)
            if not self._write_claim(execution_id, current.token if current else None, claim):
                # The conditional write is what makes the claim exclusive; inside `_atomic`
                # nobody can change the claim between the read and the write.
                raise SnapshotClaimed(
                    execution_id, None, None, f"execution {execution_id!r} was claimed meanwhile"
                )
        return claim

    def renew(self, claim: Claim, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Claim:
        """The same claim, its lease running `lease_seconds` from now; `SnapshotClaimed` if it
        was lost (an expired lease nobody took over is renewed)."""
        lease = check_request(claim.execution_id, claim.owner, lease_seconds)
        with self._atomic("renewing a claim on"):
            _, current = self._read_claim(claim.execution_id)
            now = self._now()
            if current is None or current.token != claim.token:
                raise lost(claim, current, now, "renew the claim on")
            renewed = Claim(claim.execution_id, claim.owner, claim.token, now + lease)
            self._write_claim(claim.execution_id, claim.token, renewed)
        return renewed

    def release(self, claim: Claim) -> bool:
        """Give a claim back; whether it was still the execution's claim."""
        with self._atomic("releasing a claim on"):
            _, current = self._read_claim(claim.execution_id)
            if current is None or current.token != claim.token:
                return False
            return self._write_claim(claim.execution_id, claim.token, None)

    def holder(self, execution_id: str) -> Lease | None:
        """Who holds a live claim on the execution, if anyone."""
        check_id(execution_id)
        with self._atomic("reading the claim on", write=False):
            _, current = self._read_claim(execution_id)
        if current is None or not is_live(current, self._now()):
            return None
        return Lease(current.owner, current.expires_at)

    def _guard(self, execution_id: str, claim: Claim | None, doing: str) -> None:
        """Inside `_atomic`: may this caller write the execution's row?"""
        _, current = self._read_claim(execution_id)
        now = self._now()
        if claim is not None:
            if claim.execution_id != execution_id:
                raise SnapshotInvalid(
                    f"a claim on execution {claim.execution_id!r} cannot {doing} "
                    f"execution {execution_id!r}"
                )
            if current is None or current.token != claim.token:
                raise lost(claim, current, now, doing)
        elif current is not None and is_live(current, now):
            raise claimed(execution_id, current, now, doing)

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:  # noqa: B027  (most backends hold nothing open)
        """Release what the backend holds open (nothing, unless it says otherwise)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
