"""Spec errors that always say where: file, line, column and field path.

Engineers fix specs from these messages alone, and a pipeline shows them in a
merge request, so every error carries a location and, where we know one, a hint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class SpecError:
    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.path}:" if self.path else ""
        text = f"{where}:{field} {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SpecErrors(Exception):
    """All errors of one run, raised together so none is hidden behind the first."""

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
