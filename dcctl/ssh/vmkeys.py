"""SSH host keys of production VMs, made by dcctl so they are known before first contact.

Why: without this a new VM's key is learnt on first contact (``dcctl hostkeys
trust``), which is exactly the moment a man in the middle would answer. dcctl makes
each new VM's Ed25519 host key itself, before the VM exists: the private half is
sealed in ``state/ssh/hostkeys.enc`` (the keystore format of the WireGuard keys,
:mod:`dcctl.vpn.keystore`), handed to the VM once through cloud-init user data (a
Pulumi secret in the Proxmox program), and the public half is pinned in the target's
``known_hosts`` at the same time, so the first login is already checked strictly.

Which VMs: every VM that has a key in the store, plus every VM that has no pinned
key yet (a new VM). A VM pinned earlier (by ``hostkeys trust``) keeps its own key:
handing it another would only make the pin wrong. The lab needs none of this (its
machines are read with ``podman exec`` when dcctl creates them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dcctl import targets
from dcctl.engines.ansible.inventory import host_name
from dcctl.i18n import _
from dcctl.plan.desired import DesiredState
from dcctl.spec.loader import Spec
from dcctl.ssh.knownhosts import KnownHosts, parse_keyline
from dcctl.vpn.keystore import KeyKind, KeyStore

__all__ = ["SSH_HOST_KEY", "ensure", "planned", "store", "store_path", "user_data"]

FILE_NAME = "hostkeys.enc"


def _public_of(private: str) -> str:
    key = serialization.load_ssh_private_key(private.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    raw = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return raw.decode()


def _generate() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    return private, _public_of(private)


#: Ed25519 host keys: the private half in OpenSSH's PEM form, the public as a key line.
SSH_HOST_KEY = KeyKind("ssh-ed25519", _generate, _public_of)


def store_path(state_dir: Path, target: targets.Target | str = "prod") -> Path:
    """``state/ssh/hostkeys.enc`` (production's; another target keeps its own)."""
    return targets.get(target).state_path(Path(state_dir) / "ssh") / FILE_NAME


def store(state_dir: Path, target: targets.Target | str = "prod") -> KeyStore:
    return KeyStore(store_path(state_dir, target), kind=SSH_HOST_KEY)


def _wanted(spec: Spec, state: DesiredState, target: targets.Target, keys: KeyStore) -> list[str]:
    pinned = KnownHosts(target.known_hosts(spec)).entries()
    return sorted(k for k in state["vms"] if keys.has(k) or host_name(k) not in pinned)


def planned(spec: Spec, state: DesiredState, target: targets.Target | str) -> dict[str, str]:
    """``{vm key: public key line}`` of the VMs that get a dcctl-made key; reads only.

    A key the first apply will make is ``""`` (nothing is generated or written here).
    """
    target = targets.get(target)
    if target.rehearsal:
        return {}
    keys = store(spec.state_dir, target)
    return {
        k: keys.public_key(k) if keys.has(k) else "" for k in _wanted(spec, state, target, keys)
    }


def ensure(spec: Spec, state: DesiredState, target: targets.Target | str) -> list[str]:
    """Make the missing keys and pin every made key's public half (an apply, before Pulumi).

    Returns what it did, one line each; nothing on a rehearsal target.
    """
    target = targets.get(target)
    if target.rehearsal:
        return []
    keys = store(spec.state_dir, target)
    wanted = _wanted(spec, state, target, keys)
    notes = [_("SSH host key of VM {vm} created").format(vm=k) for k in keys.ensure(wanted)]
    known = KnownHosts(target.known_hosts(spec))
    for key in wanted:
        address = state["vms"][key]["address"].split("/")[0]
        verdict = known.record(host_name(key), address, 22, keys.public_key(key))
        if verdict != "same":
            notes.append(
                _("SSH host key of VM {vm} pinned ({verdict})").format(vm=key, verdict=verdict)
            )
    return notes


def user_data(
    *,
    hostname: str,
    domain: str,
    admin_user: str,
    authorized_keys: Sequence[str],
    private_key: str,
    public_key: str,
) -> str:
    """Cloud-init user data that installs exactly this host key (and the login Proxmox would).

    Proxmox ignores its own user settings when a custom user-data file is given, so
    the admin account, its keys and the host name are stated here too. Only the
    Ed25519 key exists afterwards (no other type is generated), so the pinned key is
    the one sshd offers.
    """
    parse_keyline(public_key)  # a malformed public key never reaches a VM
    if _public_of(private_key) != public_key.strip():
        raise ValueError(_("{host}: the host key's halves do not match").format(host=hostname))
    doc: dict[str, Any] = {
        "hostname": hostname,
        "fqdn": f"{hostname}.{domain}",
        "manage_etc_hosts": True,
        "users": [
            {
                "name": admin_user,
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "shell": "/bin/bash",
                "lock_passwd": True,
                "ssh_authorized_keys": list(authorized_keys),
            }
        ],
        "ssh_pwauth": False,
        "ssh_deletekeys": True,
        "ssh_genkeytypes": [],
        "ssh_keys": {"ed25519_private": private_key, "ed25519_public": public_key.strip()},
    }
    return "#cloud-config\n" + yaml.safe_dump(doc, sort_keys=False, width=1000)


def private_keys(state_dir: Path, names: Mapping[str, str]) -> dict[str, str]:
    """The private halves of ``names`` that exist (decrypts; keep them out of logs)."""
    keys = store(state_dir)
    return {k: keys.pair(k).private for k in names if keys.has(k)}
