"""The example regency's switches configured by dcctl's engine, proven with real packets.

Builds the lab from examples/wonosobo (factory-default switches), pushes every
IOS switch's intended config through netmiko the way `dcctl apply` does, then
checks L2 reachability between OPD buildings across the fiber trunks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from netmiko import ConnectHandler

from dcctl.engines.switches.engine import SwitchTarget, change_all
from dcctl.lab.secrets import lab_secret
from dcctl.plan.desired import desired_state
from tests.lab.conftest import Lab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]


def _targets(lab: Lab) -> list[SwitchTarget]:
    intents = desired_state(lab.spec)["switches"]
    return [
        SwitchTarget(
            sw.name,
            intents[sw.name],
            sw.mgmt_address,
            "admin",
            lab_secret(lab.plan.state_dir, sw.credential),
        )
        for sw in lab.spec.site.switches
        if sw.vendor == "cisco_ios"
    ]


def _managed(lab: Lab) -> set[int]:
    lo, hi = lab.spec.site.ipam.vlan_range
    return set(range(lo, hi + 1)) | {lab.spec.site.management.vlan}


def _ping(netns: str, address: str) -> bool:
    p = subprocess.run(
        ["ip", "netns", "exec", netns, "ping", "-c", "2", "-W", "1", "-i", "0.3", address],
        capture_output=True,
        timeout=20,
    )
    return p.returncode == 0


def _prune_dinkes_lan_off_setda_fiber(lab: Lab) -> None:
    """Someone edits sw-dist-kota by hand (no `write memory`)."""
    kota = next(t for t in _targets(lab) if t.name == "sw-dist-kota")
    vlan = lab.spec.allocation.vlans["dinkes/lan"]
    with ConnectHandler(
        device_type="cisco_ios",
        host=kota.host,
        username=kota.username,
        password=kota.password,
        secret=kota.password,
    ) as conn:
        conn.enable()
        conn.send_config_set(
            ["interface GigabitEthernet1/0/1", f"switchport trunk allowed vlan remove {vlan}"]
        )


def _building(lab: Lab, opd: str, name: str):
    return next(b for b in lab.plan.buildings if b.opd == opd and b.name == name)


def test_same_opd_reaches_across_fiber_other_opd_cannot(built_lab: Lab, tmp_path: Path) -> None:
    lab = built_lab
    kantor = _building(lab, "dinkes", "kantor-dinkes")  # on sw-dinkes
    labkesda = _building(lab, "dinkes", "labkesda")  # on sw-setda, two fiber hops away
    setda = _building(lab, "setda", "gedung-setda")  # another OPD on the same switch
    target_ip = kantor.address.split("/")[0]
    # The intruder: a host of another OPD given an address in Dinkes' subnet. Only
    # VLANs can separate it; factory-default IOS switches (all VLAN 1) do not.
    intruder = "10.64.0.200/24"
    assert lab.spec.allocation.prefixes["dinkes/lan"] == "10.64.0.0/24"
    subprocess.run(
        ["ip", "netns", "exec", setda.netns, "ip", "addr", "add", intruder, "dev", setda.ifname],
        check=True,
        timeout=10,
    )
    assert _ping(setda.netns, target_ip), "factory default should flood VLAN 1 everywhere"

    first = change_all(_targets(lab), _managed(lab), tmp_path / "backups")
    assert [r.status for r in first if not r.ok] == [], [r.to_dict() for r in first]
    assert {r.status for r in first} == {"changed"}
    assert _ping(labkesda.netns, target_ip)

    # Now the VLANs separate the intruder from Dinkes: isolation proven at layer 2.
    try:
        assert not _ping(setda.netns, target_ip)
    finally:
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                setda.netns,
                "ip",
                "addr",
                "del",
                intruder,
                "dev",
                setda.ifname,
            ],
            timeout=10,
        )

    second = change_all(_targets(lab), _managed(lab), tmp_path / "backups")
    assert {r.status for r in second} == {"unchanged"}, [r.to_dict() for r in second]

    # Out of band: someone prunes Dinkes' LAN VLAN off the Setda fiber. Packets stop,
    # a dry run finds the drift, an apply puts it back.
    _prune_dinkes_lan_off_setda_fiber(lab)  # out of band, not saved
    assert not _ping(labkesda.netns, target_ip)
    drift = change_all(_targets(lab), _managed(lab), None, dry_run=True)
    planned = {r.name: r.lines for r in drift if r.status == "planned"}
    assert list(planned) == ["sw-dist-kota"]
    assert any("switchport trunk allowed vlan" in line for line in planned["sw-dist-kota"])
    fixed = change_all(_targets(lab), _managed(lab), tmp_path / "backups")
    assert {r.name for r in fixed if r.status == "changed"} == {"sw-dist-kota"}
    assert _ping(labkesda.netns, target_ip)
    assert (tmp_path / "backups" / "sw-dist-kota.cfg").read_text().count("interface ") >= 4


def test_saved_config_survives_lab_down_and_up(built_lab: Lab, tmp_path: Path) -> None:
    """Like NVRAM: what the engine saved comes back after a rebuild; unsaved edits do not."""
    from dcctl.lab import runner

    lab = built_lab
    kantor = _building(lab, "dinkes", "kantor-dinkes")
    labkesda = _building(lab, "dinkes", "labkesda")
    target_ip = kantor.address.split("/")[0]
    change_all(_targets(lab), _managed(lab), tmp_path / "backups")  # applied and saved
    assert _ping(labkesda.netns, target_ip)
    _prune_dinkes_lan_off_setda_fiber(lab)  # out of band, not saved
    assert not _ping(labkesda.netns, target_ip)
    runner.down(lab.plan.lab_id, lab.plan.state_dir)
    runner.up(lab.plan, wait=60)
    assert _ping(labkesda.netns, target_ip), "the saved startup-config was not restored"
    again = change_all(_targets(lab), _managed(lab), None, dry_run=True)
    assert {r.status for r in again} == {"unchanged"}, [r.to_dict() for r in again]
