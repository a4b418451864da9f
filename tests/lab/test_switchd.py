"""Lab tests of switchd: real OVS forwarding configured through netmiko over SSH.

Topology (every name carries a random prefix, everything is torn down after):

    hostA --Gi1/0/1 [sw1 IOS] Te1/1/1 ==fiber== Te1/1/1 [sw2 IOS] Gi1/0/1-- hostB
                              Te1/1/2                            Gi1/0/2-- hostC
                                 ||
                              ether1 [sw3 RouterOS] ether2-- hostD, ether3-- hostE

Hosts share one /24, so only VLANs separate them: A, B, D in 110; C, E in 120.
The daemons run in a management namespace joined to the root namespace by a
veth; the test connects to their management addresses from the root namespace.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import start_switchd, stop_process, write_switchd_config
from tests.lab.conftest import needs

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "lab-" + secrets.token_hex(6)
HOSTS = {"A": "10.77.0.1", "B": "10.77.0.2", "C": "10.77.0.3", "D": "10.77.0.4", "E": "10.77.0.5"}

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


def _skip_reason() -> str | None:
    return needs("ovs-vsctl", "ovs-ofctl", "ip", "ping", ovs=True, modules=("netmiko", "asyncssh"))


def sh(*argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {proc.returncode}: {proc.stderr.strip()}")
    return proc


def _free_mgmt_subnet() -> ipaddress.IPv4Network:
    """A /24 in 198.18.0.0/15 (benchmarking range) no route on this host touches."""
    routes = sh("ip", "-4", "route", "show", "table", "all").stdout
    used = []
    for line in routes.splitlines():
        word = line.split()[0] if line.split() else ""
        if word[:1].isdigit():
            with contextlib.suppress(ValueError):
                used.append(ipaddress.ip_network(word, strict=False))
    for _ in range(100):
        net = ipaddress.ip_network(f"198.{18 + secrets.randbelow(2)}.{secrets.randbelow(256)}.0/24")
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise RuntimeError("no free management subnet in 198.18.0.0/15")


@dataclass
class SwitchProc:
    name: str
    vendor: str
    bridge: str
    ports: dict[str, str]
    ip: str
    config_path: Path
    state_dir: Path
    proc: subprocess.Popen[bytes] | None = None

    def netmiko(self, **extra: Any) -> Any:
        from netmiko import ConnectHandler

        params: dict[str, Any] = {
            "device_type": self.vendor,
            "host": self.ip,
            "username": "admin",
            "password": PASSWORD,
            "secret": PASSWORD,
            "conn_timeout": 10,
            "auth_timeout": 10,
            "banner_timeout": 10,
        }
        params.update(extra)
        conn = ConnectHandler(**params)
        if self.vendor == "cisco_ios":
            conn.enable()
        return conn

    def faults(self, **knobs: Any) -> None:
        path = self.state_dir / "faults.json"
        if knobs:
            path.write_text(json.dumps(knobs))
        else:
            path.unlink(missing_ok=True)


@dataclass
class Lab:
    prefix: str
    root: Path
    mgmt_net: ipaddress.IPv4Network
    cleanups: list[Callable[[], object]] = field(default_factory=list)
    switches: dict[str, SwitchProc] = field(default_factory=dict)
    factory_tags: dict[str, str] = field(default_factory=dict)  # OVS tag per port after boot

    @property
    def mgmt_ns(self) -> str:
        return f"{self.prefix}mg"

    def host_ns(self, host: str) -> str:
        return f"{self.prefix}h{host}"

    def mgmt_ip(self, n: int) -> str:
        return str(self.mgmt_net.network_address + n)

    # -- building --------------------------------------------------------------

    def netns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.cleanups.append(lambda: sh("ip", "netns", "del", name, check=False))
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def veth(self, a: str, b: str, b_ns: str | None = None) -> None:
        """veth a (root namespace) <-> b (root or b_ns), both up."""
        peer = ["netns", b_ns] if b_ns else []
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, *peer)
        self.cleanups.append(lambda: sh("ip", "link", "del", a, check=False))
        sh("ip", "link", "set", a, "up")
        if b_ns:
            sh("ip", "-n", b_ns, "link", "set", b, "up")
        else:
            sh("ip", "link", "set", b, "up")

    def bridge(self, name: str) -> None:
        sh("ovs-vsctl", "--timeout=10", "add-br", name, "--", "set", "bridge", name,
           "datapath_type=netdev")  # fmt: skip
        self.cleanups.append(
            lambda: sh("ovs-vsctl", "--timeout=10", "--if-exists", "del-br", name, check=False)
        )

    def fresh_ports(self, sw: SwitchProc) -> None:
        """Re-create the switch's OVS ports with OVS defaults, as a lab rebuild does."""
        for port in sw.ports.values():
            sh("ovs-vsctl", "--timeout=10", "--if-exists", "del-port", sw.bridge, port)
            sh("ovs-vsctl", "--timeout=10", "add-port", sw.bridge, port)
            sh("ip", "link", "set", port, "up")

    def host(self, host: str, bridge_port: str) -> None:
        ns = self.host_ns(host)
        self.netns(ns)
        self.veth(bridge_port, "eth0", ns)
        sh("ip", "-n", ns, "addr", "add", f"{HOSTS[host]}/24", "dev", "eth0")

    # -- daemons ---------------------------------------------------------------

    def add_switch(
        self, name: str, vendor: str, bridge: str, ports: dict[str, str], ip: str
    ) -> SwitchProc:
        state = self.root / name
        state.mkdir(parents=True)
        path = write_switchd_config(
            self.root / f"{name}.json",
            name=name,
            vendor=vendor,
            bridge=bridge,
            ports=ports,
            listen=ip,
            port=22,
            password_file=self.root / "password",
            state_dir=state,
        )
        sw = SwitchProc(name, vendor, bridge, ports, ip, path, state)
        self.switches[name] = sw
        self.cleanups.append(lambda: self.stop(sw, signal.SIGKILL))
        return sw

    def start(self, sw: SwitchProc) -> None:
        sw.proc = start_switchd(
            sw.name, sw.config_path, sw.state_dir, sw.ip, 22, netns=self.mgmt_ns
        )

    def stop(self, sw: SwitchProc, sig: signal.Signals = signal.SIGTERM) -> None:
        proc, sw.proc = sw.proc, None
        stop_process(proc, sig)

    # -- probes ----------------------------------------------------------------

    def ping(self, src: str, dst: str, tries: int = 3) -> bool:
        for _ in range(tries):
            proc = sh(
                "ip", "netns", "exec", self.host_ns(src), "ping", "-c1", "-W1", "-q", HOSTS[dst],
                check=False, timeout=10,
            )  # fmt: skip
            if proc.returncode == 0:
                return True
        return False

    def isolated(self, src: str, dst: str) -> bool:
        return not self.ping(src, dst, tries=2)

    def port_column(self, port: str, column: str) -> str:
        return sh("ovs-vsctl", "--timeout=10", "get", "port", port, column).stdout.strip()

    def close(self) -> None:
        errors = []
        for undo in reversed(self.cleanups):
            try:
                undo()
            except Exception as exc:  # keep tearing down; report at the end
                errors.append(exc)
        self.cleanups.clear()
        if errors:
            raise RuntimeError(f"lab cleanup errors: {errors}")


