"""Put a validated ticket change on its own Git branch without touching the checkout.

The commit is built with plumbing (a private index, `hash-object`, `write-tree`,
`commit-tree`, then `branch`), so the user's working tree, index and current
branch are never modified: there is no moment at which an interrupted run
leaves them on the ticket branch or with half-written files, and "return to the
original branch" holds trivially. The branch appears last, in one step, or not
at all. Git is always run with argument lists, never through a shell.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from dcctl.gitops.git import GitError, git
from dcctl.i18n import _
from dcctl.tickets.errors import refuse

__all__ = ["GitError", "Repo", "commit_branch", "git", "preflight"]


@dataclass(frozen=True)
class Repo:
    """Where the spec root sits in its Git work tree, and what HEAD was when we checked."""

    top: Path
    prefix: str  # spec root relative to top, "" or ending in "/"
    head: str
    branch: str  # the ticket branch to create


def preflight(root: Path, branch: str, ticket_field: str = "nomor_tiket") -> Repo:
    """Refuse early: not a repo, uncommitted changes, no commit yet, branch exists, no identity."""
    try:
        top = Path(git(root, "rev-parse", "--show-toplevel").strip())
        prefix = git(root, "rev-parse", "--show-prefix").strip()
    except GitError:
        raise refuse(
            "repo",
            _("{root} is not inside a Git work tree").format(root=root),
            _("run in a clone of the spec repo, or pass --no-branch"),
        ) from None
    try:
        head = git(top, "rev-parse", "--verify", "HEAD^{commit}").strip()
    except GitError:
        raise refuse(
            "repo", _("the spec repo has no commit yet"), _("commit the spec first")
        ) from None
    # Only the spec root matters: the commit touches nothing else, and a spec kept in
    # a sub-directory of a bigger repo should not be blocked by unrelated work.
    dirty = git(root, "status", "--porcelain", "--", ".").splitlines()
    if dirty:
        shown = ", ".join(line[3:] for line in dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise refuse(
            "repo",
            _("the spec repo has uncommitted changes ({files})").format(files=shown),
            _("commit or stash them first; a ticket is rendered on a clean tree"),
        )
    try:
        git(top, "check-ref-format", f"refs/heads/{branch}")
    except GitError:
        raise refuse(
            ticket_field, _("{branch!r} is not a valid branch name").format(branch=branch)
        ) from None
    existing = git(
        top, "for-each-ref", "--format=%(refname)", f"refs/heads/{branch}", "refs/remotes/"
    ).split()
    if f"refs/heads/{branch}" in existing or any(
        r.endswith(f"/{branch}") for r in existing if r.startswith("refs/remotes/")
    ):
        raise refuse(
            ticket_field,
            _("this ticket was already rendered: branch {branch} exists").format(branch=branch),
            _("a ticket is rendered once; delete the branch to render it again"),
        )
    try:
        git(top, "var", "GIT_COMMITTER_IDENT")
    except GitError:
        raise refuse(
            "repo",
            _("git has no identity to commit with"),
            _("set git config user.name and user.email"),
        ) from None
    return Repo(top, prefix, head, branch)


def commit_branch(repo: Repo, files: dict[str, bytes], message: str) -> str:
    """Commit `files` (paths relative to the spec root) on top of HEAD as a new branch."""
    with tempfile.TemporaryDirectory(prefix="dcctl-ticket-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(repo.top, "read-tree", repo.head, env=env)
        for rel, content in sorted(files.items()):
            path = repo.prefix + rel
            listed = git(repo.top, "ls-tree", repo.head, "--", path).split()
            mode = listed[0] if listed else "100644"
            blob = git(
                repo.top, "hash-object", "-w", "--stdin", f"--path={path}", data=content
            ).strip()
            git(repo.top, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
        tree = git(repo.top, "write-tree", env=env).strip()
    commit = git(
        repo.top, "commit-tree", tree, "-p", repo.head, "-F", "-", data=message.encode()
    ).strip()
    # `git branch` refuses an existing name, so a concurrent render of the same
    # ticket loses cleanly instead of overwriting.
    git(repo.top, "branch", repo.branch, commit)
    return commit
