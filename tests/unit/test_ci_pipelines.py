"""The example pipelines run as shipped: published schemas, and each job's own script lines.

A spec repo is made the way the pipeline header tells a new user to (the example, the
pipeline file copied in, a ticket branch pushed to `origin`, here a local bare repo).
Then each job's lines run as the runner would run them (tests/ci_jobs.py), offline:
validate, plan with its merge-request comment (what curl / gh would post is recorded to
a file), report, and the apply job: its apply (against a lab that is not up here, so it
fails fast; the lab test runs it against a real lab), the state commit it makes even
after a failed apply, and its rebase onto a main that moved while it ran.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from dcctl.lab.topology import state_root
from dcctl.tickets import render_ticket
from tests import ci_jobs
from tests.conftest import EXAMPLE, ROOT
from tests.helpers import git, git_init_commit

TICKET = ROOT / "examples" / "tickets" / "vm-baru.yaml"
BRANCH = "ticket/KOM-2025-0117"


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(tool), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.gitlab-ci", ci_jobs.GITLAB), ("vendor.github-workflows", ci_jobs.GITHUB)],
)
def test_example_pipelines_pass_the_published_schemas(schema: str, path: Path) -> None:
    r = check_jsonschema(schema, path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_schema_check_catches_an_empty_image(tmp_path: Path) -> None:
    """The bug the issue found, so the check above is known to look (it ships the schema)."""
    data = yaml.safe_load(ci_jobs.GITLAB.read_text())
    data["apply:prod"]["image"] = ""
    bad = tmp_path / "gitlab-ci.yml"
    bad.write_text(yaml.safe_dump(data))
    r = check_jsonschema("vendor.gitlab-ci", bad)
    assert r.returncode == 1 and "apply:prod" in r.stdout and "image" in r.stdout


@dataclass
class Project:
    """The spec repo on the 'server' (a bare repo), an engineer's clone, and a tmp dir."""

    origin: Path
    work: Path
    tmp: Path

    def checkout(self, ref: str, name: str) -> Path:
        """What the runner checks out for a job: a clone of origin at `ref`."""
        dest = self.tmp / name
        git(self.tmp, "clone", "-q", "--branch", ref, str(self.origin), str(dest))
        return dest


@pytest.fixture
def project(tmp_path: Path) -> Project:
    work = shutil.copytree(EXAMPLE, tmp_path / "work", ignore=shutil.ignore_patterns("state"))
    shutil.copy(ci_jobs.GITLAB, work / ".gitlab-ci.yml")
    (work / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ci_jobs.GITHUB, work / ".github" / "workflows" / "dcctl.yml")
    shutil.copytree(ROOT / "examples" / "tickets", work / "tickets")
    (work / "README.md").write_text("# Spec repo of the regency\n")
    git_init_commit(work)
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(origin))
    git(work, "remote", "add", "origin", str(origin))
    git(work, "fetch", "-q", "origin")
    render_ticket(TICKET, work)  # the ticket's merge request
    git(work, "push", "-q", "origin", BRANCH)
    return Project(origin, work, tmp_path)


def gitlab_env(p: Project, checkout: Path, **extra: str) -> dict[str, str]:
    sha = git(checkout, "rev-parse", "HEAD").strip()
    return ci_jobs.base_env(
        p.tmp,
        {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_COMMIT_SHA": sha,
            "CI_COMMIT_SHORT_SHA": sha[:8],
            "CI_DEFAULT_BRANCH": "main",
            "CI_SERVER_HOST": ci_jobs.GITLAB_HOST,
            "CI_API_V4_URL": f"https://{ci_jobs.GITLAB_HOST}/api/v4",
            "CI_PROJECT_ID": "42",
            "CI_PROJECT_PATH": ci_jobs.PROJECT,
            "CI_PROJECT_DIR": str(checkout),
            **extra,
        },
    )


def merge_request_env(p: Project, checkout: Path) -> dict[str, str]:
    return gitlab_env(
        p,
        checkout,
        CI_PIPELINE_SOURCE="merge_request_event",
        CI_MERGE_REQUEST_IID="7",
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=BRANCH,
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
        CI_COMMIT_REF_NAME=BRANCH,
        DCCTL_NOTE_TOKEN="glpat-note-token",
    )


