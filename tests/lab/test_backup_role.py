"""The backup roles against real containers: restic to per-OPD SFTP repositories, a drill.

Why scratch containers and not the full lab: the behaviour under test is the roles'
(accounts and directories on the backup VMs, restic under a systemd timer on the
clients, the off-site copy, retention, the drill script), and a private network in
172.31.40.0/24 lets this run next to someone else's lab. Every name starts with
``hbak``; ``tests.netns`` removes it all afterwards. The layout (one bridge, the
"server network"; Ansible reaches everyone from the root namespace):

    root ns: bridge hbakbr 172.31.40.1/24
      infra-backup     .2   the OPDs' primary repositories
      infra-backup-dr  .3   the off-site copies
      opda-app         .4   OPD opda, rahasia-like: two copies (primary + off-site)
      opdb-app         .5   OPD opdb: one copy
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dcctl.backup.ansible import build_role_vars, open_keys
from dcctl.backup.keys import password_name, ssh_name
from dcctl.engines.ansible.runner import PlaybookResult, run_playbook
from dcctl.lab import net
from tests.lab.conftest import lab_image, needs, start_host
from tests.lab.test_vpn_role import pexec, wait_ssh
from tests.netns import End, Netns

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "playbooks" / "roles"
P = "hbak"
BRIDGE = f"{P}br"
ADDRS = {
    "infra-backup": "172.31.40.2",
    "infra-backup-dr": "172.31.40.3",
    "opda-app": "172.31.40.4",
    "opdb-app": "172.31.40.5",
}
PLAYBOOK = f"""---
- name: Repositories
  hosts: backup_repository
  become: true
  gather_facts: false
  roles:
    - role: {ROLES / "backup_repository"}
- name: Clients
  hosts: backup_client
  become: true
  gather_facts: false
  roles:
    - role: {ROLES / "backup_client"}
      vars:
        backup_client_install_packages: false
"""


def box(name: str) -> str:
    """The container (and namespace) of inventory host ``name``: under the test's prefix."""
    return f"{P}-{name}"


def _repo(code: str, vm: str, host: str) -> dict[str, str]:
    path = f"/srv/backup/{code}"
    return {"vm": vm, "host": host, "path": path, "url": f"sftp:bk-{code}@{host}:{path}"}


def assert_ok(res: PlaybookResult, events: list[dict[str, Any]]) -> None:
    """Every host ok; else what failed, with the task's stderr (the script says why)."""
    bad = {h: r for h, r in res.hosts.items() if r.failed or r.unreachable}
    why = [
        (e["event_data"].get("host"), e["event_data"].get("task"),
         str(e["event_data"].get("res", {}).get("stderr") or e["event_data"].get("res", {}))[-800:])
        for e in events
        if e.get("event") in ("runner_on_failed", "runner_on_unreachable")
    ]  # fmt: skip
    assert res.rc == 0 and not bad, (res.status, res.rc, bad, why)


def desired() -> dict[str, Any]:
    """The desired state's backup and vms records, shaped as desired_state makes them."""
    primary, offsite = ADDRS["infra-backup"], ADDRS["infra-backup-dr"]
    return {
        "backup": {
            "opda": {
                "opd": "opda",
                "user": "bk-opda",
                "key": password_name("opda"),
                "repositories": {
                    "primary": _repo("opda", "infra/backup", primary),
                    "offsite": _repo("opda", "infra/backup-dr", offsite),
                },
                "vms": ["opda/app"],
            },
            "opdb": {
                "opd": "opdb",
                "user": "bk-opdb",
                "key": password_name("opdb"),
                "repositories": {"primary": _repo("opdb", "infra/backup", primary)},
                "vms": ["opdb/app"],
            },
        },
        "vms": {
            "opda/app": {
                "opd": "opda",
                "role": "app",
                "backup": {"schedule": "hourly", "retention_days": 14,
                           "repositories": ["primary", "offsite"]},
            },
            "opdb/app": {
                "opd": "opdb",
                "role": "app",
                "backup": {"schedule": "daily", "retention_days": 7,
                           "repositories": ["primary"]},
            },
        },
    }  # fmt: skip


