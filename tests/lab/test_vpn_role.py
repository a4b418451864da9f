"""The vpn_hub and vpn_office roles against real containers: a tunnel, isolation, rotation.

Why scratch containers and not the full lab: the behaviour under test is the
roles' (wg-quick under systemd with wireguard-go, the hub's nftables table,
handlers on key rotation), and a private set of namespaces in 172.31.10.0/24
lets this run next to someone else's full lab. Every name starts with ``hvpn``;
``tests.netns`` removes it all afterwards, even when the test fails. The layout:

    root ns: bridge hvpnbr 172.31.10.1/26 ("WAN", and how Ansible reaches everyone)
      hub     container in ns hvpn-hub  eth0 .2   (+ DC legs to the two OPD servers)
      office1 container in ns hvpn-o1   eth0 .3   LAN 172.31.10.128/28 (+ LAN host ns)
      office2 container in ns hvpn-o2   eth0 .4
    OPD A server ns hvpn-sa 172.31.10.66/30 behind the hub (.65)
    OPD B server ns hvpn-sb 172.31.10.70/30 behind the hub (.69)
    tunnel pool 172.31.10.192/28, hub .193, office1 .194, office2 .195
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dcctl.engines.ansible.runner import PlaybookResult, run_playbook
from dcctl.lab import host, net
from dcctl.vpn.ansible import HUB_INTERFACE, OFFICE_INTERFACE, Peer, build_role_vars
from dcctl.vpn.keystore import HUB, KeyStore, keystore_path
from tests.lab.conftest import lab_image, needs, start_host
from tests.netns import End, Netns, exec_in

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "playbooks" / "roles"
P = "hvpn"
BRIDGE = f"{P}br"
ROOT_IP = "172.31.10.1"
HUB_IP = "172.31.10.2"
SERVER_A = "172.31.10.66"
SERVER_B = "172.31.10.70"
LAN_HOST = "172.31.10.130"
HUB_FACTS: dict[str, Any] = {
    "vm": "opda/vpn-gw",
    "endpoint": f"{HUB_IP}:51820",
    "listen_port": 51820,
    "tunnel_pool": "172.31.10.192/28",
    "address": "172.31.10.193",
    "cidr": "172.31.10.193/28",
}
OFFICES = {
    "opda/office1": ("172.31.10.3", "172.31.10.194", "172.31.10.128/28", "172.31.10.64/30"),
    "opdb/office2": ("172.31.10.4", "172.31.10.195", "172.31.10.144/28", "172.31.10.68/30"),
}
CONTAINERS = {"hub": f"{P}-hub", "opda/office1": f"{P}-o1", "opdb/office2": f"{P}-o2"}
NAMESPACES = [f"{P}-hub", f"{P}-o1", f"{P}-o2", f"{P}-sa", f"{P}-sb", f"{P}-h1"]
PLAYBOOK = f"""---
- name: WireGuard hub
  hosts: role_vpn_hub
  become: true
  roles:
    - role: {ROLES / "vpn_hub"}
      vars:
        vpn_hub_install_packages: false
- name: WireGuard offices
  hosts: vpn_office
  become: true
  roles:
    - role: {ROLES / "vpn_office"}
      vars:
        vpn_office_install_packages: false
