"""The apply flow an engineer and a pipeline rely on (issue 13; issue 15's signals).

Saved plans applied exactly or refused, the plan shown before the question, a
typed regency name for destroy, exit codes (usage errors never 2), read
commands that write nothing, and an interrupted apply that leaves its audit
record. The engines' layers are stand-ins where an engine would run; the CLI,
the orchestrator, the lock, the snapshot and the audit log are real, and the
interrupt is a real signal to a real process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dcctl import output
from dcctl.cli import app
from dcctl.engines import orchestrate
from dcctl.engines.audit import read_audit
from dcctl.engines.layer import Item, LayerResult, Status
from dcctl.output import EXIT_CODES
from dcctl.plan.desired import desired_state
from dcctl.plan.diff import write_snapshot
from dcctl.spec import load_spec
from tests.helpers import REPO, stop_hosts_after_first_play, wait_for


def _dcctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dcctl.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


# --------------------------------------------------------------------------
# Exit codes


def test_usage_errors_exit_1_even_with_detailed_exitcode(spec_repo: Path) -> None:
    """2 means "changes pending" to a pipeline; click's usage errors must never look like it."""
    for args in (
        ["plan", str(spec_repo), "--detailed-exitcode", "-o", "xml"],
        ["drift", str(spec_repo), "--detailed-exitcode", "--no-such-option"],
        ["plan", str(spec_repo), "--detailed-exitcode", "--target", "staging"],
        ["vpn", "rotate", "--detailed-exitcode"],
    ):
        p = _dcctl(*args)
        assert p.returncode == 1, (args, p.returncode, p.stderr)
        assert "Error:" in p.stderr and "Traceback" not in p.stderr, p.stderr
    # The same command, well formed, still says "changes" with 2.
    assert _dcctl("plan", str(spec_repo), "--detailed-exitcode", "-o", "json").returncode == 2


def test_one_exit_code_table_in_help_and_readme() -> None:
    p = _dcctl("--help")
    assert p.returncode == 0
    readme = (REPO / "README.md").read_text()
    for line in EXIT_CODES.splitlines()[1:]:
        assert line.strip() in p.stdout, line
    for code in ("0", "1", "2", "130"):
        assert f"| {code} |" in readme, f"README's exit code table lacks {code}"
    for sub in (["apply"], ["drift"], ["switch"], ["vpn"]):
        assert "Exit codes" in _dcctl(*sub, "--help").stdout, sub


# --------------------------------------------------------------------------
# Read commands write nothing


def _tree(*roots: Path) -> dict[str, int]:
    """Every path under ``roots`` with its size (a file made or grown shows)."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            out[str(p)] = p.stat().st_size if p.is_file() else -1
    return out


def test_read_commands_create_no_file_key_or_passphrase(
    spec_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    """A fresh copy, an empty HOME: show, plan, vpn show/render, report, validate write nothing."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("DCCTL_PASSPHRASE", "DCCTL_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    before = _tree(spec_repo, home)
    s = str(spec_repo)
    for args in (
        ["validate", s],
        ["show", s],
        ["plan", s],
        ["plan", s, "-o", "json"],
        ["plan", s, "-o", "markdown"],
        ["report", s],
        ["report", s, "-o", "json"],
        ["vpn", "show", s, "--target", "prod"],
        ["vpn", "show", s, "-o", "json"],
        ["vpn", "render", s, "pkm-garung", "--target", "prod"],
    ):
        r = cli.invoke(_full_app(), args)
        assert r.exit_code == 0, (args, r.output)
        assert _tree(spec_repo, home) == before, f"{args} wrote something"
    # The real command, as a new user runs it: keys shown as not made yet.
    p = _dcctl("vpn", "show", s, "--target", "prod", env={"HOME": str(home)})
    assert p.returncode == 0, p.stderr
    assert "created by the first apply" in p.stdout
    assert _tree(spec_repo, home) == before


def _full_app() -> Any:
    """The top-level app with its sub-apps mounted (as `dcctl.cli.run` does)."""
    from dcctl.cli import _mount_subcommands

    names = {g.name for g in app.registered_groups}
    if "vpn" not in names:
        _mount_subcommands()
    return app


# --------------------------------------------------------------------------
# Saved plans, show then ask, typed destroy


