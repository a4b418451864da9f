"""ntc-templates parsing with each TextFSM template compiled once per process.

`ntc_templates.parse.parse_output` looks the template up in the index (cached by
textfsm) but compiles the TextFSM template again on every call: ~15 ms of CPU
under the GIL per `show`, which on a 48-switch apply was a large share of the
engine's own CPU time. The lookup still goes through ntc-templates' index, so
which template parses which command stays the library's decision.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import textfsm
from ntc_templates.parse import _get_template_dir, parse_output
from textfsm import clitable

from dcctl.i18n import _

_LOCK = threading.Lock()
_FSMS: dict[tuple[str, str], textfsm.TextFSM | None] = {}


def _compile(platform: str, command: str) -> textfsm.TextFSM | None:
    """The compiled template, or None when the index maps the command to several."""
    template_dir = _get_template_dir()
    table = clitable.CliTable("index", template_dir)
    row = table.index.GetRowMatch({"Command": command, "Platform": platform})
    if not row:
        raise clitable.CliTableError(
            _("no ntc-template for {platform} {command}").format(
                platform=platform, command=repr(command)
            )
        )
    names = table.index.index[row]["Template"].split(":")
    if len(names) != 1:
        return None
    with (Path(template_dir) / names[0]).open(encoding="utf-8") as f:
        return textfsm.TextFSM(f)


def parse_show(platform: str, command: str, text: str) -> list[dict[str, Any]]:
    """Rows of `command`'s output as dicts with lower-case keys, like parse_output."""
    with _LOCK:
        key = (platform, command)
        if key not in _FSMS:
            _FSMS[key] = _compile(platform, command)
        fsm = _FSMS[key]
        if fsm is not None:
            fsm.Reset()
            header = [h.lower() for h in fsm.header]
            return [dict(zip(header, row, strict=True)) for row in fsm.ParseText(text)]
    # Merged multi-template rows: rare, left to the library as it is.
    rows: list[dict[str, Any]] = parse_output(platform=platform, command=command, data=text)
    return rows
