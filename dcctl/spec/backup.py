"""Backups in the spec: the Site's repositories and per-classification minimums, a VM's own policy.

Why it is shaped this way (issue 18):

* The Site names where backups go (``backup.vm``: the backup VM in the data center that
  holds one restic repository per OPD, reached over SFTP; ``backup.offsite_vm``: a second
  backup VM in another building for the off-site copy; ``proxmox_storage`` /
  ``proxmox_offsite_storage``: the Proxmox VE storages, e.g. a Proxmox Backup Server, that
  production's vzdump jobs write to) and the *minimum* policy of each classification.
* A VM's own ``backup`` may only tighten its class's minimum: every field it leaves out
  is the class's, every field it sets must be at least as strict. :func:`weaker` is the one
  home of that rule; ``dcctl validate`` and tickets both ask it, so the refusal names the
  same rule everywhere.
* The effective policy (:func:`effective`) is plain data the plan shows, the Proxmox
  program schedules and the restic role runs; the backup VMs themselves are not backed up
  into themselves (their repositories are the backups; the off-site copy is the second).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from dcctl.i18n import N_, _
from dcctl.spec.types import Strict

Schedule = Literal["hourly", "daily", "weekly", "none"]

#: How strict each schedule is: a higher rank backs up more often.
SCHEDULE_RANK: dict[str, int] = {"none": 0, "weekly": 1, "daily": 2, "hourly": 3}
#: Seconds between two backups of a schedule (``none`` has no interval).
INTERVAL_S: dict[str, int] = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400}

_VM_REF = r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$"
#: Proxmox VE storage IDs: a letter, then letters, digits, '-', '_' and '.'.
_STORAGE_ID = r"^[a-z][a-z0-9._-]{0,62}[a-z0-9]$"


#: What every backed-up VM keeps (its configuration, homes, served files, Debian's own
#: dumps); a VM's ``backup.paths`` adds its application's data (a database's directory).
DEFAULT_PATHS: tuple[str, ...] = ("/etc", "/home", "/root", "/srv", "/var/backups")
#: Kernel and runtime trees: nothing to keep, and reading them hangs or floods a backup.
_NOT_DATA = ("/proc", "/sys", "/dev", "/run", "/tmp")
#: An absolute path of plain segments: no '..', no glob or shell characters, no spaces.
_DATA_PATH_RE = re.compile(r"^(/[A-Za-z0-9_][A-Za-z0-9._@+-]{0,63}){1,16}$")


def _data_path(v: str) -> str:
    if not _DATA_PATH_RE.fullmatch(v) or "/.." in v or "/./" in f"{v}/":
        raise ValueError(
            _(
                "must be an absolute path of plain names, like /var/lib/postgresql (letters, "
                "digits, . _ @ + -; no '..', spaces or wildcards)"
            )
        )
    if any(v == top or v.startswith(f"{top}/") for top in _NOT_DATA):
        raise ValueError(
            _("{path} is a kernel or runtime tree, not data").format(path=v.split("/")[1])
        )
    return v


DataPath = Annotated[str, AfterValidator(_data_path)]


class Backup(Strict):
    """A VM's own backup policy; every field left out is its classification's minimum."""

    paths: list[DataPath] | None = Field(
        None,
        max_length=32,
        description="Data paths backed up beyond the defaults (/etc, /home, /root, /srv, "
        "/var/backups), e.g. /var/lib/postgresql",
    )

    schedule: Schedule | None = Field(
        None, description="hourly, daily, weekly or none; at least the class's minimum"
    )
    retention_days: int | None = Field(
        None, ge=0, le=3650, description="Days backups are kept; at least the class's minimum"
    )
    copies: int | None = Field(
        None, ge=1, le=2, description="Repositories holding the backups (2: also off-site)"
    )
    offsite: bool | None = Field(None, description="Also copied to the off-site repository")

    @model_validator(mode="after")
    def _offsite_is_a_copy(self) -> Backup:
        if self.offsite and self.copies == 1:
            raise ValueError(_("an off-site copy is a second copy: offsite: true needs copies: 2"))
        return self


class ClassPolicy(Strict):
    """The minimum backup policy of one classification."""

    schedule: Schedule = Field(description="Backups at least this often")
    retention_days: int = Field(ge=0, le=3650, description="Kept at least this many days")
    copies: int = Field(1, ge=1, le=2, description="Repositories: 1 (primary) or 2 (+ off-site)")
    offsite: bool = Field(False, description="One copy off-site (the Site's backup.offsite_vm)")
    encrypted: bool = Field(True, description="Repositories encrypted (rahasia: always)")

    @model_validator(mode="after")
    def _consistent(self) -> ClassPolicy:
        if self.offsite and self.copies < 2:
            raise ValueError(_("an off-site copy is a second copy: offsite: true needs copies: 2"))
        if self.schedule == "none" and (self.copies > 1 or self.offsite):
            raise ValueError(_("schedule none makes no backups, so no copies either"))
        return self


class Policies(Strict):
    """The minimum per classification (publik, terbatas, rahasia)."""

    publik: ClassPolicy
    terbatas: ClassPolicy
    rahasia: ClassPolicy

    @model_validator(mode="after")
    def _rahasia_encrypted(self) -> Policies:
        if not self.rahasia.encrypted:
            raise ValueError(_("rahasia data is encrypted always: policy.rahasia.encrypted: true"))
        return self


class SiteBackup(Strict):
    """Where every OPD's backups go, and the minimum policy of each classification."""

    vm: str = Field(
        pattern=_VM_REF,
        description="OPD/VM of the backup VM in the data center: one repository per OPD (SFTP)",
    )
    offsite_vm: str | None = Field(
        None,
        pattern=_VM_REF,
        description="OPD/VM of the second backup VM (another building) for off-site copies",
    )
    proxmox_storage: str | None = Field(
        None,
        pattern=_STORAGE_ID,
        description="Proxmox VE storage ID (e.g. a Proxmox Backup Server) of vzdump jobs",
    )
    proxmox_offsite_storage: str | None = Field(
        None,
        pattern=_STORAGE_ID,
        description="Proxmox VE storage ID of the off-site vzdump copy (classes with copies: 2)",
    )
    drill_every_days: int = Field(
        30, ge=1, le=366, description="A restore drill of each VM at least this often"
    )
    stale_after_factor: float = Field(
        2.0,
        ge=1.0,
        le=10.0,
        description="BackupStale fires when the last backup is older than this many intervals",
    )
    stale_after_s: int | None = Field(
        None,
        ge=60,
        le=366 * 86400,
        description="BackupStale after this many seconds for every VM, instead of the factor "
        "(a short window for a rehearsal in the lab)",
    )
    policy: Policies

    @model_validator(mode="after")
    def _two_places(self) -> SiteBackup:
        if self.offsite_vm is not None and self.offsite_vm == self.vm:
            raise ValueError(_("offsite_vm must be another VM than vm (an off-site copy)"))
        if (
            self.proxmox_offsite_storage is not None
            and self.proxmox_offsite_storage == self.proxmox_storage
        ):
            raise ValueError(
                _("proxmox_offsite_storage must be another storage than proxmox_storage")
            )
        return self

    def service_vms(self) -> list[str]:
        """The backup VMs themselves (their repositories are the backups)."""
        return [v for v in (self.vm, self.offsite_vm) if v is not None]


