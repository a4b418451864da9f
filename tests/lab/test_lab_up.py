"""`dcctl lab up|status|fault|down` against the real kernel and Open vSwitch.

Why: the lab is only useful if it really is the physical estate - namespaces,
bridges and veths that exist, cameras that stream, switches that answer SSH, a WAN
that can break - and if `down` leaves nothing behind on a shared machine. Before
dcctl configures the switches every port is in VLAN 1 (factory default), so these
tests check physical things only, not OPD connectivity. All traffic stays inside
namespaces this test created, or on loopback.

Runs as root only (skipped otherwise); one lab with a unique id per test module.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Protocol

import pytest
from typer.testing import CliRunner

from dcctl.lab import net, runner
from dcctl.lab.cli import lab_app
from dcctl.lab.plan import CAMERA_USER, BuildingPlan, CameraPlan, LabPlan
from dcctl.lab.secrets import lab_secret
from dcctl.lab.topology import lab_prefix, lab_state_dir
from dcctl.spec import Spec
from tests.lab.conftest import unique_lab_id

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wonosobo"

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]


class Lab(Protocol):
    """What the `built_lab` fixture (tests/lab/conftest.py) yields."""

    spec: Spec
    plan: LabPlan
    first_up: runner.Result


def rtsp(cam: CameraPlan, method: str, auth: tuple[str, str] | None = None) -> str:
    """One RTSP request from inside the camera's own namespace; the full reply text."""
    url = f"rtsp://{cam.ip}:{cam.rtsp_port}{cam.rtsp_path}"
    head = f"{method} {url} RTSP/1.0\r\nCSeq: 2\r\n"
    if method == "DESCRIBE":
        head += "Accept: application/sdp\r\n"
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        head += f"Authorization: Basic {token}\r\n"

    def call() -> str:
        with socket.create_connection((cam.ip, cam.rtsp_port), timeout=10) as s:
            s.sendall((head + "\r\n").encode())
            data = b""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                text = data.decode("utf-8", "replace")
                if "\r\n\r\n" in text:
                    hdr, _, body = text.partition("\r\n\r\n")
                    length = 0
                    for line in hdr.split("\r\n"):
                        if line.lower().startswith("content-length:"):
                            length = int(line.split(":", 1)[1])
                    if len(body.encode()) >= length:
                        break
            return data.decode("utf-8", "replace")

    return net.in_netns(cam.netns, call, timeout=30)


def ping(netns: str, address: str) -> bool:
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "2", address],
        capture_output=True,
        timeout=15,
        check=False,
    )
    return proc.returncode == 0


def ping_eventually(netns: str, address: str, tries: int = 5) -> bool:
    return any(ping(netns, address) for _ in range(tries))


def tolerable(warning: str) -> bool:
    """The one warning a test machine may cause: switchd not written yet."""
    return "not installed yet" in warning


def test_up_builds_the_estate(built_lab: Lab) -> None:
    res = built_lab.first_up
    print(f"\nlab up ({built_lab.plan.lab_id}) took {res.elapsed:.1f}s")
    assert res.elapsed < 180
    unexpected = [w for w in res.warnings if not tolerable(w)]
    assert not unexpected
    done = " ".join(res.changes)
    assert "namespaces created" in done and "veth pairs created" in done


def test_second_up_is_idempotent(built_lab: Lab) -> None:
    res = runner.up(built_lab.plan)
    print(f"\nsecond lab up took {res.elapsed:.2f}s")
    assert res.changes == []
    assert all(tolerable(w) for w in res.warnings)
    assert res.elapsed < 15


