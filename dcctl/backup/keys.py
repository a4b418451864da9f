"""Each OPD's backup secrets: its restic repository password and its SFTP login key.

Why dcctl makes them (and not each VM): every VM of an OPD writes into that OPD's one
repository, so they must share its password; the backup VM must know the OPD's login
key before any VM connects; and a lost VM must come back able to read its old
backups. Why per OPD: one OPD's key opens only its own repository (issue 18).

Why this file format: the sealed store of the WireGuard keys
(:class:`dcctl.vpn.keystore.KeyStore`: AES-256-GCM under a key derived by scrypt
from the secrets passphrase, public halves in plain and bound to the ciphertext), two
files under ``state/backup/`` (``state/backup/lab/`` for rehearsals), one per kind:

- ``passwords.enc``, entries ``backup/<opd>``: the repository password (random, 256
  bits); its "public" half is a short fingerprint, so a reader can tell which key a
  repository was made with without the passphrase;
- ``ssh.enc``, entries ``backup-ssh/<opd>``: an Ed25519 key pair in OpenSSH form (the
  kind of :mod:`dcctl.ssh.vmkeys`); the public half is what the backup VMs authorise
  for the OPD's SFTP account.

:class:`BackupKeys` answers for both by name, like one store.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable
from pathlib import Path

from dcctl import targets
from dcctl.i18n import _
from dcctl.ssh.vmkeys import SSH_HOST_KEY
from dcctl.targets import Target
from dcctl.vpn.keystore import KeyKind, KeyPair, KeyStore, KeystoreError

__all__ = [
    "RESTIC_PASSWORD",
    "BackupKeys",
    "KeystoreError",
    "keys_dir",
    "password_name",
    "ssh_name",
]

PASSWORD_PREFIX = "backup/"
SSH_PREFIX = "backup-ssh/"
PASSWORDS_FILE = "passwords.enc"
SSH_FILE = "ssh.enc"


def password_name(opd: str) -> str:
    """The entry of OPD ``opd``'s repository password (the backup layer's ``key``)."""
    return f"{PASSWORD_PREFIX}{opd}"


def ssh_name(opd: str) -> str:
    """The entry of OPD ``opd``'s SFTP login key pair."""
    return f"{SSH_PREFIX}{opd}"


def keys_dir(state_dir: Path, target: Target | str = "prod") -> Path:
    """``state/backup/`` for production; a lab rehearsal keeps its own."""
    return targets.get(target).state_path(Path(state_dir) / "backup")


def _fingerprint(password: str) -> str:
    digest = hashlib.sha256(password.encode()).digest()
    return "sha256:" + base64.b64encode(digest[:12]).decode()


def _new_password() -> tuple[str, str]:
    password = secrets.token_urlsafe(32)
    return password, _fingerprint(password)


#: restic repository passwords: 256 random bits, a fingerprint as the public half.
RESTIC_PASSWORD = KeyKind("restic-password", _new_password, _fingerprint)


class BackupKeys:
    """The backup passwords and SFTP keys of one target, as one store (see the docstring)."""

    def __init__(self, directory: Path, passphrase: str | None = None) -> None:
        self.directory = Path(directory)
        self._stores = {
            PASSWORD_PREFIX: KeyStore(
                self.directory / PASSWORDS_FILE, passphrase, kind=RESTIC_PASSWORD
            ),
            SSH_PREFIX: KeyStore(self.directory / SSH_FILE, passphrase, kind=SSH_HOST_KEY),
        }

    def _store(self, name: str) -> KeyStore:
        for prefix, store in self._stores.items():
            if name.startswith(prefix):
                return store
        raise KeystoreError(
            _("{name!r} is not a backup key name ({password}<opd>, {ssh}<opd>)").format(
                name=name, password=PASSWORD_PREFIX, ssh=SSH_PREFIX
            )
        )

    @property
    def paths(self) -> list[Path]:
        return [s.path for s in self._stores.values()]

    def names(self) -> list[str]:
        return sorted(n for s in self._stores.values() for n in s.names())

    def has(self, name: str) -> bool:
        return self._store(name).has(name)

    def public_key(self, name: str) -> str:
        return self._store(name).public_key(name)

    def pair(self, name: str) -> KeyPair:
        """The full entry (decrypts); callers must keep ``private`` out of logs."""
        return self._store(name).pair(name)

    def ensure(self, names: Iterable[str], persist: bool = True) -> list[str]:
        """Make every missing entry (in memory only with ``persist=False``); the new names."""
        wanted = list(names)
        made: list[str] = []
        for prefix, store in self._stores.items():
            mine = [n for n in wanted if n.startswith(prefix)]
            made += store.ensure(mine, persist=persist) if mine else []
        for name in wanted:
            self._store(name)  # an unknown name is an error, not a silent skip
        return sorted(made)
