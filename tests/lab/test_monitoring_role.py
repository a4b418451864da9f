"""Lab test of the monitoring and wg_exporter roles: real Prometheus, a real RTSP camera.

Topology (all names start with ``hmon``; subnet 172.31.20.0/24 is this test's own;
``tests.netns`` removes everything afterwards, even when the test fails):

    root ns  hmon0 172.31.20.254 ──┐
    [hmon-mon] container kominfo/monitor  172.31.20.10  (the role under test)
    [hmon-hub] container kominfo/hub      172.31.20.11  node exporter, wireguard-go wg0,
                                          + 172.31.20.130 = switch sw-lab's mgmt (sshd :22)
    [hmon-cam] netns: dcctl/lab/camera.py 172.31.20.70:554 (dinkes/cam-lab)
                                          + 172.31.20.194 = office dinkes/pkm-lab's tunnel
    all on bridge br0 in [hmon-sw] (a namespace, so the root firewall never sees it)

The spec is a small regency written by the test (scrape every 5 s, camera down after
10 s). ``role_vars`` and ``build_inventory`` are the real ones; the playbook has the
same plays as ``playbooks/site.yml`` for role_monitoring and role_vpn_hub.

What it proves: check mode passes on fresh hosts; after apply every Prometheus target
is up and every probe succeeds (camera RTSP port, switch SSH, tunnel address ICMP);
the hub exports the office's handshake with its office/OPD labels; a second apply
changes nothing and restarts nothing; stopping the camera makes CameraDown appear in
Alertmanager's API labelled opd=dinkes, routed to the OPD and the NOC, within the
configured time (the measured delay is printed).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from dcctl.lab import net
from dcctl.lab.podman import podman
from tests.helpers import domain_vars, wait_for
from tests.lab.conftest import EXAMPLE, lab_image, needs, start_host
from tests.netns import End, Netns

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "playbooks" / "roles"
CAMERA = REPO / "dcctl" / "lab" / "camera.py"
P = "hmon"
SW_NS, MON_NS, HUB_NS, CAM_NS = f"{P}-sw", f"{P}-mon", f"{P}-hub", f"{P}-cam"
ROOT_ADDR = "172.31.20.254"
MON, HUB, CAM = "172.31.20.10", "172.31.20.11", "172.31.20.70"
SWITCH_MGMT, OFFICE_TUNNEL = "172.31.20.130", "172.31.20.194"
SCRAPE_S, CAMERA_DOWN_S = 5, 10

SITE = f"""\
apiVersion: dcctl/v1
kind: Site
name: hmonlab
domain: mon.lab.example
dns: [172.31.20.1]
hypervisors:
  type: lab
  credential: env:HMON_UNUSED
  nodes: [{{name: n1, uplink: "sw-lab:Gi1/0/1", vcpu: 4, memory_gb: 8}}]
storage: {{vm_capacity_gb: 1000, recording_capacity_gb: 1000}}
management: {{prefix: 172.31.20.128/26, gateway: 172.31.20.129, vlan: 99}}
ipam:
  vlan_range: [100, 199]
  server_pool: 172.31.20.0/26
  server_prefix_length: 27
  cctv_pool: 172.31.20.64/27
  cctv_prefix_length: 27
  lan_pool: 172.31.20.96/27
  lan_prefix_length: 28
switches:
  - name: sw-lab
    vendor: cisco_ios
    role: access
    location: Lab rack
    mgmt_address: {SWITCH_MGMT}
    credential: env:HMON_SWITCH_UNUSED
    ports: [Gi1/0/1-4]
vpn: {{vm: kominfo/hub, endpoint: "{HUB}:51820", tunnel_pool: 172.31.20.192/27}}
monitoring:
  vm: kominfo/monitor
  scrape_interval_s: {SCRAPE_S}
  camera_down_after_s: {CAMERA_DOWN_S}
  alert_email: noc@mon.lab.example
cctv: {{nvr_vm: kominfo/hub}}
credentials:
  - {{ref: env:HMON_UNUSED, kind: hypervisor}}
  - {{ref: env:HMON_SWITCH_UNUSED, kind: switch}}
