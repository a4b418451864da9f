"""One lab switch's state: daemon config, running/startup config, faults, OVS sync.

Why this module exists: the SSH plumbing (`server.py`) and the vendor dialects
(`ios.py`, `routeros.py`) both need a single owner of "what this switch is
configured to do", and that owner must turn the running config into real Open
vSwitch port settings after every change. Then the lab's data plane always
matches what `show running-config` or `/export` says, which is the whole point of
rehearsing switch automation against it. Nothing here speaks SSH, so unit tests
drive a `Switch` directly with a fake backend.

Vendors plug in through three small protocols (`Vendor`, `VendorConfig`,
`CliSession`); a vendor's dialect is its folder's `lab.py` (dcctl/vendors/, found by
dcctl.plugins).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dcctl import plugins

# The VLAN-list notation is shared with the engines and the renderer, not
# re-implemented here: it is CLI syntax (pinned by unit tests), not behaviour
# the emulator must judge independently. Re-exported for older imports.
from dcctl.files import atomic_write
from dcctl.lab.switchd.air import Air, Radio
from dcctl.spec.vlanlist import VLAN_MAX, VLAN_MIN
from dcctl.spec.vlanlist import format_vlan_list as format_vlan_list
from dcctl.spec.vlanlist import parse_vlan_list as parse_vlan_list

log = logging.getLogger("dcctl.lab.switchd")

#: 802.1Q reserves VID 4095; no vendor config can use it, so ports that must
#: carry nothing are parked there (and also set to OpenFlow no-forward).
PARK_VLAN = 4095
ALL_VLANS: frozenset[int] = frozenset(range(VLAN_MIN, VLAN_MAX + 1))


STARTUP_FILE = "startup-config.txt"
FAULTS_FILE = "faults.json"
PID_FILE = "switchd.pid"
LOG_FILE = "switchd.log"

_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_HOST_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")


# --------------------------------------------------------------------------
# Data plane: what one port should do, in vendor-neutral terms


@dataclass(frozen=True)
class PortSettings:
    """Effective forwarding of one port, already intersected with existing VLANs.

    kind:
      access       untagged frames in `vlan`
      trunk        tagged `trunks`; untagged frames in `vlan` if it is not None
      transparent  VLAN-unaware bridge port (RouterOS bridge without vlan-filtering)
      parked       forwards nothing (inactive VLAN, empty trunk, not in a bridge)
    """

    kind: Literal["access", "trunk", "transparent", "parked"]
    vlan: int | None = None
    trunks: frozenset[int] = frozenset()
    admin_up: bool = True

    @staticmethod
    def access(vlan: int, admin_up: bool = True) -> PortSettings:
        return PortSettings("access", vlan=vlan, admin_up=admin_up)

    @staticmethod
    def trunk(trunks: Iterable[int], native: int | None, admin_up: bool = True) -> PortSettings:
        """A trunk; collapses to `parked` when it would carry nothing at all."""
        carried = frozenset(trunks)
        if native is not None:
            carried |= {native}
        if not carried:
            return PortSettings.parked(admin_up)
        return PortSettings("trunk", vlan=native, trunks=carried, admin_up=admin_up)

    @staticmethod
    def parked(admin_up: bool = True) -> PortSettings:
        return PortSettings("parked", admin_up=admin_up)


class BackendError(RuntimeError):
    """The data plane refused a change (port missing, OVS down, timeout)."""


class Backend(Protocol):
    """Where PortSettings land: OVS in the lab, a recorder in unit tests."""

    def apply(self, port: str, settings: PortSettings) -> None: ...

    def link_states(self, ports: Sequence[str]) -> dict[str, bool]: ...


# --------------------------------------------------------------------------
# Vendor plug-in protocols


@dataclass
class Reply:
    """What a CLI line produced: text with "\\n" newlines, and whether to hang up."""

    output: str = ""
    close: bool = False


class VendorConfig(Protocol):
    def effective_ports(self) -> dict[str, PortSettings]:
        """Spec port name -> settings, for every port of the switch."""
        ...

    def render_startup(self) -> str:
        """Text persisted as startup-config; `Vendor.boot` must accept it back."""
        ...


class CliSession(Protocol):
    def banner(self) -> str: ...

    def prompt(self) -> str: ...

    @property
    def secret_input(self) -> bool:
        """True while the session waits for a password: no echo, not logged."""
        ...

    def handle(self, line: str) -> Reply: ...

    def refuse(self, line: str) -> Reply:
        """Vendor-style refusal used by the `reject` fault."""
        ...


class Vendor(Protocol):
    name: str
    #: RouterOS persists every change at once; IOS waits for `write memory`.
    autosave: bool

    def boot(
        self, hostname: str, ports: Sequence[str], startup: str | None
    ) -> tuple[VendorConfig, list[str]]:
        """Factory default, or the startup text replayed; returns config and warnings."""
        ...

    def session(self, switch: Switch, username: str) -> CliSession: ...

    def login_name(self, username: str) -> str:
        """The account name inside an SSH user name (RouterOS adds `+ct...`)."""
        ...


def load_vendor(name: str) -> Vendor:
    try:
        module = plugins.vendor_lab(name)
    except KeyError:
        raise ValueError(f"unknown vendor {name!r}; known: {list(plugins.vendors())}") from None
    vendor: Vendor = module.VENDOR
    return vendor


# --------------------------------------------------------------------------
# Daemon config file (JSON)


class SwitchdConfig(BaseModel):
    """The JSON file given to `python -m dcctl.lab.switchd --config FILE`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Factory hostname / identity")
    vendor: str
    bridge: str = Field(description="OVS bridge this switch drives")
    ports: dict[str, str] = Field(min_length=1, description="spec port name -> OVS port name")
    listen: str = "127.0.0.1"
    port: int = Field(22, ge=1, le=65535)
    username: str = "admin"
    password_file: Path
    state_dir: Path
    host_key: Path
    model: str | None = Field(None, description="Switch model the dialect imitates, if it matters")
    enable_password_file: Path | None = Field(
        None, description="Enable secret, when it is not the login password"
    )
    virtual_ports: tuple[str, ...] = Field(
        (),
        description="Ports (keys of `ports`) that exist only once the config makes an "
        "interface of that name (RouterOS virtual APs); until then they forward nothing",
    )
    air: dict[str, Path] = Field(
        {},
        description="Radio ports (keys of `ports`) -> their link's air directory: the port "
        "forwards only while the far end's radio joins this one (dcctl.lab.switchd.air)",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _HOST_RE.match(v):
            raise ValueError("must be a hostname: letter first, then letters, digits, '-'")
        return v

    @field_validator("vendor")
    @classmethod
    def _vendor(cls, v: str) -> str:
        if v not in plugins.vendors():
            raise ValueError(f"must be one of {list(plugins.vendors())}")
        return v

    @field_validator("bridge")
    @classmethod
    def _bridge(cls, v: str) -> str:
        if not _IFNAME_RE.match(v):
            raise ValueError("must be an interface name: 1-15 chars of [A-Za-z0-9_.-]")
        return v

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        ipaddress.ip_address(v)
        return v

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z0-9_.-]{1,32}$", v):
            raise ValueError("must be 1-32 chars of [A-Za-z0-9_.-]")
        return v

    @model_validator(mode="after")
    def _ports(self) -> SwitchdConfig:
        seen: set[str] = set()
        for spec, ovs in self.ports.items():
            if not spec or any(c.isspace() for c in spec) or not spec.isprintable():
                raise ValueError(f"port name {spec!r} must be printable without spaces")
            if not _IFNAME_RE.match(ovs):
                raise ValueError(
                    f"OVS port {ovs!r} for {spec}: 1-15 chars of [A-Za-z0-9_.-] (no '/')"
                )
            if ovs in seen:
                raise ValueError(f"OVS port {ovs!r} is used twice")
            seen.add(ovs)
        unknown = [p for p in (*self.virtual_ports, *self.air) if p not in self.ports]
        if unknown:
            raise ValueError(f"virtual_ports/air name ports that are not in ports: {unknown}")
        return self

    def read_password(self) -> str:
        return self.password_file.read_text(encoding="utf-8").rstrip("\r\n")

    def read_enable_password(self) -> str:
        """The enable secret: its own file if given, else the login password."""
        if self.enable_password_file is None:
            return self.read_password()
        return self.enable_password_file.read_text(encoding="utf-8").rstrip("\r\n")


