"""CODEOWNERS from the OPDs' reviewer contacts: a Dinkes change needs Dinkes and infra.

The generated files are read back with each platform's own rule (GitLab: every section
whose pattern matches is an approval rule of its own; GitHub: the last matching line
owns the file), so the test states who must approve a change to each file.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from typer.testing import CliRunner

from dcctl.cli import app
from tests.conftest import EXAMPLE
from tests.helpers import git_init_commit


def _match(pattern: str, path: str) -> bool:
    return pattern == "*" or fnmatch.fnmatchcase("/" + path, pattern.replace("\\ ", " "))


def gitlab_rules(text: str, path: str) -> dict[str, list[str]]:
    """Section -> owners of every section with a line matching `path` (all must approve)."""
    rules: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        pattern, *owners = line.split()
        if _match(pattern, path):
            rules[section] = owners
    return rules


def github_owners(text: str, path: str) -> list[str]:
    """Owners of the last line matching `path` (one of them must approve)."""
    found: list[str] = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            pattern, *owners = line.split()
            if _match(pattern, path):
                found = owners
    return found


def repo(tmp_path: Path) -> Path:
    return git_init_commit(
        shutil.copytree(EXAMPLE, tmp_path / "spec", ignore=shutil.ignore_patterns("state"))
    )


def test_gitlab_an_opd_file_needs_the_infra_team_and_that_opd(tmp_path: Path) -> None:
    out = tmp_path / "spec" / ".gitlab" / "CODEOWNERS"
    r = CliRunner().invoke(app, ["codeowners", str(repo(tmp_path)), "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert gitlab_rules(text, "opd/dinkes.yaml") == {
        "Infra": ["@diskominfo/infra"],
        "OPD dinkes": ["@sik-dinkes"],
    }
    assert gitlab_rules(text, "site.yaml") == {"Infra": ["@diskominfo/infra"]}
    # An OPD without a reviewer contact is reviewed by the infra team, and said so.
    assert gitlab_rules(text, "opd/bapenda.yaml") == {"Infra": ["@diskominfo/infra"]}
    assert "no reviewer contact (infra team only): bapenda" in text


def test_github_an_opd_file_is_owned_by_that_opd(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["codeowners", str(repo(tmp_path)), "--format", "github"])
    assert r.exit_code == 0, r.output
    assert github_owners(r.output, "opd/dinkes.yaml") == ["@sik-dinkes"]
    assert github_owners(r.output, "opd/rsud.yaml") == ["@simrs-rsud"]
    assert github_owners(r.output, "site.yaml") == ["@diskominfo/infra"]
    assert "require 2 approvals" in r.output


def test_paths_are_relative_to_the_git_repo_top(tmp_path: Path) -> None:
    top = tmp_path / "infra"
    shutil.copytree(EXAMPLE, top / "spec", ignore=shutil.ignore_patterns("state"))
    git_init_commit(top)
    r = CliRunner().invoke(app, ["codeowners", str(top / "spec")])
    assert "/spec/opd/dinkes.yaml @sik-dinkes" in r.output


def test_no_infra_reviewers_is_a_clear_error(tmp_path: Path) -> None:
    spec = repo(tmp_path)
    site = spec / "site.yaml"
    site.write_text(site.read_text().replace('review:\n  infra: ["@diskominfo/infra"]\n', ""))
    r = CliRunner().invoke(app, ["codeowners", str(spec)])
    assert r.exit_code == 1 and "review.infra" in r.output and "Traceback" not in r.output


def test_a_reviewer_must_be_a_handle(tmp_path: Path) -> None:
    spec = repo(tmp_path)
    opd = spec / "opd" / "dinkes.yaml"
    opd.write_text(opd.read_text().replace('"@sik-dinkes"', '"sik dinkes; rm"'))
    r = CliRunner().invoke(app, ["validate", str(spec)])
    assert r.exit_code == 1
    assert "opd/dinkes.yaml:9" in r.output and "contacts[0].reviewer" in r.output
