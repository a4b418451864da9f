"""The fast paths of the offline commands give exactly what the plain paths give (issue 17).

`read_yaml` converts documents by a lean path and makes the line marks only on first
use; `Lock.read` takes a lock in the exact form dcctl writes by a line reader. Both must
give the data (and marks) the full YAML path gives, and fall back to it for anything else.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


SCALARS = st.one_of(
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "~",
            "",
            "0x1F",
            "0o17",
            "017",
            "1_000",
            "1:20",
            "2024-01-02",
            "<<",
            "=",
            ".inf",
            "-.5",
            "Gi1/0/1",
            "dinkes/simpus",
            "a: b",
            "#x",
            "'q'",
        ]
    ),
    st.text(max_size=8),
)
DATA = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers(0, 3)), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(DATA, min_size=1, max_size=3), st.booleans())
def test_event_reader_gives_the_full_paths_data(docs: list[object], flow: bool) -> None:
    """Any documents (YAML 1.1 look-alike words, int keys, empty strings, dates), block
    or flow: the event reader either declines or gives exactly the full path's data."""
    import yaml

    from dcctl.spec.source import _lean_stream

    text = yaml.safe_dump_all(docs, default_flow_style=flow, allow_unicode=True)
    lean = _lean_stream(text)
    if lean is not None:
        assert lean == [data for data, _ in full_path(text, "x.yaml")]


def test_plain_spec_files_take_the_event_reader() -> None:
    from dcctl.spec.source import _lean_stream

    for path in discover_specs(EXAMPLE).files:
        assert _lean_stream(path.read_text()) is not None, path


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


def _reach(start: str, adj: dict[str, list[tuple[str, int]]], without: int) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for nxt, link in adj[stack.pop()]:
            if link != without and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def carried_by_walking(
    ends: list[tuple[str, str]], members: dict[int, set[str]]
) -> list[list[int]]:
    """Trunk pruning as it was: walk both sides of every link, for every VLAN."""
    adj: dict[str, list[tuple[str, int]]] = {}
    for i, (a, b) in enumerate(ends):
        adj.setdefault(a, []).append((b, i))
        adj.setdefault(b, []).append((a, i))
    out = []
    for i, (a, b) in enumerate(ends):
        side_a, side_b = _reach(a, adj, i), _reach(b, adj, i)
        out.append(sorted(v for v, m in members.items() if m & side_a and m & side_b))
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 9)).filter(lambda e: e[0] != e[1]),
        max_size=16,
    ),
    st.dictionaries(st.integers(100, 110), st.sets(st.integers(0, 11), max_size=6), max_size=8),
)
def test_trunk_pruning_matches_walking_both_sides(
    links: list[tuple[int, int]], members: dict[int, set[int]]
) -> None:
    """Trees, cycles, parallel links, separate parts and members on no link: the bridge
    search carries exactly the VLANs that walking both sides of each link carries."""
    from dcctl.plan.switching import carried_vlans

    ends = [(f"sw{a}", f"sw{b}") for a, b in links]
    named = {v: {f"sw{s}" for s in m} for v, m in members.items()}
    assert carried_vlans(ends, named) == carried_by_walking(ends, named)


#: What validate and plan never import (dcctl/speed.py): each costs a tenth of a second
#: or more at start-up, and none is needed to read a spec or diff it.
HEAVY = (
    "pulumi",
    "ansible",
    "ansible_runner",
    "netmiko",
    "paramiko",
    "hier_config",
    "ruamel",
    "jinja2",
    "cryptography",
    "ntc_templates",
    "textfsm",
)


def test_validate_and_plan_import_no_engine() -> None:
    """`dcctl validate` and `dcctl plan -o json` of the example, in a fresh interpreter,
    load none of the engines' libraries (lazy imports keep them fast)."""
    import subprocess
    import sys

    script = f"""
import contextlib, io, sys
from dcctl import cli
for argv in (["validate", {str(EXAMPLE)!r}], ["plan", {str(EXAMPLE)!r}, "-o", "json"]):
    sys.argv = ["dcctl", *argv]
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.run()
        except SystemExit as exc:
            assert exc.code in (0, None, 2), exc.code
print(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r})))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_benchmark_regency_validates(tmp_path: Path) -> None:
    """benchmarks/gen_regency.py writes a valid spec (the offline figures mean nothing
    for a spec that fails at its first error)."""
    import sys

    from dcctl.spec.loader import load_spec

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        from gen_regency import generate
    finally:
        sys.path.pop(0)
    generate(tmp_path / "bench", opds=6, vms=40, switches=5, offices=15, cameras=80)
    spec = load_spec(tmp_path / "bench")
    assert sum(len(o.vms) for o in spec.opds.values()) == 40
