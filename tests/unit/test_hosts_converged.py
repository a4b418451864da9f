"""The hosts layer skips a play on a host only when its recorded inputs prove nothing changed.

Why these tests: skipping is what makes a no-op apply fast, and a wrong skip is a
host silently left unconfigured. Each input the digest covers (a role file, a run
variable, the machine's pinned key, its VM's Pulumi outputs) must lead to a run on
exactly the hosts it concerns; a failed host, a check run and a killed run must
never leave a record that lets it be skipped; ``--converge`` and drift run
everything. Ansible itself is replaced by a fake that reports each host it was
asked to run as ok, so the selection is what is tested, fast.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dcctl.engines.ansible import converged, layer, runner
from dcctl.engines.ansible.converged import record_path, resolve_hosts
from dcctl.engines.ansible.layer import HostLayer, layer_result, run_hosts
from dcctl.engines.ansible.runner import HostResult, PlaybookResult
from dcctl.engines.ansible.vars import RoleVars, roles_dir
from dcctl.engines.layer import Context, Status
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from dcctl.ssh.knownhosts import KnownHosts
from tests.helpers import camera_env_vars

CAMERA_PASSWORD = "camera-password-for-the-test"

Calls = list[tuple[str, list[str]]]


_RESOLVED: dict[str, dict[str, list[str]]] = {}
#: The layer's last resolution (play name -> hosts): what the fake runs without a limit.
_LAST: dict[str, list[str]] = {}


def _resolved(inventory: Any, patterns: Any) -> dict[str, list[str]]:
    """Ansible's resolution, once per inventory and patterns (its plugins load slowly)."""
    key = json.dumps([inventory, patterns], sort_keys=True)
    if key not in _RESOLVED:
        _RESOLVED[key] = resolve_hosts(inventory, patterns)
    _LAST.clear()
    _LAST.update(copy.deepcopy(_RESOLVED[key]))
    return copy.deepcopy(_RESOLVED[key])


class Fake:
    """Stands in for ansible-runner: every host it is asked to run ends ok (or as told)."""

    def __init__(self) -> None:
        self.calls: Calls = []
        self.fail: set[str] = set()
        self.unreachable: set[str] = set()

    def __call__(self, path: Path, inventory: Any, **kw: Any) -> PlaybookResult:
        play = yaml.safe_load(Path(path).read_text(encoding="utf-8"))[0]
        hosts = list(_LAST[play["name"]])
        if kw.get("limit"):
            hosts = [h for h in hosts if h in kw["limit"].split(",")]
        self.calls.append((play["name"], sorted(hosts)))
        # As the real runner: every inventory host has a line, zeros where it did not run.
        out = {h: HostResult() for h in inventory["_meta"]["hostvars"]}
        for h in hosts:
            out[h] = HostResult(
                ok=1, failed=int(h in self.fail), unreachable=int(h in self.unreachable)
            )
        bad = any(r.failed or r.unreachable for r in out.values())
        return PlaybookResult("failed" if bad else "successful", int(bad), hosts=out)

    def ran(self) -> dict[str, set[str]]:
        """Play name -> hosts it ran on (since the last reset)."""
        out: dict[str, set[str]] = {}
        for name, hosts in self.calls:
            out.setdefault(name, set()).update(hosts)
        return {k: v for k, v in out.items() if v}


