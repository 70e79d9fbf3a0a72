"""A fixture's `workflow:` naming a foreign flow and how to read it.

```yaml
workflow:
  file: ../../shared/real-flows/flowise-agentflowv2-iterations.json
  dialect: flowise-agentflow-v2     # a built-in dialect (default: detected from the content)
  mapping: ../docs/examples/langflow-mapping.yaml   # or a mapping file (not both)
  bind: {LLM: stand_in}             # foreign kind -> registered tool name
  id: iterations                    # the workflow's id (default: the file's stem)
```

Paths are relative to the fixture and follow the fixture rule: inside its folder tree or a
`workflow_roots` folder.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DialectEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    file: str = Field(min_length=1)
    dialect: str | None = Field(default=None, min_length=1)
    mapping: str | None = Field(default=None, min_length=1)
    bind: dict[str, str] = Field(default_factory=dict)
    id: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_reader(self) -> DialectEntry:
        if self.dialect is not None and self.mapping is not None:
            raise ValueError("give `dialect` (a built-in) or `mapping` (a mapping file), not both")
        return self


def is_dialect_entry(entry: Any) -> bool:
    """A `workflow:` mapping naming a file (an inline workflow has `nodes`, never `file`)."""
    return isinstance(entry, dict) and "file" in entry and "nodes" not in entry
