"""Run the example pipelines' job scripts as a shell runner would, offline.

Why: a pipeline file is code that only runs after a merge request is opened; a typo in
a script line, a variable the platform does not set or a git step that cannot push is
found by the first user. This module reads `examples/ci/*.yml` and runs each job's own
lines with bash (`set -eo pipefail` for GitLab's shell executor, `bash -e` for GitHub's
`run:`), with the variables the platform sets, in a checkout of a temporary spec repo
whose `origin` is a local bare repo. Network tools the jobs call (curl to the GitLab
API, gh) are replaced by recorders on PATH that write what they would have sent to
files, so a test reads the merge-request comment body the job posted.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

CI = ROOT / "examples" / "ci"
GITLAB = CI / "gitlab-ci.yml"
GITHUB = CI / "github-actions.yml"
#: The GitLab server and project the jobs believe they run on; the push URL the apply
#: job builds from them is redirected to the local bare repo (git's insteadOf).
GITLAB_HOST = "gitlab.example.invalid"
PROJECT = "diskominfo/spec-wonosobo"

_RECORDERS = {
    # curl --data @- URL: keep the body and the URL the job posted to.
    "curl": """#!/bin/sh
out="$CI_RECORD/curl"; mkdir -p "$out"; n=$(ls "$out" | wc -l)
cat > "$out/$n.body"; for a in "$@"; do url="$a"; done; echo "$url" > "$out/$n.url"
""",
    # gh pr comment PR --body-file FILE [--edit-last]: keep the body and the PR number.
    "gh": """#!/bin/sh
out="$CI_RECORD/gh"; mkdir -p "$out"; n=$(ls "$out" | wc -l)
echo "$@" > "$out/$n.args"
while [ $# -gt 0 ]; do [ "$1" = "--body-file" ] && cp "$2" "$out/$n.body"; shift; done
""",
    # pip install dcctl: it is installed already (this venv is on PATH).
    "pip": "#!/bin/sh\nexit 0\n",
}


@dataclass
class JobRun:
    """One job's result: exit code and what it printed."""

    rc: int
    out: str
    err: str


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def recorders(dest: Path) -> Path:
    """A bin folder with the recording stand-ins for network tools."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in _RECORDERS.items():
        tool = dest / name
        tool.write_text(text)
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return dest


def base_env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    """A runner's environment: no inherited CI noise, dcctl and the recorders on PATH.

    HOME is a fresh folder (a runner has no git identity of ours); a lab test passes
    the real HOME in `extra`, where scripts/setup cached the engine and lab image.
    """
    fake = recorders(tmp / "fake-bin")
    venv_bin = str(Path(sys.executable).parent)
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "TMPDIR", "USER")}
    home = tmp / "runner-home"  # a fresh runner: no global git identity or config
    home.mkdir(exist_ok=True)
    return {
        **keep,
        "HOME": str(home),
        "PATH": f"{fake}:{venv_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "CI_RECORD": str(tmp / "record"),
        "GIT_TERMINAL_PROMPT": "0",
        **extra,
    }


def git_redirect(env: dict[str, str], url: str, to: Path) -> dict[str, str]:
    """Make git fetch/push of `url` reach the local bare repo `to` (no network)."""
    n = int(env.get("GIT_CONFIG_COUNT", "0"))
    return {
        **env,
        "GIT_CONFIG_COUNT": str(n + 1),
        f"GIT_CONFIG_KEY_{n}": f"url.{to}.insteadOf",
        f"GIT_CONFIG_VALUE_{n}": url,
    }


def _run(shell: list[str], script: str, cwd: Path, env: dict[str, str]) -> JobRun:
    proc = subprocess.run(
        [*shell, script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    return JobRun(proc.returncode, proc.stdout, proc.stderr)


def gitlab_job(name: str, cwd: Path, env: dict[str, str]) -> JobRun:
    """Run GitLab job `name`'s script in `cwd` as the shell executor does.

    Variables: the pipeline's, then the job's, then `env` (the platform's predefined
    variables and any pipeline variables, which GitLab ranks above the file's).
    """
    pipeline = load(GITLAB)
    job = pipeline[name]
    variables = {
        **{k: str(v) for k, v in (pipeline.get("variables") or {}).items()},
        **{k: str(v) for k, v in (job.get("variables") or {}).items()},
        **env,
    }
    script = "set -eo pipefail\n" + "\n".join(job["script"])
    return _run(["bash", "-c"], script, cwd, variables)


_EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


def github_job(name: str, cwd: Path, env: dict[str, str], expr: dict[str, str]) -> JobRun:
    """Run GitHub job `name`'s `run:` steps in order, as the runner's `bash -e` does.

    `uses:` steps are the runner's (the checkout is the test's own); `${{ ... }}` is
    replaced from `expr`, and an expression the test does not know fails it. A step's
    `if:` is evaluated from `expr` too (the expression text is the key).
    """
    workflow = load(GITHUB)
    job = workflow["jobs"][name]

    def sub(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            if m[1] not in expr:
                raise KeyError(f"expression ${{{{ {m[1]} }}}} unknown to the test")
            return expr[m[1]]

        return _EXPR.sub(one, text)

    base = {**env, **{k: sub(str(v)) for k, v in (workflow.get("env") or {}).items()}}
    base.update({k: sub(str(v)) for k, v in (job.get("env") or {}).items()})
    out, err, rc = [], [], 0
    for step in job["steps"]:
        if "run" not in step:
            continue
        cond = str(step.get("if", "success()"))
        # After a failed step only `always()` steps run, as on GitHub.
        if (rc != 0 and cond != "always()") or (cond not in _STATUS and expr.get(cond) != "true"):
            continue
        step_env = {**base, **{k: sub(str(v)) for k, v in (step.get("env") or {}).items()}}
        res = _run(["bash", "-e", "-c"], sub(step["run"]), cwd, step_env)
        out.append(res.out)
        err.append(res.err)
        rc = rc or res.rc
    return JobRun(rc, "".join(out), "".join(err))


_STATUS = ("success()", "always()")


def read_records(tmp: Path, tool: str) -> list[dict[str, str]]:
    """What the recording `tool` was asked to send, one dict per call."""
    folder = tmp / "record" / tool
    calls = sorted({p.stem for p in folder.iterdir()}, key=int) if folder.exists() else []
    return [{p.suffix[1:]: p.read_text() for p in folder.glob(f"{n}.*")} for n in calls]
