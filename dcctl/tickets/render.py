"""Turn a request ticket into a reviewed spec change, or say exactly why not.

The order is fixed so that nothing is ever half-done: read and validate the
ticket; check the repo (clean, ticket not yet rendered); load the current spec;
apply the ticket's policy; edit the OPD file in a temporary copy of the spec
repo; validate the whole copy (quota, classification, ports, IPAM) and update
its IPAM lock; only then put the changed files on a branch (or, with
--no-branch, into the working tree). Every failure before the last step leaves
the repo exactly as it was.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcctl.files import Layout, atomic_write, read_layout
from dcctl.i18n import _
from dcctl.plan.desired import desired_state
from dcctl.plan.diff import Change, diff_states
from dcctl.spec.compute import DISK_SHRINK_HINT, disk_shrink
from dcctl.spec.credentials import declared
from dcctl.spec.errors import SpecError, SpecErrors
from dcctl.spec.ipam import LOCK_FILE
from dcctl.spec.loader import STATE_DIR, Spec, load_spec
from dcctl.spec.tenancy import Contact, Opd
from dcctl.spec.types import CLASSIFICATION_RANK
from dcctl.tickets import edit
from dcctl.tickets.errors import Refusal, TicketRefused, refuse
from dcctl.tickets.gitops import GitError, Repo, commit_branch, preflight
from dcctl.tickets.models import (
    BACKUP_FIELDS,
    CAMERA_FIELDS,
    OFFICE_FIELDS,
    VM_FIELDS,
    BackupVm,
    Hapus,
    KameraBaru,
    KantorVpn,
    UbahVm,
    VmBaru,
    WifiBaru,
)
from dcctl.tickets.parse import load_ticket

_LIST_OF = {"vm": "vms", "kantor": "offices", "kamera": "cameras"}
_QUOTA_FIELD = {
    "vcpu": "permintaan.vcpu",
    "memory_gb": "permintaan.memori_gb",
    "disk_gb": "permintaan.disk_gb",
    "vms": "permintaan",
    "cameras": "permintaan.kamera",
}
_ITEM_RE = re.compile(r"^(vms|offices|cameras)\[(\d+)\](?:\.([a-z_]+))?")


@dataclass
class Rendered:
    """A fulfilled ticket: which files changed how, what the plan will do, where it went."""

    ticket: Any
    opd_file: str
    files: dict[str, tuple[str | None, str]]  # spec-relative path -> (old, new)
    changes: list[Change]
    branch: str | None = None
    commit: str | None = None
    written: list[str] = field(default_factory=list)
    # spec-relative path -> its line endings/BOM on disk; `files` holds LF text
    layouts: dict[str, Layout] = field(default_factory=dict)

    def on_disk(self, rel: str) -> str:
        """The new text of `rel` as written: in the file's own line endings (CRLF stays CRLF)."""
        return self.layouts.get(rel, Layout()).apply(self.files[rel][1])

    def diff(self) -> str:
        """Unified diff of every changed file, as `git diff` would show it."""
        out: list[str] = []
        for rel, (old, new) in self.files.items():
            out += difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                new.splitlines(keepends=True),
                f"a/{rel}" if old is not None else "/dev/null",
                f"b/{rel}",
            )
        return "".join(out)

    def to_dict(self) -> dict[str, Any]:
        t = self.ticket
        return {
            "ok": True,
            "ticket": t.nomor_tiket,
            "kind": t.jenis,
            "opd": t.opd,
            "title": t.judul,
            "requester": t.pemohon.nama,
            "branch": self.branch,
            "commit": self.commit,
            "files": list(self.files),
            "written": self.written,
            "diff": self.diff(),
            "plan": [c.to_dict() for c in self.changes],
        }


def branch_name(ticket: Any) -> str:
    return f"ticket/{ticket.nomor_tiket}"


