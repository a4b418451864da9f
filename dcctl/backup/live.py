"""The backups Prometheus saw: each VM's last success per repository, as records.

Why Prometheus: the backup timer runs on each VM every hour or day, long after the
apply that installed it, so the spec repo's records (written by drills) fall behind
the truth at once. The VMs already export the time of their last success
(:mod:`dcctl.backup.metrics`) and the target's Prometheus scrapes it with the VM's
own ``opd`` and ``name`` labels (a VM can speak only for itself), so one query there
answers for every VM at once, without logging in to any of them. ``dcctl backup
status --live`` merges these into the recorded ones (the newer wins) and writes
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from dcctl.backup.metrics import LAST_SUCCESS
from dcctl.backup.state import BackupRun, Records, VmRecord, parse_time
from dcctl.i18n import _

__all__ = ["LiveError", "merge", "prometheus_url", "query_backups"]

#: Prometheus's port on the monitoring VM (the VM firewall lets management reach it).
PROMETHEUS_PORT = 9090


class LiveError(Exception):
    """Prometheus could not be asked, or answered something that is not its API."""


def prometheus_url(state: dict[str, Any], monitoring_vm: str | None) -> str | None:
    """The target's Prometheus: the monitoring VM's address, port 9090; None without one."""
    vm = state["vms"].get(monitoring_vm or "")
    if vm is None or not vm.get("address"):
        return None
    return f"http://{str(vm['address']).split('/')[0]}:{PROMETHEUS_PORT}"


def query_backups(url: str, timeout: float = 10.0) -> dict[str, dict[str, BackupRun]]:
    """Per VM key, per repository: the last successful backup Prometheus has scraped."""
    full = f"{url.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": LAST_SUCCESS})
    try:
        with urllib.request.urlopen(full, timeout=timeout) as resp:
            body = json.loads(resp.read(4_000_000))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise LiveError(f"{url}: {exc}") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        raise LiveError(_("{url}: not a Prometheus query answer").format(url=url))
    out: dict[str, dict[str, BackupRun]] = {}
    for series in (body.get("data") or {}).get("result") or []:
        labels = series.get("metric") or {}
        vm, repo = labels.get("name"), labels.get("repo")
        try:
            seconds = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if not vm or not repo or seconds <= 0:
            continue
        when = dt.datetime.fromtimestamp(seconds, dt.UTC).replace(microsecond=0)
        run = BackupRun(time=when.strftime("%Y-%m-%dT%H:%M:%SZ"), snapshot="")
        runs = out.setdefault(str(vm), {})
        if repo not in runs or parse_time(runs[repo].time) < when:
            runs[str(repo)] = run
    return out


def merge(records: Records, live: dict[str, dict[str, BackupRun]]) -> Records:
    """``records`` with each repository's newer live backup in place of the recorded one."""
    merged: Records = {}
    for key in sorted(set(records) | set(live)):
        rec = records.get(key) or VmRecord()
        backups = dict(rec.backups)
        for repo, run in live.get(key, {}).items():
            old = backups.get(repo)
            if old is None or parse_time(old.time) < parse_time(run.time):
                backups[repo] = run
        merged[key] = VmRecord(backups=backups, drill=rec.drill)
    return merged
