"""`lab status`: what of the plan exists and answers, item by item, without changing it.

Why answers and not just presence: a switch daemon that runs but does not speak
SSH, or a camera that accepts TCP but not RTSP, looks like a broken device to
dcctl's engines; status probes the service itself, and shows a fault injected on
purpose as `fault`, not as `down`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from dcctl.i18n import _
from dcctl.lab import net
from dcctl.lab.base import camera_pid, fault, parallel, switch_pid, wan_up
from dcctl.lab.plan import CameraPlan, LabPlan, SwitchPlan, air_dir
from dcctl.lab.preflight import require_root, switchd_available
from dcctl.lab.reconcile import Seen
from dcctl.lab.switchd.air import describe


@dataclass
class Item:
    kind: str
    name: str
    state: str  # up | missing | down | fault | n/a
    detail: str = ""


@dataclass
class Status:
    lab_id: str
    prefix: str
    state_dir: str
    items: list[Item]

    @property
    def ok(self) -> bool:
        return all(i.state in ("up", "n/a") for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for i in self.items:
            counts[i.state] = counts.get(i.state, 0) + 1
        return {
            "lab_id": self.lab_id,
            "prefix": self.prefix,
            "state_dir": self.state_dir,
            "ok": self.ok,
            "counts": counts,
            "items": [asdict(i) for i in self.items],
        }


def _kernel_items(plan: LabPlan) -> tuple[list[Item], Seen]:
    """Open vSwitch, namespaces, bridges and veths; the links seen, for later items."""
    items: list[Item] = []
    ovs_up = net.which("ovs-vsctl") is not None and net.ovs_running()
    items.append(Item("service", "openvswitch", "up" if ovs_up else "down"))
    have_ns = set(net.netns_list())
    for ns in plan.namespaces:
        items.append(Item("namespace", ns.name, "up" if ns.name in have_ns else "missing", ns.role))
    bridges = net.ovs_state().bridges if ovs_up else {}
    for br in plan.ovs_bridges:
        state = "up" if br.name in bridges else "missing"
        items.append(Item("ovs-bridge", br.name, state, f"{br.role} {br.owner}"))
    names: list[str | None] = [None, *(n.name for n in plan.namespaces if n.name in have_ns)]
    seen = dict(zip(names, parallel(net.links, names), strict=True))
    missing = [e.ifname for e in plan.ends() if e.ifname not in seen.get(e.netns, {})]
    total = len(plan.ends())
    items.append(
        Item(
            "veths",
            _("{count} pairs").format(count=len(plan.veths)),
            "missing" if missing else "up",
            _("{present}/{total} ends present").format(present=total - len(missing), total=total)
            + (_("; missing {names}").format(names=", ".join(missing[:6])) if missing else ""),
        )
    )
    return items, seen


def _root_routes_item(plan: LabPlan) -> list[Item]:
    """Whether the root namespace routes the lab's pools via the lab (dcctl connects from it)."""
    if plan.mgmt is None:
        return []
    root_routes = net.routes(None)
    bad = [
        r
        for r in plan.mgmt.root_routes
        if root_routes.get(r, {}).get("dev") != plan.mgmt.root_ifname
    ]
    return [
        Item(
            "root-routes",
            plan.mgmt.root_ifname,
            "missing" if bad else "up",
            _("via {gateway}: {routes}").format(
                gateway=plan.mgmt.gateway, routes=", ".join(plan.mgmt.root_routes)
            )
            + (_("; not via lab: {routes}").format(routes=", ".join(bad)) if bad else ""),
        )
    ]


def _switch_item(plan: LabPlan, sw: SwitchPlan, switchd: bool) -> Item:
    if not switchd:
        return Item("switch", sw.name, "n/a", _("switch daemon not installed yet"))
    pid = switch_pid(plan, sw)
    inside = (net.tcp_probe(sw.netns, sw.mgmt_address, 22, timeout=2.0) or "").strip()
    if not inside.startswith("SSH-"):
        no_ssh = _("pid {pid}; no SSH on {address}:22").format(
            pid=pid or "-", address=sw.mgmt_address
        )
        return Item("switch", sw.name, "down", no_ssh)
    from_root = (net.tcp_probe(None, sw.mgmt_address, 22, timeout=2.0) or "").startswith("SSH-")
    note = "" if from_root else " " + _("(not reachable from the root namespace)")
    return Item("switch", sw.name, "up", f"{sw.mgmt_address}:22 {inside[:40]}{note}")


