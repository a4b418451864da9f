"""Lab secrets: one random password per credential reference the spec uses.

Why: the spec only holds references (`env:WSB_SWITCH_PASSWORD`), never secrets.
In production those resolve from the environment or a vault; in the lab, the
lab itself plays the vault. It invents a password per reference when the lab is
built, hands it to the emulated devices (switch daemons, cameras) through files,
and lets dcctl resolve the same reference for `--target lab` with `lab_secret`.
Passwords live only under the lab state dir, in files of mode 0600 inside a
0700 directory; they are never printed, logged or written into the repository.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from dcctl.files import atomic_write
from dcctl.i18n import _

SECRETS_DIR = "secrets"


class LabSecretError(LookupError):
    """A credential reference has no lab secret (the lab was never brought up)."""


def secrets_dir(state_dir: Path) -> Path:
    return Path(state_dir) / SECRETS_DIR


def secret_path(state_dir: Path, ref: str) -> Path:
    """File holding the secret for `ref`; the name is the reference, '/' escaped."""
    if not ref or "\x00" in ref:
        raise ValueError(_("empty or invalid credential reference"))
    name = quote(ref, safe=":_-.")
    if name in (".", ".."):
        raise ValueError(_("invalid credential reference {ref}").format(ref=repr(ref)))
    return secrets_dir(state_dir) / name


def _new_password() -> str:
    # 24 URL-safe characters: no quotes, spaces or shell/CLI metacharacters, so the
    # password survives IOS/RouterOS prompts and RTSP URLs unescaped.
    return secrets.token_urlsafe(18)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    atomic_write(path, text + "\n", mode=0o600)


def ensure_secrets(state_dir: Path, refs: Iterable[str]) -> dict[str, Path]:
    """Create a password for every reference that has none yet; returns ref -> file.

    Existing secrets are kept, so a lab rebuilt with `down` + `up` keeps the
    passwords its switches' startup-configs and dcctl's runs already use.
    """
    out: dict[str, Path] = {}
    for ref in sorted(set(refs)):
        path = secret_path(state_dir, ref)
        if not path.exists():
            _write_private(path, _new_password())
        else:
            os.chmod(path, 0o600)
        out[ref] = path
    return out


def lab_secret(state_dir: Path | str, ref: str) -> str:
    """The lab's password for credential reference `ref` (raises LabSecretError)."""
    path = secret_path(Path(state_dir), ref)
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        raise LabSecretError(
            _("no lab secret for {ref}; run `dcctl lab up` first (looked in {folder})").format(
                ref=ref, folder=path.parent
            )
        ) from None
