"""Consolidation report: numbers match a spec the test builds; the HTML page is safe and offline.

The numbers are checked on a spec built here (``tests.specs``), so every expected value
follows from the OPDs below, not from whatever the demo regency holds today.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from dcctl import i18n
from dcctl.backup.state import BackupRun, DrillRun, record_backup, record_drill, records_path
from dcctl.report.consolidation import (
    backup_section,
    charts,
    render_html,
    render_markdown,
    render_report_html,
    report,
    report_command,
)
from dcctl.spec import load_spec
from tests.specs import OpdSpec, VmSpec, build_spec

#: "dinkes": three VMs (4/8/200, 4/8/500, 1/2/20), one camera, two offices, 3 servers
#: still in its migrating room. "arsip": nothing but a closed room (its 4 servers are
#: gone). "dc": hosts the service VMs (tests.specs.SERVICE_VMS: 4 vCPU, 130 GB) and
#: runs 2 legacy servers.
OPDS = [
    OpdSpec(
        "dinkes",
        vms=[
            VmSpec("simpus", vcpu=4, memory_gb=8, disk_gb=200),
            VmSpec("simpus-db", vcpu=4, memory_gb=8, disk_gb=500),
            VmSpec("info-sehat", vcpu=1, memory_gb=2, disk_gb=20),
        ],
        cameras=1,
        offices=2,
        classification="rahasia",
        server_room=("migrating", 3),
        quota={"vcpu": 16, "memory_gb": 32, "disk_gb": 1500, "vms": 6, "cameras": 10},
    ),
    OpdSpec("arsip", server_room=("closed", 4)),
    OpdSpec("dc", server_room=("running", 2)),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two hypervisor nodes of 64 threads each; the OPDs above."""
    return build_spec(tmp_path_factory.mktemp("report"), opds=OPDS, nodes=2, services="dc")


@pytest.fixture(scope="module")
def data(built: Path) -> dict:
    return report(load_spec(built))


def test_dinkes_numbers_match_the_spec(data: dict) -> None:
    d = data["opds"]["dinkes"]
    # simpus (4/8/200), simpus-db (4/8/500), info-sehat (1/2/20)
    assert (d["vms"], d["vcpu"], d["memory_gb"], d["disk_gb"]) == (3, 9, 18, 720)
    assert (d["vms_quota"], d["vcpu_quota"], d["memory_gb_quota"], d["disk_gb_quota"]) == (
        6,
        16,
        32,
        1500,
    )
    # one camera at 1024 kbit/s kept 30 days: 1024000/8 * 86400 * 30 / 1e9 GB
    assert d["recording_gb"] == pytest.approx(331.8)
    assert (d["cameras"], d["offices"]) == (1, 2)
    assert (d["server_room"], d["legacy_servers"]) == ("migrating", 3)
    assert d["classification"] == "rahasia"


def test_totals_add_up(data: dict) -> None:
    t = data["totals"]
    opds = data["opds"].values()
    # dinkes 3 VMs + dc's 3 service VMs; one camera and two offices, all dinkes'
    assert t["opds"] == 3 and t["vms"] == 6 and t["cameras"] == 1 and t["offices"] == 2
    # dinkes 720 + dc's services 10 + 20 + 100
    assert t["disk_gb"] == sum(o["disk_gb"] for o in opds) == 850
    assert t["server_rooms"] == {"running": 1, "migrating": 1, "closed": 1}
    # dinkes 3 + dc 2; arsip's room is closed, so its 4 servers count 0
    assert t["legacy_servers"] == 5
    assert t["consolidated_pct"] == 33.3  # one closed room of three
    assert t["vm_capacity_gb"] == 1_000_000 and t["site_vcpu"] == 128  # 2 nodes x 64
    assert t["recording_gb"] == pytest.approx(sum(o["recording_gb"] for o in opds), abs=0.2)


def test_report_is_json_ready(data: dict) -> None:
    assert json.loads(json.dumps(data)) == data


def test_html_is_one_self_contained_page_with_an_svg_per_chart(built: Path) -> None:
    spec = load_spec(built)
    html = render_html(spec)
    n = len(charts(report(spec)))
    assert n >= 5
    assert html.count("<svg") == n == html.count("</svg>")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    # nothing is fetched: no URL, no script, no external stylesheet, font or image
    assert not re.search(r"https?:|//[a-z]|<script|<link|<img|src=|href=|url\(|@import", html, re.I)
    # Indonesian unless a language is chosen (its readers), with id-ID grouping
    assert "OPD dinkes" in html and "720 / 1.500" in html


def test_html_escapes_hostile_names(built: Path) -> None:
    spec = load_spec(built)
    data = copy.deepcopy(report(spec))
    evil = '<script>alert("x")</script>'
    data["opds"]["dinkes"]["name"] = evil
    data["opds"]["dinkes"]["note"] = "<img src=x onerror=alert(1)>"
    data["opds"]["evil<b>"] = {**data["opds"]["dinkes"], "code": "evil<svg onload=alert(1)>"}
    data["site"] = "</title><script>x</script>"
    html = render_report_html(data)
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<svg onload" not in html and "evil&lt;svg onload=alert(1)&gt;" in html


def test_over_quota_is_flagged(data: dict) -> None:
    over = copy.deepcopy(data)
    over["opds"]["dinkes"]["vcpu"] = 17  # quota 16
    vcpu_chart = charts(over)[0]
    row = next(r for r in vcpu_chart["rows"] if r["label"] == "dinkes")
    assert row["over"] and row["used_w"] > row["limit_w"]
    assert 'class="used over"' in render_report_html(over)