def test_gitlab_merge_request_jobs(project: Project) -> None:
    job = project.checkout(BRANCH, "mr")
    env = merge_request_env(project, job)
    r = ci_jobs.gitlab_job("validate", job, env)
    assert r.rc == 0, r.out + r.err
    assert "OK wonosobo" in r.out and json.loads((job / "validate.json").read_text())["ok"]
    r = ci_jobs.gitlab_job("plan:comment", job, env)
    assert r.rc == 0, r.out + r.err
    [call] = ci_jobs.read_records(project.tmp, "curl")
    assert call["url"].strip() == (
        f"https://{ci_jobs.GITLAB_HOST}/api/v4/projects/42/merge_requests/7/notes"
    )
    body = json.loads(call["body"])["body"]
    assert body == (job / "plan.md").read_text() and "simpus-v2" in body
    r = ci_jobs.gitlab_job("plan:changes", job, env)
    # 2: changes pending; the job passes with a warning (allow_failure on exit code 2)
    assert r.rc == 2, r.out + r.err
    allowed = ci_jobs.load(ci_jobs.GITLAB)["plan:changes"]["allow_failure"]["exit_codes"]
    assert r.rc in allowed


def test_gitlab_validate_fails_when_the_branch_lock_collides_with_main(project: Project) -> None:
    """A second ticket branch from the same commit: its merge-request pipeline fails."""
    git(project.work, "checkout", "-q", "main")
    git(project.work, "merge", "-q", "--no-ff", "-m", "merge the first MR", BRANCH)
    git(project.work, "push", "-q", "origin", "main")
    first = git(project.work, "rev-parse", "main~1").strip()  # where both branches start
    git(project.work, "checkout", "-q", first)
    second = ROOT / "examples" / "tickets" / "vm-baru.yaml"
    data = yaml.safe_load(second.read_text())
    data["nomor_tiket"], data["permintaan"]["nama"] = "KOM-2025-0118", "simpus-lab"
    (project.tmp / "t2.yaml").write_text(yaml.safe_dump(data))
    render_ticket(project.tmp / "t2.yaml", project.work)
    git(project.work, "push", "-q", "origin", "ticket/KOM-2025-0118")
    job = project.checkout("ticket/KOM-2025-0118", "mr2")
    r = ci_jobs.gitlab_job("validate", job, merge_request_env(project, job))
    assert r.rc == 1
    assert "dinkes/servers/simpus-lab collides with dinkes/servers/simpus-v2" in r.err
    assert "dcctl lock --against origin/main" in r.err


def test_gitlab_report_job_on_main(project: Project) -> None:
    job = project.checkout("main", "report")
    env = gitlab_env(project, job, CI_PIPELINE_SOURCE="push", CI_COMMIT_BRANCH="main")
    r = ci_jobs.gitlab_job("report", job, env)
    assert r.rc == 0, r.out + r.err
    assert "dinkes" in r.out
    assert "<html" in (job / "laporan-konsolidasi.html").read_text().lower()


def unused_lab_id() -> str:
    while True:
        lab_id = "t" + secrets.token_hex(1)[:2]
        if not (state_root() / lab_id).exists():
            return lab_id


def move_main(p: Project) -> str:
    """Someone merges meanwhile: main on origin moves past the apply job's checkout."""
    git(p.work, "checkout", "-q", "main")
    (p.work / "README.md").write_text("# Spec repo of the regency\n\nmoved meanwhile\n")
    git(p.work, "commit", "-q", "-am", "docs: a merge that landed during the apply")
    git(p.work, "push", "-q", "origin", "main")
    return git(p.work, "rev-parse", "HEAD").strip()


def assert_state_commit(p: Project, moved: str, applied: str) -> None:
    """origin/main: the state commit on top of the moved main, with the audit entry."""
    log = git(p.origin, "log", "-2", "--format=%H %s", "main").splitlines()
    assert log[1].split()[0] == moved, log
    assert log[0].split(" ", 1)[1] == f"dcctl apply of {applied[:8]} [skip ci]"
    files = git(p.origin, "show", "--name-only", "--format=", "main").split()
    assert "state/audit.log" in files
    entry = json.loads(git(p.origin, "show", "main:state/audit.log").splitlines()[-1])
    assert entry["action"] == "up" and applied.startswith(entry["commit"]), entry


def test_gitlab_apply_job_commits_state_and_rebases_onto_a_moved_main(project: Project) -> None:
    job = project.checkout("main", "apply")
    applied = git(job, "rev-parse", "HEAD").strip()
    moved = move_main(project)
    env = gitlab_env(
        project,
        job,
        CI_PIPELINE_SOURCE="push",
        CI_COMMIT_BRANCH="main",
        DCCTL_PUSH_TOKEN="glpat-push-token",
        DCCTL_TARGET="lab",  # a pipeline variable: rehearse this very job on the lab
        DCCTL_LAB_ID=unused_lab_id(),  # no such lab is up: the apply fails, fast
    )
    url = f"https://dcctl:glpat-push-token@{ci_jobs.GITLAB_HOST}/{ci_jobs.PROJECT}.git"
    env = ci_jobs.git_redirect(env, url, project.origin)
    r = ci_jobs.gitlab_job("apply:prod", job, env)
    assert r.rc == 1, r.out + r.err  # the apply's own exit code, after the state commit
    assert "apply FAILED" in r.out + r.err
    assert_state_commit(project, moved, applied)


