"""The apply lock: a second concurrent run is refused with who holds it; a dead holder frees it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from dcctl.engines.lock import LockedError, apply_lock


def test_second_run_refused_while_first_holds(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from pathlib import Path; from dcctl.engines.lock import apply_lock\n"
            "with apply_lock(Path(sys.argv[1]), 'apply'):\n"
            " print('held', flush=True); time.sleep(30)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError) as exc, apply_lock(tmp_path, "apply"):
            pass
        assert f"pid {holder.pid}" in str(exc.value) and "apply" in str(exc.value)
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the flock with the killed process: no stale lock.
    deadline = time.monotonic() + 5
    while True:
        try:
            with apply_lock(tmp_path, "apply"):
                break
        except LockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
