"""asyncssh plumbing: password login, a raw terminal with echo, faults, logging.

Why it is hand-rolled instead of asyncssh's line editor: network CLIs echo what
is typed, end lines on CR, LF or CRLF (netmiko's RouterOS driver sends CRLF),
never echo passwords, and must be able to drop a connection mid-command for
fault tests. netmiko waits for exactly that echo before it reads the prompt, so
the terminal behaviour here is part of the contract, not a nicety.

Every command goes through `Switch.run` in a worker thread (OVS calls block),
serialised by the switch's lock, so one session's change is on the wire before
any other session sees the next prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import os
import signal
from pathlib import Path

import asyncssh

from dcctl.lab.switchd.ovs import Ovs
from dcctl.lab.switchd.state import (
    LOG_FILE,
    PID_FILE,
    Backend,
    CliSession,
    Faults,
    Reply,
    Switch,
    SwitchdConfig,
    remove_quietly,
)

log = logging.getLogger("dcctl.lab.switchd")

MAX_LINE = 4096
_session_ids = itertools.count(1)


def load_host_key(path: Path) -> asyncssh.SSHKey:
    """Read the host key, creating an Ed25519 key (mode 0600) on first start."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.export_private_key())
        log.info("generated host key %s", path)
    return asyncssh.read_private_key(path)


class _Auth(asyncssh.SSHServer):
    """Password-only login against the daemon's one account."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.peer = "?"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"

    def connection_lost(self, exc: Exception | None) -> None:
        if exc:
            log.info("connection from %s lost: %s", self.peer, exc)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        user = self.daemon.switch.vendor.login_name(username)
        ok = user == self.daemon.cfg.username and hmac.compare_digest(
            password.encode(), self.daemon.switch.secret.encode()
        )
        log.info("login %s for user %r from %s", "ok" if ok else "FAILED", user, self.peer)
        return ok


class Daemon:
    """One switch's management plane: SSH server + Switch + OVS backend."""

    def __init__(self, cfg: SwitchdConfig, backend: Backend | None = None) -> None:
        self.cfg = cfg
        self.switch = Switch.from_config(cfg, backend or Ovs(cfg.bridge))
        self.server: asyncssh.SSHAcceptor | None = None
        self.stopped = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.cfg.state_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.switch.boot)
        key = load_host_key(self.cfg.host_key)
        self.server = await asyncssh.create_server(
            lambda: _Auth(self),
            self.cfg.listen,
            self.cfg.port,
            server_host_keys=[key],
            process_factory=self._session,
            encoding=None,
            line_editor=False,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            login_timeout=30,
            keepalive_interval=30,
            reuse_address=True,
        )
        if self.switch.air:
            self._watch = asyncio.create_task(self._watch_air())
        log.info(
            "%s (%s) listening on %s:%d, bridge %s",
            self.cfg.name,
            self.cfg.vendor,
            self.cfg.listen,
            self.cfg.port,
            self.cfg.bridge,
        )

    def stop(self) -> None:
        self.stopped.set()

    async def _watch_air(self, every: float = 1.0) -> None:
        """Re-sync the radio ports when a far end changed what it radiates (association)."""
        while not self.stopped.is_set():
            await asyncio.sleep(every)
            try:
                if await asyncio.to_thread(self.switch.air_changed):
                    await asyncio.to_thread(self.switch.sync)
            except Exception as exc:  # a watcher must outlive one bad read
                log.warning("air: %s", exc)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 5)

    def resync(self) -> None:
        log.info("SIGHUP: re-applying every port to OVS")
        asyncio.get_running_loop().run_in_executor(None, lambda: self.switch.sync(force=True))

    # -- one SSH session ------------------------------------------------------

    async def _session(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        sid = next(_session_ids)
        username = str(process.get_extra_info("username") or "")
        session = self.switch.vendor.session(self.switch, username)
        term = _Terminal(self, process, session, sid)
        log.info("session %d opened for %r", sid, self.switch.vendor.login_name(username))
        try:
            if process.command is not None:
                await term.run_exec(process.command)
            else:
                await term.run_shell()
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError) as exc:
            log.info("session %d ended: %s", sid, exc)
        finally:
            log.info("session %d closed", sid)
            if not process.is_closing():
                with contextlib.suppress(Exception):
                    process.exit(0)