def render_ticket(ticket_path: Path, repo: Path, branch: bool = True) -> Rendered:
    """Render `ticket_path` against the spec repo at `repo`; raise TicketRefused if impossible."""
    ticket = load_ticket(ticket_path)
    try:
        return _render(ticket, repo, branch)
    except TicketRefused as exc:
        exc.ticket = exc.ticket or ticket.nomor_tiket
        raise
    except GitError as exc:
        raise TicketRefused([Refusal("repo", str(exc))], ticket.nomor_tiket) from None


def _render(ticket: Any, repo: Path, branch: bool) -> Rendered:
    root = repo.resolve()
    if not root.is_dir():
        raise refuse("repo", _("{repo} is not a spec repo directory").format(repo=repo))
    git_repo: Repo | None = preflight(root, branch_name(ticket)) if branch else None
    try:
        before = load_spec(root)
    except SpecErrors as exc:
        first = exc.errors[0] if exc.errors else "unknown"
        raise refuse(
            "repo",
            _("the spec repo does not validate ({n} errors; first: {first})").format(
                n=len(exc.errors), first=first
            ),
            _("fix it first (dcctl validate); a ticket is rendered onto a valid spec"),
        ) from None
    opd = before.opds.get(ticket.opd)
    if opd is None:
        raise refuse(
            "opd",
            _("unknown OPD {opd!r}").format(opd=ticket.opd),
            _("known: {names}").format(names=", ".join(before.opds)),
        )
    contact = requester_contact(ticket, opd)
    opd_file = before.sources[f"opd/{ticket.opd}"].file
    # LF text for the YAML round trip; written back in the file's own line endings.
    old_text, opd_layout = read_layout(root / opd_file)
    new_text, new_items = _edit(ticket, before, opd, old_text, opd_file)
    with tempfile.TemporaryDirectory(prefix="dcctl-ticket-") as tmp:
        copy = Path(tmp) / "spec"
        shutil.copytree(root, copy, symlinks=True, ignore=_ignore(root, before.skipped))
        # Never through a link: an opd/*.yaml symlink would carry the edit out of the copy.
        atomic_write(copy / opd_file, opd_layout.apply(new_text), root=copy)
        try:
            after = load_spec(copy)
        except SpecErrors as exc:
            raise TicketRefused(_map_errors(exc.errors, ticket, opd_file, new_items)) from None
        after.allocation.lock().write(copy)
        after = load_spec(copy)  # the lock as written must load and be current
        files: dict[str, tuple[str | None, str]] = {opd_file: (old_text, new_text)}
        layouts = {opd_file: opd_layout}
        lock_new, layouts[LOCK_FILE] = read_layout(copy / LOCK_FILE)
        lock_old = read_layout(root / LOCK_FILE)[0] if (root / LOCK_FILE).exists() else None
        if lock_new != lock_old:
            files[LOCK_FILE] = (lock_old, lock_new)
    changes = diff_states(desired_state(before), desired_state(after))
    result = Rendered(ticket, opd_file, files, changes, layouts=layouts)
    if git_repo is not None:
        result.commit = commit_branch(
            git_repo,
            {rel: result.on_disk(rel).encode() for rel in files},
            _message(ticket, opd, contact),
        )
        result.branch = git_repo.branch
    else:
        _write_in_place(root, result)
        result.written = list(files)
    return result


def _ignore(root: Path, skipped: dict[str, str]) -> Any:
    """The temp copy needs the specs and the lock, not Git objects or apply state.

    YAML files the spec skipped (git-ignored scratch files, tickets) stay out too: the
    copy has no .git to ignore them by, and the lock written from it must describe
    exactly the spec that is committed.
    """

    def ignore(directory: str, names: list[str]) -> set[str]:
        rel_dir = Path(directory).relative_to(root)
        out = {n for n in names if (rel_dir / n).as_posix() in skipped or n == ".git"}
        if Path(directory) == root:
            out |= {n for n in names if n.startswith(".") or n == STATE_DIR}
        return out

    return ignore


