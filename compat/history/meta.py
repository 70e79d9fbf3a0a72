"""Where a run ran: the time, the git commit, whether the tree was dirty, the branch, and the
machine — what makes two runs in the history comparable (or not)."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

from compat.history.records import now_iso

#: CI systems check out a detached HEAD; they say the branch in the environment. The first
#: that is set and not empty wins (GITHUB_HEAD_REF is the source branch of a pull request).
BRANCH_VARIABLES = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME")


def _git(cwd: Path, *args: str) -> str | None:
    """`git args` in `cwd`: its output, or None when git is missing, fails or hangs."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return done.stdout if done.returncode == 0 else None


def machine() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def run_meta(cwd: Path | None = None) -> dict[str, Any]:
    """{started_at, commit, dirty, branch, machine} for a run starting now in `cwd`. Git is
    asked through the real `git` command (nothing is parsed from .git by hand); outside a
    repository, or without git, commit, dirty and branch are None. Never raises."""
    where = Path(cwd) if cwd is not None else Path.cwd()
    head = _git(where, "rev-parse", "--verify", "HEAD")
    commit = (head.strip() or None) if head is not None else None
    dirty = None
    branch = None
    if commit is not None:
        # `git describe --dirty`'s sense: a tracked file changed; untracked files do not count.
        status = _git(where, "status", "--porcelain", "--untracked-files=no")
        dirty = None if status is None else bool(status.strip())
        name = (_git(where, "rev-parse", "--abbrev-ref", "HEAD") or "").strip()
        branch = name if name and name != "HEAD" else None  # HEAD: detached
    for variable in BRANCH_VARIABLES:
        if os.environ.get(variable):
            branch = os.environ[variable]
            break
    try:
        host = machine()
    except OSError:  # pragma: no cover - a host without a name
        host = {}
    return {
        "started_at": now_iso(),
        "commit": commit,
        "dirty": dirty,
        "branch": branch,
        "machine": host,
    }