@dataclass
class Scratch:
    tmp: Path
    ssh_key: Path
    state_dir: Path
    events: list[dict[str, Any]]

    def role_vars(self) -> Any:
        state = desired()
        store = open_keys(state, self.state_dir, "lab", create=True)
        host_keys = {
            name: " ".join(pexec(box(name), "cat", "/etc/ssh/ssh_host_ed25519_key.pub").split()[:2])
            for name in ("infra-backup", "infra-backup-dr")
        }
        return build_role_vars(state, store, host_keys), store

    def apply(self) -> PlaybookResult:
        rv, _ = self.role_vars()
        inventory: dict[str, Any] = {
            "_meta": {
                "hostvars": {
                    name: {
                        "ansible_host": addr,
                        "ansible_user": "dcctl",
                        **rv.hostvars.get(name, {}),
                    }
                    for name, addr in ADDRS.items()
                }
            },
            **{g: {"hosts": hs} for g, hs in rv.groups.items()},
        }
        playbook = self.tmp / "backup.yml"
        playbook.write_text(PLAYBOOK)
        return run_playbook(
            playbook,
            inventory,
            extravars={**rv.public, **rv.secret},
            ssh_key=self.ssh_key,
            on_event=self.events.append,
            known_hosts=None,
        )


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    reason = needs("ip", "podman", "ssh-keygen")
    if reason:
        pytest.skip(reason)
    image = lab_image()
    tmp = Path(tempfile.mkdtemp(prefix="hbak-"))
    old = os.environ.get("DCCTL_PASSPHRASE")
    os.environ["DCCTL_PASSPHRASE"] = base64.b64encode(os.urandom(18)).decode()
    try:
        with Netns(P, subnet="172.31.40.0/24") as n:
            key = tmp / "id_ed25519"
            net.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hbak", "-f", str(key)])
            pub = key.with_suffix(".pub").read_text().strip()
            n.bridge(BRIDGE, addrs=["172.31.40.1/24"])
            for i, (name, addr) in enumerate(ADDRS.items()):
                n.netns(box(name))
                n.veth(End(f"{P}v{i}", master=BRIDGE), End("eth0", box(name), [f"{addr}/24"]))
            with ThreadPoolExecutor(4) as pool:  # boots overlap
                list(pool.map(lambda name: start_host(box(name), box(name), image, pub), ADDRS))
            for addr in ADDRS.values():
                wait_ssh(addr)
            yield Scratch(tmp, key, tmp / "state", [])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is None:
            os.environ.pop("DCCTL_PASSPHRASE", None)
        else:
            os.environ["DCCTL_PASSPHRASE"] = old


def restic(host: str, repo: str, *args: str, check: bool = True) -> str:
    """restic on ``host`` against its repository ``repo``, as its backup script runs it."""
    conf = json.loads(pexec(box(host), "cat", "/etc/dcctl/backup/backup.json"))
    return pexec(
        box(host), "env", "RESTIC_PASSWORD_FILE=/etc/dcctl/backup/password",
        "restic", "--no-cache", "-r", conf["repositories"][repo]["url"], *args, check=check,
    )  # fmt: skip


def snapshots(host: str, repo: str) -> list[dict[str, Any]]:
    return list(json.loads(restic(host, repo, "snapshots", "--json") or "[]"))