"""
KOMINFO = f"""\
apiVersion: dcctl/v1
kind: Opd
code: kominfo
name: Dinas Komunikasi dan Informatika
sector: governance
classification: terbatas
contacts: [{{name: Tim Infrastruktur, role: NOC, email: aptika@mon.lab.example}}]
quota: {{vcpu: 8, memory_gb: 16, disk_gb: 200}}
network: {{servers: {{prefix: 172.31.20.0/27}}}}
vms:
  - {{name: monitor, role: monitoring, vcpu: 1, memory_gb: 1, disk_gb: 10, address: {MON}}}
  - {{name: hub, role: vpn-hub, vcpu: 1, memory_gb: 1, disk_gb: 10, address: {HUB}}}
"""
DINKES = f"""\
apiVersion: dcctl/v1
kind: Opd
code: dinkes
name: Dinas Kesehatan
sector: health
classification: rahasia
contacts: [{{name: Admin SIK, role: Admin, email: sik@mon.lab.example}}]
quota: {{vcpu: 0, memory_gb: 0, disk_gb: 0}}
network: {{cctv: {{prefix: 172.31.20.64/27}}}}
offices:
  - {{name: pkm-lab, location: Puskesmas Lab, router: linux, wan_address: 198.51.100.77,
     tunnel_address: {OFFICE_TUNNEL}}}
credentials: [{{ref: env:HMON_DINKES_UNUSED, kind: camera}}]
cameras:
  - {{name: cam-lab, location: Loket Lab, port: "sw-lab:Gi1/0/2", address: {CAM},
     credential: env:HMON_DINKES_UNUSED, bitrate_kbps: 256, retention_days: 1}}
"""


def _skip_reason() -> str | None:
    reason = needs("podman", "runc", "ip", "ssh", "ssh-keygen")
    if reason:
        return reason
    from dcctl.lab.runner import gst_problem

    problem = gst_problem()
    return f"the lab camera needs GStreamer's RTSP server: {problem}" if problem else None


def _port(n: Netns, ns: str, addresses: list[str]) -> None:
    """A namespace with eth0 on the bridge, holding ``addresses`` (all /24)."""
    n.netns(ns)
    n.veth(End(f"p-{ns}", SW_NS, master="br0"), End("eth0", ns, [f"{a}/24" for a in addresses]))


def _http_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _rtsp_options(host: str, port: int = 554) -> str:
    """First line of an RTSP OPTIONS answer: proves a real RTSP server, not just a port."""
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(f"OPTIONS rtsp://{host}:{port}/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
        return s.recv(1024).decode(errors="replace").splitlines()[0]


def _camera_ready(host: str, timeout: float) -> bool:
    """Wait for the camera: GStreamer takes a moment to listen on a busy machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _rtsp_options(host).startswith("RTSP/1.0 200"):
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


@dataclass
class MonLab:
    key: Path
    image: str
    camera: subprocess.Popen[bytes] | None = None

    def exec(self, container: str, *argv: str, timeout: float = 60) -> str:
        return podman("exec", container, *argv, timeout=timeout).stdout.strip()


