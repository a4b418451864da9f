"""The example pipelines' apply jobs, run as shipped against a real lab.

The unit test (tests/unit/test_ci_pipelines.py) runs both apply jobs (GitLab, GitHub)
against a lab that is not up, which shows the state commit after a failed apply and the
rebase. This test gives the GitLab job a lab: a tiny spec built with tests/specs.py (one
switch, one OPD, one VM), the fewest devices a whole apply (switches, VMs, hosts) runs
over, so the job applies for real, commits the state it wrote and rebases it onto a main
that moved. One lab apply only (most of it the Pulumi engine and the VM's baseline): the
GitHub job's lines differ from GitLab's only in the git steps the unit test runs already.
The same applied lab then proves the VM's default-deny firewall (issue 15) with real
packets: the flows the spec declares pass, a port it does not declare is dropped.
The spec takes the example's Site as its template, so its lab uses the example's
addresses and takes the example's turn (`lab_turn`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dcctl.engines.pulumi.toolchain import engine_bin_dir
from dcctl.lab import net
from dcctl.lab.dmz import CHAIN
from dcctl.lab.hypervisor.program import lab_names
from dcctl.lab.net import tcp_probe
from dcctl.lab.podman import podman
from dcctl.lab.topology import build_plan, lab_prefix
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from tests import ci_jobs
from tests.helpers import git, git_init_commit, wait_for
from tests.lab.conftest import lab_turn
from tests.specs import OpdSpec, VmSpec, build_spec

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


#: The port the test VM declares as a service of its OPD, and one it does not declare.
SERVICE_PORT, UNDECLARED_PORT = 8080, 8081


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    """(tmp, origin bare repo, lab id): a tiny spec repo whose lab is up."""
    bin_dir = engine_bin_dir()
    if bin_dir is None or shutil.which("podman") is None:
        pytest.skip("needs the Pulumi engine (scripts/install-pulumi) and podman")
    tmp = tmp_path_factory.mktemp("ci-apply")
    # A public VM: on its OPD's DMZ, behind the gateway's DMZ filter and its own firewall.
    app = VmSpec(
        "app",
        extra={"exposure": "public", "services": [{"port": SERVICE_PORT, "from": "opd"}]},
    )
    spec = build_spec(tmp, switches=["cisco_ios"], opds=[OpdSpec("dinkes", vms=[app], lan_ports=1)])
    shutil.copy(ci_jobs.GITLAB, spec / ".gitlab-ci.yml")
    (spec / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ci_jobs.GITHUB, spec / ".github" / "workflows" / "dcctl.yml")
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


@dataclass
class Job:
    """The GitLab apply job's run on the lab, and the commits it is checked against."""

    run: ci_jobs.JobRun
    origin: Path
    moved: str
    applied: str
    tmp: Path
    lab_id: str


@pytest.fixture(scope="module")
def job(project: tuple[Path, Path, str]) -> Job:
    """The GitLab apply job, run once on the module's lab (the tests read what it did)."""
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
    return Job(r, origin, moved, applied, tmp, lab_id)


def test_gitlab_apply_job_applies_to_the_lab_and_commits_its_state(job: Job) -> None:
    r = job.run
    assert r.rc == 0, r.out[-3000:] + r.err[-3000:]
    assert "apply done" in r.out
    assert_applied(job.origin, job.moved, job.applied)


def _listen(container: str, port: int) -> None:
    """A TCP listener inside the VM (python3's http.server, in the lab image)."""
    podman("exec", "-d", container, "python3", "-m", "http.server", str(port), timeout=30)
    probe = ("exec", container, "python3", "-c",
             f"import socket; socket.create_connection(('127.0.0.1', {port}), 1)")  # fmt: skip
    wait_for(
        f"a listener on port {port}",
        lambda: podman(*probe, check=False, timeout=10).returncode == 0,
        15,
    )


