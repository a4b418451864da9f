"""The site's gateway (issue 20): the edge policy as RouterOS firewall rules.

Why: guest Wi-Fi must reach only the internet and staff LANs of different OPDs
never each other, on the production gateway as in the lab. These prove the spec
takes one RouterOS gateway (and refuses others where they are written), the
switch layer renders the policy as exact `/ip firewall` lines, and a gateway whose
dcctl rules were edited or added to by hand is put back, its own rules untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from dcctl.vendors.mikrotik_routeros import firewall
from dcctl.vendors.mikrotik_routeros.driver import (
    DRIVER,
    RosState,
    parse_export,
    remediation,
    verify_state,
)
from tests.helpers import spec_error
from tests.specs import OpdSpec, build_spec, site_doc, write_spec

OPDS = [OpdSpec("dinkes", lan_ports=1, switch=1), OpdSpec("dishub", lan_ports=1, switch=1)]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "devices" / "mikrotik_routeros"
#: The device's own rules (MikroTik's defconf), which dcctl must leave as they are.
OWN_RULES = (FIXTURES / "firewall_2_wans_v7.rsc").read_text()

FIREWALL = """\
/ip firewall address-list add address=10.98.0.0/24 comment="dcctl" list=dcctl-guest
/ip firewall address-list add address=10.255.0.0/24 comment="dcctl" list=dcctl-mgmt
/ip firewall address-list add address=10.64.0.0/24 comment="dcctl" list=dcctl-staff-dinkes
/ip firewall address-list add address=10.64.1.0/24 comment="dcctl" list=dcctl-staff-dishub
/ip firewall filter add action=drop chain=forward comment="dcctl: dinkes staff LAN apart from dishub" dst-address-list=dcctl-staff-dishub src-address-list=dcctl-staff-dinkes
/ip firewall filter add action=drop chain=forward comment="dcctl: dishub staff LAN apart from dinkes" dst-address-list=dcctl-staff-dinkes src-address-list=dcctl-staff-dishub
/ip firewall filter add action=accept chain=forward comment="dcctl: guest Wi-Fi to the internet" out-interface=ether1 src-address-list=dcctl-guest
/ip firewall filter add action=drop chain=forward comment="dcctl: guest Wi-Fi nowhere else" src-address-list=dcctl-guest
/ip firewall filter add action=accept chain=forward comment="dcctl: replies to guests" connection-state=established,related dst-address-list=dcctl-guest
/ip firewall filter add action=drop chain=forward comment="dcctl: nothing new into guest Wi-Fi" dst-address-list=dcctl-guest
/ip firewall filter add action=accept chain=input comment="dcctl: guests ping it" dst-address=10.98.0.1 protocol=icmp src-address-list=dcctl-guest
/ip firewall filter add action=accept chain=input comment="dcctl: guest DNS" dst-address=10.98.0.1 dst-port=53 protocol=udp src-address-list=dcctl-guest
/ip firewall filter add action=accept chain=input comment="dcctl: guest DHCP" dst-port=67 protocol=udp src-address-list=dcctl-guest
/ip firewall filter add action=drop chain=input comment="dcctl: guests reach no other gateway address" src-address-list=dcctl-guest
/ip firewall nat add action=masquerade chain=srcnat comment="dcctl: guest Wi-Fi behind the WAN address" out-interface=ether1 src-address-list=dcctl-guest
"""  # noqa: E501


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The gateway's intent in the wireless spec (two OPDs, guest Wi-Fi) plus a gateway."""
    root = build_spec(
        tmp_path_factory.mktemp("gw"),
        switches=["cisco_ios", "cisco_ios"],
        opds=OPDS,
        wireless=True,
        gateway=True,
    )
    intent: dict[str, Any] = desired_state(load_spec(root))["switches"]["gw"]
    return intent


@pytest.fixture(scope="module")
def intended(gw: dict[str, Any]) -> str:
    return DRIVER.intended("gw", gw)


def test_the_edge_policy_renders_as_exact_routeros_firewall_lines(
    gw: dict[str, Any], intended: str
) -> None:
    assert gw["role"] == "gateway" and gw["edge"]["wan_port"] == "ether1"
    assert intended.endswith(FIREWALL)
    assert intended.count("/ip firewall") == FIREWALL.count("/ip firewall")


def test_a_rendered_gateway_config_has_nothing_left_to_change(
    gw: dict[str, Any], intended: str
) -> None:
    assert remediation(intended, intended, set(), full=False) == []
    # The device's own rules after dcctl's change nothing either.
    assert remediation(intended + OWN_RULES, intended, set(), full=False) == []
    assert verify_state(parse_export(intended + OWN_RULES), gw) == []


