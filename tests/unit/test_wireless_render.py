"""RouterOS v7 radios and access points through the switch layer (issue 20).

The oracle is a real RouterOS 7.1.5 `/export` of a wAP ac with per-SSID virtual APs
(``tests/fixtures/devices/mikrotik_routeros/export_wapac_v7.rsc``): the driver must
read its wireless tables as the device wrote them. The rest renders the wireless
spec of ``tests.specs`` and plays the device: a v7 export never shows a pre-shared
key, so each "device" below is the intended config with its keys removed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from dcctl.engines.switches.engine import SwitchTarget, change_switch
from dcctl.engines.switches.masking import MASK
from dcctl.engines.switches.secrets import DeviceSecret, device_secrets, secret_tag
from dcctl.vendors.mikrotik_routeros import driver as ros
from dcctl.vendors.mikrotik_routeros.wireless import WRITE_ONLY
from tests.specs import RADIO_KEY, wifi_passphrase

FIXTURE = Path(__file__).parents[1] / "fixtures/devices/mikrotik_routeros/export_wapac_v7.rsc"
PASSWORD = "login-pw"
#: Secrets of the test: none of them may appear in any line shown.
VALUES = {
    RADIO_KEY: "radio-Key-Secret-77",
    wifi_passphrase("dinkes"): "dinkes Wifi secret 1",
    wifi_passphrase("dishub"): "dishub-wifi-secret-2",
}
FACTORY = {
    "radio": "/interface wireless set [ find default-name=wlan1 ] ssid=MikroTik\n",
    "ap": "/interface wireless set [ find default-name=wlan1 ] ssid=MikroTik\n"
    "/interface wireless set [ find default-name=wlan2 ] ssid=MikroTik\n",
}


def secrets_for(intent: dict[str, Any], values: dict[str, str] = VALUES) -> dict[str, DeviceSecret]:
    return device_secrets(intent, PASSWORD, lambda ref: values[ref])


def as_device(intended: str) -> str:
    """What a RouterOS v7 device exports after taking `intended`: no pre-shared key."""
    return re.sub(rf" ({'|'.join(WRITE_ONLY)})=(\"(?:[^\"\\\\]|\\\\.)*\"|\S+)", "", intended)


def test_real_v7_export_of_an_ap_is_read_as_the_device_wrote_it() -> None:
    state = ros.parse_export(FIXTURE.read_text())
    assert state.wlans["wlan1"]["mode"] == "ap-bridge"
    assert state.wlans["wlan1"]["name"] == "wlan-2g"  # renamed, found by default-name
    assert state.wlans["wlan2"]["channel-width"] == "20/40/80mhz-XXXX"
    guest = state.wlans["wlan-2g-guest"]
    assert guest["master-interface"] == "wlan-2g" and guest["default-forwarding"] == "no"
    assert guest["ssid"] == "1736StrtfrdRmsCt-Guest"
    assert len([w for w in state.wlans.values() if "master-interface" in w]) == 6
    assert set(state.profiles) == {
        "profile-guest",
        "profile-iot",
        "profile-base",
        "profile-security",
    }
    assert all("wpa2-pre-shared-key" not in p for p in state.profiles.values())
    # The SSID -> VLAN mapping is the bridge's: wlan-2g untagged in VLAN 99.
    assert state.ports["wlan-2g"]["pvid"] == "99"
    # Nothing dcctl owns is on it, so a partial-mode change of another device's SSIDs
    # leaves these profiles and virtual APs alone.
    tgt = ros.target_state(state, ros.RosState(), set(), full=False)
    assert set(tgt.profiles) == set(state.profiles) and set(tgt.wlans) == set(state.wlans)


def test_radio_bridge_and_station_render_with_the_key_only_in_pushed_lines(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    drv = ros.DRIVER
    for name, mode in (("radio-dc", "bridge"), ("radio-far", "station-bridge")):
        intent = wireless_intents[name]
        keys = secrets_for(intent)
        intended = drv.intended(name, intent, keys)
        lines = drv.remediation(FACTORY["radio"], intended, set(), False)
        tag = secret_tag(PASSWORD, RADIO_KEY, VALUES[RADIO_KEY])
        profile = f"dcctl-rf-far-{tag}"
        wlan = next(x for x in lines if x.startswith("/interface wireless set"))
        for want in (f"mode={mode}", "band=5ghz-a/n/ac", "channel-width=20/40mhz-XX",
                     "frequency=5500", "ssid=rf-far", f"security-profile={profile}",
                     "country=indonesia", "disabled=no"):  # fmt: skip
            assert want in wlan, (want, wlan)
        add = next(x for x in lines if "security-profiles add" in x)
        assert f"wpa2-pre-shared-key={VALUES[RADIO_KEY]}" in add
        # The profile exists before an interface names it; the radio is a bridge trunk.
        assert lines.index(add) < lines.index(wlan)
        assert any("interface=wlan1" in x and "/interface bridge port add" in x for x in lines)
        shown = [drv.mask(x) for x in lines]
        assert not any(VALUES[RADIO_KEY] in x for x in shown)
        assert any(f"wpa2-pre-shared-key={MASK}" in x for x in shown)
        # Idempotent: the device (which exports no key) needs nothing more.
        assert drv.remediation(as_device(intended), intended, set(), False) == []
        assert drv.remediation(as_device(intended), intended, set(), True) == []


def test_drift_on_a_radio_is_one_set_line_without_the_key(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    drv, intent = ros.DRIVER, wireless_intents["radio-far"]
    intended = drv.intended("radio-far", intent, secrets_for(intent))
    drifted = (
        as_device(intended)
        .replace("frequency=5500", "frequency=5180")
        .replace("mode=station-bridge", "mode=station")
    )
    lines = drv.remediation(drifted, intended, set(), False)
    assert lines == [
        "/interface wireless set [find default-name=wlan1] frequency=5500 mode=station-bridge"
    ]
    # The rollback path restores what was there (the engine pushes `restore`).
    assert drv.restore(as_device(intended), drifted) == [
        "/interface wireless set [find default-name=wlan1] frequency=5180 mode=station"
    ]


def test_a_new_key_replaces_the_profile_and_the_old_one_goes(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    drv, intent = ros.DRIVER, wireless_intents["radio-dc"]
    old = drv.intended("radio-dc", intent, secrets_for(intent))
    rotated = {**VALUES, RADIO_KEY: "a-new-radio-key"}
    new = drv.intended("radio-dc", intent, secrets_for(intent, rotated))
    lines = drv.remediation(as_device(old), new, set(), False)
    new_tag = secret_tag(PASSWORD, RADIO_KEY, "a-new-radio-key")
    assert lines[0].startswith("/interface wireless security-profiles add")
    assert "wpa2-pre-shared-key=a-new-radio-key" in lines[0]
    assert f"security-profile=dcctl-rf-far-{new_tag}" in lines[1]
    assert lines[-1].startswith("/interface wireless security-profiles remove")
    assert not any("a-new-radio-key" in drv.mask(x) or VALUES[RADIO_KEY] in x for x in lines[1:])


def test_ap_ssids_are_virtual_aps_on_their_vlans_guests_isolated(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    drv, intent = ros.DRIVER, wireless_intents["ap-dinkes"]
    intended = drv.intended("ap-dinkes", intent, secrets_for(intent))
    lines = drv.remediation(FACTORY["ap"], intended, set(), False)
    lan, guest = intent["ports"]["wlan1"]["vlan"], intent["ports"]["wlan1-guest"]["vlan"]
    virtual = [x for x in lines if x.startswith("/interface wireless add")]
    assert len(virtual) == 2  # one guest SSID per radio
    g = next(x for x in virtual if "name=wlan1-guest" in x)
    for want in ("master-interface=wlan1", 'ssid="Wonosobo Tamu"', "default-forwarding=no",
                 "security-profile=dcctl-guest-open", "disabled=no"):  # fmt: skip
        assert want in g, (want, g)
    port = next(x for x in lines if "/interface bridge port add" in x and "wlan1-guest" in x)
    assert lines.index(g) < lines.index(port) and f"pvid={guest}" in port
    staff = next(x for x in lines if "/interface bridge port add" in x and "interface=wlan1 " in x)
    assert f"pvid={lan}" in staff
    wlan1 = next(x for x in lines if "default-name=wlan1" in x)
    assert "ssid=DINKES" in wlan1 and "mode=ap-bridge" in wlan1 and "band=2ghz-b/g/n" in wlan1
    assert not any(VALUES[wifi_passphrase("dinkes")] in drv.mask(x) for x in lines)
    assert drv.remediation(as_device(intended), intended, set(), True) == []
    assert ros.verify_state(ros.parse_export(as_device(intended)), intent) == []
    # Undoing the whole change removes the virtual APs after their bridge ports.
    undo = drv.restore(as_device(intended), FACTORY["ap"])
    rm_port = next(
        i for i, x in enumerate(undo) if "bridge port remove" in x and "wlan1-guest" in x
    )
    rm_ap = next(i for i, x in enumerate(undo) if x.startswith("/interface wireless remove"))
    assert rm_port < rm_ap


def test_full_mode_removes_an_ssid_nobody_reviewed(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    drv, intent = ros.DRIVER, wireless_intents["ap-dinkes"]
    intended = drv.intended("ap-dinkes", intent, secrets_for(intent))
    rogue = as_device(intended) + (
        "/interface wireless add disabled=no master-interface=wlan1 name=free ssid=Free\n"
    )
    assert drv.remediation(rogue, intended, set(), False) == []
    assert drv.remediation(rogue, intended, set(), True) == [
        "/interface wireless remove [find name=free]"
    ]


def test_verify_names_a_radio_that_is_not_running_the_link(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    intent = wireless_intents["radio-dc"]
    intended = ros.DRIVER.intended("radio-dc", intent, secrets_for(intent))
    wrong = as_device(intended).replace("mode=bridge", "mode=ap-bridge")
    problems = ros.verify_state(ros.parse_export(wrong), intent)
    assert problems == ["wlan1: mode is ap-bridge, expected bridge"]


def test_engine_pushes_the_key_and_shows_it_masked(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    """change_switch with the real driver and a device that keeps what it is sent."""
    intent = wireless_intents["radio-far"]

    class Device(ros.RouterOsDriver):
        running = FACTORY["radio"]
        sensitive = FACTORY["radio"]  # what `export show-sensitive` shows: keys too
        pushed: ClassVar[list[str]] = []

        def read_running(self, conn: Any) -> str:
            return Device.running

        def push(self, conn: Any, lines: list[str]) -> str:
            Device.pushed += lines
            Device.sensitive = ros.render_state(
                ros.target_state(
                    ros.parse_export(Device.running),
                    ros.parse_export(self.intended("radio-far", intent, keys)),
                    set(),
                    False,
                )
            )
            Device.running = as_device(Device.sensitive)
            return ""

        def verify(self, conn: Any, intent: dict[str, Any]) -> list[str]:
            return ros.verify_state(ros.parse_export(Device.running), intent)

    class Conn:
        def send_command(self, command: str, read_timeout: float = 10) -> str:
            assert command == "/interface wireless export terse show-sensitive", command
            return Device.sensitive

        def disconnect(self) -> None: ...

    keys = secrets_for(intent)
    t = SwitchTarget("radio-far", intent, "127.0.0.1", "admin", PASSWORD, secrets=keys)
    assert VALUES[RADIO_KEY] not in repr(t)
    import dcctl.engines.switches.engine as eng

    drv = Device()
    orig = eng.driver_for
    eng.driver_for = lambda vendor: drv  # type: ignore[assignment]
    try:
        res = change_switch(t, set(), None, connect=lambda t, d: Conn(), retries=0)
        again = change_switch(t, set(), None, connect=lambda t, d: Conn(), retries=0)
    finally:
        eng.driver_for = orig  # type: ignore[assignment]
    assert res.status == "changed", res
    assert any(VALUES[RADIO_KEY] in x for x in Device.pushed)  # the device got the key
    assert VALUES[RADIO_KEY] not in repr(res.to_dict())  # what is shown never has it
    assert any(MASK in x for x in res.lines)
    assert again.status == "unchanged", again


def test_a_key_changed_by_hand_is_found_and_put_back_never_shown(
    wireless_intents: dict[str, dict[str, Any]],
) -> None:
    """A radio's key edited on the device keeps its profile's name and tag: only the
    sensitive read finds it. The drift line is masked; the apply sends the spec's key."""
    drv, intent = ros.DRIVER, wireless_intents["radio-far"]
    keys = secrets_for(intent)
    intended = drv.intended("radio-far", intent, keys)
    key = VALUES[RADIO_KEY]

    class Conn:
        def __init__(self, text: str) -> None:
            self.text, self.asked = text, []  # type: ignore[var-annotated]

        def send_command(self, command: str, read_timeout: float = 10) -> str:
            self.asked.append(command)
            return self.text

    assert drv.stale_keys(Conn(intended), intended) == []  # the device has the spec's key
    edited = intended.replace(f"wpa2-pre-shared-key={key}", "wpa2-pre-shared-key=typed-by-hand")
    conn = Conn(edited)
    lines = drv.stale_keys(conn, intended)
    assert conn.asked == ["/interface wireless export terse show-sensitive"]
    tag = secret_tag(PASSWORD, RADIO_KEY, key)
    assert lines == [
        f"/interface wireless security-profiles set [find name=dcctl-rf-far-{tag}] "
        f"wpa2-pre-shared-key={key}"
    ]
    assert [drv.mask(x) for x in lines] == [
        f"/interface wireless security-profiles set [find name=dcctl-rf-far-{tag}] "
        f"wpa2-pre-shared-key={MASK}"
    ]
    # The ordinary delta cannot see it (the export has no key): this is the only witness.
    assert drv.remediation(as_device(edited), intended, set(), False) == []
    # A device without the profile yet: the ordinary delta adds it, with its key.
    assert drv.stale_keys(Conn(FACTORY["radio"]), intended) == []


