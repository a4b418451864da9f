"""`dcctl backup status` (issue 18): each VM's last backup, its age against the policy,
copies present and last drill, from the target's records, at a fixed moment."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dcctl.backup.metrics import LAST_SUCCESS
from dcctl.backup.state import BackupRun, DrillRun, load, record_backup, record_drill
from dcctl.backup.status import backup_status, per_opd
from dcctl.cli import _mount_subcommands, app
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from tests.specs import OpdSpec, VmSpec, build_spec

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module", autouse=True)
def _mounted() -> None:
    """The backup sub-app mounted, as `dcctl.cli.run` does."""
    if "backup" not in {g.name for g in app.registered_groups}:
        _mount_subcommands()


def ago(**delta: float) -> str:
    return (NOW - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def spec_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dinkes (rahasia: daily minimum, two copies), dishub (publik: weekly, one copy)."""
    return build_spec(
        tmp_path_factory.mktemp("backup-status"),
        opds=[
            OpdSpec(
                "dinkes",
                classification="rahasia",
                vms=[
                    VmSpec("ok"),
                    VmSpec("stale"),
                    VmSpec("one-copy"),
                    VmSpec("no-drill"),
                    VmSpec("bad-drill"),
                    VmSpec("never"),
                    VmSpec("db", extra={"backup": {"schedule": "hourly"}}),
                ],
            ),
            OpdSpec("dishub", classification="publik", vms=[VmSpec("web")]),
            OpdSpec("dc"),
        ],
        services="dc",
        backup=True,
    )


def fill(path: Path) -> None:
    """Records of every case; drills are due every 30 days (the example's value)."""
    both = ("primary", "offsite")
    good = DrillRun(ago(days=3), True, 4.2, "s1", 10)
    for vm, when, repos, drill in (
        ("dinkes/ok", ago(hours=20), both, good),
        ("dinkes/stale", ago(days=3), both, good),  # daily: stale after 2 days
        ("dinkes/one-copy", ago(hours=2), ("primary",), good),
        ("dinkes/no-drill", ago(hours=2), both, None),
        ("dinkes/bad-drill", ago(hours=2), both, DrillRun(ago(days=1), False, 9.0, "s1", 0)),
        ("dinkes/db", ago(minutes=30), both, DrillRun(ago(days=31), True, 3.0, "s1", 5)),
        ("dishub/web", ago(days=6), ("primary",), good),  # weekly: fresh for 14 days
    ):
        for repo in repos:
            record_backup(path, vm, repo, BackupRun(when, f"snap-{repo}"))
        if drill is not None:
            record_drill(path, vm, drill)


