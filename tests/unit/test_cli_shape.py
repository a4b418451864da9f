"""The shape of the command line (issue 19): `-h`, examples, whole summaries,
completion, one grammar for the spec path, global options anywhere."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer._click.core import Command, Context
from typer.core import TyperGroup
from typer.testing import CliRunner

from dcctl.cli import _mount_subcommands, app
from dcctl.cliopts import hoist, summary
from tests.conftest import EXAMPLE

DCCTL = Path(sys.executable).parent / "dcctl"


def _tree() -> TyperGroup:
    _mount_subcommands()
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    return root


def _commands(
    group: TyperGroup, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Command]]:
    ctx = Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        yield (*path, name), cmd
        if isinstance(cmd, TyperGroup):
            yield from _commands(cmd, (*path, name))


ALL = list(_commands(_tree()))
LEAVES = [(p, c) for p, c in ALL if not isinstance(c, TyperGroup)]


def test_the_walk_sees_every_command() -> None:
    names = {" ".join(p) for p, _ in LEAVES}
    for expected in ("validate", "switch diff", "vpn keys init", "lab fault wan", "ticket status"):
        assert expected in names
    assert len(LEAVES) >= 30


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=" ".join)
def test_dash_h_is_help_everywhere(path: tuple[str, ...]) -> None:
    r = CliRunner().invoke(app, [*path, "-h"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Usage: ") and "-h, --help" in r.output


def test_every_command_shows_an_example_of_itself() -> None:
    missing = []
    for path, _cmd in LEAVES:
        text = CliRunner().invoke(app, [*path, "--help"]).output
        examples = text.split("Examples:")[1] if "Examples:" in text else ""
        lines = [ln.strip() for ln in examples.splitlines()]
        if not any(ln.startswith("dcctl " + " ".join(path)) for ln in lines):
            missing.append(" ".join(path))
    assert not missing, f"commands whose --help has no example of themselves: {missing}"


def test_summaries_are_whole_in_every_command_list() -> None:
    for path, cmd in ALL:
        if not isinstance(cmd, TyperGroup):
            continue
        text = CliRunner().invoke(app, [*path, "--help"], terminal_width=80).output
        flat = " ".join(text.split())
        assert "..." not in text.split("Commands:")[1], path
        ctx = Context(cmd)
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            assert sub is not None
            whole = summary(sub)
            assert whole and whole in flat, (path, name, whole)
    # the one the issue saw cut mid-sentence
    top = " ".join(CliRunner().invoke(app, ["--help"]).output.split())
    assert "Per-OPD consolidation report: VMs, storage, cameras, offices, quota use" in top


@pytest.mark.parametrize(
    ("shell", "marks"),
    [
        (
            "bash",
            ["complete -o default -F _dcctl_completion dcctl", "_DCCTL_COMPLETE=complete_bash"],
        ),
        (
            "zsh",
            ["#compdef dcctl", "_DCCTL_COMPLETE=complete_zsh", "compdef _dcctl_completion dcctl"],
        ),
        ("fish", ["complete --command dcctl", "_DCCTL_COMPLETE=complete_fish"]),
    ],
)
def test_completion_scripts(shell: str, marks: list[str], tmp_path: Path) -> None:
    # Typer's own switch: the shell is named instead of detected from the parent process.
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1", "HOME": str(tmp_path)}
    p = subprocess.run(
        [DCCTL, "--show-completion", shell], capture_output=True, text=True, env=env, timeout=60
    )
    assert p.returncode == 0, p.stderr
    for mark in marks:
        assert mark in p.stdout
    p = subprocess.run(
        [DCCTL, "--install-completion", shell], capture_output=True, text=True, env=env, timeout=60
    )
    assert p.returncode == 0 and "completion installed" in p.stdout, p.stdout + p.stderr
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any("_DCCTL_COMPLETE" in f.read_text() for f in written), written


def _complete(shell: str, line: str, cwd: Path | None = None) -> list[str]:
    env = {**os.environ, "_DCCTL_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        words = line.split(" ")
        env |= {"COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    else:
        env |= {"_TYPER_COMPLETE_ARGS": line, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    p = subprocess.run(
        [DCCTL], capture_output=True, text=True, env=env, timeout=60, cwd=cwd or Path.cwd()
    )
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def test_completion_offers_names_from_the_spec(tmp_path: Path) -> None:
    ex = str(EXAMPLE)
    switches = _complete("bash", f"dcctl switch diff {ex} sw-d")
    assert switches == ["sw-dist-kota", "sw-dist-selatan", "sw-dinkes", "sw-disdukcapil",
                        "sw-dispertan", "sw-dishub"]  # fmt: skip
    # the spec's own names: another spec gives other ones
    repo = tmp_path / "spec"
    shutil.copytree(EXAMPLE, repo)
    for doc in (repo / "site.yaml", repo / "opd" / "dishub.yaml"):
        doc.write_text(doc.read_text().replace("sw-dishub", "sw-perhubungan"))
    got = _complete("bash", "dcctl switch diff sw-", cwd=repo / "opd")  # repo found upward
    assert "sw-perhubungan" in got and "sw-dishub" not in got
    assert _complete("fish", f"dcctl show {ex} di") == ["dinkes", "disdik", "disdukcapil",
                                                        "dishub", "dispertan"]  # fmt: skip
    vms = _complete("zsh", f"dcctl apply {ex} --allow-destroy dinkes/")
    assert any("dinkes/simpus" in v for v in vms)
    assert "dinkes/pkm-garung" in _complete("fish", f"dcctl vpn render {ex} ")
    assert "sw-core" in _complete("bash", f"dcctl lab fault switch {ex} sw-c")


def test_global_options_anywhere() -> None:
    assert hoist(["show", "spec", "--no-color"]) == ["--no-color", "show", "spec"]
    assert hoist(["-o", "json", "show", "spec"]) == ["show", "spec", "-o", "json"]
    assert hoist(["-ojson", "vpn", "show"]) == ["vpn", "show", "-ojson"]
    assert hoist(["show", "-o", "json", "--", "--no-color"]) == [
        "show",
        "-o",
        "json",
        "--",
        "--no-color",
    ]
    r = CliRunner().invoke(app, ["validate", str(EXAMPLE), "--no-color"])
    assert r.exit_code == 0 and r.output.startswith("OK wonosobo")
    r = CliRunner().invoke(app, ["-o", "json", "validate", str(EXAMPLE)])
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True


def test_the_spec_path_is_found_upward_and_a_file_means_its_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "spec"
    shutil.copytree(EXAMPLE, repo)
    monkeypatch.chdir(repo / "opd")
    r = CliRunner().invoke(app, ["validate", "-o", "json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["files"]) == len(list((repo / "opd").glob("*.yaml"))) + 1
    r = CliRunner().invoke(app, ["validate", "dinkes.yaml"])
    assert r.exit_code == 0, r.output
    assert "checked dinkes.yaml within its repo .." in r.output
    # an error in that file is reported with the repo's context (its Site's switches)
    text = (repo / "opd" / "dinkes.yaml").read_text()
    (repo / "opd" / "dinkes.yaml").write_text(
        text.replace("switch: sw-dinkes", "switch: sw-nowhere", 1)
    )
    r = CliRunner().invoke(app, ["validate", "dinkes.yaml"])
    assert r.exit_code == 1 and "sw-nowhere" in r.output
    assert "exactly one Site document" not in r.output
    # outside any repo a single file is still read alone
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lone.yaml").write_text("apiVersion: dcctl/v1\nkind: Opd\n")
    r = CliRunner().invoke(app, ["validate", "lone.yaml"])
    assert r.exit_code == 1 and "lone.yaml" in r.output


def test_switch_takes_the_spec_path_first(spec_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The issue's `dcctl switch diff spec`: a path, never read as a switch name.
    r = CliRunner().invoke(app, ["switch", "diff", str(spec_repo)])
    assert r.exit_code == 1 and "give a switch NAME or --all" in r.output
    assert r.output.count("error") == 1
    r = CliRunner().invoke(app, ["switch", "diff", str(spec_repo), "sw-nope"])
    assert r.exit_code == 1 and "sw-nope" in r.output
    monkeypatch.chdir(spec_repo / "opd")
    r = CliRunner().invoke(app, ["switch", "diff", "sw-nope"])  # the repo around cwd
    assert r.exit_code == 1 and "sw-nope" in r.output and "Site document" not in r.output
    # the old spelling still works, with a note
    r = CliRunner().invoke(app, ["switch", "diff", "sw-nope", "--spec", str(spec_repo)])
    assert r.exit_code == 1 and "--spec is deprecated" in r.output and "sw-nope" in r.output


def test_ticket_takes_the_spec_path_first_or_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = EXAMPLE.parent / "tickets" / "vm-baru.yaml"
    repos = [tmp_path / n for n in ("first", "around", "option")]
    for repo in repos:
        shutil.copytree(EXAMPLE, repo)
    runs = [
        ["ticket", "render", str(repos[0]), str(ticket), "--no-branch"],
        ["ticket", "render", str(ticket), "--no-branch"],  # from inside repos[1]/opd
        ["ticket", "render", str(ticket), "--repo", str(repos[2]), "--no-branch"],
    ]
    for repo, args in zip(repos, runs, strict=True):
        monkeypatch.chdir(repo / "opd" if repo.name == "around" else tmp_path)
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
    texts = [(repo / "opd" / "dinkes.yaml").read_text() for repo in repos]
    assert texts[0] == texts[1] == texts[2] != (EXAMPLE / "opd" / "dinkes.yaml").read_text()


def test_lab_fault_takes_the_path_first_and_still_reads_it_last(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dcctl.lab.cli import _fault_words

    ex = str(EXAMPLE)
    path, rest = _fault_words([ex, "dishub/terminal", "stop"], ("CAMERA", "ACTION"))
    assert path.resolve() == EXAMPLE.resolve() and rest == ["dishub/terminal", "stop"]
    path, rest = _fault_words(["dishub/terminal", "stop", ex], ("CAMERA", "ACTION"))
    assert path.resolve() == EXAMPLE.resolve() and rest == ["dishub/terminal", "stop"]
    assert "deprecated" in capsys.readouterr().err
    monkeypatch.chdir(EXAMPLE / "opd")
    path, rest = _fault_words(["sw-core"], ("NAME",))
    assert path.resolve() == EXAMPLE.resolve() and rest == ["sw-core"]


def test_the_entry_point_finds_the_command_word_after_global_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`dcctl --lang id validate` is a core command: the sub-apps are not imported for it."""
    import dcctl.cli as cli

    mounted: list[bool] = []
    monkeypatch.setattr(cli, "_mount_subcommands", lambda: mounted.append(True))
    monkeypatch.setattr(cli, "app", lambda **_kw: 0)
    try:
        for argv, mounts in (
            (["dcctl", "--lang", "id", "validate", "."], False),
            (["dcctl", "-o", "json", "show", "."], False),
            (["dcctl", "--no-color", "vpn", "show"], True),
        ):
            mounted.clear()
            monkeypatch.setattr(sys, "argv", argv)
            with pytest.raises(SystemExit):
                cli.run()
            assert bool(mounted) is mounts, argv
    finally:
        gc.enable()  # run() turns the collector off for a short offline command
