"""RouterOS v7 wireless (the ``wireless`` package): radios and access points (issue 20).

Two more tables beside the bridge's, read from ``/export terse`` and written by
difference exactly like the bridge tables (see :mod:`.driver`):

* ``/interface wireless``: a radio's physical interface is ``set [ find
  default-name=wlan1 ]`` (mode ``bridge`` or ``station-bridge`` for a point-to-point
  link, ``ap-bridge`` for an access point; band, channel width, frequency, country,
  SSID, security profile), a guest SSID a virtual AP ``add master-interface=wlan1
  name=wlan1-guest`` (``default-forwarding=no``: guests do not reach each other).
  The SSID's VLAN is its bridge port's pvid, so SSID -> VLAN is the bridge tables'.
* ``/interface wireless security-profiles``: one per link key or Wi-Fi passphrase,
  named ``dcctl-<owner>-<tag>`` (:mod:`dcctl.engines.switches.secrets`): RouterOS v7
  does not export keys, so the tag in the name is what tells a changed key. Profiles
  named ``dcctl-`` are dcctl's: one no intent wants is removed.

Keys are write-only: sent when their profile (or, for nv2, the interface's profile)
is added or changed, never compared, masked in every shown line by the driver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dcctl.engines.switches.secrets import DeviceSecret
from dcctl.i18n import _

WIRELESS_MENU = "/interface wireless"
PROFILE_MENU = "/interface wireless security-profiles"
#: Security profiles dcctl owns start with this.
PROFILE_PREFIX = "dcctl-"
#: Values RouterOS omits from `/export` because they are the default.
WLAN_DEFAULTS: dict[str, str] = {
    "disabled": "yes",
    "mode": "station",
    "ssid": "MikroTik",
    "wireless-protocol": "any",
    "frequency": "auto",
    "channel-width": "20mhz",
    "security-profile": "default",
    "default-forwarding": "yes",
    "nv2-security": "disabled",
    "comment": "",
}
PROFILE_DEFAULTS: dict[str, str] = {"mode": "none", "authentication-types": "", "comment": ""}
#: Properties a device never exports (v7 hides them): sent, never compared.
WRITE_ONLY = ("wpa2-pre-shared-key", "wpa-pre-shared-key", "nv2-preshared-key")
#: RouterOS band names by the spec's band (802.11ac radios on 5 GHz).
BANDS = {"2ghz": "2ghz-b/g/n", "5ghz": "5ghz-a/n/ac"}
#: RouterOS channel-width names by width in MHz (extension channel chosen by the device).
WIDTHS = {20: "20mhz", 40: "20/40mhz-XX", 80: "20/40/80mhz-XXXX"}
_FIND_DEFAULT = re.compile(r"default-name=([^\s\]]+)")


def parse_line(menu: str, verb: str, toks: list[str], props: dict[str, str], state: Any) -> bool:
    """Record one exported wireless line into `state` (a RosState); False if not wireless."""
    if menu == WIRELESS_MENU:
        if verb == "set":
            found = next((_FIND_DEFAULT.search(t) for t in toks if t.startswith("[")), None)
            if found is not None:
                state.wlans[found[1]] = {k: v for k, v in props.items() if k != "name"}
                if "name" in props and props["name"] != found[1]:
                    state.wlans[found[1]]["name"] = props["name"]
        elif verb == "add" and "name" in props:
            state.wlans[props.pop("name")] = props
        return True
    if menu == PROFILE_MENU:
        if verb == "add" and "name" in props:
            state.profiles[props.pop("name")] = props
        return True
    return False


def profile_name(owner: str, secret: DeviceSecret | None) -> str:
    """``dcctl-<owner>-<tag>`` (``dcctl-<owner>-open`` for an open network)."""
    return f"{PROFILE_PREFIX}{owner}-{secret.tag if secret else 'open'}"


def _secret(secrets: Mapping[str, DeviceSecret], ref: str | None) -> DeviceSecret | None:
    if ref is None:
        return None
    if ref not in secrets:
        raise KeyError(_("secret {ref} was not resolved for this device").format(ref=ref))
    return secrets[ref]


def _profile(secret: DeviceSecret | None, security: str = "wpa2") -> dict[str, str]:
    if secret is None:
        return {"mode": "none"}
    if security != "wpa2":
        raise ValueError(
            _(
                "security {security}: RouterOS's wireless package offers WPA2 only "
                "(validation refuses WPA3 on such models)"
            ).format(security=security)
        )
    return {
        "mode": "dynamic-keys",
        "authentication-types": "wpa2-psk",
        "wpa2-pre-shared-key": secret.value,
    }


def desired(intent: dict[str, Any], secrets: Mapping[str, DeviceSecret], state: Any) -> None:
    """Add the intent's wireless interfaces and security profiles to `state` (a RosState)."""
    for iface, w in sorted(intent.get("wireless", {}).items()):
        if iface.startswith("wifi"):  # the `wifi` package's (:mod:`.wifi`)
            continue
        if "ssids" not in w:  # a radio link end
            secret = _secret(secrets, w["key"])
            profile = profile_name(w["link"], secret)
            state.profiles[profile] = _profile(secret)
            props = {
                "band": BANDS[w["band"]],
                "channel-width": WIDTHS[int(w["channel_width_mhz"])],
                "country": w["country"],
                "disabled": "no",
                "mode": w["mode"],
                "security-profile": profile,
                "ssid": w["ssid"],
                "wireless-protocol": w["protocol"],
            }
            if w.get("frequency_mhz"):
                props["frequency"] = str(w["frequency_mhz"])
            if w["protocol"] == "nv2" and secret is not None:
                props["nv2-security"] = "enabled"
                props["nv2-preshared-key"] = secret.value
            state.wlans[iface] = props
            continue
        for ssid in w["ssids"]:
            secret = _secret(secrets, ssid.get("passphrase"))
            owner = "guest" if ssid.get("guest") else str(ssid["opd"])
            profile = profile_name(owner, secret)
            state.profiles[profile] = _profile(
                secret, "wpa2" if secret is None else ssid["security"]
            )
            props = {"disabled": "no", "security-profile": profile, "ssid": ssid["ssid"]}
            if ssid["interface"] == iface:
                props |= {
                    "band": BANDS[w["band"]],
                    "country": w["country"],
                    "mode": w["mode"],
                    "wireless-protocol": "802.11",
                }
            else:
                props |= {"master-interface": iface, "default-forwarding": "no", "mode": w["mode"]}
            state.wlans[ssid["interface"]] = props


