"""A real SSH server on loopback (asyncssh, in the test's process) that records logins.

Why a recorder and not a mock: the host-key tests must show that nothing reaches
a device whose key is unknown or changed, which only a real server can witness.
It accepts no login; it records every user that began authentication and every
password and public key offered, so a control (the right key pinned) can show
the client really got that far.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tests.helpers import free_port


class Impostor:
    """An SSH server on 127.0.0.1 with host key `key` that records what logins offer."""

    def __init__(self, key: Any) -> None:
        import asyncssh

        self.key = key
        self.port = free_port()
        #: Users that began authentication (after the client accepted the host key).
        self.auth_begun: list[str] = []
        self.passwords: list[tuple[str, str]] = []
        self.public_keys: list[tuple[str, str]] = []
        self.loop = asyncio.new_event_loop()
        self._server: Any = None
        started = threading.Event()
        outer = self

        class Server(asyncssh.SSHServer):  # type: ignore[misc]
            def begin_auth(self, username: str) -> bool:
                outer.auth_begun.append(username)
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                outer.passwords.append((username, password))
                return False

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: Any) -> bool:
                outer.public_keys.append((username, key.get_fingerprint()))
                return False

        async def start() -> None:
            self._server = await asyncssh.create_server(
                Server, "127.0.0.1", self.port, server_host_keys=[key]
            )
            started.set()

        self.thread = threading.Thread(
            target=lambda: (self.loop.run_until_complete(start()), self.loop.run_forever()),
            daemon=True,
        )
        self.thread.start()
        assert started.wait(10), "impostor SSH server did not start"

    @property
    def keyline(self) -> str:
        return str(self.key.export_public_key("openssh").decode().strip())

    def stop(self) -> None:
        def close() -> None:
            self._server.close()
            self.loop.stop()

        self.loop.call_soon_threadsafe(close)
        self.thread.join(10)