@pytest.fixture
def engine_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """orchestrate.run replaced: records what an apply was asked to do, changes nothing."""
    calls: list[dict[str, Any]] = []

    def fake(spec: Any, action: str, target: str, on_step: Any = None, **kw: Any) -> Any:
        calls.append({"action": action, "target": target, **kw})
        return orchestrate.RunReport(action, target)

    monkeypatch.setattr(orchestrate, "run", fake)
    return calls


def test_saved_plan_is_applied_exactly_and_refused_once_the_spec_moved(
    spec_repo: Path, tmp_path: Path, cli: CliRunner, engine_runs: list[dict[str, Any]]
) -> None:
    saved = tmp_path / "reviewed.plan"
    r = cli.invoke(app, ["plan", str(spec_repo), "--out", str(saved)])
    assert r.exit_code == 0, r.output
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    data = json.loads(saved.read_text())
    assert data["target"] == "prod" and data["inputs"]["lock"]
    assert "opd/dinkes.yaml" in data["inputs"]["spec"]

    apply = ["apply", str(spec_repo), "--plan", str(saved), "--auto-approve"]
    r = cli.invoke(app, apply)
    assert r.exit_code == 0, r.output
    assert [(c["action"], c["target"]) for c in engine_runs] == [("up", "prod")]
    assert engine_runs[0]["state"] == data["state"], "the plan's desired state is applied"

    # The spec moved: an OPD file edited after the review.
    dinkes = spec_repo / "opd" / "dinkes.yaml"
    dinkes.write_text(dinkes.read_text().replace("vcpu: 4", "vcpu: 8", 1))
    r = cli.invoke(app, apply)
    assert r.exit_code == 1
    assert "refusing the saved plan" in r.output and "opd/dinkes.yaml" in r.output
    assert len(engine_runs) == 1, "a stale plan reached the engines"


def test_saved_plan_apply_and_drift_messages_in_indonesian(
    spec_repo: Path, tmp_path: Path, cli: CliRunner, engine_runs: list[dict[str, Any]]
) -> None:
    """`--lang id`: the saved plan's note and refusals, apply's summary, drift's verdict."""
    saved = tmp_path / "p.json"
    r = cli.invoke(app, ["--lang", "id", "plan", str(spec_repo), "--out", str(saved)])
    assert r.exit_code == 0, r.output
    assert f"plan ini disimpan ke {saved}; terapkan persis plan ini dengan `dcctl apply " in (
        r.output.replace("\n", "")
    )
    base = ["--lang", "id", "apply", str(spec_repo), "--plan", str(saved), "--auto-approve"]
    r = cli.invoke(app, [*base, "--target", "lab"])
    assert r.exit_code == 1 and f"kesalahan: {saved} adalah plan untuk prod, bukan lab" in r.output
    r = cli.invoke(app, [*base, "--layer", "vms"])
    assert "kesalahan: --layer tidak dapat mengubah plan yang tersimpan" in r.output
    r = cli.invoke(app, base)
    assert r.exit_code == 0, r.output
    assert re.search(r"^apply selesai dalam \d+,\d detik$", r.output, re.M)
    dinkes = spec_repo / "opd" / "dinkes.yaml"
    dinkes.write_text(dinkes.read_text().replace("vcpu: 4", "vcpu: 8", 1))
    r = cli.invoke(app, base)
    assert r.exit_code == 1 and f"kesalahan: plan tersimpan {saved} ditolak: sumbernya" in (
        r.output.replace("\n", "")
    )
    assert "berkas spec yang berubah sejak plan dibuat: opd/dinkes.yaml" in r.output
    assert len(engine_runs) == 1
    (tmp_path / "junk").write_text("{}")
    r = cli.invoke(app, [*base[:5], str(tmp_path / "junk"), "--auto-approve"])
    assert r.exit_code == 1 and "bukan plan tersimpan dcctl (tidak ada format " in r.output
    r = cli.invoke(app, ["--lang", "id", "drift", str(spec_repo), "--target", "prod"])
    assert r.exit_code == 0 and "tidak ada drift" in r.output, r.output


