"""A scratch network for a lab test: namespaces, veth pairs and bridges under one prefix.

Why one harness: the role tests (cctv, vpn, monitoring) each built their namespaces
with their own ``sh(...)`` helper and cleaned up with their own loop, and the loops
differed in what they found (one skipped instead of sweeping, one never stopped
processes left in a namespace). Here every object a test makes is named under the
test's prefix, so one sweep removes it all: at the start, what a killed run left
behind, and at the end, what this run made, whether the test passed or not.

Why a turn lock: a sweep by prefix would take down another session's run of the same
test (they share the prefix and the test's fixed addresses). Holding
``/run/dcctl-test-netns-<prefix>.lock`` while the network exists means anything under
the prefix found by the holder is a dead run's, and a second session waits its turn.

The ``ip`` work is ``dcctl.lab.net``'s (bounded, argument lists, NetError naming the
command); processes are stopped with ``net.stop_pids``. Example::

    with Netns("hdemo") as n:
        n.netns("hdemo-a")
        n.veth(End("hdemo0", addrs=["10.9.0.1/30"]), End("eth0", "hdemo-a", ["10.9.0.2/30"]))
        assert n.exec("hdemo-a", "ping", "-c1", "10.9.0.1", check=False).returncode == 0
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

from dcctl.lab import net
from dcctl.lab.podman import container_names, podman
from tests.helpers import stop_process

LOCK_DIR = "/run"


@dataclass(frozen=True)
class End:
    """One end of a veth pair: its name, namespace (None: the root one), CIDRs, bridge."""

    name: str
    ns: str | None = None
    addrs: Sequence[str] = ()
    master: str | None = None


def exec_in(
    ns: str, *argv: str, check: bool = True, timeout: float = 60, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``ip netns exec ns argv...`` (text output; NetError on failure when ``check``)."""
    return net.run(["ip", "netns", "exec", ns, *argv], check=check, timeout=timeout, input=input)


def leftovers(prefix: str) -> list[str]:
    """Namespaces and root-namespace interfaces named under ``prefix``."""
    return sorted(
        [ns for ns in net.netns_list() if ns.startswith(prefix)]
        + [name for name in net.links(None) if name.startswith(prefix)]
    )


def sweep(prefix: str) -> list[str]:
    """Remove every container, namespace (and the processes in it) and root interface
    named under ``prefix``; returns what it removed. Only call it holding the turn lock."""
    removed: list[str] = []
    if net.which("podman"):
        names = [c for c in container_names() if c.startswith(prefix)]
        if names:
            podman("rm", "--force", "--time", "1", *names, check=False, timeout=180)
            removed += [f"container {c}" for c in names]
    return removed + _remove_network(prefix)


def _remove_network(prefix: str) -> list[str]:
    namespaces = [ns for ns in net.netns_list() if ns.startswith(prefix)]
    for ns in namespaces:  # what a test started with `ip netns exec` (cameras, daemons)
        net.stop_pids(net.netns_pids(ns))
    net.ip_batch(None, (f"netns del {ns}" for ns in namespaces), force=True)
    links = [name for name in net.links(None) if name.startswith(prefix)]
    # Deleting one end of a veth deletes its peer: force goes on past "cannot find".
    net.ip_batch(None, (f"link del {name}" for name in links), force=True)
    return [f"netns {ns}" for ns in namespaces] + [f"link {name}" for name in links]


