"""Lab test of the ``cctv_recorder`` role: a real NVR container records real RTSP cameras.

Topology (every name starts with ``hcam``; ``tests.netns`` removes all of it afterwards,
even when a test fails, and what a killed run left behind before)::

    root netns  hcama 172.31.30.1/30 ---- hcamb 172.31.30.2/30  [netns hcam-nvr]
                                          NVR container (systemd, sshd, ffmpeg)
                                          hcamc 172.31.30.33/28
                                             |
                                          hcamd 172.31.30.34/28, .35/28 [netns hcam-cam]
                                          two lab cameras (dcctl/lab/camera.py, H.264,
                                          RTSP basic auth, user admin)

Ansible reaches the NVR over SSH from the root namespace; the NVR reaches the
cameras over its own veth (nothing is routed through the root namespace). The spec
is a tiny regency written to ``tmp_path`` whose cameras are pinned to those
addresses and whose credential is a ``file:`` reference to a hostile password (URL
and template metacharacters), so the variables come from the real ``role_vars``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dcctl.lab import net
from dcctl.lab.podman import pin_host_key, podman
from tests.helpers import domain_vars, wait_for
from tests.lab.conftest import lab_image, needs, start_host
from tests.netns import End, Netns

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
CAMERA_SCRIPT = REPO / "dcctl" / "lab" / "camera.py"
SYSTEM_PYTHON = "/usr/bin/python3"
P = "hcam"
NVR_NS, CAM_NS = f"{P}-nvr", f"{P}-cam"
NVR_IP, CAM_IPS = "172.31.30.2", ("172.31.30.34", "172.31.30.35")
RTSP_PORT = 8554
SEGMENT_S = 6  # short, so the test sees segments roll over


def _skip_reason() -> str | None:
    reason = needs("podman", "runc", "ip", "ssh", "ssh-keygen", modules=("ansible_runner",))
    if reason:
        return reason
    from dcctl.lab.runner import gst_problem

    problem = gst_problem()
    if problem:
        return f"lab cameras need GStreamer's RTSP server for {SYSTEM_PYTHON}: {problem}"
    return None


@dataclass
class Nvr:
    """The scratch NVR: container name, SSH key, spec dir and the camera password."""

    container: str
    key: Path
    spec_dir: Path
    password: str
    #: The NVR's pinned host key (read from inside it, as the lab pins its machines).
    known_hosts: Path

    def run(self, *argv: str, check: bool = True, timeout: float = 60) -> str:
        return podman("exec", self.container, *argv, check=check, timeout=timeout).stdout

    def exists(self, path: str) -> bool:
        return podman("exec", self.container, "test", "-e", path, check=False).returncode == 0


def _site_yaml() -> str:
    return """\
apiVersion: dcctl/v1
kind: Site
name: hcamlab
domain: hcam.test
dns: [172.31.30.53]
hypervisors:
  type: lab
  credential: env:HCAM_UNUSED
  nodes: [{name: node1, uplink: "sw1:Gi1/0/1", vcpu: 8, memory_gb: 16}]
storage: {vm_capacity_gb: 1000, recording_capacity_gb: 1000}
management: {prefix: 172.31.31.0/24, gateway: 172.31.31.1}
ipam:
  vlan_range: [100, 199]
  server_pool: 172.31.28.0/24
  server_prefix_length: 24
  cctv_pool: 172.31.30.0/26
  cctv_prefix_length: 26
  lan_pool: 172.31.29.0/24
  lan_prefix_length: 24
switches:
  - {name: sw1, vendor: cisco_ios, role: core, location: Lab, mgmt_address: 172.31.31.11,
     credential: env:HCAM_SWITCH_UNUSED, ports: [Gi1/0/1-12]}
cctv: {nvr_vm: infra/nvr}
credentials:
  - {ref: env:HCAM_UNUSED, kind: hypervisor}
  - {ref: env:HCAM_SWITCH_UNUSED, kind: switch}
"""


def _opd_yaml(cameras: list[tuple[str, str, int]]) -> str:
    cams = "\n".join(
        f'  - {{name: {name}, location: Lab, port: "sw1:Gi1/0/{5 + i}", address: {addr}, '
        f"rtsp_port: {RTSP_PORT}, credential: file:secrets/infra/camera, bitrate_kbps: 256, "
        f"retention_days: {days}}}"
        for i, (name, addr, days) in enumerate(cameras)
    )
    return f"""\
