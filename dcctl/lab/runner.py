"""Build, inspect and tear down the lab on this machine: `dcctl lab up|down|status|reset`.

Why it is shaped like this:
- `up` is a reconciliation, not a script: it observes what exists (a handful of
  `ip -j` / `ovs-vsctl --format=json` calls), creates only what is missing and
  removes lab-prefixed leftovers the plan no longer has. A second `up` changes
  nothing and takes well under a second or two; after a partial crash it repairs.
- `down` needs no plan and no lab.json: everything the lab makes carries the lab
  prefix (`dl` + id) or lives under the lab state dir, so it is found again by
  name, by `ip netns pids` and by pid files even after a crash.
- Switch NVRAM (startup-configs), secrets and host keys live in the state dir and
  survive `down`; `reset` wipes the NVRAM, like `write erase` on every switch.
- Faults (camera stopped, WAN link down) are recorded as marker files so `up`
  does not silently heal a fault someone injected on purpose; `down` clears them.

This module is the lab's command surface: `up` runs its steps in order (each
concern in its own module: `preflight`, `reconcile` for kernel objects,
`processes` for daemons and cameras, `offices`), `down` and `reset` are here, and
`status` and the fault commands are re-exported from `status` and `faults`.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from dcctl.i18n import _
from dcctl.lab import dmz, edge, host, net, offices, processes, reconcile
from dcctl.lab.base import (
    DAEMON_PID,
    FAULTS_DIR,
    LAB_JSON,
    SWITCHD_PID,
    LabError,
    Quiet,
    Reporter,
    Result,
    UpRun,
    write_if_changed,
)
from dcctl.lab.faults import camera_fault, switch_fault, wan_fault
from dcctl.lab.net import NetError
from dcctl.lab.plan import CAMERA_USER, LabPlan
from dcctl.lab.podman import container_names, podman
from dcctl.lab.preflight import (
    TOOLS,
    address_holder,
    gst_problem,
    preflight,
    require_addresses_free,
    require_root,
    switchd_available,
)
from dcctl.lab.status import Item, Status, status
from dcctl.lab.topology import lab_prefix

__all__ = [
    "TOOLS",
    "Item",
    "LabError",
    "Reporter",
    "Result",
    "Status",
    "address_holder",
    "camera_fault",
    "down",
    "gst_problem",
    "preflight",
    "reset",
    "status",
    "switch_fault",
    "switchd_available",
    "up",
    "wan_fault",
]

NVRAM_KEEP = ("ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "switchd.json")


# --------------------------------------------------------------------------
# up


def up(plan: LabPlan, reporter: Reporter | None = None, wait: float = 30.0) -> Result:
    """Build (or repair) the lab; idempotent. Raises LabError / NetError."""
    r = reporter or Quiet()
    t0 = time.monotonic()
    preflight()
    require_addresses_free(plan)
    run = UpRun(plan, Result("up", plan.lab_id, switchd=switchd_available()))
    r.step(_("host settings"))
    for change in host.acquire(plan.lab_id):
        run.change(_("host setting {change} (lab down restores it)").format(change=change))
    r.step(_("Open vSwitch"))
    if net.ensure_ovs():
        run.change(_("Open vSwitch started"))
    r.step(_("state dir, secrets, switch configs"))
    pw = processes.state_files(run)
    r.step(_("removing leftovers"))
    reconcile.remove_stale(run)
    r.step(_("namespaces"))
    reconcile.namespaces(run)
    r.step(_("OVS bridges"))
    ovs = reconcile.ovs_bridges(run)
    r.step(_("veth pairs"))
    seen = reconcile.observe(plan)
    reconcile.veths(run, seen)
    r.step(_("OVS ports"))
    reconcile.ovs_ports(run, ovs)
    r.step(_("addresses, links, routes"))
    reconcile.configure(run, seen)
    reconcile.sysctls(run)
    reconcile.offloads(run)
    r.step(_("switch daemons"))
    processes.switch_daemons(run)
    r.step(_("cameras"))
    processes.cameras(run, pw)
    r.step(_("VPN port forward on the gateway"))
    offices.vpn_gateway(run)
    r.step(_("edge rules on the gateway"))
    edge.edge(run)
    r.step(_("DMZ filter on the gateway"))
    dmz.apply_filter(run)
    r.step(_("office routers"))
    offices.office_routers(run)
    if run.started:
        r.step(_("waiting for {count} devices to answer").format(count=len(run.started)))
        processes.wait_ready(run, wait)
    _lab_json(run)
    run.res.elapsed = time.monotonic() - t0
    return run.res


def _lab_json(run: UpRun) -> None:
    """lab.json: the plan `up` built, for the engines and for a human reading the state dir."""
    plan = run.plan
    doc = {
        "lab_id": plan.lab_id,
        "prefix": plan.prefix,
        "site": plan.site,
        "state_dir": str(plan.state_dir),
        "switchd": run.res.switchd,
        "camera_user": CAMERA_USER,
        "plan": plan.to_dict(),
    }
    write_if_changed(plan.state_dir / LAB_JSON, json.dumps(doc, indent=2) + "\n")


# --------------------------------------------------------------------------
# down / reset


def _lab_pids(lab_id: str, state_dir: Path) -> set[int]:
    p = lab_prefix(lab_id)
    pids: set[int] = set()
    patterns = (f"switches/*/{DAEMON_PID}", f"switches/*/{SWITCHD_PID}", "cameras/*.pid")
    for pattern in patterns:
        for pid_file in state_dir.glob(pattern):
            pid = net.read_pid(pid_file)
            if pid is not None and str(state_dir) in net.cmdline(pid):
                pids.add(pid)
    for ns in net.netns_list():
        if ns.startswith(p + "-"):
            pids.update(net.netns_pids(ns))
    pids.update(net.pids_with(str(state_dir) + "/"))
    return pids


def _one_end_per_pair(prefix: str) -> list[str]:
    """Lab interfaces in the root namespace, naming each veth pair once.

    Deleting one end of a veth deletes its peer, and each deletion costs the
    kernel an RCU grace period, so this halves the time `down` takes.
    """
    out: list[str] = []
    gone: set[str] = set()
    for entry in net.ip_json(None, "link", "show"):
        name = entry.get("ifname", "")
        if not name.startswith(prefix) or name in gone:
            continue
        out.append(name)
        peer = entry.get("link")
        if isinstance(peer, str):
            gone.add(peer)
    return out


def _remove_lab_vms(prefix: str) -> int:
    """Lab VMs are podman containers named <prefix>-vm-...; Pulumi state may be gone."""
    if not net.which("podman"):
        return 0
    try:
        # Lab VMs, and the Linux office router containers (<prefix>-or-...).
        names = [n for n in container_names() if n.startswith((prefix + "-vm-", prefix + "-or-"))]
        if names:
            podman("rm", "-f", "-t", "0", *names, check=False)
    except NetError:  # best effort, like the rest of `down`
        return 0
    return len(names)


def down(lab_id: str, state_dir: Path, reporter: Reporter | None = None) -> Result:
    """Remove every namespace, bridge, veth, route and process of the lab."""
    r = reporter or Quiet()
    t0 = time.monotonic()
    require_root()
    res = Result("down", lab_id, switchd=switchd_available())
    p = lab_prefix(lab_id)
    r.step(_("stopping processes"))
    stopped = net.stop_pids(_lab_pids(lab_id, state_dir))
    if stopped:
        res.changes.append(_("stopped {count} processes").format(count=len(stopped)))
    for pattern in (f"switches/*/{DAEMON_PID}", "cameras/*.pid"):
        for pid_file in state_dir.glob(pattern):
            pid_file.unlink(missing_ok=True)
    r.step(_("lab VMs"))
    removed = _remove_lab_vms(p)
    if removed:
        res.changes.append(_("removed {count} lab VM containers").format(count=removed))
    r.step(_("namespaces"))
    namespaces = [ns for ns in net.netns_list() if ns.startswith(p + "-")]
    if namespaces:
        net.ip_batch(None, (f"netns del {ns}" for ns in namespaces), force=True)
        res.changes.append(_("deleted {count} namespaces").format(count=len(namespaces)))
    r.step(_("OVS bridges"))
    if net.which("ovs-vsctl") and net.ovs_running():
        bridges = [b for b in net.ovs_state().bridges if b.startswith(p)]
        if bridges:
            net.vsctl([a for b in bridges for a in ("--", "--if-exists", "del-br", b)])
            res.changes.append(_("deleted {count} OVS bridges").format(count=len(bridges)))
    elif net.which("ovs-vsctl"):
        res.warnings.append(
            _("Open vSwitch is not running: lab bridges may remain in its database")
        )
    r.step(_("interfaces"))
    leftovers = _one_end_per_pair(p)
    if leftovers:
        net.ip_batch(None, (f"link del {n}" for n in leftovers), force=True)
        res.changes.append(_("deleted {count} interfaces").format(count=len(leftovers)))
    shutil.rmtree(state_dir / FAULTS_DIR, ignore_errors=True)
    r.step(_("host settings"))
    res.changes += [_("host setting {change}").format(change=x) for x in host.release(lab_id)]
    left = [n for n in net.links(None) if n.startswith(p)]
    left += [ns for ns in net.netns_list() if ns.startswith(p + "-")]
    if left:
        res.warnings.append(_("still present: {names}").format(names=", ".join(sorted(left))))
    res.elapsed = time.monotonic() - t0
    return res


def reset(lab_id: str, state_dir: Path, reporter: Reporter | None = None) -> Result:
    """`down`, then wipe every switch's NVRAM (startup-config, faults, logs)."""
    res = down(lab_id, state_dir, reporter)
    res.action = "reset"
    wiped = 0
    for d in sorted((state_dir / "switches").glob("*")):
        if not d.is_dir():
            continue
        for f in d.iterdir():
            if f.name in NVRAM_KEEP:
                continue
            if f.is_dir():
                shutil.rmtree(f, ignore_errors=True)
            else:
                f.unlink(missing_ok=True)
        wiped += 1
    if wiped:
        res.changes.append(_("wiped NVRAM of {count} switches").format(count=wiped))
    return res