def full_wlan(props: Mapping[str, str]) -> dict[str, str]:
    """Every property, defaults filled in; a virtual AP's mode defaults to ap-bridge."""
    virtual = {"mode": "ap-bridge"} if "master-interface" in props else {}
    return {**WLAN_DEFAULTS, **virtual, **props}


def full_profile(props: Mapping[str, str]) -> dict[str, str]:
    return {**PROFILE_DEFAULTS, **props}


def target(running: Any, want: Any, full: bool, tgt: Any) -> None:
    """Fill `tgt`'s wireless tables: `want` inside dcctl's scope, the rest as running has it.

    dcctl owns the profiles named ``dcctl-``, the interfaces its intent names (their
    managed properties; others keep what the device has), and in full mode every
    virtual AP (a virtual AP dcctl did not make is an SSID nobody reviewed).
    """
    for name, props in running.profiles.items():
        if not name.startswith(PROFILE_PREFIX) or name in want.profiles:
            tgt.profiles[name] = dict(props)
    for name, props in want.profiles.items():
        tgt.profiles[name] = {**running.profiles.get(name, {}), **props}
    for name, props in running.wlans.items():
        virtual = "master-interface" in props
        if name not in want.wlans and not (full and virtual):
            tgt.wlans[name] = dict(props)
    for name, props in want.wlans.items():
        tgt.wlans[name] = {**running.wlans.get(name, {}), **props}


def _args(props: Mapping[str, str], kv: Any) -> str:
    return " ".join(kv(k, v) for k, v in sorted(props.items()))


#: A change of one of these re-sends the write-only keys (the key goes with its profile):
#: a profile's security mode, an interface's profile.
_KEYED_PROFILE = ("mode", "authentication-types")
_KEYED_WLAN = ("security-profile",)


def _changed(have: dict[str, str], want: dict[str, str], keyed: tuple[str, ...]) -> dict[str, str]:
    """The properties to send: those that differ, plus the write-only keys when the
    profile they belong to changes (any other change leaves the key as it is)."""
    diff = {k: v for k, v in want.items() if k not in WRITE_ONLY and have.get(k) != v}
    if any(k in diff for k in keyed):
        diff |= {k: v for k, v in want.items() if k in WRITE_ONLY}
    return diff


def commands(cur: Any, tgt: Any, kv: Any, quote: Any) -> tuple[list[str], list[str]]:
    """(lines before the bridge changes, lines after them) turning `cur` into `tgt`.

    Before: profiles added or changed (an interface may then name them), virtual APs
    added, interfaces set (a new virtual AP exists before its bridge port is added).
    After: virtual APs removed (their bridge ports are gone by then), then profiles
    no interface names any more.
    """
    before: list[str] = []
    after: list[str] = []
    for name, props in sorted(tgt.profiles.items()):
        have = cur.profiles.get(name)
        if have is None:
            args = _args({k: v for k, v in props.items() if v != PROFILE_DEFAULTS.get(k)}, kv)
            before.append(f"{PROFILE_MENU} add name={quote(name)}" + (f" {args}" if args else ""))
            continue
        changed = _changed(full_profile(have), full_profile(props), _KEYED_PROFILE)
        if changed:
            before.append(f"{PROFILE_MENU} set [find name={quote(name)}] {_args(changed, kv)}")
    for name, props in sorted(tgt.wlans.items(), key=lambda x: "master-interface" in x[1]):
        have = cur.wlans.get(name)
        if have is None:
            if "master-interface" not in props:
                raise ValueError(
                    _("{name}: no such wireless interface on the device").format(name=name)
                )
            shown = {k: v for k, v in props.items() if v != WLAN_DEFAULTS.get(k) or k == "disabled"}
            shown["mode"] = props.get("mode", "ap-bridge")  # said, whatever the default
            before.append(f"{WIRELESS_MENU} add name={quote(name)} {_args(shown, kv)}")
            continue
        changed = _changed(full_wlan(have), full_wlan(props), _KEYED_WLAN)
        if not changed:
            continue
        find = (
            f"[find name={quote(name)}]"
            if "master-interface" in have
            else f"[find default-name={quote(name)}]"
        )
        before.append(f"{WIRELESS_MENU} set {find} {_args(changed, kv)}")
    for name, props in sorted(cur.wlans.items()):
        if name not in tgt.wlans and "master-interface" in props:
            after.append(f"{WIRELESS_MENU} remove [find name={quote(name)}]")
    for name in sorted(cur.profiles):
        if name not in tgt.profiles:
            after.append(f"{PROFILE_MENU} remove [find name={quote(name)}]")
    return before, after


