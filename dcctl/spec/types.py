"""Constrained scalar types shared by every spec domain.

Every string that can later reach a switch config, a RouterOS script, a shell
or a Jinja2 template is constrained here, once, so the renderers can trust
their inputs instead of escaping them ad hoc.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import netaddr
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from dcctl.i18n import _

API_VERSION = "dcctl/v1"

#: Every enum of the spec that accepts words of the other language too: canonical
#: values -> {alias: canonical}. Why: engineers write `sector: pertanian` as
#: naturally as `agriculture`; the model keeps one canonical value (state, plans and
#: JSON never change with the writer's language), and an unknown word gets a "did you
#: mean" over both languages' words (dcctl.spec.loader).
ENUM_ALIASES: dict[tuple[str, ...], dict[str, str]] = {}


def aliased(values: tuple[str, ...], aliases: dict[str, str]) -> Any:
    """A Literal of ``values`` that also accepts ``aliases`` (any case), stored canonically.

    The JSON Schema lists the aliases too, so an editor accepts what validate accepts.
    """
    assert set(aliases.values()) <= set(values), aliases
    ENUM_ALIASES[values] = aliases

    def resolve(value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            return aliases.get(key, key if key in values else value)
        return value

    accepted = Literal[values + tuple(a for a in aliases if a not in values)]  # type: ignore[valid-type]
    return Annotated[
        Literal[values],  # type: ignore[valid-type]
        BeforeValidator(resolve, json_schema_input_type=accepted),
    ]


Sector = aliased(
    (
        "agriculture",
        "population",
        "education",
        "health",
        "finance",
        "governance",
        "village_government",
        "other",
    ),
    {
        "pertanian": "agriculture",
        "kependudukan": "population",
        "pendidikan": "education",
        "kesehatan": "health",
        "keuangan": "finance",
        "pemerintahan": "governance",
        "pemerintahan_desa": "village_government",
        "desa": "village_government",
        "lainnya": "other",
    },
)
Classification = aliased(
    ("publik", "terbatas", "rahasia"),
    {"public": "publik", "restricted": "terbatas", "secret": "rahasia", "confidential": "rahasia"},
)
#: A legacy server room's state (tenancy.ServerRoom).
RoomStatus = aliased(
    ("running", "migrating", "closed"),
    {"berjalan": "running", "aktif": "running", "migrasi": "migrating", "ditutup": "closed"},
)
#: Whether a VM is reachable from the internet (compute.Vm).
Exposure = aliased(("internal", "public"), {"publik": "public"})
CLASSIFICATION_RANK: dict[str, int] = {"publik": 0, "terbatas": 1, "rahasia": 2}

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$")
#: The safe-text rule, in one home. Free text (descriptions, locations, names of
#: people) reaches IOS descriptions, RouterOS comments, Prometheus annotations and
#: YAML. A whitelist is the only safe choice: it excludes newlines and control
#: characters, `;` `$` `[` `]` `"` `\` (RouterOS script syntax), `{` `}` `%`
#: (Jinja2), `?` (IOS inline help) and `!` / `#` (comments). The renderers re-check
#: their inputs with :func:`is_safe_text` as defence in depth.
SAFE_TEXT_CHARS = r"\w .,()/&'+:@-"
_TEXT_RE = re.compile(f"^[{SAFE_TEXT_CHARS}]*$")
_TEXT_CHAR_RE = re.compile(f"[{SAFE_TEXT_CHARS}]")
_PORT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*[0-9]+(?:/[0-9]+)*$")
_CRED_RE = re.compile(r"^(env|file|lab):[A-Za-z0-9_./-]{1,128}$")
_RTSP_RE = re.compile(r"^/[A-Za-z0-9_./-]{0,127}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PHONE_RE = re.compile(r"^\+?[0-9 -]{6,20}$")
#: An SSID as dcctl writes it: 1-32 characters of letters, digits, space, '.', '_', '-',
#: not starting or ending with a space (RouterOS and clients trim them).
_SSID_RE = re.compile(r"^[A-Za-z0-9._-]([A-Za-z0-9 ._-]{0,30}[A-Za-z0-9._-])?$")
_HOST_RE = re.compile(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _name(v: str) -> str:
    if not _NAME_RE.fullmatch(v):
        raise ValueError(
            _(
                "must be a lowercase identifier: a-z, 0-9 and '-', starting with a letter, "
                "at most 32 characters"
            )
        )
    return v


def is_safe_text(value: str, max_length: int | None = None) -> bool:
    """Whether ``value`` is safe text (and at most ``max_length`` characters, if given)."""
    if max_length is not None and len(value) > max_length:
        return False
    return bool(_TEXT_RE.fullmatch(value))


def _text(v: str) -> str:
    if not is_safe_text(v):
        bad = sorted({c for c in v if not _TEXT_CHAR_RE.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad)
        raise ValueError(
            _(
                "contains characters not allowed in free text ({shown}); allowed are letters, "
                "digits, spaces and . , ( ) / & ' + : @ -"
            ).format(shown=shown)
        )
    return v


def _port(v: str) -> str:
    if not _PORT_RE.fullmatch(v):
        raise ValueError(
            _("must be an interface name like Gi1/0/1, TenGigabitEthernet1/1/1 or ether5")
        )
    return v


def _cred(v: str) -> str:
    if not _CRED_RE.fullmatch(v):
        raise ValueError(
            _(
                "must be a credential reference (env:VAR, file:path or lab:name), "
                "never the secret itself"
            )
        )
    return v


def _ipv4(v: str) -> str:
    try:
        ip = netaddr.IPAddress(v, version=4, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError(_("must be an IPv4 address like 10.20.1.10")) from None
    return str(ip)


def _prefix(v: str) -> str:
    try:
        net = netaddr.IPNetwork(v, version=4)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError(_("must be an IPv4 prefix like 10.20.0.0/16")) from None
    if "/" not in v:
        raise ValueError(_("must carry a prefix length, like 10.20.0.0/16"))
    if net.ip != net.network:
        raise ValueError(_("has host bits set; did you mean {prefix}?").format(prefix=net.cidr))
    return str(net.cidr)


def _endpoint(v: str) -> str:
    host, sep, port = v.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(_("must be ADDRESS:PORT, like 203.0.113.1:51820"))
    _ipv4(host)
    return v


def _switch_port(v: str) -> str:
    sw, sep, port = v.partition(":")
    if not sep:
        raise ValueError(_("must be SWITCH:PORT, like sw-core:Gi1/0/1"))
    _name(sw)
    _port(port)
    return v


def _email(v: str) -> str:
    if not _EMAIL_RE.fullmatch(v):
        raise ValueError(_("must be an e-mail address"))
    return v


def _phone(v: str) -> str:
    if not _PHONE_RE.fullmatch(v):
        raise ValueError(_("must be a phone number: digits, spaces, '-' and a leading '+'"))
    return v


def _rtsp(v: str) -> str:
    if not _RTSP_RE.fullmatch(v):
        raise ValueError(_("must be a URL path like /stream1 (letters, digits, _ . / -)"))
    return v


def _ssid(v: str) -> str:
    if not _SSID_RE.fullmatch(v):
        raise ValueError(
            _(
                "must be an SSID of 1-32 letters, digits, spaces, '.', '_' or '-', "
                "not starting or ending with a space"
            )
        )
    return v


def _hostname(v: str) -> str:
    if not _HOST_RE.fullmatch(v) or len(v) > 253:
        raise ValueError(_("must be a DNS name like dc.wonosobo.go.id"))
    return v


Name = Annotated[str, AfterValidator(_name)]
Text = Annotated[str, Field(max_length=120), AfterValidator(_text)]
PortName = Annotated[str, Field(max_length=40), AfterValidator(_port)]
CredentialRef = Annotated[str, AfterValidator(_cred)]
IPv4 = Annotated[str, AfterValidator(_ipv4)]
Prefix = Annotated[str, AfterValidator(_prefix)]
Endpoint = Annotated[str, AfterValidator(_endpoint)]
SwitchPort = Annotated[str, AfterValidator(_switch_port)]
Email = Annotated[str, AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_phone)]
RtspPath = Annotated[str, AfterValidator(_rtsp)]
Hostname = Annotated[str, AfterValidator(_hostname)]
Ssid = Annotated[str, AfterValidator(_ssid)]
VlanId = Annotated[int, Field(ge=2, le=4094)]


class Strict(BaseModel):
    """Base of every spec model: unknown fields are errors, no silent coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Document(Strict):
    """A top-level YAML document: versioned and typed by `kind`."""

    apiVersion: Literal["dcctl/v1"] = Field(description="Schema version of this document")
