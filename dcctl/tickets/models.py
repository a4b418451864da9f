"""The request-ticket format: one strict Pydantic model per kind of request.

Tickets come from outside the infrastructure team (a helpdesk form, a GLPI or
osTicket export), so they are the least trusted input dcctl reads. Every field
reuses the spec's constrained types and adds the stricter `TicketText`: a value
must be valid free text *and* must not look like YAML syntax, because it is
rendered into a YAML file. Field labels are Indonesian, as the forms are.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, model_validator

from dcctl.i18n import _
from dcctl.spec.types import (
    Classification,
    CredentialRef,
    Email,
    IPv4,
    Name,
    Phone,
    RtspPath,
    Ssid,
    Strict,
    SwitchPort,
    Text,
)

KINDS = ("vm_baru", "ubah_vm", "kantor_vpn", "kamera_baru", "wifi_baru", "hapus", "backup_vm")

# Characters that start YAML syntax when they open a plain scalar.
_YAML_LEAD = set("-?:,[]{}#&*!|>'\"%@`")
_TICKET_NO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_NIP_RE = re.compile(r"^[0-9]{18}$")


def control_chars(value: str) -> list[str]:
    """Unicode control, format, private-use and line-separator characters in `value`.

    Bidi overrides and zero-width characters make a reviewer read something
    other than what a switch or a YAML parser reads, so they never pass.
    """
    return [
        f"U+{ord(c):04X} ({unicodedata.name(c, 'control')})"
        for c in value
        if unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")
    ]


def _ticket_text(v: str) -> str:
    bad = control_chars(v)
    if bad:
        raise ValueError(_("contains control characters: {chars}").format(chars=", ".join(bad)))
    if v != v.strip() or not v:
        raise ValueError(_("must not be empty or start/end with spaces"))
    if v[0] in _YAML_LEAD:
        raise ValueError(_("must not start with {char} (YAML syntax)").format(char=repr(v[0])))
    if ": " in v or v.endswith(":") or " #" in v:
        raise ValueError(_("must not contain ': ', ' #' or end with ':' (YAML syntax)"))
    return v


def _ticket_no(v: str) -> str:
    if not _TICKET_NO_RE.fullmatch(v) or ".." in v or v.endswith((".", ".lock")):
        raise ValueError(
            _(
                "must be 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit "
                "(it becomes the Git branch ticket/<nomor>)"
            )
        )
    return v


def _int_to_str(v: Any) -> Any:
    # Helpdesk JSON exports often carry the ticket id as a number.
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10**12:
        return str(v)
    return v


def _safe_credential(v: str) -> str:
    # The owner rule (the ticket's OPD's own references only) needs the spec; the
    # renderer applies it (dcctl.spec.credentials.namespace_problem).
    kind, _sep, ref = v.partition(":")
    if kind == "file" and (ref.startswith("/") or ".." in ref.split("/")):
        raise ValueError(_("a file: credential must be a relative path without '..'"))
    if kind == "lab":
        raise ValueError(_("lab: credentials are for the lab only; use env:VAR or file:path"))
    return v


def _date(v: str) -> str:
    if not _DATE_RE.fullmatch(v):
        raise ValueError(_("must be a date YYYY-MM-DD"))
    return v


def _datetime(v: str) -> str:
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(v)
    except ValueError:
        raise ValueError(_("must be a time YYYY-MM-DDTHH:MM[:SS]+HH:MM")) from None
    if parsed.tzinfo is None:
        raise ValueError(_("must carry its UTC offset, e.g. 2025-02-03T08:15:00+07:00"))
    return v


DateTime = Annotated[str, AfterValidator(_datetime)]
TicketText = Annotated[Text, AfterValidator(_ticket_text)]
TicketNo = Annotated[str, BeforeValidator(_int_to_str), AfterValidator(_ticket_no)]
TicketCredential = Annotated[CredentialRef, AfterValidator(_safe_credential)]
Date = Annotated[str, AfterValidator(_date)]
Nip = Annotated[str, Field(pattern=_NIP_RE.pattern)]


class Pemohon(Strict):
    """The requester: who asked, so the commit and the reviewer can cite them."""

    nama: TicketText
    jabatan: TicketText | None = None
    nip: Nip | None = Field(None, description="18-digit civil-servant number")
    email: Email | None = None
    telepon: Phone | None = None


class Backup(Strict):
    """A new VM's own backup policy; left out, its classification's minimum applies."""

    jadwal: Literal["hourly", "daily", "weekly", "none"] | None = None
    retensi_hari: int | None = Field(None, ge=0, le=3650)


class VmBaru(Strict):
    """A new VM. Infrastructure roles (nvr, vpn-hub, monitoring) are not requestable."""

    nama: Name
    keterangan: TicketText | None = None
    peran: Literal["app", "db", "web", "file"] = "app"
    vcpu: int = Field(ge=1, le=128)
    memori_gb: int = Field(ge=1, le=1024)
    disk_gb: int = Field(ge=4, le=65536)
    image: Literal["debian-12", "ubuntu-24.04", "rocky-9"] = "debian-12"
    klasifikasi: Classification | None = Field(None, description="Defaults to the OPD's")
    paparan: Literal["internal", "public"] = "internal"
    backup: Backup | None = None


class UbahVm(Strict):
    """Resize an existing VM; only the sizes named change, disks only grow."""

    nama: Name
    vcpu: int | None = Field(None, ge=1, le=128)
    memori_gb: int | None = Field(None, ge=1, le=1024)
    disk_gb: int | None = Field(None, ge=4, le=65536)

    @model_validator(mode="after")
    def _something(self) -> UbahVm:
        if self.vcpu is None and self.memori_gb is None and self.disk_gb is None:
            raise ValueError(_("name at least one of vcpu, memori_gb, disk_gb"))
        return self


class KantorVpn(Strict):
    """A remote office (puskesmas, kecamatan) joined as a VPN spoke."""

    nama: Name
    lokasi: TicketText
    router: Literal["linux", "mikrotik"]
    alamat_wan: IPv4


class Kamera(Strict):
    nama: Name
    lokasi: TicketText
    port: SwitchPort
    kredensial: TicketCredential
    resolusi: str = Field("1920x1080", pattern=r"^[0-9]{2,5}x[0-9]{2,5}$")
    bitrate_kbps: int = Field(ge=64, le=50_000)
    retensi_hari: int = Field(ge=1, le=365)
    rtsp_path: RtspPath | None = None


class KameraBaru(Strict):
    """One or more cameras; a request names each camera and its switch port."""

    kamera: list[Kamera] = Field(min_length=1, max_length=16)

    @model_validator(mode="after")
    def _unique(self) -> KameraBaru:
        names = [k.nama for k in self.kamera]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(
                _("camera names repeat within the ticket: {names}").format(names=", ".join(dup))
            )
        ports = [k.port for k in self.kamera]
        dupp = sorted({p for p in ports if ports.count(p) > 1})
        if dupp:
            raise ValueError(
                _("switch ports repeat within the ticket: {ports}").format(ports=", ".join(dupp))
            )
        return self


class BackupVm(Strict):
    """A stricter backup policy for an existing VM (issue 18); never a weaker one."""

    nama: Name
    jadwal: Literal["hourly", "daily", "weekly"] | None = Field(
        None, description="Back up at least this often"
    )
    retensi_hari: int | None = Field(None, ge=1, le=3650, description="Keep backups this long")
    salinan: int | None = Field(None, ge=1, le=2, description="Copies: 2 adds the off-site one")
    luar_lokasi: bool | None = Field(None, description="true: also an off-site copy")

    @model_validator(mode="after")
    def _something(self) -> BackupVm:
        if (self.jadwal, self.retensi_hari, self.salinan, self.luar_lokasi) == (None,) * 4:
            raise ValueError(_("name at least one of jadwal, retensi_hari, salinan, luar_lokasi"))
        if self.luar_lokasi and self.salinan == 1:
            raise ValueError(
                _("an off-site copy is a second copy: luar_lokasi: true needs salinan: 2")
            )
        return self


class WifiBaru(Strict):
    """Wi-Fi in one of the OPD's buildings (issue 20), on an access point Diskominfo put
    there (a site AP on the building's switch). The OPD's SSID lands on its staff LAN;
    its passphrase is a reference to the OPD's own secret, never the passphrase."""

    gedung: Name = Field(description="The OPD's building (buildings[].name)")
    access_point: Name = Field(description="The site's access point installed there")
    ssid: Ssid | None = Field(None, description="Default: the OPD code in capitals")
    keamanan: Literal["wpa2", "wpa3", "wpa2-wpa3"] = "wpa2"
    kata_sandi: TicketCredential | None = Field(
        None, description="A wifi_passphrase the OPD declared; default: the one it declared"
    )
    tamu: bool = Field(False, description="Also broadcast the site's guest SSID")


class Hapus(Strict):
    """Decommission one VM, office or camera; a reason is mandatory for the record."""

    objek: Literal["vm", "kantor", "kamera"]
    nama: Name
    alasan: TicketText


class _Ticket(Strict):
    nomor_tiket: TicketNo
    judul: TicketText
    opd: Name
    pemohon: Pemohon
    tanggal: Date | None = None
    diterima: DateTime | None = Field(
        None, description="When the helpdesk received it: ISO 8601 with offset (service levels)"
    )
    dijawab: DateTime | None = Field(
        None, description="When the requester was first answered, if the helpdesk recorded it"
    )
    catatan: TicketText | None = None


class TiketVmBaru(_Ticket):
    jenis: Literal["vm_baru"]
    permintaan: VmBaru


class TiketUbahVm(_Ticket):
    jenis: Literal["ubah_vm"]
    permintaan: UbahVm


class TiketKantorVpn(_Ticket):
    jenis: Literal["kantor_vpn"]
    permintaan: KantorVpn


class TiketKameraBaru(_Ticket):
    jenis: Literal["kamera_baru"]
    permintaan: KameraBaru


class TiketWifiBaru(_Ticket):
    jenis: Literal["wifi_baru"]
    permintaan: WifiBaru


class TiketHapus(_Ticket):
    jenis: Literal["hapus"]
    permintaan: Hapus


class TiketBackupVm(_Ticket):
    jenis: Literal["backup_vm"]
    permintaan: BackupVm


Ticket = Annotated[
    TiketVmBaru
    | TiketUbahVm
    | TiketKantorVpn
    | TiketKameraBaru
    | TiketWifiBaru
    | TiketHapus
    | TiketBackupVm,
    Field(discriminator="jenis"),
]
TICKET_ADAPTER: TypeAdapter[Any] = TypeAdapter(Ticket)

# Spec field -> ticket field, to name the ticket field when the spec refuses a value.
VM_FIELDS = {
    "name": "nama",
    "description": "keterangan",
    "role": "peran",
    "vcpu": "vcpu",
    "memory_gb": "memori_gb",
    "disk_gb": "disk_gb",
    "image": "image",
    "classification": "klasifikasi",
    "exposure": "paparan",
    "backup": "backup",
    "address": "nama",
}
#: Spec backup field -> backup_vm ticket field.
BACKUP_FIELDS = {
    "schedule": "jadwal",
    "retention_days": "retensi_hari",
    "copies": "salinan",
    "offsite": "luar_lokasi",
}
OFFICE_FIELDS = {
    "name": "nama",
    "location": "lokasi",
    "router": "router",
    "wan_address": "alamat_wan",
    "lan_prefix": "nama",
    "tunnel_address": "nama",
}
CAMERA_FIELDS = {
    "name": "nama",
    "location": "lokasi",
    "port": "port",
    "credential": "kredensial",
    "resolution": "resolusi",
    "bitrate_kbps": "bitrate_kbps",
    "retention_days": "retensi_hari",
    "rtsp_path": "rtsp_path",
    "address": "nama",
}
