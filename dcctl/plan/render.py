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


def plain(value: Any) -> str:
    """A value as a person writes it: ``(none)``, ``110, 120``, ``daily``; never a repr."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value) if value else "(empty)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={plain(v)}" for k, v in value.items()) if value else "(empty)"
    return str(value)


def field_change(old: Any, new: Any) -> str:
    """``old -> new``, or the items added and removed when both are lists."""
    added, removed = list_delta(old, new)
    if added is None or removed is None:
        return f"{plain(old)} -> {plain(new)}"
    parts = []
    if added:
        parts.append("added " + plain(added))
    if removed:
        parts.append("removed " + plain(removed))
    return "; ".join(parts) or "reordered"


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
    name = f"{c.renamed_from} -> {c.key} (renamed)" if c.renamed_from else c.key
    what = {"replace": " (replace)", "delete": " (delete)"}.get(c.action, "")
    if c.layer == "opds":
        what = " (OPD deleted)"
    return f"{sym} {name}{what}"


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
    text = (
        f"Plan: {n['create']} to create, {n['update']} to update, "
        f"{n['replace']} to replace, {n['delete']} to delete"
    )
    if n["data_loss"]:
        return text + f"; {n['data_loss']} LOSE DATA (apply needs --allow-destroy)."
    return text + "."


def render_text(con: Console, spec: Spec, changes: list[Change], verbose: bool) -> None:
    """One print of the whole plan: rich's per-call cost dominated large plans."""
    out: list[str] = []
    if spec.lock_changed:
        out.append("IPAM: new allocations pending; `dcctl lock` records them in dcctl.lock.yaml")
    if not changes:
        out.append(f"No changes. {spec.site.name} matches the last apply.")
        con.print("\n".join(out))
        return
    layer = None
    for c in changes:
        if c.layer != layer:
            layer = c.layer
            out.append(f"\n[bold]{layer}[/bold]")
        color = _SYMBOL[c.action][1]
        out.append(f"  [{color}]{escape(headline(c))}[/{color}]")
        for reason in c.reasons:
            out.append(f"      [magenta]{escape(reason)}[/magenta]")
        if c.data_loss:
            out.append(f"      [bold red]DATA LOSS: {escape(c.data_loss)}[/bold red]")
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
                out.append(f"      ... {len(items) - len(shown_items)} more (use -v)")
    out.append("\n" + summary_line(changes))
    con.print("\n".join(out), highlight=False, soft_wrap=True)


def render_markdown(spec: Spec, changes: list[Change]) -> str:
    """The plan for a merge request: counts, the data-loss list, then one section per OPD."""
    n = summarize(changes)
    lines = [
        f"### dcctl plan: {spec.site.name}",
        "",
        f"**{n['create']}** to create, **{n['update']}** to update, "
        f"**{n['replace']}** to replace, **{n['delete']}** to delete"
        + (f"; **{n['data_loss']} lose data**." if n["data_loss"] else "."),
        "",
    ]
    if not changes:
        lines.append("No changes.")
    losing = [c for c in changes if c.data_loss]
    if losing:
        lines += [f"> **{len(losing)} change(s) lose data**; apply needs `--allow-destroy`:", ">"]
        lines += [f"> - `{c.name}`: {_cell(c.data_loss or '')}" for c in losing]
        lines.append("")
    for opd, items in by_opd(changes).items():
        title = "site-wide (Diskominfo)" if opd == SITE else f"OPD `{opd}`"
        lines += [f"#### {title}", "", "| | layer | resource | details |", "|---|---|---|---|"]
        lines += [_md_row(c) for c in items]
        lines.append("")
    return "\n".join(lines) + "\n"


def _md_row(c: Change) -> str:
    notes = [*c.reasons]
    if c.data_loss:
        notes.insert(0, f"**DATA LOSS**: {c.data_loss}")
    if c.action in ("create", "delete"):
        details = [f"`{f}`: {_md(v)}" for f, v in created_fields(c)]
    else:
        details = [f"`{f}`: {_md_text(field_change(o, v))}" for f, (o, v) in c.fields.items()]
    if c.renamed_from:
        notes.append("renamed in place: the same VM, disks and address")
    cell = "; ".join([_cell(x) for x in notes] + details)
    name = f"{c.renamed_from} -> {c.key} (renamed)" if c.renamed_from else c.key
    return f"| {_SYMBOL[c.action][0]} {c.action} | {c.layer} | `{_cell(name)}` | {cell} |"


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
            line += f"; DATA LOSS: {step['data_loss']}"
        out.append(line)
    return out