def test_dcctls_rules_behind_the_devices_own_are_moved_ahead_of_them(
    gw: dict[str, Any], intended: str
) -> None:
    """MikroTik's defconf accepts ICMP to the router first: behind it, dcctl's drop of
    guests to the gateway's other addresses would let a guest ping the management
    address. Seen by verify, and dcctl's rules go again, each before the first static
    rule, last first (so they end in the policy's order ahead of the device's)."""
    running = OWN_RULES + intended
    assert verify_state(parse_export(running), gw) == [
        "firewall filter: a rule of the device's own comes before dcctl's"
    ]  # the NAT table holds dcctl's rule alone: it leads
    lines = remediation(running, intended, set(), full=False)
    removes = [line for line in lines if " remove " in line]
    assert len(removes) == 10 and all('comment="dcctl: ' in x for x in removes)
    want = [line for line in FIREWALL.splitlines() if line.startswith("/ip firewall filter")]
    anchor = " place-before=[:pick [find where dynamic=no] 0]"
    assert lines == removes + [line + anchor for line in reversed(want)]


def test_an_edited_or_extra_dcctl_rule_is_put_back_and_the_devices_own_kept(
    gw: dict[str, Any], intended: str
) -> None:
    edited = intended.replace(
        'action=drop chain=forward comment="dcctl: guest Wi-Fi nowhere else"',
        'action=accept chain=forward comment="dcctl: guest Wi-Fi nowhere else"',
    )
    extra = '/ip firewall filter add action=accept chain=input comment="dcctl: hand" protocol=tcp\n'
    running = OWN_RULES + edited + extra
    assert verify_state(parse_export(running), gw)  # the drift is seen
    lines = remediation(running, intended, set(), full=False)
    removes = [line for line in lines if " remove " in line]
    assert all(line.startswith("/ip firewall filter remove [find comment=") for line in removes)
    assert '/ip firewall filter remove [find comment="dcctl: hand"]' in removes
    assert len(removes) == 11  # each of dcctl's rules, by its comment, and nothing else
    adds = [line for line in lines if " add " in line]
    want = [line for line in FIREWALL.splitlines() if line.startswith("/ip firewall filter")]
    # All of them again after the removes, ahead of the device's own: each before the
    # first static rule, in reverse so they end in the policy's order.
    anchor = " place-before=[:pick [find where dynamic=no] 0]"
    assert adds == [line + anchor for line in reversed(want)]
    assert lines == removes + adds
    assert not any("defconf" in line for line in lines)
    # The device after the change (dcctl's rules, then the rest of its own): converged.
    after = (
        "\n".join(line for line in intended.splitlines() if "/ip firewall filter" not in line)
        + "\n"
        + "\n".join(want)
        + "\n"
        + OWN_RULES
    )
    assert remediation(after, intended, set(), full=False) == []
    assert verify_state(parse_export(after), gw) == []


def test_address_lists_change_by_entry_and_the_nat_rule_is_dcctls(intended: str) -> None:
    running = intended.replace("address=10.64.1.0/24", "address=10.64.9.0/24")
    running += '/ip firewall address-list add address=192.0.2.1 list=blocked comment="own"\n'
    assert remediation(running, intended, set(), full=False) == [
        "/ip firewall address-list remove [find list=dcctl-staff-dishub address=10.64.9.0/24]",
        '/ip firewall address-list add address=10.64.1.0/24 comment="dcctl" '
        "list=dcctl-staff-dishub",
    ]
    no_nat = "\n".join(line for line in intended.splitlines() if "/ip firewall nat" not in line)
    assert remediation(no_nat + "\n", intended, set(), full=False) == [FIREWALL.splitlines()[-1]]


def test_a_rollback_removes_dcctls_firewall_and_keeps_the_devices_own(intended: str) -> None:
    backup = (
        OWN_RULES
        + "\n".join(line for line in intended.splitlines() if "/ip firewall" not in line)
        + "\n"
    )
    lines = DRIVER.restore(OWN_RULES + intended, backup)
    assert lines and all(" remove " in line for line in lines)
    assert sum(line.startswith("/ip firewall address-list remove") for line in lines) == 4
    assert sum(line.startswith("/ip firewall nat remove") for line in lines) == 1
    assert not any("defconf" in line for line in lines)


def test_a_wired_switch_or_an_ap_gets_no_firewall(wireless_intents: dict[str, Any]) -> None:
    for name, intent in wireless_intents.items():
        assert "edge" not in intent
        state = RosState()
        firewall.desired(intent, state)
        assert not state.firewall, name


# --------------------------------------------------------------------------
# The spec


def _gateway_spec(dest: Path, mutate: Callable[[dict[str, Any], dict[str, Any]], None]) -> Path:
    """The wireless spec with a gateway at ``dest``, after ``mutate(site, gateway)``."""
    site, docs = site_doc(["cisco_ios", "cisco_ios"], OPDS, wireless=True, gateway=True)
    mutate(site, next(s for s in site["switches"] if s["role"] == "gateway"))
    return write_spec(dest, site, docs)


def _line_of(root: Path, text: str, nth: int = 1) -> int:
    """The line number of the `nth` line of site.yaml that reads `text` (stripped)."""
    lines = (root / "site.yaml").read_text().splitlines()
    hits = [i for i, line in enumerate(lines, 1) if line.strip().lstrip("- ") == text]
    return hits[nth - 1]


