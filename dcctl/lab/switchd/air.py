"""The air between two lab radios: a radio link forwards only while both ends agree.

Why: a point-to-point radio link is not a cable. Its two units associate only when
one is the access side (`bridge`/`ap-bridge`) and the other the station side
(`station-bridge`, ...), on the same SSID, band, channel width and protocol, with
the same security settings and key. In the lab the link is a veth between the two
radio daemons' wireless ports, so without this module a wrong key or band would
still pass packets and a drifted radio would go unnoticed by the packets.

Each end's daemon writes what it radiates (its `Radio`, the key only as a salted
digest, never the key) into the link's air directory, one file per device, and
reads the other end's file: its wireless port forwards only while the two are
compatible. The daemon re-reads the directory every second (`changed`), so a
change on one radio brings the other end's port up or down too, as association
and loss of association do. The air directory is lab state (`<lab>/air/<link>`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from dcctl.files import atomic_write
from dcctl.i18n import _

log = logging.getLogger("dcctl.lab.switchd")

#: Modes of the side that starts the link, and of the side that joins it.
ACCESS_MODES = frozenset({"bridge", "ap-bridge"})
STATION_MODES = frozenset({"station", "station-bridge", "station-wds", "station-pseudobridge"})


@dataclass(frozen=True)
class Radio:
    """What one wireless interface radiates, in vendor-neutral terms."""

    mode: str
    ssid: str
    band: str
    channel_width: str
    protocol: str
    #: Security mode and authentication types plus a digest of the key, or "open".
    security: str

    @property
    def role(self) -> str | None:
        if self.mode in ACCESS_MODES:
            return "access"
        if self.mode in STATION_MODES:
            return "station"
        return None

    def joins(self, other: Radio) -> bool:
        """Would these two associate? One access side, one station side, all else equal."""
        return not self.differences(other)

    def differences(self, other: Radio) -> list[str]:
        """Why these two would not associate (empty: they would)."""
        out = [] if {self.role, other.role} == {"access", "station"} else ["mode"]
        for name in ("ssid", "band", "channel_width", "protocol", "security"):
            if getattr(self, name) != getattr(other, name):
                out.append(name.replace("_", "-"))
        return out


def describe(directory: Path) -> tuple[bool, str]:
    """(associated, why) for one radio link's air, as `lab status` shows it."""
    ends: dict[str, Radio] = {}
    for path in sorted(directory.glob("*.json")):
        with contextlib.suppress(OSError, ValueError, TypeError):
            ends[path.stem] = Radio(**json.loads(path.read_text(encoding="utf-8")))
    if len(ends) < 2:
        which = ", ".join(ends) or _("no radio")
        return False, _("not associated: only {which} radiates").format(which=which)
    (a, ra), (b, rb) = list(ends.items())[:2]
    diff = ra.differences(rb)
    if diff:
        return False, _("not associated: {a} and {b} differ in {fields}").format(
            a=a, b=b, fields=", ".join(diff)
        )
    return True, f"{a} {ra.mode} <-> {b} {rb.mode}, {ra.band} {ra.channel_width} {ra.protocol}"


def key_digest(salt: str, key: str) -> str:
    """A key as the air file holds it: salted by the link's name, never the key itself."""
    return hashlib.sha256(f"{salt}\0{key}".encode()).hexdigest()[:16]


@dataclass
class Air:
    """One device's view of one radio link's air directory."""

    directory: Path
    device: str
    _written: str | None = None
    _seen: tuple[tuple[str, float], ...] = ()

    @property
    def own(self) -> Path:
        return self.directory / f"{self.device}.json"

    def publish(self, radio: Radio | None) -> None:
        """Record what this end radiates (nothing: the file goes away)."""
        text = json.dumps(asdict(radio), sort_keys=True) if radio is not None else ""
        if text == self._written:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if radio is None:
            with contextlib.suppress(FileNotFoundError):
                self.own.unlink()
        else:
            atomic_write(self.own, text + "\n", mode=0o600)
        self._written = text

    def peers(self) -> list[Radio]:
        out = []
        for path in sorted(self.directory.glob("*.json")):
            if path == self.own:
                continue
            try:
                out.append(Radio(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("air %s: unreadable %s: %s", self.directory, path.name, exc)
        return out

    def associated(self, radio: Radio | None) -> bool:
        """Publish `radio`, then: does some other end join it?"""
        self.publish(radio)
        self._seen = self._listing()
        return radio is not None and any(radio.joins(p) for p in self.peers())

    def changed(self) -> bool:
        """Did another end's file change since the last `associated`?"""
        return self._listing() != self._seen

    def _listing(self) -> tuple[tuple[str, float], ...]:
        out = []
        with contextlib.suppress(FileNotFoundError):
            for path in sorted(self.directory.glob("*.json")):
                if path != self.own:
                    with contextlib.suppress(FileNotFoundError):
                        out.append((path.name, path.stat().st_mtime))
        return tuple(out)
