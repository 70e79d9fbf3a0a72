"""Claims on paused executions: one resumer at a time, for a while.

Two processes that both load a paused run and resume it would both run its next turn —
calling its tools twice, answering one question twice — and the last to save would win. So
a store hands out **claims**: `store.claim(execution_id, owner, lease_seconds)` succeeds for
one caller only, atomically (in SQLite, one `BEGIN IMMEDIATE` transaction with a conditional
`UPDATE`), and every other caller gets `SnapshotClaimed` naming the execution and who holds
it. A claim is a **lease**: it expires `lease_seconds` after it was taken (or last renewed) on
the store's clock, so a resumer that crashed does not lock its run forever — another one may
claim it then. Until someone else does, an expired claim still works for its holder.

A claim is also the proof its holder shows to write: `save` and `delete` given a claim
succeed only while it is the run's current claim (a resumer whose lease ran out and was
taken over cannot overwrite the newer resumer's progress), and without a claim they are
refused while someone else holds a live one.

Time comes from the store's `now` (wall time by default, since processes compare it; tests
inject their own), never from an engine clock.
"""

from __future__ import annotations

import math
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from engines.errors import SnapshotClaimed, SnapshotInvalid

#: The store's clock: seconds, comparable between the processes sharing a store.
Now = Callable[[], float]

#: Long enough for a turn that waits on tools; a resumer renews for longer ones.
DEFAULT_LEASE_SECONDS = 300.0

_MAX_OWNER = 200


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to resume one paused execution: what `save`, `delete`, `renew` and
    `release` are shown. `token` is unique to this claim, so a claim that was lost and taken
    again by the same owner is still told apart."""

    execution_id: str
    owner: str
    token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a live claim on an execution, and until when (on the store's clock)."""

    owner: str
    expires_at: float


def default_owner() -> str:
    """`host:pid:random` — unique to this process and call, readable in an error."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def new_token() -> str:
    return uuid.uuid4().hex


def is_text(value: str) -> bool:
    """Whether `value` has a UTF-8 form (a lone surrogate has none, and no store keeps it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_id(execution_id: object) -> str:
    """`execution_id`, or `SnapshotInvalid` if it cannot name a stored execution."""
    if not isinstance(execution_id, str) or not execution_id or not is_text(execution_id):
        raise SnapshotInvalid(
            f"execution id must be a non-empty string of valid text, not {execution_id!r:.80}"
        )
    return execution_id


def check_request(execution_id: object, owner: object, lease_seconds: object) -> float:
    """The lease as a float, or `SnapshotInvalid` for an id, owner or lease that is not one."""
    check_id(execution_id)
    if not isinstance(owner, str) or not owner or len(owner) > _MAX_OWNER or not is_text(owner):
        raise SnapshotInvalid(
            f"a claim's owner must be a non-empty string of at most {_MAX_OWNER} characters, "
            f"not {owner!r:.80}"
        )
    if (
        isinstance(lease_seconds, bool)
        or not isinstance(lease_seconds, int | float)
        or not math.isfinite(lease_seconds)
        or lease_seconds <= 0
    ):
        raise SnapshotInvalid(
            f"a lease must be a positive, finite number of seconds, not {lease_seconds!r}"
        )
    return float(lease_seconds)


def is_live(claim: Claim | None, now: float) -> bool:
    return claim is not None and claim.expires_at > now


def claimed(execution_id: str, holder: Claim, now: float, doing: str) -> SnapshotClaimed:
    """Refusal of `doing` on an execution someone else holds a live claim on."""
    left = holder.expires_at - now
    return SnapshotClaimed(
        execution_id,
        holder.owner,
        holder.expires_at,
        f"cannot {doing} execution {execution_id!r}: it is claimed by {holder.owner!r} "
        f"for {left:g} more seconds (a run is resumed by one process at a time)",
    )


def lost(claim: Claim, current: Claim | None, now: float, doing: str) -> SnapshotClaimed:
    """Refusal of `doing` with a claim that is no longer the execution's claim."""
    if current is not None and is_live(current, now):
        why = f"it is now claimed by {current.owner!r} for {current.expires_at - now:g} seconds"
    elif current is not None:
        why = f"it was taken over by {current.owner!r}, whose lease has also run out"
    else:
        why = "it was released, or the execution is no longer stored"
    return SnapshotClaimed(
        claim.execution_id,
        current.owner if current is not None else None,
        current.expires_at if current is not None else None,
        f"cannot {doing} execution {claim.execution_id!r}: the claim of {claim.owner!r} on "
        f"it was lost ({why})",
    )
