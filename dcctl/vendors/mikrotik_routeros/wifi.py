"""RouterOS 7.13+ ``wifi`` package: access points with WPA3 (802.11ax models, issue 20).

The second rendering of an AP, for models whose radios RouterOS drives with the
``wifi`` package (``ModelCaps.wireless.package == "wifi"``: ``cAP ax``, ``hAP ax2``,
``hAP ax3``); their interfaces are ``wifi1``, ``wifi2``, so the intent's interface
names say which package renders them. The syntax follows RouterOS's own exports
(help.mikrotik.com/docs/spaces/ROS/pages/224559120/WiFi: ``/interface/wifi set wifi1
... security.authentication-types=wpa2-psk,wpa3-psk security.passphrase=...``, and
its profile menus ``security``, ``configuration``, ``datapath``, ``channel``), here with
named profiles, as a v7 ``/export terse`` lists them (tests/fixtures/devices/
mikrotik_routeros/wifi_export.rsc, its source in that folder's README):

* ``/interface wifi security``: ``authentication-types`` wpa2-psk, wpa3-psk or both,
  ``passphrase`` (write-only: v7 exports it only with ``show-sensitive``); named
  ``dcctl-<owner>-<tag>`` like the legacy package's profiles
  (:func:`.wireless.profile_name`), so a new passphrase is a new name the diff sees.
* ``/interface wifi datapath``: ``bridge=bridge1 vlan-id=<the SSID's VLAN>``: the
  interface becomes a dynamic bridge port of that VLAN, so the bridge tables hold no
  static port for it (the driver leaves ``wifiN`` out of them); the guest's datapath
  adds ``client-isolation=yes`` (guests do not reach each other).
* ``/interface wifi channel``: the band (``2ghz-ax``, ``5ghz-ax``).
* ``/interface wifi configuration``: ssid, country, mode ``ap`` and the three above.
* ``/interface wifi``: the radio ``set [ find default-name=wifi1 ]`` to its channel and
  configuration, the guest SSID a virtual interface ``add master-interface=wifi1
  name=wifi1-guest``.

Every profile named ``dcctl-`` is dcctl's (one no intent wants is removed); the rest
is as the device has it. Diff, push, verify, rollback and the keys read apart for
drift work as for the legacy package (:mod:`.wireless`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dcctl.engines.switches.secrets import DeviceSecret
from dcctl.i18n import _
from dcctl.vendors.mikrotik_routeros.wireless import PROFILE_PREFIX, interface_lines, profile_name

MENU = "/interface wifi"
#: The profile tables, in the order a change adds them (a configuration names the others).
PROFILES = ("security", "channel", "datapath", "configuration")
MENUS = {f"{MENU} {t}": t for t in PROFILES}
#: Values RouterOS omits from `/export` because they are the default.
#: (7.13 exports a profile's ``disabled=no`` all the same; later versions leave it out.)
DEFAULTS: dict[str, dict[str, str]] = {
    "interface": {"disabled": "yes", "comment": "", "configuration": "", "channel": ""},
    "security": {"authentication-types": "", "comment": "", "disabled": "no"},
    "channel": {"comment": "", "disabled": "no"},
    "datapath": {"client-isolation": "no", "comment": "", "disabled": "no"},
    "configuration": {"mode": "ap", "comment": "", "disabled": "no"},
}
#: Sent, never compared: v7 exports it only with ``show-sensitive``.
WRITE_ONLY = ("passphrase",)
#: A change of one of these re-sends the passphrase.
_KEYED = ("authentication-types",)
#: The spec's security -> RouterOS authentication types.
AUTH = {"wpa2": "wpa2-psk", "wpa3": "wpa3-psk", "wpa2-wpa3": "wpa2-psk,wpa3-psk"}
#: The spec's band -> the `wifi` package's band name (802.11ax radios).
BANDS = {"2ghz": "2ghz-ax", "5ghz": "5ghz-ax"}
BRIDGE = "bridge1"
_FIND_DEFAULT = re.compile(r"default-name=([^\s\]]+)")
_WIFI = re.compile(r"wifi\d+(?:-.*)?")


def is_wifi(iface: str) -> bool:
    """A ``wifi``-package interface name (``wifi1``, its virtual ``wifi1-guest``)."""
    return _WIFI.fullmatch(iface) is not None


def empty() -> dict[str, dict[str, dict[str, str]]]:
    return {t: {} for t in ("interface", *PROFILES)}


def parse_line(menu: str, verb: str, toks: list[str], props: dict[str, str], state: Any) -> bool:
    """Record one exported `wifi` line into `state.wifi`; False if not a `wifi` line."""
    if menu == MENU:
        if verb == "set":
            found = next((_FIND_DEFAULT.search(t) for t in toks if t.startswith("[")), None)
            if found is not None:
                state.wifi["interface"][found[1]] = {k: v for k, v in props.items() if k != "name"}
        elif verb == "add" and "name" in props:
            state.wifi["interface"][props.pop("name")] = props
        return True
    table = MENUS.get(menu)
    if table is None:
        return False
    if verb == "add" and "name" in props:
        state.wifi[table][props.pop("name")] = props
    return True


def desired(intent: dict[str, Any], secrets: Mapping[str, DeviceSecret], state: Any) -> None:
    """Add the intent's `wifi` interfaces and profiles to `state` (a RosState)."""
    t = state.wifi
    for iface, w in sorted(intent.get("wireless", {}).items()):
        if not is_wifi(iface) or "ssids" not in w:
            continue
        channel = f"{PROFILE_PREFIX}{w['band']}"
        t["channel"][channel] = {"band": BANDS[w["band"]]}
        for ssid in w["ssids"]:
            ref = ssid.get("passphrase")
            if ref is not None and ref not in secrets:
                raise KeyError(_("secret {ref} was not resolved for this device").format(ref=ref))
            secret = secrets[ref] if ref is not None else None
            guest = bool(ssid.get("guest"))
            owner = "guest" if guest else str(ssid["opd"])
            security = profile_name(owner, secret)
            t["security"][security] = (
                {"authentication-types": AUTH[ssid["security"]], "passphrase": secret.value}
                if secret is not None
                else {}
            )
            datapath = f"{PROFILE_PREFIX}{owner}"
            t["datapath"][datapath] = {"bridge": BRIDGE, "vlan-id": str(ssid["vlan"])} | (
                {"client-isolation": "yes"} if guest else {}
            )
            config = f"{PROFILE_PREFIX}{owner}"
            t["configuration"][config] = {
                "country": str(w["country"]).title(),
                "datapath": datapath,
                "mode": "ap",
                "security": security,
                "ssid": ssid["ssid"],
            }
            props = {"configuration": config, "disabled": "no"}
            if ssid["interface"] == iface:
                props["channel"] = channel
            else:
                props["master-interface"] = iface
            t["interface"][ssid["interface"]] = props


