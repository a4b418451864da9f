"""Output of data commands (issue 19): -o text|json|yaml with typed data, errors as data on
stderr, tables that never wrap when piped, the fabric views, doctor's two groups, lock's list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dcctl.cli import _mount_subcommands, app
from tests.conftest import EXAMPLE

DCCTL = Path(sys.executable).parent / "dcctl"
EX = str(EXAMPLE)

#: Offline commands that print data, as an engineer types them (without -o).
DATA_COMMANDS = [
    ["validate", EX],
    ["show", EX],
    ["show", EX, "dinkes"],
    ["show", EX, "switches"],
    ["show", EX, "ports"],
    ["show", EX, "links"],
    ["show", EX, "buildings"],
    ["plan", EX],
    ["report", EX],
    ["schema"],
    ["vpn", "show", EX],
    ["vpn", "render", EX, "dinkes/pkm-garung"],
    ["hostkeys", "list", EX],
    ["backup", "status", EX],
]


def _run(args: list[str]) -> object:
    _mount_subcommands()
    return CliRunner().invoke(app, args)


@pytest.mark.parametrize("args", DATA_COMMANDS, ids=lambda a: " ".join(a[:3]).replace(EX, "EX"))
def test_yaml_and_json_carry_the_same_typed_data(args: list[str]) -> None:
    as_json = _run([*args, "-o", "json"])
    as_yaml = _run([*args, "-o", "yaml"])
    assert as_json.exit_code == 0 and as_yaml.exit_code == 0, as_json.output + as_yaml.output
    from_yaml, from_json = yaml.safe_load(as_yaml.stdout), json.loads(as_json.stdout)
    for data in (from_yaml, from_json):  # the report's generation time moves between runs
        for key in ("generated_at", "generated"):
            if isinstance(data, dict) and key in data:
                data[key] = str(data[key])[:10]
    assert from_yaml == from_json


def test_show_json_gives_numbers_not_display_strings() -> None:
    inv = json.loads(_run(["show", EX, "-o", "json"]).stdout)
    bapenda = next(o for o in inv["opds"] if o["code"] == "bapenda")
    assert bapenda["vms"] == {"used": 1, "quota": 3}
    assert isinstance(bapenda["disk_gb"]["used"], int)
    total = inv["storage"][-1]
    assert isinstance(total["vm_disk_gb"]["used"], int) and "capacity" in total["vm_disk_gb"]
    vm = inv["vms"][0]
    assert isinstance(vm["vcpu"], int) and isinstance(vm["backup"]["retention_days"], int)
    # the text table still reads "1/3"
    text = _run(["show", EX, "bapenda"]).stdout
    assert "1/3" in text and "daily/14d" in text


def test_errors_in_json_mode_are_json_on_stderr() -> None:
    r = _run(["show", EX, "nosuch", "-o", "json"])
    assert r.exit_code == 1 and r.stdout == ""
    err = json.loads(r.stderr)
    assert err["ok"] is False and "nosuch" in err["errors"][0]["message"]
    assert "dinkes" in err["errors"][0]["hint"]
    r = _run(["show", EX, "nosuch", "-o", "yaml"])
    assert r.exit_code == 1 and r.stdout == "" and yaml.safe_load(r.stderr)["ok"] is False
    # in text the same error is text
    r = _run(["show", EX, "nosuch"])
    assert r.exit_code == 1 and r.stderr.startswith("error: unknown OPD or view 'nosuch'")


@pytest.mark.parametrize(
    ("args", "fmt", "message", "command"),
    [
        (["show", EX, "--bogus", "-o", "json"], "json", "No such option: --bogus", "dcctl show"),
        (["-ojson", "nosuchcmd"], "json", "No such command 'nosuchcmd'.", "dcctl"),
        (["backup", "status", "--output=yaml", "--nope"], "yaml", "No such option: --nope",
         "dcctl backup status"),
    ],
)  # fmt: skip
def test_usage_errors_in_data_mode_are_data_on_stderr(
    args: list[str], fmt: str, message: str, command: str
) -> None:
    """click's own usage errors, raised before any option is parsed, follow `-o` too."""
    p = subprocess.run([DCCTL, *args], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and p.stdout == ""
    err = (json.loads if fmt == "json" else yaml.safe_load)(p.stderr)
    assert err == {"ok": False, "errors": [{"message": message,
                                            "hint": f"{command} -h shows the usage"}]}  # fmt: skip
    text = subprocess.run([DCCTL, *[a for a in args if "json" not in a and "yaml" not in a
                                    and a not in ("-o",)]],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert text.returncode == 1 and "Usage:" in text.stderr


def test_spec_errors_in_json_mode_have_the_text_fields(tmp_path: Path) -> None:
    bad = tmp_path / "site.yaml"
    bad.write_text("apiVersion: dcctl/v1\nkind: Site\nname: x\nbogus: 1\n")
    text = _run(["validate", str(tmp_path)])
    r = _run(["validate", str(tmp_path), "-o", "json"])
    assert r.exit_code == 1 and r.stdout == ""
    errors = json.loads(r.stderr)["errors"]
    assert {"file", "line", "column", "path", "message", "hint"} <= set(errors[0])
    for e in errors:  # every error the text names, with the same message
        assert e["message"] in text.stderr and f"{e['file']}:{e['line']}" in text.stderr


def test_piped_tables_keep_each_record_on_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    p = subprocess.run([DCCTL, "show", EX], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0
    inv = json.loads(_run(["show", EX, "-o", "json"]).stdout)
    lines = p.stdout.splitlines()
    for vm in inv["vms"]:  # `dcctl show spec | grep sismiop` finds the whole row
        row = [ln for ln in lines if f" {vm['vm']} " in ln]
        assert len(row) == 1 and vm["address"] in row[0] and vm["node"] in row[0], vm["vm"]
    report = subprocess.run(
        [DCCTL, "report", EX], capture_output=True, text=True, env=env, timeout=60
    )
    data = json.loads(_run(["report", EX, "-o", "json"]).stdout)
    rahasia = sum(1 for o in data["opds"].values() if o["classification"] == "rahasia")
    assert rahasia and report.stdout.count("rahasia") >= rahasia


def test_show_ports_marks_the_free_ones(spec_repo: Path) -> None:
    ports = json.loads(_run(["show", str(spec_repo), "ports", "-o", "json"]).stdout)["ports"]
    switches = json.loads(_run(["show", str(spec_repo), "switches", "-o", "json"]).stdout)
    free = [p for p in ports if p["status"] == "free"]
    assert len(free) == sum(s["free"] for s in switches["switches"]) > 0
    by = {(p["switch"], p["port"]): p for p in ports}
    assert by[("sw-dinkes", "GigabitEthernet1/0/9")]["used_by"] == "dinkes camera loket-dinkes"
    assert by[("sw-dinkes", "GigabitEthernet1/0/9")]["status"] == "used"
    # a free port taken by a new building is no longer free
    target = next(p for p in free if p["switch"] == "sw-dinkes")
    short = target["port"].replace("GigabitEthernet", "Gi")
    opd = spec_repo / "opd" / "dinkes.yaml"
    opd.write_text(
        opd.read_text().replace(
            "lan_ports: [Gi1/0/1, Gi1/0/2]", f"lan_ports: [Gi1/0/1, Gi1/0/2, {short}]"
        )
    )
    again = json.loads(_run(["show", str(spec_repo), "ports", "-o", "json"]).stdout)["ports"]
    now = {(p["switch"], p["port"]): p for p in again}[(target["switch"], target["port"])]
    assert now["status"] == "used" and "kantor-dinkes" in now["used_by"]
    text = _run(["show", str(spec_repo), "ports"]).stdout
    assert sum(1 for ln in text.splitlines() if " free " in ln) == len(free) - 1
    links = json.loads(_run(["show", str(spec_repo), "links", "-o", "json"]).stdout)["links"]
    assert links and all({"a", "b", "medium"} <= set(ln) for ln in links)
    buildings = json.loads(_run(["show", str(spec_repo), "buildings", "-o", "json"]).stdout)
    assert "dinkes/kantor-dinkes" in {b["building"] for b in buildings["buildings"]}


def test_doctor_separates_required_from_optional() -> None:
    r = _run(["doctor", "-o", "json"])
    data = json.loads(r.stdout)
    assert all(x["required"] for x in data["required"])
    assert not any(x["required"] for x in data["optional"])
    names = {x["check"] for x in data["optional"]}
    assert "podman" in names and "pulumi engine" in {x["check"] for x in data["required"]}
    text = _run(["doctor"]).stdout
    assert text.index("Required") < text.index("pulumi engine") < text.index("Optional")
    assert text.index("Optional") < text.index("podman")


def test_lock_lists_what_it_allocated(spec_repo: Path) -> None:
    lock = spec_repo / "dcctl.lock.yaml"
    lock.write_text("".join(ln for ln in lock.read_text().splitlines(True) if "dinkes" not in ln))
    r = _run(["lock", str(spec_repo), "-o", "json"])
    assert r.exit_code == 0, r.output
    done = json.loads(r.stdout)
    assert done["changed"] is True and done["moved"] == []
    got = {(a["kind"], a["key"]): a["value"] for a in done["allocated"]}
    assert isinstance(got[("VLAN", "dinkes/servers")], int)
    assert ("address", "dinkes/servers/simpus") in got and ("disk", "dinkes/simpus") in got
    assert all("dinkes" in key for _, key in got)
    lock.write_text(
        "".join(ln for ln in lock.read_text().splitlines(True) if "dinkes/lan" not in ln)
    )
    text = _run(["lock", str(spec_repo)]).stdout
    assert "+ VLAN dinkes/lan: " in text and "+ prefix dinkes/lan: " in text
    assert "dcctl.lock.yaml updated: 2 allocated, 0 moved, 0 released" in text
    assert "up to date" in _run(["lock", str(spec_repo)]).stdout


def test_json_output_maps_values_as_the_standard_library_does() -> None:
    """orjson writes dcctl's JSON (speed, issue 17); a pipeline reads the same values as
    ``json.dumps(default=str)`` gave: enums by value, dates, paths, dataclasses and sets
    through ``str``, non-string keys as strings, UTF-8 text unchanged."""
    import dataclasses
    import datetime
    import enum

    from dcctl.output import json_bytes

    class Mixed(str, enum.Enum):  # noqa: UP042 (the older spelling, still in use)
        A = "a"

    class Word(enum.StrEnum):
        B = "b"

    class Number(enum.IntEnum):
        C = 3

    @dataclasses.dataclass
    class Record:
        x: int = 1

    class Items(list[int]):
        pass

    data = {
        "mixed": Mixed.A,
        "word": Word.B,
        "number": Number.C,
        "record": Record(),
        "path": Path("/srv/x"),
        "when": datetime.datetime(2026, 12, 1, 3, 4, 5),
        1: "an int key",
        None: "a null key",
        "items": Items([1, 2]),
        "text": "Dinas Kesehatan ü",
        "pair": (1, 2),
        "ratio": 1.5,
        "set": {7},
        "nested": {"deep": [{"k": Word.B}]},
    }
    expected = json.loads(json.dumps(data, default=str))
    assert json.loads(json_bytes(data)) == expected
    assert json.loads(json_bytes(data, indent=True)) == expected
    assert json_bytes(data, indent=True).startswith(b'{\n  "mixed"')
    assert "Dinas Kesehatan ü".encode() in json_bytes(data)
