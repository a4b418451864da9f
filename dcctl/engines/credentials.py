"""Resolve credential references (``env:VAR``, ``file:path``, ``lab:name``) to secrets.

Why one place: switches, cameras and VPN keys all hold *references* in the spec;
every engine must resolve them the same way, and the error must never carry the
secret itself. The target (:mod:`dcctl.targets`) decides where secrets come from.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dcctl import targets
from dcctl.spec.loader import Spec
from dcctl.targets import CredentialError, Target

__all__ = ["CredentialError", "passphrase", "resolve_credential"]


# --------------------------------------------------------------------------
# Library functions


def resolve_credential(spec: Spec, ref: str, target: Target | str) -> str:
    """The secret behind a reference, as `target` resolves it (lab store, env:, file:)."""
    return targets.get(target).credential(spec, ref)


def passphrase(create: bool = True) -> str:
    """The passphrase that encrypts dcctl's secrets (Pulumi state, the VPN keystore).

    From DCCTL_PASSPHRASE, else the file DCCTL_PASSPHRASE_FILE (default
    ~/.config/dcctl/passphrase, created 0600 with a random value on first use):
    never from the spec repo.
    """
    if os.environ.get("DCCTL_PASSPHRASE"):
        return os.environ["DCCTL_PASSPHRASE"]
    # An empty DCCTL_PASSPHRASE_FILE means "not set", not the current directory.
    path = Path(
        os.environ.get("DCCTL_PASSPHRASE_FILE") or Path.home() / ".config" / "dcctl" / "passphrase"
    )
    if not path.exists():
        if not create:  # reading a secret made with a passphrase that is not here
            raise CredentialError(
                f"no secrets passphrase: set DCCTL_PASSPHRASE or DCCTL_PASSPHRASE_FILE "
                f"(default {path}, which the first apply creates)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()
