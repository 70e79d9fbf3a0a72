"""The import hook that makes a process run one mutant: it serves the patched source for one
engine module and leaves every other import alone.

Why a hook and not an edited file: the real tree is never touched, so mutants can run side by
side and a crash leaves nothing behind. The loader compiles the patched text itself and
never writes a bytecode cache (the real module's `__pycache__` entry stays the real one's).
Install it only in a fresh process, before anything imports `engines`.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

from tests.mutants.catalog import ROOT, Mutant


class HookError(RuntimeError):
    """The hook cannot take effect (the module was imported before it was installed)."""


class PatchedLoader(importlib.abc.InspectLoader):
    """Executes the patched source; `get_source` serves it too, so tracebacks show it."""

    def __init__(self, fullname: str, source: str, origin: str) -> None:
        self.fullname = fullname
        self.source = source
        self.origin = origin

    def get_source(self, fullname: str) -> str:
        return self.source

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        # The real file name, so tracebacks point at the mutated module; no cache written.
        module.__file__ = self.origin
        module.__cached__ = None  # type: ignore[attr-defined]
        code = compile(self.source, self.origin, "exec", dont_inherit=True)
        exec(code, module.__dict__)


class PatchFinder(importlib.abc.MetaPathFinder):
    """Finds the one mutated module (first on `sys.meta_path`); None for everything else."""

    def __init__(self, mutant: Mutant) -> None:
        self.mutant = mutant
        self.source = mutant.patched_source()
        self.origin = str(mutant.path)
        self.served = 0

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.mutant.module:
            return None
        self.served += 1
        loader = PatchedLoader(fullname, self.source, self.origin)
        spec = importlib.util.spec_from_loader(fullname, loader, origin=self.origin)
        assert spec is not None
        spec.has_location = True
        return spec


def install(mutant: Mutant) -> PatchFinder:
    """Serve `mutant`'s module patched from now on in this process. Refuses if the module
    (or `engines` at all) was already imported: the real code would stay in use."""
    if mutant.module in sys.modules or "engines" in sys.modules:
        raise HookError(
            f"mutant {mutant.id!r}: `engines` was imported before the hook was installed"
        )
    finder = PatchFinder(mutant)  # refuses a patch that does not apply exactly once
    compile(finder.source, finder.origin, "exec", dont_inherit=True)
    sys.meta_path.insert(0, finder)
    return finder


def check_active(finder: PatchFinder) -> None:
    """After the engines are imported: the mutated module is the patched one, from ROOT."""
    module = sys.modules.get(finder.mutant.module)
    if module is None:
        importlib.import_module(finder.mutant.module)
        module = sys.modules[finder.mutant.module]
    if not isinstance(getattr(module, "__loader__", None), PatchedLoader):
        raise HookError(f"{finder.mutant.module} was not loaded through the mutant's hook")
    engines = sys.modules["engines"]
    if not str(engines.__file__).startswith(str(ROOT)):
        raise HookError(f"`engines` came from {engines.__file__}, not from {ROOT}")