def full(table: str, props: Mapping[str, str]) -> dict[str, str]:
    return {**DEFAULTS[table], **props}


def normalized(state: Any) -> dict[str, Any]:
    return {
        t: {k: dict(sorted(full(t, v).items())) for k, v in sorted(items.items())}
        for t, items in state.wifi.items()
        if items
    }


def target(running: Any, want: Any, full_mode: bool, tgt: Any) -> None:
    """`want` inside dcctl's scope (profiles named ``dcctl-``, the intent's interfaces,
    in full mode every virtual interface), the rest as running has it."""
    for t in PROFILES:
        for name, props in running.wifi[t].items():
            if not name.startswith(PROFILE_PREFIX) or name in want.wifi[t]:
                tgt.wifi[t][name] = dict(props)
        for name, props in want.wifi[t].items():
            tgt.wifi[t][name] = {**running.wifi[t].get(name, {}), **props}
    for name, props in running.wifi["interface"].items():
        if name not in want.wifi["interface"] and not (full_mode and "master-interface" in props):
            tgt.wifi["interface"][name] = dict(props)
    for name, props in want.wifi["interface"].items():
        tgt.wifi["interface"][name] = {**running.wifi["interface"].get(name, {}), **props}


def _args(props: Mapping[str, str], kv: Any) -> str:
    return " ".join(kv(k, v) for k, v in sorted(props.items()))


def _changed(table: str, have: Mapping[str, str], want: Mapping[str, str]) -> dict[str, str]:
    """What differs, plus the passphrase when the authentication types change."""
    h, w = full(table, have), full(table, want)
    diff = {k: v for k, v in w.items() if k not in WRITE_ONLY and h.get(k) != v}
    if any(k in diff for k in _KEYED):
        diff |= {k: v for k, v in w.items() if k in WRITE_ONLY}
    return diff


def _menu(table: str) -> str:
    return MENU if table == "interface" else f"{MENU} {table}"


def _find(name: str, props: Mapping[str, str], quote: Any) -> str:
    key = "name" if "master-interface" in props or not is_wifi(name) else "default-name"
    return f"[find {key}={quote(name)}]"


