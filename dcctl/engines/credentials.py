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
from dcctl.files import atomic_write, locked
from dcctl.i18n import _
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
    never from the spec repo. The first creation happens under a lock on the
    file's directory and through an atomic write, so two first runs agree on one
    passphrase and a full disk leaves no file rather than an empty one. An empty
    (or blank) passphrase is refused, never used: everything encrypted with it
    would be readable by anyone.
    """
    env = os.environ.get("DCCTL_PASSPHRASE")
    if env:
        if not env.strip():
            raise CredentialError(_("DCCTL_PASSPHRASE is blank; refusing to encrypt with it"))
        return env
    # An empty DCCTL_PASSPHRASE_FILE means "not set", not the current directory.
    path = Path(
        os.environ.get("DCCTL_PASSPHRASE_FILE") or Path.home() / ".config" / "dcctl" / "passphrase"
    )
    if not path.exists() and not create:  # reading a secret made with a passphrase not here
        raise CredentialError(
            _(
                "no secrets passphrase: set DCCTL_PASSPHRASE or DCCTL_PASSPHRASE_FILE "
                "(default {file}, which the first apply creates)"
            ).format(file=path)
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with locked(path.parent):
        if not path.exists():
            atomic_write(path, secrets.token_urlsafe(32) + "\n", mode=0o600)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialError(
            _("cannot read the secrets passphrase {file}: {problem}").format(file=path, problem=exc)
        ) from None
    if not text:
        raise CredentialError(
            _(
                "the secrets passphrase file {file} is empty (a full disk?); refusing to use an "
                "empty passphrase. Restore the file from your backup (or set DCCTL_PASSPHRASE); "
                "delete it only if nothing was ever encrypted with it"
            ).format(file=path)
        )
    return text