apiVersion: dcctl/v1
kind: Opd
code: infra
name: Lab infra
sector: governance
classification: terbatas
contacts: [{{name: Lab, role: Lab, email: lab@hcam.test}}]
quota: {{vcpu: 8, memory_gb: 16, disk_gb: 500, vms: 2, cameras: 4}}
vms:
  - {{name: nvr, role: nvr, vcpu: 1, memory_gb: 1, disk_gb: 20}}
credentials: [{{ref: file:secrets/infra/camera, kind: camera}}]
cameras:
{cams}
"""


def write_spec(nvr: Nvr, cameras: list[tuple[str, str, int]]) -> Any:
    from dcctl.spec import load_spec

    (nvr.spec_dir / "opd").mkdir(parents=True, exist_ok=True)
    (nvr.spec_dir / "site.yaml").write_text(_site_yaml())
    (nvr.spec_dir / "opd" / "infra.yaml").write_text(_opd_yaml(cameras))
    # The OPD's file: secret lives in its folder of the spec's secrets directory.
    secret = nvr.spec_dir / "secrets" / "infra" / "camera"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text(nvr.password + "\n")
    secret.chmod(0o600)
    return load_spec(nvr.spec_dir)


def _wire(n: Netns) -> None:
    """The two namespaces and veth pairs of the module docstring."""
    n.netns(NVR_NS)
    n.netns(CAM_NS)
    n.veth(End(f"{P}a", addrs=["172.31.30.1/30"]), End(f"{P}b", NVR_NS, [f"{NVR_IP}/30"]))
    n.veth(
        End(f"{P}c", NVR_NS, ["172.31.30.33/28"]),
        End(f"{P}d", CAM_NS, [f"{ip}/28" for ip in CAM_IPS]),
    )


@pytest.fixture(scope="module")
def nvr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nvr]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("cctv")
    # HCAM_KEEP=1 keeps the namespaces and the NVR for debugging by hand.
    with Netns(P, subnet="172.31.30.0/24", keep=os.environ.get("HCAM_KEEP") == "1") as n:
        key = tmp / "id_ed25519"
        net.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
        _wire(n)
        container = NVR_NS  # the container has its namespace's name
        start_host(container, NVR_NS, lab_image(), key.with_suffix(".pub").read_text())
        known_hosts = tmp / "known_hosts"
        pin_host_key(container, known_hosts, "infra-nvr", NVR_IP)
        # A password full of URL, shell and Jinja metacharacters: it must survive
        # percent-encoding into the RTSP URL and never be templated or logged.
        password = "p:@/%{{x}}$;'" + secrets.token_urlsafe(12)
        pw_file = tmp / "campw"
        pw_file.write_text(password + "\n")
        pw_file.chmod(0o600)
        for ip in CAM_IPS:
            log = (tmp / f"camera-{ip}.log").open("wb")
            argv = [
                SYSTEM_PYTHON, str(CAMERA_SCRIPT),
                "--address", ip, "--port", str(RTSP_PORT), "--path", "/stream",
                "--user", "admin", "--password-file", str(pw_file),
            ]  # fmt: skip
            env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
            n.spawn(CAM_NS, argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        yield Nvr(container, key, tmp / "spec", password, known_hosts)


#: Every event of every ansible-runner run of this module (check+diff runs included).
OUTPUTS: list[str] = []


@dataclass(repr=False)
class Run:
    rc: int
    status: str
    changed: int
    failed: int
    output: str  # every event ansible-runner produced, as JSON lines
    text: str  # what ansible-playbook printed

    changed_tasks: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"changed tasks {self.changed_tasks}\n{self.text[-4000:]}"


def apply(nvr: Nvr, spec: Any, *, check: bool = False, **overrides: Any) -> Run:
    from dcctl.cctv.ansible import role_vars
    from dcctl.engines.ansible.runner import run_playbook

    # target "prod" so the credential is the spec's own file: reference; the lab's
    # two differences are then set by hand (overrides), exactly as role_vars does for "lab".
    rv = domain_vars(role_vars, spec, nvr.spec_dir, "prod")
    extravars = {
        **rv.public,
        **rv.secret,
        "cctv_recorder_storage_enforce": False,
        "cctv_recorder_sandbox": False,
        "cctv_recorder_segment_seconds": SEGMENT_S,
        "cctv_recorder_retention_every": "10s",
        "cctv_recorder_install_packages": False,
        **overrides,
    }
    inventory = {
        "_meta": {
            "hostvars": {
                "infra-nvr": {
                    "ansible_host": NVR_IP,
                    "ansible_user": "dcctl",
                    "ansible_pipelining": True,
                }
            }
        },
        "role_nvr": {"hosts": ["infra-nvr"]},
    }
    # Only this role (site.yml would add the baseline play); run_playbook looks for
    # roles next to the playbook, so the repo's roles are linked there.
    roles = nvr.spec_dir.parent / "roles"
    if not roles.exists():
        roles.symlink_to(REPO / "playbooks" / "roles")
    playbook = nvr.spec_dir.parent / "cctv.yml"
    playbook.write_text(
        "- name: CCTV recording\n  hosts: role_nvr\n  become: true\n"
        "  roles:\n    - role: cctv_recorder\n"
    )
    events: list[str] = []
    result = run_playbook(
        playbook,
        inventory,
        extravars=extravars,
        check=check,
        ssh_key=nvr.key,
        on_event=lambda e: events.append(json.dumps(e, default=str)),
        known_hosts=nvr.known_hosts,  # strict, as the hosts layer logs in
    )
    host = result.hosts.get("infra-nvr")
    assert host is not None, result
    text = "\n".join(json.loads(e).get("stdout", "") for e in events)
    OUTPUTS.append("\n".join(events))
    changed_tasks = []
    for raw in events:
        e = json.loads(raw)
        data = e.get("event_data", {})
        if e.get("event") == "runner_on_ok" and (data.get("res") or {}).get("changed"):
            changed_tasks.append(str(data.get("task")))
    return Run(
        result.rc, result.status, host.changed, host.failed, "\n".join(events), text, changed_tasks
    )


def _segments(nvr: Nvr, cam: str) -> dict[str, int]:
    out = nvr.run(
        "find", f"/srv/cctv/infra/{cam}", "-maxdepth", "1", "-name", "*.mkv", "-printf", "%f %s\n"
    )
    return {n: int(s) for n, s in (line.split() for line in out.splitlines())}


CAMS = [("gate", CAM_IPS[0], 7), ("lobby", CAM_IPS[1], 30)]


@pytest.fixture(scope="module")
def first_apply(nvr: Nvr) -> Run:
    return apply(nvr, write_spec(nvr, CAMS))


def test_check_mode_on_a_fresh_nvr_changes_nothing(nvr: Nvr) -> None:
    run = apply(nvr, write_spec(nvr, CAMS), check=True)
    assert run.rc == 0 and run.failed == 0, run
    assert run.changed > 0  # it reports what it would do ...
    # ... and does none of it
    assert not nvr.exists("/etc/systemd/system/dcctl-record@.service")
    assert not nvr.exists("/srv/cctv")
    assert not nvr.exists("/etc/dcctl/cctv")


def test_enforced_storage_fails_clearly_on_a_small_disk(nvr: Nvr) -> None:
    run = apply(
        nvr, write_spec(nvr, CAMS), check=True,
        cctv_recorder_storage_enforce=True, cctv_recorder_required_gb=10**6,
    )  # fmt: skip
    assert run.failed == 1
    assert "the cameras need 1000000 GB" in run.output


def test_first_apply_records_every_camera(nvr: Nvr, first_apply: Run) -> None:
    assert first_apply.rc == 0 and first_apply.failed == 0, first_apply
    for cam in ("gate", "lobby"):
        unit = f"dcctl-record@infra_{cam}.service"
        assert nvr.run("systemctl", "is-active", unit, check=False).strip() == "active"
        assert nvr.run("systemctl", "is-enabled", unit, check=False).strip() == "enabled"
        assert nvr.run("stat", "-c", "%a %U", f"/srv/cctv/infra/{cam}").split() == ["750", "cctv"]
        for suffix in ("env", "url"):
            path = f"/etc/dcctl/cctv/infra_{cam}.{suffix}"
            assert nvr.run("stat", "-c", "%a %U", path).split() == ["600", "root"]
    assert nvr.run("stat", "-c", "%a", "/srv/cctv/infra").strip() == "750"
    # ffmpeg runs as the unprivileged recorder user
    users = nvr.run("ps", "-C", "ffmpeg", "-o", "user=").split()
    assert users == ["cctv", "cctv"]


def test_password_in_no_command_line_or_environment_other_users_can_read(
    nvr: Nvr, first_apply: Run
) -> None:
    """Issue 15: `ps` shows every local user each process's command line."""
    from urllib.parse import quote

    assert first_apply.rc == 0
    forms = {nvr.password, quote(nvr.password, safe="")}
    ffmpeg = nvr.run("pgrep", "-x", "ffmpeg").split()
    wrappers = nvr.run("pgrep", "-f", "dcctl-cctv-record").split()
    assert len(ffmpeg) == 2 and len(wrappers) == 2  # the recorders run: the check is not empty

    def as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
        return podman("exec", nvr.container, "runuser", "-u", "nobody", "--", *argv, check=False)

    listing = as_nobody("ps", "-eo", "user,args").stdout
    assert listing.count("/usr/bin/ffmpeg") == 2, listing  # other users see the recorders ...
    assert "rtsp://" not in listing and not [f for f in forms if f in listing]  # ... not the URL
    for pid in ffmpeg + wrappers:
        cmdline = as_nobody("cat", f"/proc/{pid}/cmdline")
        assert cmdline.returncode == 0 and "rtsp://" not in cmdline.stdout, cmdline.stdout
        assert as_nobody("cat", f"/proc/{pid}/environ").returncode != 0  # not another's
        # Not even the recorder user itself finds the URL in ffmpeg's environment.
        if pid in ffmpeg:
            environ = nvr.run("runuser", "-u", "cctv", "--", "cat", f"/proc/{pid}/environ")
            assert "rtsp://" not in environ and "CCTV_URL" not in environ
    # ffmpeg's input list and the systemd credential: only the recorder reads them.
    private = "/run/dcctl-record/infra_gate"
    assert nvr.run("stat", "-c", "%a %U", private).split() == ["700", "cctv"]
    assert as_nobody("cat", f"{private}/input.ffconcat").returncode != 0
    assert as_nobody("cat", "/etc/dcctl/cctv/infra_gate.url").returncode != 0