def load_config(path: Path) -> SwitchdConfig:
    return SwitchdConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------
# Fault injection


@dataclass(frozen=True)
class Faults:
    """Knobs read from state_dir/faults.json before every command (absent = none)."""

    drop_after: int | None = None
    reject: tuple[re.Pattern[str], ...] = ()
    delay: float = 0.0

    @staticmethod
    def load(state_dir: Path) -> Faults:
        path = state_dir / FAULTS_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Faults()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s: %s", path, exc)
            return Faults()
        try:
            return Faults.from_dict(raw)
        except (TypeError, ValueError, re.error) as exc:
            log.warning("ignoring invalid %s: %s", path, exc)
            return Faults()

    @staticmethod
    def from_dict(raw: object) -> Faults:
        if not isinstance(raw, dict):
            raise TypeError("faults must be a JSON object")
        unknown = set(raw) - {"drop_after", "reject", "delay"}
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}")
        drop = raw.get("drop_after")
        if drop is not None and (not isinstance(drop, int) or isinstance(drop, bool) or drop < 0):
            raise ValueError("drop_after must be a non-negative integer")
        patterns = raw.get("reject", [])
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError("reject must be a list of regular expressions")
        delay = raw.get("delay", 0)
        if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
            raise ValueError("delay must be a non-negative number of seconds")
        return Faults(
            drop_after=drop,
            reject=tuple(re.compile(p) for p in patterns),
            delay=float(delay),
        )

    def rejects(self, command: str) -> bool:
        return any(p.search(command.strip()) for p in self.reject)


