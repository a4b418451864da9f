"""Radios, radio links, access points and Wi-Fi in the spec (issue 20).

The spec is built by ``tests.specs`` (``wireless=True``: a core switch, an access
switch, a radio link from the core to a remote building of dinkes, one AP per OPD
building and the guest network), then one thing is broken per test: each must be
refused at the file and field that say it, as a radio engineer would refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dcctl.plan.desired import desired_state
from dcctl.plan.switching import GUEST_VLAN_NAME
from dcctl.spec import load_spec
from dcctl.spec.ipam import Lock
from tests.helpers import spec_error
from tests.specs import GUEST_WIFI, RADIO_KEY, OpdSpec, site_doc, wifi_passphrase, write_spec

OPDS = [OpdSpec("dinkes", lan_ports=1, switch=1), OpdSpec("dishub", lan_ports=1, switch=1)]
Mutate = Callable[[dict[str, Any], dict[str, dict[str, Any]]], None]


def write(tmp_path: Path, mutate: Mutate | None = None) -> Path:
    """The wireless spec under ``tmp_path/spec``, after ``mutate(site, {code: opd doc})``."""
    site, docs = site_doc(["cisco_ios", "cisco_ios"], OPDS, wireless=True)
    if mutate is not None:
        mutate(site, {d["code"]: d for d in docs})
    return write_spec(tmp_path / "spec", site, docs)


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The entry of a switches or links list called ``name``."""
    return next(x for x in items if x["name"] == name)


def test_radio_link_is_pruned_like_fiber_and_ends_bridge_and_station(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path))
    alloc = spec.allocation
    state = desired_state(spec)["switches"]
    mgmt, lan = spec.site.management.vlan, alloc.vlans["dinkes/lan"]
    # Beyond the radio link is only dinkes's remote building: its LAN and management cross
    # it, nothing else (not dishub's LAN, not the guest VLAN, not a server VLAN).
    for end in ("radio-dc", "radio-far"):
        assert state[end]["ports"]["wlan1"]["trunk_vlans"] == [mgmt, lan]
        assert state[end]["ports"]["wlan1"]["description"].startswith("RF rf-far")
    assert state["radio-dc"]["ports"]["ether1"]["trunk_vlans"] == [mgmt, lan]
    assert state["radio-far"]["ports"]["ether1"] == {
        "mode": "access",
        "vlan": lan,
        "description": "LAN dinkes remote",
    }
    a, b = state["radio-dc"]["wireless"]["wlan1"], state["radio-far"]["wireless"]["wlan1"]
    assert (a["mode"], b["mode"]) == ("bridge", "station-bridge")
    assert a["ssid"] == b["ssid"] == "rf-far"
    assert a["key"] == b["key"] == RADIO_KEY  # a reference, never the key
    assert (a["band"], a["channel_width_mhz"], a["distance_m"]) == ("5ghz", 40, 8200)


def test_ap_ssids_land_on_their_opd_lan_and_the_guest_vlan(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path))
    alloc = spec.allocation
    state = desired_state(spec)["switches"]
    guest, mgmt = GUEST_WIFI["vlan"], spec.site.management.vlan
    # dishub's AP is a cAP ax: the `wifi` package's interface names, its SSID on WPA3.
    for code, word, security in (("dinkes", "wlan", "wpa2"), ("dishub", "wifi", "wpa3")):
        lan = alloc.vlans[f"{code}/lan"]
        ap = state[f"ap-{code}"]
        assert ap["role"] == "ap"
        assert ap["ports"]["ether1"]["trunk_vlans"] == sorted([guest, mgmt, lan])
        for radio in (f"{word}1", f"{word}2"):
            assert ap["ports"][radio]["vlan"] == lan
            assert ap["ports"][f"{radio}-guest"]["vlan"] == guest
            ssids = ap["wireless"][radio]["ssids"]
            assert [(s["ssid"], s["vlan"]) for s in ssids] == [
                (code.upper(), lan),
                (GUEST_WIFI["ssid"], guest),
            ]
            assert ssids[0]["passphrase"] == wifi_passphrase(code)
            assert ssids[0]["security"] == security
        assert ap["vlans"][str(guest)] == GUEST_VLAN_NAME
    # The guest VLAN reaches the gateway on the hypervisor uplink, and never a tenant.
    assert guest not in alloc.vlans.values()
    core = state["sw1"]["ports"]
    assert any(
        p.get("description", "").startswith("HV") and guest in p["trunk_vlans"]
        for p in core.values()
    )
    assert all(guest not in p.get("trunk_vlans", []) for p in state["radio-dc"]["ports"].values())


