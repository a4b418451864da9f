"""The backup metrics Prometheus watches, and what each VM's alerts compare them with.

Why fixed names here: the exporter (the restic role writes them, with node exporter's
textfile collector, on each backed-up VM; a drill writes its own) and the alert rules
(:func:`dcctl.monitoring.config.rules`) must agree on them, and neither should guess.

- ``dcctl_backup_last_success_timestamp_seconds{opd, vm, repo}``: Unix time of the VM's
  last successful backup into repository ``repo`` (``primary``, ``offsite``);
- ``dcctl_backup_drill_last_success_timestamp_seconds{opd, vm}``: Unix time of the
  VM's last successful restore drill.

``opd`` is the OPD code, ``vm`` the VM's key (``dinkes/simpus-db``, as in the spec's
state and in ``dcctl backup status``), ``repo`` the repository name. A series that is
missing counts as stale (the backup never ran, or its exporter broke).

Where they are exported: on the backed-up VM itself, through node exporter's textfile
collector (``/var/lib/prometheus/node-exporter/*.prom``; the restic role after each
backup, ``dcctl backup drill`` after a drill). The node job's target labels then set
``opd`` and ``name`` (= the VM's key) and override whatever the file says, and the
alert rules select on those two: a VM can only speak for itself, so an OPD admin's
textfile can never make another OPD's stale backup look fresh. (A series exported
elsewhere, on the backup VM say, would carry that VM's labels and never match.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LAST_SUCCESS = "dcctl_backup_last_success_timestamp_seconds"
DRILL_LAST_SUCCESS = "dcctl_backup_drill_last_success_timestamp_seconds"


@dataclass(frozen=True)
class Watch:
    """One VM's backup alerts: its repositories, when a backup is stale, drills due."""

    opd: str
    vm: str  # the VM's key, dinkes/simpus-db
    classification: str
    schedule: str
    repositories: tuple[str, ...]
    stale_after_s: int
    drill_every_s: int


def watches(state: dict[str, Any]) -> list[Watch]:
    """Every VM with a backup policy, sorted by key (stable rule files)."""
    drill_days = {code: rec["drill_every_days"] for code, rec in state.get("backup", {}).items()}
    out = []
    for key, vm in sorted(state["vms"].items()):
        policy = vm["backup"]
        if policy["schedule"] == "none" or "stale_after_s" not in policy:
            continue
        out.append(
            Watch(
                opd=vm["opd"],
                vm=key,
                classification=vm["classification"],
                schedule=policy["schedule"],
                repositories=tuple(policy["repositories"]),
                stale_after_s=int(policy["stale_after_s"]),
                drill_every_s=int(drill_days.get(vm["opd"], 30)) * 86400,
            )
        )
    return out
