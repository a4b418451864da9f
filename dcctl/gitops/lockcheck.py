"""IPAM lock conflicts between branches, found in review instead of renumbered after merge.

Two ticket branches cut from one commit each take the lowest free values (both get
VLAN 111, `10.64.11.0/24`, `10.99.0.7`). Their lock lines sit at different places of the
sorted file, so Git merges both cleanly, and the allocator would then silently renumber
the key that sorts later: what one merge request showed is not what gets applied.

So: `dcctl validate --against REF` (the merge request's target branch) compares the
branch's lock with REF's and fails on every entry of the branch that holds a value REF
gives another key (or a key REF holds at another value); `dcctl validate` alone fails on
a lock that holds one value for two keys (what such a merge leaves). Re-locking is
explicit and one-directional: `dcctl lock --against REF` keeps every value of REF and
gives the branch's colliding keys new ones, so a merge never renumbers what another
merge request showed; the new numbers are in the branch's diff for its reviewer.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import netaddr

from dcctl.gitops.git import GitError, git
from dcctl.i18n import _
from dcctl.spec.errors import SpecError
from dcctl.spec.ipam import LOCK_FILE, Lock, prefix_range

_SECTIONS = ("vlans", "prefixes", "addresses")
_ONE = {"vlans": "VLAN", "prefixes": "prefix", "addresses": "address"}


@dataclass(frozen=True)
class Collision:
    """One lock entry of ours that collides with an entry of theirs (or of our own lock)."""

    section: str  # vlans | prefixes | addresses
    key: str
    value: str
    other_key: str
    other_value: str

    def describe(self, where: str) -> str:
        if self.key == self.other_key:
            return _("{key} is {value} here but {other_value} on {where}").format(
                key=self.key, value=self.value, other_value=self.other_value, where=where
            )
        return _(
            "{kind} {value} of {key} collides with {other_key} ({other_value}) on {where}"
        ).format(
            kind=_ONE[self.section],
            value=self.value,
            key=self.key,
            other_key=self.other_key,
            other_value=self.other_value,
            where=where,
        )


def lock_at(root: Path, ref: str) -> Lock:
    """The IPAM lock as committed at `ref` (empty if REF has none); GitError if REF is unknown."""
    git(root, "rev-parse", "--verify", f"{ref}^{{commit}}")
    try:
        text = git(root, "show", f"{ref}:./{LOCK_FILE}")
    except GitError:
        return Lock()  # REF has no lock yet: nothing of theirs can collide
    with tempfile.TemporaryDirectory(prefix="dcctl-lock-") as tmp:
        (Path(tmp) / LOCK_FILE).write_text(text)
        return Lock.read(Path(tmp))


def _values(lock: Lock, section: str) -> dict[str, Any]:
    return dict(getattr(lock, section))


def _network(value: Any) -> netaddr.IPNetwork:
    return netaddr.IPNetwork(str(value))


def _nested(a: netaddr.IPNetwork, b: netaddr.IPNetwork) -> bool:
    """One of two networks holds the other (CIDR blocks either nest or are disjoint)."""
    return a.version == b.version and (
        (b.first <= a.first and a.last <= b.last) or (a.first <= b.first and b.last <= a.last)
    )


def _clashing_pairs(section: str, values: list[Any]) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, of `values` that clash, in order.

    Linear in the entries plus the clashes found (issue 17: a lock of a ten-times regency
    holds some 20,000 entries; comparing every pair took a minute). Equal values meet in
    one dictionary slot; prefixes are swept in address order with a stack of the blocks
    that hold the current one, since two CIDR blocks either nest or are disjoint.
    """
    pairs: list[tuple[int, int]] = []
    if section == "prefixes":
        # (version, first, last, index); a holder sorts before the blocks it holds
        nets = [(*prefix_range(str(v)), i) for i, v in enumerate(values)]
        nets.sort(key=lambda t: (t[0], t[1], -t[2], t[3]))
        stack: list[tuple[int, int, int, int]] = []
        for version, first, last, i in nets:
            while stack and not (stack[-1][0] == version and last <= stack[-1][2]):
                stack.pop()
            pairs.extend((min(i, j), max(i, j)) for *_, j in stack)
            stack.append((version, first, last, i))
    else:
        slots: dict[str, list[int]] = {}
        for i, v in enumerate(values):
            slots.setdefault(str(v), []).append(i)
        for held in slots.values():
            pairs.extend((a, b) for n, a in enumerate(held) for b in held[n + 1 :])
    return sorted(pairs)