def test_recordings_grow_and_are_h264(nvr: Nvr, first_apply: Run) -> None:
    assert first_apply.rc == 0
    first = wait_for("a first segment", lambda: _segments(nvr, "gate"), 30)
    t0, size0 = time.monotonic(), sum(first.values())
    time.sleep(SEGMENT_S * 2 + 2)
    later = _segments(nvr, "gate")
    t1, size1 = time.monotonic(), sum(later.values())
    assert size1 > size0, (first, later)
    assert len(later) > len(first), "segments should roll over"
    rate = (size1 - size0) / (t1 - t0)
    print(f"\nrecorded {rate:.0f} bytes/s from one lab camera (256 kbit/s nominal)")
    assert 5_000 < rate < 200_000
    done = sorted(later)[-2]  # closed: the recorder has moved on to the next one
    argv = ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format"]
    probe = json.loads(nvr.run(*argv, f"/srv/cctv/infra/gate/{done}"))
    video = [s for s in probe["streams"] if s["codec_type"] == "video"]
    assert video and video[0]["codec_name"] == "h264"
    assert (video[0]["width"], video[0]["height"]) == (320, 240)
    assert float(probe["format"]["duration"]) > 1
    assert wait_for("lobby segments", lambda: _segments(nvr, "lobby"), 30)