def first_control_char(line: str) -> int | None:
    """Index of the first character that is not printable ASCII, if any."""
    for i, ch in enumerate(line):
        if not (" " <= ch <= "~"):
            return i
    return None


# --------------------------------------------------------------------------
# The switch


@dataclass
class Switch:
    """A running switch: vendor config in memory, startup config on disk, OVS in sync."""

    name: str
    vendor: Vendor
    ports: dict[str, str]  # spec port -> OVS port, in the daemon config's order
    backend: Backend
    state_dir: Path
    secret: str = ""
    #: What `enable` asks for (IOS); the login password unless the switch has its own.
    enable_secret: str = ""
    model: str | None = None
    #: Ports the config creates (virtual APs): parked until an interface has their name.
    virtual_ports: tuple[str, ...] = ()
    #: Radio port -> its link's air directory (see `dcctl.lab.switchd.air`).
    air: dict[str, Path] = field(default_factory=dict)
    config: VendorConfig = field(init=False)
    started: float = field(default_factory=time.time)
    _applied: dict[str, PortSettings] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _air: dict[str, Air] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.config, _ = self.vendor.boot(self.name, self.hardware_ports(), None)
        self._air = {port: Air(Path(d), self.name) for port, d in self.air.items()}

    def hardware_ports(self) -> list[str]:
        """The ports the device has from the factory (not the virtual ones)."""
        return [p for p in self.ports if p not in self.virtual_ports]

    @classmethod
    def from_config(cls, cfg: SwitchdConfig, backend: Backend) -> Switch:
        return cls(
            name=cfg.name,
            vendor=load_vendor(cfg.vendor),
            ports=dict(cfg.ports),
            backend=backend,
            state_dir=cfg.state_dir,
            secret=cfg.read_password(),
            enable_secret=cfg.read_enable_password(),
            model=cfg.model,
            virtual_ports=tuple(cfg.virtual_ports),
            air=dict(cfg.air),
        )

    @property
    def startup_path(self) -> Path:
        return self.state_dir / STARTUP_FILE

    # -- lifecycle ---------------------------------------------------------

    def boot(self) -> list[str]:
        """Load startup-config (or factory default) and push all of it to OVS."""
        with self._lock:
            text = self.startup_text()
            self.config, warnings = self.vendor.boot(self.name, self.hardware_ports(), text)
            for w in warnings:
                log.warning("startup-config: %s", w)
            log.info(
                "booted %s from %s", self.name, "startup-config" if text else "factory default"
            )
            self.sync(force=True)
            return warnings

    def startup_text(self) -> str | None:
        try:
            return self.startup_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def save(self) -> int:
        """Write the running config as startup-config atomically; returns bytes written."""
        with self._lock:
            text = self.config.render_startup()
            self.state_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(self.startup_path, text, mode=0o600)  # it may hold radio keys
            log.info("startup-config saved (%d bytes)", len(text))
            return len(text)

    # -- commands ----------------------------------------------------------

    def run(self, session: CliSession, line: str, faults: Faults | None = None) -> Reply:
        """Execute one CLI line, then bring OVS (and, for autosave vendors, NVRAM) in line."""
        with self._lock:
            if faults is None:
                faults = Faults.load(self.state_dir)
            if not session.secret_input and line.strip() and faults.rejects(line):
                log.info("fault: rejected %r", line)
                return session.refuse(line)
            before = self.config.render_startup() if self.vendor.autosave else None
            reply = session.handle(line)
            self.sync()
            if before is not None and self.config.render_startup() != before:
                self.save()
            return reply

    # -- data plane --------------------------------------------------------

    def sync(self, force: bool = False) -> None:
        """Apply effective settings of ports that changed (all of them if force).

        A port the config does not know (a virtual AP not made yet) forwards nothing;
        a radio port forwards only while its link's far end joins it (`air`).
        """
        with self._lock:
            if force:
                self._applied.clear()
            effective = self.config.effective_ports()
            for spec, ovs_port in self.ports.items():
                settings = effective.get(spec, PortSettings.parked())
                air = self._air.get(spec)
                if air is not None and not air.associated(self._radio(spec)):
                    settings = PortSettings.parked(settings.admin_up)
                if self._applied.get(spec) == settings:
                    continue
                try:
                    self.backend.apply(ovs_port, settings)
                except BackendError as exc:
                    log.warning("OVS: %s (%s): %s", spec, ovs_port, exc)
                    self._applied.pop(spec, None)
                else:
                    log.info("OVS: %s (%s) -> %s", spec, ovs_port, settings)
                    self._applied[spec] = settings

    def _radio(self, port: str) -> Radio | None:
        """What `port` radiates, if the vendor's config has radios (RouterOS)."""
        radio = getattr(self.config, "radio", None)
        air = self._air.get(port)
        if radio is None or air is None:
            return None
        found: Radio | None = radio(port, air.directory.name)
        return found

    def air_changed(self) -> bool:
        """Did a far end of one of this device's radio links change what it radiates?"""
        with self._lock:
            return any(a.changed() for a in self._air.values())

    def link_states(self) -> dict[str, bool]:
        """Spec port -> carrier up, as OVS sees it (missing/unknown ports are down)."""
        try:
            states = self.backend.link_states(list(self.ports.values()))
        except BackendError as exc:
            log.warning("OVS link state: %s", exc)
            states = {}
        return {spec: states.get(ovs, False) for spec, ovs in self.ports.items()}

    def uptime(self) -> float:
        return max(0.0, time.time() - self.started)


class MemoryBackend:
    """Backend that only remembers: unit tests and `--no-ovs` dry runs."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, PortSettings]] = []
        self.state: dict[str, PortSettings] = {}
        self.links: dict[str, bool] = {}
        self.fail: set[str] = set()

    def apply(self, port: str, settings: PortSettings) -> None:
        if port in self.fail:
            raise BackendError(f"no port named {port}")
        self.calls.append((port, settings))
        self.state[port] = settings

    def link_states(self, ports: Sequence[str]) -> dict[str, bool]:
        return {
            p: self.links.get(p, self.state.get(p, PortSettings.parked()).admin_up) for p in ports
        }


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
