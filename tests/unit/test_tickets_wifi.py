"""An OPD asks for Wi-Fi in one of its buildings (issue 20): ticket ``wifi_baru``.

The example's MPP Wi-Fi is what ``examples/tickets/wifi-baru.yaml`` asks for: the repo
here is the example as it was before that ticket (the access point installed, no Wi-Fi
yet), so rendering the ticket must give back exactly the example's data, and the
plan must touch only the AP (its SSIDs) and the trunk the guest VLAN now crosses.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcctl.spec import load_spec
from dcctl.tickets import TicketRefused, render_ticket
from tests.conftest import EXAMPLE, ROOT
from tests.helpers import git_init_commit
from tests.unit.test_tickets import branch_diff, changed_files, plan

TICKET = ROOT / "examples" / "tickets" / "wifi-baru.yaml"
CAPIL = "opd/disdukcapil.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The example before the MPP Wi-Fi ticket: ap-mpp installed, in no building."""
    dest = tmp_path / "spec"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("state"))
    text = (dest / CAPIL).read_text()
    lines = [
        ln
        for ln in text.splitlines(keepends=True)
        if not ln.startswith("wifi:") and "Staff Wi-Fi at the MPP" not in ln
    ]
    before = "".join(lines).replace(", access_points: [ap-mpp]}", "}")
    assert before != text and "wifi:" not in before and "access_points" not in before
    (dest / CAPIL).write_text(before)
    load_spec(dest).allocation.lock().write(dest)
    return git_init_commit(dest, "before the MPP Wi-Fi")


def ticket(tmp_path: Path, **change: Any) -> Path:
    data = yaml.safe_load(TICKET.read_text())
    data["permintaan"].update(change)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_wifi_baru_gives_back_the_examples_mpp_wifi(repo: Path, tmp_path: Path) -> None:
    result = render_ticket(TICKET, repo)
    branch = result.branch or ""
    assert changed_files(repo, branch) == [CAPIL]
    removed, added = branch_diff(repo, branch, CAPIL)
    assert removed == [
        "  - {name: mpp, location: Mal Pelayanan Publik Lantai 1, switch: sw-disdukcapil, "
        "lan_ports: [Gi1/0/1, Gi1/0/2, Gi1/0/3]}"
    ]
    assert added[0] == removed[0][:-1] + ", access_points: [ap-mpp]}"
    assert added[1:] == [
        "wifi:",
        "  ssid: CAPIL-STAF",
        "  security: wpa2",
        "  passphrase: env:WSB_DISDUKCAPIL_WIFI_PASSPHRASE",
        "  guest: true",
    ]
    example = load_spec(EXAMPLE).opds["disdukcapil"]
    rendered = yaml.safe_load(git_show(repo, branch, CAPIL))
    assert rendered["wifi"] == example.wifi.model_dump()  # type: ignore[union-attr]
    assert rendered["buildings"][0]["access_points"] == ["ap-mpp"]
    changes = plan(repo, branch, tmp_path)
    # The AP gets its SSIDs, the MPP's LAN and the guest VLAN now cross the access
    # switch's and the distribution switch's trunks to it; its alerts go to disdukcapil.
    assert sorted(changes) == [
        ("monitoring", "ap/ap-mpp", "update"),
        ("switches", "ap-mpp", "update"),
        ("switches", "sw-disdukcapil", "update"),
        ("switches", "sw-dist-kota", "update"),
    ]
    assert "WSB_DISDUKCAPIL_WIFI_PASSPHRASE" in result.diff() and "wpa2-pre" not in result.diff()


