"""Browser tests of the HTML report. A package, so its conftest is `browser.conftest` and
never shadows the `conftest` module (tests/conftest.py) that other tests import by name."""
