"""`dcctl backup drill`: restore a VM's latest snapshot somewhere scratch and prove it.

Why on the VM itself, into a scratch directory: the VM already holds what a restore
needs (its OPD's repository password in a 0600 file, the SFTP key, the backup VMs'
pinned host keys) and the source files to compare with; handing the password to any
other machine (the backup VM, a scratch VM, this one) would widen who can read the
OPD's backups. The drill script the backup_client role installs
(``dcctl-backup drill``) restores the latest snapshot under ``/var/tmp``, runs
``restic check``, compares a SHA-256 of every restored file with the file on the VM
(files changed since the snapshot counted apart), removes the scratch copy, exports
``dcctl_backup_drill_last_success_timestamp_seconds`` and prints a JSON report; dcctl
reaches it over SSH exactly as Ansible does (the target's key, its pinned host keys
only) and records the result with its measured duration in the state.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcctl import targets
from dcctl.engines.ansible.inventory import host_name
from dcctl.engines.ansible.runner import ssh_trust
from dcctl.engines.ansible.vars import role_default
from dcctl.i18n import _
from dcctl.plan.desired import DesiredState, desired_state
from dcctl.spec.loader import Spec
from dcctl.spec.site import ADMIN_USER
from dcctl.targets import Target

__all__ = ["SCRIPT", "DrillError", "DrillResult", "drill", "record", "resolve_vm"]

#: The drill script on every VM with a backup policy (the backup_client role's default).
SCRIPT: str = role_default("backup_client", "backup_client_script_path")
#: Longest a drill may take before it counts as failed (a large VM's restore is slow).
TIMEOUT_S = 3600


class DrillError(RuntimeError):
    """The drill could not be started (unknown VM, no policy, no SSH key)."""


@dataclass
class DrillResult:
    """One drill: what the VM reported, and how long it took as seen from here."""

    opd: str
    vm: str
    target: str
    ok: bool
    seconds: float
    started: str
    report: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "opd": self.opd,
            "vm": self.vm,
            "target": self.target,
            "ok": self.ok,
            "seconds": self.seconds,
            "started": self.started,
            "error": self.error,
            # dcctl's own measure of the drill is the one `seconds` (the one recorded); the
            # VM's timings stay under their own names (restore_seconds, check_seconds).
            **{
                k: v
                for k, v in self.report.items()
                if k not in ("opd", "vm", "ok", "error", "seconds", "started")
            },
        }


def resolve_vm(spec: Spec, state: DesiredState, ref: str) -> str:
    """``OPD/VM`` as the desired state keys it, with a policy; DrillError naming the choices."""
    vms = state["vms"]
    if ref not in vms:
        near = sorted(k for k in vms if k.split("/")[-1] == ref.split("/")[-1])
        hint = " (" + _("did you mean {names}?").format(names=", ".join(near)) + ")" if near else ""
        raise DrillError(
            _("no VM {ref!r} in {root}{hint}; write it as OPD/VM").format(
                ref=ref, root=spec.root, hint=hint
            )
        )
    policy = vms[ref].get("backup") or {}
    if policy.get("schedule", "none") == "none" or ref not in state.get("backup", {}).get(
        vms[ref]["opd"], {}
    ).get("vms", []):
        raise DrillError(_("{ref} has no backup policy: nothing to restore").format(ref=ref))
    return ref


def drill(
    spec: Spec,
    target: Target | str,
    ref: str,
    *,
    repository: str = "primary",
    verify: tuple[str, ...] = (),
    state: DesiredState | None = None,
    runner: Any = subprocess.run,
) -> DrillResult:
    """Run the drill of VM ``ref`` on ``target`` (see the module docstring); never raises on
    a failed restore: that is the result, with the VM's own report."""
    target = targets.get(target)
    state = desired_state(spec) if state is None else state
    key = resolve_vm(spec, state, ref)
    vm = state["vms"][key]
    address = str(vm["address"]).split("/")[0]
    argv = ["ssh", *ssh_trust(target.known_hosts(spec)), "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=20"]  # fmt: skip
    ssh_key = target.ssh_key(spec)
    if ssh_key is not None:
        argv += ["-i", str(ssh_key), "-o", "IdentitiesOnly=yes"]
    argv += [f"{ADMIN_USER}@{address}", "sudo", "-n", SCRIPT, "drill", "--repository", repository]
    for name in verify:
        argv += ["--verify", shlex.quote(name)]  # ssh hands the words to the remote shell
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.monotonic()
    try:
        proc = runner(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
        out, err, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired:
        out, err, rc = "", _("no answer within {seconds} s").format(seconds=TIMEOUT_S), -1
    seconds = round(time.monotonic() - t0, 3)
    result = DrillResult(vm["opd"], key, target.name, False, seconds, started)
    try:
        result.report = dict(json.loads(out.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        last = (err.strip().splitlines() or [_("exit {rc}").format(rc=rc)])[-1]
        result.error = _("{host}: the drill did not report ({last})").format(
            host=host_name(key), last=last[:300]
        )
        return result
    result.ok = bool(result.report.get("ok")) and rc == 0
    result.error = str(result.report.get("error") or "")
    if not result.ok and not result.error:
        bad = result.report.get("mismatched") or []
        unproven = {
            k: v for k, v in (result.report.get("verified") or {}).items() if v != "identical"
        }
        result.error = (
            _("{n} restored file(s) differ from the source: {files}").format(
                n=len(bad), files=", ".join(bad[:3])
            )
            if bad
            else "; ".join(f"{k}: {v}" for k, v in unproven.items()) or _("exit {rc}").format(rc=rc)
        )
    return result


def record(spec: Spec, target: Target | str, result: DrillResult) -> Path:
    """Record ``result`` (a failed drill too) in the target's backup records; returns the file.

    The drill's listing of snapshots also tells the last backup into the repository
    it restored from, recorded with it.
    """
    from dcctl.backup.state import BackupRun, DrillRun, record_backup, record_drill, records_path

    path = records_path(spec, target)
    r = result.report
    record_drill(
        path,
        result.vm,
        DrillRun(
            time=result.started,
            ok=result.ok,
            duration_s=result.seconds,
            snapshot=str(r.get("snapshot") or ""),
            files=r.get("files"),
            # A successful drill's detail is data of the records file (shown nowhere): English.
            detail=result.error
            or f"{r.get('matched')} identical, {r.get('changed_since')} changed since, check ok",
        ),
    )
    if r.get("snapshot") and r.get("snapshot_time"):
        when = str(r["snapshot_time"])
        record_backup(
            path,
            result.vm,
            str(r.get("repository") or "primary"),
            BackupRun(time=_utc(when), snapshot=str(r["snapshot"])),
        )
    return path


def _utc(restic_time: str) -> str:
    """restic's snapshot time (local offset, nanoseconds) as the records' UTC ``...Z``."""
    import datetime as dt
    import re

    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)", restic_time)
    if m is None:
        raise ValueError(_("{time!r} is not a restic snapshot time").format(time=restic_time))
    parsed = dt.datetime.fromisoformat(m[1] + m[2].replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
