"""The one exception the run history raises on purpose."""

from __future__ import annotations

from engines.errors import ConfigError


class HistoryError(ConfigError):
    """The run history cannot be used as asked: a database that cannot be opened or is of a
    newer schema, a run id that is unknown or ambiguous, a write that failed (and left
    nothing behind). A configuration error, like `SnapshotStoreError`: the user fixes it by
    pointing compat elsewhere or asking differently. The message names the database or the id.
    """
