"""The encrypted store of WireGuard key pairs: one for the hub, one per remote office.

Why dcctl generates and keeps the keys itself (rather than letting each router
make its own): the hub's peer list and every MikroTik export need the public
keys before any device is touched, a rotation must be a reviewed, repeatable
step (`dcctl vpn rotate`), and a lost VM must come back with the same identity.

Why this file format: the store lives in the spec repo's state dir, which may be
committed or backed up with the repo, so private keys are sealed with AES-256-GCM
under a key derived by scrypt from the secrets passphrase
(:func:`dcctl.engines.credentials.passphrase`, never kept in the repo). Public
keys stay readable in plain (``dcctl vpn show`` and plan output need them without
the passphrase) but are bound to the ciphertext as associated data, so swapping a
public key in the file is detected. Writes are atomic (temp file + rename), 0600,
under an advisory lock, so two dcctl runs never lose each other's rotation.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from dcctl import targets
from dcctl.files import atomic_write
from dcctl.i18n import _
from dcctl.targets import Target

__all__ = [
    "HUB",
    "WIREGUARD",
    "KeyKind",
    "KeyPair",
    "KeyStore",
    "KeystoreError",
    "is_wg_key",
    "keystore_path",
    "public_of",
]

#: Name of the hub's key pair; offices are named by their desired-state key "opd/office".
HUB = "hub"
FILE_NAME = "keys.enc"
VERSION = 1
#: scrypt cost for new and rewritten stores: N=2^17 (OWASP's minimum for r=8, p=1).
#: A store written with a lower N (dcctl before issue 15 used 2^15) is still read
#: with the N it names, and upgraded the next time it is written.
_SCRYPT = {"n": 2**17, "r": 8, "p": 1}
#: What a store may ask for when read: a tampered file must not make scrypt
#: allocate gigabytes (N=2^20, r=8 is 1 GiB).
_SCRYPT_MAX = {"n": 2**20, "r": 16, "p": 4}
#: Derived keys of this process, by (passphrase digest, salt, n, r, p): one store is
#: opened by several role-variable providers per run, and each derivation costs ~1 s.
_DERIVED: dict[tuple[str, str, int, int, int], bytes] = {}
_KEY_RE = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")


class KeystoreError(RuntimeError):
    """The keystore cannot be read or written (wrong passphrase, tampered, unknown name)."""


def is_wg_key(text: str) -> bool:
    """Whether ``text`` is a WireGuard key: base64 of exactly 32 bytes (44 characters)."""
    if not isinstance(text, str) or not _KEY_RE.match(text):
        return False
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def public_of(private_b64: str) -> str:
    """The public key of a base64 X25519 private key (what ``wg pubkey`` prints)."""
    raw = base64.b64decode(private_b64, validate=True)
    pub = X25519PrivateKey.from_private_bytes(raw).public_key()
    return base64.b64encode(
        pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()


def _generate() -> tuple[str, str]:
    key = X25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    private = base64.b64encode(raw).decode()
    return private, public_of(private)


@dataclass(frozen=True)
class KeyKind:
    """What a store holds: how a pair is made and how a private key gives its public one.

    One sealed-store format serves every key dcctl makes (WireGuard pairs here, the
    SSH host keys of production VMs in :mod:`dcctl.ssh.vmkeys`); only this differs.
    """

    name: str
    generate: Callable[[], tuple[str, str]]
    public_of: Callable[[str], str]


#: X25519 pairs as WireGuard prints them (base64 of 32 raw bytes each).
WIREGUARD = KeyKind("wireguard", _generate, public_of)


def keystore_path(state_dir: Path, target: Target | str = "prod") -> Path:
    """``state/vpn/keys.enc`` for production; a lab rehearsal keeps its own keys."""
    return targets.get(target).state_path(Path(state_dir) / "vpn") / FILE_NAME


@dataclass(frozen=True)
class KeyPair:
    """One peer's keys; ``repr`` never shows the private half."""

    name: str
    public: str
    private: str = field(repr=False)
    created: str = ""