def test_saved_plan_refused_when_lock_or_last_apply_moved_or_target_differs(
    spec_repo: Path, tmp_path: Path, cli: CliRunner, engine_runs: list[dict[str, Any]]
) -> None:
    saved = tmp_path / "p.json"
    assert cli.invoke(app, ["plan", str(spec_repo), "--out", str(saved)]).exit_code == 0
    base = ["apply", str(spec_repo), "--plan", str(saved), "--auto-approve"]
    r = cli.invoke(app, [*base, "--target", "lab"])
    assert r.exit_code == 1 and "plan for prod, not lab" in r.output
    spec = load_spec(spec_repo)
    write_snapshot(spec.state_dir, desired_state(spec), "prod")  # another apply ran
    r = cli.invoke(app, base)
    assert r.exit_code == 1 and "prod's last-applied snapshot changed" in r.output
    assert cli.invoke(app, ["plan", str(spec_repo), "--out", str(saved)]).exit_code == 0
    lock = spec_repo / "dcctl.lock.yaml"
    lock.write_text(lock.read_text() + "\n# edited\n")
    r = cli.invoke(app, base)
    assert r.exit_code == 1 and "dcctl.lock.yaml changed" in r.output
    (tmp_path / "junk").write_text("{}")
    r = cli.invoke(app, [*base[:3], str(tmp_path / "junk"), "--auto-approve"])
    assert r.exit_code == 1 and "not a dcctl saved plan" in r.output
    assert engine_runs == []


def test_apply_shows_the_plan_then_asks(
    spec_repo: Path,
    cli: CliRunner,
    engine_runs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = cli.invoke(app, ["apply", str(spec_repo), "--target", "prod"])
    assert r.exit_code == 1 and "pass --auto-approve" in r.output  # nobody to ask
    monkeypatch.setattr(output, "interactive", lambda: True)
    r = cli.invoke(app, ["apply", str(spec_repo), "--target", "prod"], input="n\n")
    assert r.exit_code == 1 and "not confirmed" in r.output
    assert r.output.index("+ dinkes/simpus") < r.output.index("Apply these changes")
    assert engine_runs == []
    r = cli.invoke(app, ["apply", str(spec_repo), "--target", "prod"], input="y\n")
    assert r.exit_code == 0, r.output
    assert [(c["action"], c["target"]) for c in engine_runs] == [("up", "prod")]


def test_destroy_needs_the_regency_name_typed(
    spec_repo: Path,
    cli: CliRunner,
    engine_runs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = load_spec(spec_repo).site.name
    monkeypatch.setattr(output, "interactive", lambda: True)
    for answer in ("y", "yes", site.upper() + "x"):
        r = cli.invoke(app, ["destroy", str(spec_repo), "--target", "prod"], input=answer + "\n")
        assert r.exit_code == 1 and "not confirmed" in r.output, answer
    assert engine_runs == []
    r = cli.invoke(app, ["destroy", str(spec_repo), "--target", "prod"], input=site + "\n")
    assert r.exit_code == 0, r.output
    assert [(c["action"], c["target"]) for c in engine_runs] == [("destroy", "prod")]


# --------------------------------------------------------------------------
# Signals: an interrupted apply stops at a safe point and is audited

#: A dcctl whose layers are stand-ins: the first runs until a stop is asked (then
#: finishes cleanly, as a switch push would), the later ones mark that they started.
_SLOW_APPLY = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dcctl import cli
    from dcctl.engines import interrupt, orchestrate
    from dcctl.engines.layer import Item, LayerResult, Status

    MARKS = Path(sys.argv[1])

    class Slow:
        needs = ()
        def __init__(self, name):
            self.name = name
        def apply(self, ctx):
            (MARKS / f"{self.name}.started").touch()
            deadline = time.monotonic() + 60
            while self.name == "switches" and not interrupt.requested():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            return LayerResult(self.name, items=[Item(self.name, Status.changed, "1 lines")])

    orchestrate.LAYERS = tuple(Slow(n) for n in ("switches", "vms", "hosts"))
    sys.argv = ["dcctl", "apply", sys.argv[2], "--target", "prod", "--auto-approve"]
    cli.run()
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_apply_stops_at_a_safe_point_and_leaves_an_audit_record(
    spec_repo: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_APPLY, str(marks), str(spec_repo)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)},
    )
    try:
        wait_for(
            "the first layer to start",
            lambda: (marks / "switches.started").exists() or proc.poll() is not None,
            60,
            interval=0.05,
        )
        assert proc.poll() is None, proc.communicate()
        started = read_audit(spec_repo / "state")
        assert [(e["event"], e["action"], e["target"]) for e in started] == [
            ("started", "up", "prod")
        ], "the started record is written before the first layer runs"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, (proc.returncode, out, err)
    assert "stopping at the next safe point" in err and "Traceback" not in err
    assert "apply INTERRUPTED" in out
    assert not (marks / "vms.started").exists(), "a new layer started after the signal"
    records = read_audit(spec_repo / "state")
    assert [r["event"] for r in records] == ["started", "finished"]
    done = records[-1]
    assert done["id"] == records[0]["id"]
    assert (done["result"], done["ok"], done["signal"]) == ("interrupted", False, sig.name)
    assert list(done["layers"]) == ["switches"], "what ran before the stop is recorded"
    assert not (spec_repo / "state" / "snapshot.json").exists(), "an interrupted apply is no apply"