def build_lab(n: Netns, tmp_path: Path) -> MonLab:
    """Namespaces, bridge, two booted containers and the running camera (see the docstring)."""
    image = lab_image()
    key = tmp_path / "id_ed25519"
    net.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hmon-lab", "-f", str(key)])
    pubkey = key.with_suffix(".pub").read_text().strip()
    lab = MonLab(key=key, image=image)
    n.netns(SW_NS)
    n.bridge("br0", SW_NS)
    n.veth(End(f"{P}0", addrs=[f"{ROOT_ADDR}/24"]), End("p-root", SW_NS, master="br0"))
    _port(n, MON_NS, [MON])
    _port(n, HUB_NS, [HUB, SWITCH_MGMT])
    _port(n, CAM_NS, [CAM, OFFICE_TUNNEL])
    start_host(f"{P}-mon", MON_NS, image, pubkey, user=None)
    start_host(f"{P}-hub", HUB_NS, image, pubkey, user=None)
    # Stand-ins for what other roles do: node exporter on every VM (baseline) and a
    # WireGuard interface with the office's peer on the hub (vpn_hub). The hub's
    # private key is made and kept inside the container.
    for name in (f"{P}-mon", f"{P}-hub"):
        lab.exec(name, "systemctl", "enable", "--now", "prometheus-node-exporter")
    peer = lab.exec(f"{P}-hub", "sh", "-c", "wg genkey | wg pubkey")  # the office's
    lab.exec(f"{P}-hub", "systemd-run", "--unit=hmon-wg0",
             "-E", "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1",
             "wireguard-go", "-f", "wg0")  # fmt: skip
    # Only talk to wg0 once its UAPI socket listens: `wg` unlinks a socket that refuses.
    _wait("wg0's UAPI socket on the hub",
          lambda: lab.exec(f"{P}-hub", "ss", "-xlH"), 20,
          ok=lambda out: "wireguard/wg0.sock" in out)  # fmt: skip
    lab.exec(f"{P}-hub", "sh", "-c",
             "umask 077 && wg genkey >/root/wg0.key && "
             f"wg set wg0 private-key /root/wg0.key peer {peer} "
             f"allowed-ips {OFFICE_TUNNEL}/32,10.64.0.0/24 && ip link set wg0 up")  # fmt: skip
    lab.camera = n.spawn(
        CAM_NS, ["/usr/bin/python3", str(CAMERA), "--port", "554", "--path", "/stream"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "camera.log").open("wb"),
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
    )  # fmt: skip
    return lab


@pytest.fixture
def monlab(tmp_path: Path) -> Iterator[MonLab]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    with Netns(P, subnet="172.31.20.0/24") as n:
        yield build_lab(n, tmp_path)


def _write_spec(root: Path) -> Path:
    (root / "opd").mkdir(parents=True)
    (root / "site.yaml").write_text(SITE)
    (root / "opd" / "kominfo.yaml").write_text(KOMINFO)
    (root / "opd" / "dinkes.yaml").write_text(DINKES)
    return root


def _playbook(path: Path) -> Path:
    """The role_monitoring and role_vpn_hub plays of site.yml (plus wg_exporter on the hub)."""
    path.write_text(
        f"""\
- name: Prometheus, blackbox exporter and Alertmanager on the monitoring VM
  hosts: role_monitoring
  become: true
  roles:
    - role: {ROLES / "monitoring"}
- name: WireGuard handshakes of the hub for node exporter
  hosts: role_vpn_hub
  become: true
  roles:
    - role: {ROLES / "wg_exporter"}
"""
    )
    return path


#: A probe of a service still starting fails with these (refused, half a reply, no key yet).
_wait = partial(wait_for, retry_on=(OSError, ValueError, KeyError))


def _query(expr: str) -> list[dict[str, Any]]:
    url = f"http://{MON}:9090/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    data = _http_json(url)
    assert data["status"] == "success", data
    return data["data"]["result"]