class KeyStore:
    """Read, extend and rotate the key pairs in one ``keys.enc`` file.

    The passphrase is asked for lazily: listing public keys never needs it.
    """

    def __init__(
        self, path: Path, passphrase: str | None = None, kind: KeyKind = WIREGUARD
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self._passphrase = passphrase
        self._doc: dict[str, Any] = {}
        self._private: dict[str, str] | None = None
        self._aes: AESGCM | None = None
        self._aes_salt = ""
        self._writing = False
        self._load_public()

    # -- reading -------------------------------------------------------------

    def _load_public(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._doc = {
                "version": VERSION,
                "kdf": {"name": "scrypt", "salt": _b64(secrets.token_bytes(16)), **_SCRYPT},
                "public": {},
                "created": {},
                "nonce": "",
                "ciphertext": "",
            }
            self._private = {}
            return
        try:
            doc = json.loads(text)
            if doc.get("version") != VERSION or not isinstance(doc.get("public"), dict):
                raise ValueError(_("unknown format"))
        except ValueError as exc:
            raise KeystoreError(
                _("{file}: not a dcctl keystore ({problem})").format(file=self.path, problem=exc)
            ) from None
        self._doc = doc

    def _cipher(self) -> AESGCM:
        if self._aes is None:
            if self._passphrase is None:
                from dcctl.engines.credentials import passphrase

                # Only a write may create the passphrase (a read of a store needs the
                # passphrase it was written with).
                self._passphrase = passphrase(create=self._writing)
            kdf = self._doc["kdf"]
            try:
                n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            except (KeyError, TypeError, ValueError):
                raise KeystoreError(
                    _("{file}: unreadable scrypt parameters").format(file=self.path)
                ) from None
            if not (
                2 <= n <= _SCRYPT_MAX["n"]
                and n & (n - 1) == 0
                and 1 <= r <= _SCRYPT_MAX["r"]
                and 1 <= p <= _SCRYPT_MAX["p"]
            ):
                raise KeystoreError(
                    _(
                        "{file}: scrypt parameters n={n} r={r} p={p} are out of bounds "
                        "(a damaged or tampered store)"
                    ).format(file=self.path, n=n, r=r, p=p)
                )
            digest = hashlib.sha256(self._passphrase.encode()).hexdigest()
            cache = (digest, str(kdf["salt"]), n, r, p)
            key = _DERIVED.get(cache)
            if key is None:
                key = Scrypt(salt=base64.b64decode(kdf["salt"]), length=32, n=n, r=r, p=p).derive(
                    self._passphrase.encode()
                )
                _DERIVED[cache] = key
            self._aes = AESGCM(key)
            self._aes_salt = str(kdf["salt"])
        return self._aes

    def _aad(self) -> bytes:
        return json.dumps(
            {"public": self._doc["public"], "created": self._doc.get("created", {})},
            sort_keys=True,
        ).encode()

    def _privates(self) -> dict[str, str]:
        if self._private is None:
            aes = self._cipher()
            try:
                plain = aes.decrypt(
                    base64.b64decode(self._doc["nonce"]),
                    base64.b64decode(self._doc["ciphertext"]),
                    self._aad(),
                )
            except (InvalidTag, binascii.Error, KeyError, ValueError):
                raise KeystoreError(
                    _("{file}: cannot decrypt (wrong passphrase, or the file was altered)").format(
                        file=self.path
                    )
                ) from None
            self._private = json.loads(plain)
        return self._private

    # -- queries ---------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self._doc["public"])

    def has(self, name: str) -> bool:
        """Whether ``name`` has a key pair (in the file, or made in memory by ``ensure``)."""
        return name in self._doc["public"]

    def public_key(self, name: str) -> str:
        try:
            return str(self._doc["public"][name])
        except KeyError:
            raise KeystoreError(
                _("no key pair for {name} in {file}").format(name=repr(name), file=self.path)
            ) from None

    def created(self, name: str) -> str:
        return str(self._doc.get("created", {}).get(name, ""))

    def pair(self, name: str) -> KeyPair:
        """The full key pair (decrypts); callers must keep ``private`` out of logs."""
        public = self.public_key(name)
        private = self._privates().get(name)
        if private is None or self.kind.public_of(private) != public:
            raise KeystoreError(
                _("{file}: private key of {name} does not match").format(
                    file=self.path, name=repr(name)
                )
            )
        return KeyPair(name, public, private, self.created(name))

    # -- changes -----------------------------------------------------------------

    def ensure(self, names: Iterable[str], persist: bool = True) -> list[str]:
        """Generate a key pair for every name that has none yet; returns the new names.

        ``persist=False`` keeps the new pairs in this object only (nothing is
        written, no passphrase is made): what a plan or check run uses for keys
        the first apply will create, so reading never creates secrets.
        """
        wanted = sorted(set(names))
        missing = [n for n in wanted if n not in self._doc["public"]]
        if not missing:
            return []
        if not persist:
            for name in missing:
                self._set(name)
            return missing
        with self._locked():
            missing = [n for n in wanted if n not in self._doc["public"]]
            for name in missing:
                self._set(name)
            if missing:
                self._write()
            return missing

    def rotate(self, name: str) -> str:
        """Replace ``name``'s key pair; returns the new public key (the old one is gone)."""
        with self._locked():
            if name not in self._doc["public"]:
                raise KeystoreError(
                    _("no key pair for {name}; known: {known}").format(
                        name=repr(name), known=", ".join(self.names())
                    )
                )
            self._set(name)
            self._write()
            return self.public_key(name)

    def _set(self, name: str) -> None:
        privates = self._privates()
        private, public = self.kind.generate()
        privates[name] = private
        self._doc["public"][name] = public
        self._doc.setdefault("created", {})[name] = (
            dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's lock and work on the latest file (another run may have written)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self.path.exists():
                self._private = None
                self._load_public()
                if self._aes_salt != self._doc["kdf"]["salt"]:
                    self._aes = None
                self._privates()
            yield
        finally:
            os.close(fd)

    def _write(self) -> None:
        self._writing = True
        privates = self._privates()
        if int(self._doc["kdf"]["n"]) < _SCRYPT["n"]:
            # An older, cheaper store: re-seal it at today's cost, with a new salt.
            self._doc["kdf"] = {"name": "scrypt", "salt": _b64(secrets.token_bytes(16)), **_SCRYPT}
            self._aes = None
        nonce = secrets.token_bytes(12)
        self._doc["nonce"] = _b64(nonce)
        ct = self._cipher().encrypt(
            nonce, json.dumps(privates, sort_keys=True).encode(), self._aad()
        )
        self._doc["ciphertext"] = _b64(ct)
        text = json.dumps(self._doc, indent=2, sort_keys=True) + "\n"
        atomic_write(self.path, text, mode=0o600)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
