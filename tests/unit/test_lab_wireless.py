"""The lab's RouterOS dialect as a radio and an access point, against a recording fake OVS.

Why: the lab test proves packets; these prove the rules behind them fast: a radio
link's two ends forward only while they join (mode, SSID, band, width, protocol,
security and key), a change on one end reaches the other end's port through the
air directory, a virtual AP reaches its own lab port, keys stay out of `/export`
and `print` (but not the device's NVRAM), and the startup file boots back.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from dcctl.lab.edge import forward_rules, input_rules
from dcctl.lab.plan import LabPlan, air_dir, switchd_config
from dcctl.lab.switchd.air import Radio, describe
from dcctl.lab.switchd.state import MemoryBackend, PortSettings, Switch, SwitchdConfig, load_vendor
from dcctl.lab.topology import build_plan
from dcctl.spec import load_spec
from tests.specs import OpdSpec, build_spec

KEY = "radio-key-" + "k" * 12
PROFILE = (
    "/interface wireless security-profiles add name=rl mode=dynamic-keys "
    f"authentication-types=wpa2-psk wpa2-pre-shared-key={KEY}"
)
BRIDGED = [
    "/interface bridge port add bridge=bridge1 interface=ether1",
    "/interface bridge port add bridge=bridge1 interface=wlan1",
    "/interface bridge vlan add bridge=bridge1 vlan-ids=110,120 tagged=ether1,wlan1",
]
RADIO = (
    "/interface wireless set [ find default-name=wlan1 ] ssid=rl-1 band=5ghz-a/n/ac "
    "channel-width=20/40/80mhz-XXXX wireless-protocol=nv2 security-profile=rl disabled=no"
)


class Device:
    """A switch and one console session, driven line by line."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.session = switch.vendor.session(switch, "admin")

    def __call__(self, *lines: str) -> str:
        return "".join(self.switch.run(self.session, line).output for line in lines)

    def port(self, ovs: str) -> PortSettings:
        backend = self.switch.backend
        assert isinstance(backend, MemoryBackend)
        return backend.state[ovs]


def device(tmp_path: Path, name: str, ports: dict[str, str], **extra: object) -> Device:
    sw = Switch(
        name, load_vendor("mikrotik_routeros"), ports, MemoryBackend(), tmp_path / name,
        secret="s3cret", **extra,  # type: ignore[arg-type]
    )  # fmt: skip
    sw.boot()
    return Device(sw)


@pytest.fixture
def link(tmp_path: Path) -> tuple[Device, Device]:
    """Two radios whose wlan1 ports share one air directory (a radio link)."""
    air = tmp_path / "air" / "rl-1"
    a = device(tmp_path, "radio-a", {"ether1": "ae", "wlan1": "aw"}, air={"wlan1": air})
    b = device(tmp_path, "radio-b", {"ether1": "be", "wlan1": "bw"}, air={"wlan1": air})
    for d in (a, b):
        assert d(PROFILE, *BRIDGED) == ""
    return a, b


def settle(*devices: Device) -> None:
    """What each daemon's air watcher does within a second."""
    for d in devices:
        if d.switch.air_changed():
            d.switch.sync()


def test_a_radio_link_forwards_only_while_both_ends_join(link: tuple[Device, Device]) -> None:
    a, b = link
    trunk = PortSettings.trunk({110, 120}, 1)
    assert a.port("aw") == PortSettings.parked()  # factory: radio disabled
    assert a(RADIO.replace("ssid=", "mode=bridge ssid=")) == ""
    assert a.port("aw") == PortSettings.parked()  # nobody on the far end yet
    assert b(RADIO.replace("ssid=", "mode=station-bridge ssid=")) == ""
    assert b.port("bw") == trunk
    settle(a, b)
    assert a.port("aw") == trunk  # the far end's change reached this port
    # Each thing a radio engineer checks first breaks the link when it differs.
    for change, undo in [
        ("band=5ghz-a/n", "band=5ghz-a/n/ac"),
        ("channel-width=20/40mhz-XX", "channel-width=20/40/80mhz-XXXX"),
        ("ssid=rl-2", "ssid=rl-1"),
        ("wireless-protocol=802.11", "wireless-protocol=nv2"),
        ("mode=bridge", "mode=station-bridge"),  # two access sides never associate
    ]:
        b(f"/interface wireless set wlan1 {change}")
        settle(a, b)
        assert (a.port("aw"), b.port("bw")) == (PortSettings.parked(),) * 2, change
        b(f"/interface wireless set wlan1 {undo}")
        settle(a, b)
        assert (a.port("aw"), b.port("bw")) == (trunk, trunk), undo
    b("/interface wireless security-profiles set rl wpa2-pre-shared-key=another-key-123")
    settle(a, b)
    assert a.port("aw") == PortSettings.parked()
    b(f"/interface wireless security-profiles set rl wpa2-pre-shared-key={KEY}")
    settle(a, b)
    assert a.port("aw") == trunk
    # nv2's own encryption: both ends need it on, with one key.
    a(f"/interface wireless set wlan1 nv2-security=enabled nv2-preshared-key={KEY}")
    settle(a, b)
    assert a.port("aw") == PortSettings.parked()
    b(f"/interface wireless set wlan1 nv2-security=enabled nv2-preshared-key={KEY}")
    settle(a, b)
    assert (a.port("aw"), b.port("bw")) == (trunk, trunk)
    b("/interface wireless set wlan1 nv2-preshared-key=not-the-same-key")
    settle(a, b)
    assert a.port("aw") == PortSettings.parked()
    assert KEY not in a("/export") and "nv2-preshared-key" not in a("/export")
    b("/interface wireless disable wlan1")
    settle(a, b)
    assert a.port("aw") == PortSettings.parked()
    assert b.port("bw") == PortSettings.parked()


