"""Resolve credential references (``env:VAR``, ``file:path``, ``lab:name``) to secrets.

Why one place: switches, cameras and VPN keys all hold *references* in the spec;
every engine must resolve them the same way, and the error must never carry the
secret itself. With ``--target lab`` the lab's own secret store answers.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dcctl.spec.loader import Spec

__all__ = ["CredentialError", "passphrase", "resolve_credential"]


class CredentialError(LookupError):
    """A credential reference that cannot be resolved (the message never has the secret)."""


# --------------------------------------------------------------------------
# Library functions


def resolve_credential(spec: Spec, ref: str, target: str) -> str:
    """The secret behind a reference: lab store for the lab, else env: / file:."""
    if target == "lab":
        try:
            from dcctl.lab.secrets import lab_secret
            from dcctl.lab.topology import lab_state_dir, resolve_lab_id
        except ImportError as exc:
            raise CredentialError(f"{ref}: the lab is not available ({exc})") from None
        try:
            return lab_secret(lab_state_dir(resolve_lab_id(spec.site.name)), ref)
        except (LookupError, ValueError) as exc:
            raise CredentialError(str(exc)) from None
    kind, _, rest = ref.partition(":")
    if kind == "env":
        value = os.environ.get(rest)
        if not value:
            raise CredentialError(f"{ref}: environment variable {rest} is not set")
        return value
    if kind == "file":
        path = Path(rest).expanduser()
        if not path.is_absolute():
            path = spec.root / path
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CredentialError(f"{ref}: cannot read {path}: {exc.strerror}") from None
    raise CredentialError(f"{ref}: {kind}: references only resolve with --target lab")


def passphrase() -> str:
    """The passphrase that encrypts dcctl's secrets (Pulumi state, the VPN keystore).

    From DCCTL_PASSPHRASE, else the file DCCTL_PASSPHRASE_FILE (default
    ~/.config/dcctl/passphrase, created 0600 with a random value on first use):
    never from the spec repo.
    """
    if os.environ.get("DCCTL_PASSPHRASE"):
        return os.environ["DCCTL_PASSPHRASE"]
    path = Path(
        os.environ.get("DCCTL_PASSPHRASE_FILE", Path.home() / ".config" / "dcctl" / "passphrase")
    )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()