IOS_BASE = {
    "sw1": [
        "vlan 110", " name DINKES-SRV", "vlan 120", " name BAPPEDA",
        "interface GigabitEthernet1/0/1", " switchport mode access",
        " switchport access vlan 110", " no shutdown",
        "interface TenGigabitEthernet1/1/1", " switchport mode trunk",
        " switchport trunk allowed vlan 110,120", " no shutdown",
        "interface TenGigabitEthernet1/1/2", " switchport mode trunk",
        " switchport trunk allowed vlan 110,120", " no shutdown",
    ],
    "sw2": [
        "vlan 110", " name DINKES-SRV", "vlan 120", " name BAPPEDA",
        "interface Gi1/0/1", " switchport mode access", " switchport access vlan 110",
        " no shutdown",
        "interface Gi1/0/2", " switchport mode access", " switchport access vlan 120",
        " no shutdown",
        "interface Te1/1/1", " switchport mode trunk", " switchport trunk allowed vlan 110,120",
        " no shutdown",
    ],
}  # fmt: skip
ROS_BASE = [
    "/interface bridge vlan remove [find]",
    "/interface bridge port remove [find]",
    "/interface ethernet enable [find]",
    "/interface bridge port add bridge=bridge1 interface=ether1 frame-types=admit-only-vlan-tagged",
    '/interface bridge port add bridge=bridge1 interface=ether2 pvid=110 comment="hostD"',
    "/interface bridge port add bridge=bridge1 interface=ether3 pvid=120",
    "/interface bridge vlan",
    "add bridge=bridge1 vlan-ids=110 tagged=ether1 untagged=ether2 comment=DINKES-SRV",
    "add bridge=bridge1 vlan-ids=120 tagged=ether1 untagged=ether3",
    "/",
]