def test_backups_copies_isolation_drill_and_no_secret_leak(scratch: Scratch) -> None:
    t0 = time.monotonic()
    first = scratch.apply()
    print(f"\nfirst apply {time.monotonic() - t0:.1f}s: {first.hosts}")
    slow = sorted(
        (
            float(e["event_data"].get("duration") or 0),
            e["event_data"]["host"],
            e["event_data"]["task"],
        )
        for e in scratch.events
        if e.get("event") == "runner_on_ok"
    )[-8:]
    print("slowest tasks:", slow)
    assert_ok(first, scratch.events)

    # Every VM with a policy has a snapshot after the apply; the two-copy one in both
    # repositories, the one-copy one in the primary only.
    a = snapshots("opda-app", "primary")
    assert [s["hostname"] for s in a] == ["opda-app"]
    assert [s["hostname"] for s in snapshots("opda-app", "offsite")] == ["opda-app"]
    assert [s["hostname"] for s in snapshots("opdb-app", "primary")] == ["opdb-app"]
    assert (
        "offsite"
        not in json.loads(pexec(box("opdb-app"), "cat", "/etc/dcctl/backup/backup.json"))[
            "repositories"
        ]
    )
    assert "/etc" in a[0]["paths"]
    # The timer keeps the schedule.
    timer = pexec(box("opda-app"), "systemctl", "show", "dcctl-backup.timer",
                  "-p", "ActiveState", "-p", "TimersCalendar")  # fmt: skip
    assert "ActiveState=active" in timer and "OnCalendar=*-*-* *:00:00" in timer, timer
    # The age metric is exported for node exporter, per OPD, VM and repository.
    prom = pexec(box("opda-app"), "cat", "/var/lib/prometheus/node-exporter/dcctl_backup.prom")
    for repo in ("primary", "offsite"):
        labels = f'opd="opda",vm="opda/app",repo="{repo}"'
        line = f"dcctl_backup_last_success_timestamp_seconds{{{labels}}}"
        assert line in prom, prom
        assert abs(float(prom.split(line)[1].split()[0]) - time.time()) < 600

    # Second run: nothing to change.
    t0 = time.monotonic()
    mark = len(scratch.events)
    second = scratch.apply()
    print(f"second apply {time.monotonic() - t0:.1f}s")
    assert_ok(second, scratch.events)
    changed = [
        (e["event_data"]["host"], e["event_data"]["task"])
        for e in scratch.events[mark:]
        if e.get("event") == "runner_on_ok" and e["event_data"].get("res", {}).get("changed")
    ]
    assert sum(r.changed for r in second.hosts.values()) == 0, changed

    # A file written on a VM is in the next backup; the drill restores it byte-identical.
    payload = base64.b64encode(os.urandom(3000)).decode()
    pexec(box("opda-app"), "install", "-d", "/srv/data")
    pexec(box("opda-app"), "sh", "-c", "cat > /srv/data/records.txt", stdin=payload)
    # Counted just before: the hourly timer may have run once since the first apply.
    before = {repo: len(snapshots("opda-app", repo)) for repo in ("primary", "offsite")}
    pexec(box("opda-app"), "systemctl", "start", "dcctl-backup.service")
    for repo, count in before.items():
        assert len(snapshots("opda-app", repo)) == count + 1, repo
    assert restic("opda-app", "offsite", "dump", "latest", "/srv/data/records.txt") == payload
    out = subprocess.run(
        ["podman", "exec", box("opda-app"), "/usr/local/sbin/dcctl-backup", "drill"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["ok"], (report, out.stderr)
    assert report["check"] == "ok" and report["mismatched_count"] == 0
    assert report["matched"] >= 1 and report["seconds"] > 0
    prom = pexec(box("opda-app"), "cat", "/var/lib/prometheus/node-exporter/dcctl_backup.prom")
    assert 'dcctl_backup_drill_last_success_timestamp_seconds{opd="opda",vm="opda/app"}' in prom
    # A corrupted source file is found by the checksums (same size and time, other bytes).
    flip = (
        "import os; p='/srv/data/records.txt'; s=os.stat(p); d=open(p,'rb').read(); "
        "open(p,'wb').write(bytes([d[0]^1])+d[1:]); os.utime(p, ns=(s.st_atime_ns, s.st_mtime_ns))"
    )
    pexec(box("opda-app"), "python3", "-c", flip)
    out = subprocess.run(
        ["podman", "exec", box("opda-app"), "/usr/local/sbin/dcctl-backup", "drill"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    bad = json.loads(out.stdout)
    assert out.returncode == 1 and not bad["ok"]
    assert bad["mismatched"] == ["/srv/data/records.txt"], bad

    # One OPD cannot read another's repository: opdb's account sees no opda directory
    # content, and its key opens no other account (nor a shell).
    ls = pexec(box("opdb-app"), "sh", "-c",
               "echo 'ls /srv/backup/opda' | sftp -b - dcctl-backup-primary",
               check=False)  # fmt: skip
    listing = subprocess.run(
        ["podman", "exec", box("opdb-app"), "sh", "-c",
         "echo 'ls /srv/backup/opda' | sftp -b - dcctl-backup-primary"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listing.returncode != 0 and "denied" in listing.stderr.lower(), (ls, listing.stderr)
    own = subprocess.run(
        ["podman", "exec", box("opdb-app"), "sh", "-c",
         "echo 'ls /srv/backup/opdb' | sftp -b - dcctl-backup-primary"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert own.returncode == 0 and "config" in own.stdout, own.stderr
    as_other = subprocess.run(
        ["podman", "exec", box("opdb-app"), "ssh", "-l", "bk-opda", "dcctl-backup-primary", "true"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert as_other.returncode != 0 and "denied" in as_other.stderr.lower(), as_other.stderr
    shell = subprocess.run(
        ["podman", "exec", box("opdb-app"), "ssh", "dcctl-backup-primary", "cat", "/etc/hostname"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "infra-backup" not in shell.stdout, shell.stdout
    mode = pexec(box("infra-backup"), "stat", "-c", "%U %a", "/srv/backup/opda", "/srv/backup/opdb")
    assert mode.split() == ["bk-opda", "700", "bk-opdb", "700"]

    # No password or private key in the run's output, the state dir or the repo; the
    # password file is root's only.
    _, store = scratch.role_vars()
    names = [n(c) for c in ("opda", "opdb") for n in (password_name, ssh_name)]
    secrets = [store.pair(name).private for name in names]
    events = json.dumps(scratch.events)
    state = b"".join(p.read_bytes() for p in scratch.state_dir.rglob("*") if p.is_file())
    for secret in secrets:
        # The password, or line 3 of an Ed25519 PEM body (the private seed; 1-2: header, public).
        for part in secret.splitlines()[3:4] or [secret]:
            assert part not in events
            assert part.encode() not in state
            found = subprocess.run(
                ["git", "-C", str(REPO), "grep", "--untracked", "-I", "-l", "-F", "-e", part],
                capture_output=True, text=True,
            )  # fmt: skip
            assert found.returncode == 1, found.stdout
    assert pexec(box("opda-app"), "stat", "-c", "%a %U", "/etc/dcctl/backup/password").split() == [
        "600",
        "root",
    ]
    assert len(scratch.events) > 50
