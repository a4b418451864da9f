"""WPA3 access points: RouterOS 7.13+'s `wifi` package through the switch layer (issue 20).

The oracle for the syntax is ``tests/fixtures/devices/mikrotik_routeros/
export_capax_wifi_v7.rsc`` (a v7.13 `wifi` export's form, its sources in that folder's
README): the driver must read its tables as the device writes them. The rest renders
the wireless spec of ``tests.specs``, whose second AP (``ap-dishub``) is a ``cAP ax``
with a WPA3 SSID, and plays the device (the lab's RouterOS dialect, or the intended
config without its passphrases: v7 exports none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dcctl.engines.switches.masking import MASK
from dcctl.engines.switches.secrets import secret_tag
from dcctl.lab.switchd.state import MemoryBackend, PortSettings, Switch, load_vendor
from dcctl.vendors.mikrotik_routeros import driver as ros
from tests.specs import wifi_passphrase
from tests.unit.test_wireless_render import PASSWORD, VALUES, secrets_for

FIXTURE = Path(__file__).parents[1] / "fixtures/devices/mikrotik_routeros/export_capax_wifi_v7.rsc"
AP = "ap-dishub"
KEY = VALUES[wifi_passphrase("dishub")]


def without_keys(text: str) -> str:
    """What a v7 device exports: no `passphrase=`."""
    return (
        "\n".join(
            " ".join(t for t in line.split(" ") if not t.startswith("passphrase="))
            for line in text.splitlines()
        )
        + "\n"
    )


def lab_ap(tmp_path: Path) -> tuple[Switch, Any]:
    ports = {"ether1": "e1", "ether2": "e2", "wifi1": "f1", "wifi2": "f2", "wifi1-guest": "g1"}
    sw = Switch(
        AP, load_vendor("mikrotik_routeros"), ports, MemoryBackend(), tmp_path / AP,
        secret="s3cret", virtual_ports=("wifi1-guest",),
    )  # fmt: skip
    sw.boot()
    return sw, sw.vendor.session(sw, "admin")


class Conn:
    def __init__(self, sw: Switch, session: Any) -> None:
        self.sw, self.session, self.asked = sw, session, []  # type: ignore[var-annotated]

    def send_command(self, command: str, read_timeout: float = 10) -> str:
        self.asked.append(command)
        return str(self.sw.run(self.session, command).output)


def push(sw: Switch, session: Any, lines: list[str]) -> None:
    for line in lines:
        out = sw.run(session, line).output
        assert not out.strip(), (ros.DRIVER.mask(line), out)


def test_a_v7_wifi_export_is_read_as_the_device_writes_it() -> None:
    state = ros.parse_export(FIXTURE.read_text())
    w = state.wifi
    assert w["security"]["sec-staff"]["authentication-types"] == "wpa2-psk,wpa3-psk"
    assert w["security"]["sec-guest"]["authentication-types"] == "wpa3-psk"
    assert all("passphrase" not in p for p in w["security"].values())
    assert w["datapath"]["dp-staff"] == {"bridge": "bridge1", "disabled": "no", "vlan-id": "110"}
    assert w["datapath"]["dp-guest"]["client-isolation"] == "yes"
    assert w["channel"]["ch-5"]["band"] == "5ghz-ax"
    conf = w["configuration"]["cfg-staff-5"]  # wrapped over two lines
    assert (conf["ssid"], conf["security"], conf["datapath"]) == ("DINKES", "sec-staff", "dp-staff")
    assert w["configuration"]["cfg-guest-2"]["ssid"] == "Wonosobo Tamu"
    assert w["interface"]["wifi1"]["configuration"] == "cfg-staff-2"  # by default-name
    assert w["interface"]["wifi3"]["master-interface"] == "wifi1"
    assert state.ports == {"ether1": {"bridge": "bridge1"}}  # wifi ports: the datapath's
    # Nothing of it is dcctl's: a partial change of this AP leaves every profile alone.
    assert not any(n.startswith("dcctl-") for t in w.values() for n in t)


def test_ax_ap_renders_the_wifi_package_with_wpa3_and_the_ssid_vlans(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    drv, intent = ros.DRIVER, wireless_intents[AP]
    assert sorted(intent["wireless"]) == ["wifi1", "wifi2"]
    intended = drv.intended(AP, intent, secrets_for(intent))
    lan, guest = intent["ports"]["wifi1"]["vlan"], intent["ports"]["wifi1-guest"]["vlan"]
    tag = secret_tag(PASSWORD, wifi_passphrase("dishub"), KEY)
    lines = intended.splitlines()
    assert (
        f"/interface wifi security add name=dcctl-dishub-{tag} authentication-types=wpa3-psk "
        f"passphrase={KEY}"
    ) in lines
    assert "/interface wifi security add name=dcctl-guest-open" in lines
    assert f"/interface wifi datapath add name=dcctl-dishub bridge=bridge1 vlan-id={lan}" in lines
    assert (
        f"/interface wifi datapath add name=dcctl-guest bridge=bridge1 client-isolation=yes "
        f"vlan-id={guest}"
    ) in lines
    assert (
        f"/interface wifi configuration add name=dcctl-dishub country=Indonesia "
        f"datapath=dcctl-dishub mode=ap security=dcctl-dishub-{tag} ssid=DISHUB"
    ) in lines
    assert (
        "/interface wifi set [ find default-name=wifi1 ] channel=dcctl-2ghz "
        "configuration=dcctl-dishub disabled=no"
    ) in lines
    assert (
        "/interface wifi add name=wifi1-guest configuration=dcctl-guest disabled=no "
        "master-interface=wifi1"
    ) in lines
    assert "/interface wifi channel add name=dcctl-5ghz band=5ghz-ax" in lines
    # No legacy table, no static bridge port for a wifi interface (its datapath makes it).
    assert "/interface wireless" not in intended
    assert not any("bridge port" in x and "wifi" in x for x in lines)
    # The intended config reads back as itself; the device's export (no key) needs nothing.
    assert (
        ros.parse_export(intended).normalized()
        == ros.desired_state(AP, intent, secrets_for(intent)).normalized()
    )
    assert drv.remediation(without_keys(intended), intended, set(), True) == []
    assert ros.verify_state(ros.parse_export(without_keys(intended)), intent) == []
    wrong = without_keys(intended).replace(f"vlan-id={lan}", "vlan-id=1")
    assert ros.verify_state(ros.parse_export(wrong), intent) == [
        f"{n}: datapath dcctl-dishub is not vlan-id={lan} on bridge1" for n in ("wifi1", "wifi2")
    ]


def test_wpa2_wpa3_is_both_authentication_types(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    intent = {
        **wireless_intents[AP],
        "wireless": {k: dict(v) for k, v in wireless_intents[AP]["wireless"].items()},
    }
    for w in intent["wireless"].values():
        w["ssids"] = [
            dict(s, security="wpa2-wpa3") if not s.get("guest") else s for s in w["ssids"]
        ]
    intended = ros.DRIVER.intended(AP, intent, secrets_for(intent))
    assert 'authentication-types="wpa2-psk,wpa3-psk" passphrase=' in intended


def test_every_shown_line_masks_the_passphrase(wireless_intents: dict[str, dict[str, Any]]) -> None:
    drv, intent = ros.DRIVER, wireless_intents[AP]
    intended = drv.intended(AP, intent, secrets_for(intent))
    factory = "/interface wifi set [ find default-name=wifi1 ]\n"
    factory += "/interface wifi set [ find default-name=wifi2 ]\n"
    lines = drv.remediation(factory, intended, set(), False)
    sec = [x for x in lines if x.startswith("/interface wifi security add name=dcctl-dishub")]
    assert len(sec) == 1 and KEY in sec[0]  # the device gets it ...
    assert drv.mask(sec[0]).endswith(f"passphrase={MASK}")  # ... no output shows it
    assert not any(KEY in drv.mask(x) for x in lines)
    # Order: profiles before the configuration naming them, radios before virtual ones.
    first = {k: next(i for i, x in enumerate(lines) if x.startswith(k)) for k in (
        "/interface wifi security", "/interface wifi datapath", "/interface wifi configuration",
        "/interface wifi set", "/interface wifi add",
    )}  # fmt: skip
    assert list(first.values()) == sorted(first.values())


def test_the_lab_ap_takes_the_change_maps_ssids_to_vlans_and_rolls_back(
    wireless_intents: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    drv, intent = ros.DRIVER, wireless_intents[AP]
    intended = drv.intended(AP, intent, secrets_for(intent))
    lan, guest = intent["ports"]["wifi1"]["vlan"], intent["ports"]["wifi1-guest"]["vlan"]
    sw, session = lab_ap(tmp_path)
    conn = Conn(sw, session)
    before = drv.read_running(conn)
    push(sw, session, drv.remediation(before, intended, set(), False))
    after = drv.read_running(conn)
    assert KEY not in after  # the export hides the passphrase
    assert drv.remediation(after, intended, set(), False) == []  # idempotent
    assert drv.verify(conn, intent) == []
    ports = sw.config.effective_ports()
    assert ports["wifi1"] == PortSettings.access(lan, True)
    assert ports["wifi2"] == PortSettings.access(lan, True)
    assert ports["wifi1-guest"] == PortSettings.access(guest, True)
    # Rollback: the backup's state back, every dcctl profile gone, in an order it takes.
    push(sw, session, drv.restore(after, before))
    assert ros.parse_export(drv.read_running(conn)).normalized() == (
        ros.parse_export(before).normalized()
    )
    assert sw.config.effective_ports()["wifi1"] == PortSettings.parked(True)


def test_a_passphrase_changed_by_hand_is_found_apart_and_put_back(
    wireless_intents: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    drv, intent = ros.DRIVER, wireless_intents[AP]
    intended = drv.intended(AP, intent, secrets_for(intent))
    sw, session = lab_ap(tmp_path)
    conn = Conn(sw, session)
    push(sw, session, drv.remediation(drv.read_running(conn), intended, set(), False))
    assert drv.stale_keys(conn, intended) == []
    tag = secret_tag(PASSWORD, wifi_passphrase("dishub"), KEY)
    push(sw, session, [f"/interface wifi security set [find name=dcctl-dishub-{tag}] "
                       "passphrase=typed-by-hand"])  # fmt: skip
    assert "typed-by-hand" not in drv.read_running(conn)
    assert drv.remediation(drv.read_running(conn), intended, set(), False) == []
    conn.asked.clear()
    lines = drv.stale_keys(conn, intended)
    assert conn.asked == ["/interface wifi export terse show-sensitive"]
    assert lines == [
        f"/interface wifi security set [find name=dcctl-dishub-{tag}] passphrase={KEY}"
    ]
    assert [drv.mask(x) for x in lines] == [
        f"/interface wifi security set [find name=dcctl-dishub-{tag}] passphrase={MASK}"
    ]
    push(sw, session, lines)
    assert drv.stale_keys(conn, intended) == []


def test_full_mode_removes_a_wifi_ssid_nobody_reviewed(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    drv, intent = ros.DRIVER, wireless_intents[AP]
    intended = drv.intended(AP, intent, secrets_for(intent))
    rogue = without_keys(intended) + (
        "/interface wifi add configuration=dcctl-guest disabled=no master-interface=wifi2 "
        "name=free\n"
    )
    assert drv.remediation(rogue, intended, set(), False) == []
    assert drv.remediation(rogue, intended, set(), True) == [
        "/interface wifi remove [find name=free]"
    ]
