"""The README's demo, step by step, then the whole example regency checked from outside.

The module's lab is built the way `scripts/demo` builds it, on a host at fresh-machine
settings (see `fresh_host_settings`): `dcctl validate`, `dcctl plan`, `dcctl lab up`,
`dcctl apply --target lab --auto-approve`, the same apply again with zero changes
(here five times in a row: a pipeline applies on every merge), `dcctl lab status`,
and last `dcctl lab down`, each asserted. In between, checked with real packets and
real logins: every VM passes the baseline checks (testinfra over SSH), offices reach
their own OPD's server through WireGuard and no other OPD's, Prometheus sees every
target up, a stopped camera raises its alert labelled with its OPD, the NVR records,
an out-of-band edit is found by `dcctl drift --layer hosts`, an unreachable host is
reported while the rest complete, a rotated office key brings its
tunnel back, and no secret leaks.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from dcctl.engines.ansible import converged
from dcctl.engines.pulumi.toolchain import engine_bin_dir
from dcctl.lab import host
from dcctl.lab.integration import lab_ssh_key
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from tests.helpers import wait_for
from tests.lab.conftest import EXAMPLE, FRESH_HOST, Lab, example_lab_turn

pytestmark = [pytest.mark.lab, pytest.mark.timeout(2400)]

testinfra = pytest.importorskip("testinfra")

PASSPHRASE = "hosts-test-passphrase"


@dataclass
class Applied:
    lab: Lab
    repo: Path
    env: dict[str, str]
    report: dict[str, Any]
    seconds: float
    outputs: list[str]
    #: The demo's steps that built this module's lab: name -> (rc, stdout, stderr).
    steps: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    down: bool = False
    inotify_before: int = 0

    @property
    def state(self) -> dict[str, Any]:
        return desired_state(self.lab.spec)

    def vm_address(self, key: str) -> str:
        return str(self.state["vms"][key]["address"]).split("/")[0]


def _dcctl(applied_env: dict[str, str], *args: str, timeout: int = 1500) -> tuple[int, str, str]:
    p = subprocess.run(
        [sys.executable, "-m", "dcctl.cli", *args],
        env=applied_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return p.returncode, p.stdout, p.stderr


def _apply(a: Applied, *flags: str) -> tuple[int, dict[str, Any], str, float]:
    start = time.monotonic()
    rc, out, err = _dcctl(
        a.env, "apply", str(a.repo), "--target", "lab", "--auto-approve", "--output", "json", *flags
    )
    a.outputs += [out, err]
    seconds = time.monotonic() - start
    try:
        report = json.loads(out)
    except ValueError:
        pytest.fail(f"apply printed no JSON (rc {rc}): {out[-2000:]} {err[-2000:]}")
    return rc, report, err, seconds


def _last_audit(a: Applied) -> dict[str, Any]:
    """The report of the last apply, as the audit log recorded it."""
    lines = (a.repo / "state" / "audit.log").read_text().splitlines()
    return dict(json.loads(lines[-1]))


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    """The demo's first steps, exactly as `scripts/demo` runs them, on a copy of the example."""
    bin_dir = engine_bin_dir()
    if bin_dir is None or shutil.which("podman") is None:
        pytest.skip("needs the Pulumi engine (scripts/install-pulumi) and podman")
    with example_lab_turn() as (spec, plan):
        repo = tmp_path_factory.mktemp("hosts") / "spec"
        shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
        env = {
            **os.environ,
            "DCCTL_LAB_ID": plan.lab_id,
            "NO_COLOR": "1",
            "DCCTL_PASSPHRASE": PASSPHRASE,
            "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
        a = Applied(Lab(spec, plan, None), repo, env, {}, 0.0, [])
        a.inotify_before = int(host.current("fs.inotify.max_user_instances") or 0)
        try:
            for name, args in (
                ("validate", ["validate", str(repo)]),
                ("plan", ["plan", str(repo)]),
                ("lab up", ["lab", "up", str(repo)]),
            ):
                a.steps[name] = _dcctl(env, *args)
                a.outputs += a.steps[name][1:]
                if a.steps[name][0] != 0:
                    pytest.fail(f"demo step {name!r} failed: {a.steps[name]}")
            start = time.monotonic()
            a.steps["apply"] = _dcctl(env, *DEMO_APPLY, str(repo), *DEMO_APPLY_FLAGS)
            a.seconds = time.monotonic() - start
            a.outputs += a.steps["apply"][1:]
            print(f"\nfull lab apply of the example: {a.seconds:.1f} s")
            a.report = _last_audit(a)
            yield a
        finally:
            if not a.down:
                _dcctl(env, "destroy", str(repo), "--target", "lab", "--auto-approve", timeout=900)


DEMO_APPLY = ("apply",)
DEMO_APPLY_FLAGS = ("--target", "lab", "--auto-approve")


def test_demo_validates_plans_builds_the_lab_and_applies(applied: Applied) -> None:
    rc, out, err = applied.steps["validate"]
    n = len(applied.lab.spec.opds)
    assert rc == 0 and out.startswith(f"OK {applied.lab.spec.site.name}: {n} OPDs"), out + err
    rc, out, err = applied.steps["plan"]
    assert rc == 0 and "create" in out, out[-2000:] + err
    rc, out, err = applied.steps["lab up"]
    assert rc == 0 and f"lab {applied.lab.plan.lab_id} up" in out, out + err
    # On a host at the fresh default, lab up raises the inotify limit and says so.
    if applied.inotify_before < 1024:
        assert f"fs.inotify.max_user_instances {applied.inotify_before} -> 1024" in out, out
    rc, out, err = applied.steps["apply"]
    assert rc == 0, (out[-3000:], err[-3000:])
    assert "apply done" in out
    switches = len(applied.lab.spec.site.switches)
    assert f"switches: {switches} changed" in out
    assert f"vms: {len(applied.state['vms'])} create" in out


def test_demo_second_apply_and_four_more_change_nothing(applied: Applied) -> None:
    """The demo's "apply again: expect no changes", then four more: all exit 0, all no-ops.

    Before the fourth, `lab up` again, as a second run of the demo does. Every host
    converged in the first apply and none of its inputs changed since, so every
    host is skipped, and the output says so (issue 17).
    """
    switches = len(applied.lab.spec.site.switches)
    every = set(applied.report["layers"]["hosts"]["hosts"])
    for i in range(5):
        if i == 3:
            # The demo run a second time starts with `lab up` on the lab that is up:
            # it must leave the lab (the VMs Pulumi made included) as it is.
            rc, out, err = _dcctl(applied.env, "lab", "up", str(applied.repo))
            assert rc == 0 and "nothing to change" in out, out + err
        start = time.monotonic()
        rc, out, err = _dcctl(applied.env, *DEMO_APPLY, str(applied.repo), *DEMO_APPLY_FLAGS)
        applied.outputs += [out, err]
        print(f"\nno-op lab apply {i + 1} of the example: {time.monotonic() - start:.1f} s")
        assert rc == 0, (i, out[-3000:], err[-3000:])
        for line in (f"switches: {switches} unchanged", "vms: no changes", "hosts: no changes"):
            assert line in out, (i, line, out[-3000:])
        report = _last_audit(applied)
        assert report["ok"] and report["errors"] == [], (i, report["errors"])
        assert report["layers"]["hosts"]["changed_tasks"] == 0, report["layers"]["hosts"]["tasks"]
        skipped = report["layers"]["hosts"]["skipped"]
        assert set(skipped) == every and report["layers"]["hosts"]["hosts"] == {}, (i, skipped)
        assert all(
            why.startswith("inputs unchanged since converged at ") for why in skipped.values()
        )
        assert f"skipped {len(every)} hosts (inputs unchanged" in out, (i, out[-3000:])


def _host(a: Applied, address: str) -> Any:
    key, _ = lab_ssh_key(a.lab.plan.state_dir)
    return testinfra.get_host(
        f"ssh://dcctl@{address}",
        ssh_identity_file=str(key),
        ssh_extra_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        "-o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=10",
        sudo=True,
    )


def test_full_apply_configures_every_host(applied: Applied) -> None:
    hosts = applied.report["layers"]["hosts"]
    assert hosts["failures"] == {}
    vms = {k.replace("/", "-") for k in applied.state["vms"]}
    assert vms <= set(hosts["hosts"]), vms - set(hosts["hosts"])
    for name in vms:
        assert hosts["hosts"][name]["ok"] > 0, name
    assert hosts["changed_tasks"] > len(vms)  # the first apply did configure them


def test_every_vm_passes_the_baseline(applied: Applied) -> None:
    keys = list(applied.lab.spec.site.ssh_keys)
    monitoring_vm = applied.lab.spec.site.monitoring.vm
    monitor = _host(applied, applied.vm_address(monitoring_vm))
    for key, vm in applied.state["vms"].items():
        host = _host(applied, applied.vm_address(key))
        sshd = {
            line.split(" ", 1)[0]: line.split(" ", 1)[1]
            for line in host.check_output("sshd -T").splitlines()
            if " " in line
        }
        assert sshd["passwordauthentication"] == "no", key
        assert sshd["x11forwarding"] == "no", key
        if vm["classification"] == "rahasia":
            assert sshd["permitrootlogin"] == "no", key
            assert sshd["maxauthtries"] == "3", key
            assert sshd["allowtcpforwarding"] == "no", key
        else:
            assert sshd["permitrootlogin"] == "without-password", key
        infra = host.user("infra")
        assert infra.exists and "sudo" in infra.groups, key
        authorized = host.file("/home/infra/.ssh/authorized_keys")
        assert authorized.mode == 0o600 and authorized.user == "infra", key
        assert authorized.content_string.split("\n")[:-1] == keys, key
        assert host.service("prometheus-node-exporter").is_running, key
        assert host.service("unattended-upgrades").is_enabled, key
        assert host.file("/etc/apt/apt.conf.d/20auto-upgrades").contains(
            'Unattended-Upgrade "1"'
        ), key
        assert host.file("/etc/dcctl/baseline").contains(
            f"classification={vm['classification']}"
        ), key
        # The node exporter answers the monitoring VM (what Prometheus scrapes), and the VM
        # firewall drops it from anywhere else (issue 15), here the management network.
        url = f"http://{applied.vm_address(key)}:9100/metrics"
        fetch = f"import urllib.request as u; print(u.urlopen({url!r}, timeout=10).read().decode())"
        assert "node_exporter_build_info" in monitor.check_output("python3 -c %s", fetch), key
        if key != monitoring_vm:
            with pytest.raises(OSError):
                urllib.request.urlopen(url, timeout=3)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


#: Polls every 2 s; a service still starting refuses (OSError) and is polled again.
_wait = partial(wait_for, interval=2.0, retry_on=(OSError,))


#: The Prometheus jobs of managed network devices (issue 20: radios and APs by their kind).
DEVICES = ("switch", "radio", "ap")


def test_prometheus_sees_every_target_up(applied: Applied) -> None:
    monitor = applied.vm_address(applied.lab.spec.site.monitoring.vm)
    expected = len(applied.state["monitoring"])

    def all_up() -> list[dict[str, Any]] | None:
        targets = _get_json(f"http://{monitor}:9090/api/v1/targets")["data"]["activeTargets"]
        probed = [t for t in targets if t["labels"].get("job") in ("node", "camera", *DEVICES)]
        if len(probed) < expected - len(applied.state["vpn"]):
            return None
        return targets if all(t["health"] == "up" for t in targets) else None

    targets = _wait("every Prometheus target up", all_up, 180)
    by_job: dict[str, int] = {}
    for t in targets:
        by_job[t["labels"].get("job", "")] = by_job.get(t["labels"].get("job", ""), 0) + 1
        assert t["labels"].get("opd") or t["labels"]["job"] in (
            "prometheus",
            "alertmanager",
            "blackbox",
            "vpn-handshakes",
        ), t["labels"]
    assert by_job["node"] == len(applied.state["vms"])
    assert by_job["camera"] == len(applied.state["cctv"])
    # Every managed device is probed under its kind: switches, radios and access points.
    roles = [
        {"radio": "radio", "ap": "ap"}.get(s.role, "switch") for s in applied.lab.spec.site.switches
    ]
    assert {job: by_job.get(job, 0) for job in DEVICES} == {j: roles.count(j) for j in DEVICES}

    # The probes themselves succeed: every camera's RTSP port and device's SSH answers.
    query = "probe_success{job=~'camera|switch|radio|ap'}"
    result = _get_json(f"http://{monitor}:9090/api/v1/query?query={urllib.parse.quote(query)}")[
        "data"
    ]["result"]
    assert len(result) == len(applied.state["cctv"]) + len(applied.lab.spec.site.switches)
    assert all(r["value"][1] == "1" for r in result), result


def test_stopped_camera_raises_its_alert_with_its_opd(applied: Applied) -> None:
    monitor = applied.vm_address(applied.lab.spec.site.monitoring.vm)
    camera = "dinkes/loket-dinkes"
    window = applied.lab.spec.site.monitoring.camera_down_after_s
    rc, out, err = _dcctl(
        applied.env, "lab", "fault", "camera", str(applied.repo), camera, "stop", timeout=120
    )
    assert rc == 0, out + err
    started = time.monotonic()
    try:

        def firing() -> list[dict[str, Any]]:
            alerts = _get_json(f"http://{monitor}:9093/api/v2/alerts?active=true")
            return [
                a
                for a in alerts
                if a["labels"].get("alertname") == "CameraDown"
                and a["labels"].get("opd") == "dinkes"
                and a["status"]["state"] == "active"
            ]

        alerts = _wait("CameraDown for dinkes in Alertmanager", firing, window + 120, interval=3)
        took = time.monotonic() - started
        print(f"\nCameraDown reached Alertmanager {took:.1f} s after the camera stopped")
        assert took <= window + 90
        assert "loket-dinkes" in json.dumps(alerts[0]["labels"]) + json.dumps(
            alerts[0]["annotations"]
        )
    finally:
        _dcctl(applied.env, "lab", "fault", "camera", str(applied.repo), camera, "start")


def test_nvr_records_every_camera(applied: Applied) -> None:
    nvr = _host(applied, applied.vm_address(applied.lab.spec.site.cctv.nvr_vm))

    def sizes() -> dict[str, int]:
        out = nvr.check_output("du -sb /srv/cctv/*/* | sort -k2")
        return {line.split()[1]: int(line.split()[0]) for line in out.splitlines()}

    first = sizes()
    assert set(first) == {f"/srv/cctv/{k}" for k in applied.state["cctv"]}
    # Every recording grows (a camera stopped by the previous test reconnects first).
    grown: set[str] = set()

    def all_grew() -> bool:
        now = sizes()
        grown.update(k for k in first if now[k] > first[k])
        return grown == set(first)

    _wait("every camera's recording growing", all_grew, 120, interval=4)
    segment = nvr.check_output("ls -1 /srv/cctv/dishub/terminal | head -n 1")
    codec = nvr.check_output(
        "ffprobe -v error -select_streams v:0 -show_entries stream=codec_name "
        f"-of csv=p=0 /srv/cctv/dishub/terminal/{segment}"
    )
    assert codec.strip() == "h264"


def _ping(netns: str, address: str) -> bool:
    p = subprocess.run(
        ["ip", "netns", "exec", netns, "ping", "-c", "2", "-W", "2", "-q", address],
        capture_output=True,
        timeout=30,
    )
    return p.returncode == 0


def test_wifi_and_the_radio_link_carry_each_network_where_it_belongs(applied: Applied) -> None:
    """Issue 20 on the example: buildings beyond a radio link reach their gateway; an OPD
    SSID's client reaches its OPD's gateway, never another OPD's staff LAN; a guest
    reaches the internet stand-in, never an OPD, its gateway or management."""
    plan, spec = applied.lab.plan, applied.lab.spec
    if not plan.stations:
        pytest.skip("the example has no access point")
    radios = {s.name for s in spec.site.switches if s.role == "radio"}
    for b in plan.buildings:
        if b.switch_port.partition(":")[0] in radios:
            wait_for(f"{b.opd}/{b.name} across the radio", partial(_ping, b.netns, b.gateway), 20)
    staff = {b.opd: b.address.split("/")[0] for b in plan.buildings}
    assert plan.edge is not None and plan.edge.internet_address is not None
    internet = plan.edge.internet_address.split("/")[0]
    for s in plan.stations:
        others = [ip for opd, ip in staff.items() if opd != s.opd]
        if s.opd is not None:
            assert _ping(s.netns, s.gateway), s.key
            assert s.opd not in staff or _ping(s.netns, staff[s.opd]), s.key
        else:
            assert _ping(s.netns, internet), s.key
            others = [spec.site.management.gateway, *others]
        assert not any(_ping(s.netns, ip) for ip in others[:3]), s.key


def _linux_offices(a: Applied) -> list[Any]:
    offices = [o for o in a.lab.plan.offices if o.router == "linux"]
    assert offices, "the example has Linux office routers"
    return offices


def _a_server_of(a: Applied, opd: str) -> str:
    key = sorted(k for k in a.state["vms"] if k.startswith(f"{opd}/"))[0]
    return a.vm_address(key)


def test_offices_reach_only_their_own_opd_through_wireguard(applied: Applied) -> None:
    opds_with_vms = sorted({v["opd"] for v in applied.state["vms"].values()})
    for office in _linux_offices(applied):
        own = _a_server_of(applied, office.opd)
        other = _a_server_of(applied, next(o for o in opds_with_vms if o != office.opd))
        assert _wait(
            f"{office.opd}/{office.name} -> its own OPD's server {own}",
            lambda o=office, addr=own: _ping(o.host_netns, addr),
            60,
        )
        assert not _ping(office.host_netns, other), f"{office.name} reached {other}"
    # Even an office that routes another OPD's network into its tunnel by hand is
    # stopped at the hub (AllowedIPs plus the hub's firewall).
    office = _linux_offices(applied)[0]
    other_opd = next(o for o in opds_with_vms if o != office.opd)
    other_net = applied.state["networks"][f"{other_opd}/servers"]["prefix"]
    hub_pub = _hub_public_key(applied)
    router = office.container
    own_nets = applied.state["vpn"][f"{office.opd}/{office.name}"]["allowed_networks"]
    try:
        forced = ",".join([*own_nets, other_net])
        for cmd in (
            ["wg", "set", "wg-dc", "peer", hub_pub, "allowed-ips", forced],
            ["ip", "route", "replace", other_net, "dev", "wg-dc"],
        ):
            subprocess.run(["podman", "exec", router, *cmd], check=True, timeout=30)
        assert not _ping(office.host_netns, _a_server_of(applied, other_opd))
    finally:
        subprocess.run(
            ["podman", "exec", router, "systemctl", "restart", "wg-quick@wg-dc"], timeout=60
        )


def _hub_public_key(a: Applied) -> str:
    from dcctl.vpn.keystore import HUB, KeyStore, keystore_path

    return KeyStore(keystore_path(a.repo / "state", "lab"), passphrase=PASSPHRASE).public_key(HUB)


def test_rotated_office_key_brings_its_tunnel_back(applied: Applied) -> None:
    office = _linux_offices(applied)[0]
    ref = f"{office.opd}/{office.name}"
    hub = f"dl{applied.lab.plan.lab_id}-vm-{applied.lab.spec.site.vpn.vm.replace('/', '-')}"
    rc, out, err = _dcctl(applied.env, "vpn", "rotate", str(applied.repo), ref, "--target", "lab")
    assert rc == 0, out + err
    rotated_at = time.time()
    rc, report, err, _ = _apply(applied)
    assert rc == 0, (report.get("errors"), err[-2000:])
    changed = {t["host"] for t in report["layers"]["hosts"]["tasks"]}
    assert {"kominfo-vpn-gw", f"office-{office.opd}-{office.name}"} <= changed, changed
    own = _a_server_of(applied, office.opd)
    assert _wait(f"{ref} back through its tunnel", lambda: _ping(office.host_netns, own), 90)

    def handshake_after_rotation() -> bool:
        out = subprocess.run(
            ["podman", "exec", hub, "wg", "show", "wg-hub", "latest-handshakes"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        from dcctl.vpn.keystore import KeyStore, keystore_path

        store = KeyStore(keystore_path(applied.repo / "state", "lab"), passphrase=PASSPHRASE)
        new_pub = store.public_key(ref)
        stamps = dict(line.split("\t") for line in out.strip().splitlines() if "\t" in line)
        return int(stamps.get(new_pub, "0")) >= int(rotated_at) - 1

    assert _wait("a handshake with the new key", handshake_after_rotation, 90)


#: The host the out-of-band edit is made on (not the unreachable test's victim).
EDITED = "disdukcapil-arsip-dok"


def test_out_of_band_edit_is_found_by_drift(applied: Applied) -> None:
    """An edit on a host behind dcctl's back changes no input: apply skips, drift finds it."""
    container = f"dl{applied.lab.plan.lab_id}-vm-{EDITED}"
    subprocess.run(
        ["podman", "exec", container, "sh", "-c", "echo edited >> /etc/issue.net"],
        check=True,
        timeout=60,
    )
    rc, out, err = _dcctl(
        applied.env, "drift", str(applied.repo), "--target", "lab", "--layer", "hosts", "-o", "json"
    )
    assert rc == 0, (out[-2000:], err[-2000:])
    hosts = json.loads(out)["layers"]["hosts"]
    assert hosts["skipped"] == {}, "drift checks every host"
    assert len(hosts["hosts"]) == len(applied.report["layers"]["hosts"]["hosts"])
    assert {t["host"] for t in hosts["tasks"]} == {EDITED}, hosts["tasks"]


#: A host that runs beside the unreachable one and the edited one (no role of theirs).
BYSTANDER = "dinkes-simpus"


def test_unreachable_host_is_reported_and_the_rest_complete(applied: Applied) -> None:
    """A host that cannot be reached fails alone: the others that had work complete.

    Three hosts lose their convergence records, as a killed apply leaves the hosts it
    was running: the victim (sshd stopped), the host edited out of band and a bystander.
    The apply runs exactly those three (every other host is skipped with its proof):
    the victim is reported unreachable and records nothing, so it runs again next time;
    the other two complete, and the out-of-band edit is put back. (A full `--converge`
    of every host would prove the same at the cost of the first apply's time.)
    """
    victim = "dishub-atcs"
    container = f"dl{applied.lab.plan.lab_id}-vm-{victim}"
    dropped = {victim, EDITED, BYSTANDER}
    every = set(applied.report["layers"]["hosts"]["hosts"])
    assert dropped <= every, dropped - every
    record = converged.Record(converged.record_path(load_spec(applied.repo), "lab"))
    for play in list(record.plays):
        record.forget(play, dropped)
    # Stop sshd and end its sessions too (Ansible's persistent SSH masters among them).
    for cmd in (["systemctl", "stop", "ssh.service"], ["pkill", "-KILL", "sshd"]):
        subprocess.run(["podman", "exec", container, *cmd], timeout=60)
    try:
        rc, report, _err, _ = _apply(applied)
    finally:
        subprocess.run(
            ["podman", "exec", container, "systemctl", "start", "ssh.service"],
            check=True,
            timeout=60,
        )
    assert rc == 1
    hosts = report["layers"]["hosts"]
    assert set(hosts["failures"]) == {victim}, hosts["failures"]
    assert "unreachable" in hosts["failures"][victim]
    assert any(victim in e and "unreachable" in e for e in report["errors"])
    assert set(hosts["hosts"]) == dropped, set(hosts["hosts"])
    assert set(hosts["skipped"]) == every - dropped, set(hosts["skipped"]) ^ (every - dropped)
    others = {k: v for k, v in hosts["hosts"].items() if k != victim}
    assert all(v["failed"] == 0 and v["unreachable"] == 0 and v["ok"] > 0 for v in others.values())
    assert EDITED in {t["host"] for t in hosts["tasks"]}
    after = converged.Record(record.path)
    assert all(victim not in entries for entries in after.plays.values()), "victim recorded"
    for name in (EDITED, BYSTANDER):
        assert any(name in entries for entries in after.plays.values()), f"{name} not recorded"


def _vm_container(a: Applied, key: str) -> str:
    return f"dl{a.lab.plan.lab_id}-vm-{key.replace('/', '-')}"


def _vm_exec(a: Applied, key: str, *argv: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        ["podman", "exec", *(["-i"] if stdin is not None else []), _vm_container(a, key), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, (key, argv, out.stderr[-1000:])
    return out.stdout


def _restic(a: Applied, key: str, repo: str, *args: str) -> str:
    """restic on VM ``key`` against its OPD's repository ``repo``, as its backup script runs it."""
    conf = json.loads(_vm_exec(a, key, "cat", "/etc/dcctl/backup/backup.json"))
    url = conf["repositories"][repo]["url"]
    return _vm_exec(
        a, key, "env", "RESTIC_PASSWORD_FILE=/etc/dcctl/backup/password",
        "restic", "--no-cache", "-r", url, *args,
    )  # fmt: skip


def test_every_vm_with_a_backup_policy_has_snapshots_rahasia_in_two_repositories(
    applied: Applied,
) -> None:
    """After the apply: a snapshot of every VM with a policy in its OPD's repository, and of
    every VM keeping two copies (rahasia) in the off-site repository too; the backup VMs
    keep each OPD's repository in its own account's 0700 directory."""
    records = applied.state["backup"]
    assert records, "the example backs up VMs"
    two = []
    for code, rec in sorted(records.items()):
        for repo in rec["repositories"]:
            # Listed from a VM of the OPD that uses this repository (a publik VM of an OPD
            # keeping rahasia data off-site has no off-site repository of its own).
            users = sorted(
                k for k in rec["vms"] if repo in applied.state["vms"][k]["backup"]["repositories"]
            )
            listed = json.loads(_restic(applied, users[0], repo, "snapshots", "--json") or "[]")
            hosts = {s["hostname"] for s in listed}
            want = {k.replace("/", "-") for k in users}
            assert want and want <= hosts, (code, repo, want - hosts)
            if repo == "offsite":
                two += sorted(want)
    rahasia = [
        k.replace("/", "-")
        for k, vm in applied.state["vms"].items()
        if vm["classification"] == "rahasia" and vm["backup"]["schedule"] != "none"
    ]
    assert rahasia and set(rahasia) <= set(two), (rahasia, two)
    site = applied.lab.spec.site.backup
    assert site is not None
    for ref in (site.vm, site.offsite_vm):
        assert ref is not None
        held = {
            c for c, r in records.items() if any(x["vm"] == ref for x in r["repositories"].values())
        }
        out = _vm_exec(
            applied, ref, "stat", "-c", "%n %U %a", *(f"/srv/backup/{c}" for c in sorted(held))
        )
        for line, code in zip(out.splitlines(), sorted(held), strict=True):
            assert line.split()[1:] == [records[code]["user"], "700"], line
    print(f"\nbackup plays of the first apply: {_backup_play_seconds(applied):.1f} s "
          f"of {applied.seconds:.1f} s")  # fmt: skip


def test_live_backup_status_sees_every_vm_backed_up(applied: Applied) -> None:
    """`backup status --live` asks the lab's real Prometheus: every VM with a policy has a
    backup (the apply's first run, scraped from its node exporter), rahasia VMs two copies;
    the records file stays as it was (a status writes nothing)."""
    records = applied.repo / "state" / "backup" / "lab" / "records.json"
    before = records.read_bytes() if records.exists() else None
    args = ("backup", "status", str(applied.repo), "--target", "lab", "--live", "-o", "json")

    def status() -> dict[str, Any]:
        rc, out, err = _dcctl(applied.env, *args, timeout=120)
        assert rc == 0, err[-2000:]
        return {r["vm"]: r for r in json.loads(out)["vms"]}

    def all_seen(rows: dict[str, Any]) -> bool:
        return all(r["last_backup"] for r in rows.values() if r["schedule"] != "none")

    rows = _wait("every VM's backup in Prometheus", status, 120, interval=10, ok=all_seen)
    for key, row in rows.items():
        if row["schedule"] == "none":
            continue
        assert row["state"] not in ("missing", "stale"), row
        assert len(row["copies_present"]) >= row["copies_required"], row
        if applied.state["vms"][key]["classification"] == "rahasia":
            assert set(row["copies_present"]) == {"primary", "offsite"}, row
    assert (records.read_bytes() if records.exists() else None) == before


def _backup_play_seconds(a: Applied) -> float:
    """How long the first apply's backup plays took, read off the VMs' own clocks: from the
    first backup account made to the last first backup finished."""
    site = a.lab.spec.site.backup
    assert site is not None
    starts = [float(_vm_exec(a, site.vm, "stat", "-c", "%Y", "/etc/ssh/dcctl-backup-keys").strip())]
    ends = []
    for rec in a.state["backup"].values():
        for key in rec["vms"]:
            ends.append(
                float(_vm_exec(a, key, "cat", "/var/lib/dcctl-backup/primary.last-success"))
            )
    return max(ends) - min(starts)


DRILLED = "dinkes/simpus-db"


def test_a_written_file_is_in_the_next_backup_and_a_drill_restores_it(applied: Applied) -> None:
    """A file written on a rahasia VM is in its next backup (both repositories); `dcctl backup
    drill` restores it byte-identical, checks the repository and records its duration."""
    payload = base64.b64encode(os.urandom(6000)).decode()
    _vm_exec(applied, DRILLED, "install", "-d", "/srv/drill")
    _vm_exec(applied, DRILLED, "sh", "-c", "cat > /srv/drill/records.txt", stdin=payload)
    before = len(json.loads(_restic(applied, DRILLED, "primary", "snapshots", "--json")))
    _vm_exec(applied, DRILLED, "systemctl", "start", "dcctl-backup.service")  # the timer's unit
    assert len(json.loads(_restic(applied, DRILLED, "primary", "snapshots", "--json"))) > before
    for repo in ("primary", "offsite"):
        dumped = _restic(applied, DRILLED, repo, "dump", "latest", "/srv/drill/records.txt")
        assert dumped == payload, repo
    rc, out, err = _dcctl(
        applied.env, "backup", "drill", str(applied.repo), DRILLED, "--target", "lab",
        "--verify", "/srv/drill/records.txt", "-o", "json", timeout=600,
    )  # fmt: skip
    applied.outputs += [out, err]
    assert rc == 0, (out[-2000:], err[-2000:])
    report = json.loads(out)
    assert report["ok"] and report["check"] == "ok" and report["mismatched_count"] == 0, report
    assert report["verified"] == {"/srv/drill/records.txt": "identical"}, report
    assert report["seconds"] > 0 and report["restore_seconds"] > 0
    from dcctl.backup.state import load, records_path
    from dcctl.spec import load_spec

    rec = load(records_path(load_spec(applied.repo), "lab"))[DRILLED]
    assert rec.drill is not None and rec.drill.ok and rec.drill.duration_s == report["seconds"]
    print(f"\ndrill of {DRILLED}: {report['seconds']:.1f} s ({report['files']} files)")


#: The short BackupStale window of the rehearsal (site.yaml backup.stale_after_s).
STALE_WINDOW_S = 90


def test_stopped_backup_timer_raises_backup_stale_with_its_opd(applied: Applied) -> None:
    """A VM whose backup timer runs stays fresh; its timer stopped, BackupStale fires within
    the configured window, labelled with its OPD and VM.

    The window is the Site's ``backup.stale_after_s`` (set short here, applied to the
    monitoring VM only); the VM's timer is sped up by a runtime drop-in (every 20 s) so
    "fresh while the timer runs" is seen within the test, then stopped.
    """
    key = next(
        k
        for k, vm in sorted(applied.state["vms"].items())
        if vm["backup"]["repositories"] == ["primary"] and vm["opd"] != "kominfo"
    )
    opd = applied.state["vms"][key]["opd"]
    dropin = "/run/systemd/system/dcctl-backup.timer.d"
    _vm_exec(applied, key, "install", "-d", dropin)
    _vm_exec(
        applied, key, "sh", "-c",
        f"printf '[Timer]\\nOnCalendar=\\nRandomizedDelaySec=0\\nOnActiveSec=1\\n"
        f"OnUnitActiveSec=20s\\nAccuracySec=1s\\n' > {dropin}/test.conf && "
        "systemctl daemon-reload && systemctl restart dcctl-backup.timer",
    )  # fmt: skip
    site = applied.repo / "site.yaml"
    text = site.read_text()
    try:
        site.write_text(
            text.replace(
                "  drill_every_days:", f"  stale_after_s: {STALE_WINDOW_S}\n  drill_every_days:"
            )
        )
        rc, report, err, seconds = _apply(applied, "--layer", "hosts")
        assert rc == 0, (report.get("errors"), err[-2000:])
        ran = set(report["layers"]["hosts"]["hosts"])
        print(f"\nshort BackupStale window applied in {seconds:.1f} s on {sorted(ran)}")
        monitor = applied.vm_address(applied.lab.spec.site.monitoring.vm)

        def stale() -> list[dict[str, Any]]:
            alerts = _get_json(f"http://{monitor}:9093/api/v2/alerts?active=true")
            return [
                a
                for a in alerts
                if a["labels"].get("alertname") == "BackupStale"
                and a["labels"].get("name") == key
                and a["status"]["state"] == "active"
            ]

        # The timer runs: after more than the window (and the rule's `for`), still fresh.
        time.sleep(STALE_WINDOW_S + 45)
        assert stale() == [], "BackupStale fired while the timer was backing up"
        _vm_exec(applied, key, "systemctl", "stop", "dcctl-backup.timer")
        stopped = time.monotonic()
        alerts = _wait(f"BackupStale for {key}", stale, STALE_WINDOW_S + 180, interval=3)
        took = time.monotonic() - stopped
        print(f"BackupStale for {key} reached Alertmanager {took:.1f} s after its timer stopped")
        assert took <= STALE_WINDOW_S + 150
        assert alerts[0]["labels"]["opd"] == opd and alerts[0]["labels"]["repo"] == "primary"
    finally:
        site.write_text(text)
        _vm_exec(
            applied, key, "sh", "-c",
            f"rm -rf {dropin} && systemctl daemon-reload && systemctl restart dcctl-backup.timer",
        )  # fmt: skip


def test_no_secret_in_repo_state_or_output(applied: Applied) -> None:
    from dcctl.lab.secrets import lab_secret

    # Every reference the lab plays the vault for: switch passwords, camera passwords,
    # radio link keys and Wi-Fi passphrases (issue 20).
    refs = set(applied.lab.plan.credential_refs)
    assert {sw.credential for sw in applied.lab.spec.site.switches} <= refs
    secrets = {lab_secret(applied.lab.plan.state_dir, ref) for ref in refs}
    secrets |= _wireguard_private_keys(applied)
    secrets |= _backup_keys(applied)
    assert all(len(s) >= 16 for s in secrets)
    texts = list(applied.outputs)
    for path in applied.repo.rglob("*"):
        if path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    for secret in secrets:
        assert not any(secret in t for t in texts), "a secret leaked into the repo/state/output"


def _backup_keys(a: Applied) -> set[str]:
    """Every OPD's repository password and a line of its SFTP key's private body; none may
    show up in the repo, the state, dcctl's output or a VM's backup journal."""
    from dcctl.backup.keys import BackupKeys, keys_dir, password_name, ssh_name

    store = BackupKeys(keys_dir(a.repo / "state", "lab"), passphrase=PASSPHRASE)
    codes = sorted(a.state["backup"])
    keys = {store.pair(password_name(c)).private for c in codes}
    # Line 3 of an Ed25519 OpenSSH PEM body holds the private seed (lines 1-2: header, public).
    keys |= {store.pair(ssh_name(c)).private.splitlines()[3] for c in codes}
    assert len(keys) == 2 * len(codes), "the apply generated a password and key per OPD"
    journal = _vm_exec(a, DRILLED, "journalctl", "-u", "dcctl-backup.service", "--no-pager")
    assert "dcctl-backup" in journal or "Back up" in journal
    assert not any(k in journal for k in keys)
    return keys


def _wireguard_private_keys(a: Applied) -> set[str]:
    from dcctl.vpn.keystore import KeyStore, keystore_path

    store = KeyStore(keystore_path(a.repo / "state", "lab"), passphrase=PASSPHRASE)
    keys = {store.pair(name).private for name in store.names()}
    assert keys, "the apply generated WireGuard keys"
    return keys


def test_demo_ends_with_lab_status_then_lab_down(applied: Applied) -> None:
    """The demo's last steps: status says all up; `lab down` removes the lab and undoes the host."""
    from dcctl.lab import net

    rc, out, err = _dcctl(applied.env, "lab", "status", str(applied.repo))
    assert rc == 0 and "all up" in out, out[-3000:] + err
    lab_id = applied.lab.plan.lab_id
    held_by_others = {k for k, who in host.holders().items() if set(who) - {lab_id}}
    rc, out, err = _dcctl(applied.env, "lab", "down", str(applied.repo))
    applied.down = rc == 0
    assert rc == 0, out + err
    prefix = applied.lab.plan.prefix
    assert not [n for n in net.netns_list() if n.startswith(prefix + "-")]
    assert not [n for n in net.links(None) if n.startswith(prefix)]
    names = subprocess.run(
        ["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True
    ).stdout.split()
    assert not [n for n in names if n.startswith(prefix + "-")], names
    key = "fs.inotify.max_user_instances"
    if key not in held_by_others:  # no other lab holds it: back to the fresh value
        assert host.current(key) == FRESH_HOST[key]