@pytest.fixture
def env(spec_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """The example (prod target), a private copy of the roles, and the fake Ansible."""
    monkeypatch.setenv("DCCTL_PASSPHRASE", "a passphrase for the test keystore")
    for i, name in enumerate(camera_env_vars(load_spec(spec_repo))):
        monkeypatch.setenv(name, f"{CAMERA_PASSWORD}-{i}")
    roles = tmp_path / "roles"
    shutil.copytree(roles_dir(), roles)
    monkeypatch.setattr(converged, "_roles_root", lambda: roles)
    fake = Fake()
    monkeypatch.setattr(runner, "run_playbook", fake)
    monkeypatch.setattr(layer, "resolve_hosts", _resolved)
    spec = load_spec(spec_repo)
    state = desired_state(spec)
    real = layer.collect
    cached: list[RoleVars] = []
    tweaks: list[Callable[[RoleVars], None]] = []

    def collect(*args: Any, **kw: Any) -> RoleVars:
        # The providers once (the keystore's KDF is slow on purpose), tweaked per test.
        if not cached:
            cached.append(real(*args, **kw))
        rv = copy.deepcopy(cached[0])
        for tweak in tweaks:
            tweak(rv)
        return rv

    monkeypatch.setattr(layer, "collect", collect)
    return {"spec": spec, "state": state, "fake": fake, "roles": roles, "tweaks": tweaks}


def _run(env: dict[str, Any], **kw: Any) -> layer.HostsReport:
    env["fake"].calls.clear()
    return run_hosts(env["spec"], "prod", kw.pop("vm_outputs", None), state=env["state"], **kw)


def _converge(env: dict[str, Any]) -> dict[str, set[str]]:
    """A first apply: every play on every host it matches. Returns what ran."""
    report = _run(env)
    assert report.ok, report.failures
    first = env["fake"].ran()
    assert first, "nothing ran on the first apply"
    assert report.skipped == {}
    return first


def _hosts_of(env: dict[str, Any], group: str) -> set[str]:
    inv = layer.inventory_for(env["spec"], None, layer.collect(env["spec"], None, "prod"))
    return set(inv.get(group, {}).get("hosts", []))


def test_a_second_apply_skips_every_host_and_says_why(env: dict[str, Any]) -> None:
    first = _converge(env)
    report = _run(env)
    assert env["fake"].calls == [], "a play ran although no input changed"
    every = set().union(*first.values())
    assert set(report.skipped) == every
    assert all(
        why.startswith("inputs unchanged since converged at ") for why in report.skipped.values()
    )
    assert report.changes() == {"same": len(every)}
    assert report.to_dict()["skipped"] == report.skipped
    result = layer_result(report, check=False)
    assert result.ok and not result.has_changes
    assert {i.name for i in result.items if i.status is Status.same and i.note} == every


def test_the_record_holds_no_secret(env: dict[str, Any]) -> None:
    _converge(env)
    text = record_path(env["spec"], "prod").read_text(encoding="utf-8")
    assert CAMERA_PASSWORD not in text
    rv = layer.collect(env["spec"], None, "prod")
    for value in rv.secret.values():
        for leaf in value.values() if isinstance(value, dict) else [value]:
            assert str(leaf) not in text
    body = json.loads(text)
    assert set(body) == {"version", "plays"}


def test_a_changed_role_file_runs_that_play_on_its_hosts_only(env: dict[str, Any]) -> None:
    first = _converge(env)
    monitoring = next(n for n in first if "Prometheus" in n)
    tasks = env["roles"] / "monitoring" / "tasks" / "main.yml"
    tasks.write_text(tasks.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    report = _run(env)
    assert env["fake"].ran() == {monitoring: first[monitoring]}
    assert first[monitoring] == _hosts_of(env, "role_monitoring")
    # The others are skipped, and said so, in a run that did run some hosts too.
    others = set().union(*first.values()) - first[monitoring]
    assert set(report.skipped) == others and set(report.hosts) == first[monitoring]
    noted = {i.name for i in layer_result(report, check=False).items if i.note}
    assert noted == others


def test_a_changed_baseline_file_runs_the_baseline_everywhere_but_the_offices(
    env: dict[str, Any],
) -> None:
    first = _converge(env)
    baseline = next(n for n in first if n.startswith("Baseline"))
    (env["roles"] / "baseline" / "templates").mkdir(exist_ok=True)
    (env["roles"] / "baseline" / "templates" / "new.j2").write_text("x\n", encoding="utf-8")
    _run(env)
    ran = env["fake"].ran()
    assert ran == {baseline: first[baseline]}
    assert not ran[baseline] & _hosts_of(env, "vpn_office")


def test_a_changed_variable_runs_the_play_of_its_role_only(env: dict[str, Any]) -> None:
    first = _converge(env)
    monitoring = next(n for n in first if "Prometheus" in n)
    name = next(
        k for k in layer.collect(env["spec"], None, "prod").public if k.startswith("monitoring_")
    )

    def tweak(rv: RoleVars) -> None:
        rv.public[name] = ["changed", rv.public[name]]

    env["tweaks"].append(tweak)
    _run(env)
    assert env["fake"].ran() == {monitoring: first[monitoring]}


def test_a_changed_secret_runs_the_play_that_reads_it(env: dict[str, Any]) -> None:
    first = _converge(env)
    rv = layer.collect(env["spec"], None, "prod")
    name = next(k for k in rv.secret if k.startswith("cctv_recorder_"))
    recorder = next(n for n in first if "CCTV" in n)
    env["tweaks"].append(lambda rv: rv.secret.__setitem__(name, {"other": "x"}))
    _run(env)
    assert env["fake"].ran() == {recorder: first[recorder]}


def _keyline() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def test_a_recreated_machine_runs_every_play_on_it_only(env: dict[str, Any]) -> None:
    """A new pinned key (the machine was recreated) or new VM outputs: that host, all its plays."""
    spec = env["spec"]
    vms = env["state"]["vms"]
    key = sorted(vms)[0]
    host = key.replace("/", "-")
    address = str(vms[key]["address"]).split("/")[0]
    known = KnownHosts(spec.state_dir / "ssh" / "known_hosts")
    known.record(host, address, 22, _keyline())
    outputs = {k: {"address": v["address"], "container_id": "c1"} for k, v in vms.items()}
    first = _run(env, vm_outputs=outputs)
    assert first.ok
    plays_of_host = {n for n, hs in env["fake"].ran().items() if host in hs}
    assert _run(env, vm_outputs=outputs).skipped and env["fake"].calls == []

    known.forget(host)
    known.record(host, address, 22, _keyline())
    _run(env, vm_outputs=outputs)
    assert env["fake"].ran() == {n: {host} for n in plays_of_host}

    other = sorted(vms)[1]
    outputs[other] = {**outputs[other], "container_id": "c2"}
    _run(env, vm_outputs=outputs)
    assert set().union(*env["fake"].ran().values()) == {other.replace("/", "-")}


def test_a_failed_or_unreachable_host_runs_again(env: dict[str, Any]) -> None:
    vms = sorted(env["state"]["vms"])
    bad, dark = vms[0].replace("/", "-"), vms[1].replace("/", "-")
    env["fake"].fail.add(bad)
    env["fake"].unreachable.add(dark)
    report = _run(env)
    assert not report.ok
    env["fake"].fail.clear()
    env["fake"].unreachable.clear()
    _run(env)
    assert set().union(*env["fake"].ran().values()) == {bad, dark}
    _run(env)
    assert env["fake"].calls == []


def test_a_host_about_to_run_loses_its_record_first(env: dict[str, Any]) -> None:
    """Killed mid-play after an input changed: putting the input back must not skip it."""
    first = _converge(env)
    monitoring = next(n for n in first if "Prometheus" in n)
    tasks = env["roles"] / "monitoring" / "tasks" / "main.yml"
    original = tasks.read_text(encoding="utf-8")
    tasks.write_text(original + "\n# edited\n", encoding="utf-8")

    def killed(path: Path, inventory: Any, **kw: Any) -> PlaybookResult:
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "run_playbook", killed)
        with pytest.raises(KeyboardInterrupt):
            _run(env)
    tasks.write_text(original, encoding="utf-8")
    _run(env)
    assert env["fake"].ran() == {monitoring: first[monitoring]}


def test_check_mode_reads_the_record_and_never_writes_it(env: dict[str, Any]) -> None:
    path = record_path(env["spec"], "prod")
    _run(env, check=True)
    assert not path.exists()
    first = _converge(env)
    before = path.read_text(encoding="utf-8")
    report = _run(env, check=True)
    assert env["fake"].calls == [] and set(report.skipped) == set().union(*first.values())
    assert path.read_text(encoding="utf-8") == before


def test_converge_and_drift_run_every_host(env: dict[str, Any]) -> None:
    first = _converge(env)
    report = _run(env, converge=True)
    assert env["fake"].ran() == first and report.skipped == {}
    env["fake"].calls.clear()
    ctx = Context(env["spec"], layer.targets.get("prod"), env["state"])
    result = HostLayer().drift(ctx)
    assert env["fake"].ran() == first
    assert not any(i.note for i in result.items)


def test_ansibles_own_pattern_resolution() -> None:
    inventory = {
        "_meta": {"hostvars": {"a": {}, "b": {}, "o": {}}},
        "vpn_office": {"hosts": ["o"]},
        "role_x": {"hosts": ["a"]},
        "all": {"children": ["ungrouped", "vpn_office", "role_x"]},
        "ungrouped": {"hosts": []},
    }
    got = resolve_hosts(inventory, {"1": "all:!vpn_office", "2": "role_x", "3": "nope"})
    assert sorted(got["1"]) == ["a", "b"] and got["2"] == ["a"] and got["3"] == []


def test_a_plan_with_a_vm_change_pending_skips_no_host(env: dict[str, Any]) -> None:
    """The preview knows only the deployed outputs: a pending VM change must not be skipped."""
    from dcctl.engines.layer import Item, LayerResult

    first = _converge(env)
    ctx = Context(env["spec"], layer.targets.get("prod"), env["state"])
    ctx.earlier["vms"] = LayerResult("vms", outputs={})
    env["fake"].calls.clear()
    assert HostLayer().plan(ctx).items and env["fake"].calls == []
    ctx.earlier["vms"] = LayerResult("vms", items=[Item("vm", Status.planned, "replace")])
    result = HostLayer().plan(ctx)
    assert env["fake"].ran() == first
    assert not any(i.note for i in result.items)


def test_no_play_gathers_facts_and_roles_make_the_facts_they_read() -> None:
    """Fact gathering only where used (issue 17): no play gathers all facts, and every
    fact a role reads (without a default) is made by a task of that role (getent, a
    setup subset)."""
    import re

    import yaml

    from dcctl.paths import playbooks_dir

    root = playbooks_dir()
    plays = yaml.safe_load((root / "site.yml").read_text())
    assert plays and all(p.get("gather_facts") is False for p in plays), [
        p["name"] for p in plays if p.get("gather_facts") is not False
    ]
    makers = {"getent_passwd": "ansible.builtin.getent", "mounts": "gather_subset"}
    for tasks in (root / "roles").glob("*/tasks/*.yml"):
        text = tasks.read_text()
        # a fact read with a default is no requirement (os_family: the images are Debian)
        reads = r"ansible_facts(?:\.|\[')([a-z_]++)(?:'\])?+(?!\s*\|\s*default\()"
        for fact in set(re.findall(reads, text)):
            assert fact in makers, f"{tasks}: reads fact {fact} that no play gathers"
            assert makers[fact] in text, f"{tasks}: reads {fact} without making it"
