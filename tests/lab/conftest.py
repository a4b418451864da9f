"""Fixtures for tests that build a real lab: root, Open vSwitch, namespaces.

Why a fixture with a unique lab id and an unconditional `down`: lab tests share
one machine with other labs (and other engineers' test runs). A private id keeps
their namespaces, bridges and state apart, and the finalizer removes everything
even when a test fails half-way, so a failed run never leaves debris behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.util
import os
import random
import shutil
import string
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dcctl.lab import net, runner
from dcctl.lab.plan import LabPlan
from dcctl.lab.topology import build_plan, lab_prefix, state_root
from dcctl.spec import Spec, load_spec

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "wonosobo"


#: Debian packages of the tools lab tests call, for the skip message.
PACKAGES = {
    **runner.TOOLS,
    "podman": "podman",
    "runc": "runc",
    "ssh": "openssh-client",
    "ping": "iputils-ping",
}


def needs(*tools: str, ovs: bool = False, modules: tuple[str, ...] = ()) -> str | None:
    """Why a lab test cannot run on this machine, or None.

    Only what a test cannot provide itself is a reason to skip: root, a tool,
    a Python package. A stopped Open vSwitch is started (as `dcctl lab up`
    does), so whether a test runs never depends on which test ran before it.
    """
    if sys.platform != "linux" or os.geteuid() != 0:
        return "lab tests need root on Linux (network namespaces, veth, Open vSwitch, podman)"
    for tool in tools:
        if net.which(tool) is None:
            return f"{tool} missing (apt-get install {PACKAGES.get(tool, tool)})"
    for mod in modules:
        if importlib.util.find_spec(mod) is None:
            return f"python package {mod} missing (scripts/setup)"
    if ovs:
        try:
            net.ensure_ovs()
        except net.NetError as exc:
            return f"Open vSwitch does not start: {exc}"
    return None


def lab_skip_reason() -> str | None:
    return needs("ip", "ovs-vsctl", "ethtool", ovs=True)


def unique_lab_id() -> str:
    """A 3-character id not used by any namespace, interface or state dir here."""
    rng = random.SystemRandom()
    taken_ns = net.netns_list()
    taken_links = list(net.links(None))
    for _ in range(200):
        lab_id = "t" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in "xy")
        p = lab_prefix(lab_id)
        if (
            not any(n.startswith(p) for n in taken_ns + taken_links)
            and not (state_root() / lab_id).exists()
        ):
            return lab_id
    raise RuntimeError("no free lab id")


@dataclass
class Lab:
    spec: Spec
    plan: LabPlan
    #: What `runner.up` returned (None when the lab was built through the CLI).
    first_up: runner.Result | None


#: A fresh machine's values of the host settings the lab touches (kernel defaults).
FRESH_HOST = {"net.ipv4.ip_forward": "0", "fs.inotify.max_user_instances": "128"}


@pytest.fixture(scope="session", autouse=True)
def fresh_host_settings() -> Iterator[None]:
    """Lab tests run on a host at fresh-machine defaults, then get the host back as it was.

    Why: a lab that silently depends on a host setting an engineer changed by hand
    (forwarding on, a raised inotify limit) passes here and fails at a user's. The
    lab itself must set, report and undo what it needs (`dcctl.lab.host`). A setting
    a lab that is up holds (an engineer's own lab) is left alone.
    """
    if sys.platform != "linux" or os.geteuid() != 0:
        yield
        return
    from dcctl.lab import host

    saved = {key: host.current(key) for key in FRESH_HOST}
    held = host.held()
    for key, value in FRESH_HOST.items():
        if saved[key] is not None and key not in held:
            host.write(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is not None and key not in held:
                host.write(key, value)


@pytest.fixture(scope="module")
def built_lab() -> Iterator[Lab]:
    """The example's lab built in-process (`runner.up`), taken down afterwards."""
    with example_lab_turn() as (spec, plan):
        result = runner.up(plan, wait=60)
        print(f"\nlab {plan.lab_id}: first up took {result.elapsed:.1f}s: {result.changes}")
        yield Lab(spec, plan, result)


@contextlib.contextmanager
def example_lab_turn() -> Iterator[tuple[Spec, LabPlan]]:
    """This session's turn for a lab of the example: a free lab id, marked, always taken down.

    Labs of one spec share addresses (routes from the root namespace to the lab's
    management and WAN networks), so test sessions on one machine take turns, and
    the labs of killed runs are swept first. The caller builds the lab (in-process
    or through the CLI); whatever it built is removed on the way out.
    """
    with lab_turn(EXAMPLE) as turn:
        yield turn


@contextlib.contextmanager
def lab_turn(root: Path) -> Iterator[tuple[Spec, LabPlan]]:
    """The turn for a lab of the spec at `root`, as `example_lab_turn` (which uses it).

    A spec built with tests/specs.py takes the example's Site as its template, so its
    lab uses the example's management and WAN addresses: it takes the same turn.
    """
    reason = lab_skip_reason()
    if reason:
        pytest.skip(reason)
    with open("/run/dcctl-lab-tests.lock", "w") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        for lab_id in sweep_stale_test_labs():
            print(f"\nremoved lab {lab_id}, left behind by a killed test run")
        spec = load_spec(root)
        plan = build_plan(spec, unique_lab_id())
        held = runner.address_holder(plan)
        if held:  # an engineer's own lab of the example (the demo's): not ours to take down
            pytest.skip(
                f"lab {held[0]!r} is up and holds the addresses of {root.name}'s lab; "
                f"this lab test needs it down: dcctl lab down --lab-id {held[0]}"
            )
        plan.state_dir.mkdir(parents=True, exist_ok=True)
        (plan.state_dir / TEST_OWNER).write_text(f"{os.getpid()}\n")
        try:
            yield spec, plan
        finally:
            runner.down(plan.lab_id, plan.state_dir)
            shutil.rmtree(plan.state_dir, ignore_errors=True)


#: Marks a lab's state dir as made by this suite, with the pid of the run that made it.
TEST_OWNER = "pytest-owner"


def sweep_stale_test_labs() -> list[str]:
    """Take down the example labs of test runs that died before their finalizer ran.

    A run killed outright (SIGKILL, a session cut) leaves its lab's namespaces,
    routes and containers in the kernel; the next run's lab would then find the
    management routes held by the dead one and its switches unreachable. Only
    labs this suite marked are touched, and only with the turn lock held: a
    marked lab present then belongs to a run that no longer holds the lock.
    """
    swept = []
    for marker in sorted(state_root().glob(f"*/{TEST_OWNER}")):
        state_dir = marker.parent
        runner.down(state_dir.name, state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
        swept.append(state_dir.name)
    return swept


@functools.cache
def lab_image() -> str:
    """The lab's golden image tag, built once (then cached by recipe hash) by the project's script.

    A failing build fails the test: a lab test skipped because its image cannot
    be built would hide exactly the breakage it is there to find.
    """
    proc = net.run([str(REPO / "scripts" / "build-lab-image")], timeout=1500)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError("scripts/build-lab-image printed no image tag")
    return lines[-1]


def start_host(
    name: str, netns: str, image: str, pubkey: str, user: str | None = "dcctl", timeout: float = 60
) -> None:
    """A scratch Debian host for a role test: the lab image under systemd in `netns`.

    Started and given its login by the code that starts lab VMs and office
    routers (`dcctl.lab.podman`: `user` with sudo, or root's keys when `user` is
    None), so a role test meets the host the way the hosts layer meets a lab VM.
    Returns once sshd listens.
    """
    from dcctl.lab.podman import install_login, machine_args, podman, start_machine

    start_machine(name, netns, machine_args(name, netns, image))
    install_login(name, pubkey, user, root_keys=user is None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # booted (units can be managed), then sshd
        state = podman("exec", name, "systemctl", "is-system-running", check=False)
        listening = net.run(
            ["ip", "netns", "exec", netns, "ss", "-Hltn", "sport", "=", ":22"], check=False
        ).stdout.strip()
        if state.stdout.strip() in ("running", "degraded") and listening:
            return
        time.sleep(0.5)
    logs = podman("logs", "--tail", "20", name, check=False).stdout
    raise RuntimeError(f"sshd of {name} did not listen within {timeout:.0f} s: {logs.strip()}")
