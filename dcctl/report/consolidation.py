"""Consolidation report: what each OPD uses of its quota, and how far SPBE consolidation is.

The audience is the Kepala Dinas and the Sekda, not engineers: per OPD the VMs,
vCPU/memory/disk against quota, CCTV recording storage, cameras and offices,
and the state of its legacy server room (running, migrating, closed), plus
regency totals. `report()` returns plain data (JSON for pipelines and
dashboards); `render_html()` turns it into one self-contained page (inline CSS
and SVG, no JavaScript, nothing fetched from the network) that can be mailed or
put on an intranet share as a single file.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from dcctl import i18n
from dcctl.files import atomic_write
from dcctl.i18n import N_, _
from dcctl.spec.loader import Spec

TEMPLATES = Path(__file__).parent / "templates"
STATUSES = ("running", "migrating", "closed")
#: A server room's status as people read it (msgids; the data keeps the spec's value).
STATUS_LABELS = {"running": N_("running"), "migrating": N_("migrating"), "closed": N_("closed")}


def status_label(status: str) -> str:
    """``closed`` -> ``closed`` / ``ditutup``: the badge and total-line word."""
    return _(STATUS_LABELS.get(status, status))


# Bar chart geometry (px). Labels left, bars in the middle, values right.
_LABEL_W = 110
_BAR_W = 420
_VALUE_W = 130
_ROW_H = 22
_BAR_H = 14
_TOP = 8


def report(
    spec: Spec,
    requests: dict[str, dict[str, int]] | None = None,
    backups: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Per-OPD usage against quota and consolidation status, with regency totals.

    `requests` (from `dcctl.tickets.status.per_opd`) adds the section on OPD requests and
    their service levels; every OPD of the spec gets a row, zeros where it asked nothing.
    `backups` (from :func:`backup_section`) adds the per-OPD backup section.
    """
    opds: dict[str, dict[str, Any]] = {}
    for code, opd in spec.opds.items():
        q = opd.quota
        opds[code] = {
            "code": code,
            "name": opd.name,
            "sector": opd.sector,
            "classification": opd.classification,
            "vms": len(opd.vms),
            "vms_quota": q.vms,
            "vcpu": sum(v.vcpu for v in opd.vms),
            "vcpu_quota": q.vcpu,
            "memory_gb": sum(v.memory_gb for v in opd.vms),
            "memory_gb_quota": q.memory_gb,
            "disk_gb": sum(v.disk_gb for v in opd.vms),
            "disk_gb_quota": q.disk_gb,
            "recording_gb": round(float(sum(c.storage_gb() for c in opd.cameras)), 1),
            "cameras": len(opd.cameras),
            "cameras_quota": q.cameras,
            "offices": len(opd.offices),
            "server_room": opd.server_room.status,
            "legacy_servers": opd.server_room.servers,
            "note": opd.server_room.note,
        }
    rows = list(opds.values())
    rooms = {s: sum(1 for r in rows if r["server_room"] == s) for s in STATUSES}
    hv = spec.site.hypervisors.nodes
    totals: dict[str, Any] = {
        "opds": len(rows),
        **{
            k: sum(r[k] for r in rows)
            for k in (
                "vms",
                "vcpu",
                "vcpu_quota",
                "memory_gb",
                "memory_gb_quota",
                "disk_gb",
                "disk_gb_quota",
                "cameras",
                "offices",
            )
        },
        "recording_gb": round(sum(r["recording_gb"] for r in rows), 1),
        "server_rooms": rooms,
        # Servers still running outside the data center (closed rooms have none left).
        "legacy_servers": sum(r["legacy_servers"] for r in rows if r["server_room"] != "closed"),
        "consolidated_pct": round(100 * rooms["closed"] / len(rows), 1) if rows else 0.0,
        "site_vcpu": sum(n.vcpu for n in hv),
        "site_memory_gb": sum(n.memory_gb for n in hv),
        "vm_capacity_gb": spec.site.storage.vm_capacity_gb,
        "recording_capacity_gb": spec.site.storage.recording_capacity_gb,
    }
    from dcctl.engines.audit import git_commit

    out: dict[str, Any] = {
        "site": spec.site.name,
        "description": spec.site.description,
        # When and from what: a printed report is compared with last month's.
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "commit": git_commit(spec.root, short=False),
        "opds": opds,
        "totals": totals,
    }
    if requests is not None:
        zero = {"requests": 0, "resolved": 0, "overdue": 0, "answer_met": 0, "resolve_met": 0}
        rows_r = {code: {**zero, **requests.get(code, {})} for code in opds}
        out["requests"] = {
            "service_levels": spec.site.service_levels.model_dump(),
            "opds": rows_r,
            "totals": {k: sum(r[k] for r in rows_r.values()) for k in zero},
        }
    if backups is not None:
        out["backups"] = backups
    return out