@dataclass
class Netns:
    """The scratch network of one test; a context manager (see the module docstring).

    ``subnet``: the test's own addresses; if anything in the root namespace already
    holds one of them after the sweep, the test is skipped (it would fail confusingly).
    ``keep``: leave everything up on exit, to look at by hand (the next run sweeps it).
    ``wait``: seconds to wait for another session's run of the same test to finish.
    """

    prefix: str
    subnet: str | None = None
    keep: bool = False
    wait: float = 600.0
    swept: list[str] = field(default_factory=list)
    _procs: list[subprocess.Popen[Any]] = field(default_factory=list)
    _lock: IO[str] | None = None

    # -- the turn ---------------------------------------------------------------

    def __enter__(self) -> Netns:
        self._take_turn()
        try:
            self.swept = sweep(self.prefix)
            if self.swept:
                print(f"\nremoved {', '.join(self.swept)}: left behind by a killed run")
            self._require_free_subnet()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _take_turn(self) -> None:
        import pytest

        path = f"{LOCK_DIR}/dcctl-test-netns-{self.prefix}.lock"
        lock = open(path, "a+")  # noqa: SIM115 - held until close()
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    lock.seek(0)
                    holder = lock.read().strip() or "?"
                    lock.close()
                    pytest.skip(f"{self.prefix}: another run (pid {holder}) holds {path}")
                time.sleep(1)
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock = lock

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing drops the flock
            self._lock = None

    def _require_free_subnet(self) -> None:
        import pytest

        if self.subnet is None:
            return
        mine = ipaddress.ip_network(self.subnet)
        held = [
            f"{addr} on {link.name}"
            for link in net.links(None).values()
            for addr in link.addresses
            if ipaddress.ip_interface(addr).ip in mine
        ]
        if held:
            pytest.skip(f"{self.prefix}'s subnet {self.subnet} is in use here: {held}")

    # -- building ---------------------------------------------------------------

    def _mine(self, name: str, what: str) -> None:
        if not name.startswith(self.prefix):
            raise ValueError(f"{what} {name!r} must start with {self.prefix!r} to be swept")

    def netns(self, name: str) -> str:
        """A new namespace (its loopback up); returns its name."""
        self._mine(name, "namespace")
        net.ip(None, "netns", "add", name)
        net.ip(name, "link", "set", "lo", "up")
        return name

    def bridge(self, name: str, ns: str | None = None, addrs: Sequence[str] = ()) -> str:
        """A Linux bridge, up, in ``ns`` (None: the root namespace, then under the prefix)."""
        if ns is None:
            self._mine(name, "root bridge")
        net.ip(ns, "link", "add", name, "type", "bridge")
        for addr in addrs:
            net.ip(ns, "addr", "add", addr, "dev", name)
        net.ip(ns, "link", "set", name, "up")
        return name

    def veth(self, a: End, b: End) -> None:
        """A veth pair, each end in its namespace with its addresses and bridge, both up."""
        for end in (a, b):
            if end.ns is None:
                self._mine(end.name, "root interface")
        argv = ["link", "add", a.name, *(["netns", a.ns] if a.ns else [])]
        argv += ["type", "veth", "peer", "name", b.name, *(["netns", b.ns] if b.ns else [])]
        net.ip(None, *argv)
        for end in (a, b):
            for addr in end.addrs:
                net.ip(end.ns, "addr", "add", addr, "dev", end.name)
            master = ["master", end.master] if end.master else []
            net.ip(end.ns, "link", "set", end.name, *master, "up")

    # -- inside -----------------------------------------------------------------

    def ip(self, ns: str | None, *args: str) -> subprocess.CompletedProcess[str]:
        """``ip -n ns args...`` (routes and the like); NetError on failure."""
        return net.ip(ns, *args)

    def exec(
        self, ns: str, *argv: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in namespace ``ns`` and wait for it (see :func:`exec_in`)."""
        return exec_in(ns, *argv, check=check, timeout=timeout)

    def spawn(self, ns: str, argv: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` in ``ns`` in the background; stopped on close if still running."""
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], **popen)
        self._procs.append(proc)
        return proc

    # -- the end ----------------------------------------------------------------

    def close(self) -> None:
        """Stop what :meth:`spawn` started, then sweep the prefix; fail if anything stays."""
        if self._lock is None:
            return
        try:
            if self.keep:
                print(f"\nkept {', '.join(leftovers(self.prefix))} (next run sweeps them)")
                return
            for proc in self._procs:
                with contextlib.suppress(OSError):
                    stop_process(proc)
            self._procs.clear()
            sweep(self.prefix)
            # A namespace goes away in the kernel's own time, and its veths with it.
            deadline = time.monotonic() + 10
            while (left := leftovers(self.prefix)) and time.monotonic() < deadline:
                time.sleep(0.2)
                _remove_network(self.prefix)
            if left:
                raise RuntimeError(f"{self.prefix}: still present after teardown: {left}")
        finally:
            self._release()
