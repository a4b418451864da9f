"""`lab up`'s offices and their VPN hub: the Linux office routers (lab-image containers
Ansible logs into over the WAN, their SSH host keys pinned in the lab's known_hosts)
and the gateway's port forward to the VPN hub VM.

Why here and not in Pulumi: an office router stands for a box in a remote office
that dcctl reaches over the WAN, like in production; the lab makes it exist, and
the playbooks configure it. The port forward is what the regency's edge router
does, so the gateway namespace (the lab's edge router) does it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from dcctl.i18n import _
from dcctl.lab import net
from dcctl.lab.base import LabError, UpRun, parallel
from dcctl.lab.net import NetError
from dcctl.lab.plan import OfficePlan, VpnGatewayPlan
from dcctl.lab.podman import install_login, machine_args, pin_host_key, podman, start_machine
from dcctl.lab.preflight import apt_hint
from dcctl.spec.site import ADMIN_USER
from dcctl.ssh.knownhosts import HostKeyError, KnownHosts
from dcctl.targets import KNOWN_HOSTS
from dcctl.vpn.ansible import office_host

OFFICE_LABEL = "dcctl.lab"
OFFICE_USER = ADMIN_USER  # the sudo user Ansible logs in as, like on every lab VM
VPN_DNAT_COMMENT = "dcctl-lab-vpn"


def vpn_gateway(run: UpRun) -> None:
    """DNAT the hub's public UDP port to the vpn-hub VM (what the edge router does)."""
    v = run.plan.vpn
    if v is None:
        return
    if net.which("iptables") is None:
        raise LabError(_("the VPN port forward needs iptables"), apt_hint(["iptables"]))
    if _ensure_dnat(v):
        run.change(_("VPN port forwards set"))


def _ensure_dnat(v: VpnGatewayPlan) -> bool:
    """One DNAT rule (ours, by comment) in the gateway namespace; True if it changed."""
    ipt = ["ip", "netns", "exec", v.netns, "iptables", "-w", "5", "-t", "nat"]
    rule = [
        "PREROUTING", "-d", f"{v.public_address}/32", "-p", "udp", "-m", "udp",
        "--dport", str(v.port), "-m", "comment", "--comment", VPN_DNAT_COMMENT,
        "-j", "DNAT", "--to-destination", v.hub_address,
    ]  # fmt: skip
    want = "-A " + " ".join(rule)
    listed = net.run([*ipt, "-S", "PREROUTING"]).stdout.splitlines()
    ours = [line for line in listed if VPN_DNAT_COMMENT in line]
    if ours == [want]:
        return False
    for line in ours:  # a stale rule (the hub VM moved): remove it
        net.run([*ipt, "-D", *line.split()[1:]], check=False)
    net.run([*ipt, "-A", *rule])
    return True


def office_routers(run: UpRun) -> None:
    """A lab-image container in each Linux office router namespace, reachable by SSH."""
    offices = run.plan.office_containers()
    if not offices:
        return
    if net.which("podman") is None:
        run.warn(_("podman is not installed: Linux office routers have no SSH host"))
        return
    todo, kept = [], []
    for office in offices:
        assert office.container is not None
        info = _container(office.container)
        if info is not None:
            state = info.get("State") or {}
            pid = int(state.get("Pid") or 0)
            if state.get("Running") and pid and net.pid_in_netns(pid, office.router_netns):
                kept.append(office)
                continue
            podman("rm", "--force", "--ignore", "--time", "0", office.container, check=False)
            run.change(_("office router containers replaced (namespace re-created)"))
        todo.append(office)
    known = run.plan.state_dir / KNOWN_HOSTS
    for office in kept:  # a lab made before pinning existed, or a pin since removed
        if KnownHosts(known).get(office_host(office.key)) is None:
            err = _pin(office, known)
            if err:
                run.warn(err)
    if not todo:
        return
    from dcctl.lab.integration import LabNotReady, lab_image, lab_ssh_key

    try:
        image = lab_image()
    except LabNotReady as exc:
        raise LabError(str(exc), _("run scripts/build-lab-image as root")) from None
    _key, pub = lab_ssh_key(run.plan.state_dir)
    errors = [e for e in parallel(lambda o: _start_office_router(o, image, pub, known), todo) if e]
    for e in errors:
        run.warn(e)
    run.change(_("office router containers started"), len(todo) - len(errors))


def _container(name: str) -> dict[str, Any] | None:
    proc = podman("container", "inspect", name, check=False, timeout=60)
    if proc.returncode != 0:
        return None
    found = json.loads(proc.stdout or "[]")
    return found[0] if found else None


def _pin(office: OfficePlan, known: Path) -> str | None:
    """Pin the router's SSH host key, read from inside it (dcctl made it); an error or None."""
    assert office.container is not None
    try:
        pin_host_key(office.container, known, office_host(office.key), office.wan_address)
    except (NetError, HostKeyError) as exc:
        return _("office router {office}: its SSH host key: {problem}").format(
            office=office.key, problem=exc
        )
    return None


def _start_office_router(office: OfficePlan, image: str, pub: str, known: Path) -> str | None:
    """Run the router container, give it the lab's SSH key, pin its host key.

    Returns an error or None. The host key is pinned once sshd answers (the
    image makes the key before sshd starts), so Ansible's strict host key
    check accepts this router and nothing else at its WAN address.
    """
    name = office.container
    assert name is not None
    labels = {OFFICE_LABEL: "office-router", f"{OFFICE_LABEL}.netns": office.router_netns}
    try:
        start_machine(
            name, office.router_netns, machine_args(name, office.router_netns, image, labels=labels)
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            up = podman("exec", name, "systemctl", "is-system-running", check=False).stdout
            if up.strip() in ("running", "degraded"):
                break
            time.sleep(0.5)
        install_login(name, pub, OFFICE_USER, root_keys=False)
        while time.monotonic() < deadline:
            ans = net.tcp_probe(
                office.router_netns, office.wan_address.split("/")[0], 22, timeout=1.0
            )
            if (ans or "").startswith("SSH-"):
                return _pin(office, known)
            time.sleep(0.5)
        return _("office router {office}: sshd does not answer in {container}").format(
            office=office.key, container=name
        )
    except NetError as exc:
        return _("office router {office}: {problem}").format(office=office.key, problem=exc)
