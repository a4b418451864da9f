"""Human renderings of a plan: rich text for the terminal, Markdown for merge requests.

What a reviewer approves is what these show, so they say it plainly: each change's
class (create, update in place, replace with the reason, delete), the changes that
lose data (marked and counted apart), a created resource's important fields, list
fields as the items added and removed, values as values (``(none)``, not ``None``),
ports in natural order. Markdown is grouped per OPD (:func:`by_opd`): each OPD's
reviewer approves their own section.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from dcctl.i18n import N_, _, number
from dcctl.plan.diff import Change, list_delta, natural_key, summarize
from dcctl.spec.loader import Spec

_MD_FIELDS = 8
_SYMBOL = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "replace": ("-/+", "magenta"),
    "delete": ("-", "red"),
}
#: The fields a reviewer needs to see of a created resource, per layer (``-v``: all).
IMPORTANT = {
    "networks": ("vlan", "prefix", "gateway"),
    "vms": (
        "node",
        "vlan",
        "address",
        "vcpu",
        "memory_gb",
        "disk_gb",
        "recording_disk_gb",
        "image",
        "classification",
        "exposure",
    ),
    "vpn": ("router", "wan_address", "tunnel_address", "lan_prefix"),
    "cctv": ("address", "bitrate_kbps", "retention_days", "storage_gb"),
    "switches": ("vendor", "mgmt_address", "managed"),
    "monitoring": ("job", "target"),
}
#: Where changes without an OPD (switches, site-wide monitoring) are grouped.
SITE = "site"
#: Section titles of the text plan, per layer (msgids; shown through _()).
LAYER_TITLES = {
    "opds": N_("opds"),
    "networks": N_("networks"),
    "vms": N_("vms"),
    "vpn": N_("vpn"),
    "cctv": N_("cctv"),
    "switches": N_("switches"),
    "monitoring": N_("monitoring"),
}
#: The change classes, as msgids.
ACTIONS = (N_("create"), N_("update"), N_("replace"), N_("delete"))


def plain(value: Any) -> str:
    """A value as a person writes it: ``(none)``, ``110, 120``, ``daily``; never a repr."""
    if value is None:
        return _("(none)")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value) if value else _("(empty)")
    if isinstance(value, dict):
        return ", ".join(f"{k}={plain(v)}" for k, v in value.items()) if value else _("(empty)")
    return str(value)


def field_change(old: Any, new: Any) -> str:
    """``old -> new``, or the items added and removed when both are lists."""
    added, removed = list_delta(old, new)
    if added is None or removed is None:
        return f"{plain(old)} -> {plain(new)}"
    parts = []
    if added:
        parts.append(_("added {items}").format(items=plain(added)))
    if removed:
        parts.append(_("removed {items}").format(items=plain(removed)))
    return "; ".join(parts) or _("reordered")


def created_fields(c: Change, verbose: bool = False) -> list[tuple[str, Any]]:
    """The fields shown of a created (or deleted) resource: the important ones, or all."""
    values = {f: old if c.action == "delete" else new for f, (old, new) in c.fields.items()}
    if verbose:
        return list(values.items())
    important = IMPORTANT.get(c.layer)
    if important is None:
        return list(values.items())[:_MD_FIELDS]
    shown = [(f, values[f]) for f in important if f in values]
    if c.layer == "switches":
        ports = {f.split(".")[1] for f in values if f.startswith("ports.")}
        shown.append(("ports", len(ports)))
    return shown


def headline(c: Change) -> str:
    """The change's one line, without markup: symbol, name, class and rename."""
    sym = _SYMBOL[c.action][0]
    name = _renamed(c)
    what = {"replace": " (" + _("replace") + ")", "delete": " (" + _("delete") + ")"}.get(
        c.action, ""
    )
    if c.layer == "opds":
        what = " (" + _("OPD deleted") + ")"
    return f"{sym} {name}{what}"


def _renamed(c: Change) -> str:
    """``old -> new (renamed)`` for a rename, else the key."""
    return f"{c.renamed_from} -> {c.key} (" + _("renamed") + ")" if c.renamed_from else c.key


def by_opd(changes: list[Change]) -> dict[str, list[Change]]:
    """Changes per OPD (site-wide ones under :data:`SITE`), OPDs sorted, site last.

    What each OPD's reviewer must approve; the merge-request rendering and the
    CODEOWNERS of a spec repo group by it.
    """
    groups: dict[str, list[Change]] = {}
    for c in changes:
        groups.setdefault(c.opd or SITE, []).append(c)
    order = sorted(groups, key=lambda k: (k == SITE, natural_key(k)))
    return {k: groups[k] for k in order}


def summary_line(changes: list[Change]) -> str:
    """``Plan: 1 to create, 2 to update, 1 to replace, 1 to delete; 2 lose data.``"""
    n = summarize(changes)
    text = _(
        "Plan: {create} to create, {update} to update, {replace} to replace, {delete} to delete"
    ).format(**{k: number(n[k]) for k in ("create", "update", "replace", "delete")})
    if n["data_loss"]:
        return (
            text
            + "; "
            + _("{n} LOSE DATA (apply needs --allow-destroy).").format(n=number(n["data_loss"]))
        )
    return text + "."


