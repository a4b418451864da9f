"""Credential references: who owns each one, of what kind, and where its secret lives.

A spec holds references (``env:VAR``, ``file:secrets/...``, ``lab:name``), never
secrets. Issue 15 found that a reference could point at *any* secret: a camera
ticket naming the switch password or the secrets passphrase carried it into an
RTSP URL. So every reference has

* an **owner** (``site``, or one OPD's code) and a **kind** (``hypervisor``,
  ``switch``, ``camera``, ...), *declared* in the owner's credential registry
  (``credentials:`` of ``site.yaml`` or of the OPD's file: ``{ref, kind}`` each),
  reviewed like any spec change; every place that uses a reference
  (:func:`credential_uses`, the one table of credential fields) must use one its
  owner declared, of the kind the place needs. A reference is declared once, by
  one owner: the switch password cannot also be an OPD's camera credential, and a
  ticket may only name a camera credential its OPD already declared;
* a text the owner may hold: ``file:secrets/<owner>/<name>`` (under the secrets
  directory, in the owner's folder, ``site`` or the OPD code); an ``env:`` variable
  that is not dcctl's, Pulumi's, Ansible's or the shell's own.

``file:`` references are resolved here and nowhere else (:func:`secret_file`,
:func:`read_reference`): against the spec root, inside the secrets directory
(``<spec root>/secrets``, or ``DCCTL_SECRETS_DIR`` where the operator keeps them
elsewhere), never inside ``state/``, with symlinks followed before the check.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dcctl.i18n import _
from dcctl.spec.types import CredentialRef, Strict, Text

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


Kind = Literal[KINDS]  # type: ignore[valid-type]


class Credential(Strict):
    """One entry of an owner's credential registry: a reference and what it is for."""

    ref: CredentialRef = Field(
        description="env:VAR or file:secrets/<owner>/NAME (never the secret)"
    )
    kind: Kind = Field(description="What the secret is for; a use of another kind is refused")
    description: Text | None = None


def registry_field() -> Any:
    """The ``credentials:`` field of an owner's document (the Site, each Opd)."""
    return Field(
        default_factory=list,
        max_length=256,
        description=(
            "The owner's credential registry: every reference its fields use, declared "
            "once with its kind"
        ),
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


@dataclass(frozen=True)
class Declaration:
    """One registry entry: the reference, its declared owner and kind, and its place."""

    ref: str
    owner: str
    kind: str
    source: str
    path: tuple[Any, ...]


def declarations(site: Site, opds: Mapping[str, Opd]) -> Iterator[Declaration]:
    """Every registry entry of the spec: the site's, then each OPD's."""
    for i, c in enumerate(site.credentials):
        yield Declaration(c.ref, SITE, c.kind, "site", ("credentials", i, "ref"))
    for code, opd in opds.items():
        for i, c in enumerate(opd.credentials):
            yield Declaration(c.ref, code, c.kind, f"opd/{code}", ("credentials", i, "ref"))


def declared(opd: Opd, kind: str) -> list[str]:
    """The references `opd` declared of `kind` (what a ticket of that OPD may name)."""
    return [c.ref for c in opd.credentials if c.kind == kind]


def namespace_problem(ref: str, owner: str, opd_codes: Any = ()) -> str | None:
    """Why `owner` may not hold `ref` at all (see the module docstring), or None.

    ``opd_codes`` is no longer read (the registry says who owns what); kept for callers.
    """
    scheme, _sep, rest = ref.partition(":")
    if scheme == "file":
        parts = rest.split("/")
        if rest.startswith(("/", "~")) or ".." in parts or "." in parts:
            return _("a file: reference is a relative path under secrets/, without '.' or '..'")
        if len(parts) < 3 or parts[0] != SECRETS_DIR or parts[1] != owner:
            return _("a file: credential of {owner} lives under {folder}").format(
                owner=owner, folder=f"{SECRETS_DIR}/{owner}/"
            )
        return None
    if scheme == "env":
        if _RESERVED_ENV.match(rest):
            return _("{name} is one of dcctl's, the engines' or the shell's own variables").format(
                name=rest
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
    scheme, _sep, rest = ref.partition(":")
    parts = rest.split("/")
    if scheme != "file" or not rest or rest.startswith(("/", "~")) or ".." in parts:
        raise CredentialError(
            _("{ref}: a file: reference is a relative path under {folder}").format(
                ref=ref, folder=f"{SECRETS_DIR}/"
            )
        )
    if parts[0] != SECRETS_DIR or len(parts) < 2:
        raise CredentialError(
            _("{ref}: file: credentials live under {folder}").format(
                ref=ref, folder=f"{SECRETS_DIR}/"
            )
        )
    allowed = secrets_dir(root).resolve()
    path = (allowed / "/".join(parts[1:])).resolve()
    state = (Path(root) / "state").resolve()
    if not path.is_relative_to(allowed) or path.is_relative_to(state):
        raise CredentialError(
            _("{ref}: leads outside the secrets directory {folder}").format(ref=ref, folder=allowed)
        )
    return path


def read_reference(root: Path, ref: str) -> str:
    """The secret behind an ``env:`` or ``file:`` reference; CredentialError if none.

    An empty value is an error, never a secret: an unset variable exported as ""
    or a 0-byte file from a full disk would otherwise log in with no password.
    """
    scheme, _sep, rest = ref.partition(":")
    if scheme == "env":
        value = os.environ.get(rest, "")
        if not value.strip():
            raise CredentialError(
                _("{ref}: environment variable {name} is not set or empty").format(
                    ref=ref, name=rest
                )
            )
        return value
    if scheme == "file":
        path = secret_file(root, ref)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CredentialError(
                _("{ref}: cannot read {file}: {problem}").format(
                    ref=ref, file=path, problem=exc.strerror
                )
            ) from None
        except UnicodeDecodeError:
            raise CredentialError(
                _("{ref}: {file} is not UTF-8 text").format(ref=ref, file=path)
            ) from None
        if not value.strip():
            raise CredentialError(_("{ref}: {file} is empty").format(ref=ref, file=path))
        return value
    raise CredentialError(
        _("{ref}: {scheme}: references only resolve with --target lab").format(
            ref=ref, scheme=scheme
        )
    )