def test_the_lab_device_shows_a_hand_changed_key_to_the_sensitive_read_only(
    wireless_intents: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Against the lab's RouterOS dialect: the pushed config has no stale key; a key set
    by hand at the device's console is found (and only by the sensitive read), and the
    line the driver makes puts the spec's key back."""
    from dcctl.lab.switchd.state import MemoryBackend, Switch, load_vendor

    drv, intent = ros.DRIVER, wireless_intents["radio-far"]
    intended = drv.intended("radio-far", intent, secrets_for(intent))
    sw = Switch(
        "radio-far", load_vendor("mikrotik_routeros"), {"ether1": "e1", "wlan1": "w1"},
        MemoryBackend(), tmp_path / "radio-far", secret="s3cret",
    )  # fmt: skip
    sw.boot()
    session = sw.vendor.session(sw, "admin")

    class Conn:
        def send_command(self, command: str, read_timeout: float = 10) -> str:
            return str(sw.run(session, command).output)

    def push(lines: list[str]) -> None:
        for line in lines:
            out = sw.run(session, line).output
            assert not out.strip(), (drv.mask(line), out)

    push(drv.remediation(drv.read_running(Conn()), intended, set(), False))
    assert drv.remediation(drv.read_running(Conn()), intended, set(), False) == []
    assert drv.stale_keys(Conn(), intended) == []
    tag = secret_tag(PASSWORD, RADIO_KEY, VALUES[RADIO_KEY])
    push([f"/interface wireless security-profiles set [find name=dcctl-rf-far-{tag}] "
          "wpa2-pre-shared-key=typed-by-hand"])  # fmt: skip
    assert "typed-by-hand" not in drv.read_running(Conn())  # the export hides it
    assert drv.remediation(drv.read_running(Conn()), intended, set(), False) == []
    lines = drv.stale_keys(Conn(), intended)
    assert len(lines) == 1 and f"wpa2-pre-shared-key={VALUES[RADIO_KEY]}" in lines[0]
    push(lines)
    assert drv.stale_keys(Conn(), intended) == []