def test_report_command_outputs(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "laporan.html"
    report_command(built, "json", out)
    data = json.loads(capsys.readouterr().out)
    assert data["opds"]["dinkes"]["disk_gb"] == 720
    assert out.read_text().count("<svg") >= 5
    report_command(built, "markdown", None)
    md = capsys.readouterr().out
    assert "| dinkes | OPD dinkes | rahasia | 3/6 | 9/16 | 18/32 | 720/1,500 |" in md
    report_command(built, "text", None)
    text = capsys.readouterr().out
    assert "dinkes" in text and "1 of 3 legacy server rooms closed" in text


def test_report_command_on_a_broken_spec_exits_1(tmp_path: Path) -> None:
    import typer

    (tmp_path / "site.yaml").write_text("apiVersion: dcctl/v1\nkind: Site\n")
    with pytest.raises(typer.Exit) as exc:
        report_command(tmp_path, "text", None)
    assert exc.value.exit_code == 1


# --------------------------------------------------------------------------
# Backups per OPD (issue 18), from the records at a fixed moment.

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _at(**delta: float) -> str:
    return (NOW - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dinkes (rahasia: daily, two copies): db covered and drilled, app only one copy,
    old never backed up; dishub (publik, weekly): web covered, its drill failed."""
    root = build_spec(
        tmp_path_factory.mktemp("report-backup"),
        opds=[
            OpdSpec("dinkes", classification="rahasia",
                    vms=[VmSpec("db"), VmSpec("app"), VmSpec("old")]),
            OpdSpec("dishub", classification="publik", vms=[VmSpec("web")]),
            OpdSpec("dc"),
        ],
        services="dc",
        backup=True,
    )  # fmt: skip
    path = records_path(load_spec(root), "prod")
    for repo in ("primary", "offsite"):
        record_backup(path, "dinkes/db", repo, BackupRun(_at(hours=5), "a1"))
    record_backup(path, "dinkes/app", "primary", BackupRun(_at(hours=30), "a2"))
    record_backup(path, "dishub/web", "primary", BackupRun(_at(days=3), "a3"))
    record_drill(path, "dinkes/db", DrillRun(_at(days=2), True, 8.5, "a1", 4))
    record_drill(path, "dishub/web", DrillRun(_at(days=1), False, 2.0, "a3", 0, "checksum"))
    return root


def test_backup_section_counts_coverage_age_and_drills(backed_up: Path) -> None:
    section = backup_section(load_spec(backed_up), now=NOW)
    assert section is not None and section["drill_every_days"] == 30
    dinkes = section["opds"]["dinkes"]
    assert (dinkes["with_policy"], dinkes["covered"], dinkes["never"]) == (3, 1, 1)
    assert dinkes["oldest_age_s"] == 30 * 3600  # app's one copy
    assert (dinkes["drills_ok"], dinkes["drills_failed"], dinkes["drills_missing"]) == (1, 0, 2)
    dishub = section["opds"]["dishub"]
    # Backed up within its weekly policy; the failed drill does not uncover it.
    assert (dishub["covered"], dishub["drills_failed"]) == (1, 1)
    assert dishub["last_drill"] == _at(days=1)
    t = section["totals"]
    # dc's three service VMs have a policy and no backup; its backup VMs none.
    assert (t["with_policy"], t["covered"], t["never"]) == (7, 2, 4)
    assert t["oldest_age_s"] == 3 * 86400 and t["last_drill"] == _at(days=1)
    # Without a backup section in the Site there is no section at all.
    assert backup_section(load_spec(build_spec(Path(backed_up).parent / "none"))) is None


def test_backup_section_in_text_markdown_and_html_in_the_reports_language(
    backed_up: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = load_spec(backed_up)
    data = report(spec, None, backup_section(spec, now=NOW))
    md = render_markdown(data)
    assert "### Backups per OPD" in md
    assert "| dinkes | 3 | 1/3 | 1 | 30 h | 1 | 0 | 2 | December 5, 2026 |" in md
    html = render_report_html(data, "en")
    assert "<h2>Backups per OPD</h2>" in html and "due every 30 days" in html
    html_id = render_report_html(data, "id")
    i18n.set_language("id")
    try:
        md_id = render_markdown(data)
    finally:
        i18n.set_language("en")
    assert "<h2>Cadangan data per OPD</h2>" in html_id and "Belum pernah dicadangkan" in html_id
    assert "wajib setiap 30 hari" in html_id and "Backups" not in html_id
    assert "| dinkes | 3 | 1/3 | 1 | 30 jam | 1 | 0 | 2 | 5 Desember 2026 |" in md_id
    report_command(backed_up, "text", None)
    text = capsys.readouterr().out
    assert "Backups per OPD" in text and "1/3" in text  # dinkes covered (narrow terminal)


def test_an_unreadable_record_file_fails_the_report_clearly(
    backed_up: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    import typer

    root = tmp_path / "spec"
    shutil.copytree(backed_up, root)
    (root / "state" / "backup" / "records.json").write_text("[]")
    with pytest.raises(typer.Exit) as exc:
        report_command(root, "text", None)
    assert exc.value.exit_code == 1
    assert "not a backup record file" in capsys.readouterr().err