class _Terminal:
    """Character handling of one interactive session."""

    def __init__(
        self,
        daemon: Daemon,
        process: asyncssh.SSHServerProcess[bytes],
        session: CliSession,
        sid: int,
    ) -> None:
        self.daemon = daemon
        self.switch = daemon.switch
        self.process = process
        self.session = session
        self.sid = sid
        self.commands = 0

    def write(self, text: str) -> None:
        if text:
            self.process.stdout.write(text.encode("utf-8", errors="replace"))

    async def run_exec(self, command: str) -> None:
        for line in command.splitlines() or [""]:
            if not await self._line(line, prompt_after=False):
                return
        self.process.exit(0)

    async def run_shell(self) -> None:
        if Faults.load(self.switch.state_dir).drop_after == 0:
            await self._drop(0)
            return
        self.write(self.session.banner().replace("\n", "\r\n") + self.session.prompt())
        buf: list[str] = []
        after_cr = False
        while True:
            try:
                data = await self.process.stdin.read(4096)
            except (asyncssh.TerminalSizeChanged, asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            if not data:
                return
            echo: list[str] = []
            for ch in data.decode("utf-8", errors="replace"):
                if after_cr and ch == "\n":
                    after_cr = False
                    continue
                after_cr = ch == "\r"
                if ch in "\r\n":
                    self.write("".join(echo) + "\r\n")
                    echo.clear()
                    line = "".join(buf)
                    buf.clear()
                    if not await self._line(line):
                        return
                elif ch in "\x7f\b":
                    if buf:
                        buf.pop()
                        if not self.session.secret_input:
                            echo.append("\b \b")
                elif ch == "\x03":  # Ctrl-C drops the half-typed line
                    buf.clear()
                    echo.append("^C\r\n" + self.session.prompt())
                elif len(buf) < MAX_LINE:
                    buf.append(ch)  # control characters are kept so the CLI rejects them
                    if not self.session.secret_input and " " <= ch <= "~":
                        echo.append(ch)
            self.write("".join(echo))

    async def _line(self, line: str, prompt_after: bool = True) -> bool:
        """Run one line; False when the session is over.

        Fault `drop_after: N`: a session executes at most N counted commands
        (non-empty lines that are not password answers); the connection is cut
        without an SSH disconnect right after the N-th answer has been sent, or
        when another command arrives if the knob appeared later.
        """
        faults = Faults.load(self.switch.state_dir)
        counted = bool(line.strip()) and not self.session.secret_input
        if counted:
            if faults.drop_after is not None and self.commands >= faults.drop_after:
                await self._drop(faults.drop_after)
                return False
            self.commands += 1
        if faults.delay and line.strip():
            await asyncio.sleep(faults.delay)
        shown = "<password>" if self.session.secret_input else repr(line)
        if line.strip():
            log.info("session %d cmd: %s", self.sid, shown)
        try:
            reply = await asyncio.to_thread(self.switch.run, self.session, line, faults)
        except Exception:  # a dialect bug must not kill the session or the daemon
            log.exception("session %d: internal error on %s", self.sid, shown)
            reply = Reply("% Internal error (see switchd.log)\n")
        self.write(reply.output.replace("\n", "\r\n"))
        if reply.close:
            self.process.exit(0)
            return False
        if prompt_after:
            self.write(self.session.prompt())
        if counted and faults.drop_after is not None and self.commands >= faults.drop_after:
            await self._drop(faults.drop_after)
            return False
        return True

    async def _drop(self, limit: int) -> None:
        log.info("session %d: fault drop_after=%d: cutting the connection", self.sid, limit)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.stdout.drain(), 2)
        self.process.channel.get_connection().abort()


def setup_logging(state_dir: Path, level: str = "INFO") -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(state_dir / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)


async def serve(cfg: SwitchdConfig, backend: Backend | None = None) -> None:
    """Run until SIGTERM/SIGINT; pid file exists exactly while the server listens."""
    daemon = Daemon(cfg, backend)
    await daemon.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.stop)
    loop.add_signal_handler(signal.SIGHUP, daemon.resync)
    pid_path = cfg.state_dir / PID_FILE
    tmp = pid_path.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid()}\n", encoding="utf-8")
    os.replace(tmp, pid_path)
    try:
        await daemon.stopped.wait()
    finally:
        log.info("stopping")
        await daemon.close()
        with contextlib.suppress(OSError):
            if pid_path.read_text(encoding="utf-8").strip() == str(os.getpid()):
                remove_quietly(pid_path)