def test_status_reports_everything_up(built_lab: Lab) -> None:
    st = runner.status(built_lab.plan)
    assert not [i for i in st.items if i.state not in ("up", "n/a")]
    result = CliRunner().invoke(
        lab_app, ["status", str(EXAMPLE), "--lab-id", built_lab.plan.lab_id, "--output", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["lab_id"] == built_lab.plan.lab_id
    kinds = {i["kind"] for i in data["items"]}
    assert {"namespace", "ovs-bridge", "camera", "switch", "office", "building"} <= kinds


def test_namespaces_bridges_and_addresses_exist(built_lab: Lab) -> None:
    plan = built_lab.plan
    assert {n.name for n in plan.namespaces} <= set(net.netns_list())
    ovs = net.ovs_state()
    for br in plan.ovs_bridges:
        assert ovs.bridges.get(br.name) == "netdev"
    for end in plan.ends():
        if end.ovs_bridge:
            assert ovs.ports.get(end.ifname) == end.ovs_bridge
    hosts: list[BuildingPlan | CameraPlan] = [*plan.buildings, *plan.cameras]
    for host in hosts:
        link = net.links(host.netns)[host.ifname]
        assert link.up and host.address in link.addresses
        assert net.routes(host.netns)["default"]["gateway"] == host.gateway


def test_cameras_stream_h264_behind_basic_auth(built_lab: Lab) -> None:
    assert built_lab.plan.cameras
    for cam in built_lab.plan.cameras:
        password = lab_secret(built_lab.plan.state_dir, cam.credential)
        assert rtsp(cam, "OPTIONS").startswith("RTSP/1.0 200")
        assert rtsp(cam, "DESCRIBE").startswith("RTSP/1.0 401")
        assert rtsp(cam, "DESCRIBE", (CAMERA_USER, "wrong")).startswith("RTSP/1.0 401")
        reply = rtsp(cam, "DESCRIBE", (CAMERA_USER, password))
        assert reply.startswith("RTSP/1.0 200"), reply[:200]
        assert "H264/90000" in reply


def test_switch_daemons_answer_ssh_from_the_root_namespace(built_lab: Lab) -> None:
    if not runner.switchd_available():
        pytest.skip("switch daemon (dcctl.lab.switchd) not installed yet")
    plan = built_lab.plan
    assert plan.mgmt is not None
    for sw in plan.switches:
        via = net.ip_json(None, "route", "get", sw.mgmt_address)
        assert via and via[0].get("dev") == plan.mgmt.root_ifname, (sw.name, via)
        banner = net.tcp_probe(None, sw.mgmt_address, 22, timeout=5) or ""
        assert banner.startswith("SSH-2.0-"), (sw.name, banner)


def test_offices_reach_the_hub_and_the_wan_can_fail(built_lab: Lab) -> None:
    plan = built_lab.plan
    assert plan.wan is not None and plan.wan.hub_address
    hub = plan.wan.hub_address.split("/")[0]
    for office in plan.offices:
        assert ping_eventually(office.router_netns, hub), office.key
        router_lan = office.router_lan.split("/")[0]
        assert ping_eventually(office.host_netns, router_lan), office.key
    office = plan.offices[0]
    runner.wan_fault(plan, office.key, "down")
    try:
        assert not ping(office.router_netns, hub)
        assert runner.up(plan).changes == [], "up must not heal an injected fault"
        assert not ping(office.router_netns, hub)
        states = {i.name: i.state for i in runner.status(plan).items if i.kind == "office"}
        assert states[office.key] == "fault"
    finally:
        runner.wan_fault(plan, office.key, "up")
    assert ping_eventually(office.router_netns, hub)


def test_camera_stop_and_start(built_lab: Lab) -> None:
    plan = built_lab.plan
    cam = plan.cameras[0]
    runner.camera_fault(plan, cam.key, "stop")
    try:
        assert net.rtsp_options(cam.netns, cam.ip, cam.rtsp_port, cam.rtsp_path) == ""
        states = {i.name: i.state for i in runner.status(plan).items if i.kind == "camera"}
        assert states[cam.key] == "fault"
    finally:
        runner.camera_fault(plan, cam.key, "start")
    assert rtsp(cam, "OPTIONS").startswith("RTSP/1.0 200")


def test_a_second_lab_of_the_spec_is_refused_before_anything_is_built(built_lab: Lab) -> None:
    """Its switches would be unreachable (the first lab holds the shared routes): say whose
    lab is in the way and how to free it, exit non-zero, and create nothing."""
    other = unique_lab_id()
    result = CliRunner().invoke(lab_app, ["up", str(EXAMPLE), "--lab-id", other])
    said = " ".join(result.output.split())  # as one line, however the console wrapped it
    assert result.exit_code == 1, said
    assert f"lab {built_lab.plan.lab_id!r} is up with the same addresses" in said
    assert f"dcctl lab down --lab-id {built_lab.plan.lab_id}" in said
    assert "Traceback" not in said
    assert not [n for n in net.netns_list() if n.startswith(lab_prefix(other))]
    assert not lab_state_dir(other).exists()


def test_up_repairs_only_what_is_missing(built_lab: Lab) -> None:
    plan = built_lab.plan
    cam = plan.cameras[-1]
    subprocess.run(["ip", "netns", "del", cam.netns], check=True, timeout=10)
    res = runner.up(plan)
    done = " ".join(res.changes)
    assert "1 namespaces created" in done and "1 veth pairs created" in done
    assert "1 cameras started" in done
    assert rtsp(cam, "OPTIONS").startswith("RTSP/1.0 200")
    states = {i.name: i.state for i in runner.status(plan).items}
    assert states[cam.key] == "up" and states[cam.netns] == "up"


def test_down_leaves_nothing_behind(built_lab: Lab) -> None:
    plan = built_lab.plan
    res = runner.down(plan.lab_id, plan.state_dir)
    print(f"\nlab down took {res.elapsed:.1f}s")
    assert not res.warnings
    p = plan.prefix
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert p not in netns.stdout
    bridges = subprocess.run(["ovs-vsctl", "list-br"], capture_output=True, text=True, check=True)
    assert p not in bridges.stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    assert p not in links.stdout
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True)
    assert p not in routes.stdout
    procs = subprocess.run(
        ["pgrep", "-f", f"{plan.state_dir}/"], capture_output=True, text=True, check=False
    )
    assert procs.stdout.strip() == ""
    assert runner.down(plan.lab_id, plan.state_dir).changes == []
    # NVRAM and secrets survive `down`.
    assert (plan.state_dir / "secrets").is_dir()
