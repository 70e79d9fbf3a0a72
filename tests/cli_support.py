"""Running the real `compat` console script in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def compat(*args: str | Path, cwd: Path) -> Run:
    script = Path(sys.executable).with_name("compat")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "compat.cli"]
    env = {k: v for k, v in os.environ.items() if k != "COMPAT_DEBUG"}
    done = subprocess.run(
        [*command, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        # Only a hung command may reach it: on a loaded two-core machine a `compat perf`
        # of one case took 35 s (interpreter, fork server and worker start-up), and a test
        # may add a deadline of its own to wait for.
        timeout=600,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return Run(done.returncode, done.stdout, done.stderr)
