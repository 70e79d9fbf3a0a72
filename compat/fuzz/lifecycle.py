"""Stateful fuzzing of the run lifecycle (a hypothesis state machine).

A generated workflow that pauses is started on a built-in engine; then, in an order
hypothesis draws, the paused run is answered, saved in its engine's own form (a graph
snapshot, a journey session) and resumed on a fresh engine, handed to an engine through the
common state (`compat.sync.handoff`), or cancelled. After every step that changes the result
the run so far must equal the uninterrupted run — the same workflow, inputs and conversation
(and `Cancel(when="paused")` when cancelled) in one go — on the graph engine and on the journey
engine, by the harness's own comparison (`compat.compare.compare_runs`) under the default
tolerances; a run just restored or handed off, cancelled on yet another fresh engine, must
equal the uninterrupted run cancelled there; a restored run must save as it was saved; and a
finished run must refuse to be answered, saved or cancelled again.

    from hypothesis.stateful import run_state_machine_as_test
    from compat.fuzz.lifecycle import RunLifecycle, check_lifecycle

    run_state_machine_as_test(RunLifecycle)      # in a test
    check_lifecycle(max_examples=50, seed=0)     # or as a plain check
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as use_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from compat.compare import Comparison, compare_runs
from compat.engines import BUILTIN_ENGINES, EngineRun, run_engine_here, verdict
from compat.fuzz.strategies import GOOD_PAYLOADS, INPUTS, PAYLOADS, GeneratedWorkflow, workflows
from compat.relay import PORTS
from compat.sync import handoff as hand_over
from compat.tolerances import Tolerances
from engines.documents import Cancel
from engines.errors import EngineStateError
from engines.model import WorkflowRegistry
from engines.result import RunResult, RunStatus
from engines.tools import ToolRegistry, builtin_registry

ENGINES = ("graph", "journey")
#: How many workflows are drawn, at most, to find one that pauses twice.
TRIES = 4
#: Hypothesis's phases but `explain`, which traces every line and takes minutes here.
PHASES = tuple(p for p in Phase if p is not Phase.explain)
#: Differences shown in a failure message, at most.
SHOWN = 20


def _inputs(generated: GeneratedWorkflow) -> int:
    main = generated.workflow
    return sum(main.workflow.node(n).type == "input" for n in main.topology.iter_nodes())


@st.composite
def _pausing(draw: Any, source: st.SearchStrategy[GeneratedWorkflow]) -> GeneratedWorkflow:
    best: GeneratedWorkflow = draw(source)
    for _ in range(TRIES - 1):
        if _inputs(best) >= 2:
            break
        generated: GeneratedWorkflow = draw(source)
        if _inputs(generated) > _inputs(best):
            best = generated
    return best


def pausing_workflows(**options: Any) -> st.SearchStrategy[GeneratedWorkflow]:
    """`workflows(features="+input", max_nodes=8, ...)` favouring workflows that pause more
    than once: of up to `TRIES` drawn, the first with two `input` nodes, else the one with
    the most. None is rejected, so no example is thrown away."""
    options.setdefault("features", "+input")
    options.setdefault("max_nodes", 8)
    return _pausing(workflows(**options))


def _json(document: Any) -> Any:
    """What crosses a process boundary."""
    return json.loads(json.dumps(document))


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=repr)
    return text if len(text) <= 200 else text[:197] + "..."


def first_difference(left: Any, right: Any, path: str = "$") -> str:
    """Where two JSON documents first differ, and how."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right), key=str):
            if key == "integrity":
                continue
            if key not in left or key not in right:
                return f"{path}.{key}: only in the {'restored' if key in right else 'saved'} one"
            if left[key] != right[key]:
                return first_difference(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                return first_difference(a, b, f"{path}[{i}]")
    return f"{path}: saved {_show(left)}, restored {_show(right)}"


def explain(comparison: Comparison, label: str) -> str:
    """The differences of a comparison, one a line."""
    lines = [f"{label}: score {comparison.score:.3f}, {len(comparison.differences)} differences"]
    for d in comparison.differences[:SHOWN]:
        lines.append(
            f"  [{d.severity}] {d.path} ({d.kind}): {d.note} "
            f"lifecycle={_show(d.primary)} uninterrupted={_show(d.shadow)}"
        )
    return "\n".join(lines)


def uninterrupted(
    generated: GeneratedWorkflow,
    inputs: dict[str, Any],
    answers: Sequence[Any],
    cancelled: bool,
    tools: ToolRegistry,
) -> dict[str, EngineRun]:
    """The run in one go on each built-in engine: same inputs and conversation, then
    `Cancel(when="paused")` if the lifecycle cancelled it."""
    cancel = Cancel(when="paused") if cancelled else None
    return {
        name: run_engine_here(
            BUILTIN_ENGINES[name](tools), generated.registry, inputs, list(answers), cancel=cancel
        )
        for name in ENGINES
    }


class RunLifecycle(RuleBasedStateMachine):
    """One run, moved through its lifecycle in a drawn order (module docstring).
    `lifecycle_machine(...)` makes a variant with other workflows, engines or payloads."""

    workflows_strategy: ClassVar[st.SearchStrategy[GeneratedWorkflow]] = pausing_workflows()
    engines: ClassVar[tuple[str, ...]] = ENGINES
    #: Payloads answering the pauses; None: as `cases()` draws them for the workflow.
    payloads: ClassVar[st.SearchStrategy[Any] | None] = None
    tolerances: ClassVar[Tolerances] = Tolerances()
    tools: ClassVar[ToolRegistry] = builtin_registry()
    #: When set, every machine's history is appended to it at teardown (check_lifecycle).
    log: ClassVar[list[tuple[str, ...]] | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.generated: GeneratedWorkflow | None = None
        self.inputs: dict[str, Any] = {}
        self.kind = ""
        self.engine: Any = None
        self.run: Any = None
        self.result: RunResult | None = None
        self.answers: list[Any] = []
        #: The step at which the run was cancelled while paused, or None.
        self.cancelled_at: int | None = None
        self.history: list[str] = []
        self._version = 0
        self._checked = -1
        #: The run was restored or handed off since the last check.
        self._moved = False

    # ------------------------------------------------------------------ state

    @property
    def paused(self) -> bool:
        return self.result is not None and self.result.status is RunStatus.PAUSED

    @property
    def finished(self) -> bool:
        return self.result is not None and not self.paused

    def _note(self, kind: str, text: str) -> None:
        self.history.append(f"{kind}: {text}")

    def _turn(self, turn: Any) -> None:
        self.result = self.engine.clock.run(turn)
        self._version += 1

    @property
    def registry(self) -> WorkflowRegistry:
        assert self.generated is not None, "no run started"
        return self.generated.registry

    def _load(self, kind: str, document: dict[str, Any]) -> tuple[Any, Any]:
        """A fresh engine of `kind`, and the saved run loaded on it."""
        port = PORTS[kind]
        engine = port.make(self.tools, {})
        return engine, port.load(engine, self.registry, _json(document))

    def _move(self, target: str, document: dict[str, Any]) -> None:
        self.engine, self.run = self._load(target, document)
        self.kind = target
        self._moved = True

    def _saved(self) -> dict[str, Any]:
        saved: dict[str, Any] = _json(PORTS[self.kind].save(self.run))
        return saved

    # ------------------------------------------------------------------ rules
    # Every rule takes `data`: hypothesis favours rules with fewer arguments, and the same
    # arguments leave them ordered by name alone (`answer` first), so no rule crowds out the
    # others — `cancel`, which ends the run, least of all.

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self.generated = data.draw(self.workflows_strategy, label="workflow")
        self.inputs = data.draw(INPUTS, label="inputs")
        self.kind = data.draw(st.sampled_from(self.engines), label="engine")
        port = PORTS[self.kind]
        self.engine = port.make(self.tools, {})
        self.run = port.begin(self.engine, self.generated.registry, dict(self.inputs))
        digest = hashlib.sha256(
            json.dumps(self.generated.documents(), sort_keys=True).encode()
        ).hexdigest()[:12]
        self._note("start", f"on {self.kind}: workflow {digest}, inputs {_show(self.inputs)}")
        self._turn(port.first(self.run))

    @precondition(lambda self: self.paused)
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        assert self.generated is not None
        payloads = self.payloads or (
            PAYLOADS if "bad_payloads" in self.generated.features else GOOD_PAYLOADS
        )
        payload = data.draw(payloads, label="payload")
        self.answers.append(payload)
        self._note("answer", f"{_show(payload)} on {self.kind}")
        self._turn(PORTS[self.kind].answer(self.run, payload))

    @precondition(lambda self: self.paused)
    @rule(data=st.data())
    def save_and_restore_same(self, data: st.DataObject) -> None:
        saved = self._saved()
        self._note("restore", f"saved and restored on a fresh {self.kind} engine")
        self._move(self.kind, saved)
        again = self._saved()
        assert again == saved, (
            f"a {self.kind} run restored from its saved form saves differently: "
            f"{first_difference(saved, again)}\n" + self.story()
        )

    @precondition(lambda self: self.paused)
    @rule(data=st.data())
    def handoff(self, data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(self.engines), label="target")
        source = self.kind
        document = hand_over(self._saved(), source, target, registry=self.registry)
        self._note("handoff", f"{source} -> {target} through the common state")
        self._move(target, document)

    @precondition(lambda self: self.paused)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self.cancelled_at = len(self.history)
        self._note("cancel", f"while paused on {self.kind}")
        self._turn(self.run.cancel_paused)

    @precondition(lambda self: self.finished)
    @rule(data=st.data())
    def refuse_when_finished(self, data: st.DataObject) -> None:
        """A finished run can be neither answered nor saved (nor cancelled while paused)."""
        port = PORTS[self.kind]
        attempts = {
            "answered": lambda: self.engine.clock.run(
                port.answer(self.run, data.draw(GOOD_PAYLOADS, label="payload"))
            ),
            "saved": lambda: port.save(self.run),
            "cancelled while paused": lambda: self.engine.clock.run(self.run.cancel_paused),
        }
        for what, attempt in attempts.items():
            try:
                attempt()
            except EngineStateError:
                continue
            status = self.result.status.value if self.result is not None else "?"
            raise AssertionError(f"a {status} {self.kind} run was {what}\n" + self.story())

    # ------------------------------------------------------------------ the invariant

    def story(self) -> str:
        assert self.generated is not None
        lines = [
            "workflow: " + json.dumps(self.generated.documents(), sort_keys=True),
            f"features: {','.join(sorted(self.generated.features))}",
            f"inputs: {_show(self.inputs)}",
            f"conversation: {_show(self.answers)}",
            f"cancelled: {self.cancelled_at is not None}",
            "steps:",
            *(f"  {i}. {step}" for i, step in enumerate(self.history)),
        ]
        return "\n".join(lines)

    def _differences(self, result: RunResult, cancelled: bool) -> list[str]:
        """How `result` differs from the uninterrupted run on each built-in engine."""
        assert self.generated is not None
        mine = verdict(
            f"lifecycle:{self.kind}", value=result, timeout=0.0, wall_seconds=0.0, trusted=True
        )
        problems = []
        references = uninterrupted(self.generated, self.inputs, self.answers, cancelled, self.tools)
        for name, reference in references.items():
            comparison = compare_runs(mine, reference, self.generated.workflow, self.tolerances)
            if not comparison.compatible:
                label = f"lifecycle ({mine.status}) vs uninterrupted {name} ({reference.status})"
                if reference.error:
                    label += f" [{reference.error}]"
                problems.append(explain(comparison, label))
        return problems

    @invariant()
    def equals_uninterrupted(self) -> None:
        """The result so far equals the uninterrupted run's; and a run just moved (restored
        or handed off), cancelled on yet another fresh engine, equals the uninterrupted run
        cancelled at that pause — so a move is checked even when no step follows it."""
        if self.result is None:
            return
        if self._checked != self._version:
            self._checked = self._version
            problems = self._differences(self.result, self.cancelled_at is not None)
            assert not problems, (
                "the run differs from the uninterrupted run:\n" + "\n".join(problems) + "\n"
            ) + self.story()
        if self._moved and self.paused:
            self._moved = False
            engine, probe = self._load(self.kind, self._saved())
            problems = self._differences(engine.clock.run(probe.cancel_paused), True)
            assert not problems, (
                f"the run moved to {self.kind}, then cancelled, differs from the uninterrupted "
                "run cancelled at that pause:\n" + "\n".join(problems) + "\n"
            ) + self.story()

    def teardown(self) -> None:
        if self.log is not None and self.history:
            status = self.result.status.value if self.result is not None else "-"
            self.log.append((*self.history, f"end {status}"))


def lifecycle_machine(
    workflows_strategy: st.SearchStrategy[GeneratedWorkflow] | None = None,
    engines: Sequence[str] = ENGINES,
    *,
    payloads: st.SearchStrategy[Any] | None = None,
    tolerances: Tolerances | None = None,
    tools: ToolRegistry | None = None,
) -> type[RunLifecycle]:
    """A `RunLifecycle` drawing its workflows from `workflows_strategy`, starting runs and
    handing them over among `engines` (built-in names; a single one makes the handoff a round
    trip through the common state), answering with `payloads`."""
    chosen = tuple(engines)
    if not chosen or not set(chosen) <= set(ENGINES):
        raise ValueError(f"engines: choose among {', '.join(ENGINES)}, not {chosen!r}")
    attributes: dict[str, Any] = {"engines": chosen, "payloads": payloads}
    if workflows_strategy is not None:
        attributes["workflows_strategy"] = workflows_strategy
    if tolerances is not None:
        attributes["tolerances"] = tolerances
    if tools is not None:
        attributes["tools"] = tools
    return type("RunLifecycle", (RunLifecycle,), attributes)


@dataclass
class LifecycleReport:
    """What `check_lifecycle` ran: machines, their steps by kind, how their runs ended, and
    a digest of every history (equal digests: the same runs)."""

    machines: int = 0
    steps: Counter[str] = field(default_factory=Counter)
    endings: Counter[str] = field(default_factory=Counter)
    digest: str = ""


def check_lifecycle(
    max_examples: int = 50,
    seed: int = 0,
    *,
    steps: int = 8,
    machine: type[RunLifecycle] | None = None,
) -> LifecycleReport:
    """Run the lifecycle machine for `max_examples` examples of up to `steps` steps, seeded
    by `seed` (no example database: the same arguments run the same examples). Raises
    what the machine raises (an AssertionError naming the steps) on a failure."""
    log: list[tuple[str, ...]] = []
    base = machine or RunLifecycle
    logged = type(base.__name__, (base,), {"log": log})

    @use_seed(seed)
    def factory() -> RunLifecycle:
        return logged()

    run_state_machine_as_test(
        factory,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            print_blob=False,
            phases=PHASES,
        ),
    )
    report = LifecycleReport(machines=len(log))
    for history in log:
        report.steps.update(step.split(":", 1)[0] for step in history[1:-1])
        report.endings[history[-1].removeprefix("end ")] += 1
    report.digest = hashlib.sha256(json.dumps(log).encode()).hexdigest()
    return report