def _camera_item(plan: LabPlan, cam: CameraPlan) -> Item:
    injected = fault(plan.state_dir, "camera", cam.key)
    url = f"rtsp://{cam.ip}:{cam.rtsp_port}{cam.rtsp_path}"
    if injected:
        faulted = _("{fault} (lab fault); {url}").format(fault=injected, url=url)
        return Item("camera", cam.key, "fault", faulted)
    line = net.rtsp_options(cam.netns, cam.ip, cam.rtsp_port, cam.rtsp_path, 2.0)
    if line.startswith("RTSP/1.0"):
        return Item("camera", cam.key, "up", f"{url} {line[9:]}")
    pid = camera_pid(plan, cam)
    no_rtsp = _("pid {pid}; no RTSP answer at {url}").format(pid=pid or "-", url=url)
    return Item("camera", cam.key, "down", no_rtsp)


def _site_items(plan: LabPlan, seen: Seen) -> list[Item]:
    """Buildings (their LAN host's address) and offices (their WAN address, or a fault)."""
    items: list[Item] = []
    for b in plan.buildings:
        link = seen.get(b.netns, {}).get(b.ifname)
        ok = link is not None and b.address in link.addresses and link.up
        state = "up" if ok else "missing"
        items.append(
            Item(
                "building",
                f"{b.opd}/{b.name}",
                state,
                _("{address} on {port}").format(address=b.address, port=b.switch_port),
            )
        )
    for o in plan.offices:
        link = seen.get(o.router_netns, {}).get(o.wan_ifname)
        if not wan_up(plan, o):
            items.append(Item("office", o.key, "fault", _("WAN link down (lab fault)")))
            continue
        ok = link is not None and o.wan_address in link.addresses
        state = "up" if ok else "missing"
        items.append(Item("office", o.key, state, f"WAN {o.wan_address}, LAN {o.lan_prefix}"))
    return items


def _wireless_items(plan: LabPlan, seen: Seen) -> list[Item]:
    """Radio links (associated or why not), Wi-Fi clients and the gateway's edge rules.

    A radio link that is not associated is `n/a`, not `down`: before the first apply
    the radios radiate nothing, as on a mast, and that is no fault of the lab.
    """
    items: list[Item] = []
    links = sorted({link for sw in plan.switches for _port, link in sw.air})
    for link in links:
        joined, why = describe(air_dir(plan, link))
        items.append(Item("radio-link", link, "up" if joined else "n/a", why))
    for s in plan.stations:
        dev = seen.get(s.netns, {}).get(s.ifname)
        ok = dev is not None and s.address in dev.addresses and dev.up
        items.append(
            Item(
                "wifi-client",
                s.key,
                "up" if ok else "missing",
                _("{address} on {ssid}").format(address=s.address, ssid=s.ssid),
            )
        )
    if plan.edge is not None:
        e = plan.edge
        listed = net.run(
            ["ip", "netns", "exec", e.netns, "iptables", "-w", "5", "-S", "FORWARD"], check=False
        ).stdout
        ok = f"-j {e.chain}" in listed
        what = (
            _("guests to the internet only, staff LANs apart")
            if e.guest_ifname
            else _("staff LANs apart")
        )
        items.append(Item("edge", e.chain, "up" if ok else "missing", what))
    return items


def status(plan: LabPlan) -> Status:
    """Every item of the plan, probed (devices in parallel, each with a short timeout)."""
    require_root()
    items, seen = _kernel_items(plan)
    items += _root_routes_item(plan)
    switchd = switchd_available()
    items += parallel(lambda sw: _switch_item(plan, sw, switchd), plan.switches)
    items += parallel(lambda cam: _camera_item(plan, cam), plan.cameras)
    items += _site_items(plan, seen)
    items += _wireless_items(plan, seen)
    return Status(plan.lab_id, plan.prefix, str(plan.state_dir), items)
