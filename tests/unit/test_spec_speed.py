"""The fast paths of the offline commands read exactly what the full paths read (issue 17).

`read_yaml` converts documents by a lean path and makes the line marks only on first
use; `Lock.read` takes a lock in the exact form dcctl writes by a line reader. Both must
give the data (and marks) the full YAML path gives, and fall back to it for anything else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dcctl.spec.discovery import discover_specs
from dcctl.spec.ipam import LOCK_FILE, Lock, _read_as_written
from dcctl.spec.source import _Budget, _convert, _FastLoader, load_data, read_yaml
from tests.conftest import EXAMPLE


def full_path(text: str, display: str) -> list[tuple[object, dict]]:
    """Every document's data and marks by the full, marking conversion."""
    from dcctl.spec.source import SourceDoc

    out = []
    loader = _FastLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            doc = SourceDoc(display, 0, None, _marks={})
            doc.data = _convert(node, (), doc, _Budget(), [])
            out.append((doc.data, doc.marks))
    finally:
        loader.dispose()
    return out


def test_lean_reader_gives_the_full_paths_data_and_marks() -> None:
    files = discover_specs(EXAMPLE).files
    assert len(files) > 5
    for path in files:
        docs, errors = read_yaml(path, path.name)
        assert not errors
        assert [(d.data, d.marks) for d in docs] == full_path(path.read_text(), path.name)


def test_unusual_documents_take_the_full_path(tmp_path: Path) -> None:
    """A merge key, an int key, a duplicate key and an odd tag are each reported with the
    line the full path gives, and a timestamp stays text."""
    f = tmp_path / "x.yaml"
    f.write_text("a: 1\nbase: &b {x: 1}\nm:\n  <<: *b\n1: one\nd: 2\nd: 3\nt: !!binary aGk=\n")
    docs, errors = read_yaml(f, "x.yaml")
    found = sorted((e.line, e.message) for e in errors)
    assert found == [
        (3, "YAML merge keys (<<) are not supported"),
        (7, "duplicate key 'd'"),
        (8, "unsupported YAML tag tag:yaml.org,2002:binary"),
    ], found
    assert docs[0].data[1] == "one"
    f.write_text("when: 2024-01-02\n")
    assert read_yaml(f, "x.yaml")[0][0].data == {"when": "2024-01-02"}


def _lock(repo: Path, text: str) -> Path:
    (repo / LOCK_FILE).write_text(text)
    return repo / LOCK_FILE


WRITTEN = Lock(
    vlans={"dinkes/servers": 110, "dinkes/lan": 0},
    prefixes={"dinkes/servers": "10.20.1.0/24"},
    addresses={"dinkes/servers/simpus": "10.20.1.10"},
    disks={"dinkes/simpus": 50},
)


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t,  # as written
        lambda t: t.replace("  dinkes/servers: 110", "  dinkes/servers: 0110"),  # octal
        lambda t: t.replace("  dinkes/servers: 110", "  dinkes/servers: 110  # pinned"),
        lambda t: t + "  dinkes/other: 4.5e+1\n",  # a float
        lambda t: t + "  dinkes/simpus: 60\n",  # a duplicate key
        lambda t: t.replace("prefixes:\n", "prefixes:\n  yes: 10.0.0.0/24\n"),  # bool key
        lambda t: t.replace("vlans:\n", "vlans: &v\n"),  # anchor
        lambda t: t.replace("  dinkes/lan: 0", "  dinkes/lan: !!str 0"),  # tag
        lambda t: t.replace("version: 1\n", "version: 1\n\n# hand note\n"),
        lambda t: t.replace("\n", "\r\n"),
        lambda t: t.replace("disks:\n  dinkes/simpus: 50\n", "disks: {}\n"),
    ],
)
def test_lock_read_as_written_or_as_yaml(tmp_path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    """The line reader takes only dcctl's own form; any edit is read as YAML, same data."""
    path = _lock(tmp_path, edit(WRITTEN.render()))
    fast = _read_as_written(path)
    try:
        slow = load_data(path, LOCK_FILE)
    except Exception as exc:  # the YAML reader refuses it: so must Lock.read
        assert fast is None
        with pytest.raises(type(exc)):
            Lock.read(tmp_path)
        return
    if fast is not None:
        norm = {
            k: {kk: str(vv) for kk, vv in v.items()} if isinstance(v, dict) else v
            for k, v in slow.items()
        }
        assert fast == norm
    lock = Lock.read(tmp_path)
    assert (
        lock.to_dict()
        == Lock(
            vlans={str(k): int(v) for k, v in (slow.get("vlans") or {}).items()},
            prefixes={str(k): str(v) for k, v in (slow.get("prefixes") or {}).items()},
            addresses={str(k): str(v) for k, v in (slow.get("addresses") or {}).items()},
            disks={str(k): int(v) for k, v in (slow.get("disks") or {}).items()},
        ).to_dict()
    )


def test_locks_dcctl_writes_take_the_line_reader() -> None:
    assert _read_as_written(EXAMPLE / LOCK_FILE) is not None
    assert _read_as_written(Path("/nonexistent") / LOCK_FILE) is None