def test_vm_firewall_passes_declared_flows_and_drops_the_rest(job: Job) -> None:
    """Real packets against the applied VM's nftables table (issue 15).

    From the OPD's own network (the gateway's address on it) the declared service
    answers and an undeclared port, listening all the same, times out (dropped, not
    refused); from management SSH answers and the OPD-only service does not.
    """
    assert job.run.rc == 0, job.run.err[-2000:]
    spec = load_spec(job.tmp / "spec")
    state = desired_state(spec)
    vm = state["vms"]["dinkes/app"]["address"].split("/")[0]
    container = lab_names(lab_prefix(job.lab_id), "dinkes/app").container
    gw_ns = build_plan(spec, job.lab_id).gateway_netns
    ruleset = podman("exec", container, "nft", "list", "table", "inet", "dcctl_vm").stdout
    assert "policy drop" in ruleset
    for port in (SERVICE_PORT, UNDECLARED_PORT):
        _listen(container, port)
    get = b"GET / HTTP/1.0\r\n\r\n"
    assert (tcp_probe(gw_ns, vm, SERVICE_PORT, get) or "").startswith("HTTP/1.0 200")
    assert tcp_probe(gw_ns, vm, UNDECLARED_PORT, get, timeout=2) is None
    assert (tcp_probe(None, vm, 22) or "").startswith("SSH-")  # management
    assert tcp_probe(None, vm, SERVICE_PORT, get, timeout=2) is None  # not the OPD's
    counted = podman("exec", container, "nft", "list", "table", "inet", "dcctl_vm").stdout
    dropped = [ln for ln in counted.splitlines() if "no flow of the spec allows it" in ln]
    assert dropped and "packets 0 " not in dropped[0], counted


def _dropped(netns: str, rule: str) -> int:
    """Packets the gateway's DMZ chain dropped by the rule ending in ``rule``."""
    out = net.run(["ip", "netns", "exec", netns, "iptables", "-w", "5", "-L", CHAIN, "-v", "-n",
                   "-x"]).stdout  # fmt: skip
    hits = [ln.split() for ln in out.splitlines() if ln.split()[2:3] == ["DROP"]]
    return sum(int(h[0]) for h in hits if " ".join(h).endswith(rule))


def test_gateway_keeps_the_dmz_out_of_internal_networks(job: Job) -> None:
    """Issue 15: the DMZ VM cannot open a connection into management (a switch's SSH),
    while management reaches that switch; from management only the VM's flows pass."""
    assert job.run.rc == 0, job.run.err[-2000:]
    spec = load_spec(job.tmp / "spec")
    state = desired_state(spec)
    assert state["vms"]["dinkes/app"]["vlan"] == state["networks"]["dinkes/dmz"]["vlan"]
    dmz = state["networks"]["dinkes/dmz"]["prefix"]
    vm = state["vms"]["dinkes/app"]["address"].split("/")[0]
    switch = spec.site.switches[0].mgmt_address
    mgmt = spec.site.management.prefix
    gw_ns = build_plan(spec, job.lab_id).gateway_netns
    container = lab_names(lab_prefix(job.lab_id), "dinkes/app").container
    assert (tcp_probe(None, switch, 22) or "").startswith("SSH-")  # management reaches it
    before = _dropped(gw_ns, f"{dmz} {mgmt}")
    connect = f"import socket; socket.create_connection(('{switch}', 22), 3)"
    out = podman("exec", container, "python3", "-c", connect, check=False, timeout=30)
    assert out.returncode != 0 and "timed out" in out.stderr, out.stdout + out.stderr
    assert _dropped(gw_ns, f"{dmz} {mgmt}") > before  # dropped by the gateway itself
    before = _dropped(gw_ns, f"0.0.0.0/0 {dmz}")
    assert tcp_probe(None, vm, UNDECLARED_PORT, timeout=2) is None
    assert _dropped(gw_ns, f"0.0.0.0/0 {dmz}") > before