def rekey(have: Any, want: Any, kv: Any, quote: Any) -> list[str]:
    """Lines putting back the keys of `want` (RosStates) that differ on the device.

    `have` is read with ``show-sensitive``, in memory only (never written to a backup):
    the one way to see a key changed by hand, since a profile keeps its name (and its
    tag) when someone edits its key. A profile or interface the device lacks is left
    to the ordinary delta, which adds it with its key.
    """
    out = []
    for name, props in sorted(want.profiles.items()):
        live = have.profiles.get(name)
        keys = _stale(live, props, full_profile, _KEYED_PROFILE)
        if keys:
            out.append(f"{PROFILE_MENU} set [find name={quote(name)}] {_args(keys, kv)}")
    for name, props in sorted(want.wlans.items()):
        live = have.wlans.get(name)
        keys = _stale(live, props, full_wlan, _KEYED_WLAN)
        if keys and live is not None:
            find = "name" if "master-interface" in live else "default-name"
            out.append(f"{WIRELESS_MENU} set [find {find}={quote(name)}] {_args(keys, kv)}")
    return out


def _stale(
    live: dict[str, str] | None, want: dict[str, str], full: Any, keyed: tuple[str, ...]
) -> dict[str, str]:
    """The write-only keys of `want` that `live` holds otherwise; none when the delta
    re-sends them anyway (the entry is new, or its profile or security mode changes)."""
    if live is None:
        return {}
    have, need = full(live), full(want)
    if any(have.get(k) != need.get(k) for k in keyed):
        return {}
    return {k: v for k, v in want.items() if k in WRITE_ONLY and live.get(k) != v}


def render(state: Any, kv: Any, quote: Any) -> list[str]:
    """The wireless tables as `/export terse` lines (profiles first: interfaces name them)."""
    lines = []
    for name, props in sorted(state.profiles.items()):
        args = _args(props, kv)
        lines.append(f"{PROFILE_MENU} add name={quote(name)}" + (f" {args}" if args else ""))
    return lines + interface_lines(WIRELESS_MENU, state.wlans, kv, quote)


def interface_lines(menu: str, interfaces: dict[str, Any], kv: Any, quote: Any) -> list[str]:
    """A radio package's interfaces as `/export terse` lines, as RouterOS orders them:
    the radios first (``set [ find default-name=... ]``: they exist from the factory),
    then the virtual interfaces (``add``), which name their radio as master."""
    lines = []
    for name, props in sorted(interfaces.items(), key=lambda x: ("master-interface" in x[1], x[0])):
        if "master-interface" in props:
            lines.append(f"{menu} add name={quote(name)} {_args(props, kv)}")
        else:
            lines.append(f"{menu} set [ find default-name={name} ] {_args(props, kv)}")
    return lines


def verify(state: Any, intent: dict[str, Any]) -> list[str]:
    """Does the device run the intent's radios and SSIDs? Mismatches as text."""
    problems: list[str] = []
    for iface, w in intent.get("wireless", {}).items():
        if iface.startswith("wifi"):  # the `wifi` package's (:mod:`.wifi`)
            continue
        entries = (
            [(iface, w["mode"], w["ssid"])]
            if "ssids" not in w
            else [
                (s["interface"], w["mode"] if s["interface"] == iface else None, s["ssid"])
                for s in w["ssids"]
            ]
        )
        for name, mode, ssid in entries:
            have = full_wlan(state.wlans[name]) if name in state.wlans else None
            if have is None or have["disabled"] != "no":
                problems.append(_("{name}: not an enabled wireless interface").format(name=name))
                continue
            if mode is not None and have["mode"] != mode:
                problems.append(
                    _("{name}: mode is {have}, expected {want}").format(
                        name=name, have=have["mode"], want=mode
                    )
                )
            if have["ssid"] != ssid:
                problems.append(
                    _("{name}: ssid is {have!r}, expected {want!r}").format(
                        name=name, have=have["ssid"], want=ssid
                    )
                )
            profile = have["security-profile"]
            if not profile.startswith(PROFILE_PREFIX) or profile not in state.profiles:
                problems.append(
                    _("{name}: security profile {profile} is not dcctl's").format(
                        name=name, profile=profile
                    )
                )
    return problems