def configure(sw: SwitchProc, commands: list[str], save: bool = False) -> str:
    conn = sw.netmiko()
    try:
        out: str = conn.send_config_set(commands, read_timeout=20)
        if save:
            out += conn.save_config()
        return out
    finally:
        conn.disconnect()


def baseline(lab: Lab) -> None:
    for name, cmds in IOS_BASE.items():
        out = configure(lab.switches[name], cmds)
        assert "%" not in out, out
    out = configure(lab.switches["sw3"], ROS_BASE)
    assert "failure" not in out and "error" not in out, out


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    p = "sd" + secrets.token_hex(2)
    root = tmp_path_factory.mktemp("switchd-lab")
    (root / "password").write_text(PASSWORD + "\n")
    os.chmod(root / "password", 0o600)
    lab = Lab(p, root, _free_mgmt_subnet())
    try:
        # management: root namespace <-> mgmt namespace, daemons listen there
        lab.netns(lab.mgmt_ns)
        lab.veth(f"{p}m0", f"{p}m1", lab.mgmt_ns)
        prefix = lab.mgmt_net.prefixlen
        sh("ip", "addr", "add", f"{lab.mgmt_ip(1)}/{prefix}", "dev", f"{p}m0")
        for n in (11, 12, 13):
            sh("ip", "-n", lab.mgmt_ns, "addr", "add", f"{lab.mgmt_ip(n)}/{prefix}",
               "dev", f"{p}m1")  # fmt: skip
        # data plane
        for b in ("s1", "s2", "s3"):
            lab.bridge(f"{p}{b}")
        lab.veth(f"{p}f1", f"{p}f2")  # sw1 Te1/1/1 <-> sw2 Te1/1/1
        lab.veth(f"{p}g1", f"{p}g2")  # sw1 Te1/1/2 <-> sw3 ether1
        for host in HOSTS:
            lab.host(host, f"{p}{host.lower()}")
        sw1 = lab.add_switch("sw1", "cisco_ios", f"{p}s1", {
            "GigabitEthernet1/0/1": f"{p}a",
            "TenGigabitEthernet1/1/1": f"{p}f1",
            "TenGigabitEthernet1/1/2": f"{p}g1",
        }, lab.mgmt_ip(11))  # fmt: skip
        sw2 = lab.add_switch("sw2", "cisco_ios", f"{p}s2", {
            "GigabitEthernet1/0/1": f"{p}b",
            "GigabitEthernet1/0/2": f"{p}c",
            "TenGigabitEthernet1/1/1": f"{p}f2",
        }, lab.mgmt_ip(12))  # fmt: skip
        sw3 = lab.add_switch("sw3", "mikrotik_routeros", f"{p}s3", {
            "ether1": f"{p}g2", "ether2": f"{p}d", "ether3": f"{p}e",
        }, lab.mgmt_ip(13))  # fmt: skip
        for sw in (sw1, sw2, sw3):
            for port in sw.ports.values():
                sh("ovs-vsctl", "--timeout=10", "add-port", sw.bridge, port)
            lab.start(sw)
        for sw in (sw1, sw2, sw3):
            for port in sw.ports.values():
                lab.factory_tags[port] = lab.port_column(port, "tag")
        yield lab
    finally:
        lab.close()


