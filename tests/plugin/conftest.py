"""The pytest plugin's tests (compat/pytest_plugin.py) run pytest inside pytest: `pytester`.

`pytest_plugins = ["pytester"]` is refused in a conftest below the rootdir once pytest has
started, so the plugin is loaded here when this folder is reached; its fixtures are global.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