def render_text(con: Console, spec: Spec, changes: list[Change], verbose: bool) -> None:
    """One print of the whole plan: rich's per-call cost dominated large plans."""
    out: list[str] = []
    if spec.lock_changed:
        out.append(_("IPAM: new allocations pending; `dcctl lock` records them in dcctl.lock.yaml"))
    if not changes:
        out.append(_("No changes. {site} matches the last apply.").format(site=spec.site.name))
        con.print("\n".join(out))
        return
    layer = None
    for c in changes:
        if c.layer != layer:
            layer = c.layer
            out.append(f"\n[bold]{escape(_(LAYER_TITLES.get(layer, layer)))}[/bold]")
        color = _SYMBOL[c.action][1]
        out.append(f"  [{color}]{escape(headline(c))}[/{color}]")
        for reason in c.reasons:
            out.append(f"      [magenta]{escape(reason)}[/magenta]")
        if c.data_loss:
            loss = _("DATA LOSS") + f": {c.data_loss}"
            out.append("      [bold red]" + escape(loss) + "[/bold red]")
        if c.action in ("create", "delete"):
            shown = created_fields(c, verbose)
            if shown:
                out.append("      " + escape(", ".join(f"{f}: {plain(v)}" for f, v in shown)))
        elif c.action in ("update", "replace"):
            items = list(c.fields.items())
            shown_items = items if verbose else items[:6]
            for f, (old, new) in shown_items:
                out.append(f"      {escape(f)}: {escape(field_change(old, new))}")
            if len(items) > len(shown_items):
                more = _("... {n} more (use -v)").format(n=len(items) - len(shown_items))
                out.append(f"      {escape(more)}")
    out.append("\n" + summary_line(changes))
    con.print("\n".join(out), highlight=False, soft_wrap=True)


def render_markdown(spec: Spec, changes: list[Change]) -> str:
    """The plan for a merge request: counts, the data-loss list, then one section per OPD."""
    n = summarize(changes)
    lines = [
        _("### dcctl plan: {site}").format(site=spec.site.name),
        "",
        _(
            "**{create}** to create, **{update}** to update, "
            "**{replace}** to replace, **{delete}** to delete"
        ).format(**{k: number(n[k]) for k in ("create", "update", "replace", "delete")})
        + ("; " + _("**{n} lose data**.").format(n=n["data_loss"]) if n["data_loss"] else "."),
        "",
    ]
    if not changes:
        lines.append(_("No changes."))
    losing = [c for c in changes if c.data_loss]
    if losing:
        lines += [
            _("> **{n} change(s) lose data**; apply needs `--allow-destroy`:").format(
                n=len(losing)
            ),
            ">",
        ]
        lines += [f"> - `{c.name}`: {_cell(c.data_loss or '')}" for c in losing]
        lines.append("")
    for opd, items in by_opd(changes).items():
        title = _("site-wide (Diskominfo)") if opd == SITE else f"OPD `{opd}`"
        head = _("| | layer | resource | details |")
        lines += [f"#### {title}", "", head, "|---|---|---|---|"]
        lines += [_md_row(c) for c in items]
        lines.append("")
    return "\n".join(lines) + "\n"


def _md_row(c: Change) -> str:
    notes = [*c.reasons]
    if c.data_loss:
        notes.insert(0, "**" + _("DATA LOSS") + f"**: {c.data_loss}")
    if c.action in ("create", "delete"):
        details = [f"`{f}`: {_md(v)}" for f, v in created_fields(c)]
    else:
        details = [f"`{f}`: {_md_text(field_change(o, v))}" for f, (o, v) in c.fields.items()]
    if c.renamed_from:
        notes.append(_("renamed in place: the same VM, disks and address"))
    cell = "; ".join([_cell(x) for x in notes] + details)
    name = _renamed(c)
    action = _(c.action)
    return f"| {_SYMBOL[c.action][0]} {action} | {c.layer} | `{_cell(name)}` | {cell} |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def _md(value: Any) -> str:
    return "`" + _cell(plain(value)) + "`"


def _md_text(text: str) -> str:
    return "`" + _cell(text) + "`"


def engine_step_lines(steps: list[dict[str, Any]]) -> list[str]:
    """The engine steps a reviewer must not miss: replacements and deletions, with why.

    From the VM layer's JSON steps (:func:`dcctl.engines.pulumi.stack.classify_step`);
    a replacement is one line, not its three engine steps.
    """
    out = []
    for step in steps:
        if step.get("op") not in ("replace", "delete"):
            continue
        line = f"{_SYMBOL[step['class']][0]} {step['name']} ({step['class']})"
        if step.get("reason"):
            line += f": {step['reason']}"
        if step.get("data_loss"):
            line += "; " + _("DATA LOSS") + f": {step['data_loss']}"
        out.append(line)
    return out