@pytest.fixture
def base(lab: Lab) -> Lab:
    for sw in lab.switches.values():
        sw.faults()
        if sw.proc is None or sw.proc.poll() is not None:
            lab.start(sw)
    baseline(lab)
    return lab


# --------------------------------------------------------------------------


def test_factory_default(lab: Lab) -> None:
    """IOS boots every port into access VLAN 1; RouterOS ports are outside any bridge."""
    for name in ("sw1", "sw2"):
        for port in lab.switches[name].ports.values():
            assert lab.factory_tags[port] == "1", port
    for port in lab.switches["sw3"].ports.values():
        assert lab.factory_tags[port] == "4095", port  # parked: forwards nothing


def test_vlans_separate_hosts_on_one_subnet(base: Lab) -> None:
    p = base.prefix
    assert base.port_column(f"{p}a", "tag") == "110"
    assert base.port_column(f"{p}f1", "trunks") == "[110, 120]"
    assert base.ping("A", "B"), "A and B share VLAN 110 across the sw1-sw2 trunk"
    assert base.isolated("A", "C"), "C is in VLAN 120"
    assert base.isolated("B", "C")


def test_removing_vlan_from_trunk_cuts_traffic(base: Lab) -> None:
    sw1 = base.switches["sw1"]
    assert base.ping("A", "B")
    out = configure(sw1, ["interface Te1/1/1", "switchport trunk allowed vlan remove 110"])
    assert "%" not in out
    assert base.isolated("A", "B")
    configure(sw1, ["interface Te1/1/1", "switchport trunk allowed vlan add 110"])
    assert base.ping("A", "B")


def test_deleted_vlan_and_shutdown_stop_forwarding(base: Lab) -> None:
    sw2 = base.switches["sw2"]
    configure(sw2, ["no vlan 110"])
    assert base.isolated("A", "B"), "B's access VLAN no longer exists: port inactive"
    conn = sw2.netmiko()
    try:
        status = conn.send_command("show interfaces status", use_textfsm=True)
        assert {r["port"]: r["status"] for r in status}["Gi1/0/1"] == "inactive"
    finally:
        conn.disconnect()
    configure(sw2, ["vlan 110", " name DINKES-SRV"])
    assert base.ping("A", "B")
    configure(base.switches["sw1"], ["interface Gi1/0/1", "shutdown"])
    assert base.isolated("A", "B")
    configure(base.switches["sw1"], ["interface Gi1/0/1", "no shutdown"])
    assert base.ping("A", "B")


def test_write_memory_survives_restart_unsaved_is_lost(base: Lab) -> None:
    sw1 = base.switches["sw1"]
    p = base.prefix
    out = configure(sw1, [], save=True)
    assert "[OK]" in out
    configure(sw1, ["interface Gi1/0/1", "shutdown"])  # never saved
    assert base.isolated("A", "B")

    base.stop(sw1, signal.SIGKILL)
    base.fresh_ports(sw1)
    assert base.port_column(f"{p}a", "tag") == "[]"
    assert base.port_column(f"{p}f1", "trunks") == "[]"
    base.start(sw1)

    assert base.port_column(f"{p}a", "tag") == "110"
    assert base.port_column(f"{p}f1", "trunks") == "[110, 120]"
    assert base.ping("A", "B"), "startup-config restored, unsaved shutdown lost"
    conn = sw1.netmiko()
    try:
        run = conn.send_command("show running-config")
    finally:
        conn.disconnect()
    block = run.split("interface GigabitEthernet1/0/1\n", 1)[1].split("!", 1)[0]
    assert "shutdown" not in block
    assert " switchport access vlan 110" in block


