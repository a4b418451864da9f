"""One apply at a time per spec repo: an exclusive flock on state/apply.lock.

flock is released by the kernel when the process dies, so a killed apply
never leaves a stale lock behind; the file's content only says who holds it.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dcctl.i18n import _


class LockedError(RuntimeError):
    """Another dcctl run holds the lock."""


@contextmanager
def apply_lock(state_dir: Path, what: str, create: bool = True) -> Iterator[None]:
    """Hold the spec repo's apply lock for ``what``; LockedError if another run has it.

    ``create=False`` is for reads (plan, drift): they wait for no one and write
    nothing when no change ever ran here (no lock file: no apply can be running,
    since an apply creates the file before it changes anything).
    """
    path = state_dir / "apply.lock"
    if not create and not path.exists():
        yield
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = json.loads(path.read_text() or "{}")
            except (OSError, ValueError):
                holder = {}
            since = time.strftime("%H:%M:%S", time.localtime(holder.get("since", 0)))
            raise LockedError(
                _(
                    "another dcctl {what} holds {file} (pid {pid}, {user}@{host}, "
                    "since {since}); wait for it to finish"
                ).format(
                    what=holder.get("what", "run"),
                    file=path,
                    pid=holder.get("pid", "?"),
                    user=holder.get("user", "?"),
                    host=holder.get("host", "?"),
                    since=since,
                )
            ) from None
        info = {
            "pid": os.getpid(),
            "user": getpass.getuser(),
            "host": socket.gethostname(),
            "since": time.time(),
            "what": what,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(fd)