def test_lab_status_says_whether_and_why_not_a_radio_link_is_associated(
    link: tuple[Device, Device], tmp_path: Path
) -> None:
    a, b = link
    air = tmp_path / "air" / "rl-1"
    a(RADIO.replace("ssid=", "mode=bridge ssid="))
    assert describe(air) == (False, "not associated: only radio-a radiates")
    b(RADIO.replace("ssid=", "mode=station-bridge ssid=").replace("nv2", "802.11"))
    assert describe(air) == (
        False,
        "not associated: radio-a and radio-b differ in protocol, security",  # nv2 has its own
    )
    b("/interface wireless set wlan1 wireless-protocol=nv2")
    assert describe(air) == (
        True,
        "radio-a bridge <-> radio-b station-bridge, 5ghz-a/n/ac 20/40/80mhz-XXXX nv2",
    )


def test_the_air_holds_no_key(link: tuple[Device, Device], tmp_path: Path) -> None:
    a, b = link
    a(RADIO.replace("ssid=", "mode=bridge ssid="))
    b(RADIO.replace("ssid=", "mode=station-bridge ssid="))
    files = sorted((tmp_path / "air" / "rl-1").glob("*.json"))
    assert [f.name for f in files] == ["radio-a.json", "radio-b.json"]
    for f in files:
        text = f.read_text()
        assert KEY not in text and "radio-key" not in text
        assert oct(f.stat().st_mode & 0o777) == "0o600"
    radio = Radio(**json.loads(files[0].read_text()))
    assert radio.role == "access" and radio.security.startswith("dynamic-keys/wpa2-psk/")


def test_keys_stay_out_of_export_and_print_but_boot_back(link: tuple[Device, Device]) -> None:
    a, _ = link
    a(RADIO.replace("ssid=", "mode=bridge ssid="))
    assert KEY not in a("/export") + a("/export terse")
    assert KEY not in a("/interface wireless security-profiles print detail")
    assert f"wpa2-pre-shared-key={KEY}" in a("/export show-sensitive")
    startup = a.switch.startup_path
    assert KEY in startup.read_text() and oct(startup.stat().st_mode & 0o777) == "0o600"
    before = a("/export terse").splitlines()[5:]
    warnings = a.switch.boot()
    assert warnings == [] and a("/export terse").splitlines()[5:] == before
    assert "set [ find default-name=wlan1 ] " in a("/export")  # the radio is not added


def test_a_virtual_ap_reaches_its_own_lab_port_in_its_vlan(tmp_path: Path) -> None:
    """An AP: the OPD SSID on wlan1 in VLAN 110, the guest SSID on a virtual AP in 666."""
    ap = device(
        tmp_path, "ap-1", {"ether1": "e1", "wlan1": "w1", "wlan-guest": "wg"},
        virtual_ports=("wlan-guest",),
    )  # fmt: skip
    assert ap.port("wg") == PortSettings.parked()  # the virtual AP does not exist yet
    out = ap(
        "/interface wireless security-profiles add name=staff mode=dynamic-keys "
        "authentication-types=wpa2-psk wpa2-pre-shared-key=staff-passphrase",
        "/interface wireless set [ find default-name=wlan1 ] mode=ap-bridge ssid=DINKES "
        "security-profile=staff disabled=no",
        "/interface wireless add master-interface=wlan1 name=wlan-guest ssid=TAMU "
        "default-forwarding=no disabled=no",
        "/interface bridge port add bridge=bridge1 interface=ether1",
        "/interface bridge port add bridge=bridge1 interface=wlan1 pvid=110",
        "/interface bridge port add bridge=bridge1 interface=wlan-guest pvid=666",
        "/interface bridge vlan add bridge=bridge1 vlan-ids=110 tagged=ether1 untagged=wlan1",
        "/interface bridge vlan add bridge=bridge1 vlan-ids=666 tagged=ether1",
    )
    assert out == ""
    assert ap.port("w1") == PortSettings.access(110)
    assert ap.port("wg") == PortSettings.access(666)  # open guest SSID, default profile
    assert ap.port("e1") == PortSettings.trunk({110, 666}, 1)
    ap("/interface wireless disable wlan1")  # the master down takes its virtual AP along
    assert ap.port("wg") == PortSettings.parked()
    assert ap.port("w1") == PortSettings.parked()
    ap("/interface wireless enable wlan1")
    ap("/interface wireless remove wlan-guest")
    assert ap.port("wg") == PortSettings.parked()
    assert ap.port("w1") == PortSettings.access(110)
    # vlan-mode=use-tag: the interface tags its clients' frames itself.
    ap("/interface bridge port set [find interface=wlan1] pvid=1",
       "/interface bridge vlan set [find vlan-ids=110] untagged=\"\" tagged=ether1,wlan1",
       "/interface wireless set wlan1 vlan-mode=use-tag vlan-id=110")  # fmt: skip
    assert ap.port("w1") == PortSettings.access(110)
    ap("/interface wireless set wlan1 vlan-id=120")  # a VLAN the bridge does not carry there
    assert ap.port("w1") == PortSettings.parked()


