"""A real, throwaway PostgreSQL server for the history's tests: Debian's server binaries
(`/usr/lib/postgresql/<version>/bin`), a data folder in a fresh temporary folder, trust
authentication, listening on a free localhost port (and its socket in that folder), fsync
off (a test database need not survive a power cut). The server refuses to run as root, so as
root it runs as the `postgres` user (`runuser`). Stopped (`pg_ctl stop -m fast`) and its
folder removed at the end of the session.

Without the binaries the tests FAIL, never skip, saying what to install (`make test`
installs them when run as root: the Makefile's `postgres` target)."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL = (
    "tests/history needs a PostgreSQL server (initdb, pg_ctl and postgres under "
    "/usr/lib/postgresql/<version>/bin): run `apt-get install postgresql` (as root; "
    "`make test` does it when run as root)"
)
_TOOLS = ("initdb", "pg_ctl", "postgres")


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries, or no `postgres` user to run them as."""


#: Names the server's bin folder instead (for another installation; the tests of this
#: module point it at nothing to see the tests fail).
BIN_VARIABLE = "COMPAT_POSTGRES_BIN"


def _complete(folder: Path) -> bool:
    return all(os.access(folder / tool, os.X_OK) for tool in _TOOLS)


def server_bin() -> Path | None:
    """The newest installed server's bin folder (or the one `COMPAT_POSTGRES_BIN` names)."""
    if os.environ.get(BIN_VARIABLE):
        given = Path(os.environ[BIN_VARIABLE])
        return given if _complete(given) else None
    found = []
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        version = re.fullmatch(r"\d+", folder.parent.name)
        if version and _complete(folder):
            found.append((int(folder.parent.name), folder))
    return max(found)[1] if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    folder: Path
    bin: Path
    port: int
    #: How to run a command as the server's owner (empty: as ourselves).
    prefix: tuple[str, ...]

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *map(str, args)],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        done = self.run(
            self.bin / "pg_ctl", "-D", self.data, "-l", self.folder / "server.log",
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}\n{log}")

    def stop(self) -> None:
        done = self.run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        if done.returncode != 0:
            # Stop the postmaster we started, by its pid, rather than leave it running.
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int((self.data / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> Server:
    """A running server with an empty cluster (database `postgres`, superuser `postgres`)."""
    found = server_bin()
    if found is None:
        raise PostgresMissing(INSTALL)
    prefix: tuple[str, ...] = ()
    folder = Path(tempfile.mkdtemp(prefix="compat-history-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder, ignore_errors=True)
            raise PostgresMissing(f"{INSTALL} (there is no `postgres` user)") from None
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        prefix = ("runuser", "-u", "postgres", "--")
    server = Server(folder, found, 0, prefix)
    done = server.run(
        found / "initdb", "-D", server.data, "-A", "trust", "-U", "postgres",
        "-E", "UTF8", "--locale=C", "--no-sync",
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
    for attempt in range(3):  # another process may take the free port before the server
        server.port = _free_port()
        try:
            server.start()
            return server
        except RuntimeError:
            if attempt == 2:
                server.stop()
                raise
    raise AssertionError("unreachable")
