"""Each VM's backups against its policy: last backup, its age, copies present, last drill.

Why one module for ``dcctl backup status`` and the consolidation report: both answer
"is this OPD's data backed up as its classification demands, and was a restore proven",
from the desired state (the effective policy per VM) and the target's records
(:mod:`dcctl.backup.state`), at one moment ``now``, so a test fixes the clock. Nothing
here reaches a VM; it reads what backups and drills recorded.

A VM's ``state`` is the first of these that holds:

- ``none``: no policy (no Site backup section, or a backup VM itself);
- ``missing``: a policy, no backup recorded in any repository;
- ``stale``: the newest backup is older than the policy's ``stale_after_s``
  (the same threshold as the ``BackupStale`` alert);
- ``copies``: fewer repositories hold a fresh backup than the policy's copies;
- ``drill-overdue``: no successful drill within the Site's ``drill_every_days``
  (the ``RestoreDrillOverdue`` alert), or the last drill failed;
- ``ok``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from dcctl.backup.state import Records, parse_time

#: States in order of urgency (a listing shows the worst first).
STATES = ("missing", "stale", "copies", "drill-overdue", "ok", "none")


@dataclass(frozen=True)
class VmStatus:
    """One VM's backups against its policy, at one moment."""

    vm: str
    opd: str
    classification: str
    schedule: str
    retention_days: int
    copies_required: int
    last_backup: str | None  # newest successful backup in any repository (UTC ISO)
    age_s: int | None
    stale_after_s: int | None
    copies_present: list[str]  # repositories holding a fresh backup
    last_drill: str | None
    drill_ok: bool | None
    drill_duration_s: float | None
    drill_age_s: int | None
    drill_every_s: int | None
    state: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _age(now: dt.datetime, when: str | None) -> int | None:
    return None if when is None else max(0, int((now - parse_time(when)).total_seconds()))


def vm_status(
    key: str, vm: dict[str, Any], records: Records, now: dt.datetime, drill_every_days: int | None
) -> VmStatus:
    """The status of VM ``key`` (its ``vms`` layer record ``vm``) from ``records``."""
    policy = vm["backup"]
    rec = records.get(key)
    backups = rec.backups if rec is not None else {}
    required = [r for r in policy.get("repositories", []) if r]
    stale_after = policy.get("stale_after_s")
    times = {repo: run.time for repo, run in backups.items() if repo in required}
    last = max(times.values(), key=parse_time) if times else None
    age = _age(now, last)
    fresh = [
        repo
        for repo in required
        if repo in times and (stale_after is None or (_age(now, times[repo]) or 0) <= stale_after)
    ]
    drill = rec.drill if rec is not None else None
    drill_every = drill_every_days * 86400 if drill_every_days else None
    drill_age = _age(now, drill.time) if drill is not None else None
    if policy["schedule"] == "none":
        state = "none"
    elif last is None:
        state = "missing"
    elif stale_after is not None and age is not None and age > stale_after:
        state = "stale"
    elif len(fresh) < policy.get("copies", 1):
        state = "copies"
    elif (
        drill is None
        or not drill.ok
        or (drill_every is not None and drill_age is not None and drill_age > drill_every)
    ):
        state = "drill-overdue"
    else:
        state = "ok"
    return VmStatus(
        vm=key,
        opd=vm["opd"],
        classification=vm["classification"],
        schedule=policy["schedule"],
        retention_days=policy["retention_days"],
        copies_required=policy.get("copies", 0),
        last_backup=last,
        age_s=age,
        stale_after_s=stale_after,
        copies_present=fresh,
        last_drill=drill.time if drill is not None else None,
        drill_ok=drill.ok if drill is not None else None,
        drill_duration_s=drill.duration_s if drill is not None else None,
        drill_age_s=drill_age,
        drill_every_s=drill_every,
        state=state,
    )


def backup_status(
    state: dict[str, Any], records: Records, now: dt.datetime | None = None
) -> list[VmStatus]:
    """Every VM's status, worst first, then by key."""
    now = now or dt.datetime.now(dt.UTC)
    drill_every = {code: rec["drill_every_days"] for code, rec in state["backup"].items()}
    rows = [
        vm_status(key, vm, records, now, drill_every.get(vm["opd"]))
        for key, vm in state["vms"].items()
    ]
    return sorted(rows, key=lambda r: (STATES.index(r.state), r.vm))


def per_opd(rows: list[VmStatus]) -> dict[str, dict[str, Any]]:
    """Per OPD: VMs with a policy, how many are covered (backed up within policy, every
    copy present), the oldest last backup's age, and the drills (ok, failed, missing)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        row = out.setdefault(
            r.opd,
            {
                "vms": 0,
                "with_policy": 0,
                "covered": 0,
                "oldest_age_s": None,
                "never": 0,
                "drills_ok": 0,
                "drills_failed": 0,
                "drills_missing": 0,
                "last_drill": None,
            },
        )
        row["vms"] += 1
        if r.state == "none":
            continue
        row["with_policy"] += 1
        row["covered"] += r.state in ("ok", "drill-overdue")
        if r.age_s is None:
            row["never"] += 1
        elif row["oldest_age_s"] is None or r.age_s > row["oldest_age_s"]:
            row["oldest_age_s"] = r.age_s
        if r.drill_ok is None:
            row["drills_missing"] += 1
        elif r.drill_ok:
            row["drills_ok"] += 1
        else:
            row["drills_failed"] += 1
        if r.last_drill is not None and (
            row["last_drill"] is None or parse_time(r.last_drill) > parse_time(row["last_drill"])
        ):
            row["last_drill"] = r.last_drill
    return dict(sorted(out.items()))
