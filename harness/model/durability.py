"""Crash durability as data: what each write was told, what a round's crash plan is, and how
the rows read back after the crash are judged. Pure logic; the engine side is
`harness.persistence.durability`.

The judgement is Jepsen's, for single-row inserts: a write the database acknowledged must be
there after the crash (else *lost*); a row nobody wrote, or whose write failed before its commit
was sent, must not be (else *unexpected*); a write whose commit got no answer is *indeterminate*
and may go either way, unless the database can say what became of it (*resolved*).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from harness.model.servers.persons import Row

# The seed every front end plans its kill moments from, unless told another.
DEFAULT_SEED = 20261128
DEFAULT_ROUNDS = 20  # kill rounds per campaign


class WriteFate(Enum):
    ACKNOWLEDGED = "acknowledged"  # COMMIT returned: the database promised the row
    FAILED = "failed"  # an error before COMMIT was sent: the row cannot have been committed
    INDETERMINATE = "indeterminate"  # COMMIT was sent and no answer came


class Resolution(Enum):
    """What the database itself says became of an indeterminate write's transaction."""

    COMMITTED = "committed"
    ABORTED = "aborted"
    UNKNOWN = "unknown"  # the database cannot say (MariaDB has no transaction status lookup)


@dataclass(frozen=True)
class Write:
    person_id: int
    fate: WriteFate
    txid: int | None = None  # PostgreSQL's txid_current() before COMMIT, when it was read


def person_row(person_id: int) -> Row:
    """The full Persons row a durability write inserts: derived from the id, so every row read
    back can be compared in full with what was written."""
    return (person_id, f"Last{person_id}", f"First{person_id}", f"{person_id} Crash St", "Kill")


@dataclass(frozen=True)
class RoundPlan:
    """When the round's crash comes and how the server comes back: drawn from a seeded random
    source, so a round is reproducible from (seed, campaign, round number)."""

    number: int
    kill_after_acks: int  # the container is killed once this many writes were acknowledged
    jitter_ms: int  # ...and this much later, so the kill lands anywhere in a commit
    recreate: bool  # after the kill: `docker rm` + `docker run` on the storage, else `start`


def plan_rounds(
    seed: int, campaign: str, rounds: int, writes_per_round: int, *, first_kill: float = 0.5
) -> list[RoundPlan]:
    """`rounds` crash plans. The kill comes after between `first_kill` and 90 % of the round's
    writes are acknowledged, so every round has at least that share of writes in flight or done
    and the crash always lands mid-stream, never after the writers stopped."""
    source = random.Random(f"{seed}:{campaign}")  # noqa: S311 - reproducible, not secret
    low = max(1, int(writes_per_round * first_kill))
    high = max(low, int(writes_per_round * 0.9))
    return [
        RoundPlan(
            number=n,
            kill_after_acks=source.randint(low, high),
            jitter_ms=source.randint(0, 20),
            recreate=source.random() < 0.5,
        )
        for n in range(1, rounds + 1)
    ]


@dataclass
class RoundCounts:
    """One round's judgement. `lost` and `unexpected` hold ids; the rest are counts."""

    round: int
    restart: str  # "start" or "recreate"
    attempted: int = 0
    acknowledged: int = 0
    failed: int = 0
    indeterminate: int = 0
    resolved: int = 0  # indeterminate writes the database could account for...
    resolved_committed: int = 0  # ...and of those, the ones it says committed
    indeterminate_present: int = 0  # unresolved ones whose row is there (allowed)
    lost: list[int] = field(default_factory=list)
    unexpected: list[int] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.lost and not self.unexpected

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["lost"] = len(self.lost)
        record["unexpected"] = len(self.unexpected)
        record["lost_ids"] = self.lost
        record["unexpected_ids"] = self.unexpected
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RoundCounts:
        fields = {k: v for k, v in record.items() if not k.endswith("_ids")}
        return cls(**fields | {"lost": record["lost_ids"], "unexpected": record["unexpected_ids"]})


