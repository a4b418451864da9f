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


def test_repair_file_backend_undoes_interrupted_writes(tmp_path: Path) -> None:
    from dcctl.engines.pulumi.stack import repair_file_backend

    stacks = tmp_path / "pulumi" / ".pulumi" / "stacks" / "proj"
    stacks.mkdir(parents=True)
    (stacks / "ok.json").write_text('{"version": 3}')
    (stacks / "ok.json.attrs").write_text('{"md5": "x"}')
    (stacks / "lab.json").write_text('{"version": 3, "checkpoint": {}}')
    (stacks / "lab.json.attrs").write_bytes(b"")
    (stacks / "lab.json.18f3a.tmp").write_text('{"vers')
    (stacks / "prod.json").write_bytes(b"")
    (stacks / "prod.json.bak").write_text('{"version": 3, "previous": true}')
    (stacks / "prod.json.attrs").write_text('{"md5": "stale"}')

    done = repair_file_backend(tmp_path)

    assert len(done) == 3, done
    assert not (stacks / "lab.json.attrs").exists()
    assert not (stacks / "lab.json.18f3a.tmp").exists()
    assert '"previous": true' in (stacks / "prod.json").read_text()
    assert not (stacks / "prod.json.attrs").exists()
    assert (stacks / "ok.json").read_text() == '{"version": 3}'
    assert (stacks / "ok.json.attrs").exists()
    assert repair_file_backend(tmp_path) == []  # nothing left to repair


def test_repair_leaves_a_team_backend_alone(tmp_path: Path, monkeypatch) -> None:
    from dcctl.engines.pulumi.stack import repair_file_backend

    stacks = tmp_path / "pulumi" / ".pulumi" / "stacks"
    stacks.mkdir(parents=True)
    (stacks / "lab.json.attrs").write_bytes(b"")
    monkeypatch.setenv("DCCTL_PULUMI_BACKEND", "s3://bucket")
    assert repair_file_backend(tmp_path) == []
    assert (stacks / "lab.json.attrs").exists()
