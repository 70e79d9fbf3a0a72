"""The project's exceptions: one base class, setup errors apart from runtime errors.

Setup errors mean the input was refused before anything ran (a document that does not
parse, a workflow that breaks a rule, a fixture or configuration that makes no sense).
Runtime errors are raised while a workflow runs; the ones a node raises (`NodeFailure`)
carry an error code from the shared taxonomy and are recorded in the run's result rather
than escaping to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    """The error taxonomy both engines share. Tools and `fail` nodes may add their own codes."""

    EXPRESSION_ERROR = "EXPRESSION_ERROR"
    TOOL_ERROR = "TOOL_ERROR"
    TIMEOUT = "TIMEOUT"
    INPUT_INVALID = "INPUT_INVALID"
    LOOP_LIMIT = "LOOP_LIMIT"
    SUBWORKFLOW_DEPTH = "SUBWORKFLOW_DEPTH"
    CANCELLED = "CANCELLED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"


class CompatError(Exception):
    """Base class of every exception this project raises on purpose."""


# --------------------------------------------------------------------------- setup


class SetupError(CompatError):
    """The input was refused before anything ran."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a document: where it is and what is wrong."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class DocumentError(SetupError):
    """A file could not be read or parsed (not JSON/YAML, wrong top-level shape)."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.detail = message
        super().__init__(f"{source}: {message}")


class InvalidDocument(SetupError):
    """A document parsed but breaks the model's rules. Holds every problem found."""

    kind = "document"

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            return f"{prefix}{self.problems[0]}"
        return f"{prefix}{len(self.problems)} problems in {self.kind}\n" + "\n".join(
            f"  {problem}" for problem in self.problems
        )

    def lines(self) -> list[str]:
        """One self-contained line per problem, each naming the source and the place."""
        prefix = f"{self.source}: " if self.source else ""
        return [f"{prefix}{problem}" for problem in self.problems]

    def with_source(self, source: str) -> InvalidDocument:
        """The same error, naming the file it came from."""
        clone = type(self).__new__(type(self))
        InvalidDocument.__init__(clone, self.problems, source)
        return clone


class WorkflowInvalid(InvalidDocument):
    """A workflow document breaks a rule of the model or of docs/semantics.md."""

    kind = "workflow"


class FixtureInvalid(InvalidDocument):
    """A fixture file is malformed (cases, expectations, workflow references)."""

    kind = "fixture"


class SnapshotInvalid(SetupError):
    """A snapshot is malformed, of another format version, or of another workflow."""


class SnapshotTampered(SnapshotInvalid):
    """A snapshot or saved session whose integrity digest is missing or does not match its
    content: it was changed after the engine wrote it, so nothing in it is trusted."""


class SnapshotCorrupt(SnapshotInvalid):
    """A snapshot store holds a row it cannot give back as the snapshot it was given (not
    text, not JSON, not a mapping, or not the text the store's checksum says it wrote)."""


class ConfigError(SetupError):
    """The configuration (`[tool.compat]`, compat.toml) is unreadable or inconsistent."""


class SnapshotStoreError(ConfigError):
    """A snapshot store's file cannot be used: not an SQLite database, a database that is not
    a snapshot store, a schema newer than this code, or a read or write that failed."""


class ToolRegistryError(SetupError):
    """A tool is unknown, registered twice, or a tool module could not be loaded."""


# --------------------------------------------------------------------------- runtime


class ExecutionError(CompatError):
    """Raised while a workflow runs."""


class NodeFailure(ExecutionError):
    """A node failed. Engines catch it and record it; it carries a taxonomy code."""

    default_code: str = ErrorCode.TOOL_ERROR
    default_recoverable: bool = False

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        *,
        recoverable: bool | None = None,
    ) -> None:
        self.code = str(code or self.default_code)
        self.message = message
        self.recoverable = self.default_recoverable if recoverable is None else recoverable
        super().__init__(f"{self.code}: {message}" if message else self.code)


class ToolError(NodeFailure):
    """Raised by a tool to signal failure. Recoverable by default, so a retry policy applies."""

    default_recoverable = True

    def __init__(self, code: str, message: str = "", recoverable: bool = True) -> None:
        super().__init__(code, message, recoverable=recoverable)


class ExpressionError(NodeFailure):
    """A template or expression failed to evaluate (undefined name, type error, sandbox)."""

    default_code = ErrorCode.EXPRESSION_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.EXPRESSION_ERROR, message, recoverable=False)


class InputInvalid(NodeFailure):
    """A payload answering an `input` node does not match the node's schema."""

    default_code = ErrorCode.INPUT_INVALID

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INPUT_INVALID, message, recoverable=False)


class EngineStateError(ExecutionError):
    """An engine's API was called in a state that does not allow it (e.g. resume of a finished
    run). Nothing was changed."""


class SnapshotClaimed(EngineStateError):
    """A paused execution is claimed by another resumer whose lease has not expired, or a
    claim was lost to one: only one process at a time may resume a run. Nothing was changed.
    `holder` and `expires_at` say who holds it and until when (None when nobody does)."""

    def __init__(
        self, execution_id: str, holder: str | None, expires_at: float | None, message: str
    ) -> None:
        self.execution_id = execution_id
        self.holder = holder
        self.expires_at = expires_at
        super().__init__(message)


class ShadowMismatch(ExecutionError):
    """A shadow run disagreed with its primary in an experiment with `raise_on_mismatch`
    (`compat.shadow`). `result` is the experiment's result, with both observations."""

    def __init__(self, message: str, result: object) -> None:
        self.result = result
        super().__init__(message)


class ExpressionSyntaxError(SetupError):
    """A template or expression does not parse. Raised when a workflow is built, never while
    it runs. `path` locates the bad string inside a nested template value (`.deep.inner[1]`)."""

    def __init__(self, detail: str, path: str = "") -> None:
        self.detail = detail
        self.path = path
        super().__init__(f"{path.lstrip('.')}: {detail}" if path else detail)

    def within(self, step: str) -> ExpressionSyntaxError:
        """The same error, one step deeper (`step` is `.key` or `[index]`)."""
        return ExpressionSyntaxError(self.detail, step + self.path)
