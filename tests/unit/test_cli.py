"""The CLI contract a pipeline relies on: exit codes, JSON shapes, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from dcctl.cli import app
from dcctl.plan.desired import desired_state
from dcctl.plan.diff import write_snapshot
from dcctl.spec import load_spec
from tests.conftest import EXAMPLE
from tests.specs import total


def test_validate_example_ok(cli: CliRunner) -> None:
    r = cli.invoke(app, ["validate", str(EXAMPLE)])
    assert r.exit_code == 0, r.output
    spec = load_spec(EXAMPLE)
    assert r.output.startswith(f"OK {spec.site.name}: {len(spec.opds)} OPDs")


def test_validate_json(cli: CliRunner) -> None:
    r = cli.invoke(app, ["validate", str(EXAMPLE), "--output", "json"])
    data = json.loads(r.output)
    spec = load_spec(EXAMPLE)
    assert data["ok"] is True and data["opds"] == len(spec.opds)
    assert data["cameras"] == total(spec, "cameras")


def test_plan_lists_creations_and_detailed_exitcode(cli: CliRunner, spec_repo: Path) -> None:
    r = cli.invoke(app, ["plan", str(spec_repo), "--detailed-exitcode"])
    assert r.exit_code == 2
    assert "+ dinkes/simpus" in r.output
    assert "+ sw-core" in r.output
    r = cli.invoke(app, ["plan", str(spec_repo), "-o", "json"])
    data = json.loads(r.output)
    actions = {(c["layer"], c["key"]): c["action"] for c in data["changes"]}
    assert actions[("vms", "dinkes/simpus")] == "create"
    assert actions[("switches", "sw-dist-kota")] == "create"
    assert data["summary"]["create"] == len(data["changes"])


def test_a_lab_apply_leaves_the_production_plan_showing_every_change(
    cli: CliRunner, spec_repo: Path
) -> None:
    spec = load_spec(spec_repo)
    write_snapshot(spec.state_dir, desired_state(spec), "lab")  # what a lab apply writes
    before = cli.invoke(app, ["plan", str(spec_repo), "-o", "json"]).output
    r = cli.invoke(app, ["plan", str(spec_repo), "--detailed-exitcode"])
    assert r.exit_code == 2, r.output
    assert "+ dinkes/simpus" in r.output and "No changes" not in r.output
    summary = json.loads(before)["summary"]
    assert summary["create"] > 0 and summary["update"] == summary["delete"] == 0


def test_untargeted_old_snapshot_is_refused_until_adopted(cli: CliRunner, spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    old = spec.state_dir / "snapshot.json"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text(json.dumps(desired_state(spec), default=str))  # the pre-target format
    r = cli.invoke(app, ["plan", str(spec_repo), "--detailed-exitcode"])
    assert r.exit_code == 1 and "no target" in r.output and "snapshot adopt" in r.output
    assert "Traceback" not in r.output
    r = cli.invoke(app, ["snapshot", "adopt", str(spec_repo), "--target", "prod"])
    assert r.exit_code == 0, r.output
    assert json.loads(old.read_text())["target"] == "prod"
    r = cli.invoke(app, ["plan", str(spec_repo), "--detailed-exitcode"])
    assert r.exit_code == 0 and "No changes" in r.output
    r = cli.invoke(app, ["snapshot", "adopt", str(spec_repo), "--target", "prod"])
    assert r.exit_code == 1 and "already names its target" in r.output


def test_plan_against_snapshot_shows_only_the_delta(cli: CliRunner, spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    write_snapshot(spec.state_dir, desired_state(spec))
    r = cli.invoke(app, ["plan", str(spec_repo), "--detailed-exitcode"])
    assert r.exit_code == 0 and "No changes" in r.output
    f = spec_repo / "opd" / "bapenda.yaml"
    f.write_text(f.read_text().replace("memory_gb: 4, disk_gb: 150", "memory_gb: 6, disk_gb: 150"))
    r = cli.invoke(app, ["plan", str(spec_repo), "-o", "json", "--detailed-exitcode"])
    assert r.exit_code == 2
    changes = json.loads(r.output)["changes"]
    assert [(c["layer"], c["key"], c["action"]) for c in changes] == [
        ("vms", "bapenda/sismiop", "update")
    ]
    assert changes[0]["fields"] == {"memory_gb": {"old": 4, "new": 6}}


def test_plan_markdown(cli: CliRunner, spec_repo: Path) -> None:
    r = cli.invoke(app, ["plan", str(spec_repo), "-o", "markdown"])
    assert r.exit_code == 0
    assert r.output.startswith("### dcctl plan: wonosobo")
    # Grouped per OPD: the VM sits in its OPD's section, with its class and fields.
    section = r.output.split("#### OPD `dinkes`")[1].split("####")[0]
    assert "| + create | vms | `dinkes/simpus` | `node`: " in section


def test_show_tables_and_unknown_opd(cli: CliRunner) -> None:
    r = cli.invoke(app, ["show", str(EXAMPLE), "dishub", "-o", "json"])
    inv = json.loads(r.output)
    assert [c["camera"] for c in inv["cameras"]] == [
        "dishub/simpang-kauman",
        "dishub/alun-alun",
        "dishub/terminal",
    ]
    # 4096 kbit/s for 14 days = 619.3 GB
    assert inv["cameras"][1]["storage_gb"] == 619.3
    r = cli.invoke(app, ["show", str(EXAMPLE), "nope"])
    assert r.exit_code == 1


def test_schema_is_json_schema_of_both_kinds(cli: CliRunner) -> None:
    r = cli.invoke(app, ["schema"])
    schema = json.loads(r.output)
    assert set(schema["discriminator"]["mapping"]) == {"Site", "Opd"}
    assert schema["$defs"]["Vm"]["additionalProperties"] is False


def test_lock_writes_once(cli: CliRunner, spec_repo: Path, tmp_path: Path) -> None:
    # The committed lock is current (the example's history: DMZ networks were added
    # to it later, so it is not what a fresh allocation gives, which is the lock's point).
    committed = (spec_repo / "dcctl.lock.yaml").read_text()
    r = cli.invoke(app, ["lock", str(spec_repo)])
    assert "up to date" in r.output
    assert (spec_repo / "dcctl.lock.yaml").read_text() == committed
    other = tmp_path / "other"
    shutil.copytree(spec_repo, other)
    fresh = []
    for repo in (spec_repo, other):
        (repo / "dcctl.lock.yaml").unlink()
        r = cli.invoke(app, ["lock", str(repo)])
        assert "updated" in r.output
        assert (repo / "dcctl.lock.yaml").exists()
        r = cli.invoke(app, ["lock", str(repo)])
        assert "up to date" in r.output
        fresh.append((repo / "dcctl.lock.yaml").read_text())
    assert fresh[0] == fresh[1]  # deterministic


def test_help_and_version_everywhere(cli: CliRunner) -> None:
    for cmd in (
        ["--help"],
        ["validate", "--help"],
        ["plan", "--help"],
        ["show", "--help"],
        ["schema", "--help"],
        ["lock", "--help"],
    ):
        r = cli.invoke(app, cmd)
        assert r.exit_code == 0 and "Usage" in r.output, cmd
    assert cli.invoke(app, ["--version"]).output.startswith("dcctl ")


def test_real_process_no_traceback_and_no_color(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: dcctl/v1\nkind: Site\nname: [unclosed\n")
    env = {**os.environ, "NO_COLOR": "1"}
    p = subprocess.run(
        [sys.executable, "-m", "dcctl.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert p.returncode == 1
    assert "Traceback" not in p.stderr + p.stdout
    assert "bad.yaml:4" in p.stderr or "bad.yaml:3" in p.stderr
    assert "\x1b[" not in p.stderr


def test_committed_schema_is_current(cli: CliRunner) -> None:
    committed = json.loads((EXAMPLE.parent / "dcctl.schema.json").read_text())
    assert committed == json.loads(cli.invoke(app, ["schema"]).output), "run dcctl schema --out"


def test_top_level_help_lists_sub_apps() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "dcctl.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0
    for sub in ("lab", "ticket", "switch", "validate", "plan"):
        assert sub in p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "dcctl.cli", "lab", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0 and "status" in p.stdout
