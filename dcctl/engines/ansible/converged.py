"""Which hosts a play may skip: a digest of everything it depends on, per (play, host).

Why: the hosts layer is almost all of a no-op apply's time (every play, every
host, every task checked over SSH), while the GitOps pipeline applies on every
merge. A play is skipped on a host only with proof that nothing it depends on
changed since it last converged there: after a play ends on a host with no
failed or unreachable task, the digest of its inputs is recorded for that
target; the next run computes the digest again and runs the play only on hosts
whose digest differs (or was never recorded). What a digest covers:

- the play's definition (its hosts pattern, become, roles...) and every file of
  its roles (and of their ``meta/main.yml`` dependencies);
- the run variables its roles read: roles read only names with their own prefix
  (``tests/unit/test_role_specs.py`` enforces it) plus a few global names
  (``dcctl_target``; and any name no role owns, kept in to be safe), secrets included;
- the host's inventory entry: its name, its hostvars (its roles' and the global
  ones such as ``ansible_host``, ``opd``) and its groups;
- the Pulumi outputs of its VM (a recreated lab VM has a new ``container_id``);
- the machine's identity: its pinned key line in the target's ``known_hosts``
  (a recreated machine is pinned with its new key);
- ansible-core's version and this module's digest format.

Why an HMAC, not a plain hash: production's record is committed with the spec
repo's state, and the inputs include secrets (WireGuard private keys, camera
passwords) that a plain SHA-256 would expose to a guess-and-compare attack. Each
digest is HMAC-SHA256 under a key derived from dcctl's secrets passphrase
(:func:`dcctl.engines.credentials.passphrase`, never in the repo), so the record
holds no secret and reveals nothing; a changed passphrase just makes every host
run once.

Why a record is dropped before a play runs on a host: if the run is killed or
fails halfway, the host is neither as before nor as asked; without its record it
runs again next time even if the inputs are then put back as they were.

``apply --converge`` runs everything (and records it); ``drift`` always checks every
host; a plan (check mode) reads the records and never writes them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dcctl import targets
from dcctl.engines.ansible.inventory import host_name
from dcctl.spec.loader import Spec
from dcctl.ssh.knownhosts import KnownHosts, hostspec

__all__ = [
    "FILE_NAME",
    "Digester",
    "Record",
    "hmac_key",
    "play_roles",
    "record_path",
    "resolve_hosts",
    "role_owner",
]

FILE_NAME = "converged.json"
#: Part of every digest: a change of what is hashed invalidates every record.
FORMAT = 1
#: Run variables every role may read besides its own prefix.
GLOBAL_VARS = frozenset({"dcctl_target"})


def record_path(spec: Spec, target: targets.Target | str) -> Path:
    """``state/hosts/converged.json`` for production; the lab keeps its own."""
    return targets.get(target).state_path(spec.state_dir / "hosts") / FILE_NAME


def _roles_root() -> Path:
    from dcctl.engines.ansible.vars import roles_dir

    return roles_dir()


def role_owner(name: str, roles: Iterable[str]) -> str | None:
    """The role a variable belongs to by its prefix (the longest role name that prefixes it)."""
    owners = [r for r in roles if name.startswith(r + "_")]
    return max(owners, key=len) if owners else None


def _dependencies(role: str, root: Path) -> list[str]:
    meta = root / role / "meta" / "main.yml"
    try:
        data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return []
    out = []
    for dep in data.get("dependencies") or []:
        out.append(str(dep.get("role") if isinstance(dep, Mapping) else dep))
    return out


def play_roles(play: Mapping[str, Any], root: Path | None = None) -> list[str]:
    """The roles a play runs, its roles' meta dependencies included (each once, in order)."""
    root = root or _roles_root()
    seen: dict[str, None] = {}
    todo = [str(r.get("role") if isinstance(r, Mapping) else r) for r in play.get("roles") or []]
    while todo:
        role = todo.pop(0)
        if role not in seen:
            seen[role] = None
            todo += _dependencies(role, root)
    return list(seen)


def _role_files(role: str, root: Path) -> str:
    """SHA-256 over every file of a role (relative path and content), so any edit shows."""
    h = hashlib.sha256()
    base = root / role
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(base)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _ansible_version() -> str:
    from ansible.release import __version__

    return str(__version__)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def hmac_key(secret: str) -> bytes:
    """The digest key, derived from the secrets passphrase (never the passphrase itself)."""
    return hmac.new(secret.encode(), b"dcctl hosts converge record v1", hashlib.sha256).digest()


