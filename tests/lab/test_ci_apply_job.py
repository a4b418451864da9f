"""The example pipelines' apply jobs, run as shipped against a real lab.

The unit test (tests/unit/test_ci_pipelines.py) runs both apply jobs (GitLab, GitHub)
against a lab that is not up, which shows the state commit after a failed apply and the
rebase. This test gives the GitLab job a lab: a tiny spec built with tests/specs.py (one
switch, one OPD, no VM), the fewest devices a whole apply (switches, VMs, hosts) runs
over, so the job applies for real, commits the state it wrote and rebases it onto a main
that moved. One lab apply only (about 35 s, most of it the Pulumi engine): the GitHub
job's lines differ from GitLab's only in the git steps the unit test runs already.
The spec takes the example's Site as its template, so its lab uses the example's
addresses and takes the example's turn (`lab_turn`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcctl.engines.pulumi.toolchain import engine_bin_dir
from tests import ci_jobs
from tests.helpers import git, git_init_commit
from tests.lab.conftest import lab_turn
from tests.specs import OpdSpec, build_spec

pytestmark = pytest.mark.lab

PASSPHRASE = "ci-apply-job-test-passphrase"


def runner_env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    """The data-center runner: its HOME (engine, lab image cache) and the engine on PATH."""
    env = ci_jobs.base_env(tmp, extra)
    return {
        **env,
        "HOME": os.environ.get("HOME", "/root"),
        "PATH": f"{engine_bin_dir()}:{env['PATH']}",
        "DCCTL_PASSPHRASE_FILE": str(tmp / "passphrase"),
    }


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    """(tmp, origin bare repo, lab id): a tiny spec repo whose lab is up."""
    bin_dir = engine_bin_dir()
    if bin_dir is None or shutil.which("podman") is None:
        pytest.skip("needs the Pulumi engine (scripts/install-pulumi) and podman")
    tmp = tmp_path_factory.mktemp("ci-apply")
    spec = build_spec(tmp, switches=["cisco_ios"], opds=[OpdSpec("dinkes", lan_ports=1)])
    shutil.copy(ci_jobs.GITLAB, spec / ".gitlab-ci.yml")
    (spec / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ci_jobs.GITHUB, spec / ".github" / "workflows" / "dcctl.yml")
    from dcctl.spec import load_spec

    load_spec(spec).allocation.lock().write(spec)
    git_init_commit(spec)
    origin = tmp / "origin.git"
    git(tmp, "clone", "-q", "--bare", str(spec), str(origin))
    git(spec, "remote", "add", "origin", str(origin))
    with lab_turn(spec) as (_, plan):
        env = runner_env(tmp, {"DCCTL_LAB_ID": plan.lab_id, "NO_COLOR": "1"})
        up = ci_jobs._run(["bash", "-c"], "dcctl lab up .", spec, env)
        assert up.rc == 0, up.out + up.err
        yield tmp, origin, plan.lab_id


def move_main(work: Path, note: str) -> str:
    git(work, "pull", "-q", "--rebase", "origin", "main")
    (work / "NOTES.md").write_text(f"{note}\n")
    git(work, "add", "NOTES.md")
    git(work, "commit", "-q", "-m", note)
    git(work, "push", "-q", "origin", "main")
    return git(work, "rev-parse", "HEAD").strip()


def assert_applied(origin: Path, moved: str, applied: str) -> None:
    log = git(origin, "log", "-2", "--format=%H %s", "main").splitlines()
    assert log[1].split()[0] == moved, log
    assert log[0].split(" ", 1)[1] == f"dcctl apply of {applied[:8]} [skip ci]"
    files = git(origin, "show", "--name-only", "--format=", "main").split()
    assert "state/audit.log" in files
    assert any(f.startswith("state/switches/lab/") for f in files), files  # the backup
    assert "state/lab/snapshot.json" in files


def test_gitlab_apply_job_applies_to_the_lab_and_commits_its_state(
    project: tuple[Path, Path, str],
) -> None:
    tmp, origin, lab_id = project
    job = tmp / "gitlab-apply"
    git(tmp, "clone", "-q", str(origin), str(job))
    applied = git(job, "rev-parse", "HEAD").strip()
    moved = move_main(tmp / "spec", "gitlab: a merge during the apply")
    token = "glpat-push-token"
    env = runner_env(
        tmp,
        {
            "CI": "true",
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_BRANCH": "main",
            "CI_DEFAULT_BRANCH": "main",
            "CI_COMMIT_SHA": applied,
            "CI_COMMIT_SHORT_SHA": applied[:8],
            "CI_SERVER_HOST": ci_jobs.GITLAB_HOST,
            "CI_PROJECT_PATH": ci_jobs.PROJECT,
            "DCCTL_PUSH_TOKEN": token,
            "DCCTL_PASSPHRASE": PASSPHRASE,
            "DCCTL_TARGET": "lab",
            "DCCTL_LAB_ID": lab_id,
        },
    )
    url = f"https://dcctl:{token}@{ci_jobs.GITLAB_HOST}/{ci_jobs.PROJECT}.git"
    env = ci_jobs.git_redirect(env, url, origin)
    start = time.monotonic()
    r = ci_jobs.gitlab_job("apply:prod", job, env)
    print(f"\nGitLab apply job on the lab: {time.monotonic() - start:.1f} s")
    assert r.rc == 0, r.out[-3000:] + r.err[-3000:]
    assert "apply done" in r.out
    assert_applied(origin, moved, applied)