def _write_in_place(root: Path, result: Rendered) -> None:
    """--no-branch: replace each file atomically; the OPD file goes last, after the lock."""
    for rel in sorted(result.files, key=lambda r: r != LOCK_FILE):
        atomic_write(root / rel, result.on_disk(rel), root=root)


def _digits(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return "62" + digits[1:] if digits.startswith("0") else digits  # 0286 ... == +62 286 ...


def requester_contact(ticket: Any, opd: Opd) -> Contact:
    """The contact of `opd` the requester is, by e-mail or phone; refused if none.

    A name is typed by whoever fills the form, so it identifies no one: the
    requester's e-mail or phone must be one the OPD's own file lists under
    `contacts` (reviewed like any spec change). Otherwise a dinkes employee could
    file as disdukcapil, and the commit trailer would present them as its staff.
    """
    p = ticket.pemohon
    for c in opd.contacts:
        if p.email and c.email and p.email.lower() == c.email.lower():
            return c
        if p.telepon and c.phone and _digits(p.telepon) == _digits(c.phone):
            return c
    if not (p.email or p.telepon):
        raise refuse(
            "pemohon",
            _(
                "the requester gives no e-mail or phone, so cannot be checked against "
                "{opd}'s contacts"
            ).format(opd=opd.code),
            _("add pemohon.email (or telepon) as listed under contacts in the OPD's file"),
        )
    given = p.email or p.telepon
    raise refuse(
        "pemohon.email" if p.email else "pemohon.telepon",
        _(
            "{given} is not a contact of {opd}; only an OPD's listed contacts may file its tickets"
        ).format(given=given, opd=opd.code),
        _(
            "file it from an address listed under contacts in {opd}'s file, or ask the "
            "infra team to add the requester there"
        ).format(opd=opd.code),
    )


def _message(ticket: Any, opd: Opd, contact: Contact) -> str:
    """Commit message citing ticket number, title and requester (all validated text).

    The trailer names the OPD contact the requester was matched to (with the
    contact's own address from the spec), so it says no more than was checked.
    """
    p = ticket.pemohon
    who = p.nama + (f" ({p.jabatan})" if p.jabatan else "") + f", {opd.name}"
    who += f" <{contact.email}>" if contact.email else f" (tel. {contact.phone})"
    verified = f"{contact.name} ({contact.role}) of {opd.code}"
    lines = [
        f"ticket {ticket.nomor_tiket}: {ticket.judul}",
        "",
        f"{ticket.jenis} for {ticket.opd}: {_summary(ticket)}",
    ]
    if ticket.catatan:
        lines += ["", ticket.catatan]
    lines += [
        "",
        f"Ticket: {ticket.nomor_tiket}",
        f"Requested-by: {who}",
        f"Requester-verified-as: {verified}",
    ]
    if ticket.tanggal:
        lines.append(f"Requested-on: {ticket.tanggal}")
    lines.append("Rendered-by: dcctl ticket render")
    return "\n".join(lines) + "\n"


def _summary(ticket: Any) -> str:
    r = ticket.permintaan
    if isinstance(r, VmBaru):
        return f"new VM {r.nama} ({r.vcpu} vCPU, {r.memori_gb} GB memory, {r.disk_gb} GB disk)"
    if isinstance(r, UbahVm):
        sizes = [
            f"{label} {v}"
            for label, v in (("vCPU", r.vcpu), ("memory GB", r.memori_gb), ("disk GB", r.disk_gb))
            if v is not None
        ]
        return f"resize VM {r.nama} to " + ", ".join(sizes)
    if isinstance(r, KantorVpn):
        return f"join office {r.nama} ({r.lokasi}) to the VPN"
    if isinstance(r, KameraBaru):
        return f"{len(r.kamera)} new camera(s): " + ", ".join(k.nama for k in r.kamera)
    if isinstance(r, BackupVm):
        asked = [
            f"{label} {v}"
            for label, v in (
                ("schedule", r.jadwal),
                ("retention days", r.retensi_hari),
                ("copies", r.salinan),
                ("off-site", r.luar_lokasi),
            )
            if v is not None
        ]
        return f"stricter backup policy for VM {r.nama}: " + ", ".join(asked)
    if isinstance(r, WifiBaru):
        return f"Wi-Fi in building {r.gedung} on access point {r.access_point}"
    assert isinstance(r, Hapus)
    return f"decommission {r.objek} {r.nama} ({r.alasan})"


def _names(items: list[Any]) -> str:
    names = [i.name for i in items]
    return "known: " + (", ".join(names) if names else "none")


def _edit(ticket: Any, spec: Spec, opd: Opd, text: str, display: str) -> tuple[str, dict[int, str]]:
    """Apply the ticket's policy, then edit the text; returns new text and index->ticket path."""
    r = ticket.permintaan
    code = opd.code
    if isinstance(r, VmBaru):
        if any(v.name == r.nama for v in opd.vms):
            raise refuse(
                "permintaan.nama",
                _("VM {code}/{name} already exists").format(code=code, name=r.nama),
                _("pick another name, or use jenis: ubah_vm to resize it"),
            )
        cls = r.klasifikasi or opd.classification
        if CLASSIFICATION_RANK[cls] < CLASSIFICATION_RANK[opd.classification]:
            raise refuse(
                "permintaan.klasifikasi",
                _("{cls} is below {code}'s classification {opd_cls}").format(
                    cls=cls, code=code, opd_cls=opd.classification
                ),
                _("a ticket cannot lower a classification; that needs a data review"),
            )
        if cls == "rahasia" and r.paparan == "public":
            raise refuse(
                "permintaan.paparan",
                _("a rahasia VM cannot be public ({code} data is {cls})").format(
                    code=code, cls=opd.classification
                ),
                _("request paparan: internal; offices reach it over the VPN"),
            )
        vm: dict[str, Any] = {
            "name": r.nama,
            "description": r.keterangan,
            "role": r.peran,
            "vcpu": r.vcpu,
            "memory_gb": r.memori_gb,
            "disk_gb": r.disk_gb,
            "image": r.image,
            "classification": r.klasifikasi,
            "exposure": r.paparan,
            "backup": (
                {
                    k: v
                    for k, v in (
                        ("schedule", r.backup.jadwal),
                        ("retention_days", r.backup.retensi_hari),
                    )
                    if v is not None
                }
                if r.backup
                else None
            ),
        }
        item = edit.render_item("vm.yaml.j2", vm=vm)
        new = edit.add_items(text, display, "vms", [item])
        return new, {len(opd.vms): "permintaan"}
    if isinstance(r, UbahVm):
        vm_obj = next((v for v in opd.vms if v.name == r.nama), None)
        if vm_obj is None:
            raise refuse(
                "permintaan.nama",
                _("{code} has no VM {name!r}").format(code=code, name=r.nama),
                _names(opd.vms),
            )
        shrink = disk_shrink(r.disk_gb, vm_obj.disk_gb) if r.disk_gb is not None else None
        if shrink is not None:
            raise refuse("permintaan.disk_gb", shrink, _(DISK_SHRINK_HINT))
        values = {
            k: v
            for k, v in (("vcpu", r.vcpu), ("memory_gb", r.memori_gb), ("disk_gb", r.disk_gb))
            if v is not None and v != getattr(vm_obj, k)
        }
        if not values:
            raise refuse(
                "permintaan",
                _("VM {code}/{name} already has these sizes").format(code=code, name=r.nama),
            )
        new = edit.set_values(text, display, "vms", r.nama, values)
        idx = opd.vms.index(vm_obj)
        return new, {idx: "permintaan"}
    if isinstance(r, BackupVm):
        return _stricter_backup(r, spec, opd, text, display)
    if isinstance(r, KantorVpn):
        if any(o.name == r.nama for o in opd.offices):
            raise refuse(
                "permintaan.nama",
                _("office {code}/{name} already exists").format(code=code, name=r.nama),
            )
        office = {
            "name": r.nama,
            "location": r.lokasi,
            "router": r.router,
            "wan_address": r.alamat_wan,
        }
        item = edit.render_item("office.yaml.j2", office=office)
        new = edit.add_items(text, display, "offices", [item])
        return new, {len(opd.offices): "permintaan"}
    if isinstance(r, KameraBaru):
        items = []
        for j, k in enumerate(r.kamera):
            if any(c.name == k.nama for c in opd.cameras):
                raise refuse(
                    f"permintaan.kamera[{j}].nama",
                    _("camera {code}/{name} exists").format(code=code, name=k.nama),
                )
            # Only a camera credential the OPD's registry declares (reviewed when it
            # was added): never the switches', the passphrase or a state file (the
            # RTSP URL would carry that secret); a ticket never declares one.
            own = declared(opd, "camera")
            if k.kredensial not in own:
                raise refuse(
                    f"permintaan.kamera[{j}].kredensial",
                    _("{ref} is not one of {code}'s credentials: {why}").format(
                        ref=k.kredensial,
                        code=code,
                        why=_("not a camera credential of {code}'s registry ({file})").format(
                            code=code, file=f"opd/{code}.yaml"
                        ),
                    ),
                    _("use {code}'s camera credential, e.g. ").format(code=code)
                    + (
                        own[0]
                        if own
                        else _("one the infra team declares in {file}").format(
                            file=f"opd/{code}.yaml"
                        )
                    ),
                )
            cam = {
                "name": k.nama,
                "location": k.lokasi,
                "port": k.port,
                "rtsp_path": k.rtsp_path,
                "credential": k.kredensial,
                "resolution": k.resolusi,
                "bitrate_kbps": k.bitrate_kbps,
                "retention_days": k.retensi_hari,
            }
            items.append(edit.render_item("camera.yaml.j2", cam=cam))
        new = edit.add_items(text, display, "cameras", items)
        n = len(opd.cameras)
        return new, {n + j: f"permintaan.kamera[{j}]" for j in range(len(items))}
    if isinstance(r, WifiBaru):
        return _edit_wifi(r, spec, opd, text, display), {}
    assert isinstance(r, Hapus)
    key = _LIST_OF[r.objek]
    present = getattr(opd, key)
    if not any(i.name == r.nama for i in present):
        raise refuse(
            "permintaan.nama",
            _("{code} has no {kind} {name!r}").format(code=code, kind=r.objek, name=r.nama),
            _names(present),
        )
    if r.objek == "vm":
        ref = f"{code}/{r.nama}"
        site = spec.site
        for what, holder in (
            (_("VPN hub (vpn.vm)"), site.vpn.vm if site.vpn else None),
            (
                _("monitoring server (monitoring.vm)"),
                site.monitoring.vm if site.monitoring else None,
            ),
            (_("CCTV recorder (cctv.nvr_vm)"), site.cctv.nvr_vm if site.cctv else None),
        ):
            if holder == ref:
                raise refuse(
                    "permintaan.nama",
                    _("VM {ref} is the site's {what}").format(ref=ref, what=what),
                    _("shared infrastructure is changed in site.yaml by the infra team"),
                )
    return edit.remove_item(text, display, key, r.nama), {}


def _stricter_backup(
    r: BackupVm, spec: Spec, opd: Opd, text: str, display: str
) -> tuple[str, dict[int, str]]:
    """A VM's backup policy tightened as asked; refused if any field would be weaker.

    Weaker than the classification's minimum is refused naming that rule (the same
    words as ``dcctl validate``); weaker than the VM's policy today is refused too: a
    ticket only tightens, loosening a VM's own stricter policy is the infra team's.
    """
    from dcctl.spec.backup import WEAKER_HINT, Backup, ClassPolicy, effective, weaker

    code = opd.code
    vm = next((v for v in opd.vms if v.name == r.nama), None)
    if vm is None:
        raise refuse(
            "permintaan.nama",
            _("{code} has no VM {name!r}").format(code=code, name=r.nama),
            _names(opd.vms),
        )
    conf = spec.site.backup
    ref = f"{code}/{r.nama}"
    if conf is None:
        raise refuse(
            "permintaan",
            _("the site names no backup repository (backup in site.yaml)"),
            _("the infra team sets up the backup VM first"),
        )
    if ref in conf.service_vms():
        raise refuse(
            "permintaan.nama",
            _("VM {ref} is the site's backup VM").format(ref=ref),
            _("shared infrastructure is changed in site.yaml by the infra team"),
        )
    cls = vm.classification or opd.classification
    asked = Backup(
        schedule=r.jadwal,
        retention_days=r.retensi_hari,
        copies=r.salinan,
        offsite=r.luar_lokasi,
    )
    today = effective(conf, cls, vm.backup)
    for floor, rule in (
        (getattr(conf.policy, cls), _(WEAKER_HINT)),
        (
            ClassPolicy(
                schedule=today.schedule,  # type: ignore[arg-type]
                retention_days=today.retention_days,
                copies=max(1, today.copies),
                offsite=today.offsite,
            ),
            _("a ticket only tightens a VM's backup policy; loosening it is the infra team's"),
        ),
    ):
        bad = weaker(floor, cls, asked)
        if bad:
            message = bad[0].message
            if rule != _(WEAKER_HINT):
                message = _("{field} is weaker than VM {ref}'s policy today").format(
                    field=bad[0].field, ref=ref
                )
            raise refuse(f"permintaan.{BACKUP_FIELDS[bad[0].field]}", message, rule)
    policy = {k: v for k, v in vm.backup.model_dump().items() if v is not None}
    policy.update(asked.model_dump(exclude_none=True))
    if asked.offsite:
        policy["copies"] = 2
    if effective(conf, cls, Backup(**policy)) == today:
        raise refuse(
            "permintaan",
            _("VM {ref} already has this backup policy").format(ref=ref),
        )
    order = ("schedule", "retention_days", "copies", "offsite", "paths")  # paths kept as is
    new = edit.set_mapping(
        text, display, "vms", r.nama, "backup", {k: policy[k] for k in order if k in policy}
    )
    return new, {opd.vms.index(vm): "permintaan"}


def _edit_wifi(r: WifiBaru, spec: Spec, opd: Opd, text: str, display: str) -> str:
    """Wi-Fi in a building: the AP must be the site's, on that building's switch, free.

    The rest (the AP's owner, WPA3 on its model, a guest network the site has, SSIDs
    unique) is the spec's validation of the edited copy, mapped back to the ticket.
    """
    code = opd.code
    building = next((b for b in opd.buildings if b.name == r.gedung), None)
    if building is None:
        raise refuse(
            "permintaan.gedung",
            _("{code} has no building {name}").format(code=code, name=repr(r.gedung)),
            _names(opd.buildings),
        )
    placed = {ap for o in spec.opds.values() for b in o.buildings for ap in b.access_points}
    free = sorted(
        s.name
        for s in spec.site.switches
        if s.role == "ap" and s.name not in placed and s.owner in (None, code)
    )
    ap = next((s for s in spec.site.switches if s.name == r.access_point), None)
    if ap is None or ap.role != "ap":
        raise refuse(
            "permintaan.access_point",
            _("{name} is not an access point of the site").format(name=repr(r.access_point)),
            _("free access points: {names}").format(names=", ".join(free))
            if free
            else _("none is free: ask Diskominfo to install one (site.yaml, role: ap)"),
        )
    if r.access_point in placed:
        raise refuse(
            "permintaan.access_point",
            _("access point {name} already serves a building").format(name=r.access_point),
        )
    # Only a Wi-Fi passphrase the OPD's registry declares (reviewed when it was added);
    # a ticket never declares one, and never names the switches' or another OPD's.
    own = declared(opd, "wifi_passphrase")
    ref = r.kata_sandi or (own[0] if len(own) == 1 else None)
    if ref is None or ref not in own:
        raise refuse(
            "permintaan.kata_sandi",
            _("{ref} is not one of {code}'s credentials: {why}").format(
                ref=ref or _("no passphrase"),
                code=code,
                why=_("not a wifi_passphrase of {code}'s registry ({file})").format(
                    code=code, file=f"opd/{code}.yaml"
                ),
            ),
            _("use {code}'s Wi-Fi passphrase: {refs}").format(
                code=code,
                refs=", ".join(own)
                if own
                else _("one the infra team declares in {file} (kind wifi_passphrase)").format(
                    file=f"opd/{code}.yaml"
                ),
            ),
        )
    wifi: dict[str, Any] | None = {
        "ssid": r.ssid or code.upper(),
        "security": r.keamanan,
        "passphrase": ref,
        "guest": r.tamu,
    }
    if opd.wifi is not None:
        have = opd.wifi
        asked = {"ssid": r.ssid, "security": r.keamanan, "passphrase": r.kata_sandi,
                 "guest": r.tamu}  # fmt: skip
        field_of = {"ssid": "ssid", "security": "keamanan", "passphrase": "kata_sandi",
                    "guest": "tamu"}  # fmt: skip
        for key, value in asked.items():
            if value not in (None, getattr(have, key)) and not (key == "guest" and not value):
                raise refuse(
                    f"permintaan.{field_of[key]}",
                    _(
                        "{code}'s Wi-Fi already has {key} {value}; a building joins it as it is"
                    ).format(code=code, key=key, value=getattr(have, key)),
                    _("changing the OPD's Wi-Fi is a separate change by the infra team"),
                )
        wifi = None
    return edit.add_wifi(text, display, wifi, r.gedung, r.access_point)


_WIFI_FIELDS = {"ssid": "ssid", "security": "keamanan", "passphrase": "kata_sandi", "guest": "tamu"}


def _map_errors(
    errors: list[SpecError], ticket: Any, opd_file: str, new_items: dict[int, str]
) -> list[Refusal]:
    """Name the ticket field behind each spec error of the edited copy."""
    kind_fields = {
        "vms": VM_FIELDS,
        "offices": OFFICE_FIELDS,
        "cameras": CAMERA_FIELDS,
    }
    out: list[Refusal] = []
    for e in errors:
        where = "permintaan"
        if e.file == opd_file:
            m = _ITEM_RE.match(e.path)
            if m and int(m[2]) in new_items:
                where = new_items[int(m[2])]
                if m[3]:
                    where += "." + kind_fields[m[1]].get(m[3], m[3])
            elif e.path.startswith("quota."):
                where = _QUOTA_FIELD.get(e.path.split(".")[1], "permintaan")
        elif e.path == "storage.vm_capacity_gb":
            where = "permintaan.disk_gb"
        elif e.path == "storage.recording_capacity_gb":
            where = "permintaan.kamera"
        elif e.path in ("vpn.vm", "monitoring.vm", "cctv.nvr_vm"):
            where = "permintaan.nama"
        if isinstance(ticket.permintaan, WifiBaru) and e.file == opd_file:
            if e.path.startswith("wifi."):
                where = "permintaan." + _WIFI_FIELDS.get(e.path.split(".")[1], "")
            elif "access_points" in e.path:
                where = "permintaan.access_point"
            where = where.rstrip(".")
        out.append(Refusal(where, e.message, e.hint))
    return out
