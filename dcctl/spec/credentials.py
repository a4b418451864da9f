"""Credential references: who owns each one, of what kind, and where its secret lives.

A spec holds references (``env:VAR``, ``file:secrets/...``, ``lab:name``), never
secrets. Issue 15 found that a reference could point at *any* secret: a camera
ticket naming the switch password or the secrets passphrase carried it into an
RTSP URL. So every reference has

* an **owner** (``site``, or one OPD's code) and a **kind** (``hypervisor``,
  ``switch``, ``camera``, ...), both taken from where it sits in the spec, by the
  one table :func:`credential_uses` (a new credential field adds a line there);
* a text inside the owner's **namespace**, so a reader (and a ticket check) can
  tell the owner from the reference alone:

  - ``file:secrets/<owner>/<name>``: under the secrets directory, in the owner's
    folder (``site`` or the OPD code);
  - ``env:VAR``: an OPD's variables carry its code as a ``_``-separated word
    (``WSB_DINKES_CAMERA_PASSWORD`` for dinkes); site variables carry no OPD code;
    dcctl's, Pulumi's, Ansible's and the shell's own variables are never references.

* one owner and one kind across the whole spec: the same reference used by two
  OPDs, or as a switch and as a camera credential, is refused.

``file:`` references are resolved here and nowhere else (:func:`secret_file`,
:func:`read_reference`): against the spec root, inside the secrets directory
(``<spec root>/secrets``, or ``DCCTL_SECRETS_DIR`` where the operator keeps them
elsewhere), never inside ``state/``, with symlinks followed before the check.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dcctl.spec.site import Site
    from dcctl.spec.tenancy import Opd

#: The folder of ``file:`` secrets, relative to the spec root (``file:secrets/...``).
SECRETS_DIR = "secrets"
#: The owner name of site-wide credentials (switches, hypervisors).
SITE = "site"
#: Credential kinds, each with the field of each switch that holds one. A kind
#: is a contract: an engine resolving a ``switch`` credential must get a switch's.
SWITCH_FIELDS: dict[str, str] = {"credential": "switch", "enable_credential": "switch_enable"}
KINDS = (
    "hypervisor",
    "switch",
    "switch_enable",
    "camera",
    "radio_key",
    "wifi_passphrase",
    "guest_wifi_passphrase",
)
#: Environment variables that are never a credential reference: dcctl's own
#: secrets (the passphrase), the engines' settings and the shell's.
_RESERVED_ENV = re.compile(
    r"^(DCCTL_.*|PULUMI_.*|ANSIBLE_.*|AWS_.*|SSH_.*|GIT_.*|CI_.*|GITHUB_.*|"
    r"HOME|PATH|USER|LOGNAME|SHELL|PWD|TMPDIR|LD_.*|PYTHON.*)$"
)


class CredentialError(LookupError):
    """A credential reference that cannot be resolved (the message never has the secret)."""


@dataclass(frozen=True)
class CredentialUse:
    """One credential reference in the spec: its text, owner, kind and place."""

    ref: str
    owner: str  # SITE or an OPD code
    kind: str
    source: str  # "site" or "opd/<code>": the key of Spec.sources
    path: tuple[Any, ...]


def credential_uses(site: Site, opds: Mapping[str, Opd]) -> Iterator[CredentialUse]:
    """Every credential reference of the spec, with the owner and kind its place gives it.

    The one table of where credentials sit: a new credential field is one line
    (a switch's, in :data:`SWITCH_FIELDS`; an OPD's, below).
    """
    yield CredentialUse(
        site.hypervisors.credential, SITE, "hypervisor", "site", ("hypervisors", "credential")
    )
    for i, sw in enumerate(site.switches):
        for field, kind in SWITCH_FIELDS.items():
            ref = getattr(sw, field, None)
            if ref is not None:
                yield CredentialUse(ref, SITE, kind, "site", ("switches", i, field))
    # A radio link's key is the site's: the backbone is Diskominfo's, never an OPD's.
    for i, link in enumerate(site.links):
        if link.key is not None:
            yield CredentialUse(link.key, SITE, "radio_key", "site", ("links", i, "key"))
    guest = site.wifi.guest if site.wifi is not None else None
    if guest is not None and guest.passphrase is not None:
        path = ("wifi", "guest", "passphrase")
        yield CredentialUse(guest.passphrase, SITE, "guest_wifi_passphrase", "site", path)
    for code, opd in opds.items():
        for i, cam in enumerate(opd.cameras):
            yield CredentialUse(
                cam.credential, code, "camera", f"opd/{code}", ("cameras", i, "credential")
            )
        if opd.wifi is not None:
            path = ("wifi", "passphrase")
            yield CredentialUse(opd.wifi.passphrase, code, "wifi_passphrase", f"opd/{code}", path)


@functools.lru_cache(maxsize=65536)
def _token(code: str) -> str:
    return code.upper().replace("-", "_")


def _word_runs(name: str) -> set[str]:
    """Every run of consecutive ``_``-separated words of `name`: ``_T_`` is in ``_name_``
    exactly when T is one of them. A set lookup per OPD instead of a substring search
    (issue 17: 480 site credentials against 600 OPD codes)."""
    words = name.split("_")
    return {"_".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


def namespace_problem(ref: str, owner: str, opd_codes: Any) -> str | None:
    """Why `ref` is outside `owner`'s namespace (see the module docstring), or None."""
    scheme, _, rest = ref.partition(":")
    if scheme == "file":
        parts = rest.split("/")
        if rest.startswith(("/", "~")) or ".." in parts or "." in parts:
            return "a file: reference is a relative path under secrets/, without '.' or '..'"
        if len(parts) < 3 or parts[0] != SECRETS_DIR or parts[1] != owner:
            return f"a file: credential of {owner} lives under {SECRETS_DIR}/{owner}/"
        return None
    if scheme == "env":
        if _RESERVED_ENV.match(rest):
            return f"{rest} is one of dcctl's, the engines' or the shell's own variables"
        words = f"_{rest}_"
        if owner == SITE:
            runs = _word_runs(rest)
            other = sorted(c for c in opd_codes if _token(c) in runs)
            if other:
                return f"{rest} names OPD {other[0]}; a site credential names no OPD"
            return None
        if f"_{_token(owner)}_" not in words:
            return f"an env: credential of {owner} carries {_token(owner)} as a word (e.g. " + (
                f"WSB_{_token(owner)}_CAMERA_PASSWORD)"
            )
        return None
    return None  # lab: references exist only in the lab's own store