@dataclass(frozen=True)
class Effective:
    """A VM's effective policy: its class's minimum, tightened by its own ``backup``."""

    schedule: str
    retention_days: int
    copies: int
    offsite: bool
    encrypted: bool

    @property
    def active(self) -> bool:
        return self.schedule != "none"

    def to_dict(self) -> dict[str, object]:
        return {
            "schedule": self.schedule,
            "retention_days": self.retention_days,
            "copies": self.copies,
            "offsite": self.offsite,
            "encrypted": self.encrypted,
        }


def data_paths(vm_backup: Backup) -> list[str]:
    """What a VM's backups hold: the defaults, then its own paths not already inside them."""
    out = list(DEFAULT_PATHS)
    for path in vm_backup.paths or ():
        if not any(path == p or path.startswith(f"{p}/") for p in out):
            out.append(path)
    return out


#: What a VM gets when nothing asks for backups (no Site backup section, or a backup VM).
NONE = Effective("none", 0, 0, False, False)


def explicit(vm_backup: Backup) -> bool:
    """Whether a VM's ``backup`` asks for any backup itself (not only ``schedule: none``)."""
    return any(
        v is not None for v in (vm_backup.retention_days, vm_backup.copies, vm_backup.offsite)
    ) or vm_backup.schedule not in (None, "none")


def effective(site: SiteBackup | None, classification: str, vm_backup: Backup) -> Effective:
    """The policy a VM runs under (``NONE`` without a Site backup section).

    Each field the VM sets replaces its class's minimum (validation has refused a weaker
    one); a second copy is also an off-site one: the only second repository is the
    off-site VM's.
    """
    if site is None:
        return NONE
    floor: ClassPolicy = getattr(site.policy, classification)
    schedule = vm_backup.schedule or floor.schedule
    if schedule == "none":
        return NONE
    copies = vm_backup.copies or floor.copies
    offsite = floor.offsite if vm_backup.offsite is None else vm_backup.offsite
    if offsite:
        copies = 2
    return Effective(
        schedule=schedule,
        retention_days=(
            floor.retention_days if vm_backup.retention_days is None else vm_backup.retention_days
        ),
        copies=copies,
        offsite=offsite or copies > 1,
        encrypted=floor.encrypted or classification == "rahasia",
    )


@dataclass(frozen=True)
class Weaker:
    """One field of a VM's policy weaker than its class's minimum, and the rule it breaks."""

    field: str
    message: str


def weaker(floor: ClassPolicy, classification: str, vm_backup: Backup) -> list[Weaker]:
    """Every field ``vm_backup`` sets weaker than the ``classification`` minimum ``floor``.

    The one home of "stricter, never weaker": ``dcctl validate`` places each on the VM's
    field, a ticket refuses the request with the same words.
    """
    asked, floor_of = vm_backup.model_dump(), floor.model_dump()
    below = {
        "schedule": lambda v, f: SCHEDULE_RANK[v] < SCHEDULE_RANK[f],
        "retention_days": lambda v, f: v < f,
        "copies": lambda v, f: v < f,
        "offsite": lambda v, f: v is False and f,
    }
    out: list[Weaker] = []
    for field, value in asked.items():
        if field not in below:
            continue  # paths: more data, never weaker
        if value is None or not below[field](value, floor_of[field]):
            continue
        message = _(
            "{field} {value} is weaker than the {cls} minimum "
            "(site.yaml backup.policy.{cls}): {minimum}"
        ).format(
            field=field,
            value=_word(value),
            cls=classification,
            minimum=_word(floor_of[field]),
        )
        out.append(Weaker(field, message))
    return out


def _word(value: object) -> str:
    """A policy value as the spec writes it (``true``, not ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


#: The hint of every refusal of a weaker policy (a msgid: shown through ``_()``).
WEAKER_HINT = N_("a VM's backup policy may be stricter than its classification's, never weaker")