def test_each_vm_is_judged_against_its_own_policy(spec_root: Path, tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    fill(path)
    rows = {r.vm: r for r in backup_status(desired_state(load_spec(spec_root)), load(path), NOW)}
    states = {k: r.state for k, r in rows.items() if k.startswith(("dinkes/", "dishub/"))}
    assert states == {
        "dinkes/ok": "ok",
        "dinkes/stale": "stale",
        "dinkes/one-copy": "copies",
        "dinkes/no-drill": "drill-overdue",
        "dinkes/bad-drill": "drill-overdue",
        "dinkes/never": "missing",
        "dinkes/db": "drill-overdue",  # 31 days since its drill, 30 allowed
        "dishub/web": "ok",
    }
    ok = rows["dinkes/ok"]
    assert (ok.age_s, ok.stale_after_s) == (20 * 3600, 2 * 86400)
    assert ok.copies_present == ["primary", "offsite"] and ok.copies_required == 2
    assert (ok.drill_ok, ok.drill_duration_s, ok.drill_age_s) == (True, 4.2, 3 * 86400)
    assert rows["dinkes/one-copy"].copies_present == ["primary"]
    # An hourly VM is stale after two hours, not two days.
    assert rows["dinkes/db"].stale_after_s == 7200
    # The backup VMs have no policy; the service VMs follow their class (terbatas).
    assert rows["dc/backup"].state == "none" and rows["dc/monitor"].state == "missing"
    # Worst first.
    order = [r.state for r in backup_status(desired_state(load_spec(spec_root)), load(path), NOW)]
    assert order.index("missing") < order.index("stale") < order.index("ok") < order.index("none")


def test_per_opd_counts_coverage_age_and_drills(spec_root: Path, tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    fill(path)
    opds = per_opd(backup_status(desired_state(load_spec(spec_root)), load(path), NOW))
    dinkes = opds["dinkes"]
    assert (dinkes["vms"], dinkes["with_policy"]) == (7, 7)
    # Covered: backed up within policy with every copy (ok, no-drill, bad-drill, db).
    assert dinkes["covered"] == 4 and dinkes["never"] == 1
    assert dinkes["oldest_age_s"] == 3 * 86400
    assert (dinkes["drills_ok"], dinkes["drills_failed"], dinkes["drills_missing"]) == (4, 1, 2)
    assert dinkes["last_drill"] == ago(days=1)
    assert opds["dishub"]["covered"] == 1


def test_status_command_json_and_table(spec_root: Path, cli: CliRunner) -> None:
    path = spec_root / "state" / "backup" / "records.json"
    fill(path)
    result = cli.invoke(app, ["backup", "status", str(spec_root), "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["target"] == "prod" and data["records"].endswith("state/backup/records.json")
    rows = {r["vm"]: r for r in data["vms"]}
    assert rows["dinkes/ok"]["copies_present"] == ["primary", "offsite"]
    assert rows["dinkes/never"]["state"] == "missing" and rows["dinkes/never"]["age_s"] is None
    # The lab keeps its own records: none there yet.
    lab = json.loads(
        cli.invoke(app, ["backup", "status", str(spec_root), "-t", "lab", "-o", "json"]).stdout
    )
    assert lab["records"].endswith("state/backup/lab/records.json")
    assert {r["state"] for r in lab["vms"]} == {"missing", "none"}
    text = cli.invoke(app, ["backup", "status", str(spec_root)], env={"COLUMNS": "200"})
    assert text.exit_code == 0
    assert "dinkes/stale" in text.output and "stale" in text.output
    assert "never" in text.output  # dinkes/never has no backup at all


def test_an_unreadable_record_file_is_one_clear_error(spec_root: Path, cli: CliRunner) -> None:
    path = spec_root / "state" / "backup" / "lab" / "records.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"format": 99}')
    result = cli.invoke(app, ["backup", "status", str(spec_root), "-t", "lab"])
    assert result.exit_code == 1
    assert "records.json" in result.output and "not a backup record file" in result.output
    assert "Traceback" not in result.output


class _Prometheus:
    """A stand-in answering /api/v1/query in the shape Prometheus's HTTP API documents
    (``{"status": "success", "data": {"resultType": "vector", "result": [{"metric": ...,
    "value": [unix, "string"]}]}}``); the example's lab test asks the real one."""

    def __init__(self, result: list[dict[str, Any]]) -> None:
        import http.server
        import threading

        asked: list[str] = []
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                asked.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.asked = asked
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _series(vm: str, repo: str, when: dt.datetime) -> dict[str, Any]:
    opd = vm.split("/")[0]
    labels = {"__name__": LAST_SUCCESS, "opd": opd, "name": vm, "repo": repo, "job": "node"}
    return {"metric": labels, "value": [NOW.timestamp(), str(when.timestamp())]}


def test_live_status_takes_the_timers_newer_backups_from_prometheus(
    spec_root: Path, cli: CliRunner
) -> None:
    """The records say 'never' and 'stale'; Prometheus saw fresh runs since: --live says so,
    keeps a recorded backup newer than Prometheus's, and writes nothing."""
    path = spec_root / "state" / "backup" / "records.json"
    fill(path)
    before = path.read_bytes()
    now = dt.datetime.now(dt.UTC)
    prom = _Prometheus(
        [
            _series("dinkes/never", "primary", now - dt.timedelta(hours=1)),
            _series("dinkes/never", "offsite", now - dt.timedelta(hours=1)),
            _series("dinkes/stale", "primary", now - dt.timedelta(minutes=5)),
            _series("dinkes/stale", "offsite", now - dt.timedelta(minutes=5)),
            # Older than its record: the record stays.
            _series("dishub/web", "primary", now - dt.timedelta(days=400)),
        ]
    )
    try:
        args = ["backup", "status", str(spec_root), "-o", "json", "--prometheus", prom.url]
        result = cli.invoke(app, args)
    finally:
        prom.close()
    assert result.exit_code == 0, result.output
    assert prom.asked and LAST_SUCCESS in prom.asked[0]
    data = json.loads(result.stdout)
    assert data["live"] == prom.url
    rows = {r["vm"]: r for r in data["vms"]}
    never = rows["dinkes/never"]
    assert never["copies_present"] == ["primary", "offsite"] and 3000 < never["age_s"] < 4000
    assert rows["dinkes/stale"]["age_s"] < 600
    assert rows["dinkes/stale"]["state"] != "stale"
    assert rows["dishub/web"]["last_backup"] == ago(days=6)
    assert path.read_bytes() == before  # read-only


def test_live_status_with_prometheus_unreachable_exits_3(spec_root: Path, cli: CliRunner) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = cli.invoke(app, ["backup", "status", str(spec_root), "--prometheus", url])
    assert result.exit_code == 3
    assert "Prometheus not reachable" in result.output and url in result.output
    assert "Traceback" not in result.output
    bad = cli.invoke(app, ["backup", "status", str(spec_root), "--prometheus", "file:///etc/x"])
    assert bad.exit_code == 1 and "--prometheus" in bad.output