#: Per-OPD backup counts that add up to the regency's.
_BACKUP_SUMS = ("vms", "with_policy", "covered", "never", "drills_ok", "drills_failed",
                "drills_missing")  # fmt: skip


def backup_section(
    spec: Spec, target: str = "prod", now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """Per OPD: VMs with a backup policy, how many are covered, the oldest backup, drills.

    From the target's records (:mod:`dcctl.backup.state`; production's by default, the
    report is the regency's), judged as ``dcctl backup status`` judges them. None when
    the Site has no backup section. Raises ``DataFileError`` for an unreadable record file.
    """
    conf = spec.site.backup
    if conf is None:
        return None
    from dcctl.backup.state import load, records_path
    from dcctl.backup.status import backup_status, per_opd
    from dcctl.plan.desired import desired_state

    rows = backup_status(desired_state(spec), load(records_path(spec, target)), now)
    opds = per_opd(rows)
    ages = [o["oldest_age_s"] for o in opds.values() if o["oldest_age_s"] is not None]
    drills = [o["last_drill"] for o in opds.values() if o["last_drill"] is not None]
    totals: dict[str, Any] = {k: sum(o[k] for o in opds.values()) for k in _BACKUP_SUMS}
    totals["oldest_age_s"] = max(ages) if ages else None
    totals["last_drill"] = max(drills) if drills else None
    return {
        "target": target,
        "drill_every_days": conf.drill_every_days,
        "opds": opds,
        "totals": totals,
    }


def age_words(seconds: int | None) -> str:
    """An age in the report's language: ``45 min``, ``5 h``, ``3 d`` (``-``: none)."""
    if seconds is None:
        return "-"
    if seconds < 7200:
        return _("{n} min").format(n=i18n.number(seconds // 60))
    if seconds < 172800:
        return _("{n} h").format(n=i18n.number(seconds // 3600))
    return _("{n} d").format(n=i18n.number(seconds // 86400))


def drill_date(when: str | None) -> str:
    """The last drill's date in words (``-``: never)."""
    if when is None:
        return "-"
    from dcctl.backup.state import parse_time

    return i18n.date(parse_time(when))


_BACKUP_COLUMNS = (
    N_("OPD"),
    N_("VMs with a policy"),
    N_("covered"),
    N_("never backed up"),
    N_("oldest backup"),
    N_("drills ok"),
    N_("drills failed"),
    N_("no drill"),
    N_("last drill"),
)


def _backup_cells(b: dict[str, Any]) -> list[str]:
    return [
        _fmt(b["with_policy"]),
        _of(b["covered"], b["with_policy"]),
        _fmt(b["never"]),
        age_words(b["oldest_age_s"]),
        _fmt(b["drills_ok"]),
        _fmt(b["drills_failed"]),
        _fmt(b["drills_missing"]),
        drill_date(b["last_drill"]),
    ]


def _fmt(v: float) -> str:
    """One number format for table, cards and chart: whole numbers plain, else one decimal.

    In the language in force (id: ``8.550``, ``12,5``), so the chart and the table
    never disagree in rounding or separators.
    """
    return i18n.number(v, 0 if float(v).is_integer() else 1)


def _chart(
    title: str,
    items: list[tuple[str, float, float | None]],
    unit: str,
    note: str = "",
    per_row: bool = False,
) -> dict[str, Any]:
    """Horizontal bars of used (dark) over quota or capacity (light), scaled to the largest.

    ``per_row``: each row is scaled to its own limit (rows of different units, such as
    vCPU next to GB, where one scale would shrink the small ones to nothing).
    Geometry is computed here and only placed by the template, so every label
    goes through Jinja2's autoescaping and the page needs no script to draw.
    """
    overall = max([max(u, q or 0) for _label, u, q in items] + [1])
    rows = []
    for i, (label, used, limit) in enumerate(items):
        top = max(used, limit or 0, 1) if per_row else overall
        y = _TOP + i * _ROW_H
        used_w = round(_BAR_W * used / top, 1)
        limit_w = round(_BAR_W * limit / top, 1) if limit else None
        text = f"{_fmt(used)}" + (f" / {_fmt(limit)}" if limit is not None else "") + f" {unit}"
        rows.append(
            {
                "label": label,
                "y": y,
                "bar_y": y + (_ROW_H - _BAR_H) / 2,
                "text_y": y + _ROW_H / 2 + 4,
                "used_w": used_w,
                "limit_w": limit_w,
                "over": limit is not None and used > limit,
                "text": text.strip(),
                "tooltip": f"{label}: {text.strip()}",
            }
        )
    return {
        "title": title,
        "note": note,
        "width": _LABEL_W + _BAR_W + _VALUE_W,
        "height": _TOP * 2 + _ROW_H * max(len(rows), 1),
        "label_w": _LABEL_W,
        "bar_x": _LABEL_W + 4,
        "value_x": _LABEL_W + _BAR_W + 10,
        "rows": rows,
    }


def _consolidation_chart(opds: list[dict[str, Any]]) -> dict[str, Any]:
    """Legacy servers per OPD coloured by server-room status: what is left to migrate."""
    chart = _chart(
        _("Legacy server rooms: servers outside the data center"),
        [(o["code"], float(o["legacy_servers"]), None) for o in opds],
        _("servers"),
        _("colour: {running} red, {migrating} yellow, {closed} green").format(
            **{s: status_label(s) for s in STATUSES}
        ),
    )
    for row, o in zip(chart["rows"], opds, strict=True):
        row["status"] = o["server_room"]
        row["text"] = f"{_fmt(o['legacy_servers'])} ({status_label(o['server_room'])})"
        row["tooltip"] = f"{o['code']}: {row['text']}"
        if o["server_room"] == "closed":  # still show a sliver so closed rooms are visible
            row["used_w"] = max(row["used_w"], 3)
    return chart


def charts(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The page's bar charts, built from report data only (so tests can feed any data)."""
    opds = list(data["opds"].values())
    t = data["totals"]

    def per_opd(key: str, title: str, unit: str) -> dict[str, Any]:
        return _chart(
            title,
            [(o["code"], float(o[key]), float(o[f"{key}_quota"])) for o in opds],
            unit,
            _("dark: used, light: quota, red: over quota"),
        )

    return [
        per_opd("vcpu", _("vCPU: used vs quota"), "vCPU"),
        per_opd("memory_gb", _("Memory: used vs quota"), "GB"),
        per_opd("disk_gb", _("VM disk: used vs quota"), "GB"),
        _chart(
            _("CCTV recording storage"),
            [(o["code"], float(o["recording_gb"]), None) for o in opds if o["cameras"]]
            or [(_("none"), 0.0, None)],
            "GB",
        ),
        _consolidation_chart(opds),
        _chart(
            _("Data center capacity"),
            [
                ("vCPU", float(t["vcpu"]), float(t["site_vcpu"])),
                (_("memory GB"), float(t["memory_gb"]), float(t["site_memory_gb"])),
                (_("VM disk GB"), float(t["disk_gb"]), float(t["vm_capacity_gb"])),
                (_("recording GB"), float(t["recording_gb"]), float(t["recording_capacity_gb"])),
            ],
            "",
            _("dark: allocated, light: capacity; each row to its own scale"),
            per_row=True,
        ),
    ]


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # OPD names and notes come from specs edited by many people
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Looked up at render time, so one cached environment serves both languages.
    env.globals.update(
        _=_,
        num=_fmt,
        pct=i18n.percent,
        status=status_label,
        age=age_words,
        drill_date=drill_date,
        backup_note=BACKUP_NOTE,
    )
    return env


def render_report_html(data: dict[str, Any], lang: str | None = None) -> str:
    """One self-contained HTML page from report data (as `report()` returns it).

    In ``lang``; by default the chosen language, else Indonesian (its readers are the
    Kepala Dinas and the Sekda: :func:`dcctl.i18n.report_language`).
    """
    with i18n.using(lang or i18n.report_language()):
        return _render_html(data)


def _render_html(data: dict[str, Any]) -> str:
    generated = data.get("generated_at")
    when = i18n.datetime(dt.datetime.fromisoformat(generated)) if generated else None
    return (
        _env()
        .get_template("consolidation.html.j2")
        .render(
            report=data,
            charts=charts(data),
            lang=i18n.language(),
            generated=when,
            commit=data.get("commit"),
            quota_cells=_QUOTA_CELLS,
        )
    )


#: (key, shown as used / quota) per OPD column of the HTML table.
_QUOTA_CELLS = ("vms", "vcpu", "memory_gb", "disk_gb")


def render_html(spec: Spec) -> str:
    """The consolidation report of `spec` as one self-contained HTML page."""
    return render_report_html(report(spec))


# (header, value, shown in the terminal table) - the name is long, `dcctl show` has it.
def _of(used: float, limit: float) -> str:
    return f"{_fmt(used)}/{_fmt(limit)}"


# Headings are msgids, shown through _().
_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], str], bool], ...] = (
    (N_("OPD"), lambda o: o["code"], True),
    (N_("name"), lambda o: o["name"], False),
    (N_("class"), lambda o: o["classification"], True),
    (N_("VMs"), lambda o: _of(o["vms"], o["vms_quota"]), True),
    (N_("vCPU"), lambda o: _of(o["vcpu"], o["vcpu_quota"]), True),
    (N_("mem GB"), lambda o: _of(o["memory_gb"], o["memory_gb_quota"]), True),
    (N_("disk GB"), lambda o: _of(o["disk_gb"], o["disk_gb_quota"]), True),
    (N_("rec GB"), lambda o: _fmt(o["recording_gb"]), True),
    (N_("cams"), lambda o: _of(o["cameras"], o["cameras_quota"]), True),
    (N_("offices"), lambda o: _fmt(o["offices"]), True),
    (N_("server room"), lambda o: status_label(o["server_room"]), True),
    (N_("servers"), lambda o: _fmt(o["legacy_servers"]), True),
)


def rooms_line(rooms: dict[str, int]) -> str:
    """``3 closed, 1 migrating, 2 running`` in the language in force."""
    return ", ".join(
        f"{_fmt(rooms[s])} {status_label(s)}" for s in ("closed", "migrating", "running")
    )


def _total_row(t: dict[str, Any]) -> list[str]:
    return [
        _("TOTAL"),
        _("{n} OPDs").format(n=_fmt(t["opds"])),
        "",
        _fmt(t["vms"]),
        _of(t["vcpu"], t["vcpu_quota"]),
        _of(t["memory_gb"], t["memory_gb_quota"]),
        _of(t["disk_gb"], t["disk_gb_quota"]),
        _fmt(t["recording_gb"]),
        _fmt(t["cameras"]),
        _fmt(t["offices"]),
        rooms_line(t["server_rooms"]),
        _fmt(t["legacy_servers"]),
    ]


def render_markdown(data: dict[str, Any]) -> str:
    """The table as Markdown, for a merge-request comment or a wiki page."""

    def cell(v: str) -> str:
        return v.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    lines = [
        _("### Consolidation report: {site}").format(site=cell(data["site"])),
        "",
        "| " + " | ".join(_(c[0]) for c in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for o in data["opds"].values():
        lines.append("| " + " | ".join(cell(str(c[1](o))) for c in _COLUMNS) + " |")
    lines.append(
        "| " + " | ".join(f"**{cell(v)}**" if v else "" for v in _total_row(data["totals"])) + " |"
    )
    req = data.get("requests")
    if req:
        lv = req["service_levels"]
        lines += [
            "",
            _("### Requests and service levels"),
            "",
            _("Targets: answer within {answer} minutes, resolve within {resolve} hours.").format(
                answer=lv["answer_minutes"], resolve=lv["resolve_hours"]
            ),
            "",
            "| " + " | ".join(_(c) for c in _REQUEST_COLUMNS) + " |",
            "|" + "---|" * len(_REQUEST_COLUMNS),
        ]
        for code, r in req["opds"].items():
            if not r["requests"]:
                continue
            lines.append("| " + " | ".join([cell(code), *_request_cells(r)]) + " |")
        lines.append(
            "| "
            + " | ".join(
                ["**" + _("TOTAL") + "**", *(f"**{c}**" for c in _request_cells(req["totals"]))]
            )
            + " |"
        )
    bk = data.get("backups")
    if bk:
        lines += [
            "",
            _("### Backups per OPD"),
            "",
            _(BACKUP_NOTE).format(days=bk["drill_every_days"]),
            "",
            "| " + " | ".join(_(c) for c in _BACKUP_COLUMNS) + " |",
            "|" + "---|" * len(_BACKUP_COLUMNS),
        ]
        for code, b in bk["opds"].items():
            lines.append("| " + " | ".join([cell(code), *_backup_cells(b)]) + " |")
        lines.append(
            "| "
            + " | ".join(
                ["**" + _("TOTAL") + "**", *(f"**{c}**" for c in _backup_cells(bk["totals"]))]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


#: What "covered" and the drill columns mean, under every backup table.
BACKUP_NOTE = N_(
    "Covered: backed up within its policy, every copy present. Drills: restores proven, "
    "due every {days} days."
)


_REQUEST_COLUMNS = (
    N_("OPD"),
    N_("requests"),
    N_("resolved"),
    N_("overdue"),
    N_("answered in time"),
    N_("resolved in time"),
)


def _request_cells(r: dict[str, int]) -> list[str]:
    return [
        str(r["requests"]),
        str(r["resolved"]),
        str(r["overdue"]),
        f"{r['answer_met']}/{r['requests']}",
        f"{r['resolve_met']}/{r['requests']}",
    ]


def report_command(
    path: Path, output: str = "text", html: Path | None = None, tickets: Path | None = None
) -> None:
    """`dcctl report PATH [--output text|json|markdown] [--html FILE] [--tickets DIR]`.

    The HTML file is written atomically in addition to the chosen output, so a
    pipeline can publish the page and still print the table in its log. Requests
    come from `tickets` or, if the spec repo has one, its `tickets/` folder.
    """
    import typer
    from rich.markup import escape
    from rich.table import Table

    from dcctl.output import console, emit, err_console, print_spec_errors
    from dcctl.spec import load_spec
    from dcctl.spec.errors import SpecErrors

    fmt = str(getattr(output, "value", output))
    try:
        spec = load_spec(path)
    except SpecErrors as exc:
        print_spec_errors(exc, fmt in ("json", "yaml"))
        raise typer.Exit(1) from None
    from dcctl.spec.source import DataFileError

    try:
        backups = backup_section(spec)
    except DataFileError as exc:
        err_console().print(_("error: {problem}").format(problem=escape(str(exc))))
        raise typer.Exit(1) from None
    data = report(spec, _requests(spec, tickets), backups)
    if html is not None:
        atomic_write(html, render_report_html(data))
        err_console().print(_("wrote {file}").format(file=escape(str(html))))
    if fmt in ("json", "yaml"):
        emit(data, fmt)
        return
    if fmt == "markdown":
        sys.stdout.write(render_markdown(data))
        return
    table = Table(
        title=escape(_("Consolidation report: {site}").format(site=data["site"])),
        title_justify="left",
    )
    shown = [i for i, c in enumerate(_COLUMNS) if c[2]]
    for i in shown:
        table.add_column(_(_COLUMNS[i][0]), overflow="fold", no_wrap=i == 0)
    rows = list(data["opds"].values())
    for n, o in enumerate(rows):
        table.add_row(
            *(escape(str(_COLUMNS[i][1](o))) for i in shown), end_section=n == len(rows) - 1
        )
    total = _total_row(data["totals"])
    t = data["totals"]
    # the line below has the detail
    total[10] = f"{_of(t['server_rooms']['closed'], t['opds'])} {status_label('closed')}"
    table.add_row(*(escape(total[i]) for i in shown), style="bold")
    console().print(table)
    console().print(
        escape(
            _(
                "Consolidation: {closed} of {opds} legacy server rooms closed ({pct}), "
                "{servers} servers still outside the data center."
            ).format(
                closed=_fmt(t["server_rooms"]["closed"]),
                opds=_fmt(t["opds"]),
                pct=i18n.percent(t["consolidated_pct"]),
                servers=_fmt(t["legacy_servers"]),
            )
        )
    )
    req = data.get("requests")
    if req:
        lv = req["service_levels"]
        table = Table(
            title=escape(
                _("Requests: answer within {answer} min, resolve within {resolve} h").format(
                    answer=lv["answer_minutes"], resolve=lv["resolve_hours"]
                )
            ),
            title_justify="left",
        )
        for col in _REQUEST_COLUMNS:
            table.add_column(_(col))
        for code, r in req["opds"].items():
            if r["requests"]:
                table.add_row(code, *_request_cells(r))
        table.add_row(_("TOTAL"), *_request_cells(req["totals"]), style="bold")
        console().print(table)
    bk = data.get("backups")
    if bk:
        table = Table(title=escape(_("Backups per OPD")), title_justify="left")
        for col in _BACKUP_COLUMNS:
            table.add_column(_(col))
        for code, b in bk["opds"].items():
            table.add_row(escape(code), *_backup_cells(b))
        table.add_row(_("TOTAL"), *_backup_cells(bk["totals"]), style="bold")
        console().print(table)
        console().print(escape(_(BACKUP_NOTE).format(days=bk["drill_every_days"])))


def _requests(spec: Spec, tickets: Path | None) -> dict[str, dict[str, int]] | None:
    """Per-OPD request counts from the tickets folder, or None when there is none."""
    from dcctl.tickets.status import per_opd, ticket_status

    folder = tickets if tickets is not None else spec.root / "tickets"
    if not folder.exists():
        return None
    statuses, _problems = ticket_status(folder, spec.root, spec.site.service_levels)
    return per_opd(statuses)
