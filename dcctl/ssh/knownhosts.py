"""Pinned SSH host keys, one file per target, that every SSH connection dcctl makes checks.

Why pinned, not "accept the first key": dcctl logs in to switches with a
password and hands office routers their WireGuard private keys. Without a
host key check, anything answering at a device's address (a rogue box on the
management VLAN, a hijacked office WAN address) receives both. So a key is
recorded once, deliberately (``dcctl hostkeys trust``, which shows the
fingerprint, or automatically for a lab machine dcctl itself created and read
the key of from inside), and from then on a connection to a device whose key
differs is refused, naming the device.

Why one OpenSSH ``known_hosts`` file: the same file serves OpenSSH (Ansible runs
with ``StrictHostKeyChecking=yes`` and ``UserKnownHostsFile=`` this file) and
paramiko (netmiko's ``alt_key_file`` with ``ssh_strict``), and a reviewer can
read it: each line is ``NAME,HOST key-type key``, the device's name first (a
pattern no connection uses, so it is only a label) and then the address as
OpenSSH writes it (``[host]:port`` off port 22). One key per device: the
clients offer the recorded key type first, so a second type adds nothing.
The file lives in the target's state (production's under the spec repo's
``state/ssh/``, reviewable in merge requests; the lab's with the lab's state).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import ipaddress
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dcctl.files import atomic_write
from dcctl.i18n import _

__all__ = [
    "HostKey",
    "HostKeyError",
    "KnownHosts",
    "fingerprint",
    "hostspec",
    "openssh_refusal",
    "parse_keyline",
    "scan",
]

#: Key types dcctl pins, most preferred first (what ``ssh-keyscan -t`` asks for).
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ssh-rsa")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}|[0-9A-Fa-f:.]+")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


class HostKeyError(Exception):
    """A host key that is unknown, changed or malformed; the message names the device."""


@dataclass(frozen=True)
class HostKey:
    """One device's pinned key."""

    name: str
    host: str
    port: int
    keytype: str
    key: str

    @property
    def keyline(self) -> str:
        return f"{self.keytype} {self.key}"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.keyline)

    def line(self) -> str:
        return f"{self.name},{hostspec(self.host, self.port)} {self.keyline}"


def hostspec(host: str, port: int = 22) -> str:
    """The address as OpenSSH and paramiko look it up: ``host`` or ``[host]:port``."""
    return host if int(port) == 22 else f"[{host}]:{int(port)}"


