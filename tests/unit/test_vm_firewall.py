"""Every VM's default-deny firewall: exactly the flows the spec needs (issue 15).

A small regency built here (tests/specs.py) states each flow it expects: SSH only
from management, the node exporter only from the monitoring VM, a declared service
only from its scope, a public VM's HTTP(S) from anywhere, and never the whole server
pool, another OPD or a camera network as a source. The rendered nftables file is what
the hosts layer hands each VM (checked by `nft -c` and real packets in
tests/lab/test_ci_apply_job.py).
"""

from __future__ import annotations

from pathlib import Path

import netaddr
import pytest

from dcctl.engines.ansible.inventory import host_name
from dcctl.engines.ansible.layer import inventory_for
from dcctl.engines.ansible.vars import PROVIDERS, collect
from dcctl.firewall.flows import Flow, vm_flows
from dcctl.firewall.nft import TABLE, render
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from dcctl.spec.loader import Spec
from tests.helpers import assert_edit_refused
from tests.specs import OpdSpec, VmSpec, build_spec


def _spec(tmp: Path) -> Path:
    dinkes = OpdSpec(
        "dinkes",
        vms=[
            VmSpec("simpus", extra={"services": [{"port": 5432, "from": "opd"}]}),
            VmSpec(
                "portal",
                role="web",
                extra={
                    "exposure": "public",
                    "classification": "publik",
                    "services": [{"port": 8443, "from": "public"}],
                },
            ),
            VmSpec("sso", extra={"services": [{"port": 636, "from": "regency"}]}),
        ],
        cameras=1,
        offices=1,
        lan_ports=1,
    )
    bappeda = OpdSpec("bappeda", vms=[VmSpec("sipd")], offices=1)
    return build_spec(tmp, opds=[dinkes, bappeda], services="dinkes")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Spec]:
    root = _spec(tmp_path_factory.mktemp("fw"))
    return root, load_spec(root)


def _by_port(flows: list[Flow], protocol: str, port: int) -> Flow:
    hits = [f for f in flows if f.protocol == protocol and port in f.ports]
    assert len(hits) == 1, (protocol, port, flows)
    return hits[0]


def _covered(sources: tuple[str, ...] | None, prefix: str) -> bool:
    if sources is None:
        return True
    net = netaddr.IPNetwork(prefix)
    return any(net in netaddr.IPNetwork(s) for s in sources)


def test_every_vm_gets_ssh_from_management_and_nothing_undeclared(built: tuple[Path, Spec]) -> None:
    _, spec = built
    state = desired_state(spec)
    flows = vm_flows(spec, state)
    assert set(flows) == set(state["vms"])
    mgmt = spec.site.management.prefix
    monitor = state["vms"][spec.site.monitoring.vm]["address"].split("/")[0] + "/32"
    for key, fl in flows.items():
        assert _by_port(fl, "tcp", 22).sources == (mgmt,)
        assert _by_port(fl, "tcp", 9100).sources == (monitor,)
        vm = state["vms"][key]
        ports = {(f.protocol, p) for f in fl for p in f.ports}
        expected = {("tcp", 22), ("tcp", 9100)}
        if vm["exposure"] == "public":
            expected |= {("tcp", 80), ("tcp", 443)}
        if key == spec.site.monitoring.vm:
            expected |= {("tcp", 9090), ("tcp", 9093)}
        if key == spec.site.vpn.vm:
            expected.add(("udp", spec.site.vpn.listen_port))
        declared = {"dinkes/simpus": 5432, "dinkes/portal": 8443, "dinkes/sso": 636}
        if key in declared:
            expected.add(("tcp", declared[key]))
        assert ports == expected, key


def test_no_source_is_the_server_pool_another_opd_or_a_camera(built: tuple[Path, Spec]) -> None:
    _, spec = built
    state = desired_state(spec)
    pool = spec.site.ipam.server_pool
    cctv = [n["prefix"] for k, n in state["networks"].items() if k.endswith("/cctv")]
    assert cctv, "the test regency has a camera network"
    for key, fl in vm_flows(spec, state).items():
        for f in fl:
            if f.sources is None:
                continue
            assert not _covered(f.sources, pool), (key, f)
            assert not any(_covered(f.sources, c) for c in cctv), (key, f)
            if f.protocol != "icmp" and "regency" not in f.why:
                others = [
                    n["prefix"]
                    for n in state["networks"].values()
                    if n["opd"] != state["vms"][key]["opd"]
                ]
                mine_mgmt = spec.site.management.prefix
                assert not any(_covered(f.sources, o) for o in others if o != mine_mgmt), (key, f)