def judge(
    round_number: int,
    restart: str,
    history: Iterable[Write],
    *,
    round_ids: set[int],
    read_back: Mapping[int, Row],
    resolutions: Mapping[int, Resolution],
    duplicated: Iterable[int] = (),
) -> RoundCounts:
    """Judge the rows read back after a crash against every write so far.

    `history` holds all writes of the campaign (earlier rounds' acknowledged rows must survive
    this crash too); `round_ids` says which of them belong to this round, for the counts;
    `resolutions` maps a person id to what the database said of its indeterminate write.
    A resolved-committed write missing is lost like an acknowledged one; a resolved-aborted or a
    failed write whose row is present is unexpected.
    """
    counts = RoundCounts(round=round_number, restart=restart)
    attempted: set[int] = set()
    for write in history:
        attempted.add(write.person_id)
        mine = write.person_id in round_ids
        present = write.person_id in read_back
        resolution = resolutions.get(write.person_id, Resolution.UNKNOWN)
        if mine:
            counts.attempted += 1
        if write.fate is WriteFate.ACKNOWLEDGED or (
            write.fate is WriteFate.INDETERMINATE and resolution is Resolution.COMMITTED
        ):
            must_be_there = True
        elif write.fate is WriteFate.FAILED or resolution is Resolution.ABORTED:
            must_be_there = False
        else:  # indeterminate and unresolved: either is allowed
            must_be_there = None
        if mine:
            _count(counts, write, resolution, present)
        if must_be_there is True and (
            not present or read_back[write.person_id] != person_row(write.person_id)
        ):
            counts.lost.append(write.person_id)
        elif must_be_there is False and present:
            counts.unexpected.append(write.person_id)
    # A row never attempted, or one id read back twice (each write inserts its id once).
    counts.unexpected += sorted((set(read_back) - attempted) | set(duplicated))
    return counts


def settle(
    history: Iterable[Write], read_back: Mapping[int, Row], resolutions: Mapping[int, Resolution]
) -> list[Write]:
    """The history as the next crash must be judged against: what this recovery showed is now
    settled. A row that was read back (or resolved committed) must survive every later crash; a
    write that is absent now must never appear later; a row already counted lost is not counted
    again (it may come back or not)."""
    settled = []
    for write in history:
        resolution = resolutions.get(write.person_id, Resolution.UNKNOWN)
        present = read_back.get(write.person_id) == person_row(write.person_id)
        committed = write.fate is WriteFate.ACKNOWLEDGED or resolution is Resolution.COMMITTED
        if committed and not present:
            fate = WriteFate.INDETERMINATE  # lost, and counted once
        elif present:
            fate = WriteFate.ACKNOWLEDGED
        else:
            fate = WriteFate.FAILED
        settled.append(Write(write.person_id, fate))
    return settled


def _count(counts: RoundCounts, write: Write, resolution: Resolution, present: bool) -> None:
    match write.fate:
        case WriteFate.ACKNOWLEDGED:
            counts.acknowledged += 1
        case WriteFate.FAILED:
            counts.failed += 1
        case WriteFate.INDETERMINATE:
            counts.indeterminate += 1
            if resolution is not Resolution.UNKNOWN:
                counts.resolved += 1
                counts.resolved_committed += resolution is Resolution.COMMITTED
            elif present:
                counts.indeterminate_present += 1


@dataclass(frozen=True)
class Setting:
    """A server configuration a campaign runs under."""

    name: str
    safe: bool  # False: the setting trades durability for speed; loss is allowed, only counted
    description: str


SAFE = Setting("default", True, "the server's defaults (every commit flushed)")
# Per database: the setting that acknowledges a commit before it is made durable.
_INNODB_UNSAFE = (
    Setting(
        "innodb_flush_log_at_trx_commit=0",
        False,
        "the redo log is written and flushed once a second, not at COMMIT",
    ),
    ("--innodb-flush-log-at-trx-commit=0",),
)
UNSAFE: Mapping[str, tuple[Setting, tuple[str, ...]]] = {
    "postgres": (
        Setting("synchronous_commit=off", False, "COMMIT returns before the WAL is flushed"),
        ("-c", "synchronous_commit=off"),
    ),
    "mysql": _INNODB_UNSAFE,
    "mariadb": _INNODB_UNSAFE,
}