"""


def skip_reason() -> str | None:
    return needs("ip", "podman", "ssh-keygen")


def wire(n: Netns, ssh_pub: str, image: str) -> None:
    for ns in NAMESPACES:
        n.netns(ns)
    n.bridge(BRIDGE, addrs=[f"{ROOT_IP}/26"])
    wan = {f"{P}-hub": HUB_IP, f"{P}-o1": "172.31.10.3", f"{P}-o2": "172.31.10.4"}
    for i, (ns, addr) in enumerate(wan.items()):
        n.veth(End(f"{P}w{i}", master=BRIDGE), End("eth0", ns, [f"{addr}/26"]))
    # The hub's data-center legs: one /30 per OPD server.
    for leg, srv_ns, hub_addr, srv_addr in (
        ("a", f"{P}-sa", "172.31.10.65/30", f"{SERVER_A}/30"),
        ("b", f"{P}-sb", "172.31.10.69/30", f"{SERVER_B}/30"),
    ):
        n.veth(End(f"dc{leg}", f"{P}-hub", [hub_addr]), End("eth0", srv_ns, [srv_addr]))
        n.ip(srv_ns, "route", "add", "default", "via", hub_addr.split("/")[0])
    # Office 1's LAN with one host behind the router.
    n.veth(End("lan", f"{P}-o1", ["172.31.10.129/28"]), End("eth0", f"{P}-h1", [f"{LAN_HOST}/28"]))
    n.ip(f"{P}-h1", "route", "add", "default", "via", "172.31.10.129")
    for ns in (f"{P}-hub", f"{P}-o1"):
        net.sysctl_set(ns, "net.ipv4.ip_forward", "1")
    with ThreadPoolExecutor(3) as pool:  # boots overlap
        list(pool.map(lambda ns: start_host(ns, ns, image, ssh_pub),
                      (f"{P}-hub", f"{P}-o1", f"{P}-o2")))  # fmt: skip
    for addr in wan.values():
        wait_ssh(addr)


def pexec(name: str, *argv: str, stdin: str | None = None, check: bool = True) -> str:
    out = subprocess.run(
        ["podman", "exec", *(["-i"] if stdin is not None else []), name, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )
    return out.stdout


def wait_ssh(addr: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, 22), timeout=2) as s:
                if s.recv(8).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"no SSH on {addr}")


def ping(ns: str, addr: str, count: int = 1, wait: int = 2) -> bool:
    argv = ["ping", "-n", "-q", "-c", str(count), "-W", str(wait), addr]
    return exec_in(ns, *argv, check=False, timeout=30).returncode == 0


def ping_eventually(ns: str, addr: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(ns, addr):
            return True
    return False


def handshakes(container: str, ifname: str) -> dict[str, int]:
    out = pexec(container, "wg", "show", ifname, "latest-handshakes")
    return {line.split()[0]: int(line.split()[1]) for line in out.splitlines() if line.strip()}


@dataclass
class Scratch:
    tmp: Path
    ssh_key: Path
    state_dir: Path
    store: KeyStore
    events: list[dict[str, Any]]

    def peers(self) -> list[Peer]:
        out = []
        for key, (wan, tunnel, lan, allowed) in OFFICES.items():
            opd, _, name = key.partition("/")
            pub = self.store.public_key(key)
            out.append(Peer(key, opd, name, "linux", wan, tunnel, lan, (allowed,), pub))
        return out

    def apply(self) -> PlaybookResult:
        rv = build_role_vars(HUB_FACTS, self.peers(), self.store)
        hostvars = {
            "vpn-gw": {"ansible_host": HUB_IP, "ansible_user": "dcctl"},
            **rv.hosts,
        }
        inventory: dict[str, Any] = {
            "_meta": {"hostvars": hostvars},
            "role_vpn_hub": {"hosts": ["vpn-gw"]},
            **{g: {"hosts": hs} for g, hs in rv.groups.items()},
        }
        playbook = self.tmp / "vpn.yml"
        playbook.write_text(PLAYBOOK)
        return run_playbook(
            playbook,
            inventory,
            extravars={**rv.public, **rv.secret},
            ssh_key=self.ssh_key,
            on_event=self.events.append,
            known_hosts=None,
        )


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    image = lab_image()
    # What `lab up` does for its machines (wireguard-go needs inotify instances).
    host.acquire(P)
    tmp = Path(tempfile.mkdtemp(prefix="hvpn-"))
    old = os.environ.get("DCCTL_PASSPHRASE")
    os.environ["DCCTL_PASSPHRASE"] = base64.b64encode(os.urandom(18)).decode()
    try:
        with Netns(P, subnet="172.31.10.0/24") as n:
            key = tmp / "id_ed25519"
            net.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hvpn", "-f", str(key)])
            wire(n, key.with_suffix(".pub").read_text().strip(), image)
            state = tmp / "state"
            store = KeyStore(keystore_path(state, "lab"))
            store.ensure([HUB, *OFFICES])
            yield Scratch(tmp, key, state, store, [])
    finally:
        host.release(P)
        shutil.rmtree(tmp, ignore_errors=True)
        if old is None:
            os.environ.pop("DCCTL_PASSPHRASE", None)
        else:
            os.environ["DCCTL_PASSPHRASE"] = old


def failures(events: list[dict[str, Any]]) -> list[str]:
    """What failed, per host and task (no_log tasks show only that they were censored)."""
    out = []
    for e in events:
        if e.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            d = e.get("event_data", {})
            res = d.get("res", {})
            msg = res.get("msg") or res.get("stderr") or res.get("censored") or ""
            out.append(f"{d.get('host')}: {d.get('task')}: {str(msg)[:300]}")
    return out


def assert_ok(res: PlaybookResult, events: list[dict[str, Any]]) -> None:
    bad = {h: r for h, r in res.hosts.items() if r.failed or r.unreachable}
    assert res.rc == 0 and not bad, (res.status, res.rc, bad, failures(events))


def test_tunnel_isolation_idempotence_rotation_and_no_key_leak(scratch: Scratch) -> None:
    o1, o2, hub = f"{P}-o1", f"{P}-o2", f"{P}-hub"
    t0 = time.monotonic()
    first = scratch.apply()
    print(f"\nfirst apply {time.monotonic() - t0:.1f}s: {first.hosts}")
    assert_ok(first, scratch.events)
    assert set(first.hosts) == {"vpn-gw", "office-opda-office1", "office-opdb-office2"}

    # Office 1 (router and LAN host) reaches OPD A's server through the tunnel ...
    assert ping_eventually(o1, SERVER_A), "office1 -> OPD A server"
    assert ping_eventually(f"{P}-h1", SERVER_A), "office1 LAN host -> OPD A server"
    assert ping_eventually(o2, SERVER_B), "office2 -> OPD B server"
    # ... over WireGuard: the hub saw a handshake from office 1's key.
    hs = handshakes(hub, HUB_INTERFACE)
    assert hs[scratch.store.public_key("opda/office1")] > 0
    # ... and not another OPD's.
    assert not ping(o1, SERVER_B, count=2)
    assert not ping(f"{P}-h1", SERVER_B, count=2)
    assert not ping(o2, SERVER_A, count=2)

    # Second run: nothing to change.
    t0 = time.monotonic()
    second = scratch.apply()
    print(f"second apply {time.monotonic() - t0:.1f}s: {second.hosts}")
    assert_ok(second, scratch.events)
    assert sum(r.changed for r in second.hosts.values()) == 0, second.hosts

    # The hub's firewall, not just routing, enforces it: office 1 puts OPD B's network
    # into its tunnel by hand; the hub drops those packets (and counts them).
    def drops() -> int:
        out = pexec(hub, "nft", "-j", "list", "table", "inet", "dcctl_vpn")
        total = 0
        for item in json.loads(out)["nftables"]:
            rule = item.get("rule")
            if rule and rule.get("comment") == "office to another OPD":
                total += sum(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
        return total

    hub_pub = scratch.store.public_key(HUB)
    before = drops()
    pexec(o1, "wg", "set", OFFICE_INTERFACE, "peer", hub_pub,
          "allowed-ips", "172.31.10.193/32,172.31.10.64/30,172.31.10.68/30")  # fmt: skip
    pexec(o1, "ip", "route", "replace", "172.31.10.68/30", "dev", OFFICE_INTERFACE)
    assert not ping(o1, SERVER_B, count=2)
    assert drops() > before
    assert ping(o1, SERVER_A)

    # Rotation: office 1 gets a new key pair; the next run pushes it; the tunnel is back.
    old_pub = scratch.store.public_key("opda/office1")
    rotated_at = int(time.time())
    new_pub = scratch.store.rotate("opda/office1")
    assert new_pub != old_pub
    third = scratch.apply()
    assert_ok(third, scratch.events)
    assert third.hosts["office-opda-office1"].changed > 0
    assert third.hosts["vpn-gw"].changed > 0
    assert ping_eventually(o1, SERVER_A), "tunnel back after rotation"
    hs = handshakes(hub, HUB_INTERFACE)
    assert old_pub not in hs
    assert hs[new_pub] >= rotated_at
    assert not ping(o1, SERVER_B, count=2), "the manual route is gone with the restart"
    conf = pexec(o1, "cat", f"/etc/wireguard/{OFFICE_INTERFACE}.conf")
    assert "PrivateKey" in conf
    mode = pexec(o1, "stat", "-c", "%a", f"/etc/wireguard/{OFFICE_INTERFACE}.conf").strip()
    assert mode == "600"

    # No private key text in the repo, the state dir or anything ansible-runner emitted.
    secrets = [scratch.store.pair(n).private for n in (HUB, *OFFICES)]
    events = json.dumps(scratch.events)
    state = b"".join(p.read_bytes() for p in scratch.state_dir.rglob("*") if p.is_file())
    for secret in secrets:
        assert secret not in events
        assert secret.encode() not in state
        found = subprocess.run(
            ["git", "-C", str(REPO), "grep", "--untracked", "-I", "-l", "-F", "-e", secret],
            capture_output=True,
            text=True,
        )
        assert found.returncode == 1, found.stdout
    assert len(scratch.events) > 50  # the grep looked at a real run's output


def test_lab_office_routers_answer_ssh_over_the_wan(built_lab: Any) -> None:
    """`dcctl lab up`: Linux office routers are SSH hosts on their WAN address, as in prod,
    their host keys pinned in the lab's known_hosts (a strict login is accepted), and
    the gateway forwards the hub's public WireGuard port to the vpn-hub VM."""
    from dcctl.lab import net
    from dcctl.lab.integration import lab_ssh_key

    plan = built_lab.plan
    assert plan.mgmt is not None and plan.vpn is not None
    from dcctl.ssh.knownhosts import KnownHosts
    from dcctl.targets import KNOWN_HOSTS
    from dcctl.vpn.ansible import office_host

    key, _pub = lab_ssh_key(plan.state_dir)
    known = plan.state_dir / KNOWN_HOSTS
    offices = plan.office_containers()
    assert offices
    for office in offices:
        wan = office.wan_address.split("/")[0]
        pin = KnownHosts(known).get(office_host(office.key))
        assert pin is not None and pin.host == wan, (office.key, pin)
        out = subprocess.run(
            ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
             "-o", "BatchMode=yes",
             "-o", "ConnectTimeout=10", f"dcctl@{wan}", "sudo", "-n", "ip", "-br", "addr"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, (office.key, out.stderr[-300:])
        assert office.wan_address in out.stdout and office.router_lan in out.stdout
    nat = exec_in(plan.vpn.netns, "iptables", "-t", "nat", "-S", "PREROUTING")
    assert f"--to-destination {plan.vpn.hub_address}" in nat.stdout
    gw_routes = net.routes(plan.vpn.netns)
    for prefix in plan.vpn.routed:
        assert gw_routes[prefix]["gateway"] == plan.vpn.hub_address
