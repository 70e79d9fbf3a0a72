"""A process-runner sample as the service holds it: read at once what deciding needs, decode
the rest only when someone reads it.

The worker's answer comes in two parts (compat/shadow/worker.py): a header of plain values
(statuses, errors, the verdict, the costs) and a body, the pickled runs, the shadow's value
or exception and the comparison. Decoding the body (pydantic models, a whole `RunResult`)
took most of the GIL the service's worker thread held per sample, time the primaries
waited for. An experiment's verdict, counters and one-line summary need only the header; the
body is decoded, once, the first time a hook or publisher reads `value`, `exception`,
`run`, `cleaned` or `comparison`. The objects are `Observation` and `ExperimentResult`
subclasses with the same fields and behaviour: pickling or copying one gives the plain
class, and `dataclasses.replace` does too.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar

from compat.compare import Comparison
from compat.engines import EngineRun
from compat.shadow.model import ExperimentResult, Observation, ShadowProcessError
from compat.shadow.runner import Raw

if TYPE_CHECKING:
    from compat.shadow.worker import Answer

_UNSET: Any = object()


@dataclass(frozen=True)  # no slots: pickled as a plain dict, without a Python-level hook
class Parts:
    """The body: what the worker made of the sample beyond the header."""

    value: Any
    exception: BaseException | None
    shadow_run: EngineRun
    #: The primary's run; its `result` is None when it is the very value the service sent
    #: (the service puts its own object back, so `run.result is value` as with threads).
    primary_run: EngineRun
    primary_result_is_value: bool
    comparison: Comparison | None
    #: What `compare_runs` raised, reported as a `compare` error (as with threads).
    compare_error: BaseException | None


class Body:
    """The pickled `Parts`, decoded on first use (once, whichever thread asks first)."""

    __slots__ = ("_blob", "_lock", "_parts", "_primary_value")

    def __init__(self, blob: bytes, primary_value: Any) -> None:
        self._blob = blob
        self._primary_value = primary_value
        self._parts: Parts | None = None
        self._lock = threading.Lock()

    @property
    def decoded(self) -> bool:
        return self._parts is not None

    def parts(self) -> Parts:
        parts = self._parts
        if parts is not None:
            return parts
        with self._lock:
            if self._parts is None:
                self._parts = self._decode()
            return self._parts

    def _decode(self) -> Parts:
        try:
            parts: Parts = pickle.loads(self._blob)
        except Exception as exc:
            raise ShadowProcessError(
                "the shadow's answer cannot be read in this process (is every class of its "
                f"value and exception importable here?): {type(exc).__name__}: {exc}"
            ) from None
        if parts.primary_result_is_value:
            run = parts.primary_run.model_copy(update={"result": self._primary_value})
            parts = replace(parts, primary_run=run, primary_result_is_value=False)
        self._blob = b""
        return parts


class _ReadsAsPlain:
    """What both lazy classes share: `make` builds one empty and fills its slots; equality
    and repr are the plain dataclass's, and `dataclasses.replace`, copies and pickles give
    an instance of it (`_plain`), every field read."""

    __slots__ = ()
    _plain: ClassVar[type]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # dataclasses.replace: every field given
            return cls._plain(*args, **kwargs)
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # filled by `make`

    def __reduce__(self) -> tuple[Any, ...]:
        return self._plain, _values(self, self._plain)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self._plain) if f.repr
        )
        return f"{self._plain.__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, self._plain):
            return _values(self, self._plain) == _values(other, self._plain)
        return NotImplemented


class LazyObservation(_ReadsAsPlain, Observation):
    """An `Observation` whose `run` (and, for the shadow, `value`, `exception` and
    `cleaned`) come from the body when first read; `raised`, `status` and `describe()` read
    the header."""

    __slots__ = (
        "_body", "_cleaned", "_error", "_exception", "_raised", "_shadow", "_status", "_value",
    )  # fmt: skip

    _plain = Observation

    @classmethod
    def make(
        cls,
        body: Body,
        *,
        shadow: bool,
        engine: str,
        timed_out: bool,
        wall_seconds: float,
        cpu_seconds: float | None,
        raised: bool,
        status: str,
        error: str | None,
        value: Any = _UNSET,
        exception: Any = _UNSET,
        cleaned: Any = _UNSET,
    ) -> LazyObservation:
        """`value`, `exception` and `cleaned` when known here; else read from the body."""
        obs = cls()
        put = object.__setattr__
        for name, item in (
            ("engine", engine), ("timed_out", timed_out), ("wall_seconds", wall_seconds),
            ("cpu_seconds", cpu_seconds), ("_body", body), ("_shadow", shadow),
            ("_value", value), ("_exception", exception), ("_cleaned", cleaned),
            ("_raised", raised), ("_status", status), ("_error", error),
        ):  # fmt: skip
            put(obs, name, item)
        return obs

    @property  # type: ignore[override]
    def value(self) -> Any:
        value = self._value
        return self._body.parts().value if value is _UNSET else value

    @property  # type: ignore[override]
    def exception(self) -> BaseException | None:
        exception = self._exception
        return self._body.parts().exception if exception is _UNSET else exception

    @property  # type: ignore[override]
    def run(self) -> EngineRun:
        parts = self._body.parts()
        return parts.shadow_run if self._shadow else parts.primary_run

    @property  # type: ignore[override]
    def cleaned(self) -> Any:
        cleaned = self._cleaned
        if cleaned is not _UNSET:
            return cleaned
        return None if self._raised or self.timed_out else self.value

    @property
    def raised(self) -> bool:
        return self._raised  # type: ignore[no-any-return]

    @property
    def status(self) -> str:
        return self._status  # type: ignore[no-any-return]

    @property
    def error(self) -> str | None:
        return self._error  # type: ignore[no-any-return]

    __hash__ = Observation.__hash__


def observations(
    answer: Answer,
    body: Body,
    primary: Raw,
    primary_name: str,
    shadow_name: str,
    primary_cleaned: Any,
    clean: Callable[[Any], Any] | None,
) -> tuple[LazyObservation, LazyObservation]:
    """Both observations of an answered sample: the primary's value, exception and cleaned
    value are the service's own, its run the body's; the shadow's all come from the body,
    but for `clean(value)` when there is a `clean` (it reads the value, so now)."""
    primary_obs = LazyObservation.make(
        body, shadow=False, engine=primary_name, timed_out=False,
        wall_seconds=primary.wall_seconds, cpu_seconds=primary.cpu_seconds,
        raised=primary.exception is not None, status=answer.primary_status,
        error=answer.primary_error, value=primary.value, exception=primary.exception,
        cleaned=primary_cleaned,
    )  # fmt: skip
    shadow_obs = LazyObservation.make(
        body, shadow=True, engine=shadow_name, timed_out=answer.timed_out,
        wall_seconds=answer.wall_seconds, cpu_seconds=answer.cpu_seconds,
        raised=answer.raised, status=answer.shadow_status, error=answer.shadow_error,
    )  # fmt: skip
    if clean is not None and not (answer.raised or answer.timed_out):
        object.__setattr__(shadow_obs, "_cleaned", clean(shadow_obs.value))
    return primary_obs, shadow_obs


class LazyResult(_ReadsAsPlain, ExperimentResult):
    """An `ExperimentResult` whose `comparison` comes from the body when first read."""

    __slots__ = ("_body", "_compared")

    _plain = ExperimentResult

    @classmethod
    def make(cls, body: Body, compared: bool, **known: Any) -> LazyResult:
        """Every field but `comparison` given; the comparison is the body's if `compared`."""
        result = cls()
        put = object.__setattr__
        for name, item in known.items():
            put(result, name, item)
        put(result, "_body", body)
        put(result, "_compared", compared)
        return result

    @property  # type: ignore[override]
    def comparison(self) -> Comparison | None:
        return self._body.parts().comparison if self._compared else None

    __hash__ = ExperimentResult.__hash__


def _values(item: Any, kind: type) -> tuple[Any, ...]:
    """The dataclass's fields, in order (what its `__eq__` and `__init__` use)."""
    return tuple(getattr(item, f.name) for f in fields(kind))
