"""promtool and amtool run the backup alerts (issue 18) on synthetic series.

The rules and routes are the ones dcctl generates for a small spec of ``tests.specs``
with backups: a ``promtool test rules`` file feeds the backup metrics as the VM's node
exporter job would label them (``opd``, ``name`` = the VM's key) and states which alert
fires, when, with which labels: a rahasia VM whose off-site copy stopped raises
``BackupStale`` for that repository, labelled with its OPD; a VM whose series is gone
raises it too; a VM backed up on time raises nothing; a VM with no drill for longer
than the Site allows raises ``RestoreDrillOverdue``; a series another VM exports
(another ``name``) never counts. ``amtool`` then routes each to the OPD's contact and
the NOC. promtool and amtool are in the lab image (not on the test machine), so this
runs there, without a network (a few seconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dcctl.lab.podman import podman
from dcctl.monitoring.ansible import role_vars
from dcctl.spec import load_spec
from tests.helpers import domain_vars
from tests.lab.conftest import lab_image, needs
from tests.specs import OpdSpec, VmSpec, build_spec

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

LAST = "dcctl_backup_last_success_timestamp_seconds"
DRILL = "dcctl_backup_drill_last_success_timestamp_seconds"


def series(metric: str, key: str, **extra: str) -> str:
    """A series as the node job of VM ``key`` labels it (target labels opd, kind, name)."""
    labels = {"job": "node", "opd": key.split("/")[0], "kind": "node", "name": key, **extra}
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def test_promtool_fires_backup_alerts_with_their_opd_and_amtool_routes_them(
    tmp_path: Path,
) -> None:
    reason = needs("podman", "runc")
    if reason:
        pytest.skip(reason)
    # dinkes: rahasia (daily minimum, 2 copies); db asks hourly (stale after 2 h).
    root = build_spec(
        tmp_path,
        opds=[
            OpdSpec(
                "dinkes",
                classification="rahasia",
                vms=[VmSpec("db", extra={"backup": {"schedule": "hourly"}}), VmSpec("app")],
            ),
            OpdSpec("dc"),
        ],
        services="dc",
        backup=True,
    )
    # Drills due every 2 days (the example says 30): promtool then simulates 3 days.
    site = root / "site.yaml"
    site.write_text(site.read_text().replace("drill_every_days: 30", "drill_every_days: 2"))
    assert "drill_every_days: 2" in site.read_text()
    spec = load_spec(root)
    public = domain_vars(role_vars, spec, Path("/nonexistent"), "lab").public
    doc = public["monitoring_rules"]
    check = tmp_path / "check"
    check.mkdir()
    (check / "rules.yml").write_text(yaml.safe_dump(doc))
    (check / "alertmanager.yml").write_text(
        yaml.safe_dump(public["monitoring_alertmanager_config"])
    )
    notes: dict[tuple[str, str, str], Any] = {
        (r["alert"], r["labels"]["name"], r["labels"].get("repo", "")): r["annotations"]
        for g in doc["groups"]
        for r in g["rules"]
        if r["labels"].get("kind") == "backup"
    }
    # One sample a minute for 4 hours; values are Unix times (the test clock starts at 0).
    # dinkes/db: primary backed up every hour (value = the time of each backup), the
    # off-site copy stopped after its first: stale once 2 h have passed.
    hourly = " ".join(str(3600 * (m // 60)) for m in range(241))
    absent_backups = [
        _alert("BackupStale", "dc/monitor", "primary", "warning", notes),
        _alert("BackupStale", "dc/nvr", "primary", "warning", notes),
        _alert("BackupStale", "dc/vpn-gw", "primary", "warning", notes),
        _alert("BackupStale", "dinkes/app", "offsite", "critical", notes),
    ]
    tests = {
        "rule_files": ["rules.yml"],
        # Hourly evaluations: a rule active at one is firing at the next (`for` 30 s).
        "evaluation_interval": "1h",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": series(LAST, "dinkes/db", repo="primary"), "values": hourly},
                    {"series": series(LAST, "dinkes/db", repo="offsite"), "values": "0x240"},
                    {"series": series(DRILL, "dinkes/db"), "values": "0x240"},
                    # dinkes/app: both copies fresh, drilled; but another VM (a dc VM)
                    # exports a fresh series claiming to be dinkes/app's offsite: ignored
                    # because its name label is the exporting VM's own.
                    {"series": series(LAST, "dinkes/app", repo="primary"), "values": hourly},
                    {"series": series(DRILL, "dinkes/app"), "values": "0x240"},
                    {
                        "series": series(LAST, "dc/monitor", repo="offsite", vm="dinkes/app"),
                        "values": hourly,
                    },
                ],
                "alert_rule_test": [
                    # 1 h in: only the missing series (dinkes/app's off-site copy: the
                    # other VM's series does not count; dc's VMs never reported) fire;
                    # dinkes/db's off-site copy is an hour old, under its 2 h.
                    {"eval_time": "60m", "alertname": "BackupStale", "exp_alerts": [
                        *absent_backups,
                    ]},
                    # 4 h in: dinkes/db's off-site copy is stale (3 h); its primary is not.
                    {"eval_time": "240m", "alertname": "BackupStale", "exp_alerts": [
                        *absent_backups,
                        _alert("BackupStale", "dinkes/db", "offsite", "critical", notes, True),
                    ]},
                ],
            },
            {
                # 3 days on (drills are due every 2): dinkes/db's drill is overdue.
                "interval": "1h",
                "input_series": [
                    {"series": series(DRILL, "dinkes/db"), "values": "0x80"},
                    {"series": series(DRILL, "dinkes/app"), "values": "0+3600x80"},
                ],
                "alert_rule_test": [
                    {"eval_time": "47h", "alertname": "RestoreDrillOverdue", "exp_alerts": [
                        # dc's VMs were never drilled (absent): overdue from the start.
                        _alert("RestoreDrillOverdue", "dc/monitor", "", "warning", notes),
                        _alert("RestoreDrillOverdue", "dc/nvr", "", "warning", notes),
                        _alert("RestoreDrillOverdue", "dc/vpn-gw", "", "warning", notes),
                    ]},
                    {"eval_time": "72h", "alertname": "RestoreDrillOverdue", "exp_alerts": [
                        _alert("RestoreDrillOverdue", "dc/monitor", "", "warning", notes),
                        _alert("RestoreDrillOverdue", "dc/nvr", "", "warning", notes),
                        _alert("RestoreDrillOverdue", "dc/vpn-gw", "", "warning", notes),
                        _alert("RestoreDrillOverdue", "dinkes/db", "", "warning", notes, True),
                    ]},
                ],
            },
        ],
    }  # fmt: skip
    (check / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    script = (
        "promtool test rules tests.yml && "
        "amtool config routes test --config.file=alertmanager.yml "
        "opd=dinkes alertname=BackupStale severity=critical"
    )
    out = podman("run", "--rm", "--network", "none",
                 "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                 "-v", f"{check}:/check:ro", "-w", "/check", lab_image(),
                 "sh", "-c", script, check=False, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout
    # The OPD's own contact and the NOC receive it.
    assert out.stdout.strip().splitlines()[-1] == "opd-dinkes,noc"


def _alert(
    alert: str,
    vm: str,
    repo: str,
    severity: str,
    notes: dict[tuple[str, str, str], Any],
    scraped: bool = False,
) -> dict[str, Any]:
    """An expected alert; ``scraped``: from a series that exists (it keeps its job label),
    not from ``absent()`` (which carries only the selector's labels)."""
    labels = {"severity": severity, "opd": vm.split("/")[0], "kind": "backup", "name": vm}
    if scraped:
        labels["job"] = "node"
    if repo:
        labels["repo"] = repo
    return {"exp_labels": labels, "exp_annotations": notes[(alert, vm, repo)]}
