"""The `compat` command's entry point: a small parent that outlives whatever the command runs.

compat imports and runs other people's code — tool modules, `module:attr` engines — and some
of it can end the process without a word (`os._exit(0)` at import, a segfault in an
extension). In-process, that would leave exit code 0 and no report: a false pass. So the
command runs in a forked child; the child says how it means to exit, and what it is doing
(breadcrumbs), through a pipe. If the child ends without saying, the parent reports it
("stopped without a verdict … while …") and exits 3 — never 0.

The parent imports nothing but the standard library and forks before compat is imported,
so it costs a fork. Set `COMPAT_UNSUPERVISED=1` to run without it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback

#: The environment variable holding the child's end of the pipe.
_FD = "COMPAT_SUPERVISOR_FD"
EXIT_NO_VERDICT = 3
#: Seconds between a SIGINT sent to the supervisor alone and its passing it on.
INTERRUPT_GRACE = 1.0


def phase(text: str) -> None:
    """Tell the supervisor what the command is doing now (named if the process dies)."""
    fd = os.environ.get(_FD)
    if fd is None:
        return
    line = " ".join(text.split())[:300]
    with contextlib.suppress(OSError, ValueError):
        os.write(int(fd), f"phase {line}\n".encode())


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1  # sys.exit("message"): Python prints the message and exits 1


def _child(fd: int) -> None:
    os.environ[_FD] = str(fd)
    code = 0
    try:
        from compat.cli import main as cli

        cli()
    except SystemExit as exc:
        code = _exit_code(exc.code)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except BaseException:  # COMPAT_DEBUG lets our own bugs through, with their traceback
        traceback.print_exc()
        code = 1
    with contextlib.suppress(OSError):
        os.write(fd, f"exit {code}\n".encode())
    sys.stdout.flush()
    sys.exit(code)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _supervise(pid: int, fd: int) -> int:
    def forward(number: int, frame: object = None) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, number)

    def interrupted(number: int, frame: object) -> None:
        # A terminal's Ctrl-C reaches the child as well (one process group), which reports
        # it; a SIGINT sent to this process alone is passed on, a moment later, if the child
        # has not ended by then (so it never gets two). Started with SIGINT ignored (a
        # script's background job), compat keeps ignoring it, as programs do.
        timer = threading.Timer(INTERRUPT_GRACE, forward, (signal.SIGINT,))
        timer.daemon = True
        timer.start()

    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a background job keeps ignoring
        signal.signal(signal.SIGINT, interrupted)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, forward)
    data = b""
    with os.fdopen(fd, "rb") as pipe:
        while chunk := pipe.read1(65536):
            data += chunk
    _, status = os.waitpid(pid, 0)
    said, doing = None, None
    for line in data.decode(errors="replace").splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "exit":
            said = int(rest) if rest.lstrip("-").isdigit() else 1
        elif kind == "phase":
            doing = rest
    if said is not None:
        return said
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            print(f"compat: interrupted ({_signal_name(number)}); no verdict", file=sys.stderr)
            return 128 + number
        cause = f"the process died of {_signal_name(number)}"
    else:
        cause = f"the process exited with code {os.waitstatus_to_exitcode(status)} unannounced"
    where = f" while {doing}" if doing else ""
    print(
        f"compat: stopped without a verdict: {cause}{where} (engine, tool or compat code "
        "ended it); nothing was checked to the end",
        file=sys.stderr,
    )
    return EXIT_NO_VERDICT


def main() -> None:
    if os.environ.get("COMPAT_UNSUPERVISED") or _FD in os.environ or not hasattr(os, "fork"):
        from compat.cli import main as cli

        cli()
        return
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(write_fd)
        return
    os.close(write_fd)
    sys.exit(_supervise(pid, read_fd))


if __name__ == "__main__":
    main()