def test_retention_timer_deletes_backdated_segments_only(nvr: Nvr, first_apply: Run) -> None:
    assert first_apply.rc == 0
    assert nvr.run("systemctl", "is-active", "dcctl-cctv-retention.timer").strip() == "active"
    old, keep = (
        "/srv/cctv/infra/gate/20000101-000000.mkv",
        "/srv/cctv/infra/lobby/20000101-000000.mkv",
    )
    for path in (old, keep):
        nvr.run("cp", "/etc/hostname", path)
    nvr.run("touch", "-d", "8 days ago", old)  # gate keeps 7 days
    nvr.run("touch", "-d", "8 days ago", keep)  # lobby keeps 30 days
    wait_for("the retention timer to delete the backdated segment", lambda: not nvr.exists(old), 40)
    assert nvr.exists(keep)
    assert _segments(nvr, "gate"), "current recordings must survive retention"
    journal = nvr.run("journalctl", "-u", "dcctl-cctv-retention.service", "--no-pager")
    assert "deleted 1 segment" in journal


def test_second_apply_changes_nothing(nvr: Nvr, first_apply: Run) -> None:
    assert first_apply.rc == 0
    pids = nvr.run("pgrep", "-d", ",", "ffmpeg").strip()
    run = apply(nvr, write_spec(nvr, CAMS))
    assert run.rc == 0 and run.changed == 0, run
    assert nvr.run("pgrep", "-d", ",", "ffmpeg").strip() == pids  # nothing restarted
    check = apply(nvr, write_spec(nvr, CAMS), check=True)
    assert check.rc == 0 and check.changed == 0


