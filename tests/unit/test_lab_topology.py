"""The lab plan, without root: names fit the kernel, wiring follows the spec, numbers
follow the IPAM allocation, and the same spec always gives the same plan.

Why these tests: `lab up` trusts the plan completely (it creates exactly what the
plan says and `down` finds things by the names chosen here), so a wrong name or a
miswired port would only show up as a confusing kernel error or a lab that does
not match production.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dcctl.lab import net, runner
from dcctl.lab.cli import lab_app
from dcctl.lab.plan import LabPlan, LabPlanError, switchd_config
from dcctl.lab.secrets import LabSecretError, ensure_secrets, lab_secret
from dcctl.lab.topology import (
    IFNAME_MAX,
    build_plan,
    default_lab_id,
    lab_prefix,
    resolve_lab_id,
)
from dcctl.spec import Spec, load_spec
from dcctl.spec.ports import PortClaims

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wonosobo"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(EXAMPLE)


@pytest.fixture
def plan(spec: Spec, tmp_path: Path) -> LabPlan:
    return build_plan(spec, "t01", state_dir=tmp_path / "state")


def _canon(spec: Spec, ref: str) -> tuple[str, str]:
    return PortClaims(spec.site.switches).resolve(ref)


def _used_ports(spec: Spec) -> set[tuple[str, str]]:
    used = set()
    for link in spec.site.links:
        used |= {_canon(spec, link.a), _canon(spec, link.b)}
    used |= {_canon(spec, n.uplink) for n in spec.site.hypervisors.nodes}
    for opd in spec.opds.values():
        for b in opd.buildings:
            if b.lan_ports:
                used.add(_canon(spec, f"{b.switch}:{b.lan_ports[0]}"))
        used |= {_canon(spec, c.port) for c in opd.cameras}
        if opd.wifi is not None:  # a Wi-Fi client sits on each AP's first radio (issue 20)
            used |= {(ap, "wlan1") for b in opd.buildings for ap in b.access_points}
    return used


# --------------------------------------------------------------------------
# names


def test_ifnames_fit_the_kernel_and_are_unique(plan: LabPlan) -> None:
    names = plan.ifnames()
    assert names, "plan has no interfaces"
    assert max(len(n) for n in names) <= IFNAME_MAX
    assert len(names) == len(set(names))
    assert all(n.startswith(plan.prefix) for n in names)


def test_namespaces_carry_the_prefix_and_are_unique(plan: LabPlan) -> None:
    names = [n.name for n in plan.namespaces]
    assert len(names) == len(set(names))
    assert all(n.startswith(plan.prefix + "-") for n in names)
    roles = {n.role for n in plan.namespaces}
    assert {"gw", "mgmt", "wan", "building", "camera", "office-router", "office-host"} <= roles


def test_plan_is_deterministic(spec: Spec, tmp_path: Path) -> None:
    a = build_plan(spec, "t01", state_dir=tmp_path)
    b = build_plan(spec, "t01", state_dir=tmp_path)
    assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)


def test_lab_id_default_env_and_override(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DCCTL_LAB_ID", raising=False)
    assert default_lab_id("wonosobo") == "won"
    assert len(default_lab_id("x")) == 3
    assert build_plan(spec).prefix == "dlwon"
    monkeypatch.setenv("DCCTL_LAB_ID", "e2e")
    assert resolve_lab_id("wonosobo") == "e2e"
    assert resolve_lab_id("wonosobo", "abc") == "abc"
    assert lab_prefix("abc") == "dlabc"
    for bad in ("ab", "abcd", "AB1", "a-b", "a b"):
        with pytest.raises(LabPlanError):
            resolve_lab_id("wonosobo", bad)


def test_state_dir_follows_lab_id(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DCCTL_LAB_ROOT", raising=False)
    assert build_plan(spec, "q7x").state_dir == Path("/var/lib/dcctl/lab/q7x")


# --------------------------------------------------------------------------
# wiring


def test_every_switch_port_has_a_veth_in_its_bridge(spec: Spec, plan: LabPlan) -> None:
    ovs_ends = {e.ifname: e for e in plan.ends() if e.ovs_bridge}
    for sw, sp in zip(spec.site.switches, plan.switches, strict=True):
        assert sp.name == sw.name
        # Physical ports, then the lab ports of guest virtual APs (issue 20), nothing else.
        physical = [(n, i) for n, i in sp.ports if n not in sp.virtual_ports]
        assert [name for name, _ in physical] == sw.port_names()
        assert set(sp.virtual_ports) <= {f"{w}-guest" for w in ("wlan1", "wlan2")}
        assert bool(sp.virtual_ports) == (sw.role == "ap")
        for _, ifname in physical:
            end = ovs_ends[ifname]
            assert end.ovs_bridge == sp.bridge
            assert end.ovs_tag == 1, "factory default is access VLAN 1"
    used = _used_ports(spec)
    unplugged = {v.label for v in plan.veths if v.purpose == "unplugged"}
    for sw in spec.site.switches:
        for name in sw.port_names():
            assert ((sw.name, name) in used) != (f"{sw.name}:{name}" in unplugged)


def test_links_pair_the_right_bridges(spec: Spec, plan: LabPlan) -> None:
    links = {v.label: v for v in plan.veths if v.purpose == "link"}
    assert len(links) == len(spec.site.links)
    for link in spec.site.links:
        v = links[link.name]
        for ref, end in ((link.a, v.a), (link.b, v.b)):
            sw, port = _canon(spec, ref)
            sp = plan.switch(sw)
            assert end.ovs_bridge == sp.bridge
            assert sp.port_map()[port] == end.ifname


def test_hypervisor_bridges_are_trunked_to_their_uplink(spec: Spec, plan: LabPlan) -> None:
    uplinks = [v for v in plan.veths if v.purpose == "uplink"]
    assert len(uplinks) == len(spec.site.hypervisors.nodes)
    node_bridges = {b.owner: b.name for b in plan.ovs_bridges if b.role == "node"}
    for node, v in zip(spec.site.hypervisors.nodes, uplinks, strict=True):
        sw, port = _canon(spec, node.uplink)
        assert plan.switch(sw).port_map()[port] == v.a.ifname
        assert v.b.ovs_bridge == node_bridges[node.name]
        assert v.b.ovs_tag is None, "node side is a trunk"


def test_gateway_holds_every_opd_gateway_on_its_vlan(spec: Spec, plan: LabPlan) -> None:
    alloc = spec.allocation
    nets = {g.key: g for g in plan.gateway_networks}
    # The site's guest network (issue 20) has its gateway there too, on its own VLAN.
    guest = spec.site.wifi.guest  # type: ignore[union-attr]
    g = nets.pop("guest")
    assert (g.vlan, g.prefix, g.address) == (guest.vlan, guest.prefix, "10.98.0.1/24")
    assert set(nets) == {k for k in alloc.vlans if k in alloc.prefixes}
    first_node = next(b.name for b in plan.ovs_bridges if b.role == "node")
    by_if = {e.ifname: e for e in plan.ends()}
    for key, g in nets.items():
        plen = ipaddress.ip_network(alloc.prefixes[key]).prefixlen
        assert g.vlan == alloc.vlans[key]
        assert g.address == f"{alloc.gateway(key)}/{plen}"
        end = by_if[g.ifname]
        assert end.netns == plan.gateway_netns and g.address in end.addresses
        assert end.tx_off, "TCP across the OVS userspace datapath needs tx offload off"
        peer = next(v.a for v in plan.veths if v.b.ifname == g.ifname)
        assert peer.ovs_bridge == first_node and peer.ovs_tag == g.vlan


def test_management_and_root_routes(spec: Spec, plan: LabPlan) -> None:
    mg = plan.mgmt
    assert mg is not None
    site = spec.site
    assert mg.root_address == "10.255.0.254/24"
    assert mg.gateway == site.management.gateway
    bridge = next(b for b in plan.linux_bridges if b.name == mg.bridge)
    assert {a.split("/")[0] for a in bridge.addresses} == {s.mgmt_address for s in site.switches}
    root_routes = [r for r in plan.routes if r.netns is None]
    assert "default" not in {r.dst for r in root_routes}, "never touch the default route"
    wanted = {site.ipam.server_pool, site.ipam.cctv_pool, site.ipam.lan_pool}
    if site.vpn:
        wanted.add(site.vpn.tunnel_pool)
        # Linux office routers are SSH hosts reached over their WAN address.
        wanted |= {o.wan_address.replace("/24", "/32") for o in plan.office_containers()}
    assert {r.dst for r in root_routes} == wanted
    assert all(r.via == mg.gateway and r.dev == mg.root_ifname for r in root_routes)
    gw_addrs = {a for e in plan.ends() if e.netns == plan.gateway_netns for a in e.addresses}
    assert f"{site.management.gateway}/24" in gw_addrs
    assert plan.wan is not None and plan.wan.hub_address in gw_addrs
    assert plan.wan.hub_address == "203.0.113.10/24"


def test_cameras_buildings_offices_follow_the_allocation(spec: Spec, plan: LabPlan) -> None:
    alloc = spec.allocation
    by_if = {e.ifname: e for e in plan.ends()}
    cams = {c.key: c for c in plan.cameras}
    for code, opd in spec.opds.items():
        for cam in opd.cameras:
            c = cams[f"{code}/{cam.name}"]
            plen = ipaddress.ip_network(alloc.prefixes[f"{code}/cctv"]).prefixlen
            assert c.address == f"{alloc.addresses[f'{code}/cctv/{cam.name}']}/{plen}"
            assert c.gateway == alloc.gateway(f"{code}/cctv")
            assert (c.rtsp_port, c.rtsp_path) == (cam.rtsp_port, cam.rtsp_path)
            assert by_if[c.ifname].netns == c.netns and c.address in by_if[c.ifname].addresses
            sw, port = _canon(spec, cam.port)
            assert plan.switch(sw).port_map()[port] + "d" == c.ifname
        lan_hosts = [b for b in plan.buildings if b.opd == code]
        for b in lan_hosts:
            net_ = ipaddress.ip_network(alloc.prefixes[f"{code}/lan"])
            assert ipaddress.ip_interface(b.address).ip in net_
            assert b.gateway == alloc.gateway(f"{code}/lan")
        assert len({b.address for b in lan_hosts}) == len(lan_hosts)
        for off in opd.offices:
            o = plan.office(f"{code}/{off.name}")
            lan = alloc.prefixes[f"{code}/office/{off.name}"]
            assert o.lan_prefix == lan
            assert o.router_lan == f"{ipaddress.ip_network(lan)[1]}/24"
            assert o.host_address == f"{ipaddress.ip_network(lan)[10]}/24"
            assert o.wan_address.split("/")[0] == off.wan_address
    routes = {(r.netns, r.dst) for r in plan.routes}
    for o in plan.offices:
        assert (o.router_netns, "203.0.113.10/32") in routes
        assert (o.host_netns, "default") in routes


def test_forwarding_only_where_routing_happens(plan: LabPlan) -> None:
    fwd = {n.role for n in plan.namespaces if n.forward}
    assert fwd == {"gw", "office-router"}
    # A Linux office router is a lab machine: its role turns forwarding on, as in
    # production, so the lab must not do it for it; an emulated (MikroTik) one is
    # the namespace itself.
    by_name = {n.name: n for n in plan.namespaces}
    linux = [o for o in plan.offices if o.container]
    emulated = [o for o in plan.offices if not o.container]
    assert linux and emulated
    assert not any(by_name[o.router_netns].forward for o in linux)
    assert all(by_name[o.router_netns].forward for o in emulated)


def test_switchd_config_is_accepted_by_the_daemon(plan: LabPlan, tmp_path: Path) -> None:
    state = pytest.importorskip("dcctl.lab.switchd.state")
    for sw in plan.switches:
        cfg = switchd_config(plan, sw, tmp_path / "pw")
        model = state.SwitchdConfig.model_validate(cfg)
        assert model.listen == sw.mgmt_address and model.bridge == sw.bridge


def test_lab_switches_carry_model_and_own_enable_secret(spec: Spec, tmp_path: Path) -> None:
    """The emulator imitates the spec's model, and a switch's own enable secret is a lab
    secret of its own (issue 16)."""
    state = pytest.importorskip("dcctl.lab.switchd.state")
    sws = [
        s.model_copy(update={"enable_credential": "env:CORE_ENABLE"}) if s.name == "sw-core" else s
        for s in spec.site.switches
    ]
    site = spec.site.model_copy(update={"switches": sws})
    plan = build_plan(dataclasses.replace(spec, site=site), "t01", state_dir=tmp_path)
    assert "env:CORE_ENABLE" in plan.credential_refs
    core = next(s for s in plan.switches if s.name == "sw-core")
    cfg = state.SwitchdConfig.model_validate(
        switchd_config(plan, core, tmp_path / "pw", tmp_path / "enable")
    )
    assert cfg.model == "Catalyst 9300-24S" and cfg.enable_password_file == tmp_path / "enable"
    other = next(s for s in plan.switches if s.name == "sw-setda")
    assert "enable_password_file" not in switchd_config(plan, other, tmp_path / "pw")


def test_port_used_twice_is_refused(spec: Spec) -> None:
    dinkes = spec.opds["dinkes"]
    cam = dinkes.cameras[0].model_copy(update={"port": spec.site.links[0].a})
    bad = dataclasses.replace(
        spec, opds={**spec.opds, "dinkes": dinkes.model_copy(update={"cameras": [cam]})}
    )
    with pytest.raises(LabPlanError, match="already used"):
        build_plan(bad, "t01")


def test_lookup_by_name_or_key(plan: LabPlan) -> None:
    assert plan.camera("loket-dinkes").key == "dinkes/loket-dinkes"
    assert plan.camera("dishub/terminal").name == "terminal"
    with pytest.raises(KeyError):
        plan.camera("nope")
    assert plan.office("pkm-kertek").opd == "dinkes"


# --------------------------------------------------------------------------
# secrets


def test_secrets_are_random_private_and_stable(tmp_path: Path) -> None:
    refs = ["env:WSB_SWITCH_PASSWORD", "file:a/b", "env:WSB_CAMERA_PASSWORD"]
    paths = ensure_secrets(tmp_path, refs)
    first = {r: lab_secret(tmp_path, r) for r in refs}
    assert len(set(first.values())) == 3 and all(len(v) >= 20 for v in first.values())
    for p in paths.values():
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
        assert p.parent == tmp_path / "secrets"
    assert stat.S_IMODE(os.stat(tmp_path / "secrets").st_mode) == 0o700
    ensure_secrets(tmp_path, refs)
    assert {r: lab_secret(tmp_path, r) for r in refs} == first
    with pytest.raises(LabSecretError):
        lab_secret(tmp_path, "env:UNKNOWN")


def test_plan_credential_refs(spec: Spec, plan: LabPlan) -> None:
    assert set(plan.credential_refs) >= {s.credential for s in spec.site.switches}
    assert spec.site.hypervisors.credential in plan.credential_refs


# --------------------------------------------------------------------------
# operator errors, without root


def test_not_root_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(lab_app, ["up", str(EXAMPLE), "--lab-id", "t01"])
    assert result.exit_code == 1
    assert "needs root" in result.output
    assert "Traceback" not in result.output


def test_missing_packages_name_the_apt_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    real = net.which
    monkeypatch.setattr(net, "which", lambda c: None if c == "ovs-vsctl" else real(c))
    with pytest.raises(runner.LabError) as exc:
        runner.preflight()
    assert "ovs-vsctl" in str(exc.value)
    assert exc.value.hint is not None and "apt-get install -y" in exc.value.hint
    assert "openvswitch-switch" in exc.value.hint


def test_bad_lab_id_on_the_cli() -> None:
    result = CliRunner().invoke(lab_app, ["down", str(EXAMPLE), "--lab-id", "TOO-LONG"])
    assert result.exit_code == 1
    assert "3 characters" in result.output


# --------------------------------------------------------------------------
# VPN: office routers as SSH hosts, the gateway's port forward and routes


def test_linux_office_routers_are_containers_reachable_over_the_wan(
    spec: Spec, plan: LabPlan
) -> None:
    mg = spec.site.management
    routes = {(r.netns, r.dst): r for r in plan.routes}
    for code, opd in spec.opds.items():
        for off in opd.offices:
            o = plan.office(f"{code}/{off.name}")
            if off.router != "linux":
                assert o.container is None
                assert (o.router_netns, mg.prefix) not in routes
                continue
            assert o.container == f"{plan.prefix}-or-{code}-{off.name}"
            back = routes[(o.router_netns, mg.prefix)]
            assert back.via == "203.0.113.10" and back.dev == o.wan_ifname
            there = routes[(None, f"{off.wan_address}/32")]
            assert there.via == mg.gateway and there.dev == plan.mgmt.root_ifname  # type: ignore[union-attr]
            assert routes[(plan.gateway_netns, f"{off.wan_address}/32")].dev == f"{plan.prefix}wg"
    names = [o.container for o in plan.office_containers()]
    linux = sum(off.router == "linux" for opd in spec.opds.values() for off in opd.offices)
    assert len(names) == len(set(names)) == linux > 0


def test_gateway_forwards_the_hub_port_and_routes_offices_via_the_hub_vm(
    spec: Spec, plan: LabPlan
) -> None:
    from dcctl.plan.desired import desired_state

    v = plan.vpn
    assert v is not None and spec.site.vpn is not None
    state = desired_state(spec)
    hub_vm = state["vms"][spec.site.vpn.vm]
    assert v.hub_address == hub_vm["address"].split("/")[0]
    assert v.public_address == "203.0.113.10" and v.port == spec.site.vpn.listen_port
    # The hub is public, so it sits on its OPD's DMZ (issue 15), reached from that leg.
    hub_net = "kominfo/dmz" if hub_vm["exposure"] == "public" else "kominfo/servers"
    gw_if = next(g for g in plan.gateway_networks if g.key == hub_net)
    assert v.ifname == gw_if.ifname and v.netns == plan.gateway_netns
    assert v.table.startswith(plan.prefix)
    routed = {
        r.dst: r for r in plan.routes if r.netns == plan.gateway_netns and r.via == v.hub_address
    }
    wanted = {p["lan_prefix"] for p in state["vpn"].values()} | {spec.site.vpn.tunnel_pool}
    assert set(routed) == wanted == set(v.routed)
    assert all(r.dev == gw_if.ifname for r in routed.values())


def test_lab_down_finds_office_router_containers_by_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    calls: list[list[str]] = []

    def fake_run(argv: list[str], **_kw: object) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        out = "dlt01-vm-kominfo-nvr dlt01-or-dinkes-pkm-kertek dlt02-or-x other\n"
        return subprocess.CompletedProcess(argv, 0, out, "")

    monkeypatch.setattr(net, "which", lambda cmd: "/usr/bin/" + cmd)
    monkeypatch.setattr(subprocess, "run", fake_run)
    assert runner._remove_lab_vms("dlt01") == 2
    rm = calls[-1]
    assert "dlt01-or-dinkes-pkm-kertek" in rm and "dlt01-vm-kominfo-nvr" in rm
    assert "dlt02-or-x" not in rm


def test_a_lab_whose_addresses_another_lab_holds_names_that_lab(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two labs of one spec share root routes: `up` must see whose they are (or that
    they are its own, or no lab's) before it builds anything."""
    plan = build_plan(load_spec(EXAMPLE), "abc")
    assert plan.mgmt is not None
    mgmt_net = str(ipaddress.ip_network(plan.mgmt.prefix))
    held: dict[str, dict[str, str]] = {}
    monkeypatch.setattr(net, "routes", lambda netns: held if netns is None else {})
    assert runner.address_holder(plan) is None  # nothing there yet
    held[mgmt_net] = {"dev": plan.mgmt.root_ifname}  # its own, from an earlier up
    assert runner.address_holder(plan) is None
    held[plan.mgmt.root_routes[-1]] = {"dev": lab_prefix("x7q") + "mr"}
    assert runner.address_holder(plan) == ("x7q", plan.mgmt.root_routes[-1], "dlx7qmr")
    held.clear()
    held[mgmt_net] = {"dev": "eth0"}  # the machine's own network, not a lab
    assert runner.address_holder(plan) is None