def collisions(ours: Lock, theirs: Lock) -> list[Collision]:
    """Entries of `ours` that `theirs` holds differently: same key at another value, or
    our value held by another key. Entries equal on both sides are shared history."""
    out: list[Collision] = []
    for section in _SECTIONS:
        mine, other = _values(ours, section), _values(theirs, section)
        held = sorted(other.items())
        nets = [_network(v) for _, v in held] if section == "prefixes" else []
        first_holder: dict[str, str] = {}
        for okey, ovalue in reversed(held):
            first_holder[str(ovalue)] = okey
        for key, value in sorted(mine.items()):
            if key in other:
                if str(other[key]) != str(value):
                    out.append(Collision(section, key, str(value), key, str(other[key])))
                continue
            if section == "prefixes":
                net = _network(value)
                # `key` is not theirs, so every holder is another key
                hit = next((n for n, held_net in enumerate(nets) if _nested(net, held_net)), None)
                okey = None if hit is None else held[hit][0]
            else:
                okey = first_holder.get(str(value))
            if okey is not None:
                out.append(Collision(section, key, str(value), okey, str(other[okey])))
    return out


def internal_collisions(lock: Lock) -> list[Collision]:
    """Pairs of keys in one lock that hold the same value (a merge of two branches' locks)."""
    out: list[Collision] = []
    for section in _SECTIONS:
        items = sorted(_values(lock, section).items())
        for i, j in _clashing_pairs(section, [v for _key, v in items]):
            (key, value), (okey, ovalue) = items[i], items[j]
            out.append(Collision(section, okey, str(ovalue), key, str(value)))
    return out


def _line(root: Path, key: str) -> int | None:
    try:
        lines = (root / LOCK_FILE).read_text().splitlines()
    except OSError:
        return None
    return next((n for n, text in enumerate(lines, 1) if text.startswith(f"  {key}: ")), None)


def _entry_error(root: Path, c: Collision, message: str, hint: str) -> SpecError:
    """An error located at the colliding entry's line of the lock file."""
    return SpecError(LOCK_FILE, _line(root, c.key), None, f"{c.section}.{c.key}", message, hint)


def check(root: Path, against: str | None, lock: Lock | None = None) -> list[SpecError]:
    """Validation errors for lock conflicts: within the lock, and with `against` if given.

    `lock` is the lock file as the loader already read it (`Spec.lock`), else it is read.
    """
    try:
        ours = lock if lock is not None else Lock.read(root)
    except Exception:  # the loader already reported an unreadable lock
        return []
    errors: list[SpecError] = []
    for c in internal_collisions(ours):
        errors.append(
            _entry_error(
                root,
                c,
                _(
                    "{kind} {value} is held by both {other_key} and {key} "
                    "(two branches allocated it independently and Git merged both)"
                ).format(kind=_ONE[c.section], value=c.value, other_key=c.other_key, key=c.key),
                _(
                    "the lock whose values stand was applied or reviewed first: re-lock onto it "
                    "with 'dcctl lock --against <that branch>' and commit dcctl.lock.yaml"
                ),
            )
        )
    if against is None:
        return errors
    try:
        theirs = lock_at(root, against)
    except GitError as exc:
        return [
            *errors,
            SpecError(
                LOCK_FILE,
                None,
                None,
                "",
                _("cannot read the lock of {ref!r}: {problem}").format(ref=against, problem=exc),
                _("fetch it first ({command})").format(
                    command=f"git fetch origin {against.removeprefix('origin/')}"
                ),
            ),
        ]
    for c in collisions(ours, theirs):
        errors.append(
            _entry_error(
                root,
                c,
                c.describe(against),
                _(
                    "merging would renumber one of them: bring {ref} in "
                    "(git merge {ref}, or git rebase {ref}), then run "
                    "'dcctl lock --against {ref}' and commit dcctl.lock.yaml; "
                    "the new numbers show in this change's plan"
                ).format(ref=against),
            )
        )
    return errors