def test_no_guest_ssid_no_guest_vlan_anywhere(tmp_path: Path) -> None:
    def no_guest(site: dict[str, Any], opds: dict[str, dict[str, Any]]) -> None:
        for d in opds.values():
            if "wifi" in d:
                d["wifi"]["guest"] = False

    state = desired_state(load_spec(write(tmp_path, no_guest)))["switches"]
    for intent in state.values():
        assert str(GUEST_WIFI["vlan"]) not in intent["vlans"]


def _set(path: tuple[Any, ...], value: Any, doc: str = "site") -> Mutate:
    def mutate(site: dict[str, Any], opds: dict[str, dict[str, Any]]) -> None:
        node: Any = site if doc == "site" else opds[doc]
        for key in path[:-1]:
            node = node[key] if not isinstance(key, tuple) else key[0](node, key[1])
        node[path[-1]] = value

    return mutate


RADIO_FAR = (named, "radio-far")
RF = (named, "rf-far")

# (id, mutation, file, field, message fragment)
REFUSED: list[tuple[str, Mutate, str, str, str]] = [
    (
        "ends-on-different-bands",
        _set(("switches", RADIO_FAR, "radio"), {"band": "2ghz", "channel_width_mhz": 40}),
        "site.yaml",
        "links",
        "disagree on band",
    ),
    (
        "band-the-model-lacks",
        _set(("switches", RADIO_FAR, "radio"), {"band": "2ghz", "channel_width_mhz": 40}),
        "site.yaml",
        "switches",
        "has no 2ghz radio",
    ),
    (
        "ends-on-different-widths",
        _set(("switches", RADIO_FAR, "radio", "channel_width_mhz"), 20),
        "site.yaml",
        "links",
        "disagree on channel width",
    ),
    (
        "ends-on-different-frequencies",
        _set(("switches", RADIO_FAR, "radio", "frequency_mhz"), 5180),
        "site.yaml",
        "links",
        "different frequencies",
    ),
    (
        "frequency-outside-band",
        _set(("switches", RADIO_FAR, "radio", "frequency_mhz"), 2437),
        "site.yaml",
        "switches",
        "outside the 5ghz band",
    ),
    (
        "beyond-model-reach",
        _set(("links", RF, "length_m"), 45_000),
        "site.yaml",
        "links",
        "reaches 40000 m",
    ),
    (
        "radio-link-on-ether-port",
        _set(("links", RF, "b"), "radio-far:ether1"),
        "site.yaml",
        "links",
        "is not one",
    ),
    (
        "copper-link-on-wireless-port",
        _set(("links", (named, "cu-core-radio"), "b"), "radio-dc:wlan1"),
        "site.yaml",
        "links",
        "is a wireless interface",
    ),
    (
        "radio-link-without-key",
        _set(("links", RF, "key"), None),
        "site.yaml",
        "links",
        "needs key",
    ),
    (
        "radio-key-names-an-opd",
        _set(("links", RF, "key"), "env:WSB_DINKES_RADIO_KEY"),
        "site.yaml",
        "links",
        "not in the site's credential registry",
    ),
    (
        "radio-key-is-the-switch-password",
        _set(("links", RF, "key"), "env:WSB_SWITCH_PASSWORD"),
        "site.yaml",
        "links",
        "declared as switch, used here as radio_key",
    ),
    (
        "radio-model-not-a-radio",
        _set(("switches", RADIO_FAR, "model"), "CRS326-24G-2S+"),
        "site.yaml",
        "switches",
        "not a radio or AP model",
    ),
    (
        "radio-without-settings",
        _set(("switches", RADIO_FAR, "radio"), None),
        "site.yaml",
        "switches",
        "needs its radio settings",
    ),
    (
        "ap-of-another-opd",
        _set(("buildings", 0, "access_points"), ["ap-dinkes"], "dishub"),
        "opd/dishub.yaml",
        "buildings",
        "is dinkes's, not dishub's",
    ),
    (
        "ap-unknown",
        _set(("buildings", 0, "access_points"), ["ap-nowhere"], "dinkes"),
        "opd/dinkes.yaml",
        "buildings",
        "is not an access point",
    ),
    (
        "wpa3-on-a-wpa2-model",
        _set(("wifi", "security"), "wpa3", "dinkes"),
        "opd/dinkes.yaml",
        "buildings",
        "offers WPA2 only",
    ),
    (
        "passphrase-of-another-opd",
        _set(("wifi", "passphrase"), wifi_passphrase("dishub"), "dinkes"),
        "opd/dinkes.yaml",
        "wifi.passphrase",
        "is OPD dishub's",
    ),
    (
        "passphrase-is-the-switch-password",
        _set(("wifi", "passphrase"), "file:secrets/site/switch", "dinkes"),
        "opd/dinkes.yaml",
        "wifi.passphrase",
        "not in OPD dinkes's credential registry",
    ),
    (
        "ssid-used-twice",
        _set(("wifi", "ssid"), "DINKES", "dishub"),
        "opd/dishub.yaml",
        "wifi.ssid",
        "already dinkes's",
    ),
    (
        "ssid-is-the-guest-ssid",
        _set(("wifi", "ssid"), GUEST_WIFI["ssid"], "dishub"),
        "opd/dishub.yaml",
        "wifi.ssid",
        "already the guest network's",
    ),
    (
        "guest-vlan-is-management",
        _set(("wifi", "guest", "vlan"), 99),
        "site.yaml",
        "wifi.guest.vlan",
        "management VLAN",
    ),
    (
        "guest-prefix-overlaps-a-pool",
        _set(("wifi", "guest", "prefix"), "10.64.200.0/24"),
        "site.yaml",
        "wifi.guest.prefix",
        "overlaps ipam.lan_pool",
    ),
    (
        "guest-without-site-guest",
        _set(("wifi", "guest"), None),
        "opd/dinkes.yaml",
        "wifi.guest",
        "no guest network",
    ),
    (
        "ap-hangs-off-another-switch",
        _set(("links", (named, "cu-ap-dinkes"), "a"), "sw1:Gi1/0/40"),
        "opd/dinkes.yaml",
        "buildings",
        "not off this building's switch",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "file", "field", "fragment"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_wireless_mistakes_are_refused_where_they_are(
    tmp_path: Path, mutation: Mutate, file: str, field: str, fragment: str
) -> None:
    root = write(tmp_path, mutation)
    err = spec_error(root, fragment)
    assert err.file == file and err.line is not None, err
    assert err.path.startswith(field), (err.path, field)


def test_wpa3_is_refused_on_a_legacy_ap_naming_the_models_that_have_it(tmp_path: Path) -> None:
    """dinkes' AP is a cAP ac (legacy `wireless` package, WPA2 only): WPA3 there is refused
    at the AP's entry of its building, and the hint names the models with the `wifi`
    package; dishub's cAP ax (tests.specs) takes WPA3, and so does wpa2-wpa3."""
    for security in ("wpa3", "wpa2-wpa3"):
        root = write(tmp_path / security, _set(("wifi", "security"), security, "dinkes"))
        err = spec_error(root, "offers WPA2 only")
        assert err.file == "opd/dinkes.yaml" and err.line is not None, err
        assert err.path == "buildings[0].access_points[0]", err.path
        assert "ap-dinkes (cAP ac)" in err.message and security in err.message
        assert err.hint is not None and "cAP ax, hAP ax2, hAP ax3" in err.hint
    spec = load_spec(write(tmp_path / "ax", _set(("wifi", "security"), "wpa2-wpa3", "dishub")))
    assert spec.opds["dishub"].wifi is not None
    assert spec.opds["dishub"].wifi.security == "wpa2-wpa3"
    assert load_spec(write(tmp_path / "ax3")).opds["dishub"].wifi.security == "wpa3"  # type: ignore[union-attr]


def test_guest_vlan_locked_to_a_tenant_is_refused_not_renumbered(tmp_path: Path) -> None:
    """A guest VLAN chosen onto a VLAN the lock gave an OPD renumbers nobody: it is refused."""
    root = write(tmp_path)
    spec = load_spec(root)
    spec.allocation.lock().write(root)
    taken = spec.allocation.vlans["dishub/lan"]
    (root / "site.yaml").write_text(
        (root / "site.yaml").read_text().replace("vlan: 98", f"vlan: {taken}")
    )
    err = spec_error(root, "is already dishub/lan's")
    assert err.file == "site.yaml" and err.path == "wifi.guest.vlan"
    assert Lock.read(root).vlans["dishub/lan"] == taken


def test_the_guest_vlan_is_never_allocated_to_a_tenant(tmp_path: Path) -> None:
    """With the guest VLAN inside vlan_range, IPAM skips it for every OPD."""
    first = load_spec(write(tmp_path / "a")).allocation.vlans
    low = min(first.values())

    spec = load_spec(write(tmp_path / "b", _set(("wifi", "guest", "vlan"), low)))
    assert low not in spec.allocation.vlans.values()


def test_radios_and_aps_are_probed_and_labelled_by_the_opd_they_serve(tmp_path: Path) -> None:
    """An AP's alerts go to its OPD; a radio carrying one OPD is that OPD's; a radio
    carrying several (a backbone) is the site's, so its alerts reach the infra team."""
    from dcctl.monitoring.config import Settings, rules
    from dcctl.monitoring.targets import build_targets

    def backbone(site: dict[str, Any], opds: dict[str, dict[str, Any]]) -> None:
        far = named(site["switches"], "radio-far")
        far.pop("owner")
        far["ports"], far["model"] = ["ether1", "sfp1", "wlan1"], "NetMetal ac2"
        b = {"name": "remote2", "location": "Kantor jauh 2", "switch": "radio-far"}
        opds["dishub"]["buildings"].append({**b, "lan_ports": ["sfp1"]})

    for mutate, radio_label in ((None, "dinkes"), (backbone, "wonosobo")):
        spec = load_spec(write(tmp_path / str(radio_label), mutate))
        targets = {t.key: t for t in build_targets(spec)}
        assert spec.site.name == "wonosobo"
        for radio in ("radio-dc", "radio-far"):
            t = targets[f"radio/{radio}"]
            assert (t.opd, t.kind, t.module) == (radio_label, "radio", "tcp_connect")
            assert t.address == f"{named_sw(spec, radio).mgmt_address}:22"
            assert "radio link rf-far" in t.detail
            assert f"switch/{radio}" not in targets  # one probe, as a radio
        for code in ("dinkes", "dishub"):
            assert targets[f"ap/ap-{code}"].opd == code
        doc = rules(targets.values(), [], Settings(site="wonosobo"))
        by = {r["labels"].get("name"): r for g in doc["groups"] for r in g["rules"]}
        assert by["radio-dc"]["alert"] == "RadioUnreachable"
        assert by["radio-dc"]["labels"]["opd"] == radio_label
        assert by["ap-dinkes"]["alert"] == "AccessPointUnreachable"
        assert by["ap-dinkes"]["expr"] == 'probe_success{job="ap",name="ap-dinkes"} == 0'
        words = "the site wonosobo (backbone)" if radio_label == "wonosobo" else "OPD dinkes"
        assert words in by["radio-far"]["annotations"]["summary"]


def named_sw(spec: Any, name: str) -> Any:
    return next(s for s in spec.site.switches if s.name == name)