def git_show(repo: Path, branch: str, path: str) -> str:
    from tests.helpers import git

    return git(repo, "show", f"{branch}:{path}")


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"gedung": "gudang"}, "permintaan.gedung", "has no building 'gudang'"),
        ({"access_point": "ap-dinkes"}, "permintaan.access_point", "already serves a building"),
        ({"access_point": "sw-dinkes"}, "permintaan.access_point", "not an access point"),
        (
            {"kata_sandi": "env:WSB_DINKES_WIFI_PASSPHRASE"},
            "permintaan.kata_sandi",
            "not one of disdukcapil's credentials",
        ),
        (
            {"kata_sandi": "env:WSB_SWITCH_PASSWORD"},
            "permintaan.kata_sandi",
            "not one of disdukcapil's credentials",
        ),
        ({"keamanan": "wpa3"}, "permintaan.access_point", "offers WPA2 only"),
        ({"ssid": "DINKES-STAF"}, "permintaan.ssid", "already dinkes's"),
    ],
)
def test_wifi_baru_refusals_name_the_ticket_field(
    repo: Path, tmp_path: Path, change: dict[str, Any], field: str, fragment: str
) -> None:
    before = git_show(repo, "main", CAPIL)
    with pytest.raises(TicketRefused) as exc:
        render_ticket(ticket(tmp_path, **change), repo)
    hits = [r for r in exc.value.refusals if fragment in r.reason]
    assert hits, exc.value.refusals
    assert hits[0].field == field, hits[0]
    assert (repo / CAPIL).read_text() == before


def test_a_second_building_joins_the_opds_wifi_as_it_is(tmp_path: Path) -> None:
    """dinkes has Wi-Fi: a ticket for another building adds its AP, not a second SSID."""
    dest = tmp_path / "spec"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("state"))
    site = (dest / "site.yaml").read_text()
    site = site.replace(
        "  - name: ap-mpp\n",
        "  - name: ap-labkesda\n    vendor: mikrotik_routeros\n    model: cAP ac\n"
        "    role: ap\n    location: Labkesda\n    mgmt_address: 10.255.0.43\n"
        "    credential: env:WSB_SWITCH_PASSWORD\n    ports: [ether1-2, wlan1-2]\n"
        "  - name: ap-mpp\n",
    ).replace(
        "  - {name: cu-mpp-ap,",
        '  - {name: cu-labkesda-ap, a: "sw-setda:Gi1/0/11", b: "ap-labkesda:ether1", '
        "medium: copper}\n  - {name: cu-mpp-ap,",
    )
    (dest / "site.yaml").write_text(site)
    load_spec(dest).allocation.lock().write(dest)
    repo = git_init_commit(dest, "an AP installed at the Labkesda")
    data = yaml.safe_load(TICKET.read_text())
    data.update(opd="dinkes", pemohon={"nama": "SIK", "email": "sik.dinkes@wonosobokab.go.id"})
    data["permintaan"] = {"gedung": "labkesda", "access_point": "ap-labkesda"}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    result = render_ticket(path, repo)
    removed, added = branch_diff(repo, result.branch or "", "opd/dinkes.yaml")
    assert len(removed) == len(added) == 1 and added[0].endswith("access_points: [ap-labkesda]}")
    with pytest.raises(TicketRefused) as exc:
        data["permintaan"]["ssid"] = "LABKESDA"
        data["nomor_tiket"] = "KOM-2025-0999"
        path.write_text(yaml.safe_dump(data))
        render_ticket(path, repo)
    assert exc.value.refusals[0].field == "permintaan.ssid"


def test_wifi_baru_refusals_in_indonesian(repo: Path, tmp_path: Path) -> None:
    """The same refusals with `--lang id` (issue 19): a ticket is refused in Indonesian."""
    from dcctl import i18n

    i18n.set_language("id")
    cases = [
        ({"gedung": "gudang"}, "tidak punya gedung 'gudang'"),
        ({"access_point": "ap-dinkes"}, "access point ap-dinkes sudah melayani sebuah gedung"),
        ({"access_point": "sw-dinkes"}, "'sw-dinkes' bukan access point milik site"),
        (
            {"kata_sandi": "env:WSB_DINKES_WIFI_PASSPHRASE"},
            "bukan wifi_passphrase dalam registri disdukcapil (opd/disdukcapil.yaml)",
        ),
    ]
    for change, fragment in cases:
        with pytest.raises(TicketRefused) as exc:
            render_ticket(ticket(tmp_path, **change), repo)
        assert any(fragment in r.reason for r in exc.value.refusals), exc.value.refusals