def relock_base(ours: Lock, theirs: Lock) -> tuple[Lock, list[Collision]]:
    """The lock to allocate from: all of theirs, plus our entries that do not collide.

    Our colliding keys are left out, so the allocator gives them the lowest free values;
    nothing of theirs ever moves.
    """
    dropped = collisions(ours, theirs)
    drop = {(c.section, c.key) for c in dropped}
    merged = Lock()
    for section in _SECTIONS:
        out = _values(theirs, section)
        for key, value in sorted(_values(ours, section).items()):
            if key not in out and (section, key) not in drop:
                out[key] = value
        setattr(merged, section, out)
    return merged, dropped


@dataclass
class Relocked:
    """What `dcctl lock` did: whether the file changed, every key that moved, every new one."""

    changed: bool
    moved: list[tuple[str, str, str, str]]  # key, old value, new value, why
    #: what this run allocated: (kind VLAN/prefix/address/disk, key, value), new keys only
    allocated: list[tuple[str, str, str]] = field(default_factory=list)
    #: keys in the old lock that the spec no longer needs (kept out of the new lock)
    released: list[tuple[str, str, str]] = field(default_factory=list)


def _allocated(
    old: Lock, new: Lock
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """New keys of `new` and keys of `old` it dropped, per section, with their values."""
    added, gone = [], []
    for section in (*_SECTIONS, "disks"):
        before, after = dict(getattr(old, section, {})), dict(getattr(new, section, {}))
        kind = _ONE.get(section, "disk")
        added += [(kind, k, after[k]) for k in sorted(after) if k not in before]
        gone += [(kind, k, before[k]) for k in sorted(before) if k not in after]
    return added, gone


def relock(spec: Any, against: str | None) -> Relocked:
    """Write the spec's allocation to its lock; with `against`, re-lock onto that ref first.

    Without `against`, a lock holding one value for two keys is refused: which key keeps
    it is a decision (the one reviewed or applied first), not an accident of key order.
    Raises SpecErrors (nothing written) when the lock cannot be made.
    """
    from dcctl.spec.checks import plan_ipam
    from dcctl.spec.errors import SpecErrors

    root: Path = spec.root
    ours = Lock.read(root)
    if against is None:
        errors = check(root, None)
        if errors:
            raise SpecErrors(errors)
        new = spec.allocation.lock()
        return Relocked(new.write(root), [], *_allocated(ours, new))
    try:
        theirs = lock_at(root, against)
    except GitError as exc:
        raise SpecErrors(
            [
                SpecError(
                    LOCK_FILE,
                    None,
                    None,
                    "",
                    _("cannot read the lock of {ref!r}: {problem}").format(
                        ref=against, problem=exc
                    ),
                )
            ]
        ) from None
    base, dropped = relock_base(ours, theirs)
    allocation, ipam_errors = plan_ipam(spec.site, spec.opds, spec.sources, base)
    if ipam_errors:
        raise SpecErrors(ipam_errors)
    allocation.disks = dict(spec.allocation.disks)  # sizes are the spec's, checked at load
    new = allocation.lock()
    why = {(c.section, c.key): c.describe(against) for c in dropped}
    moved = []
    for section in _SECTIONS:
        now = _values(new, section)
        for key, old in sorted(_values(ours, section).items()):
            if str(now.get(key)) != str(old):
                value = str(now.get(key, "released"))
                moved.append((key, str(old), value, why.get((section, key), "")))
    return Relocked(new.write(root), moved, *_allocated(ours, new))