def campaign_id(database: str, storage: str, *, safe: bool) -> str:
    """`<database>-<storage>`, and `-unsafe` for the unsafe setting's campaign."""
    return f"{database}-{storage}{'' if safe else '-unsafe'}"


@dataclass
class Campaign:
    """Several crash rounds of one database on one storage mode under one setting."""

    database: str
    storage: str
    setting: Setting
    seed: int
    writers: int
    writes_per_round: int
    # What the campaign must show: "no loss" (a safe setting on storage that keeps data),
    # "loss" (the tmpfs control), or "report" (an unsafe setting: counted, never a failure).
    must_show: str
    rounds: list[RoundCounts] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    # Per round that lost or invented rows: the ids' recorded fates and the server's log.
    evidence: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return campaign_id(self.database, self.storage, safe=self.setting.safe)

    def total(self, name: str) -> int:
        return sum(
            len(value) if isinstance(value := getattr(r, name), list) else int(value)
            for r in self.rounds
        )

    @property
    def passed(self) -> bool:
        """Whether the campaign showed what it must."""
        if self.error or not self.rounds:
            return False
        if self.total("unexpected"):
            return False
        match self.must_show:
            case "no loss":
                return self.total("lost") == 0
            case "loss":
                return self.total("lost") > 0
            case _:
                return True

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "database": self.database,
            "storage": self.storage,
            "setting": self.setting.name,
            "safe": self.setting.safe,
            "must_show": self.must_show,
            "seed": self.seed,
            "writers": self.writers,
            "writes_per_round": self.writes_per_round,
            "passed": self.passed,
            "error": self.error,
            "seconds": round(self.seconds, 2),
            "totals": {
                name: self.total(name)
                for name in (
                    "attempted",
                    "acknowledged",
                    "failed",
                    "indeterminate",
                    "resolved",
                    "resolved_committed",
                    "lost",
                    "unexpected",
                )
            },
            "rounds": [r.to_record() for r in self.rounds],
            "evidence": self.evidence,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Campaign:
        """The campaign back from `to_record` (pytest-xdist carries records, not objects)."""
        settings = {SAFE.name: SAFE} | {s.name: s for s, _ in UNSAFE.values()}
        return cls(
            database=record["database"],
            storage=record["storage"],
            setting=settings[record["setting"]],
            seed=record["seed"],
            writers=record["writers"],
            writes_per_round=record["writes_per_round"],
            must_show=record["must_show"],
            rounds=[RoundCounts.from_record(r) for r in record["rounds"]],
            error=record["error"],
            seconds=record["seconds"],
            evidence=list(record.get("evidence", [])),
        )


@dataclass(frozen=True)
class CampaignPlan:
    database: str
    storage: str
    safe: bool
    must_show: str
    # A control's rounds: each one shows the same total loss, so a few are enough. None: as
    # many as the run asks for.
    fixed_rounds: int | None = None

    @property
    def id(self) -> str:
        return campaign_id(self.database, self.storage, safe=self.safe)

    def rounds(self, asked: int) -> int:
        return self.fixed_rounds or asked


CONTROL_ROUNDS = 3


def standard_campaigns(
    databases: tuple[str, ...], storages: tuple[str, ...] = ("named", "bind")
) -> list[CampaignPlan]:
    """The durability suite: every database on each persistent storage with its defaults (no
    loss allowed), on tmpfs (a control that must show loss), and under its unsafe setting on a
    named volume (loss counted, never a failure)."""
    plans = []
    for database in databases:
        for storage in storages:
            plans.append(CampaignPlan(database, storage, True, "no loss"))
        plans.append(CampaignPlan(database, "tmpfs", True, "loss", CONTROL_ROUNDS))
        plans.append(CampaignPlan(database, "named", False, "report"))
    return plans
