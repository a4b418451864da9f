"""`dcctl backup drill` without a VM: how it reaches the VM, reads its report, records it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dcctl.backup.drill import SCRIPT, DrillError, drill, record
from dcctl.backup.state import load, records_path
from dcctl.spec import load_spec

VM = "dinkes/simpus-db"
REPORT = {
    "opd": "dinkes", "vm": VM, "repository": "primary", "ok": True, "snapshot": "4f2a9c1e",
    "snapshot_time": "2026-12-07T10:00:05.123456789+07:00", "restore_seconds": 1.5,
    "check": "ok", "check_seconds": 0.5, "files": 120, "bytes": 5000, "matched": 118,
    "changed_since": 2, "mismatched": [], "mismatched_count": 0,
    "verified": {"/srv/x": "identical"}, "seconds": 2.4,
}  # fmt: skip


class FakeSsh:
    def __init__(self, out: str, rc: int = 0) -> None:
        self.out, self.rc = out, rc
        self.argv: list[str] = []

    def __call__(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        self.argv = argv
        return subprocess.CompletedProcess(argv, self.rc, self.out, "")


def test_drill_runs_the_vms_script_strictly_and_records_result_and_duration(
    spec_repo: Path,
) -> None:
    spec = load_spec(spec_repo)
    ssh = FakeSsh("restic noise\n" + json.dumps(REPORT) + "\n")
    result = drill(spec, "prod", VM, verify=("/srv/x",), runner=ssh)
    assert result.ok and result.vm == VM and result.opd == "dinkes" and result.seconds >= 0
    argv = " ".join(ssh.argv)
    # Strict host keys from the target's pinned file, no agent guesswork, the VM's address.
    assert "StrictHostKeyChecking=yes" in argv and "BatchMode=yes" in argv
    assert f"sudo -n {SCRIPT} drill --repository primary --verify /srv/x" in argv
    assert "password" not in argv.lower()
    path = record(spec, "prod", result)
    assert path == records_path(spec, "prod")
    rec = load(path)[VM]
    assert rec.drill is not None and rec.drill.ok and rec.drill.duration_s == result.seconds
    assert rec.drill.snapshot == "4f2a9c1e"
    assert rec.backups["primary"].time == "2026-12-07T03:00:05Z"  # restic's local time in UTC


def test_a_failed_drill_is_a_result_recorded_too(spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    bad = {**REPORT, "ok": False, "mismatched": ["/etc/x"], "mismatched_count": 1}
    result = drill(spec, "prod", VM, runner=FakeSsh(json.dumps(bad), rc=1))
    assert not result.ok and "/etc/x" in result.error
    record(spec, "prod", result)
    drilled = load(records_path(spec, "prod"))[VM].drill
    assert drilled is not None and not drilled.ok
    silent = drill(spec, "prod", VM, runner=FakeSsh("", rc=255))
    assert not silent.ok and "did not report" in silent.error


def test_unknown_vm_or_no_policy_is_refused(spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    with pytest.raises(DrillError, match="no VM 'dinkes/nope'"):
        drill(spec, "prod", "dinkes/nope", runner=FakeSsh(""))
    with pytest.raises(DrillError, match="no backup policy"):
        drill(spec, "prod", "kominfo/backup", runner=FakeSsh(""))
