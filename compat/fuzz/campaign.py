"""A fuzzing campaign: rounds of hypothesis examples, each compared by the harness itself.

The campaign is cut into **rounds** of `batch` examples. Round `r` runs hypothesis with a seed
derived from (`seed`, `r`) alone, so a round's examples do not depend on which process runs
it: `--workers N` hands rounds out to N processes and merges their results in round order.
Within a round every example runs both engines through `compat check`'s own `Runner` (in the
modes the example's features chose) and is judged by the harness's own verdict; a
divergence raises an exception whose *type* stands for its key (the first differing
dimension, the kind of difference and its path with node ids replaced by node types), so
hypothesis keeps distinct divergences apart and shrinks each one to a minimal workflow and
case.

A key an earlier round of the same process already found counts as a repeat and passes: it
is not shrunk again, and the round goes on looking for other divergences. So with no
divergence (the case a CI gate lives in) N workers give exactly what one gives; with
divergences they find the same examples, but which rounds count a key as a repeat depends
on which process ran which rounds.

Hypothesis's example database (`.compat/fuzz/` by default) is read in round 0 only — earlier
failures are replayed first — and written by every round.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from compat.check import CheckOptions, Job, Runner
from compat.engines import EngineRun
from compat.executors.cluster import ClusterField
from compat.fuzz.coverage import Coverage
from compat.fuzz.features import FeatureChoice
from compat.fuzz.strategies import Example, examples
from compat.relay import PORTS
from compat.report import CaseReport
from compat.tolerances import Tolerances, configured
from engines.config import EngineConfig, load_config
from engines.documents import Case, Fixture
from engines.errors import ConfigError
from engines.tools import ToolRegistry

DEFAULT_EXAMPLES = 1000
FUZZ_SOURCE = "<fuzz>"


class FuzzOptions(BaseModel):
    """How to run a campaign (the CLI's options)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    primary: str = "graph"
    shadow: str = "journey"
    #: Stop after this many generated examples (default 1,000 when no duration is given).
    examples: int | None = Field(default=None, ge=1, le=100_000_000)
    #: Stop after this many seconds (rounds already started finish).
    duration: float | None = Field(default=None, gt=0, le=7 * 86_400, allow_inf_nan=False)
    seed: int = Field(default=0, ge=0, lt=2**63)
    max_nodes: int = Field(default=12, ge=1, le=200)
    max_depth: int = Field(default=2, ge=1, le=4)
    #: `+a,-b`: features forced on or off (compat/fuzz/features.py).
    features: str | None = None
    workers: int = Field(default=1, ge=1, le=64)
    #: Run the rounds on a Dask cluster (compat/executors/cluster.py): `local`, `local:N`
    #: or `tcp://HOST:PORT`.
    cluster: ClusterField = None
    #: Seconds one engine run may take.
    timeout: float = Field(default=30.0, gt=0, le=604_800, allow_inf_nan=False)
    config: str | None = None
    #: hypothesis's example database folder; None: no database.
    database: str | None = ".compat/fuzz"
    #: Examples per round: small rounds, each with its own seed, give more varied examples
    #: than long ones (hypothesis builds a round's later examples by mutating earlier ones).
    batch: int = Field(default=25, ge=1, le=100_000)
    #: `module:attr` of a mapping tool name -> hypothesis strategy for its args.
    tools: str | None = None
    shrink: bool = True
    #: Stop after the first round that finds a divergence (a yardstick's time to detection).
    first: bool = False

    @model_validator(mode="after")
    def _one_executor(self) -> FuzzOptions:
        if self.cluster is not None and self.workers > 1:
            raise PydanticCustomError(
                "executor", "--cluster runs rounds on a Dask cluster: drop --workers"
            )
        return self

    def planned(self) -> int | None:
        if self.examples is None and self.duration is None:
            return DEFAULT_EXAMPLES
        return self.examples


def round_seed(seed: int, index: int) -> int:
    digest = hashlib.sha256(f"compat-fuzz:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def rounds(options: FuzzOptions) -> Iterator[tuple[int, int]]:
    """(round index, examples in it), in order; endless when only a duration bounds it."""
    total = options.planned()
    index = 0
    while total is None or index * options.batch < total:
        size = options.batch if total is None else min(options.batch, total - index * options.batch)
        yield index, size
        index += 1


# ---------------------------------------------------------------------- divergences

Key = tuple[str, str, str]
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")


def normalise(path: str, types: dict[str, str]) -> str:
    """A difference's path with node ids replaced by node types and numbers by `#`, so the
    same bug found in two workflows (or in one as it shrinks) has one key."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.isdigit():
            return "#"
        if token in types:
            return types[token]
        if token[:2] in ("v_", "o_") and token[2:] in types:
            return token[:2] + types[token[2:]]
        return token

    return _TOKEN.sub(one, path)


#: Components of a value path kept in a key: `outputs.o_end`, `context.nodes.loop`,
#: `context.vars.v_set`; what lies below is the shape of the value, not the bug.
_VALUE_DEPTH = {"outputs": 2, "context": 3}


def key_path(dimension: str, path: str, types: dict[str, str]) -> str:
    """The part of a difference's path that names the bug: normalised, and for values cut
    to the output, variable or node that differs."""
    depth = _VALUE_DEPTH.get(dimension)
    if depth is not None:
        path = ".".join(path.split("[", 1)[0].split(".")[:depth])
    return normalise(path, types)


def divergence_key(report: CaseReport, example: Example) -> Key:
    types: dict[str, str] = {}
    for doc in reversed(example.generated.documents()):
        types.update({node["id"]: node["type"] for node in doc["nodes"]})
    for dimension in report.dimensions:
        if dimension.differences:
            first = dimension.differences[0]
            return dimension.name, first.kind, key_path(dimension.name, first.path, types)
    worst = report.worst
    return ("verdict", "incompatible", worst.path if worst else "")


@contextmanager
def seed_alone() -> Iterator[None]:
    """Examples that depend on the seed alone. hypothesis (6.131 and later) mixes literals
    found in the process's loaded local modules into its draws, so the same seed would give
    other examples in a worker process, under pytest or after a user's import; for the
    length of a round, that pool is empty."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - an older hypothesis has no such pool
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if original is None or cache is None:  # pragma: no cover
        yield
        return
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()


class Divergence(AssertionError):
    """The two engines disagree on an example. Subclassed per key (`divergence_type`)."""

    key: Key = ("", "", "")

    def __init__(self, message: str, example: Example, report: CaseReport) -> None:
        super().__init__(message)
        self.example = example
        self.report = report


_TYPES: dict[Key, type[Divergence]] = {}


def divergence_type(key: Key) -> type[Divergence]:
    """One exception class per key: hypothesis tells failures apart by type, so each key
    is shrunk on its own and never turned into another."""
    found = _TYPES.get(key)
    if found is None:
        found = _TYPES[key] = type(f"Divergence[{'/'.join(key)}]", (Divergence,), {"key": key})
    return found


# ---------------------------------------------------------------------- one round


class _WriteOnly(ExampleDatabase):
    """Saves what a round finds; replays nothing (only round 0 replays)."""

    def __init__(self, db: ExampleDatabase) -> None:
        super().__init__()
        self._wrapped = db

    def fetch(self, key: bytes) -> Iterator[bytes]:
        return iter(())

    def save(self, key: bytes, value: bytes) -> None:
        self._wrapped.save(key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        self._wrapped.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._wrapped.move(src, dest, value)

    def _start_listening(self) -> None:
        pass

    def _stop_listening(self) -> None:
        pass


@dataclass
class FoundDivergence:
    """A divergence, shrunk: plain data, so it crosses processes."""

    key: Key
    round: int
    fixture: dict[str, Any]
    modes: tuple[str, ...]
    report: dict[str, Any]
    nodes: int
    #: hypothesis could not replay it the same way: an engine is not deterministic.
    flaky: bool = False


@dataclass
class RoundResult:
    index: int
    #: Examples compared before the round's first divergence, and after it (shrinking).
    examples: int = 0
    shrinking: int = 0
    seconds: float = 0.0
    coverage: Coverage = field(default_factory=Coverage)
    found: list[FoundDivergence] = field(default_factory=list)
    #: Divergent examples whose key an earlier round (in this process) had already found:
    #: counted, not shrunk again, so the round goes on looking for other bugs.
    repeats: int = 0
    #: When the round started (perf_counter; the driver makes it relative to the campaign).
    started: float = 0.0
    #: Seconds into the round when the first divergent example ran (before shrinking).
    first_divergence: float | None = None


class _Runner(Runner):
    """compat check's runner, keeping the primary's run (coverage reads its trace)."""

    last_primary: EngineRun | None = None

    def run(self, role: str, job: Job, case: Case, tools: ToolRegistry | None = None) -> EngineRun:
        done = super().run(role, job, case, tools)
        if role == "primary":
            self.last_primary = done
        return done


MODE_FLAGS = ("roundtrip", "handoff", "replay")


def example_modes(example: Example) -> tuple[str, ...]:
    return tuple(m for m in MODE_FLAGS if m in example.features)


def _flatten(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _flatten(inner)
    else:
        yield error


class Fuzzer:
    """Runs rounds in this process (one per worker process)."""

    def __init__(self, options: FuzzOptions) -> None:
        self.options = options
        self.config: EngineConfig = (
            load_config(path=options.config) if options.config else load_config()
        )
        self.tools = self.config.tool_registry()
        self.tolerances: Tolerances = configured(self.config)
        choice = FeatureChoice.parse(options.features)
        if not {options.primary, options.shadow} <= set(PORTS):
            # A run is handed over through the built-in engines' saved formats only.
            choice = choice.without("handoff")
        self.strategy = examples(
            max_nodes=options.max_nodes,
            max_depth=options.max_depth,
            features=choice,
            tools=load_tool_strategies(options.tools),
            registry=self.tools,
        )
        self.runners: dict[tuple[str, ...], _Runner] = {}
        #: Keys found by this process's earlier rounds.
        self.known: set[Key] = set()
        self.runner(())  # loads the engines now: a bad engine is bad input, before any round
        self.database = (
            DirectoryBasedExampleDatabase(options.database) if options.database else None
        )

    def runner(self, modes: tuple[str, ...]) -> _Runner:
        runner = self.runners.get(modes)
        if runner is None:
            check = CheckOptions(
                primary=self.options.primary,
                shadow=self.options.shadow,
                timeout=self.options.timeout,
                in_process=True,
                config=self.options.config,
                **{mode: True for mode in modes},
            )
            # Built-in engines run on this thread (no thread per run); an engine of the
            # user's runs in a thread under `timeout`, so a hang is a finding, not a stall.
            direct = {self.options.primary, self.options.shadow} <= set(PORTS)
            runner = self.runners[modes] = _Runner(self.config, check, direct=direct)
        return runner

    def compare(self, example: Example) -> tuple[CaseReport, EngineRun | None]:
        """The harness's verdict on one example (and the primary's run)."""
        case = example.case
        fixture = Fixture(FUZZ_SOURCE, None, example.generated.registry, (case,), {})
        job = Job(Path(FUZZ_SOURCE), fixture, self.tolerances, (case,))
        runner = self.runner(example_modes(example))
        runner.last_primary = None
        report = runner.case(job, case)
        return report, runner.last_primary

    def run_round(
        self, index: int, size: int, tick: Callable[[RoundResult], None] | None = None
    ) -> RoundResult:
        started = time.perf_counter()
        result = RoundResult(index, started=started)

        def test(example: Example) -> None:
            report, primary = self.compare(example)
            if result.first_divergence is None:
                result.examples += 1
            else:  # hypothesis is shrinking (or exploring around) this round's divergence
                result.shrinking += 1
            result.coverage.add(example, primary.result if primary else None)
            if tick is not None:
                tick(result)
            if not report.compatible:
                if result.first_divergence is None:
                    result.first_divergence = time.perf_counter() - started
                key = divergence_key(report, example)
                if key in self.known:
                    result.repeats += 1
                    return
                raise divergence_type(key)(" / ".join(key), example, report)

        # The database key: these options' examples, not another campaign's.
        test._hypothesis_internal_add_digest = repr(  # type: ignore[attr-defined]
            (
                self.options.primary,
                self.options.shadow,
                self.options.max_nodes,
                self.options.max_depth,
                self.options.features,
                self.options.tools,
            )
        ).encode()
        database: ExampleDatabase | None = self.database
        if database is not None and index > 0:
            database = _WriteOnly(database)
        phases = [Phase.reuse, Phase.generate] + ([Phase.shrink] if self.options.shrink else [])
        runnable = settings(
            max_examples=size,
            database=database,
            deadline=None,
            derandomize=False,
            phases=phases,
            report_multiple_bugs=True,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(hypothesis_seed(round_seed(self.options.seed, index))(given(self.strategy)(test)))
        try:
            with seed_alone():
                runnable()
        except BaseException as error:
            found = list(_flatten(error))
            if not all(isinstance(e, Divergence) for e in found):
                raise
            flaky = type(error).__name__.startswith("Flaky")
            for divergence in found:
                assert isinstance(divergence, Divergence)
                result.found.append(_found(divergence, index, flaky))
        self.known.update(found.key for found in result.found)
        result.seconds = time.perf_counter() - started
        return result


def _found(divergence: Divergence, index: int, flaky: bool) -> FoundDivergence:
    example = divergence.example
    modes = example_modes(example)
    return FoundDivergence(
        key=divergence.key,
        round=index,
        fixture=example.fixture(),
        modes=modes,
        report=divergence.report.model_dump(mode="json"),
        nodes=sum(
            len(doc["nodes"]) for doc in [example.generated.document, *example.generated.called()]
        ),
        flaky=flaky,
    )


def load_tool_strategies(spec: str | None) -> dict[str, Any]:
    """`module:attr` naming a mapping: tool name -> hypothesis strategy for its args."""
    if not spec:
        return {}
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"--tools {spec!r}: expected module:attr")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())  # the user's project, as for engines and tool modules
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"--tools {spec!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    value = getattr(module, attr, None)
    if not isinstance(value, dict):
        raise ConfigError(
            f"--tools {spec!r}: must name a mapping of tool name -> hypothesis strategy for "
            f"its args, not {type(value).__name__}"
        )
    return value


def examples_per_second(examples: int, seconds: float) -> float:
    return examples / seconds if seconds > 0 else math.inf
