"""The lab's RouterOS dialect as a radio and an access point, against a recording fake OVS.

Why: the lab test proves packets; these prove the rules behind them fast: a radio
link's two ends forward only while they join (mode, SSID, band, width, protocol,
security and key), a change on one end reaches the other end's port through the
air directory, a virtual AP reaches its own lab port, keys stay out of `/export`
and `print` (but not the device's NVRAM), and the startup file boots back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dcctl.lab.switchd.air import Radio
from dcctl.lab.switchd.state import MemoryBackend, PortSettings, Switch, SwitchdConfig, load_vendor

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
    assert a.port("aw") == PortSettings.parked(admin_up=False)  # factory: radio disabled
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
    b("/interface wireless disable wlan1")
    settle(a, b)
    assert a.port("aw") == PortSettings.parked()
    assert b.port("bw") == PortSettings.parked(admin_up=False)


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
    radio = Radio(**__import__("json").loads(files[0].read_text()))
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
    assert ap.port("w1") == PortSettings.parked(admin_up=False)
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
