"""Human renderings of a plan: rich text for the terminal, Markdown for merge requests."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape

from dcctl.plan.diff import Change
from dcctl.spec.loader import Spec

_MD_FIELDS = 8
_SYMBOL = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}


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
        sym, color = _SYMBOL[c.action]
        out.append(f"  [{color}]{sym} {escape(c.key)}[/{color}]")
        if c.action == "update":
            shown = list(c.fields.items()) if verbose else list(c.fields.items())[:6]
            for f, (old, new) in shown:
                out.append(f"      {escape(f)}: {escape(repr(old))} -> {escape(repr(new))}")
            if len(c.fields) > len(shown):
                out.append(f"      ... {len(c.fields) - len(shown)} more (use -v)")
    n = Counter(c.action for c in changes)
    out.append(
        f"\nPlan: {n['create']} to create, {n['update']} to update, {n['delete']} to delete."
    )
    con.print("\n".join(out), highlight=False, soft_wrap=True)


def render_markdown(spec: Spec, changes: list[Change]) -> str:
    n = Counter(c.action for c in changes)
    lines = [
        f"### dcctl plan: {spec.site.name}",
        "",
        f"**{n['create']}** to create, **{n['update']}** to update, **{n['delete']}** to delete.",
        "",
    ]
    if not changes:
        lines.append("No changes.")
    by_layer: dict[str, list[Change]] = {}
    for c in changes:
        by_layer.setdefault(c.layer, []).append(c)
    for layer, items in by_layer.items():
        lines += [f"#### {layer}", "", "| | resource | details |", "|---|---|---|"]
        for c in items:
            sym = _SYMBOL[c.action][0]
            if c.action == "create":
                shown = list(c.fields.items())[:_MD_FIELDS]
                details = "; ".join(f"`{f}`: {_md(v)}" for f, (_o, v) in shown)
                if len(c.fields) > _MD_FIELDS:
                    details += f"; ... {len(c.fields) - _MD_FIELDS} more"
            else:
                details = "; ".join(f"`{f}`: {_md(o)} → {_md(v)}" for f, (o, v) in c.fields.items())
            lines.append(f"| {sym} | `{c.key}` | {details} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _md(value: Any) -> str:
    return "`" + str(value).replace("|", "\\|").replace("`", "'") + "`"
