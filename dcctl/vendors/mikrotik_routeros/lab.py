"""MikroTik RouterOS v7 dialect of the lab switch (bridge VLAN filtering).

Why: remote offices and some OPD buildings use MikroTik CRS switches that dcctl
configures through netmiko's `mikrotik_routeros` driver. The lab reproduces the
parts of the RouterOS console that automation touches: menu paths (absolute,
relative, `..`, `/interface/bridge/vlan` and `/interface bridge vlan` forms,
unique-prefix abbreviations), `add/set/remove/enable/disable/print/export` with
`[find ...]`, item numbers and names, RouterOS error texts with line/column, and
the rule that every change is persistent at once.

Semantics worth knowing:
* Factory default (no startup file): identity = switch name, one bridge
  `bridge1` with vlan-filtering=yes and no bridge ports, so a port forwards
  nothing until `/interface bridge port add` puts it into the bridge.
* A bridge port is an untagged member of its pvid VLAN (RouterOS adds that
  dynamically) and a tagged member of every `/interface bridge vlan` entry
  listing it in `tagged`. vlan-filtering=no makes the bridge VLAN-transparent.
* Item numbers always follow the current order (no need to `print` first).
* `[find key=value]` on list properties (vlan-ids, tagged, untagged) matches
  entries that contain every given value.
* The startup file is our own `/export` (without the date line); boot replays it.

Wireless (radios and access points, the legacy `wireless` package of v7):
* `/interface wireless`: a port named `wlanN` given at boot is the device's radio
  (factory: disabled, mode=station, ssid=MikroTik, so `/export` always lists it);
  `add master-interface=wlan1` makes a virtual AP, which reaches the data plane
  through the lab port of the same name (a "virtual port" of the daemon).
  `/interface wireless security-profiles` holds the keys; the factory `default`
  profile (mode=none) cannot be removed.
* A wireless interface forwards only while it radiates: enabled (and its master),
  a mode, an SSID and a complete security profile (a dynamic-keys profile needs the
  key of each PSK type it allows). Then it is a bridge port like an ethernet; with
  vlan-mode=use-tag its clients' frames are tagged vlan-id, so it acts as an access
  port of that VLAN when the bridge carries it tagged on the interface.
* `radio(port)` is what the port radiates (`dcctl.lab.switchd.air`): a radio link's
  ports forward only while the two ends join.
* Keys are sensitive: `/export` and `print` leave them out unless `show-sensitive`
  is given, as RouterOS v7 does; the startup file keeps them (the device's NVRAM).

The `wifi` package (RouterOS 7.13+, 802.11ax access points, WPA3):
* `/interface wifi`: a port named `wifiN` given at boot is a radio (factory:
  disabled, no configuration); `add master-interface=wifi1` makes a virtual
  interface, reaching the data plane through the lab port of its name, as above.
* `/interface wifi security|channel|datapath|configuration`: named profiles; a
  configuration names the others, an interface its configuration (and channel); a
  profile something names cannot be removed.
* A `wifi` interface forwards only while it radiates: enabled (and its master), its
  configuration enabled in mode `ap` with an SSID, and a passphrase if its security
  allows a PSK type (wpa-psk, wpa2-psk, wpa3-psk). Its datapath's `bridge` makes it a
  (dynamic) bridge port whose clients are in the datapath's `vlan-id`; without a
  datapath bridge it forwards as its static bridge port says. `passphrase` is
  sensitive like the legacy keys.

A gateway's `/ip firewall address-list`, `filter` and `nat` (issue 20): ordered
tables that are kept, exported and replayed at boot, so dcctl's edge rules converge
on a lab gateway as on a real one; they filter nothing here (the lab's gateway
namespace enforces the same policy with iptables, :mod:`dcctl.lab.edge`).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dcctl.lab.switchd.air import Radio, key_digest
from dcctl.lab.switchd.state import (
    PortSettings,
    Reply,
)
from dcctl.spec.vlanlist import format_vlan_list, parse_vlan_list
from dcctl.vendors.mikrotik_routeros.driver import numbered_lines

if TYPE_CHECKING:
    from dcctl.lab.switchd.state import Switch

ROS_VERSION = "7.16.2"
FRAME_TYPES = (
    "admit-all",
    "admit-only-untagged-and-priority-tagged",
    "admit-only-vlan-tagged",
)
Item = dict[str, Any]


class RosError(Exception):
    """A RouterOS console error; the message is printed as is."""


# --------------------------------------------------------------------------
# Schema


@dataclass(frozen=True)
class Prop:
    kind: Literal[
        "str",
        "bool",
        "int",
        "enum",
        "enums",
        "vlans",
        "iface",
        "ifaces",
        "bridge",
        "name",
        "wlan",
        "profile",
        "wifi",
        "ref",
    ]
    default: Any = None
    lo: int = 1
    hi: int = 4094
    choices: tuple[str, ...] = ()
    required: bool = False
    readonly: bool = False
    #: A key: left out of `/export` and `print` unless `show-sensitive` is given.
    sensitive: bool = False
    #: kind "ref": the RosConfig attribute whose items' names the value must be one of.
    ref: str = ""


@dataclass(frozen=True)
class Table:
    path: tuple[str, ...]
    attr: str
    props: dict[str, Prop]
    addable: bool = True
    name_key: str | None = None  # items can be selected by this property's value
    export_find: str | None = None  # fixed items: export as `set [ find KEY=V ]`


ETHERNET = Table(
    ("interface", "ethernet"),
    "ethernet",
    {
        "name": Prop("str", readonly=True),
        "default-name": Prop("str", readonly=True),
        "comment": Prop("str"),
        "disabled": Prop("bool", False),
        "mtu": Prop("int", 1500, lo=64, hi=9000),
    },
    addable=False,
    name_key="name",
    export_find="default-name",
)
BRIDGE = Table(
    ("interface", "bridge"),
    "bridge",
    {
        "name": Prop("name", required=True),
        "comment": Prop("str"),
        "disabled": Prop("bool", False),
        "protocol-mode": Prop("enum", "rstp", choices=("none", "rstp", "stp", "mstp")),
        "vlan-filtering": Prop("bool", False),
        # RouterOS 7 bridges have it too (a real 7.5 export sets it: fixtures/devices).
        "ingress-filtering": Prop("bool", True),
    },
    name_key="name",
)
BRIDGE_PORT = Table(
    ("interface", "bridge", "port"),
    "port",
    {
        "bridge": Prop("bridge", required=True),
        "comment": Prop("str"),
        "disabled": Prop("bool", False),
        "frame-types": Prop("enum", "admit-all", choices=FRAME_TYPES),
        "ingress-filtering": Prop("bool", True),
        "interface": Prop("iface", required=True),
        "pvid": Prop("int", 1),
    },
)
BRIDGE_VLAN = Table(
    ("interface", "bridge", "vlan"),
    "vlan",
    {
        "bridge": Prop("bridge", required=True),
        "comment": Prop("str"),
        "disabled": Prop("bool", False),
        "tagged": Prop("ifaces", ()),
        "untagged": Prop("ifaces", ()),
        "vlan-ids": Prop("vlans", required=True),
    },
)
WIRELESS_MODES = (
    "alignment-only", "ap-bridge", "bridge", "nstreme-dual-slave", "station",
    "station-bridge", "station-pseudobridge", "station-pseudobridge-clone", "station-wds",
    "wds-slave",
)  # fmt: skip
#: Modes that carry clients' frames (the others align antennas or serve nstreme-dual).
RADIATING_MODES = frozenset(WIRELESS_MODES) - {"alignment-only", "nstreme-dual-slave"}
BANDS = (
    "2ghz-b", "2ghz-b/g", "2ghz-b/g/n", "2ghz-g/n", "2ghz-onlyg", "2ghz-onlyn", "5ghz-a",
    "5ghz-a/n", "5ghz-a/n/ac", "5ghz-n/ac", "5ghz-onlyac", "5ghz-onlyn",
)  # fmt: skip
CHANNEL_WIDTHS = (
    "10mhz", "20mhz", "5mhz", "20/40mhz-Ce", "20/40mhz-eC", "20/40mhz-XX",
    "20/40/80mhz-Ceee", "20/40/80mhz-eCee", "20/40/80mhz-eeCe", "20/40/80mhz-eeeC",
    "20/40/80mhz-XXXX",
)  # fmt: skip
WIRELESS = Table(
    ("interface", "wireless"),
    "wireless",
    {
        "name": Prop("name"),
        "default-name": Prop("str", readonly=True),
        "master-interface": Prop("wlan", required=True),
        "comment": Prop("str"),
        "disabled": Prop("bool", True),
        "mode": Prop("enum", "station", choices=WIRELESS_MODES),
        # Empty by default; a radio leaves the factory with ssid=MikroTik, which its
        # export therefore always shows (so every radio appears in `/export`).
        "ssid": Prop("str", ""),
        "band": Prop("enum", "5ghz-a", choices=BANDS),
        "channel-width": Prop("enum", "20mhz", choices=CHANNEL_WIDTHS),
        "frequency": Prop("str", "auto"),
        "scan-list": Prop("str", "default"),
        "wireless-protocol": Prop(
            "enum",
            "any",
            choices=(
                "802.11",
                "any",
                "nstreme",
                "nv2",
                "nv2-nstreme",
                "nv2-nstreme-802.11",
                "unspecified",
            ),
        ),
        "security-profile": Prop("profile", "default"),
        # nv2 (MikroTik's TDMA protocol) has its own encryption and key.
        "nv2-security": Prop("enum", "disabled", choices=("disabled", "enabled")),
        "nv2-preshared-key": Prop("str", "", sensitive=True),
        "vlan-mode": Prop("enum", "no-tag", choices=("no-tag", "use-service-tag", "use-tag")),
        "vlan-id": Prop("int", 1),
        "default-forwarding": Prop("bool", True),
        "default-authentication": Prop("bool", True),
        "hide-ssid": Prop("bool", False),
        "radio-name": Prop("str", ""),
        "country": Prop("str", "etsi"),
        "installation": Prop("enum", "any", choices=("any", "indoor", "outdoor")),
        "distance": Prop("str", "dynamic"),
        "frequency-mode": Prop(
            "enum",
            "regulatory-domain",
            choices=("manual-txpower", "regulatory-domain", "superchannel"),
        ),
        "wds-mode": Prop(
            "enum",
            "disabled",
            choices=("disabled", "dynamic", "dynamic-mesh", "static", "static-mesh"),
        ),
        "wds-default-bridge": Prop("str", "none"),
        "max-station-count": Prop("int", 2007, lo=1, hi=2007),
    },
    name_key="name",
    export_find="default-name",
)
SECURITY = Table(
    ("interface", "wireless", "security-profiles"),
    "security",
    {
        "name": Prop("str", required=True),
        "default": Prop("bool", False, readonly=True),
        "comment": Prop("str"),
        "mode": Prop(
            "enum",
            "none",
            choices=("dynamic-keys", "none", "static-keys-optional", "static-keys-required"),
        ),
        "authentication-types": Prop(
            "enums", (), choices=("wpa-eap", "wpa-psk", "wpa2-eap", "wpa2-psk")
        ),
        "unicast-ciphers": Prop("enums", ("aes-ccm",), choices=("aes-ccm", "tkip")),
        "group-ciphers": Prop("enums", ("aes-ccm",), choices=("aes-ccm", "tkip")),
        "wpa-pre-shared-key": Prop("str", "", sensitive=True),
        "wpa2-pre-shared-key": Prop("str", "", sensitive=True),
        "supplicant-identity": Prop("str", "MikroTik"),
        "management-protection": Prop(
            "enum", "disabled", choices=("allowed", "disabled", "required")
        ),
    },
    name_key="name",
    export_find="default",
)
#: The PSK authentication types and the key each needs.
PSK_KEYS = {"wpa-psk": "wpa-pre-shared-key", "wpa2-psk": "wpa2-pre-shared-key"}


def _wifi_profile(path: str, attr: str, props: dict[str, Prop]) -> Table:
    """A named profile menu of the `wifi` package (security, channel, datapath, ...)."""
    common = {
        "name": Prop("str", required=True),
        "comment": Prop("str"),
        "disabled": Prop("bool", False),
    }
    return Table(("interface", "wifi", path), attr, {**common, **props}, name_key="name")


# The `wifi` package (RouterOS 7.13+, 802.11ax access points): named profiles that a
# configuration names, and the interfaces (`wifiN` radios, virtual ones on a master).
WIFI_SECURITY = _wifi_profile(
    "security",
    "wifi_security",
    {
        "authentication-types": Prop(
            "enums",
            (),
            choices=("owe", "wpa-eap", "wpa-psk", "wpa2-eap", "wpa2-psk", "wpa3-eap", "wpa3-psk"),
        ),
        "passphrase": Prop("str", "", sensitive=True),
        "ft": Prop("bool", False),
        "ft-over-ds": Prop("bool", False),
        "wps": Prop("enum", "push-button", choices=("disable", "push-button")),
    },
)
WIFI_CHANNEL = _wifi_profile(
    "channel",
    "wifi_channel",
    {
        "band": Prop(
            "enum",
            "",
            choices=(
                "2ghz-ax",
                "2ghz-g",
                "2ghz-n",
                "5ghz-a",
                "5ghz-ac",
                "5ghz-an",
                "5ghz-ax",
                "5ghz-n",
            ),
        ),
        "width": Prop("str", ""),
        "frequency": Prop("str", ""),
        "skip-dfs-channels": Prop("str", ""),
    },
)
WIFI_DATAPATH = _wifi_profile(
    "datapath",
    "wifi_datapath",
    {
        "bridge": Prop("bridge"),
        "vlan-id": Prop("int", None),
        "client-isolation": Prop("bool", False),
    },
)
WIFI_CONFIGURATION = _wifi_profile(
    "configuration",
    "wifi_configuration",
    {
        "ssid": Prop("str", ""),
        "country": Prop("str", "United States"),
        "mode": Prop("enum", "ap", choices=("ap", "station")),
        "manager": Prop("enum", "local", choices=("capsman", "capsman-or-local", "local")),
        "security": Prop("ref", "", ref="wifi_security"),
        "datapath": Prop("ref", "", ref="wifi_datapath"),
        "channel": Prop("ref", "", ref="wifi_channel"),
        "hide-ssid": Prop("bool", False),
    },
)
WIFI = Table(
    ("interface", "wifi"),
    "wifi",
    {
        "name": Prop("name"),
        "default-name": Prop("str", readonly=True),
        "master-interface": Prop("wifi", required=True),
        "comment": Prop("str"),
        "disabled": Prop("bool", True),
        "configuration": Prop("ref", "", ref="wifi_configuration"),
        "channel": Prop("ref", "", ref="wifi_channel"),
        "mac-address": Prop("str", ""),
    },
    name_key="name",
    export_find="default-name",
)
#: `/ip firewall`: the properties dcctl's edge policy writes, and a rule's usual others.
_RULE = {
    "chain": Prop("str", required=True),
    # Fasttrack's and hotspot's rules are dynamic; the emulator has none, but
    # `find where dynamic=no` (how dcctl anchors its rules) must work.
    "dynamic": Prop("bool", False, readonly=True),
    "comment": Prop("str"),
    "disabled": Prop("bool", False),
    "log": Prop("bool", False),
    "log-prefix": Prop("str", ""),
    **{
        k: Prop("str")
        for k in (
            "connection-nat-state", "connection-state", "dst-address", "dst-address-list",
            "dst-port", "in-interface", "in-interface-list", "ipsec-policy", "out-interface",
            "out-interface-list", "protocol", "src-address", "src-address-list", "src-port",
        )
    },
}  # fmt: skip
ADDRESS_LIST = Table(
    ("ip", "firewall", "address-list"),
    "address_list",
    {
        "list": Prop("str", required=True),
        "address": Prop("str", required=True),
        "comment": Prop("str"),
        "disabled": Prop("bool", False),
    },
)
FILTER = Table(
    ("ip", "firewall", "filter"),
    "filter",
    {
        # No default: RouterOS exports a rule's action even when it is accept.
        "action": Prop(
            "enum",
            None,
            choices=(
                "accept", "add-dst-to-address-list", "add-src-to-address-list", "drop",
                "fasttrack-connection", "jump", "log", "passthrough", "reject", "return",
                "tarpit",
            ),
        ),
        **_RULE,
    },
)  # fmt: skip
NAT = Table(
    ("ip", "firewall", "nat"),
    "nat",
    {
        "action": Prop(
            "enum",
            None,
            choices=("accept", "dst-nat", "masquerade", "netmap", "redirect", "src-nat"),
        ),
        **_RULE,
    },
)
FIREWALL_TABLES = (ADDRESS_LIST, FILTER, NAT)
#: The `wifi` package's PSK authentication types (one passphrase serves them all).
WIFI_PSK = frozenset({"wpa-psk", "wpa2-psk", "wpa3-psk"})
WIFI_TABLES = (WIFI_SECURITY, WIFI_CHANNEL, WIFI_DATAPATH, WIFI_CONFIGURATION, WIFI)
TABLES = {
    t.path: t
    for t in (
        ETHERNET, BRIDGE, BRIDGE_PORT, BRIDGE_VLAN, WIRELESS, SECURITY, *WIFI_TABLES,
        *FIREWALL_TABLES,
    )
}  # fmt: skip
IDENTITY_PATH = ("system", "identity")
EXPORT_ORDER: list[tuple[str, ...]] = [
    BRIDGE.path,
    ETHERNET.path,
    SECURITY.path,  # before the interfaces that name a profile (boot replays in order)
    WIRELESS.path,
    *(t.path for t in WIFI_TABLES),  # profiles, then the configurations, then interfaces
    BRIDGE_PORT.path,
    BRIDGE_VLAN.path,
    *(t.path for t in FIREWALL_TABLES),  # lists before the rules that name them
    IDENTITY_PATH,
]
MENUS: set[tuple[str, ...]] = {
    (), ("interface",), ("system",), ("ip",), ("ip", "firewall"), IDENTITY_PATH, *TABLES,
}  # fmt: skip
TABLE_COMMANDS = ("add", "disable", "enable", "export", "print", "remove", "set")


def menu_commands(path: tuple[str, ...]) -> tuple[str, ...]:
    table = TABLES.get(path)
    if table is not None:
        if table.addable:
            return TABLE_COMMANDS
        return ("disable", "enable", "export", "print", "set")
    if path == IDENTITY_PATH:
        return ("export", "print", "set")
    if path == ("interface",):
        return ("export", "print")
    return ("export",)


def submenus(path: tuple[str, ...]) -> list[str]:
    return sorted(m[-1] for m in MENUS if len(m) == len(path) + 1 and m[: len(path)] == path)


# --------------------------------------------------------------------------
# Config model


@dataclass
class RosConfig:
    identity: str
    ethernet: list[Item]
    bridge: list[Item] = field(default_factory=list)
    port: list[Item] = field(default_factory=list)
    vlan: list[Item] = field(default_factory=list)
    wireless: list[Item] = field(default_factory=list)
    security: list[Item] = field(default_factory=list)
    wifi: list[Item] = field(default_factory=list)
    wifi_security: list[Item] = field(default_factory=list)
    wifi_channel: list[Item] = field(default_factory=list)
    wifi_datapath: list[Item] = field(default_factory=list)
    wifi_configuration: list[Item] = field(default_factory=list)
    address_list: list[Item] = field(default_factory=list)
    filter: list[Item] = field(default_factory=list)
    nat: list[Item] = field(default_factory=list)

    @staticmethod
    def empty(identity: str, ports: Sequence[str]) -> RosConfig:
        """The hardware's interfaces: `wlanN` ports are radios of the legacy package,
        `wifiN` radios of the `wifi` package, the rest ethernet."""
        eth = [
            {**_defaults(ETHERNET), "name": p, "default-name": p}
            for p in ports
            if not _wlan(p) and not _wifi(p)
        ]
        wifi = [
            {**_defaults(WIFI), "name": p, "default-name": p, "master-interface": None}
            for p in ports
            if _wifi(p)
        ]
        wlan = [
            {
                **_defaults(WIRELESS),
                "name": p,
                "default-name": p,
                "master-interface": None,
                "ssid": "MikroTik",
            }
            for p in ports
            if _wlan(p)
        ]
        profile = {**_defaults(SECURITY), "name": "default", "default": True}
        return RosConfig(identity, eth, wireless=wlan, security=[profile], wifi=wifi)

    @staticmethod
    def factory(identity: str, ports: Sequence[str]) -> RosConfig:
        cfg = RosConfig.empty(identity, ports)
        cfg.bridge.append({**_defaults(BRIDGE), "name": "bridge1", "vlan-filtering": True})
        return cfg

    def items(self, table: Table) -> list[Item]:
        items: list[Item] = getattr(self, table.attr)
        return items

    def interface_names(self) -> set[str]:
        return (
            {e["name"] for e in self.ethernet}
            | {b["name"] for b in self.bridge}
            | {w["name"] for w in self.wireless}
            | {w["name"] for w in self.wifi}
        )

    def effective_ports(self) -> dict[str, PortSettings]:
        """Lab port -> settings: ethernets by factory name, wireless interfaces by
        factory name (radios) or name (virtual APs, whose lab port has that name)."""
        out: dict[str, PortSettings] = {}
        for eth in self.ethernet:
            out[eth["default-name"]] = self._bridged(eth["name"], not eth["disabled"])
        for w in self.wireless:
            # A disabled radio forwards nothing (not radiating) but keeps its lab port up:
            # air has no carrier to lose, and `lab up` would put a port set down back up.
            up = True
            settings = self._bridged(w["name"], up)
            if not self.radiating(w):
                settings = PortSettings.parked(up)
            elif w["vlan-mode"] == "use-tag" and settings.kind != "transparent":
                # Clients' frames are tagged vlan-id by the interface itself.
                vid = w["vlan-id"]
                ok = settings.kind == "trunk" and vid in settings.trunks
                settings = PortSettings.access(vid, up) if ok else PortSettings.parked(up)
            out[w["default-name"] or w["name"]] = settings
        for w in self.wifi:
            out[w["default-name"] or w["name"]] = self._wifi_port(w)
        return out

    def _wifi_port(self, w: Item) -> PortSettings:
        """A `wifi` interface: nothing unless it radiates; then its datapath's bridge and
        VLAN (RouterOS makes it a dynamic bridge port, clients' frames in vlan-id), or,
        without a datapath bridge, whatever its static bridge port says."""
        up = True
        if not self.wifi_radiating(w):
            return PortSettings.parked(up)
        conf = self._named(self.wifi_configuration, w["configuration"]) or {}
        path = self._named(self.wifi_datapath, conf.get("datapath", "")) or {}
        if not path.get("bridge") or path.get("disabled"):
            return self._bridged(w["name"], up)
        br = next((b for b in self.bridge if b["name"] == path["bridge"]), None)
        if br is None or br["disabled"]:
            return PortSettings.parked(up)
        if not br["vlan-filtering"]:
            return PortSettings("transparent", admin_up=up)
        vid = path.get("vlan-id")
        return PortSettings.access(vid, up) if vid else PortSettings.access(1, up)

    @staticmethod
    def _named(items: list[Item], name: str) -> Item | None:
        return next((x for x in items if x["name"] == name and name), None)

    def wifi_radiating(self, w: Item) -> bool:
        """Enabled (with its master), with an enabled AP configuration that has an SSID
        and, if its security allows a PSK type, a passphrase."""
        if w["disabled"]:
            return False
        if w["master-interface"] is not None:
            master = self._named(self.wifi, w["master-interface"])
            if master is None or master is w or not self.wifi_radiating(master):
                return False
        conf = self._named(self.wifi_configuration, w["configuration"])
        if conf is None or conf["disabled"] or conf["mode"] != "ap" or not conf["ssid"]:
            return False
        if not conf["security"]:
            return True  # an open network
        sec = self._named(self.wifi_security, conf["security"])
        if sec is None or sec["disabled"]:
            return False
        return not (WIFI_PSK & set(sec["authentication-types"])) or bool(sec["passphrase"])

    def _bridged(self, iface: str, up: bool) -> PortSettings:
        """What interface `iface` forwards as a port of its bridge (if any)."""
        bridges = {b["name"]: b for b in self.bridge}
        bp = next((p for p in self.port if p["interface"] == iface and not p["disabled"]), None)
        br = bridges.get(bp["bridge"]) if bp else None
        if bp is None or br is None or br["disabled"]:
            return PortSettings.parked(up)
        if not br["vlan-filtering"]:
            return PortSettings("transparent", admin_up=up)
        tagged: set[int] = set()
        for v in self.vlan:
            if v["bridge"] == br["name"] and not v["disabled"] and iface in v["tagged"]:
                tagged |= v["vlan-ids"]
        pvid: int | None = bp["pvid"]
        if bp["frame-types"] == "admit-only-vlan-tagged":
            pvid = None
        elif bp["frame-types"] == "admit-only-untagged-and-priority-tagged":
            tagged = set()
        if not tagged:
            return PortSettings.access(pvid, up) if pvid else PortSettings.parked(up)
        return PortSettings.trunk(tagged, pvid, up)

    # -- wireless ------------------------------------------------------------

    def profile(self, name: str) -> Item | None:
        return next((p for p in self.security if p["name"] == name), None)

    def radiating(self, w: Item) -> bool:
        """Enabled (with its master), in a mode that carries frames, with an SSID and a
        complete security profile: what a client or the far end could associate with."""
        if w["disabled"] or w["mode"] not in RADIATING_MODES or not w["ssid"]:
            return False
        if w["master-interface"] is not None:
            master = next((m for m in self.wireless if m["name"] == w["master-interface"]), None)
            if master is None or master is w or not self.radiating(master):
                return False
        prof = self.profile(w["security-profile"])
        if prof is None:
            return False
        if prof["mode"] == "dynamic-keys":
            psk = [PSK_KEYS[t] for t in prof["authentication-types"] if t in PSK_KEYS]
            return bool(psk) and all(prof[k] for k in psk)
        return prof["mode"] == "none"

    def radio(self, port: str, salt: str = "") -> Radio | None:
        """What the wireless interface on lab port `port` radiates; None if nothing."""
        w = next((x for x in self.wireless if (x["default-name"] or x["name"]) == port), None)
        if w is None or not self.radiating(w):
            return None
        prof = self.profile(w["security-profile"])
        assert prof is not None
        security = "open"
        if prof["mode"] != "none":
            keys = ",".join(
                key_digest(salt, prof[PSK_KEYS[t]])
                for t in sorted(prof["authentication-types"])
                if t in PSK_KEYS
            )
            auth = ",".join(sorted(prof["authentication-types"]))
            ciphers = ",".join(sorted(prof["unicast-ciphers"]))
            security = f"{prof['mode']}/{auth}/{ciphers}/{keys}"
        if w["wireless-protocol"] in ("nv2", "nv2-nstreme", "nv2-nstreme-802.11"):
            nv2 = w["nv2-security"] == "enabled"
            security += "|nv2:" + (key_digest(salt, w["nv2-preshared-key"]) if nv2 else "open")
        return Radio(
            mode=w["mode"],
            ssid=w["ssid"],
            band=w["band"],
            channel_width=w["channel-width"],
            protocol=w["wireless-protocol"],
            security=security,
        )

    def export_lines(
        self, under: tuple[str, ...] = (), terse: bool = False, sensitive: bool = False
    ) -> list[str]:
        lines: list[str] = []
        for path in EXPORT_ORDER:
            if path[: len(under)] != under:
                continue
            body = self._export_section(path, sensitive)
            if not body:
                continue
            menu = "/" + " ".join(path)
            if terse:
                lines.extend(f"{menu} {cmd}" for cmd in body)
            else:
                lines.append(menu)
                lines.extend(body)
        return lines

    def _export_section(self, path: tuple[str, ...], sensitive: bool = False) -> list[str]:
        if path == IDENTITY_PATH:
            return [f"set name={quote(self.identity)}"]
        table = TABLES[path]
        out = []
        for item in self.items(table):
            fixed = table.export_find is not None and bool(item.get(table.export_find))
            args = [
                f"{k}={fmt_value(table.props[k], item[k])}"
                for k in sorted(table.props)
                if not table.props[k].readonly
                and item[k] != table.props[k].default
                and (sensitive or not table.props[k].sensitive)
                # a radio (or the default profile) keeps its factory name unless renamed
                and not (fixed and k == "name" and item[k] == _factory_name(item))
                and not (fixed and k == "master-interface")  # only virtual APs have one
            ]
            if fixed:
                if args:
                    key = table.export_find
                    assert key is not None
                    found = fmt_value(table.props[key], item[key])
                    out.append(f"set [ find {key}={found} ] " + " ".join(args))
            else:
                out.append("add " + " ".join(args))
        return out

    def render_startup(self) -> str:
        head = [f"# dcctl lab switchd: RouterOS {ROS_VERSION} export, replayed at boot", "#"]
        return "\n".join(head + self.export_lines(sensitive=True)) + "\n"


def _defaults(table: Table) -> Item:
    return {k: p.default for k, p in table.props.items()}


def _factory_name(item: Item) -> str:
    """The name a fixed item had from the factory (a radio's port, the default profile)."""
    return str(item.get("default-name") or "default")


def _wlan(port: str) -> bool:
    """A factory radio port name (`wlan1`, `wlan2`)."""
    return re.fullmatch(r"wlan\d+", port) is not None


def _wifi(port: str) -> bool:
    """A factory radio port name of the `wifi` package (`wifi1`, `wifi2`)."""
    return re.fullmatch(r"wifi\d+", port) is not None


def quote(value: str) -> str:
    if value and re.fullmatch(r"[A-Za-z0-9_.:,/+*@-]+", value):
        return value
    esc = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{esc}"'


def fmt_value(prop: Prop, value: Any) -> str:
    if prop.kind == "bool":
        return "yes" if value else "no"
    if prop.kind == "vlans":
        return format_vlan_list(value, min_range=2) if value else ""
    if prop.kind in ("ifaces", "enums"):
        return ",".join(value)
    if value is None:
        return '""'
    return quote(str(value))


# --------------------------------------------------------------------------
# Console tokenizer


@dataclass(frozen=True)
class RTok:
    text: str
    col: int  # 1-based column in the typed line


def split_statements(line: str, base: int = 1) -> list[list[RTok]]:
    """Split on whitespace and top-level `;`, keeping "..." and [...] whole."""
    stmts: list[list[RTok]] = []
    toks: list[RTok] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch.isspace():
            i += 1
            continue
        if ch == ";":
            stmts.append(toks)
            toks = []
            i += 1
            continue
        start, depth = i, 0
        while i < n:
            ch = line[i]
            if ch == '"':
                q = i
                i += 1
                while i < n and line[i] != '"':
                    i += 2 if line[i] == "\\" else 1
                if i >= n:
                    raise RosError(f"syntax error (line 1 column {q + base})")
                i += 1
                continue
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth < 0:
                    raise RosError(f"syntax error (line 1 column {i + base})")
            elif depth == 0 and (ch.isspace() or ch == ";"):
                break
            i += 1
        if depth > 0:
            raise RosError(f"syntax error (line 1 column {start + base})")
        toks.append(RTok(line[start:i], start + base))
    stmts.append(toks)
    return [s for s in stmts if s]


def unquote(raw: str, col: int) -> str:
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"'):
            raise RosError(f"syntax error (line 1 column {col})")
        body, out, i = raw[1:-1], [], 0
        while i < len(body):
            ch = body[i]
            if ch == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                out.append({"n": "\n", "t": "\t", "_": " "}.get(nxt, nxt))
                i += 2
                continue
            if ch == '"':
                raise RosError(f"syntax error (line 1 column {col + i + 1})")
            out.append(ch)
            i += 1
        return "".join(out)
    if '"' in raw:
        pos = col + raw.index('"')
        raise RosError(f"syntax error (line 1 column {pos})")
    return raw


def unique_prefix(word: str, choices: Sequence[str]) -> str | None:
    if word in choices:
        return word
    hits = [c for c in choices if c.startswith(word)]
    return hits[0] if len(hits) == 1 else None


# --------------------------------------------------------------------------
# Session


class RosSession:
    """One console session: its own menu path, the switch's shared config."""

    def __init__(
        self, switch: Switch | None, username: str, config: RosConfig | None = None
    ) -> None:
        self.switch = switch
        self.username = username
        self._config = config
        self.path: tuple[str, ...] = ()

    @property
    def config(self) -> RosConfig:
        if self.switch is not None:
            cfg = self.switch.config
            assert isinstance(cfg, RosConfig)
            return cfg
        assert self._config is not None
        return self._config

    @property
    def secret_input(self) -> bool:
        return False

    def banner(self) -> str:
        return (
            f"\n  MikroTik RouterOS {ROS_VERSION} (c) 1999-2024       https://www.mikrotik.com/\n"
            "  dcctl lab emulation on Open vSwitch\n\n"
        )

    def prompt(self) -> str:
        where = ("/" + "/".join(self.path)) if self.path else ""
        return f"[{self.username}@{self.config.identity}] {where}> "

    def refuse(self, line: str) -> Reply:
        return Reply("failure: rejected by lab fault injection\n")

    def handle(self, line: str) -> Reply:
        bad = next((i for i, ch in enumerate(line) if not (" " <= ch <= "~")), None)
        if bad is not None:
            return Reply(f"syntax error (line 1 column {bad + 1})\n")
        if not line.strip() or line.lstrip().startswith("#"):
            return Reply()
        out: list[str] = []
        try:
            for stmt in split_statements(line):
                text, close = self._statement(stmt)
                out.append(text)
                if close:
                    return Reply("".join(out), close=True)
        except RosError as exc:
            out.append(f"{exc}\n")
        return Reply("".join(out))

    # -- statements --------------------------------------------------------

    def _statement(self, toks: list[RTok]) -> tuple[str, bool]:
        words: list[RTok] = []
        first = toks[0]
        path: tuple[str, ...] = self.path
        if first.text.startswith("/"):
            path = ()
            col = first.col + 1
            for part in first.text[1:].split("/"):
                if part:
                    words.append(RTok(part, col))
                col += len(part) + 1
            rest = toks[1:]
        else:
            rest = toks
        queue = words + rest
        for i, w in enumerate(queue):
            if "=" in w.text or w.text.startswith(("[", '"')):
                raise RosError(f"bad command name {w.text} (line 1 column {w.col})")
            if w.text == "..":
                path = path[:-1]
                continue
            subs = submenus(path)
            choice = unique_prefix(w.text, [*subs, *menu_commands(path), "quit"])
            if choice is None:
                raise RosError(f"bad command name {w.text} (line 1 column {w.col})")
            if choice in subs:
                path = (*path, choice)
                continue
            if choice == "quit":
                return "", True
            return self._command(path, choice, queue[i + 1 :], w), False
        self.path = path
        return "", False

    def _command(self, path: tuple[str, ...], cmd: str, args: list[RTok], at: RTok) -> str:
        if cmd == "export":
            return self._export(path, args)
        if path == IDENTITY_PATH:
            return self._identity(cmd, args)
        if path == ("interface",):
            self._flags(args, ("without-paging", "detail", "terse"))
            return self._print_interfaces()
        table = TABLES[path]
        if cmd == "print":
            return self._print(table, args)
        if cmd == "add":
            self._add(table, args)
        elif cmd == "set":
            self._set(table, args, at)
        elif cmd == "remove":
            for idx in sorted(self._select(table, args, at, allow_props=False), reverse=True):
                self._remove(table, idx)
        else:  # enable / disable
            for idx in self._select(table, args, at, allow_props=False):
                self.config.items(table)[idx]["disabled"] = cmd == "disable"
        return ""

    # -- argument helpers --------------------------------------------------

    def _flags(self, args: list[RTok], allowed: Sequence[str]) -> set[str]:
        got = set()
        for t in args:
            word = unique_prefix(t.text, allowed)
            if word is None:
                raise RosError(f"expected end of command (line 1 column {t.col})")
            got.add(word)
        return got

    def _kv(self, table: Table, args: list[RTok]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for t in args:
            key, eq, raw = t.text.partition("=")
            prop_name = unique_prefix(key, list(table.props)) if eq else None
            if prop_name is None or table.props[prop_name].readonly:
                raise RosError(f"expected end of command (line 1 column {t.col})")
            text = unquote(raw, t.col + len(key) + 1)
            values[prop_name] = self._parse_value(prop_name, table.props[prop_name], text)
        return values

    def _parse_value(self, name: str, prop: Prop, text: str) -> Any:
        cfg = self.config
        if prop.kind in ("str", "name"):
            if prop.kind == "name" and not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", text):
                raise RosError(f"invalid value for argument {name}")
            return text
        if prop.kind == "bool":
            if text in ("yes", "true"):
                return True
            if text in ("no", "false"):
                return False
            raise RosError(f"invalid value for argument {name}")
        if prop.kind == "int":
            if not text.isdigit() or not prop.lo <= int(text) <= prop.hi:
                raise RosError(f"value of {name} out of range ({prop.lo}..{prop.hi})")
            return int(text)
        if prop.kind == "enum":
            choice = unique_prefix(text, prop.choices)
            if choice is None:
                raise RosError(f"invalid value for argument {name}")
            return choice
        if prop.kind == "vlans":
            try:
                return frozenset(parse_vlan_list(text))
            except ValueError:
                raise RosError(f"invalid value for argument {name}") from None
        if prop.kind == "iface":
            known = {e["name"] for e in cfg.ethernet} | {w["name"] for w in cfg.wireless}
            if text not in known | {w["name"] for w in cfg.wifi}:
                raise RosError(f"input does not match any value of {name}")
            return text
        if prop.kind == "wifi":
            if text not in {w["name"] for w in cfg.wifi}:
                raise RosError(f"input does not match any value of {name}")
            return text
        if prop.kind == "ref":
            if text and text not in {x["name"] for x in getattr(cfg, prop.ref)}:
                raise RosError(f"input does not match any value of {name}")
            return text
        if prop.kind == "wlan":
            if text not in {w["name"] for w in cfg.wireless}:
                raise RosError(f"input does not match any value of {name}")
            return text
        if prop.kind == "profile":
            if cfg.profile(text) is None:
                raise RosError(f"input does not match any value of {name}")
            return text
        if prop.kind == "enums":
            words = [w for w in text.split(",") if w]
            if any(w not in prop.choices for w in words):
                raise RosError(f"invalid value for argument {name}")
            return tuple(sorted(set(words)))
        if prop.kind == "bridge":
            if text not in {b["name"] for b in cfg.bridge}:
                raise RosError(f"input does not match any value of {name}")
            return text
        # ifaces
        names = [p for p in text.split(",") if p] if text else []
        known = cfg.interface_names()
        for p in names:
            if p not in known:
                raise RosError(f"input does not match any value of {name}")
        return tuple(dict.fromkeys(names))

    def _find(self, table: Table, expr: RTok) -> list[int]:
        inner = expr.text[1:-1]
        stmts = split_statements(inner, base=expr.col + 1)
        if len(stmts) != 1 or stmts[0][0].text != "find":
            raise RosError(f"syntax error (line 1 column {expr.col})")
        conds = stmts[0][1:]
        if conds and conds[0].text == "where":
            conds = conds[1:]
        return self._where(table, conds)

    def _where(self, table: Table, conds: list[RTok]) -> list[int]:
        wanted: list[tuple[str, Prop, str]] = []
        for t in conds:
            key, eq, raw = t.text.partition("=")
            if not eq or key not in table.props:
                raise RosError(f"expected end of command (line 1 column {t.col})")
            wanted.append((key, table.props[key], unquote(raw, t.col + len(key) + 1)))
        hits = []
        for idx, item in enumerate(self.config.items(table)):
            if all(_matches(p, item[k], v) for k, p, v in wanted):
                hits.append(idx)
        return hits

    def _select(self, table: Table, args: list[RTok], at: RTok, allow_props: bool) -> list[int]:
        items = self.config.items(table)
        selector: RTok | None = None
        for t in args:
            if t.text.startswith("numbers="):
                selector = RTok(t.text[len("numbers=") :], t.col + len("numbers="))
            elif "=" not in t.text.split("[", 1)[0] and selector is None:
                selector = t
            elif not allow_props:
                raise RosError(f"expected end of command (line 1 column {t.col})")
        if selector is None:
            raise RosError(f"syntax error (line 1 column {at.col + len(at.text) + 1})")
        if selector.text.startswith("["):
            return self._find(table, selector)
        out = []
        for part in unquote(selector.text, selector.col).split(","):
            if part.isdigit() and int(part) < len(items):
                out.append(int(part))
                continue
            key = table.name_key
            named = [i for i, it in enumerate(items) if key and it[key] == part]
            if not named:
                raise RosError("no such item")
            out.extend(named)
        return sorted(set(out))

    # -- table commands ------------------------------------------------------

    def _add(self, table: Table, args: list[RTok]) -> None:
        place = [t for t in args if t.text.startswith("place-before=")]
        at = None
        if place and table in (FILTER, NAT):
            args = [t for t in args if t not in place]
            at = self._place(table, place[-1])
        values = self._kv(table, args)
        if table in (WIRELESS, WIFI) and "name" not in values:  # RouterOS names it wlanN
            taken = self.config.interface_names()
            word = "wlan" if table is WIRELESS else "wifi"
            values["name"] = next(f"{word}{n}" for n in range(1, 999) if f"{word}{n}" not in taken)
        missing = [k for k, p in table.props.items() if p.required and k not in values]
        if missing:
            raise RosError(f"failure: {missing[0]} not specified")
        item = {**_defaults(table), **values}
        self._check(table, item, None)
        items = self.config.items(table)
        items.insert(len(items) if at is None else at, item)

    def _place(self, table: Table, tok: RTok) -> int:
        """A rule's `place-before`: an item number, or `[:pick [find ...] N]` (the first
        static rule, as dcctl anchors its own); the rule goes before that item."""
        raw = tok.text[len("place-before=") :]
        col = tok.col + len("place-before=")
        if raw.isdigit():
            hits = [int(raw)]
        elif raw.startswith("[") and raw.endswith("]"):
            words = split_statements(raw[1:-1], base=col + 1)
            if len(words) != 1 or len(words[0]) != 3 or words[0][0].text != ":pick":
                raise RosError(f"syntax error (line 1 column {col})")
            _, found, nth = words[0]
            if not nth.text.isdigit():
                raise RosError(f"syntax error (line 1 column {nth.col})")
            hits = self._find(table, found)[int(nth.text) :][:1]
        else:
            raise RosError(f"expected end of command (line 1 column {tok.col})")
        if not hits or hits[0] >= len(self.config.items(table)):
            raise RosError("failure: no such item")
        return hits[0]

    def _set(self, table: Table, args: list[RTok], at: RTok) -> None:
        selection = self._select(table, args, at, allow_props=True)
        props = [
            t for t in args if "=" in t.text.split("[", 1)[0] and not t.text.startswith("numbers=")
        ]
        values = self._kv(table, props)
        items = self.config.items(table)
        for idx in selection:
            new = {**items[idx], **values}
            self._check(table, new, idx)
        for idx in selection:
            old_name = items[idx].get("name")
            items[idx].update(values)
            if table is BRIDGE and "name" in values and old_name != values["name"]:
                self._rename_bridge(old_name, values["name"])

    def _check(self, table: Table, item: Item, idx: int | None) -> None:
        cfg = self.config
        others = [it for i, it in enumerate(cfg.items(table)) if i != idx]
        if table in (BRIDGE, WIRELESS, WIFI) and item["name"] in (
            cfg.interface_names() - ({cfg.items(table)[idx]["name"]} if idx is not None else set())
        ):
            raise RosError("failure: already have interface with such name")
        if table is SECURITY and not item["name"]:
            raise RosError("invalid value for argument name")
        if table is SECURITY and any(o["name"] == item["name"] for o in others):
            raise RosError("failure: profile with the same name already exists")
        if table in WIFI_TABLES and table is not WIFI:
            if not item["name"]:
                raise RosError("invalid value for argument name")
            if any(o["name"] == item["name"] for o in others):
                raise RosError("failure: item with such name already exists")
        if table is BRIDGE_PORT and any(o["interface"] == item["interface"] for o in others):
            raise RosError("failure: device already added as bridge port")
        if table is BRIDGE_VLAN:
            if not item["vlan-ids"]:
                raise RosError("failure: vlan-ids not specified")
            for o in others:
                if o["bridge"] == item["bridge"] and o["vlan-ids"] & item["vlan-ids"]:
                    raise RosError("failure: vlan already exists")

    def _remove(self, table: Table, idx: int) -> None:
        cfg = self.config
        items = cfg.items(table)
        fixed = table.export_find is not None and bool(items[idx].get(table.export_find))
        if not table.addable or fixed:
            raise RosError("failure: can not remove this item")
        if table is SECURITY and any(
            w["security-profile"] == items[idx]["name"] for w in cfg.wireless
        ):
            raise RosError("failure: profile is in use")
        if table in WIFI_TABLES and _wifi_in_use(cfg, table, items[idx]["name"]):
            raise RosError("failure: profile is in use")
        item = items.pop(idx)
        if table is BRIDGE:
            cfg.port[:] = [p for p in cfg.port if p["bridge"] != item["name"]]
            cfg.vlan[:] = [v for v in cfg.vlan if v["bridge"] != item["name"]]

    def _rename_bridge(self, old: str, new: str) -> None:
        for p in self.config.port:
            if p["bridge"] == old:
                p["bridge"] = new
        for v in self.config.vlan:
            if v["bridge"] == old:
                v["bridge"] = new
            v["tagged"] = tuple(new if x == old else x for x in v["tagged"])
            v["untagged"] = tuple(new if x == old else x for x in v["untagged"])

    # -- identity / export -----------------------------------------------------

    def _identity(self, cmd: str, args: list[RTok]) -> str:
        if cmd == "print":
            self._flags(args, ("without-paging",))
            return f"  name: {self.config.identity}\n"
        table = Table(IDENTITY_PATH, "", {"name": Prop("str", required=True)}, addable=False)
        values = self._kv(table, args)
        if "name" in values:
            if not values["name"] or len(values["name"]) > 64:
                raise RosError("invalid value for argument name")
            self.config.identity = values["name"]
        return ""

    def _export(self, path: tuple[str, ...], args: list[RTok]) -> str:
        opts = self._flags(
            args, ("terse", "verbose", "compact", "hide-sensitive", "show-sensitive")
        )
        shown = "show-sensitive" in opts
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        head = [
            f"# {stamp} by RouterOS {ROS_VERSION}",
            "# software id = DCCL-LAB0",
            "#",
            "# model = DCCTL-LAB-OVS",
            "#",
        ]
        body = self.config.export_lines(path, terse="terse" in opts, sensitive=shown)
        return "\n".join(head + body) + "\n"

    # -- print -------------------------------------------------------------------

    def _print(self, table: Table, args: list[RTok]) -> str:
        mode = "table"
        conds: list[RTok] = []
        for i, t in enumerate(args):
            if t.text == "where":
                conds = args[i + 1 :]
                break
            word = unique_prefix(t.text, ("detail", "terse", "without-paging", "count-only"))
            if word is None:
                raise RosError(f"expected end of command (line 1 column {t.col})")
            if word != "without-paging":
                mode = word
        items = self.config.items(table)
        selected = self._where(table, conds) if conds else list(range(len(items)))
        if mode == "count-only":
            return f"{len(selected)}\n"
        if mode in ("detail", "terse") or table in (BRIDGE, WIRELESS, SECURITY, *WIFI_TABLES):
            return self._print_detail(table, selected, terse=mode == "terse")
        return self._print_table(table, selected)

    def _print_detail(self, table: Table, selected: list[int], terse: bool) -> str:
        items = self.config.items(table)
        out = [] if terse else ["Flags: X - DISABLED"]
        for idx in selected:
            item = items[idx]
            flag = "X" if item.get("disabled") else " "
            pairs = [
                f"{k}={fmt_value(p, item[k])}"
                for k, p in table.props.items()
                if k not in ("disabled", "comment") and not p.sensitive
            ]
            if terse:
                comment = f" comment={quote(item['comment'])}" if item.get("comment") else ""
                out.append(f"{idx:>2} {flag}{comment} " + " ".join(pairs))
            else:
                if item.get("comment"):
                    out.append(f"{idx:>2} {flag} ;;; {item['comment']}")
                    out.append("      " + " ".join(pairs))
                else:
                    out.append(f"{idx:>2} {flag}  " + " ".join(pairs))
                out.append("")
        return "\n".join(out) + "\n"

    def _print_table(self, table: Table, selected: list[int]) -> str:
        cfg = self.config
        items = cfg.items(table)
        rows: list[tuple[int, str, str | None, list[list[str]]]] = []
        if table is BRIDGE_VLAN:
            flags = "Flags: X - DISABLED"
            cols = ["BRIDGE", "VLAN-IDS", "CURRENT-TAGGED", "CURRENT-UNTAGGED"]
            for idx in selected:
                v = items[idx]
                untagged = list(v["untagged"]) + [
                    p["interface"]
                    for p in cfg.port
                    if p["bridge"] == v["bridge"]
                    and p["pvid"] in v["vlan-ids"]
                    and p["interface"] not in v["untagged"]
                ]
                cells = [
                    [v["bridge"]],
                    [format_vlan_list(v["vlan-ids"], min_range=2)],
                    list(v["tagged"]) or [""],
                    untagged or [""],
                ]
                rows.append((idx, "X" if v["disabled"] else "", v["comment"], cells))
        elif table is BRIDGE_PORT:
            flags = "Flags: X - DISABLED, I - INACTIVE"
            cols = ["INTERFACE", "BRIDGE", "PVID", "FRAME-TYPES", "INGRESS-FILTERING"]
            for idx in selected:
                p = items[idx]
                cells = [
                    [p["interface"]],
                    [p["bridge"]],
                    [str(p["pvid"])],
                    [p["frame-types"]],
                    ["yes" if p["ingress-filtering"] else "no"],
                ]
                rows.append((idx, "X" if p["disabled"] else "", p["comment"], cells))
        else:  # ethernet
            flags = "Flags: X - DISABLED, R - RUNNING, S - SLAVE"
            cols = ["NAME", "MTU", "MAC-ADDRESS"]
            links = self.switch.link_states() if self.switch else {}
            slaves = {p["interface"] for p in cfg.port}
            for idx in selected:
                e = items[idx]
                flag = "X" if e["disabled"] else ("R" if links.get(e["default-name"]) else "")
                flag += "S" if e["name"] in slaves else ""
                cells = [[e["name"]], [str(e["mtu"])], [_mac(cfg.identity, e["default-name"])]]
                rows.append((idx, flag, e["comment"], cells))
        return _table(flags, cols, rows)

    def _print_interfaces(self) -> str:
        cfg = self.config
        links = self.switch.link_states() if self.switch else {}
        slaves = {p["interface"] for p in cfg.port}
        rows: list[tuple[int, str, str | None, list[list[str]]]] = []
        n = 0
        for e in cfg.ethernet:
            running = "R" if links.get(e["default-name"]) else ""
            flag = "X" if e["disabled"] else running
            flag += "S" if e["name"] in slaves else ""
            mac = _mac(cfg.identity, e["default-name"])
            rows.append((n, flag, e["comment"], [[e["name"]], ["ether"], [str(e["mtu"])], [mac]]))
            n += 1
        for b in cfg.bridge:
            flag = "X" if b["disabled"] else "R"
            mac = _mac(cfg.identity, b["name"])
            rows.append((n, flag, b["comment"], [[b["name"]], ["bridge"], ["1500"], [mac]]))
            n += 1
        flags = "Flags: X - DISABLED, R - RUNNING, S - SLAVE"
        return _table(flags, ["NAME", "TYPE", "ACTUAL-MTU", "MAC-ADDRESS"], rows)


def _wifi_in_use(cfg: RosConfig, table: Table, name: str) -> bool:
    """Does a configuration (or, for a configuration or channel, an interface) name it?"""
    if table is WIFI:
        return False
    key = table.path[-1]
    users = [*cfg.wifi_configuration, *cfg.wifi] if key == "channel" else cfg.wifi_configuration
    if key == "configuration":
        users = cfg.wifi
    return any(u.get(key) == name for u in users)


def _matches(prop: Prop, value: Any, wanted: str) -> bool:
    if prop.kind == "vlans":
        try:
            return parse_vlan_list(wanted) <= value
        except ValueError:
            return False
    if prop.kind == "ifaces":
        return set(wanted.split(",")) <= set(value)
    return fmt_value(prop, value).strip('"') == wanted or str(value) == wanted


def _table(
    flags: str, cols: list[str], rows: list[tuple[int, str, str | None, list[list[str]]]]
) -> str:
    widths = [len(c) for c in cols]
    for _, _, _, cells in rows:
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], *(len(x) for x in cell))
    out = [flags, "Columns: " + ", ".join(cols)]
    out.append("#".ljust(6) + "  ".join(c.ljust(widths[i]) for i, c in enumerate(cols)).rstrip())
    for idx, flag, comment, cells in rows:
        if comment:
            out.append(f";;; {comment}")
        height = max(len(c) for c in cells)
        for line in range(height):
            lead = f"{idx:<3}{flag:<3}" if line == 0 else " " * 6
            vals = [
                (cell[line] if line < len(cell) else "").ljust(widths[i])
                for i, cell in enumerate(cells)
            ]
            out.append((lead + "".join(v + "  " for v in vals)).rstrip())
    return "\n".join(out) + "\n"


def _mac(identity: str, port: str) -> str:
    digest = hashlib.sha256(f"{identity}/{port}".encode()).digest()
    return ":".join(f"{b:02X}" for b in bytes([0x02]) + digest[:5])


# --------------------------------------------------------------------------
# Vendor object


class RosVendor:
    name = "mikrotik_routeros"
    autosave = True

    def boot(
        self, hostname: str, ports: Sequence[str], startup: str | None
    ) -> tuple[RosConfig, list[str]]:
        if not startup:
            return RosConfig.factory(hostname, ports), []
        cfg = RosConfig.empty(hostname, ports)
        session = RosSession(None, "boot", cfg)
        warnings: list[str] = []
        for n, line in numbered_lines(startup):
            out = session.handle(line).output
            if out.strip():
                warnings.append(f"line {n}: {line.strip()}: {out.strip()}")
        return cfg, warnings

    def session(self, switch: Switch, username: str) -> RosSession:
        return RosSession(switch, self.login_name(username))

    def login_name(self, username: str) -> str:
        return username.split("+", 1)[0]


VENDOR = RosVendor()