def secrets_dir(root: Path) -> Path:
    """Where ``file:secrets/...`` lives: DCCTL_SECRETS_DIR, else the spec root's secrets/."""
    env = os.environ.get("DCCTL_SECRETS_DIR")
    return Path(env) if env else Path(root) / SECRETS_DIR


def secret_file(root: Path, ref: str) -> Path:
    """The file a ``file:`` reference names, checked; CredentialError if it may not be read.

    The one place a ``file:`` reference becomes a path: relative to the spec root,
    inside the secrets directory once every symlink is followed, never in state/.
    """
    scheme, _, rest = ref.partition(":")
    parts = rest.split("/")
    if scheme != "file" or not rest or rest.startswith(("/", "~")) or ".." in parts:
        raise CredentialError(f"{ref}: a file: reference is a relative path under {SECRETS_DIR}/")
    if parts[0] != SECRETS_DIR or len(parts) < 2:
        raise CredentialError(f"{ref}: file: credentials live under {SECRETS_DIR}/")
    allowed = secrets_dir(root).resolve()
    path = (allowed / "/".join(parts[1:])).resolve()
    state = (Path(root) / "state").resolve()
    if not path.is_relative_to(allowed) or path.is_relative_to(state):
        raise CredentialError(f"{ref}: leads outside the secrets directory {allowed}")
    return path


def read_reference(root: Path, ref: str) -> str:
    """The secret behind an ``env:`` or ``file:`` reference; CredentialError if none.

    An empty value is an error, never a secret: an unset variable exported as ""
    or a 0-byte file from a full disk would otherwise log in with no password.
    """
    scheme, _, rest = ref.partition(":")
    if scheme == "env":
        value = os.environ.get(rest, "")
        if not value.strip():
            raise CredentialError(f"{ref}: environment variable {rest} is not set or empty")
        return value
    if scheme == "file":
        path = secret_file(root, ref)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CredentialError(f"{ref}: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CredentialError(f"{ref}: {path} is not UTF-8 text") from None
        if not value.strip():
            raise CredentialError(f"{ref}: {path} is empty")
        return value
    raise CredentialError(f"{ref}: {scheme}: references only resolve with --target lab")
