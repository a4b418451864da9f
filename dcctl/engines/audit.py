"""The audit log: every change dcctl makes, written before it starts and when it ends.

Why two records per change: a record written only at the end is lost exactly
when it matters most (an apply that crashed, was killed or interrupted midway).
:func:`audited` appends a ``started`` record (who, which commit, what, where)
before the first device is touched and a ``finished`` record with the result
(``ok``, ``failed`` or ``interrupted``, and what ran) however the block ends;
a run killed outright (SIGKILL, power loss) leaves its ``started`` record with
no ``finished`` one, which is itself the evidence. Records are JSON lines in
``state/audit.log``, each with a run ``id`` pairing the two.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcctl.engines import interrupt

__all__ = ["AUDIT_LOG", "AuditRun", "audited", "git_commit", "read_audit"]

AUDIT_LOG = "audit.log"


def git_commit(root: Path, short: bool = True) -> str | None:
    """The spec repo's HEAD commit (None outside a Git repo)."""
    argv = ["git", "-C", str(root), "rev-parse", *(["--short"] if short else []), "HEAD"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


@dataclass
class AuditRun:
    """One audited change; the block fills in its outcome before it ends."""

    id: str
    action: str
    target: str
    #: ``ok`` / ``failed``; ``interrupted`` is set from the signal state or an exception.
    result: str = "failed"
    #: What the change did (a RunReport's dict, the switches' results), for the record.
    body: dict[str, Any] = field(default_factory=dict)

    def finish(self, ok: bool, body: dict[str, Any] | None = None) -> None:
        self.result = "ok" if ok else "failed"
        if body is not None:
            self.body = body


def _append(state_dir: Path, entry: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, sort_keys=True, default=str) + "\n"
    # One write of one line in append mode: concurrent runs never interleave records.
    fd = os.open(state_dir / AUDIT_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def audited(
    state_dir: Path, root: Path, action: str, target: str, **what: Any
) -> Iterator[AuditRun]:
    """Record ``action`` on ``target`` as started now, and its result however it ends."""
    run = AuditRun(secrets.token_hex(6), action, target)
    base = {
        "id": run.id,
        "user": getpass.getuser(),
        "commit": git_commit(root),
        "action": action,
        "target": target,
        **what,
    }
    _append(state_dir, {"time": _now(), "event": "started", **base})
    error: str | None = None
    try:
        yield run
    except KeyboardInterrupt:
        run.result = "interrupted"
        raise
    except BaseException as exc:
        run.result = "failed"
        # A CLI's own exit (its message already printed and recorded) is no new error.
        if not hasattr(exc, "exit_code") and not isinstance(exc, SystemExit):
            error = f"{type(exc).__name__}: {exc}"[:500]
        raise
    finally:
        if interrupt.requested() and run.result != "ok":
            run.result = "interrupted"
        entry = {"time": _now(), "event": "finished", **base, **run.body}
        entry["result"] = run.result
        entry["ok"] = run.result == "ok"
        if run.result == "interrupted":
            entry["signal"] = interrupt.signal_name() or "SIGINT"
        if error:
            entry.setdefault("errors", []).append(error)
        _append(state_dir, entry)


def read_audit(state_dir: Path) -> list[dict[str, Any]]:
    """Every record of ``state/audit.log`` (oldest first; [] before the first change)."""
    path = Path(state_dir) / AUDIT_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