def test_changed_camera_restarts_only_its_recorder(nvr: Nvr, first_apply: Run) -> None:
    assert first_apply.rc == 0
    before = {c: _main_pid(nvr, c) for c in ("gate", "lobby")}
    run = apply(nvr, write_spec(nvr, [CAMS[0], ("lobby", CAM_IPS[1], 31)]))
    assert run.rc == 0 and run.changed >= 1, run
    after = {c: _main_pid(nvr, c) for c in ("gate", "lobby")}
    assert after["gate"] == before["gate"]
    assert nvr.run("cat", "/srv/cctv/infra/lobby/.retention-days").strip() == "31"
    # Only the retention marker changed: the lobby recorder keeps running too
    assert after["lobby"] == before["lobby"]
    run = apply(nvr, write_spec(nvr, CAMS), cctv_recorder_segment_seconds=SEGMENT_S + 1)
    assert run.rc == 0
    again = {c: _main_pid(nvr, c) for c in ("gate", "lobby")}
    assert again["gate"] != after["gate"] and again["lobby"] != after["lobby"]


def _main_pid(nvr: Nvr, cam: str) -> str:
    return nvr.run(
        "systemctl", "show", "-P", "MainPID", f"dcctl-record@infra_{cam}.service"
    ).strip()


def test_removed_camera_stops_and_keeps_its_recordings(nvr: Nvr, first_apply: Run) -> None:
    assert first_apply.rc == 0
    kept = _segments(nvr, "lobby")
    run = apply(nvr, write_spec(nvr, [CAMS[0]]))
    assert run.rc == 0 and run.failed == 0, run
    unit = "dcctl-record@infra_lobby.service"
    assert nvr.run("systemctl", "is-active", unit, check=False).strip() == "inactive"
    assert nvr.run("systemctl", "is-enabled", unit, check=False).strip() != "enabled"
    assert not nvr.exists("/etc/dcctl/cctv/infra_lobby.env")
    assert not nvr.exists("/etc/dcctl/cctv/infra_lobby.url")
    now = _segments(nvr, "lobby")
    assert set(kept) <= set(now)  # data kept
    # A stopped recorder closes its last segment properly (ffmpeg wrote the trailer).
    last = sorted(now)[-1]
    probe = nvr.run("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                    "csv=p=0", f"/srv/cctv/infra/lobby/{last}")  # fmt: skip
    assert float(probe) > 0
    gate = "dcctl-record@infra_gate.service"
    assert nvr.run("systemctl", "is-active", gate).strip() == "active"
    again = apply(nvr, write_spec(nvr, [CAMS[0]]))
    assert again.changed == 0


def test_password_is_nowhere_in_logs_or_repo(nvr: Nvr, first_apply: Run) -> None:
    from urllib.parse import quote

    assert first_apply.rc == 0
    forms = {nvr.password, quote(nvr.password, safe="")}
    assert len(OUTPUTS) >= 5  # check, apply, re-apply, ... runs of the tests above
    for output in OUTPUTS:
        for form in forms:
            assert form not in output
    # ffmpeg prints its input URL, credentials included, in errors: a recorder given a
    # wrong password must log the 401 with the URL redacted.
    wrong = "w:@/%{{y}}" + secrets.token_urlsafe(12)
    url = f"rtsp://admin:{quote(wrong, safe='')}@{CAM_IPS[0]}:{RTSP_PORT}/stream"
    proc = subprocess.run(
        ["podman", "exec", "-e", f"CCTV_URL={url}", "-e", "CCTV_DIR=/tmp", nvr.container,
         "timeout", "20", "/usr/bin/python3", "/usr/local/lib/dcctl/dcctl-cctv-record"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "401" in proc.stderr, proc.stderr
    assert quote(wrong, safe="") not in proc.stderr and wrong not in proc.stderr
    journal = nvr.run("journalctl", "--no-pager", "-o", "cat")
    for form in forms:
        assert form not in journal
    tracked = net.run(["git", "-C", str(REPO), "ls-files", "-z"]).stdout.split("\0")
    for rel in filter(None, tracked):
        path = REPO / rel
        if path.is_file():
            text = path.read_bytes()
            for form in forms:
                assert form.encode() not in text, rel