def test_fault_drop_after_breaks_the_session(base: Lab) -> None:
    from netmiko.exceptions import ReadException, ReadTimeout

    sw2 = base.switches["sw2"]
    conn = sw2.netmiko()  # terminal width, terminal length, enable: 3 commands
    try:
        sw2.faults(drop_after=4)
        assert "uptime is" in conn.send_command("show version")
        with pytest.raises((OSError, EOFError, ReadException, ReadTimeout)):
            conn.send_command("show vlan brief", read_timeout=5)
    finally:
        sw2.faults()
        with contextlib.suppress(Exception):
            conn.disconnect()
    sw2.faults(drop_after=0)
    try:
        with pytest.raises(Exception):  # noqa: B017 - netmiko wraps this differently per phase
            sw2.netmiko(conn_timeout=5)
    finally:
        sw2.faults()


def test_fault_reject_answers_invalid_input(base: Lab) -> None:
    sw2 = base.switches["sw2"]
    sw2.faults(reject=[r"^switchport access vlan 110$"])
    try:
        out = configure(sw2, ["interface Gi1/0/2", "switchport access vlan 110"])
    finally:
        sw2.faults()
    assert "% Invalid input detected at '^' marker." in out
    assert base.isolated("A", "C"), "the rejected command did nothing"


def test_fault_delay_slows_answers(base: Lab) -> None:
    from netmiko.exceptions import ReadTimeout

    sw2 = base.switches["sw2"]
    conn = sw2.netmiko()
    try:
        sw2.faults(delay=1.5)
        start = time.monotonic()
        assert "uptime is" in conn.send_command("show version")
        assert time.monotonic() - start >= 1.5
        with pytest.raises(ReadTimeout):
            conn.send_command("show vlan brief", read_timeout=0.5)
    finally:
        sw2.faults()
        with contextlib.suppress(Exception):
            conn.disconnect()


def test_mikrotik_access_trunk_and_persistence(base: Lab) -> None:
    sw3 = base.switches["sw3"]
    p = base.prefix
    assert base.port_column(f"{p}d", "tag") == "110"
    assert base.port_column(f"{p}g2", "trunks") == "[110, 120]"
    assert base.ping("D", "A"), "110: sw3 ether2 -> trunk -> sw1 Gi1/0/1"
    assert base.ping("E", "C"), "120: sw3 -> sw1 -> sw2"
    assert base.isolated("D", "E")
    assert base.isolated("D", "C")

    conn = sw3.netmiko()
    try:
        vlans = conn.send_command("/interface bridge vlan print")
        assert "Columns: BRIDGE, VLAN-IDS" in vlans
        assert "110" in vlans and "120" in vlans
        out = conn.send_command('/interface bridge vlan set [find vlan-ids=110] tagged=""')
        assert out.strip() == ""
        assert base.isolated("D", "A")
        conn.send_command("/interface bridge vlan set [find vlan-ids=110] tagged=ether1")
        assert base.ping("D", "A")
        bad = conn.send_command("/interface bridge vlna print")
        assert bad.strip() == "bad command name vlna (line 1 column 19)"
    finally:
        conn.disconnect()

    # RouterOS persists every change: no save, kill, rebuild ports, restart
    configure(sw3, ["/interface ethernet set [find default-name=ether3] disabled=yes"])
    assert base.isolated("E", "C")
    base.stop(sw3, signal.SIGKILL)
    base.fresh_ports(sw3)
    base.start(sw3)
    assert base.port_column(f"{p}d", "tag") == "110"
    assert base.ping("D", "A")
    assert base.isolated("E", "C"), "ether3 stays disabled after the restart"


def test_mikrotik_reject_fault(base: Lab) -> None:
    sw3 = base.switches["sw3"]
    sw3.faults(reject=["pvid=130"])
    try:
        out = configure(sw3, ["/interface bridge port set [find interface=ether2] pvid=130"])
    finally:
        sw3.faults()
    assert "failure:" in out
    assert base.ping("D", "A")