def test_incomplete_security_radiates_nothing(tmp_path: Path) -> None:
    ap = device(tmp_path, "ap-2", {"ether1": "e1", "wlan1": "w1"})
    ap(
        "/interface bridge port add bridge=bridge1 interface=wlan1 pvid=110",
        "/interface bridge vlan add bridge=bridge1 vlan-ids=110 untagged=wlan1",
        "/interface wireless security-profiles add name=p mode=dynamic-keys "
        "authentication-types=wpa2-psk",
        "/interface wireless set wlan1 mode=ap-bridge ssid=X security-profile=p disabled=no",
    )
    assert ap.port("w1") == PortSettings.parked()  # WPA2-PSK without a key
    ap("/interface wireless security-profiles set p wpa2-pre-shared-key=now-a-key-1")
    assert ap.port("w1") == PortSettings.access(110)


def test_wireless_refusals_in_routeros_words(tmp_path: Path) -> None:
    ap = device(tmp_path, "ap-3", {"ether1": "e1", "wlan1": "w1"})
    assert ap("/interface wireless remove wlan1") == "failure: can not remove this item\n"
    assert ap("/interface wireless security-profiles remove default") == (
        "failure: can not remove this item\n"
    )
    assert ap("/interface wireless add ssid=x") == "failure: master-interface not specified\n"
    assert ap("/interface wireless set wlan1 mode=mesh") == "invalid value for argument mode\n"
    assert ap("/interface wireless set wlan1 security-profile=nope") == (
        "input does not match any value of security-profile\n"
    )
    ap("/interface wireless security-profiles add name=p")
    ap("/interface wireless set wlan1 security-profile=p")
    assert ap("/interface wireless security-profiles remove p") == "failure: profile is in use\n"
    assert ap("/interface wireless add master-interface=wlan1 name=ether1") == (
        "failure: already have interface with such name\n"
    )
    assert ap("/interface wireless add master-interface=wlan1") == ""
    assert "name=wlan2" in ap("/export")  # named as RouterOS names it


def test_daemon_config_ports_must_exist(tmp_path: Path) -> None:
    base = {
        "name": "ap-1", "vendor": "mikrotik_routeros", "bridge": "br0",
        "ports": {"ether1": "p1", "wlan1": "p2"}, "password_file": tmp_path / "pw",
        "state_dir": tmp_path, "host_key": tmp_path / "key",
    }  # fmt: skip
    assert SwitchdConfig.model_validate({**base, "virtual_ports": ["wlan1"]}).virtual_ports
    with pytest.raises(ValueError, match="not in ports"):
        SwitchdConfig.model_validate({**base, "air": {"wlan9": str(tmp_path)}})


# --------------------------------------------------------------------------
# The lab plan of a wireless spec (no root)


@pytest.fixture(scope="module")
def wplan(tmp_path_factory: pytest.TempPathFactory) -> LabPlan:
    """Two OPDs on sw2 with an AP each (their SSID + guest), a radio link to dinkes' remote."""
    root = build_spec(
        tmp_path_factory.mktemp("wireless-lab"),
        switches=["cisco_ios", "mikrotik_routeros"],
        opds=[OpdSpec("dinkes", lan_ports=1), OpdSpec("setda", lan_ports=1)],
        wireless=True,
    )
    return build_plan(load_spec(root), "tw1", state_dir=tmp_path_factory.mktemp("state"))