def test_declared_services_open_to_their_scope_only(built: tuple[Path, Spec]) -> None:
    _, spec = built
    state = desired_state(spec)
    flows = vm_flows(spec, state)
    nets = state["networks"]
    office = {k.split("/")[0]: v["lan_prefix"] for k, v in state["vpn"].items()}
    db = _by_port(flows["dinkes/simpus"], "tcp", 5432)
    assert _covered(db.sources, nets["dinkes/servers"]["prefix"])
    assert _covered(db.sources, nets["dinkes/lan"]["prefix"])
    assert _covered(db.sources, office["dinkes"])  # its own office through the hub
    assert not _covered(db.sources, nets["bappeda/servers"]["prefix"])
    assert not _covered(db.sources, office["bappeda"])
    sso = _by_port(flows["dinkes/sso"], "tcp", 636)
    assert _covered(sso.sources, nets["bappeda/servers"]["prefix"])
    assert _covered(sso.sources, office["bappeda"])
    assert _by_port(flows["dinkes/portal"], "tcp", 8443).sources is None
    assert _by_port(flows["dinkes/portal"], "tcp", 443).sources is None
    # The public VM accepts nothing else from the OPD's internal networks (item 2).
    internal = nets["dinkes/servers"]["prefix"]
    tcp = [f for f in flows["dinkes/portal"] if f.protocol != "icmp" and f.sources]
    assert not any(_covered(f.sources, internal) for f in tcp), tcp


def test_rendered_table_drops_by_default_and_accepts_exactly_the_flows(
    built: tuple[Path, Spec],
) -> None:
    _, spec = built
    flows = vm_flows(spec)["dinkes/simpus"]
    text = render("dinkes/simpus", flows)
    lines = [ln.strip() for ln in text.splitlines()]
    assert f"table inet {TABLE} {{" in lines
    assert "type filter hook input priority filter; policy drop;" in lines
    accepts = [ln for ln in lines if ln.endswith('"') and " accept comment " in ln]
    assert len(accepts) == len(flows)
    mgmt = spec.site.management.prefix
    assert f'ip saddr {{ {mgmt} }} tcp dport 22 accept comment "ssh from management"' in lines
    assert not any("forward" in ln or "output" in ln for ln in lines)  # input only
    assert render("dinkes/simpus", flows) == text  # stable


@pytest.mark.parametrize(
    "flow",
    [
        Flow("tcp", (22,), ("10.0.0.0/8 } accept; flush ruleset; {",), "x"),
        Flow("tcp", (22,), ("::/0",), "x"),
        Flow("tcp", (0,), None, "x"),
        Flow("tcp", (70000,), None, "x"),
        Flow("tcp", (), None, "x"),
        Flow("tcp; flush ruleset", (22,), None, "x"),  # type: ignore[arg-type]
        Flow("tcp", (22,), (), "x"),
    ],
)
def test_render_refuses_what_is_no_flow(flow: Flow) -> None:
    with pytest.raises((ValueError, netaddr.AddrFormatError)):
        render("dinkes/simpus", [flow])


def test_comment_and_name_cannot_break_out() -> None:
    text = render('a/b"; flush ruleset', [Flow("tcp", (22,), None, 'why" ; flush ruleset #{')])
    header, rule = text.splitlines()[1], text.split("comment ", 1)[1].splitlines()[0]
    assert '"' not in header and ";" not in header
    assert rule.count('"') == 2 and not set(rule) & set(";#{}")


def test_each_vm_gets_its_own_ruleset_as_a_host_variable(
    built: tuple[Path, Spec], tmp_path: Path
) -> None:
    _, spec = built
    state = desired_state(spec)
    assert PROVIDERS["firewall"] == "dcctl.firewall.ansible:role_vars"  # found by place
    rv = collect(spec, tmp_path, "lab", {"firewall": PROVIDERS["firewall"]}, state=state)
    inventory = inventory_for(spec, None, rv, state)
    hostvars = inventory["_meta"]["hostvars"]
    flows = vm_flows(spec, state)
    for key in state["vms"]:
        assert hostvars[host_name(key)]["vm_firewall_ruleset"] == render(key, flows[key])
    assert "vm_firewall_ruleset" not in rv.public


