"""Writing files safely: atomic replacement, unique temp names, locks, no writing through links.

Why one helper: the write-temp-then-rename pattern existed in eight places, and
the copies differed in what matters under concurrency and hostile repos. Issue 15
found 8 concurrent ``Lock.write`` calls colliding on one shared temp name (93
``FileNotFoundError`` in 1600 writes), and a ticket writing *through* an
``opd/*.yaml`` symlink to a file outside the repo. Here, once:

* the temp file is ``mkstemp``'d next to the target (unique per call, same file
  system, created 0600 before any byte is written), flushed, fsynced, given its
  mode and renamed over the target; a failure removes it;
* a target that is a symlink is refused, never followed, and with ``root`` the
  target must lie inside ``root`` (after resolving its parent's links);
* :func:`locked` takes a kernel ``flock`` on a directory (released when the
  process dies, so never stale, and it leaves no file behind in a Git work tree).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dcctl.i18n import _

__all__ = [
    "Layout",
    "UnsafePathError",
    "atomic_write",
    "locked",
    "read_layout",
    "safe_target",
]


@dataclass(frozen=True)
class Layout:
    """How a text file is laid out on disk: its line ending and whether it starts with a BOM.

    Why: an engineer on Windows keeps CRLF (and maybe a UTF-8 BOM); if dcctl
    rewrote such a file with LF, a one-line ticket change would show every line
    as changed in review. Every edit dcctl makes reads the layout first and
    writes the new text back with it (:meth:`apply`).
    """

    newline: str = "\n"
    bom: bool = False

    def apply(self, text: str) -> str:
        """``text`` (LF line ends, no BOM, as parsers want it) in this file's layout."""
        text = text.replace("\r\n", "\n")
        if self.newline != "\n":
            text = text.replace("\n", self.newline)
        return ("\ufeff" + text) if self.bom else text


def read_layout(path: Path) -> tuple[str, Layout]:
    """The text of ``path`` with LF line ends and no BOM, and the layout to write it back in.

    The line ending is the file's majority one (CRLF when at least half the
    lines end so), so a file with one stray LF line keeps CRLF.
    """
    raw = Path(path).read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    if bom:
        text = text[1:]
    crlf = text.count("\r\n")
    lf = text.count("\n")
    newline = "\r\n" if crlf and crlf * 2 >= lf else "\n"
    return text.replace("\r\n", "\n"), Layout(newline, bom)


class UnsafePathError(OSError):
    """A path dcctl refuses to write: a symlink, or outside the tree it belongs to."""


def safe_target(path: Path, root: Path | None = None) -> Path:
    """`path` if dcctl may replace it: not a symlink, and inside `root` when given."""
    path = Path(path)
    if path.is_symlink():
        raise UnsafePathError(
            _("{path} is a symbolic link; dcctl does not write through links").format(path=path)
        )
    if root is not None:
        real_root = Path(root).resolve()
        real = path.parent.resolve() / path.name
        if not real.is_relative_to(real_root):
            raise UnsafePathError(
                _("{path} lies outside {root} (through a symbolic link)").format(
                    path=path, root=root
                )
            )
    return path


def atomic_write(
    path: Path,
    data: str | bytes,
    *,
    mode: int | None = None,
    root: Path | None = None,
) -> None:
    """Replace `path` with `data` in one step; readers see the old or the new file, never half.

    `mode` defaults to the existing file's mode, else 0644. Refuses symlinks and,
    with `root`, anything outside it (:func:`safe_target`).
    """
    path = safe_target(Path(path), root)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_HELD: dict[str, int] = {}


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive flock on `directory` (waiting for it) for the block's duration.

    Used around read-modify-write of one file in that directory (the IPAM lock,
    the passphrase), so concurrent dcctl runs take turns instead of racing.
    Re-entrant within a process (``dcctl lock`` holds it around ``Lock.write``,
    which takes it too): flock on a second descriptor would wait for ourselves.
    """
    key = str(Path(directory).resolve())
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD[key] = 1
        try:
            yield
        finally:
            _HELD.pop(key, None)
    finally:
        os.close(fd)
