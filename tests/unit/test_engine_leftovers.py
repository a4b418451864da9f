"""An interrupted apply's engine processes are stopped before the next one starts.

Real processes, not mocks: a process started in its own session (as the Pulumi
engine starts its providers) with this stack's PULUMI_HOME survives the kill of
the apply's process group; the next run must find and stop it, and must leave
alone processes of other stacks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from dcctl.engines.pulumi.stack import stop_leftover_engines


def _orphan(home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"],
        env={**os.environ, "PULUMI_HOME": str(home)},
        start_new_session=True,
    )


def _running(proc: subprocess.Popen[bytes]) -> bool:
    time.sleep(0.05)
    return proc.poll() is None


def test_leftover_provider_of_this_stack_is_stopped(tmp_path: Path) -> None:
    mine = _orphan((tmp_path / "a" / ".pulumi-home").resolve())
    other = _orphan((tmp_path / "b" / ".pulumi-home").resolve())
    try:
        assert _running(mine) and _running(other)
        notes = stop_leftover_engines(tmp_path / "a")
        assert mine.wait(timeout=5) == -9
        assert notes == ["stopped 1 engine process(es) of an interrupted apply"]
        assert _running(other), "a process of another stack was stopped"
        assert stop_leftover_engines(tmp_path / "a") == []
    finally:
        for proc in (mine, other):
            proc.kill()
            proc.wait(timeout=5)
