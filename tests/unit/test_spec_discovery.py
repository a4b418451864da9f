"""Spec discovery: dcctl reads its own documents, and a spec repo can hold anything else.

A real spec repo holds the pipeline file, tickets, a README and scratch files next to
site.yaml and opd/; `validate` must read exactly the spec, say which files it read, and a
ticket rendered there must not carry a git-ignored scratch file into the IPAM lock.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from dcctl.cli import app
from dcctl.spec import load_spec
from dcctl.spec.discovery import _matches, discover_specs
from dcctl.tickets.render import render_ticket
from tests.conftest import EXAMPLE, ROOT
from tests.helpers import git, git_init_commit

#: An OPD document in a scratch file: read by mistake it would add the OPD `coba`.
SCRATCH_OPD = """apiVersion: dcctl/v1
kind: Opd
code: coba
name: Dinas Percobaan
sector: other
classification: terbatas
contacts: [{name: Admin, role: Operator}]
quota: {vcpu: 4, memory_gb: 8, disk_gb: 100}
vms:
  - {name: coba, vcpu: 1, memory_gb: 1, disk_gb: 10}
"""


def busy_repo(tmp_path: Path, *, init_git: bool = True) -> Path:
    """The example as a spec repo holding what real ones hold besides the spec."""
    repo = tmp_path / "spec"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
    shutil.copy(ROOT / "examples" / "ci" / "gitlab-ci.yml", repo / ".gitlab-ci.yml")
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "ci" / "github-actions.yml", repo / ".github/workflows/d.yml")
    shutil.copytree(ROOT / "examples" / "tickets", repo / "tickets")
    (repo / "README.md").write_text("# Spec repo of the regency\n")
    (repo / "mkdocs.yml").write_text("site_name: Spec\n")
    (repo / ".gitignore").write_text("scratch*.yaml\n")
    (repo / "scratch-coba.yaml").write_text(SCRATCH_OPD)
    (repo / ".dcctlignore").write_text("# drafts are not ready\ndrafts/\n")
    (repo / "drafts").mkdir()
    (repo / "drafts" / "coba.yaml").write_text(SCRATCH_OPD)
    return git_init_commit(repo) if init_git else repo


def test_a_busy_spec_repo_validates_and_says_what_it_read(tmp_path: Path) -> None:
    repo = busy_repo(tmp_path)
    assert "scratch-coba.yaml" not in git(repo, "ls-files")  # really ignored by git
    r = CliRunner().invoke(app, ["validate", str(repo), "--output", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    expected = ["site.yaml", *sorted(f"opd/{p.name}" for p in (EXAMPLE / "opd").glob("*.yaml"))]
    assert sorted(data["files"]) == sorted(expected)
    assert data["skipped"]["scratch-coba.yaml"] == "git-ignored"
    assert data["skipped"]["drafts/coba.yaml"] == ".dcctlignore"
    assert data["skipped"]["tickets/vm-baru.yaml"].startswith("not a dcctl document")
    assert data["skipped"]["mkdocs.yml"].startswith("not a dcctl document")
    assert not any(f.startswith(".") for f in [*data["files"], *data["skipped"]])
    text = CliRunner().invoke(app, ["validate", str(repo)]).output
    assert text.startswith("OK ")
    assert "read: opd/bapenda.yaml, opd/bappeda.yaml" in text
    assert "skipped scratch-coba.yaml: git-ignored" in text


def test_outside_git_nothing_is_git_ignored_but_dcctlignore_holds(tmp_path: Path) -> None:
    repo = busy_repo(tmp_path, init_git=False)
    found = discover_specs(repo)
    names = {p.relative_to(repo).as_posix() for p in found.files}
    assert "scratch-coba.yaml" in names  # no Git to ask: it declares dcctl, so it is read
    assert found.skipped["drafts/coba.yaml"] == ".dcctlignore"
    assert "coba" in load_spec(repo).opds


def test_layout_files_are_always_read_so_a_lost_apiversion_is_an_error(tmp_path: Path) -> None:
    repo = busy_repo(tmp_path)
    path = repo / "opd" / "rsud.yaml"
    path.write_text(path.read_text().replace("apiVersion: dcctl/v1\n", ""))
    r = CliRunner().invoke(app, ["validate", str(repo)])
    assert r.exit_code == 1
    assert "opd/rsud.yaml" in r.output and "missing apiVersion" in r.output


def test_a_ticket_branch_never_carries_an_ignored_scratch_file_into_the_lock(
    tmp_path: Path,
) -> None:
    repo = busy_repo(tmp_path)
    assert not load_spec(repo).lock_changed  # the example's lock is committed with it
    result = render_ticket(ROOT / "examples" / "tickets" / "vm-baru.yaml", repo)
    lock = git(repo, "show", f"{result.branch}:dcctl.lock.yaml")
    assert "dinkes/servers/simpus-v2" in lock
    assert "coba" not in lock
    assert git(repo, "diff", "--name-only", f"main..{result.branch}").split() == [
        "dcctl.lock.yaml",
        "opd/dinkes.yaml",
    ]


def test_dcctlignore_patterns_follow_gitignore() -> None:
    assert _matches("drafts/", "drafts/a.yaml") and not _matches("drafts/", "drafts")
    assert _matches("*.tmp.yaml", "opd/x.tmp.yaml")  # no slash: any folder
    assert _matches("/old.yaml", "old.yaml") and not _matches("/old.yaml", "opd/old.yaml")
    assert _matches("opd/*.bak.yaml", "opd/a.bak.yaml")
    assert not _matches("opd/*.yaml", "opd/sub/a.yaml")  # * stays within a name
    assert _matches("opd/**/a.yaml", "opd/sub/deep/a.yaml")


def test_validate_counts_the_files_of_a_large_repo_per_folder(tmp_path: Path) -> None:
    """Past FILES_NAMED files the text line names the top-level files and counts each
    folder (a x10 regency has 600 OPD files); the JSON still lists every file."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from gen_regency import generate
    finally:
        sys.path.pop(0)
    generate(tmp_path / "big", opds=24, vms=160, switches=20, offices=60, cameras=320)
    text = CliRunner().invoke(app, ["validate", str(tmp_path / "big")])
    assert text.exit_code == 0, text.output
    read = [line for line in text.output.splitlines() if line.startswith("read: ")]
    assert read == ["read: site.yaml, opd/ (24 files)"], text.output
    data = json.loads(
        CliRunner().invoke(app, ["validate", str(tmp_path / "big"), "-o", "json"]).output
    )
    assert len(data["files"]) == 25 and "opd/opd23.yaml" in data["files"]
