"""Safe YAML reading that remembers where every value came from.

libyaml (PyYAML's C parser) builds the node tree fast; we convert nodes to plain
data ourselves so that (a) every path gets a line/column for error messages,
(b) duplicate keys, unusual tags and alias bombs are refused instead of
silently accepted, and (c) huge or binary files never reach the parser.
ruamel.yaml is used only where a file is edited (tickets), since it is several
times slower to parse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dcctl.spec.errors import SpecError

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - wheels ship libyaml
    _Loader = yaml.SafeLoader

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


@dataclass
class SourceDoc:
    """One YAML document with its data and a path -> (line, column) map."""

    file: str
    index: int
    data: Any
    marks: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: tuple[Any, ...]) -> tuple[int | None, int | None]:
        """Line/column of the deepest part of `path` that exists in the file."""
        p = tuple(path)
        while p:
            if p in self.marks:
                return self.marks[p]
            p = p[:-1]
        return self.marks.get((), (None, None))

    def error(self, path: tuple[Any, ...], message: str, hint: str | None = None) -> SpecError:
        from dcctl.spec.errors import format_path

        line, col = self.locate(path)
        return SpecError(self.file, line, col, format_path(path), message, hint)


class _Budget:
    def __init__(self) -> None:
        self.nodes = 0


def _convert(
    node: yaml.Node,
    path: tuple[Any, ...],
    doc: SourceDoc,
    budget: _Budget,
    errors: list[SpecError],
    depth: int = 0,
) -> Any:
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise _TooBig("document expands to too many values (alias bomb or oversized spec)")
    if depth > MAX_DEPTH:
        raise _TooBig(f"nesting deeper than {MAX_DEPTH} levels")
    doc.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                errors.append(
                    doc.error(
                        path,
                        "YAML merge keys (<<) are not supported",
                        "write the fields out; specs stay explicit",
                    )
                )
                continue
            key = _convert(knode, path, doc, budget, errors, depth + 1)
            if not isinstance(key, (str, int)):
                errors.append(doc.error(path, "mapping keys must be plain strings"))
                continue
            kpath = (*path, key)
            doc.marks[kpath] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            if key in out:
                errors.append(
                    doc.error(kpath, f"duplicate key {key!r}", "each key once per mapping")
                )
                continue
            out[key] = _convert(vnode, kpath, doc, budget, errors, depth + 1)
            doc.marks[kpath] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, i), doc, budget, errors, depth + 1)
            for i, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.ScalarNode)
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value  # dates stay text; no spec field is a timestamp
    if node.tag not in _SCALAR_TAGS:
        errors.append(doc.error(path, f"unsupported YAML tag {node.tag}", "remove the tag"))
        return None
    # Resolve the scalar with the safe constructor's rules (int, bool, null...).
    return _SCALAR.yaml_constructors[node.tag](_SCALAR, node)


class _TooBig(Exception):
    pass


_SCALAR = yaml.SafeLoader("")


def read_yaml(path: Path, display: str) -> tuple[list[SourceDoc], list[SpecError]]:
    """Parse every document of one file; never raises for bad content."""
    errors: list[SpecError] = []
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [
                SpecError(
                    display,
                    None,
                    None,
                    "",
                    f"file is {size} bytes, over the {MAX_FILE_BYTES} byte limit",
                    "split it or remove junk",
                )
            ]
        raw = path.read_bytes()
    except OSError as exc:
        return [], [SpecError(display, None, None, "", f"cannot read file: {exc.strerror}")]
    if b"\x00" in raw:
        return [], [
            SpecError(
                display, None, None, "", "binary file (NUL bytes)", "spec files are UTF-8 YAML text"
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [
            SpecError(display, line, None, "", "not valid UTF-8 text", "save the file as UTF-8")
        ]
    docs: list[SourceDoc] = []
    try:
        loader = _Loader(text)
        try:
            index = 0
            while loader.check_node():
                node = loader.get_node()
                doc = SourceDoc(display, index, None)
                index += 1
                if node is None:
                    continue
                try:
                    doc.data = _convert(node, (), doc, _Budget(), errors)
                except _TooBig as exc:
                    errors.append(doc.error((), str(exc), "anchors and aliases are expanded"))
                    continue
                docs.append(doc)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        msg = exc.problem or exc.context or "YAML syntax error"
        errors.append(
            SpecError(
                display,
                line,
                col,
                "",
                f"YAML syntax error: {msg}",
                "check indentation, quotes and ':' after keys",
            )
        )
    except yaml.YAMLError as exc:
        errors.append(SpecError(display, None, None, "", f"YAML error: {exc}"))
    except RecursionError:
        errors.append(SpecError(display, None, None, "", "YAML nested too deeply"))
    return docs, errors


class DataFileError(ValueError):
    """A state file (lock, snapshot) that is unsafe or unreadable; the message says why."""


def _check_json(value: Any, budget: _Budget, depth: int = 0) -> None:
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise _TooBig("document expands to too many values (oversized file)")
    if depth > MAX_DEPTH:
        raise _TooBig(f"nesting deeper than {MAX_DEPTH} levels")
    children = value.values() if isinstance(value, dict) else value
    if isinstance(value, dict | list):
        for child in children:
            _check_json(child, budget, depth + 1)


def load_data(path: Path, display: str | None = None) -> Any:
    """Plain data of one YAML (or ``.json``) state file, under the spec loader's limits.

    The one way dcctl reads its own files (the IPAM lock, snapshots) as it reads
    specs: size, UTF-8, alias bomb, depth and tag limits of :func:`read_yaml`, so a
    hostile ``dcctl.lock.yaml`` is refused quickly with a clear error instead of
    costing minutes and gigabytes. JSON is parsed as JSON (its floats are not
    YAML 1.1's), with the same size, depth and value-count limits. Raises
    :class:`DataFileError`; a missing file raises FileNotFoundError.
    """
    display = display or str(path)
    if path.suffix == ".json":
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DataFileError(f"{display}: {size} bytes, over the {MAX_FILE_BYTES} byte limit")
        try:
            data = json.loads(path.read_bytes())
            _check_json(data, _Budget())
        except (ValueError, RecursionError, _TooBig) as exc:
            raise DataFileError(f"{display}: {exc}") from None
        return data
    if not path.exists():
        raise FileNotFoundError(path)
    docs, errors = read_yaml(path, display)
    if errors:
        shown = "; ".join(str(e) for e in errors[:3])
        raise DataFileError(shown + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""))
    if len(docs) > 1:
        raise DataFileError(f"{display}: more than one YAML document")
    return docs[0].data if docs else None