def test_public_service_on_an_internal_vm_is_refused(tmp_path: Path) -> None:
    root = _spec(tmp_path)
    err = assert_edit_refused(
        root,
        "opd/dinkes.yaml",
        "from: opd",
        "from: public",
        "vms[0].services[0].from",
        "cannot be open to the public",
    )
    assert "simpus" in err.message


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        ("port: 5432", "port: 0", "vms[0].services[0].port", "greater than or equal to 1"),
        ("port: 5432", "port: 65536", "vms[0].services[0].port", "less than or equal to 65535"),
        ("port: 5432", "port: '5432; flush'", "vms[0].services[0].port", "integer"),
        ("port: 5432", "port: 5432\n    protocol: icmp", "vms[0].services[0].protocol", "tcp"),
        ("from: opd", "source: opd", "vms[0].services[0].source", "allowed: port, protocol, from"),
        ("from: opd", "from: 0.0.0.0/0", "vms[0].services[0].from", "opd"),
        ("from: opd", "from: [opd, public]", "vms[0].services[0].from", "opd"),
    ],
)
def test_hostile_services_are_refused_with_file_line_field(
    tmp_path: Path, old: str, new: str, field: str, fragment: str
) -> None:
    assert_edit_refused(_spec(tmp_path), "opd/dinkes.yaml", old, new, field, fragment)


def test_a_port_declared_twice_is_refused(tmp_path: Path) -> None:
    root = _spec(tmp_path)
    assert_edit_refused(
        root,
        "opd/dinkes.yaml",
        "- port: 5432",
        "- port: 5432\n    from: opd\n  - port: 5432",
        "vms[0].services[1].port",
        "twice",
    )


def test_lab_gateway_keeps_each_dmz_out_of_internal_networks(built: tuple[Path, Spec]) -> None:
    """The lab gateway's DMZ chain (dcctl.lab.dmz): out of a DMZ nothing internal but
    DNS; into it exactly its VMs' flows, then a drop (issue 15, item 2)."""
    from dcctl.lab.dmz import rules

    _, spec = built
    state = desired_state(spec)
    dmz = state["networks"]["dinkes/dmz"]["prefix"]
    got = rules(spec, state)
    assert got[0][-1] == "ACCEPT" and "RELATED,ESTABLISHED" in got[0]
    internal = [spec.site.management.prefix, spec.site.ipam.server_pool, spec.site.ipam.lan_pool]
    drops_out = [r[3] for r in got if r[:2] == ["-s", dmz] and r[-1] == "DROP"]
    for net in internal:
        assert any(netaddr.IPNetwork(net) in netaddr.IPNetwork(d) for d in drops_out), net
    allowed_out = [
        r
        for r in got
        if r[:2] == ["-s", dmz]
        and r[-1] == "ACCEPT"
        and netaddr.IPNetwork(r[3]) not in netaddr.IPNetwork(dmz)  # not within the DMZ
    ]
    assert allowed_out and all("53" in r for r in allowed_out)  # DNS only
    portal = state["vms"]["dinkes/portal"]["address"].split("/")[0] + "/32"
    into = [r for r in got if f"{portal}" in r and r[-1] == "ACCEPT"]
    n_rules = sum(
        1 if f.sources is None else len(f.sources) for f in vm_flows(spec)["dinkes/portal"]
    )
    assert len(into) == n_rules
    assert got[-1] == ["-d", dmz, "-j", "DROP"]
    # The internal VMs are not behind the DMZ chain (their own firewalls filter them).
    simpus = state["vms"]["dinkes/simpus"]["address"].split("/")[0] + "/32"
    assert not any(simpus in r for r in got)


def test_no_dmz_no_gateway_rules(tmp_path: Path) -> None:
    from dcctl.lab.dmz import rules

    spec = load_spec(build_spec(tmp_path, opds=[OpdSpec("dinkes", vms=[VmSpec("simpus")])]))
    assert rules(spec) == []