def test_a_radio_link_is_a_link_whose_ends_share_its_air(wplan: LabPlan) -> None:
    link = next(v for v in wplan.veths if v.label == "rf-far")
    dc, far = wplan.switch("radio-dc"), wplan.switch("radio-far")
    assert (link.a.ifname, link.b.ifname) == (dc.port_map()["wlan1"], far.port_map()["wlan1"])
    assert (link.a.ovs_bridge, link.b.ovs_bridge) == (dc.bridge, far.bridge)
    configs = [switchd_config(wplan, sw, Path("/pw")) for sw in (dc, far)]
    airs = {c["air"]["wlan1"] for c in configs}
    assert airs == {str(air_dir(wplan, "rf-far"))}
    for c in configs:
        SwitchdConfig.model_validate(c)  # the daemon accepts it
    assert "env:WSB_RADIO_KEY" in wplan.credential_refs  # the lab is the key's vault
    assert {"env:WSB_DINKES_WIFI_PASSPHRASE", "env:WSB_SETDA_WIFI_PASSPHRASE"} <= set(
        wplan.credential_refs
    )


def test_every_ap_ssid_has_a_client_in_its_vlans_subnet(wplan: LabPlan) -> None:
    lan = {g.key: g for g in wplan.gateway_networks}
    got = {(s.ap, s.interface): s for s in wplan.stations}
    assert set(got) == {
        ("ap-dinkes", "wlan1"), ("ap-dinkes", "wlan1-guest"),
        ("ap-setda", "wifi1"), ("ap-setda", "wifi1-guest"),  # a cAP ax: `wifi` package
    }  # fmt: skip
    for (ap, iface), s in got.items():
        net = lan["guest" if iface.endswith("-guest") else f"{s.opd}/lan"]
        assert ipaddress.ip_interface(s.address).ip in ipaddress.ip_network(net.prefix)
        assert s.gateway == net.address.split("/")[0]
        sw = wplan.switch(ap)
        veth = next(v for v in wplan.veths if v.b.ifname == s.ifname)
        assert veth.a.ifname == sw.port_map()[iface] and veth.a.ovs_bridge == sw.bridge
    assert got[("ap-dinkes", "wlan1")].opd == "dinkes"
    assert got[("ap-dinkes", "wlan1-guest")].opd is None
    ap = wplan.switch("ap-dinkes")
    assert ap.virtual_ports == ("wlan1-guest",)  # made by the config, not the factory
    assert lan["guest"].vlan == 98 and lan["guest"].prefix == "10.98.0.0/24"
    addresses = [s.address for s in wplan.stations] + [b.address for b in wplan.buildings]
    assert len(addresses) == len(set(addresses))


def test_the_edge_keeps_guests_to_the_internet_and_staff_lans_apart(wplan: LabPlan) -> None:
    e = wplan.edge
    assert e is not None and e.netns == wplan.gateway_netns
    lans = dict(e.staff_lans)
    assert set(lans) == {"dinkes", "setda"}
    rules = forward_rules(e)
    assert f"-i {lans['dinkes']} -o {lans['setda']} -j DROP" in rules
    assert f"-i {lans['setda']} -o {lans['dinkes']} -j DROP" in rules
    g = e.guest_ifname
    # The guest network forwards to the WAN only, and the first match decides.
    assert rules.index(f"-i {g} -o {e.wan_ifname} -j ACCEPT") < rules.index(f"-i {g} -j DROP")
    assert input_rules(e)[-1] == f"-i {g} -j DROP"
    assert all(f"-d {e.guest_gateway}/32" in r for r in input_rules(e)[:2])
    # The internet stand-in sits on the WAN bridge, in the gateway's WAN /24.
    assert e.internet_netns in {n.name for n in wplan.namespaces}
    wan = next(v for v in wplan.veths if v.a.ifname == e.wan_ifname)
    gw_wan = ipaddress.ip_interface(wan.a.addresses[0])
    assert ipaddress.ip_interface(e.internet_address).network == gw_wan.network
    assert ipaddress.ip_interface(e.internet_address) != gw_wan


def test_a_startup_wrapped_inside_a_value_boots_with_the_value_whole(
    link: tuple[Device, Device],
) -> None:
    """RouterOS wraps a long export line inside a value (``ssid=\\`` then the name indented
    by four blanks); the device reads its startup the way the driver reads an export,
    so the SSID comes back whole, not as `` DINKES-STAF``."""
    a, _ = link
    a(RADIO.replace("ssid=", "mode=bridge ssid="))
    startup = a.switch.startup_path
    text = startup.read_text()
    assert "ssid=" in text
    wrapped = text.replace("ssid=", "ssid=\\\n    ", 1)
    startup.write_text(wrapped)
    before = [ln for ln in a("/export terse").splitlines() if "ssid=" in ln]
    warnings = a.switch.boot()
    assert warnings == []
    after = [ln for ln in a("/export terse").splitlines() if "ssid=" in ln]
    assert after == before and before