def test_a_failed_apply_is_audited_started_and_finished(
    spec_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layer that raises (a bug) still leaves a finished record saying it failed."""

    class Boom:
        name, needs = "switches", ()

        def apply(self, ctx: Any) -> LayerResult:
            raise RuntimeError("driver crashed")

    class Fine:
        name, needs = "vms", ()

        def apply(self, ctx: Any) -> LayerResult:
            return LayerResult("vms", items=[Item("x", Status.changed, "create")])

    monkeypatch.setattr(orchestrate, "LAYERS", (Boom(), Fine()))
    spec = load_spec(spec_repo)
    with pytest.raises(RuntimeError):
        orchestrate.run(spec, "up", "prod", layers=["switches", "vms"])
    records = read_audit(spec.state_dir)
    assert [(r["event"], r.get("result")) for r in records] == [
        ("started", None),
        ("finished", "failed"),
    ]
    assert "driver crashed" in " ".join(records[-1]["errors"])


def test_drift_before_any_apply_says_so_and_every_error_line_says_what_failed(
    spec_repo: Path, cli: CliRunner
) -> None:
    """Before: `error vms: ` with nothing after it. Now: nothing applied yet, nothing written."""
    r = cli.invoke(app, ["drift", str(spec_repo), "--target", "prod", "--layer", "vms"])
    assert r.exit_code == 0, r.output
    assert "vms: nothing applied to prod yet" in r.output and "no drift" in r.output
    assert not (spec_repo / "state").exists(), "a drift before any apply wrote state"
    assert LayerResult.broken("vms", "").errors == ["vms: failed, and the engine gave no reason"]
    assert LayerResult.broken("vms", "  \n").errors[0].endswith("gave no reason")


def test_production_key_rotation_asks_and_is_audited(
    spec_repo: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCCTL_PASSPHRASE", "rotation-test")
    s = str(spec_repo)
    r = cli.invoke(_full_app(), ["vpn", "keys", "init", s, "--target", "prod"])
    assert r.exit_code == 0, r.output
    shown = json.loads(
        cli.invoke(_full_app(), ["vpn", "show", s, "--target", "prod", "-o", "json"]).stdout
    )
    before = {p["office"]: p["public_key"] for p in shown["peers"]}
    r = cli.invoke(_full_app(), ["vpn", "rotate", s, "pkm-kertek", "--target", "prod"])
    assert r.exit_code == 1 and "--auto-approve" in r.output
    r = cli.invoke(
        _full_app(), ["vpn", "rotate", s, "pkm-kertek", "--target", "prod", "--auto-approve"]
    )
    assert r.exit_code == 0, r.output
    audit = [(e["event"], e["action"], e.get("result")) for e in read_audit(spec_repo / "state")]
    assert audit[-2:] == [("started", "vpn rotate", None), ("finished", "vpn rotate", "ok")]
    after = json.loads(
        cli.invoke(_full_app(), ["vpn", "show", s, "--target", "prod", "-o", "json"]).stdout
    )
    changed = [p["office"] for p in after["peers"] if p["public_key"] != before[p["office"]]]
    assert changed == ["dinkes/pkm-kertek"]


def test_no_new_play_starts_after_a_stop_was_asked(
    spec_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: a SIGINT during one play used to let the next play run to completion."""
    from dcctl.engines.ansible import layer as hosts_layer

    started = stop_hosts_after_first_play(monkeypatch)
    spec = load_spec(spec_repo)
    report = hosts_layer.run_hosts(spec, "prod", None, check=True, converge=True)
    plays = len(hosts_layer._plays())
    assert plays > 1 and started == ["play-0.yml"]
    assert report.status == "failed"
    assert report.failures["(playbook)"] == (
        f"interrupted (SIGINT): {plays - 1} of {plays} plays not started"
    )
