"""Shards: one run's work split over N machines (`--shard K/N`), and their reports put together
again (`python -m harness merge`).

Every shard is given the same selection (the same cells, or the same class) and takes every
N-th item of it in the run's own order, starting at its K-th: item i goes to shard (i mod N) + 1.
The split is the same on every machine without any coordination, it spreads each table's
databases and actions (or a class's students) evenly, and the merged report lists them in the
order an unsplit run would have.

A shard's report carries a `shard` block beside the contract's keys: which shard it is, how many
items its shard and the whole run were given, the harness's version and what merging needs to
rebuild the other reports. The merged report has no such block: it is the unsplit run's shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar

from harness.errors import UsageError

T = TypeVar("T")
_FORM = re.compile(r"(\d+)/(\d+)")
DISTRIBUTION = "container-persistence-harness"


def harness_version() -> str:
    """The installed harness's version (shards of different versions are never merged)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N` with 1 <= K <= N; anything else is a usage error."""
        found = _FORM.fullmatch(text.strip())
        index, count = (int(found[1]), int(found[2])) if found else (0, 0)
        if not found or count < 1 or not 1 <= index <= count:
            raise UsageError(
                f"--shard {text} is not K/N with 1 <= K <= N; give, say, --shard 1/3 on the "
                "first of three machines."
            )
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, position: int) -> bool:
        """Whether the item at `position` (0-based, in the run's order) is this shard's."""
        return position % self.count == self.index - 1

    def take(self, items: Sequence[T]) -> list[T]:
        """This shard's part of `items`."""
        return [item for position, item in enumerate(items) if self.owns(position)]

    def block(self, kind: str, assigned: int, total: int, **more: Any) -> dict[str, Any]:
        """The report's `shard` block: what `merge` checks and needs."""
        return {
            "kind": kind,
            "index": self.index,
            "count": self.count,
            "assigned": assigned,
            "total": total,
            "harness": harness_version(),
            **more,
        }


def shard_option(text: str | None) -> Shard | None:
    return Shard.parse(text) if text else None


@dataclass(frozen=True)
class ShardReport:
    """One shard's report as read from its file."""

    path: str
    report: Mapping[str, Any]

    @property
    def block(self) -> Mapping[str, Any]:
        block = self.report.get("shard")
        if not isinstance(block, Mapping):
            raise UsageError(
                f"{self.path} is not a shard's report (it has no shard block); merge the "
                "reports written by runs given --shard K/N."
            )
        return block


def check_complete(shards: Sequence[ShardReport]) -> list[ShardReport]:
    """The shards in index order, once each shard of one split of one selection was given,
    made by one harness version; otherwise the one sentence that says what is wrong."""
    if not shards:
        raise UsageError("give the reports of every shard to merge.")
    first = shards[0]
    for key, what in (
        ("kind", "kind of report"),
        ("harness", "harness version"),
        ("count", "number of shards"),
        ("total", "selection (a different number of items in all)"),
    ):
        same_in_every_shard(shards, key, f"differ in their {what}")
    by_index: dict[int, ShardReport] = {}
    for shard in shards:
        index = int(shard.block["index"])
        if index in by_index:
            raise UsageError(
                f"{shard.path} and {by_index[index].path} are both shard {index}; give each "
                "shard's report once."
            )
        by_index[index] = shard
    count = int(first.block["count"])
    missing = [str(i) for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise UsageError(
            f"shard {', '.join(missing)} of {count} is missing; give every shard's report "
            "(a merged report without it would silently lack its items)."
        )
    assigned = sum(int(s.block["assigned"]) for s in shards)
    if assigned != int(first.block["total"]):
        raise UsageError(
            f"the shards were given {assigned} items but the run had {first.block['total']}; "
            "run every shard with the same selection."
        )
    return [by_index[i] for i in range(1, count + 1)]


def same_in_every_shard(
    shards: Sequence[ShardReport], key: str, differ: str, *, in_block: bool = True
) -> Any:
    """The value of `key` (in the shards' blocks, or in the contract's own keys when not
    `in_block`), which must be the same in all of them; `differ` says how two that are not
    differ ("grade different labs")."""

    def value(shard: ShardReport) -> Any:
        return (shard.block if in_block else shard.report).get(key)

    first = shards[0]
    for other in shards[1:]:
        if value(other) != value(first):
            raise UsageError(
                f"{other.path} and {first.path} {differ} ({value(other)!r} and "
                f"{value(first)!r}); merge the shards of one run."
            )
    return value(first)