def github_expr(p: Project, event: str, **extra: str) -> dict[str, str]:
    return {
        "vars.DCCTL_PIP": "dcctl",
        "github.token": "ghs-token",
        "github.event.pull_request.number": "7",
        "github.base_ref": "main",
        "github.event_name == 'pull_request'": str(event == "pull_request").lower(),
        "vars.DCCTL_TARGET || 'prod'": "prod",
        "secrets.DCCTL_PASSPHRASE": "not-a-real-passphrase",
        "secrets.WSB_PVE_API_TOKEN": "x",
        "secrets.WSB_SWITCH_PASSWORD": "x",
        "secrets.WSB_DINKES_CAMERA_PASSWORD": "x",
        "secrets.WSB_DISHUB_CAMERA_PASSWORD": "x",
        "secrets.WSB_SETDA_CAMERA_PASSWORD": "x",
        "secrets.WSB_RADIO_KEY": "x",
        "secrets.WSB_DINKES_WIFI_PASSPHRASE": "x",
        "secrets.WSB_DISDUKCAPIL_WIFI_PASSPHRASE": "x",
        **extra,
    }


def github_env(p: Project, checkout: Path, event: str, **extra: str) -> dict[str, str]:
    sha = git(checkout, "rev-parse", "HEAD").strip()
    return ci_jobs.base_env(
        p.tmp,
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event,
            "GITHUB_SHA": sha,
            "GITHUB_REPOSITORY": ci_jobs.PROJECT,
            "GITHUB_WORKSPACE": str(checkout),
            **extra,
        },
    )


def test_github_pull_request_jobs(project: Project) -> None:
    job = project.checkout(BRANCH, "pr")
    env = github_env(project, job, "pull_request", GITHUB_BASE_REF="main", GITHUB_HEAD_REF=BRANCH)
    expr = github_expr(project, "pull_request")
    r = ci_jobs.github_job("validate", job, env, expr)
    assert r.rc == 0, r.out + r.err
    r = ci_jobs.github_job("plan", job, env, expr)
    assert r.rc == 0, r.out + r.err
    [call] = ci_jobs.read_records(project.tmp, "gh")
    assert call["args"].split()[:3] == ["pr", "comment", "7"]
    assert call["body"] == (job / "plan.md").read_text() and "simpus-v2" in call["body"]
    assert "this change will modify the estate" in r.out


def test_github_apply_job_commits_state_and_rebases_onto_a_moved_main(project: Project) -> None:
    job = project.checkout("main", "apply")
    applied = git(job, "rev-parse", "HEAD").strip()
    moved = move_main(project)
    env = github_env(
        project, job, "push", GITHUB_REF="refs/heads/main", DCCTL_LAB_ID=unused_lab_id()
    )
    expr = github_expr(project, "push", **{"vars.DCCTL_TARGET || 'prod'": "lab"})
    r = ci_jobs.github_job("apply", job, env, expr)
    assert r.rc == 1, r.out + r.err  # the failed apply fails the job; state still committed
    assert "apply FAILED" in r.out + r.err
    assert_state_commit(project, moved, applied)


@pytest.mark.parametrize("platform", ["gitlab", "github"])
def test_scheduled_drift_job_checks_every_layer_and_fails_on_a_broken_estate(
    project: Project, platform: str
) -> None:
    """The schedule's drift job runs as shipped: every layer (hosts never skipped), writes
    nothing to the checkout, and fails when the estate cannot be checked."""
    job = project.checkout("main", "drift")
    if platform == "gitlab":
        env = gitlab_env(
            project,
            job,
            CI_PIPELINE_SOURCE="schedule",
            CI_COMMIT_BRANCH="main",
            DCCTL_TARGET="lab",
            DCCTL_LAB_ID=unused_lab_id(),  # no such lab is up: nothing can be checked
        )
        r = ci_jobs.gitlab_job("drift:prod", job, env)
    else:
        env = github_env(project, job, "schedule", GITHUB_REF="refs/heads/main")
        env["DCCTL_LAB_ID"] = unused_lab_id()
        expr = github_expr(project, "schedule", **{"vars.DCCTL_TARGET || 'prod'": "lab"})
        r = ci_jobs.github_job("drift", job, env, expr)
    out = r.out + r.err
    assert r.rc == 1, out  # an estate that cannot be checked is not "no drift"
    assert "no drift" not in out.lower()
    for layer in ("switches", "vms", "hosts"):  # no --layer: every layer, hosts included
        assert f"{layer}: " in out, out
    assert git(job, "status", "--porcelain", "--untracked-files=all").strip() == ""
