"""Which of two spec documents is the newer one, so a collision is reported where it was made.

Why: when two documents claim one thing (a switch port, a WAN address, an OPD code),
the error belongs on the one the engineer just wrote: a port clash reported on the
old `opd/kominfo.yaml` when the new `opd/dispar.yaml` took the port sends them to
the wrong file. The rule, in order:

1. Git: a file that is untracked or added since HEAD is newer than one modified
   since HEAD, which is newer than one unchanged since HEAD (the committed estate
   is what is running; the change under review is the newcomer).
2. Otherwise the later modification time is newer.
3. A tie (a fresh clone: all unchanged, same times) keeps the check's own order:
   the later claimant gets the error.

VLAN and address pins need none of this: the IPAM lock (`dcctl.lock.yaml`) holds what
was handed out, so its holder keeps a value and the pin that is not in the lock gets
the error (`dcctl.spec.ipam`). Git is asked only when a collision happens, once per run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

#: Git's view of a file: unchanged, modified, new (untracked or added).
UNCHANGED, MODIFIED, NEW = 0, 1, 2


class DocumentAge:
    """Compares spec files (paths relative to ``root``) by the rule above."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._git: dict[str, int] | None = None

    def _states(self) -> dict[str, int]:
        if self._git is None:
            self._git = _git_states(self.root) if self.root is not None else {}
        return self._git

    def key(self, file: str) -> tuple[int, float]:
        """(Git state, mtime) of ``file``: larger is newer."""
        state = self._states().get(file, UNCHANGED)
        try:
            mtime = (self.root / file).stat().st_mtime if self.root is not None else 0.0
        except OSError:
            mtime = 0.0
        return state, mtime

    def newer(self, a: str, b: str) -> bool:
        """Whether file ``a`` is strictly newer than file ``b``."""
        return a != b and self.key(a) > self.key(b)


def _git_states(root: Path) -> dict[str, int]:
    """{path relative to root: MODIFIED | NEW} of files changed since HEAD; {} outside Git."""

    def run(*args: str) -> list[str] | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(root), *args],
                capture_output=True,
                timeout=20,
                check=False,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if out.returncode != 0:
            return None
        return [p for p in out.stdout.decode(errors="replace").split("\0") if p]

    states: dict[str, int] = {}
    diff = run("diff", "--name-status", "--no-renames", "--relative", "-z", "HEAD", "--", ".")
    if diff is None:
        return {}
    for status, path in zip(diff[0::2], diff[1::2], strict=False):
        states[path] = NEW if status.startswith("A") else MODIFIED
    for path in run("ls-files", "--others", "--exclude-standard", "-z", "--", ".") or []:
        states[path] = NEW
    return states