def parse_keyline(text: str) -> tuple[str, str]:
    """``"ssh-ed25519 AAAA..."`` (a comment may follow) -> (type, base64); HostKeyError if not."""
    parts = text.strip().split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES or not _B64.fullmatch(parts[1]):
        raise HostKeyError(
            _("not an SSH public key of a pinned type ({types})").format(types=", ".join(KEY_TYPES))
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise HostKeyError(_("SSH public key is not valid base64")) from None
    # The blob starts with its own type name: a key pasted under the wrong type is refused.
    n = int.from_bytes(blob[:4], "big") if len(blob) >= 4 else -1
    if blob[4 : 4 + n].decode("ascii", "replace") != parts[0]:
        raise HostKeyError(_("SSH public key does not match its type {type}").format(type=parts[0]))
    return parts[0], parts[1]


def fingerprint(keyline: str) -> str:
    """``SHA256:...``, as ``ssh-keygen -lf`` and ssh's prompts show it."""
    _type, b64 = parse_keyline(keyline)
    digest = hashlib.sha256(base64.b64decode(b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise HostKeyError(
            _("device name {name} cannot be a known_hosts label").format(name=repr(name))
        )
    return name


def _check_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        if _HOST.fullmatch(host) and ":" not in host:
            return host
    raise HostKeyError(_("{host} is not an address or host name").format(host=repr(host)))


class KnownHosts:
    """The pinned keys of one target, in an OpenSSH ``known_hosts`` file at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def entries(self) -> dict[str, HostKey]:
        """Every pinned device by name (an absent file pins nothing)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        out: dict[str, HostKey] = {}
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                patterns, keytype, key = line.split()[:3]
                name, _sep, spec = patterns.partition(",")
                host, port = _split_hostspec(spec)
                parse_keyline(f"{keytype} {key}")
            except (ValueError, HostKeyError) as exc:
                raise HostKeyError(
                    _("{file}:{line}: not a dcctl known_hosts line ({problem})").format(
                        file=self.path, line=number, problem=exc
                    )
                ) from None
            out[name] = HostKey(name, host, port, keytype, key)
        return out

    def get(self, name: str) -> HostKey | None:
        return self.entries().get(name)

    def check(self, name: str, host: str, port: int, keyline: str) -> None:
        """Raise HostKeyError unless `keyline` is the key pinned for `name` at that address."""
        pinned = self.get(name)
        if pinned is None:
            raise HostKeyError(
                _(
                    "{name}: no pinned host key; record it with `dcctl hostkeys trust` "
                    "after checking the fingerprint {fingerprint}"
                ).format(name=name, fingerprint=fingerprint(keyline))
            )
        if pinned.keyline != " ".join(parse_keyline(keyline)):
            raise HostKeyError(_changed(pinned, keyline))
        if (pinned.host, pinned.port) != (host, int(port)):
            raise HostKeyError(
                _(
                    "{name}: pinned at {pinned}, not {given}; trust it again at the new address"
                ).format(
                    name=name, pinned=hostspec(pinned.host, pinned.port), given=hostspec(host, port)
                )
            )

    def record(
        self, name: str, host: str, port: int, keyline: str, *, replace: bool = False
    ) -> str:
        """Pin `keyline` for `name`: ``added``, ``same``, ``moved`` or ``replaced``.

        A different key than the pinned one is refused unless `replace` (a
        deliberate act: the device was replaced, or dcctl recreated a lab VM).
        """
        keytype, key = parse_keyline(keyline)
        new = HostKey(_check_name(name), _check_host(host), int(port), keytype, key)
        with self._locked():
            entries = self.entries()
            old = entries.get(name)
            if old == new:
                return "same"
            if old is not None and old.keyline != new.keyline and not replace:
                raise HostKeyError(_changed(old, new.keyline))
            verdict = (
                "added" if old is None else "moved" if old.keyline == new.keyline else "replaced"
            )
            # An address is one device's: a device that took over an address drops the old pin.
            entries = {
                n: e
                for n, e in entries.items()
                if n != name and (e.host, e.port) != (new.host, new.port)
            }
            entries[name] = new
            self._write(entries)
            return verdict

    def forget(self, name: str) -> bool:
        """Drop `name`'s pin (a lab VM destroyed); True if there was one."""
        with self._locked():
            entries = self.entries()
            if entries.pop(name, None) is None:
                return False
            self._write(entries)
            return True

    def _write(self, entries: dict[str, HostKey]) -> None:
        lines = [
            "# SSH host keys pinned by dcctl (`dcctl hostkeys list|trust`): NAME,ADDRESS TYPE KEY",
            *(entries[n].line() for n in sorted(entries)),
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # public keys: readable, reviewable
        atomic_write(self.path, "\n".join(lines) + "\n", mode=0o644)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time (lab VMs are created, and pinned, in parallel)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{self.path.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _changed(pinned: HostKey, keyline: str) -> str:
    return host_key_changed(
        pinned.name, pinned.fingerprint, fingerprint(keyline), hostspec(pinned.host, pinned.port)
    )


def host_key_changed(
    name: str,
    pinned: str,
    offered: str | None,
    address: str | None = None,
    who: str | None = None,
) -> str:
    """The one refusal of a changed host key, wherever dcctl meets it: its own check
    before a connection, OpenSSH's verdict in Ansible's output, paramiko's in a switch
    session. Says what was pinned and offered, that nothing was sent, and the one
    command that accepts a really replaced machine. `who` names it (``switch sw-core``)
    where the bare name would not say what it is."""
    return _(
        "{who}: HOST KEY CHANGED{at}: pinned {pinned}{offered}; refusing to connect "
        "(nothing was sent). If the machine was really replaced: "
        "`dcctl hostkeys trust {name} --replace`"
    ).format(
        who=who or name,
        at=_(" at {address}").format(address=address) if address else "",
        pinned=pinned,
        offered=_(", offered {fingerprint}").format(fingerprint=offered) if offered else "",
        name=name,
    )


def _split_hostspec(spec: str) -> tuple[str, int]:
    if spec.startswith("["):
        host, _sep, port = spec[1:].partition("]:")
        return host, int(port)
    if not spec:
        raise ValueError(_("no address"))
    return spec, 22


def scan(host: str, port: int = 22, timeout: float = 5.0) -> str:
    """The host key `host` offers (preferred type first), read with ``ssh-keyscan``.

    What the network says: only ``dcctl hostkeys trust`` uses it, and shows the
    fingerprint so the operator can compare it with the device's console.
    """
    argv = [
        "ssh-keyscan", "-T", str(max(1, int(timeout))), "-p", str(int(port)),
        "-t", "ed25519,ecdsa,rsa", _check_host(host),
    ]  # fmt: skip
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 10)
    except FileNotFoundError:
        raise HostKeyError(_("ssh-keyscan missing (apt-get install openssh-client)")) from None
    except subprocess.TimeoutExpired:
        raise HostKeyError(
            _("{address}: ssh-keyscan timed out").format(address=hostspec(host, port))
        ) from None
    offered: dict[str, str] = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#") and parts[1] in KEY_TYPES:
            offered[parts[1]] = f"{parts[1]} {parts[2]}"
    for keytype in KEY_TYPES:
        if keytype in offered:
            parse_keyline(offered[keytype])
            return offered[keytype]
    raise HostKeyError(
        _("{address}: no SSH host key offered (is sshd listening?)").format(
            address=hostspec(host, port)
        )
    )


_OFFERED = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
#: How a refused host key reads: OpenSSH's own words, and Mitogen's (dcctl's Ansible
#: strategy), which replaces ssh's stderr by one sentence for an unknown or a changed
#: key alike (its ``hostkey_failed_msg``): the pinned key, or its absence, tells which.
_REFUSALS = (
    "Host key verification failed",
    "HOST IDENTIFICATION HAS CHANGED",
    "SSH reported an unrecognized or mismatching host key",
)


def openssh_refusal(name: str, text: str, path: Path) -> str | None:
    """What OpenSSH's host-key refusal of `name` means, in dcctl's words; None if it is not one.

    Ansible reports such a host as unreachable with ssh's raw stderr; this names
    the device, says whether the key is unknown or changed (with both
    fingerprints when known) and what the operator does about it. Nothing was
    sent to the host: OpenSSH checks the key before it authenticates.
    """
    refused = any(m in text for m in _REFUSALS)
    # A no_log task's failure hides ssh's words: then only an absent pin can be named.
    censored = "no_log: true" in text
    if not refused and not censored:
        return None
    try:
        pinned = KnownHosts(path).get(name)
    except HostKeyError:
        pinned = None
    if not refused and pinned is not None:
        return None
    offered = [f for f in _OFFERED.findall(text) if pinned is None or f != pinned.fingerprint]
    if pinned is None or ("is known for" in text and "HAS CHANGED" not in text):
        return _(
            "{name}: no pinned SSH host key in {file}; refusing to connect (nothing was sent). "
            "Check the fingerprint on its console, then `dcctl hostkeys trust {name}`"
        ).format(name=name, file=path)
    return host_key_changed(name, pinned.fingerprint, offered[0] if offered else None)