def commands(cur: Any, tgt: Any, kv: Any, quote: Any) -> tuple[list[str], list[str]]:
    """(lines before the bridge changes, lines after them) turning `cur` into `tgt`:
    profiles, then radios, then virtual interfaces added or set before; virtual
    interfaces, then configurations, then the profiles they named removed after."""
    before: list[str] = []
    after: list[str] = []
    for t in PROFILES:
        for name, props in sorted(tgt.wifi[t].items()):
            have = cur.wifi[t].get(name)
            if have is None:
                shown = {k: v for k, v in props.items() if v != DEFAULTS[t].get(k)}
                args = _args(shown, kv)
                before.append(f"{_menu(t)} add name={quote(name)}" + (f" {args}" if args else ""))
            elif changed := _changed(t, have, props):
                before.append(f"{_menu(t)} set [find name={quote(name)}] {_args(changed, kv)}")
    ifaces = sorted(tgt.wifi["interface"].items(), key=lambda x: "master-interface" in x[1])
    for name, props in ifaces:
        have = cur.wifi["interface"].get(name)
        if have is None and "master-interface" in props:
            before.append(f"{MENU} add name={quote(name)} {_args(props, kv)}")
        elif changed := _changed("interface", have or {}, props):
            # A radio still as the factory left it is not in the export: set it all the same.
            have = have or {}
            before.append(f"{MENU} set {_find(name, have, quote)} {_args(changed, kv)}")
    for name, props in sorted(cur.wifi["interface"].items()):
        if name in tgt.wifi["interface"]:
            continue
        if "master-interface" in props:
            after.append(f"{MENU} remove [find name={quote(name)}]")
        elif changed := _changed("interface", props, {}):  # a rollback: back to the factory's
            before.append(f"{MENU} set {_find(name, props, quote)} {_args(changed, kv)}")
    for t in reversed(PROFILES):
        for name in sorted(cur.wifi[t]):
            if name not in tgt.wifi[t]:
                after.append(f"{_menu(t)} remove [find name={quote(name)}]")
    return before, after


def rekey(have: Any, want: Any, kv: Any, quote: Any) -> list[str]:
    """Lines putting back the passphrases of `want` that `have` (read with
    ``show-sensitive``, in memory only) holds otherwise; a profile the device lacks,
    or whose authentication types change, gets its key from the ordinary delta."""
    out = []
    for name, props in sorted(want.wifi["security"].items()):
        live = have.wifi["security"].get(name)
        if live is None or any(
            full("security", live).get(k) != full("security", props).get(k) for k in _KEYED
        ):
            continue
        keys = {k: v for k, v in props.items() if k in WRITE_ONLY and live.get(k) != v}
        if keys:
            out.append(f"{MENU} security set [find name={quote(name)}] {_args(keys, kv)}")
    return out


def render(state: Any, kv: Any, quote: Any) -> list[str]:
    """The `wifi` tables as `/export terse` lines (profiles first: interfaces name them)."""
    lines = []
    for t in PROFILES:
        for name, props in sorted(state.wifi[t].items()):
            args = _args(props, kv)
            lines.append(f"{_menu(t)} add name={quote(name)}" + (f" {args}" if args else ""))
    return lines + interface_lines(MENU, state.wifi["interface"], kv, quote)


def verify(state: Any, intent: dict[str, Any]) -> list[str]:
    """Does the device broadcast each SSID of the intent on the right VLAN?"""
    problems: list[str] = []
    t = state.wifi
    for iface, w in intent.get("wireless", {}).items():
        if not is_wifi(iface) or "ssids" not in w:
            continue
        for ssid in w["ssids"]:
            name = ssid["interface"]
            have = full("interface", t["interface"][name]) if name in t["interface"] else None
            if have is None or have["disabled"] != "no":
                problems.append(_("{name}: not an enabled wifi interface").format(name=name))
                continue
            conf = t["configuration"].get(have.get("configuration", ""))
            if conf is None:
                problems.append(
                    _("{name}: configuration {conf} is missing").format(
                        name=name, conf=have.get("configuration")
                    )
                )
                continue
            if conf.get("ssid") != ssid["ssid"]:
                problems.append(
                    _("{name}: ssid is {have!r}, expected {want!r}").format(
                        name=name, have=conf.get("ssid"), want=ssid["ssid"]
                    )
                )
            security = conf.get("security", "")
            if not security.startswith(PROFILE_PREFIX) or security not in t["security"]:
                problems.append(
                    _("{name}: security {profile} is not dcctl's").format(
                        name=name, profile=security
                    )
                )
            path = t["datapath"].get(conf.get("datapath", ""), {})
            if path.get("vlan-id") != str(ssid["vlan"]) or path.get("bridge") != BRIDGE:
                problems.append(
                    _("{name}: datapath {datapath} is not vlan-id={vlan} on {bridge}").format(
                        name=name, datapath=conf.get("datapath"), vlan=ssid["vlan"], bridge=BRIDGE
                    )
                )
    return problems
