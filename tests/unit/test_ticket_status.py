"""Request service levels from the ticket, Git history and the audit log.

A spec repo holds three tickets. One is rendered 20 minutes after it was received,
merged and applied to production 5 hours after (both targets met); one is rendered
2 hours after (answer missed) and never merged, so a day later it is overdue; one
arrived 30 minutes ago and is open. Commit times are set through Git's own
GIT_COMMITTER_DATE, the apply through an audit-log line as `dcctl apply` writes it.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dcctl.cli import app
from dcctl.spec import load_spec
from dcctl.tickets import render_ticket
from dcctl.tickets.cli import ticket_app
from dcctl.tickets.status import ticket_status
from tests.conftest import EXAMPLE, ROOT
from tests.helpers import git, git_init_commit

TICKETS = ROOT / "examples" / "tickets"
T0 = datetime.fromisoformat("2025-02-03T08:15:00+07:00")  # vm-baru.yaml's diterima
T1 = datetime.fromisoformat("2025-02-10T10:20:00+07:00")  # kantor-vpn.json's diterima
NOW = datetime.fromisoformat("2025-02-11T12:20:00+07:00")


def at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setenv("GIT_COMMITTER_DATE", when.isoformat())
    monkeypatch.setenv("GIT_AUTHOR_DATE", when.isoformat())


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    spec = shutil.copytree(EXAMPLE, tmp_path / "spec", ignore=shutil.ignore_patterns("state"))
    (spec / "tickets").mkdir()
    shutil.copy(TICKETS / "vm-baru.yaml", spec / "tickets")
    shutil.copy(TICKETS / "kantor-vpn.json", spec / "tickets")
    hapus = yaml.safe_load((TICKETS / "hapus.yaml").read_text())
    hapus["diterima"] = (NOW - timedelta(minutes=30)).isoformat()
    (spec / "tickets" / "hapus.yaml").write_text(yaml.safe_dump(hapus))
    at(monkeypatch, T0 - timedelta(days=30))
    git_init_commit(spec)
    at(monkeypatch, T0 + timedelta(minutes=20))
    render_ticket(spec / "tickets" / "vm-baru.yaml", spec)
    at(monkeypatch, T0 + timedelta(hours=3))
    git(spec, "merge", "-q", "--no-ff", "-m", "Merge ticket KOM-2025-0117", "ticket/KOM-2025-0117")
    applied = git(spec, "rev-parse", "--short", "HEAD").strip()
    (spec / "state").mkdir()
    entry = {  # what dcctl.engines.orchestrate.audit appends after a production apply
        "action": "up",
        "commit": applied,
        "ok": True,
        "target": "prod",
        "time": (T0 + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S%z"),
        "user": "dcctl",
    }
    lab = {
        **entry,
        "target": "lab",
        "time": (T0 + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (spec / "state" / "audit.log").write_text(json.dumps(lab) + "\n" + json.dumps(entry) + "\n")
    at(monkeypatch, T0 + timedelta(hours=5))
    git(spec, "add", "state")
    git(spec, "commit", "-q", "-m", f"dcctl apply of {applied} [skip ci]")  # the state commit
    at(monkeypatch, T1 + timedelta(hours=2))
    render_ticket(spec / "tickets" / "kantor-vpn.json", spec)
    return spec


def test_times_and_service_levels(repo: Path) -> None:
    rows, problems = ticket_status(repo / "tickets", repo, load_spec(repo).site.service_levels, NOW)
    assert problems == []
    assert [r.number for r in rows] == ["KOM-2025-0130", "KOM-2025-0150", "KOM-2025-0117"]
    late, fresh, done = rows
    # rendered 2 h after receipt: answer missed; not merged, 26 h later: resolve overdue
    assert late.answered == T1 + timedelta(hours=2) and late.answered_by == "render"
    assert late.answer.state == "missed" and late.resolve.state == "overdue"
    assert late.merged is None and late.applied is None
    assert fresh.answer.state == "open" and fresh.resolve.state == "open"
    assert fresh.rendered is None
    assert done.answered == T0 + timedelta(minutes=20) and done.answer.state == "met"
    assert done.merged == T0 + timedelta(hours=3)
    assert done.applied == T0 + timedelta(hours=5)  # the prod apply, not the lab rehearsal
    assert done.resolve.state == "met" and done.resolve.took == timedelta(hours=5)


def test_cli_table_and_json(repo: Path) -> None:
    cli = CliRunner()
    args = ["status", str(repo / "tickets"), "--repo", str(repo), "--now", NOW.isoformat()]
    r = cli.invoke(ticket_app, args, env={"COLUMNS": "160"})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    first = next(i for i, line in enumerate(lines) if "KOM-2025-0130" in line)
    assert "OVERDUE by 2h" in lines[first] and "missed (2h 00m)" in lines[first]
    assert "met (20m)" in r.output and "met (5h 00m)" in r.output
    data = json.loads(cli.invoke(ticket_app, [*args, "-o", "json"]).output)
    assert data["service_levels"] == {"answer_minutes": 60, "resolve_hours": 24}
    by = {t["ticket"]: t for t in data["tickets"]}
    assert by["KOM-2025-0117"]["applied"] == (T0 + timedelta(hours=5)).isoformat()
    assert by["KOM-2025-0117"]["resolve"] == {
        "state": "met",
        "limit_minutes": 24 * 60,
        "took_minutes": 300,
    }


def test_cli_table_in_indonesian(repo: Path) -> None:
    """`dcctl --lang id ticket status`: title, headings, verdicts and durations in Indonesian."""
    from dcctl import i18n

    i18n.set_language("id")  # what `dcctl --lang id` does before the sub-command runs
    args = ["status", str(repo / "tickets"), "--repo", str(repo), "--now", NOW.isoformat()]
    r = CliRunner().invoke(ticket_app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "Permintaan: dijawab dalam 60 menit, diselesaikan dalam 24 jam" in r.output
    assert "diterima" in r.output and "dijawab" in r.output and "penyelesaian" in r.output
    line = next(ln for ln in r.output.splitlines() if "KOM-2025-0130" in ln)
    assert "TERLAMBAT 2 j" in line and "terlewat (2 j 00 mnt)" in line
    assert "terpenuhi (20 mnt)" in r.output and "terpenuhi (5 j 00 mnt)" in r.output
    assert "* dijawab saat branch-nya dibuat oleh render" in r.output
    r = CliRunner().invoke(ticket_app, [*args, "--now", "2025-02-11T12:20"])
    assert r.exit_code == 1
    assert "kesalahan: --now perlu selisih UTC-nya, mis. 2025-02-04T09:00+07:00" in r.output
    data = json.loads(CliRunner().invoke(ticket_app, [*args, "-o", "json"]).output)
    assert {t["answer"]["state"] for t in data["tickets"]} <= {"met", "missed", "open"}


def test_site_sets_other_targets(repo: Path) -> None:
    site = repo / "site.yaml"
    site.write_text(
        site.read_text().replace(
            "service_levels: {answer_minutes: 60, resolve_hours: 24}",
            "service_levels: {answer_minutes: 15, resolve_hours: 4}",
        )
    )
    rows, _ = ticket_status(repo / "tickets", repo, load_spec(repo).site.service_levels, NOW)
    done = next(r for r in rows if r.number == "KOM-2025-0117")
    assert done.answer.state == "missed" and done.resolve.state == "missed"


def test_report_has_a_requests_section_per_opd(repo: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", str(repo), "--output", "json"])
    assert r.exit_code == 0, r.output
    req = json.loads(r.output)["requests"]
    assert req["opds"]["dinkes"]["requests"] == 1 and req["opds"]["dinkes"]["resolve_met"] == 1
    assert req["opds"]["disdik"]["requests"] == 2 and req["opds"]["bapenda"]["requests"] == 0
    html = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", str(repo), "--output", "markdown", "--html", str(html)])
    assert "### Requests and service levels" in r.output
    assert "| dinkes | 1 | 1 | 0 | 1/1 | 1/1 |" in r.output
    assert "Permintaan OPD dan tingkat layanan" in html.read_text()


def test_the_example_tickets_show_with_their_times() -> None:
    r = CliRunner().invoke(
        ticket_app,
        ["status", str(TICKETS), "--repo", str(EXAMPLE), "--now", "2025-03-14T12:00+07:00"],
        env={"COLUMNS": "160"},
    )
    assert r.exit_code == 0, r.output
    for path in TICKETS.iterdir():
        assert path.read_text().count("diterima") == 1, path  # every example carries it
    assert "2025-02-03 08:15" in r.output and "met (25m)" in r.output  # ubah-vm's dijawab


def test_a_time_without_offset_is_refused(tmp_path: Path) -> None:
    t = yaml.safe_load((TICKETS / "hapus.yaml").read_text())
    t["diterima"] = "2025-03-14T10:30:00"
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(t))
    r = CliRunner().invoke(ticket_app, ["status", str(tmp_path), "--repo", str(EXAMPLE)])
    assert r.exit_code == 1 and "diterima" in r.output and "offset" in r.output