def test_a_gateway_of_another_vendor_is_refused_at_its_vendor(tmp_path: Path) -> None:
    root = _gateway_spec(tmp_path / "spec", lambda _site, gw: gw.update(vendor="huawei_vrp"))
    err = spec_error(root, "mikrotik_routeros only")
    assert err.file == "site.yaml" and err.path.endswith(".vendor"), err
    assert err.line == _line_of(root, "vendor: huawei_vrp")


def test_a_second_gateway_is_refused_at_its_role(tmp_path: Path) -> None:
    def second(site: dict[str, Any], gw: dict[str, Any]) -> None:
        site["switches"].append({**gw, "name": "gw2", "mgmt_address": "10.255.0.3"})

    root = _gateway_spec(tmp_path / "spec", second)
    err = spec_error(root, "second gateway")
    assert err.file == "site.yaml" and err.path.endswith(".role"), err
    assert err.line == _line_of(root, "role: gateway", nth=2)
    assert "gw2" in err.message and "gw" in err.message


def test_a_gateway_names_its_wan_port_among_its_ports(tmp_path: Path) -> None:
    root = _gateway_spec(tmp_path / "a", lambda _site, gw: gw.update(wan_port="ether7"))
    err = spec_error(root, "lists no port ether7")
    assert err.file == "site.yaml" and err.line == _line_of(root, "wan_port: ether7")
    root = _gateway_spec(tmp_path / "b", lambda _site, gw: gw.pop("wan_port"))
    assert spec_error(root, "needs wan_port").file == "site.yaml"


def test_the_lab_routeros_dialect_converges_a_gateway_and_rolls_it_back(
    gw: dict[str, Any], intended: str
) -> None:
    """Replayed on the emulator's RouterOS (which takes `/ip firewall` as RouterOS does):
    the device's own rules stay, dcctl's converge, an edit is put back, a restore undoes."""
    from dcctl.vendors.mikrotik_routeros.lab import VENDOR, RosSession

    cfg, warnings = VENDOR.boot("MikroTik", ["ether1", "ether2"], OWN_RULES)
    assert warnings == []
    session = RosSession(None, "admin", cfg)

    def replay(cmds: list[str]) -> str:
        for cmd in cmds:
            assert session.handle(cmd).output == "", cmd
        return "\n".join(cfg.export_lines(terse=True)) + "\n"

    before = replay([])
    changed = replay(remediation(before, intended, set(), full=False))
    assert remediation(changed, intended, set(), full=False) == []
    assert verify_state(parse_export(changed), gw) == []
    own = [r["comment"] for r in parse_export(OWN_RULES).firewall.filter]
    mine = [r["comment"] for r in parse_export(intended).firewall.filter]
    # dcctl's rules first, in the policy's order, then the device's own as they were:
    # a guest's ping to the management address meets dcctl's drop before defconf's
    # "accept ICMP".
    assert [r["comment"] for r in cfg.filter] == mine + own
    input_chain = [r["comment"] for r in cfg.filter if r["chain"] == "input"]
    assert input_chain.index("dcctl: guests reach no other gateway address") < input_chain.index(
        "defconf: accept ICMP"
    )
    replay(['/ip firewall filter set [find comment="dcctl: guest DNS"] dst-port=54'])
    edited = replay([])
    assert verify_state(parse_export(edited), gw)
    fixed = replay(remediation(edited, intended, set(), full=False))
    assert remediation(fixed, intended, set(), full=False) == []
    restored = replay(DRIVER.restore(fixed, before))
    assert parse_export(restored).normalized() == parse_export(before).normalized()


def test_the_lab_dialect_places_a_rule_before_the_first_static_one() -> None:
    """The emulator evaluates dcctl's anchor as RouterOS would on a table without
    dynamic rules, and refuses an anchor that names no rule (an empty table), which is
    why dcctl adds plainly where the device has no rule of its own."""
    from dcctl.vendors.mikrotik_routeros.lab import VENDOR, RosSession

    cfg, _warnings = VENDOR.boot("MikroTik", ["ether1"], "")
    session = RosSession(None, "admin", cfg)
    anchor = "place-before=[:pick [find where dynamic=no] 0]"
    refused = session.handle(f"/ip firewall filter add chain=input action=drop {anchor}")
    assert "no such item" in refused.output and cfg.filter == []
    for comment in ("a", "b"):
        assert session.handle(f"/ip firewall filter add chain=input comment={comment}").output == ""
    for comment in ("y", "x"):  # reversed, each before the first static rule
        line = f"/ip firewall filter add chain=forward comment={comment} {anchor}"
        assert session.handle(line).output == ""
    assert [r["comment"] for r in cfg.filter] == ["x", "y", "a", "b"]
    assert session.handle("/ip firewall filter add chain=input place-before=1").output == ""
    assert [r["comment"] for r in cfg.filter][:2] == ["x", None]
    assert "dynamic" not in "\n".join(cfg.export_lines(terse=True))
    refused = session.handle("/ip firewall filter add chain=input dynamic=yes")
    assert refused.output  # a dynamic rule is the router's to make, not a user's
