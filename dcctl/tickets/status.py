"""Request service levels: each ticket's times against the Site's targets.

The regency's rules: a request is answered within 1x60 minutes and resolved within
1x24 hours (`site.yaml` `service_levels` may set others). The times come from where
they are already recorded, so nobody keeps a second log:

- received: the ticket's `diterima` (the helpdesk's time stamp);
- answered: the ticket's `dijawab` if the helpdesk recorded a reply, else when
  `dcctl ticket render` made its branch (the commit carrying `Ticket: <nomor>`);
- merged: when that commit reached the main branch (the first-parent commit of main
  that brought it in: the merge commit, or the commit itself after a fast-forward);
- applied (resolved): the first successful production apply in `state/audit.log`
  whose commit contains the merge.

A target with an end time is `met` or `missed`; one still open is `open` (due later)
or `overdue`; without a received time it is `unknown`. Overdue tickets sort first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dcctl.gitops.git import GitError, git
from dcctl.i18n import _

_RENDER_MARK = "Rendered-by: dcctl ticket render"
_RANK = {"overdue": 0, "open": 1, "missed": 2, "met": 3, "unknown": 4}


@dataclass(frozen=True)
class Target:
    """One service level of one ticket: the limit, how long it took or has been open."""

    limit: timedelta
    state: str  # met | missed | open | overdue | unknown
    took: timedelta | None = None  # end - received, or now - received while open

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "limit_minutes": int(self.limit.total_seconds() // 60),
            "took_minutes": int(self.took.total_seconds() // 60) if self.took else None,
        }


@dataclass
class TicketStatus:
    """A ticket with its recorded times and its two service levels."""

    number: str
    opd: str
    kind: str
    title: str
    file: str
    received: datetime | None
    answered: datetime | None = None
    answered_by: str | None = None  # helpdesk | render
    rendered: datetime | None = None
    merged: datetime | None = None
    applied: datetime | None = None
    answer: Target | None = None
    resolve: Target | None = None
    commits: dict[str, str] = field(default_factory=dict)  # rendered/merged/applied -> sha

    @property
    def rank(self) -> int:
        states = [t.state for t in (self.answer, self.resolve) if t is not None]
        return min((_RANK[s] for s in states), default=_RANK["unknown"])

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "ticket": self.number,
            "opd": self.opd,
            "kind": self.kind,
            "title": self.title,
            "file": self.file,
            "received": iso(self.received),
            "answered": iso(self.answered),
            "answered_by": self.answered_by,
            "rendered": iso(self.rendered),
            "merged": iso(self.merged),
            "applied": iso(self.applied),
            "answer": self.answer.to_dict() if self.answer else None,
            "resolve": self.resolve.to_dict() if self.resolve else None,
            "commits": self.commits,
        }


def target(limit: timedelta, start: datetime | None, end: datetime | None, now: datetime) -> Target:
    """The state of one service level from its start, end (or none yet) and now."""
    if start is None:
        return Target(limit, "unknown")
    if end is not None:
        took = end - start
        return Target(limit, "met" if took <= limit else "missed", took)
    took = now - start
    return Target(limit, "overdue" if took > limit else "open", took)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def ticket_files(path: Path) -> list[Path]:
    """A ticket file, or the ticket files (*.yaml, *.yml, *.json) of a folder."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json"))