def test_monitoring_role(monlab: MonLab, tmp_path: Path) -> None:
    from dcctl.engines.ansible.inventory import build_inventory
    from dcctl.engines.ansible.runner import run_playbook
    from dcctl.monitoring.ansible import role_vars
    from dcctl.spec import load_spec

    t0 = time.monotonic()

    class Log(list[str]):
        def append(self, line: str) -> None:  # shown as it happens with -s
            print(line, flush=True)
            super().append(line)

    log = Log()
    spec = load_spec(_write_spec(tmp_path / "spec"))
    rv = domain_vars(role_vars, spec, tmp_path / "state", "lab")
    assert not rv.secret
    inventory = build_inventory(spec, None)
    for hv in inventory["_meta"]["hostvars"].values():
        hv["ansible_user"] = "root"  # scratch containers: root with the test's key
    assert inventory["role_monitoring"]["hosts"] == ["kominfo-monitor"]
    assert inventory["role_vpn_hub"]["hosts"] == ["kominfo-hub"]
    playbook = _playbook(tmp_path / "monitoring.yml")

    assert _camera_ready(CAM, 30), "the lab camera is not serving RTSP"
    log.append(f"{time.monotonic() - t0:6.1f} s  lab ready")

    def run(check: bool = False) -> Any:
        started = time.monotonic()
        result = run_playbook(playbook, inventory, extravars=rv.public, check=check,
                              ssh_key=monlab.key, known_hosts=None)  # fmt: skip
        what = "check" if check else "apply"
        log.append(f"{time.monotonic() - t0:6.1f} s  {what} in {time.monotonic() - started:.1f} s:"
                   f" {result.hosts}")  # fmt: skip
        assert result.rc == 0 and result.status == "successful", (what, result)
        for host in ("kominfo-monitor", "kominfo-hub"):
            assert result.hosts[host].failed == 0 and result.hosts[host].unreachable == 0
        return result

    # 1. Check mode on fresh hosts passes and changes nothing on them.
    run(check=True)
    assert "dcctl" not in monlab.exec(f"{P}-mon", "cat", "/etc/prometheus/prometheus.yml")
    # 2. Apply.
    first = run()
    assert first.hosts["kominfo-monitor"].changed > 0

    # 3. Every target up, every probe succeeding.
    def all_up() -> list[dict[str, Any]] | None:
        active = _http_json(f"http://{MON}:9090/api/v1/targets?state=active")["data"]
        targets = active["activeTargets"]
        return targets if targets and all(t["health"] == "up" for t in targets) else None

    targets = _wait("all Prometheus targets up", all_up, 90)
    log.append(f"{time.monotonic() - t0:6.1f} s  {len(targets)} targets up")
    by_name = {(t["labels"]["kind"], t["labels"]["name"]): t["labels"] for t in targets}
    for kind, name, opd in (
        ("node", "kominfo/monitor", "kominfo"),
        ("node", "kominfo/hub", "kominfo"),
        ("camera", "dinkes/cam-lab", "dinkes"),
        ("switch", "sw-lab", "kominfo"),
        ("vpn", "dinkes/pkm-lab", "dinkes"),
        ("prometheus", "kominfo/monitor", "kominfo"),
        ("alertmanager", "kominfo/monitor", "kominfo"),
        ("blackbox", "kominfo/monitor", "kominfo"),
        ("vpn-hub", "kominfo/hub", "kominfo"),
    ):
        assert by_name[(kind, name)]["opd"] == opd, (kind, name)
    assert len(targets) == 9, sorted(by_name)

    def probes_ok(res: list[dict[str, Any]]) -> bool:
        return len(res) == 3 and all(r["value"][1] == "1" for r in res)

    probes = _wait("camera, switch and tunnel probes succeeding",
                   lambda: _query("probe_success"), 60, ok=probes_ok)  # fmt: skip
    assert {r["metric"]["kind"] for r in probes} == {"camera", "switch", "vpn"}
    # The hub's textfile: the office's peer found through its tunnel address.
    hs = _wait("the office's handshake series",
               lambda: _query("wireguard_latest_handshake_seconds"), 60)  # fmt: skip
    assert [(h["metric"]["office"], h["metric"]["opd"], h["metric"]["interface"]) for h in hs] == [
        ("pkm-lab", "dinkes", "wg0")
    ]
    assert hs[0]["value"][1] == "0"  # no office on the other end: never handshaked
    # Rules loaded: one per target plus the handshake and self rules, all with an OPD.
    groups = _http_json(f"http://{MON}:9090/api/v1/rules")["data"]["groups"]
    loaded = [r for g in groups for r in g["rules"]]
    assert loaded and all(r["labels"].get("opd") for r in loaded)
    # The NOC reaches Prometheus and Alertmanager; the blackbox exporter stays local.
    assert _http_json(f"http://{MON}:9093/api/v2/status")["cluster"]["status"] == "disabled"
    with pytest.raises(OSError):
        socket.create_connection((MON, 9115), timeout=3).close()

    # 4. Second apply: nothing changed, nothing restarted.
    pids = {
        u: monlab.exec(f"{P}-mon", "systemctl", "show", "-p", "MainPID", "--value", u)
        for u in ("prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter")
    }
    second = run()
    assert {h: r.changed for h, r in second.hosts.items()} == {
        "kominfo-monitor": 0, "kominfo-hub": 0
    }, second.hosts  # fmt: skip
    for unit, pid in pids.items():
        assert monlab.exec(f"{P}-mon", "systemctl", "show", "-p", "MainPID", "--value", unit) == pid

    # 5. A rules file promtool rejects never replaces the live one.
    live = monlab.exec(f"{P}-mon", "sha256sum", "/etc/prometheus/dcctl.rules.yml")
    broken = json.loads(json.dumps(rv.public))
    broken["monitoring_rules"]["groups"][0]["rules"][0]["expr"] = "up{job= == 0"
    bad = run_playbook(playbook, inventory, extravars=broken, ssh_key=monlab.key, known_hosts=None)
    log.append(f"{time.monotonic() - t0:6.1f} s  broken rules: {bad.hosts['kominfo-monitor']}")
    assert bad.hosts["kominfo-monitor"].failed == 1 and bad.hosts["kominfo-hub"].failed == 0
    assert monlab.exec(f"{P}-mon", "sha256sum", "/etc/prometheus/dcctl.rules.yml") == live
    assert all_up() is not None

    # 6. Stop the camera: CameraDown, labelled with its OPD, within the configured time.
    assert monlab.camera is not None
    monlab.camera.terminate()
    monlab.camera.wait(timeout=10)
    stopped = time.monotonic()

    def camera_alert() -> dict[str, Any] | None:
        url = f"http://{MON}:9093/api/v2/alerts?" + urllib.parse.urlencode(
            {"filter": 'alertname="CameraDown"', "active": "true"}
        )
        alerts = [a for a in _http_json(url) if a["labels"].get("name") == "dinkes/cam-lab"]
        return alerts[0] if alerts else None

    # Budget: the `for` time, plus up to one scrape and one evaluation to notice.
    budget = CAMERA_DOWN_S + 2 * SCRAPE_S + 5
    alert = _wait("CameraDown in Alertmanager", camera_alert, budget + 30, interval=0.5)
    took = time.monotonic() - stopped
    log.append(f"{time.monotonic() - t0:6.1f} s  CameraDown in Alertmanager {took:.1f} s after "
               f"the camera stopped (for: {CAMERA_DOWN_S} s, scrape {SCRAPE_S} s)")  # fmt: skip
    assert alert["labels"]["opd"] == "dinkes" and alert["labels"]["kind"] == "camera"
    assert "Dinas Kesehatan" in alert["annotations"]["summary"]
    assert {r["name"] for r in alert["receivers"]} == {"opd-dinkes", "noc"}
    assert CAMERA_DOWN_S <= took <= budget, f"CameraDown took {took:.1f} s (budget {budget} s)"
    # Nothing else is down (the handshake alert needs a real office, which this lab lacks).
    other = _http_json(f"http://{MON}:9093/api/v2/alerts?active=true")
    assert {a["labels"]["alertname"] for a in other} <= {"CameraDown", "VpnHandshakeStale"}


def test_promtool_and_amtool_accept_the_example_regency(tmp_path: Path) -> None:
    """The example's rules and Alertmanager config, checked by the tools of the image.

    The role checks every file the same way before it is used; this catches a
    generator change without booting a host (promtool is not on the test machine).
    """
    import yaml

    from dcctl.monitoring.ansible import role_vars
    from dcctl.spec import load_spec

    reason = needs("podman", "runc")
    if reason:
        pytest.skip(reason)
    public = domain_vars(role_vars, load_spec(EXAMPLE), Path("/nonexistent"), "lab").public
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(public["monitoring_rules"]))
    (tmp_path / "alertmanager.yml").write_text(
        yaml.safe_dump(public["monitoring_alertmanager_config"])
    )
    check = "promtool check rules /check/rules.yml && amtool check-config /check/alertmanager.yml"
    out = podman("run", "--rm", "--network", "none",
                 "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                 "-v", f"{tmp_path}:/check:ro", lab_image(), "sh", "-c", check,
                 check=False, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout and "rules found" in out.stdout
