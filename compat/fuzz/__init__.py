"""Property-based differential fuzzing of workflows (`compat fuzz`, docs/fuzzing.md).

The strategies are public: use them in your own hypothesis tests as you would
hypothesis-jsonschema's `from_schema`.
"""

from compat.fuzz.features import ALL as FEATURES
from compat.fuzz.features import FeatureChoice
from compat.fuzz.strategies import (
    Example,
    GeneratedWorkflow,
    cases,
    examples,
    fixture_document,
    fixtures,
    workflows,
)

__all__ = [
    "FEATURES",
    "Example",
    "FeatureChoice",
    "GeneratedWorkflow",
    "cases",
    "examples",
    "fixture_document",
    "fixtures",
    "workflows",
]
