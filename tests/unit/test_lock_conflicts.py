"""Two ticket branches from one commit reserve the same addresses: review must see it.

The issue's case, with real ticket branches (`dcctl ticket render`) in a temporary Git
repo: a `kantor_vpn` ticket for dinkes and one for dpmd, cut from the same commit, both
take the next office LAN prefix and tunnel address. Git merges both locks cleanly; the
merge-request pipeline's `dcctl validate --against <target>` must fail on the second
branch, naming the colliding allocation and the way to re-lock, and the re-lock must
keep every value the target branch already has.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from dcctl.cli import app
from dcctl.spec.ipam import LOCK_FILE
from dcctl.tickets import render_ticket
from tests.conftest import EXAMPLE
from tests.helpers import git, git_init_commit


def office_ticket(tmp_path: Path, number: str, opd: str, who: dict[str, str], wan: str) -> Path:
    data: dict[str, Any] = {
        "nomor_tiket": number,
        "judul": "Gabungkan kantor ke VPN",
        "opd": opd,
        "pemohon": who,
        "jenis": "kantor_vpn",
        "permintaan": {
            "nama": "kantor-baru",
            "lokasi": "Kantor baru",
            "router": "linux",
            "alamat_wan": wan,
        },
    }
    path = tmp_path / f"{number}.json"
    path.write_text(json.dumps(data))
    return path


def lock_of(repo: Path, rev: str) -> dict[str, Any]:
    return yaml.safe_load(git(repo, "show", f"{rev}:{LOCK_FILE}"))


@pytest.fixture
def two_branches(tmp_path: Path) -> tuple[Path, str, str]:
    """main with the example; ticket/A (dinkes) and ticket/B (dpmd) both cut from it."""
    repo = git_init_commit(
        shutil.copytree(EXAMPLE, tmp_path / "spec", ignore=shutil.ignore_patterns("state"))
    )
    dinkes = {"nama": "Seksi Sistem Informasi Kesehatan", "email": "sik.dinkes@wonosobokab.go.id"}
    dpmd = {"nama": "Bidang Pemerintahan Desa", "email": "dpmd@wonosobokab.go.id"}
    a = render_ticket(office_ticket(tmp_path, "A-1", "dinkes", dinkes, "198.51.100.201"), repo)
    b = render_ticket(office_ticket(tmp_path, "B-1", "dpmd", dpmd, "198.51.100.202"), repo)
    assert a.branch and b.branch
    return repo, a.branch, b.branch


def test_the_second_branch_fails_validate_against_main(
    two_branches: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, a, b = two_branches
    la, lb = lock_of(repo, a), lock_of(repo, b)
    # The collision itself: both branches took the same next prefix and tunnel address.
    prefix = la["prefixes"]["dinkes/office/kantor-baru"]
    tunnel = la["addresses"]["vpn/dinkes/kantor-baru"]
    assert lb["prefixes"]["dpmd/office/kantor-baru"] == prefix
    assert lb["addresses"]["vpn/dpmd/kantor-baru"] == tunnel

    git(repo, "merge", "-q", "--no-ff", "-m", "merge A", a)  # the first MR is merged
    wt = tmp_path / "wt-b"
    git(repo, "worktree", "add", "-q", str(wt), b)  # the second MR's pipeline checkout
    cli = CliRunner()
    assert cli.invoke(app, ["validate", str(wt)]).exit_code == 0  # alone, B is consistent
    r = cli.invoke(app, ["validate", str(wt), "--against", "main"])
    assert r.exit_code == 1
    out = r.output
    assert (
        f"prefix {prefix} of dpmd/office/kantor-baru collides with dinkes/office/kantor-baru" in out
    )
    assert f"({prefix}) on main" in out
    assert f"address {tunnel} of vpn/dpmd/kantor-baru collides with vpn/dinkes/kantor-baru" in out
    assert "dcctl lock --against main" in out
    assert "dcctl.lock.yaml:" in out  # names the file and the line of the entry
    data = json.loads(
        cli.invoke(app, ["validate", str(wt), "--against", "main", "-o", "json"]).output
    )
    assert data["ok"] is False
    assert {e["path"] for e in data["errors"]} >= {
        "prefixes.dpmd/office/kantor-baru",
        "addresses.vpn/dpmd/kantor-baru",
    }


def test_a_clean_git_merge_of_both_locks_is_refused_then_relocked_onto_main(
    two_branches: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, a, b = two_branches
    git(repo, "merge", "-q", "--no-ff", "-m", "merge A", a)
    main_lock = lock_of(repo, "main")
    wt = tmp_path / "wt-b"
    git(repo, "worktree", "add", "-q", str(wt), b)
    git(wt, "merge", "-q", "-m", "bring main in", "main")  # Git merges the lock cleanly
    cli = CliRunner()
    r = cli.invoke(app, ["validate", str(wt)])
    assert r.exit_code == 1
    assert "is held by both dinkes/office/kantor-baru and dpmd/office/kantor-baru" in r.output
    before = (wt / LOCK_FILE).read_text()
    r = cli.invoke(app, ["lock", str(wt)])  # which key keeps it is not key order's call
    assert r.exit_code == 1 and (wt / LOCK_FILE).read_text() == before
    r = cli.invoke(app, ["lock", str(wt), "--against", "main"])
    assert r.exit_code == 0, r.output
    assert "dpmd/office/kantor-baru: " in r.output and "collides with" in r.output
    new = yaml.safe_load((wt / LOCK_FILE).read_text())
    for section, values in main_lock.items():  # nothing main has moved
        if isinstance(values, dict):
            assert {k: new[section][k] for k in values} == values, section
    assert (
        new["prefixes"]["dpmd/office/kantor-baru"]
        != main_lock["prefixes"]["dinkes/office/kantor-baru"]
    )
    assert cli.invoke(app, ["validate", str(wt), "--against", "main"]).exit_code == 0


def test_lock_clash_finder_matches_every_pair_compared() -> None:
    """The linear clash finder (issue 17: a x10 lock took a minute pair by pair) finds
    exactly the pairs, in the order, that comparing every pair finds: equal values,
    nested and equal prefixes, disjoint neighbours, IPv4 beside IPv6."""
    import random

    import netaddr

    from dcctl.gitops.lockcheck import _clashing_pairs

    def brute(section: str, values: list[str]) -> list[tuple[int, int]]:
        def clash(a: str, b: str) -> bool:
            if section == "prefixes":
                na, nb = netaddr.IPNetwork(a), netaddr.IPNetwork(b)
                return na in nb or nb in na
            return a == b

        return [
            (i, j)
            for i in range(len(values))
            for j in range(i + 1, len(values))
            if clash(values[i], values[j])
        ]

    rng = random.Random(17)
    for _ in range(200):
        prefixes = [
            f"10.{rng.randrange(3)}.{rng.randrange(4) * 64}.0/{rng.choice((16, 18, 24, 26))}"
            if rng.random() < 0.9
            else f"fd00:{rng.randrange(2)}::/{rng.choice((48, 64))}"
            for _ in range(rng.randrange(1, 14))
        ]
        assert _clashing_pairs("prefixes", prefixes) == brute("prefixes", prefixes)
        vlans = [str(rng.randrange(100, 106)) for _ in range(rng.randrange(1, 14))]
        assert _clashing_pairs("vlans", vlans) == brute("vlans", vlans)
