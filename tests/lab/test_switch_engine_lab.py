"""The switch engine against lab switches with real forwarding (OVS, namespaces).

Why: the unit tests prove the engine converges the *configuration*; this proves
the configuration it converges to actually forwards what the intent says, across
vendors, over trunks between an IOS and a RouterOS switch.

Topology (every name carries a random prefix; everything is torn down after):

    hostA --Gi1/0/1 [sw1 IOS] Te1/1/1 ==trunk== Te1/1/1 [sw2 IOS] Gi1/0/1-- hostB
                              Te1/1/2                           Gi1/0/2-- hostC
                                 ||     Te1/1/3 ==trunk== XGE0/0/1 [sw4 Huawei VRP]
                                 ||                        GE0/0/1-- hostF, GE0/0/2-- hostG
                              sfp1 [sw3 RouterOS] ether2-- hostD, ether3-- hostE

Hosts share one /24, so only VLANs separate them: A, B, D, F in 110; C, E, G in
120. At factory default the IOS switches put every port into VLAN 1 (A, B, C all
reach each other) and RouterOS forwards nothing; after one apply of the intent
exactly the VLAN peers reach each other, and a second apply pushes nothing. The
VRP switch then drifts (found by a dry run, undone by an apply) and takes a
push that fails halfway (rolled back to its backup), all proven by packets.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import start_switchd, stop_process, write_switchd_config
from tests.lab.conftest import needs

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "lab-" + secrets.token_hex(8)
HOSTS = {
    "A": "10.78.0.1", "B": "10.78.0.2", "C": "10.78.0.3", "D": "10.78.0.4", "E": "10.78.0.5",
    "F": "10.78.0.6", "G": "10.78.0.7",
}  # fmt: skip
FACTORY = {"cisco_ios": "Switch", "mikrotik_routeros": "MikroTik", "huawei_vrp": "HUAWEI"}
VLANS = {"110": "DINKES-SRV", "120": "BAPPEDA-LAN"}

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


def _skip_reason() -> str | None:
    return needs(
        "ovs-vsctl", "ip", "ping", ovs=True,
        modules=("netmiko", "asyncssh", "hier_config", "ntc_templates"),
    )  # fmt: skip


def sh(*argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {proc.returncode}: {proc.stderr.strip()}")
    return proc


def _free_mgmt_subnet() -> ipaddress.IPv4Network:
    """A /24 in 198.18.0.0/15 (benchmarking range) that no route on this host touches."""
    used = []
    for line in sh("ip", "-4", "route", "show", "table", "all").stdout.splitlines():
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
class Lab:
    """Namespaces, veths, OVS bridges and daemons; every creation registers its undo."""

    prefix: str
    root: Path
    mgmt_net: ipaddress.IPv4Network
    cleanups: list[Callable[[], object]] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ips: dict[str, str] = field(default_factory=dict)

    @property
    def mgmt_ns(self) -> str:
        return f"{self.prefix}mg"

    def host_ns(self, host: str) -> str:
        return f"{self.prefix}h{host}"

    def mgmt_ip(self, n: int) -> str:
        return str(self.mgmt_net.network_address + n)

    def netns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.cleanups.append(lambda: sh("ip", "netns", "del", name, check=False))
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def veth(self, a: str, b: str, b_ns: str | None = None) -> None:
        peer = ["netns", b_ns] if b_ns else []
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b, *peer)
        self.cleanups.append(lambda: sh("ip", "link", "del", a, check=False))
        sh("ip", "link", "set", a, "up")
        sh(*(["ip", "-n", b_ns] if b_ns else ["ip"]), "link", "set", b, "up")

    def bridge(self, name: str, ports: list[str]) -> None:
        sh("ovs-vsctl", "--timeout=10", "add-br", name, "--", "set", "bridge", name,
           "datapath_type=netdev")  # fmt: skip
        self.cleanups.append(
            lambda: sh("ovs-vsctl", "--timeout=10", "--if-exists", "del-br", name, check=False)
        )
        for port in ports:
            sh("ovs-vsctl", "--timeout=10", "add-port", name, port)

    def host(self, host: str, bridge_port: str) -> None:
        ns = self.host_ns(host)
        self.netns(ns)
        self.veth(bridge_port, "eth0", ns)
        sh("ip", "-n", ns, "addr", "add", f"{HOSTS[host]}/24", "dev", "eth0")

    def switch(self, name: str, vendor: str, bridge: str, ports: dict[str, str], ip: str) -> None:
        """Write the daemon config and start it in the management namespace."""
        state = self.root / name
        state.mkdir(parents=True)
        path = write_switchd_config(
            self.root / f"{name}.json",
            name=FACTORY[vendor],
            vendor=vendor,
            bridge=bridge,
            ports=ports,
            listen=ip,
            port=22,
            password_file=self.root / "password",
            state_dir=state,
        )
        self.procs[name] = start_switchd(name, path, state, ip, 22, netns=self.mgmt_ns)
        self.ips[name] = ip
        self.cleanups.append(lambda: self.stop(name))

    def stop(self, name: str) -> None:
        stop_process(self.procs.pop(name, None))

    def ping(self, src: str, dst: str, tries: int = 3) -> bool:
        for _ in range(tries):
            proc = sh(
                "ip", "netns", "exec", self.host_ns(src), "ping", "-c1", "-W1", "-q", HOSTS[dst],
                check=False, timeout=10,
            )  # fmt: skip
            if proc.returncode == 0:
                return True
        return False

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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    p = "se" + secrets.token_hex(2)
    root = tmp_path_factory.mktemp("switch-engine-lab")
    (root / "password").write_text(PASSWORD + "\n")
    os.chmod(root / "password", 0o600)
    lab = Lab(p, root, _free_mgmt_subnet())
    try:
        lab.netns(lab.mgmt_ns)
        lab.veth(f"{p}m0", f"{p}m1", lab.mgmt_ns)
        plen = lab.mgmt_net.prefixlen
        sh("ip", "addr", "add", f"{lab.mgmt_ip(1)}/{plen}", "dev", f"{p}m0")
        for n in (11, 12, 13, 14):
            sh("ip", "-n", lab.mgmt_ns, "addr", "add", f"{lab.mgmt_ip(n)}/{plen}",
               "dev", f"{p}m1")  # fmt: skip
        lab.veth(f"{p}f1", f"{p}f2")  # sw1 Te1/1/1 <-> sw2 Te1/1/1
        lab.veth(f"{p}g1", f"{p}g2")  # sw1 Te1/1/2 <-> sw3 sfp1
        lab.veth(f"{p}k1", f"{p}k2")  # sw1 Te1/1/3 <-> sw4 XGE0/0/1
        for host in HOSTS:
            lab.host(host, f"{p}{host.lower()}")
        ports = {
            "sw1": {
                "GigabitEthernet1/0/1": f"{p}a",
                "TenGigabitEthernet1/1/1": f"{p}f1",
                "TenGigabitEthernet1/1/2": f"{p}g1",
                "TenGigabitEthernet1/1/3": f"{p}k1",
            },
            "sw2": {
                "GigabitEthernet1/0/1": f"{p}b",
                "GigabitEthernet1/0/2": f"{p}c",
                "TenGigabitEthernet1/1/1": f"{p}f2",
            },
            "sw3": {"sfp1": f"{p}g2", "ether2": f"{p}d", "ether3": f"{p}e"},
            "sw4": {
                "XGigabitEthernet0/0/1": f"{p}k2",
                "GigabitEthernet0/0/1": f"{p}f",
                "GigabitEthernet0/0/2": f"{p}g",
            },
        }
        vendors = {
            "sw1": "cisco_ios", "sw2": "cisco_ios", "sw3": "mikrotik_routeros", "sw4": "huawei_vrp"
        }  # fmt: skip
        for i, (name, pmap) in enumerate(ports.items(), 1):
            lab.bridge(f"{p}s{i}", list(pmap.values()))
            lab.switch(name, vendors[name], f"{p}s{i}", pmap, lab.mgmt_ip(10 + i))
        yield lab
    finally:
        lab.close()


def intents(lab: Lab) -> dict[str, dict[str, Any]]:
    """The intent for the topology above, in `desired_state()["switches"]` form."""

    def access(vlan: int, what: str) -> dict[str, Any]:
        return {"mode": "access", "vlan": vlan, "description": what}

    def trunk(what: str) -> dict[str, Any]:
        return {"mode": "trunk", "trunk_vlans": [110, 120], "description": what}

    def sw(vendor: str, name: str, ports: dict[str, Any]) -> dict[str, Any]:
        return {
            "vendor": vendor,
            "mgmt_address": lab.ips[name],
            "managed": "partial",
            "vlans": dict(VLANS),
            "ports": ports,
        }

    return {
        "sw1": sw("cisco_ios", "sw1", {
            "GigabitEthernet1/0/1": access(110, "host A"),
            "TenGigabitEthernet1/1/1": trunk("FO sw2"),
            "TenGigabitEthernet1/1/2": trunk("FO sw3"),
            "TenGigabitEthernet1/1/3": trunk("FO sw4"),
        }),
        "sw2": sw("cisco_ios", "sw2", {
            "GigabitEthernet1/0/1": access(110, "host B"),
            "GigabitEthernet1/0/2": access(120, "host C"),
            "TenGigabitEthernet1/1/1": trunk("FO sw1"),
        }),
        "sw3": sw("mikrotik_routeros", "sw3", {
            "sfp1": trunk("FO sw1"),
            "ether2": access(110, "host D"),
            "ether3": access(120, "host E"),
        }),
        "sw4": sw("huawei_vrp", "sw4", {
            "XGigabitEthernet0/0/1": trunk("FO sw1"),
            "GigabitEthernet0/0/1": access(110, "host F"),
            "GigabitEthernet0/0/2": access(120, "host G"),
        }),
    }  # fmt: skip


def test_engine_apply_gives_vlan_reachability_and_is_idempotent(lab: Lab, tmp_path: Path) -> None:
    from dcctl.engines.switches.engine import SwitchTarget, change_all

    assert lab.ping("A", "C"), "factory default: IOS ports all in VLAN 1"
    assert not lab.ping("D", "E", tries=1), "factory default: RouterOS forwards nothing"
    want = intents(lab)
    targets = [
        SwitchTarget(name, intent, lab.ips[name], "admin", PASSWORD)
        for name, intent in want.items()
    ]
    managed = set(range(100, 900))
    first = change_all(targets, managed, tmp_path / "backups", workers=4)
    assert {r.name: r.status for r in first} == dict.fromkeys(want, "changed"), first
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == [
        "sw1.cfg", "sw2.cfg", "sw3.cfg", "sw4.cfg",
    ]  # fmt: skip

    same_vlan = [("A", "B"), ("A", "D"), ("B", "D"), ("C", "E"), ("A", "F"), ("E", "G")]
    other_vlan = [("A", "C"), ("D", "E"), ("B", "E"), ("A", "E"), ("F", "G"), ("A", "G")]
    for a, b in same_vlan:
        assert lab.ping(a, b), f"{a} and {b} share a VLAN across the trunks"
    for a, b in other_vlan:
        assert not lab.ping(a, b, tries=2), f"{a} and {b} are in different VLANs"

    second = change_all(targets, managed, tmp_path / "backups", workers=4)
    assert {r.name: (r.status, r.lines) for r in second} == dict.fromkeys(want, ("unchanged", []))
    assert all(lab.ping(a, b) for a, b in same_vlan)


def test_vrp_switch_drift_is_undone_and_a_failed_push_rolls_back(lab: Lab, tmp_path: Path) -> None:
    """Huawei VRP in the lab: drift found and undone, a half push rolled back; by packets."""
    import json

    from netmiko import ConnectHandler

    from dcctl.engines.switches.engine import SwitchTarget, change_all

    want = intents(lab)["sw4"]
    target = SwitchTarget("sw4", want, lab.ips["sw4"], "admin", PASSWORD)
    managed = set(range(100, 900))
    assert change_all([target], managed, tmp_path / "b")[0].ok  # whatever ran before
    assert lab.ping("A", "F") and not lab.ping("F", "G", tries=1)

    # Drift: someone moves host F's port into VLAN 120 by hand.
    conn = ConnectHandler(device_type="huawei", host=lab.ips["sw4"], username="admin",
                          password=PASSWORD, fast_cli=True)  # fmt: skip
    try:
        conn.send_config_set(["interface GigabitEthernet0/0/1", "port default vlan 120"])
    finally:
        conn.disconnect()
    assert lab.ping("F", "G") and not lab.ping("A", "F", tries=1), "the drift forwards"
    [plan] = change_all([target], managed, None, dry_run=True)
    assert plan.status == "planned" and "port default vlan 110" in plan.lines, plan
    [fixed] = change_all([target], managed, tmp_path / "b")
    assert fixed.status == "changed", fixed
    assert lab.ping("A", "F") and not lab.ping("F", "G", tries=1), "drift undone"

    # A push that fails halfway: the description goes in, the VLAN move is refused.
    moved = json.loads(json.dumps(want))
    moved["ports"]["GigabitEthernet0/0/2"] = {"mode": "access", "vlan": 110, "description": "moved"}
    faults = lab.root / "sw4" / "faults.json"
    faults.write_text(json.dumps({"reject": [r"^port default vlan 110$"]}))
    try:
        bad = SwitchTarget("sw4", moved, lab.ips["sw4"], "admin", PASSWORD)
        [res] = change_all([bad], managed, tmp_path / "b", retries=0)
    finally:
        faults.unlink()
    assert res.status == "rolled_back", res
    assert "Error:" in (res.error or "") and "port default vlan 110" in (res.error or "")
    [again] = change_all([target], managed, None, dry_run=True)
    assert (again.status, again.lines) == ("unchanged", []), "the description is back too"
    assert lab.ping("E", "G") and not lab.ping("F", "G", tries=1), "forwarding as before"