class History:
    """What Git and the audit log say about rendered tickets, read once per command."""

    def __init__(self, repo: Path, main: str | None) -> None:
        self.repo = repo
        self.main = self._main(main)
        self.rendered: dict[str, tuple[str, datetime]] = {}  # ticket -> (sha, commit time)
        self.first_parent: dict[str, datetime] = {}
        self.applies: list[tuple[datetime, str]] = []  # successful prod applies, in order
        if self.main is None:
            return
        self._read_renders()
        for line in git(repo, "log", "--first-parent", "--format=%H %cI", self.main).split("\n"):
            if line:
                sha, when = line.split(" ", 1)
                self.first_parent[sha] = datetime.fromisoformat(when)
        self._read_audit(repo / "state" / "audit.log")

    def _main(self, main: str | None) -> str | None:
        for ref in [main] if main else ["main", "origin/main", "HEAD"]:
            try:
                git(self.repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
                return ref
            except GitError:
                continue
        return None

    def _read_renders(self) -> None:
        out = git(
            self.repo,
            "log",
            "--all",
            "--reverse",
            "--fixed-strings",
            f"--grep={_RENDER_MARK}",
            "--format=%H%x00%cI%x00%B%x1e",
        )
        for record in out.split("\x1e"):
            parts = record.strip("\n").split("\x00")
            if len(parts) != 3:
                continue
            sha, when, body = parts
            for line in body.splitlines():
                if line.startswith("Ticket: "):
                    number = line.removeprefix("Ticket: ").strip()
                    self.rendered.setdefault(number, (sha, datetime.fromisoformat(when)))

    def _read_audit(self, path: Path) -> None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                e = json.loads(line)
                if e.get("action") == "up" and e.get("target") == "prod" and e.get("ok"):
                    when = datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S%z")
                    if e.get("commit"):
                        self.applies.append((when, str(e["commit"])))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a line that is not an apply record of ours
        self.applies.sort()

    def merged(self, sha: str) -> tuple[str, datetime] | None:
        """The first-parent commit of main that brought `sha` in, and its time."""
        if sha in self.first_parent:
            return sha, self.first_parent[sha]
        assert self.main is not None
        out = git(
            self.repo, "rev-list", "--ancestry-path", "--first-parent", f"{sha}..{self.main}"
        ).split()
        return (out[-1], self.first_parent[out[-1]]) if out else None

    def applied(self, merge: str, after: datetime) -> tuple[str, datetime] | None:
        """The first successful production apply at or after `after` that contains `merge`."""
        for when, commit in self.applies:
            if when < after:
                continue
            try:
                git(self.repo, "merge-base", "--is-ancestor", merge, commit)
            except GitError:
                continue
            return commit, when
        return None


def ticket_status(
    tickets: Path,
    repo: Path,
    levels: Any,
    now: datetime | None = None,
    main: str | None = None,
) -> tuple[list[TicketStatus], list[str]]:
    """Every ticket under `tickets` with its times and service levels, overdue first.

    Returns the statuses and the problems (a ticket file that does not parse): a
    status report lists what it can and says what it could not read.
    """
    from dcctl.tickets.errors import TicketRefused
    from dcctl.tickets.parse import load_ticket

    now = now or datetime.now(UTC)
    answer_limit = timedelta(minutes=levels.answer_minutes)
    resolve_limit = timedelta(hours=levels.resolve_hours)
    try:
        history: History | None = History(repo, main)
    except GitError:
        history = None  # not a Git repo: received times only
    out: list[TicketStatus] = []
    problems: list[str] = []
    for path in ticket_files(tickets):
        try:
            t = load_ticket(path)
        except TicketRefused as exc:
            problems.append(f"{path.name}: " + "; ".join(str(r) for r in exc.refusals))
            continue
        s = TicketStatus(t.nomor_tiket, t.opd, t.jenis, t.judul, path.name, _time(t.diterima))
        if t.dijawab:
            s.answered, s.answered_by = _time(t.dijawab), "helpdesk"
        if history is not None and t.nomor_tiket in history.rendered:
            sha, s.rendered = history.rendered[t.nomor_tiket]
            s.commits["rendered"] = sha
            if s.answered is None:
                s.answered, s.answered_by = s.rendered, "render"
            merged = history.merged(sha)
            if merged is not None:
                s.commits["merged"], s.merged = merged
                applied = history.applied(merged[0], merged[1])
                if applied is not None:
                    s.commits["applied"], s.applied = applied
        s.answer = target(answer_limit, s.received, s.answered, now)
        s.resolve = target(resolve_limit, s.received, s.applied, now)
        out.append(s)
    out.sort(key=lambda s: (s.rank, s.received or now, s.number))
    return out, problems


def per_opd(statuses: list[TicketStatus]) -> dict[str, dict[str, int]]:
    """Counts per OPD for the consolidation report: requests, open, overdue, met targets."""
    out: dict[str, dict[str, int]] = {}
    for s in statuses:
        row = out.setdefault(
            s.opd,
            {"requests": 0, "resolved": 0, "overdue": 0, "answer_met": 0, "resolve_met": 0},
        )
        row["requests"] += 1
        row["resolved"] += s.applied is not None
        row["overdue"] += s.rank == _RANK["overdue"]
        row["answer_met"] += s.answer is not None and s.answer.state == "met"
        row["resolve_met"] += s.resolve is not None and s.resolve.state == "met"
    return dict(sorted(out.items()))


def human(delta: timedelta | None) -> str:
    """A duration as a person reads it: 45m, 3h 05m, 2d 4h."""
    if delta is None:
        return ""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return _("{minutes}m").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("{hours}h {minutes:02d}m").format(hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return _("{days}d {hours}h").format(days=days, hours=hours)