@dataclass
class Digester:
    """Computes (play, host) digests of one run: its roots, variables and inventory."""

    key: bytes
    #: Every role dcctl knows (to tell a role's own variables from a global name).
    all_roles: tuple[str, ...]
    #: Run variables (extra vars), public and secret together.
    run_vars: Mapping[str, Any]
    #: The inventory in ``--list`` shape (``_meta.hostvars`` and groups).
    inventory: Mapping[str, Any]
    #: Pulumi outputs by VM key (``opd/name``); None before any VM exists.
    vm_outputs: Mapping[str, Mapping[str, Any]] | None
    #: The target's pinned keys file.
    known_hosts: Path
    roles_root: Path = field(default_factory=lambda: _roles_root())
    _role_cache: dict[str, str] = field(default_factory=dict)
    _keys: dict[str, list[str]] | None = None
    _plays: dict[str, list[str]] = field(default_factory=dict)

    def _role(self, role: str) -> str:
        if role not in self._role_cache:
            self._role_cache[role] = _role_files(role, self.roles_root)
        return self._role_cache[role]

    def _reads(self, name: str, roles: Iterable[str]) -> bool:
        owner = role_owner(name, self.all_roles)
        return owner is None or owner in roles or name in GLOBAL_VARS

    def pinned_lines(self) -> dict[str, list[str]]:
        """Pinned key lines by device name and by ``@address`` (read once; HostKeyError if bad)."""
        if self._keys is None:
            self._keys = {}
            for key in KnownHosts(self.known_hosts).entries().values():
                self._keys.setdefault(key.name, []).append(key.line())
                self._keys.setdefault("@" + hostspec(key.host, key.port), []).append(key.line())
        return self._keys

    def _pinned(self, host: str, address: str | None) -> list[str]:
        keys = self.pinned_lines()
        lines = set(keys.get(host, []))
        if address:
            lines |= set(keys.get("@" + hostspec(str(address)), []))
        return sorted(lines)

    def _groups(self, host: str) -> list[str]:
        return sorted(
            g
            for g, body in self.inventory.items()
            if g != "_meta" and isinstance(body, Mapping) and host in (body.get("hosts") or [])
        )

    def _vm_outputs(self, host: str) -> Any:
        for key, out in (self.vm_outputs or {}).items():
            if host_name(key) == host:
                return out
        return None

    def digest(self, play: Mapping[str, Any], host: str) -> str:
        """HMAC of everything ``play`` depends on for ``host`` (see the module docstring)."""
        text = _canonical(play).decode()
        if text not in self._plays:
            self._plays[text] = play_roles(play, self.roles_root)
        roles = self._plays[text]
        hostvars = self.inventory.get("_meta", {}).get("hostvars", {}).get(host, {})
        inputs = {
            "format": FORMAT,
            "ansible": _ansible_version(),
            "play": play,
            "roles": {r: self._role(r) for r in roles},
            "vars": {k: v for k, v in self.run_vars.items() if self._reads(k, roles)},
            "host": host,
            "hostvars": {k: v for k, v in hostvars.items() if self._reads(k, roles)},
            "groups": self._groups(host),
            "vm": self._vm_outputs(host),
            "pinned": self._pinned(host, hostvars.get("ansible_host")),
        }
        return hmac.new(self.key, _canonical(inputs), hashlib.sha256).hexdigest()


def resolve_hosts(
    inventory: Mapping[str, Any], patterns: Mapping[str, str]
) -> dict[str, list[str]]:
    """Each play's host pattern resolved by Ansible's own InventoryManager (name -> hosts).

    Why Ansible's: patterns such as ``all:!vpn_office`` or ``a:&b`` must mean here
    exactly what they mean to ansible-playbook, or a host could be skipped that the
    play would have run on.
    """
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    from dcctl.engines.ansible.runner import static_inventory

    with tempfile.TemporaryDirectory(prefix="dcctl-inv-") as tmp:
        path = Path(tmp) / "inventory.yml"
        path.write_text(yaml.safe_dump(static_inventory(inventory)), encoding="utf-8")
        manager = InventoryManager(loader=DataLoader(), sources=[str(path)])
        return {name: [h.name for h in manager.get_hosts(p)] for name, p in patterns.items()}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Record:
    """The target's record: play -> host -> {digest, at}; written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except ValueError:
            data = {}  # a damaged record only costs a full run
        plays = data.get("plays") if isinstance(data, dict) else None
        self.plays: dict[str, dict[str, dict[str, str]]] = plays if isinstance(plays, dict) else {}

    def converged_at(self, play: str, host: str, digest: str) -> str | None:
        """When ``play`` last converged on ``host`` with these very inputs (None: not so)."""
        entry = self.plays.get(play, {}).get(host)
        if isinstance(entry, dict) and hmac.compare_digest(str(entry.get("digest")), digest):
            return str(entry.get("at") or "?")
        return None

    def forget(self, play: str, hosts: Iterable[str]) -> None:
        """Drop the records of hosts about to run (a half-run host must run again)."""
        entries = self.plays.get(play, {})
        gone = [h for h in hosts if h in entries]
        for host in gone:
            del entries[host]
        if gone:
            self.write()

    def converged(self, play: str, digests: Mapping[str, str]) -> None:
        """Record that ``play`` converged on these hosts with these digests, now."""
        if not digests:
            return
        at = _now()
        entries = self.plays.setdefault(play, {})
        for host, digest in digests.items():
            entries[host] = {"digest": digest, "at": at}
        self.write()

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"version": FORMAT, "plays": self.plays}
        fd, tmp = tempfile.mkstemp(prefix=FILE_NAME, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(body, indent=2, sort_keys=True) + "\n")
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
