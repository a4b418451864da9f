"""The edge policy (issue 20): one vendor-neutral rule list, the lab's iptables and a
RouterOS gateway's firewall rendered from it.

Why pinned: the lab's rules were proven by packets in the lab suite; the policy they
are now rendered from must not change one of them (the lab suite is not re-run for a
refactoring), so today's strings for the example regency are written out here.
"""

from __future__ import annotations

from functools import partial

import pytest

from dcctl.lab.edge import forward_rules, input_rules
from dcctl.lab.plan import EdgePlan, LabPlan
from dcctl.lab.topology import build_plan
from dcctl.plan.edge import GUEST, MGMT, WAN, decide, edge_policy, staff
from dcctl.spec import load_spec
from tests.conftest import EXAMPLE

STAFF = ("104", "107", "109", "111", "114", "118")


@pytest.fixture(scope="module")
def example_plan(tmp_path_factory: pytest.TempPathFactory) -> LabPlan:
    return build_plan(load_spec(EXAMPLE), "t01", state_dir=tmp_path_factory.mktemp("state"))


def test_the_example_labs_iptables_rules_are_unchanged(example_plan: LabPlan) -> None:
    e = example_plan.edge
    assert e is not None
    assert [lan for _, lan in e.staff_lans] == [f"dlt01v{v}g" for v in STAFF]
    staff = [f"-i dlt01v{a}g -o dlt01v{b}g -j DROP" for a in STAFF for b in STAFF if a != b]
    assert forward_rules(e) == [
        *staff,
        "-i dlt01v98g -o dlt01wg -j ACCEPT",
        "-i dlt01v98g -j DROP",
        "-o dlt01v98g -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-o dlt01v98g -j DROP",
    ]
    assert input_rules(e) == [
        "-i dlt01v98g -d 10.98.0.1/32 -p icmp -j ACCEPT",
        "-i dlt01v98g -d 10.98.0.1/32 -p udp -m udp --dport 53 -j ACCEPT",
        "-i dlt01v98g -p udp -m udp --dport 67 -j ACCEPT",
        "-i dlt01v98g -j DROP",
    ]


def test_without_guests_the_lab_keeps_only_staff_lans_apart() -> None:
    e = EdgePlan("gw", "X-EDGE", (("a", "va"), ("b", "vb")))
    assert forward_rules(e) == ["-i va -o vb -j DROP", "-i vb -o va -j DROP"]
    assert input_rules(e) == []


def test_guests_reach_the_internet_only_and_staff_lans_stay_apart() -> None:
    rules = edge_policy(["dinkes", "setda"], guest=True)
    fwd = partial(decide, rules, "forward")
    assert fwd(GUEST, WAN) == "accept"
    for elsewhere in (staff("dinkes"), staff("setda"), MGMT):
        assert fwd(GUEST, elsewhere) == "drop"
    assert fwd(staff("dinkes"), staff("setda")) == "drop"
    assert fwd(staff("setda"), staff("dinkes")) == "drop"
    assert fwd(WAN, GUEST) == "drop"  # nothing new into the guest network
    assert fwd(WAN, GUEST, reply=True) == "accept"
    assert fwd(staff("dinkes"), WAN) is None  # not the edge policy's business


def test_a_guest_reaches_only_its_own_gateway_address_for_ping_dns_and_dhcp() -> None:
    rules = edge_policy(["dinkes"], guest=True)
    inp = partial(decide, rules, "input", GUEST)
    assert inp("self", protocol="icmp") == "accept"
    assert inp("self", protocol="udp", port=53) == "accept"
    assert inp("self", protocol="udp", port=67) == "accept"
    assert inp("self", protocol="tcp", port=22) == "drop"  # no SSH, no web UI
    assert inp(MGMT, protocol="icmp") == "drop"  # another address of the gateway
    assert inp(staff("dinkes"), protocol="udp", port=53) == "drop"
    assert decide(rules, "input", staff("dinkes"), "self", protocol="tcp", port=22) is None


def test_without_a_guest_network_only_staff_lans_are_kept_apart() -> None:
    rules = edge_policy(["a", "b", "c"], guest=False)
    assert {(r.src, r.dst) for r in rules} == {
        (staff(a), staff(b)) for a in "abc" for b in "abc" if a != b
    }
    assert all(r.chain == "forward" and r.action == "drop" for r in rules)
