"""Spec errors that always say where: file, line, column and field path.

Engineers fix specs from these messages alone, and a pipeline shows them in a
merge request, so every error carries a location and, where we know one, a hint.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from typing import Any


def printable(text: str, keep_newlines: bool = False) -> str:
    """`text` with control and format characters shown as escapes (``\\x1b``, ``\\u202e``).

    A YAML key, a file name or a device's reply can carry ESC/OSC sequences or
    bidi overrides; printed raw they retitle, recolour or rewrite the operator's
    terminal. Every message dcctl prints passes through here (SpecError fields,
    and the consoles of :mod:`dcctl.output`).
    """

    def one(c: str) -> str:
        if keep_newlines and c in "\n\t":
            return c
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp"):
            o = ord(c)
            return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"
        return c

    if text.isprintable():
        return text
    return "".join(one(c) for c in text)


@dataclass(frozen=True, order=True)
class SpecError:
    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str | None = None

    def __post_init__(self) -> None:
        # Escaped once, here, so text, JSON and every later print are safe.
        object.__setattr__(self, "file", printable(self.file))
        object.__setattr__(self, "path", printable(self.path))
        object.__setattr__(self, "message", printable(self.message, keep_newlines=True))
        if self.hint is not None:
            object.__setattr__(self, "hint", printable(self.hint, keep_newlines=True))

    def __str__(self) -> str:
        from dcctl.i18n import _

        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.path}:" if self.path else ""
        text = f"{where}:{field} {self.message}"
        if self.hint:
            text += " (" + _("hint: {hint}").format(hint=self.hint) + ")"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SpecErrors(Exception):
    """All errors of one run, raised together so none is hidden behind the first."""

    #: The spec root the errors' files are relative to (set by the loader), so a
    #: printer can show paths from the current directory and the source lines.
    root: Any = None

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = sorted(
            set(errors), key=lambda e: (e.file, e.line or 0, e.column or 0, e.path)
        )
        super().__init__("\n".join(str(e) for e in self.errors))


def format_path(path: tuple[Any, ...]) -> str:
    """Render a field path the way it reads in YAML: vms[2].memory_gb."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
