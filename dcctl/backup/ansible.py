"""Role variables of the backup roles: per-OPD SFTP accounts, and restic on every VM with a policy.

Why here and not in the roles: which repositories a VM writes to, which OPD account
it logs in as and which backup VM keeps what all follow from the ``backup`` layer of
the desired state (:mod:`dcctl.backup.repositories`); computing them once in Python
keeps the roles dumb and lets unit tests check the isolation (an OPD's key is
authorised for its own account only) without a VM.

Secrets: each OPD's repository password and SFTP login key (:mod:`dcctl.backup.keys`)
go to ``RoleVars.secret`` only (ansible-runner extravars, read by ``no_log`` tasks that
write 0600 files; restic reads the password from its file, never a command line).
The backup VMs get public keys only: they keep every OPD's repository but can open
none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dcctl.backup.keys import BackupKeys, keys_dir, password_name, ssh_name
from dcctl.engines.ansible.inventory import host_name
from dcctl.engines.ansible.vars import RoleVars, role_default
from dcctl.i18n import _
from dcctl.plan.desired import DesiredState
from dcctl.spec.backup import DEFAULT_PATHS
from dcctl.spec.loader import Spec
from dcctl.ssh.knownhosts import HostKeyError, KnownHosts
from dcctl.targets import Target

__all__ = [
    "CLIENT_GROUP",
    "DATA_PATHS",
    "REPOSITORY_GROUP",
    "build_role_vars",
    "open_keys",
    "prepare",
    "role_vars",
]

CLIENT_GROUP = "backup_client"
#: Host alias of a repository in the client's ssh_config drop-in: ``dcctl-backup-primary``.
ALIAS_PREFIX = "dcctl-backup-"
REPOSITORY_GROUP = "backup_repository"
#: What a VM's file-level backup holds by default (the spec's; a VM's ``backup.paths``
#: adds to it; a path missing on a VM is skipped, not an error).
DATA_PATHS: tuple[str, ...] = DEFAULT_PATHS
#: Data a VM's role keeps elsewhere: the NVR's recordings have their own retention and
#: would dwarf every other OPD's backups.
EXCLUDES: dict[str, tuple[str, ...]] = {
    "nvr": (role_default("cctv_recorder", "cctv_recorder_root"),),
}


def open_keys(
    state: DesiredState, state_dir: Path, target: Target | str, *, create: bool
) -> BackupKeys:
    """The backup keystore of ``target`` with every OPD's password and SFTP key.

    ``create=False`` (plans, check runs, the inventory script) writes nothing: keys
    the store lacks are stand-ins in memory, made for real by the first apply.
    """
    store = BackupKeys(keys_dir(state_dir, target))
    codes = sorted(state.get("backup", {}))
    store.ensure([n for c in codes for n in (password_name(c), ssh_name(c))], persist=create)
    return store


def prepare(spec: Spec, state: DesiredState, state_dir: Path, target: Target) -> list[str]:
    """Before an apply's hosts run: create the OPDs' backup keys (the only writer)."""
    del spec
    if not state.get("backup"):
        return []
    before = set(BackupKeys(keys_dir(state_dir, target)).names())
    store = open_keys(state, state_dir, target, create=True)
    made = sorted(set(store.names()) - before)
    return [_("created backup keys: {names}").format(names=", ".join(made))] if made else []


def _host_keys(spec: Spec, target: Target) -> dict[str, str]:
    """Pinned SSH host key lines by inventory name (empty when none are pinned yet)."""
    try:
        entries = KnownHosts(target.known_hosts(spec)).entries()
    except (HostKeyError, LookupError, OSError, ValueError):
        return {}
    return {name: e.keyline for name, e in entries.items()}


def role_vars(spec: Spec, state: DesiredState, state_dir: Path, target: Target) -> RoleVars:
    """Variables of ``backup_repository`` and ``backup_client`` (see the module docstring)."""
    if not state.get("backup"):
        return RoleVars()
    store = open_keys(state, state_dir, target, create=False)
    return build_role_vars(state, store, _host_keys(spec, target))


def _creators(keys: list[str], vms: dict[str, Any]) -> dict[str, str]:
    """Which VM creates each of an OPD's repositories: the first VM that uses the most.

    One VM, so that the off-site repository (made with the primary's chunker parameters)
    follows the primary's creation on the same host. The OPD's first VM by name may be a
    publik one without the off-site copy: then its rahasia VMs each created the off-site
    repository at once in their first backup, and the repository was left with two keys
    for two master keys ("ciphertext verification failed", seen in CI).
    """
    users = sorted(keys, key=lambda k: (-len(vms[k]["backup"]["repositories"]), k))
    creators: dict[str, str] = {}
    for key in users:
        for name in vms[key]["backup"]["repositories"]:
            creators.setdefault(name, key)
    return creators


def build_role_vars(state: DesiredState, store: BackupKeys, host_keys: dict[str, str]) -> RoleVars:
    """The RoleVars from the desired state; split out so a lab test can use its own records."""
    records: dict[str, dict[str, Any]] = state["backup"]
    vms = state["vms"]
    accounts = []
    clients: dict[str, dict[str, Any]] = {}
    servers: set[str] = set()
    for code, rec in sorted(records.items()):
        repo_hosts = sorted({host_name(r["vm"]) for r in rec["repositories"].values()})
        servers.update(repo_hosts)
        accounts.append(
            {
                "opd": code,
                "user": rec["user"],
                "path": next(iter(rec["repositories"].values()))["path"],
                "public_key": store.public_key(ssh_name(code)),
                "hosts": repo_hosts,
            }
        )
        creators = _creators(rec["vms"], vms)
        for key in sorted(rec["vms"]):
            vm = vms[key]
            policy = vm["backup"]
            repos = {
                name: {
                    # The role's ssh_config alias, not the address: one ssh setting per
                    # repository (the OPD's key, the pinned host key) that restic's
                    # source and copy target each use.
                    "url": f"sftp:{ALIAS_PREFIX}{name}:{r['path']}",
                    "alias": f"{ALIAS_PREFIX}{name}",
                    "address": r["host"],
                    "user": rec["user"],
                    "host_key": host_keys.get(host_name(r["vm"]), ""),
                }
                for name, r in sorted(rec["repositories"].items())
                if name in policy["repositories"]
            }
            clients[host_name(key)] = {
                "opd": code,
                "vm": key,
                "host": host_name(key),
                "schedule": policy["schedule"],
                "retention_days": int(policy["retention_days"]),
                "paths": list(policy.get("paths", DATA_PATHS)),
                "excludes": list(EXCLUDES.get(vm["role"], ())),
                # The repositories this VM creates while the others wait (one creator
                # per repository: two `restic init` at once leave two keys).
                "initialise": sorted(n for n, c in creators.items() if c == key),
                "repositories": repos,
            }
    # Each client's settings as its own host variable: only that host's digest covers
    # them, so a VM added to an OPD reruns that VM, not every backed-up VM.
    public: dict[str, Any] = {"backup_repository_accounts": accounts}
    hostvars = {host: {"backup_client_host": cfg} for host, cfg in clients.items()}
    secret: dict[str, Any] = {
        "backup_client_passwords": {c: store.pair(password_name(c)).private for c in records},
        "backup_client_ssh_keys": {c: store.pair(ssh_name(c)).private for c in records},
    }
    groups = {}
    if servers:
        groups[REPOSITORY_GROUP] = sorted(servers)
    if clients:
        groups[CLIENT_GROUP] = sorted(clients)
    return RoleVars(public=public, secret=secret, groups=groups, hostvars=hostvars)
