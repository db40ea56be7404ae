"""Crash durability on the engine: writers insert Persons rows while the server is SIGKILLed.

A campaign is one deployment (database x storage x setting) through several rounds. In each
round, parallel writers insert distinct rows, one transaction each, and record what every COMMIT
answered; once a seeded number of writes were acknowledged the container is killed, then started
again or recreated on the same storage; the rows read back are judged against every write so far
(`harness.model.durability.judge`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from harness.containers.database import database_container
from harness.containers.deployment import Deployment
from harness.containers.engine import Engine, Session
from harness.containers.engine_watch import answers, engine_cause, forget_refused_sockets
from harness.containers.managed import spec_of
from harness.containers.readiness import LOG_TAIL_LINES, connect_to_run, describe_exit
from harness.errors import HarnessError, NotRunning, described
from harness.model.durability import (
    DEFAULT_SEED,
    SAFE,
    UNSAFE,
    Campaign,
    CampaignPlan,
    Resolution,
    RoundCounts,
    RoundPlan,
    Write,
    WriteFate,
    judge,
    person_row,
    plan_rounds,
    settle,
)
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.servers.credentials import Credentials, redact
from harness.model.servers.databases import DATABASES, DatabaseProfile
from harness.model.servers.persons import CREATE_TABLE_IF_MISSING, INSERT, SELECT, DbConnection, Row
from harness.persistence.scenario import locate_data, verify_placement

WRITE_TIMEOUT = 10.0  # seconds a writer waits on one statement before calling it unanswered
IDS_PER_ROUND = 1_000_000  # round r's ids start at r * this: distinct across rounds and writers
EVIDENCE_IDS = 5  # lost or unexpected ids described per round
# A writer stops on its own after this many times its share of the round (the kill never came).
RUNAWAY_FACTOR = 20


@dataclass(frozen=True)
class Dialect:
    """What differs between the databases for a crash writer."""

    # Read before COMMIT: an id the database can later be asked about (None: it cannot).
    txid_query: str | None
    # Asked after the crash about each txid (None: no such lookup).
    resolve: Callable[[DbConnection, int], Resolution] | None
    setting_query: str  # reads the durability setting back, to prove it is in effect
    expected_setting: Mapping[str, str]  # setting name -> the value the query must return


def _postgres_resolve(connection: DbConnection, txid: int) -> Resolution:
    import psycopg  # noqa: PLC0415 - drivers load on first use

    cursor = connection.cursor()
    try:
        cursor.execute("SELECT txid_status(%s)", (txid,))
        status = cursor.fetchall()[0][0]
    except psycopg.errors.InvalidParameterValue:
        # "transaction ID ... is in the future": recovery never saw it, so no commit record of
        # it reached the disk. It cannot have committed.
        return Resolution.ABORTED
    finally:
        cursor.close()
    return {"committed": Resolution.COMMITTED, "aborted": Resolution.ABORTED}.get(
        str(status), Resolution.UNKNOWN
    )


# MySQL and MariaDB: InnoDB's flush setting, and no transaction id a client could look up.
_INNODB = Dialect(
    txid_query=None,
    resolve=None,
    setting_query="SELECT @@innodb_flush_log_at_trx_commit",
    expected_setting={"default": "1", "innodb_flush_log_at_trx_commit=0": "0"},
)
DIALECTS: Mapping[str, Dialect] = {
    "postgres": Dialect(
        txid_query="SELECT txid_current()",
        resolve=_postgres_resolve,
        setting_query="SHOW synchronous_commit",
        expected_setting={"default": "on", "synchronous_commit=off": "off"},
    ),
    "mysql": _INNODB,
    "mariadb": _INNODB,
}


class RoundLog:
    """The writes of one round, shared by its writers and the killer."""

    def __init__(self, kill_after_acks: int) -> None:
        self.writes: list[Write] = []
        self.acknowledged = 0
        self.writers_left = 0
        self.kill_after_acks = kill_after_acks
        self.errors: list[str] = []
        self.killed = threading.Event()
        self.changed = threading.Condition()

    def record(self, write: Write) -> None:
        with self.changed:
            self.writes.append(write)
            if write.fate is WriteFate.ACKNOWLEDGED:
                self.acknowledged += 1
            self.changed.notify_all()

    def writer_done(self, error: str | None) -> None:
        with self.changed:
            self.writers_left -= 1
            if error and not self.killed.is_set():
                self.errors.append(error)
            self.changed.notify_all()

    def wait_for_kill_moment(self) -> bool:
        """Block until enough writes were acknowledged; False when the writers stopped first."""
        with self.changed:
            self.changed.wait_for(
                lambda: self.acknowledged >= self.kill_after_acks or self.writers_left == 0
            )
            return self.acknowledged >= self.kill_after_acks


def _write_one(
    connection: DbConnection, dialect: Dialect, person_id: int, log: RoundLog
) -> Exception | None:
    """Insert one row in its own transaction and record its fate; the error once the connection
    fails (the writer stops)."""
    cursor = connection.cursor()
    txid = None
    try:
        if dialect.txid_query:
            cursor.execute(dialect.txid_query)
            txid = int(cursor.fetchall()[0][0])
        cursor.execute(INSERT, list(person_row(person_id)))
    except Exception as error:
        log.record(Write(person_id, WriteFate.FAILED, txid))
        return error
    finally:
        cursor.close()
    try:
        connection.commit()
    except Exception as error:
        log.record(Write(person_id, WriteFate.INDETERMINATE, txid))
        return error
    log.record(Write(person_id, WriteFate.ACKNOWLEDGED, txid))
    return None


def _writer(
    connect: Callable[[], DbConnection], dialect: Dialect, ids: range, log: RoundLog
) -> None:
    """Write until the connection dies: the kill, normally. Writers keep going until then, so
    the kill always lands among writes in flight; `ids` only bounds a round whose kill never
    comes."""
    error = None
    try:
        with closing(connect()) as connection:
            for person_id in ids:
                failure = _write_one(connection, dialect, person_id, log)
                if failure is not None:
                    error = f"write {person_id}: {type(failure).__name__}: {failure}"
                    break
    except Exception as failure:  # reported through the log; the round decides
        error = f"{type(failure).__name__}: {failure}"
    finally:
        log.writer_done(error)


class CrashRounds:
    """One campaign's deployment and history across its rounds."""

    def __init__(self, d: Deployment, campaign: Campaign, creds: Credentials) -> None:
        self.d = d
        self.campaign = campaign
        self.creds = creds
        self.profile: DatabaseProfile = d.profile
        self.dialect = DIALECTS[campaign.database]
        self.history: list[Write] = []

    def connect_writer(self) -> DbConnection:
        """A writer's connection, proven to reach this campaign's server (not whatever took its
        address after a kill: see `ensure_same_run`)."""
        container = self.d.container
        started_at = container.state().get("StartedAt")
        where = container.endpoint(self.profile.port, fresh=False)
        return connect_to_run(container, self.profile, self.creds, WRITE_TIMEOUT, where, started_at)

    def start(self) -> None:
        """The first container: placement checked, the setting proven, the table created."""
        self.d.start_new()
        with closing(self.d.connect()) as connection:
            verify_placement(self.d, *locate_data(self.d, connection))
        self.prepare()

    def prepare(self) -> None:
        """After every (re)start: the setting must be the campaign's; the table must exist."""
        with closing(self.d.connect()) as connection:
            cursor = connection.cursor()
            cursor.execute(self.dialect.setting_query)
            value = str(cursor.fetchall()[0][0])
            wanted = self.dialect.expected_setting[self.campaign.setting.name]
            if value != wanted:
                raise HarnessError(
                    f"{self.profile.name} runs with {self.dialect.setting_query} = {value}, not "
                    f"{wanted} as the campaign {self.campaign.id} needs; check the image honours "
                    "server options given as the container's command."
                )
            cursor.execute(CREATE_TABLE_IF_MISSING)
            cursor.close()
            connection.commit()

    def run_round(self, plan: RoundPlan) -> RoundCounts:
        log = RoundLog(plan.kill_after_acks)
        per_writer = RUNAWAY_FACTOR * self.campaign.writes_per_round // self.campaign.writers
        base = plan.number * IDS_PER_ROUND
        threads = [
            threading.Thread(
                target=_writer,
                args=(
                    self.connect_writer,
                    self.dialect,
                    range(base + w * per_writer, base + (w + 1) * per_writer),
                    log,
                ),
                name=f"writer-{w}",
                daemon=True,
            )
            for w in range(self.campaign.writers)
        ]
        log.writers_left = len(threads)
        for thread in threads:
            thread.start()
        mid_stream = log.wait_for_kill_moment()
        time.sleep(plan.jitter_ms / 1000)
        log.killed.set()  # from here on, a writer's error is the crash, not a problem
        self.kill(plan)
        for thread in threads:
            thread.join(timeout=WRITE_TIMEOUT * 3)
        if any(thread.is_alive() for thread in threads):
            # Its last write would be judged after the fact; better no verdict than a wrong one.
            raise HarnessError(
                f"A writer of {self.campaign.id} still waited on the killed server "
                f"{WRITE_TIMEOUT * 3:.0f} s after round {plan.number}'s kill; no verdict."
            )
        if not mid_stream or log.errors:
            reason = "; ".join(log.errors) or "the writers stopped before the kill"
            raise HarnessError(
                f"Round {plan.number} of {self.campaign.id} could not crash mid-stream "
                f"({reason}); no verdict. The server's log (up to the kill) ends:\n"
                + self.server_log()
            )
        self.restart(plan)
        return self.judge(plan, log.writes)

    def kill(self, plan: RoundPlan) -> None:
        """SIGKILL the server; a server that is already gone ended the round itself, which says
        something about the server (or the machine), not about the kill: no verdict, with why."""
        try:
            self.d.container.kill()
        except NotRunning:
            raise HarnessError(
                f"The server of {self.campaign.id} exited on its own in round {plan.number}, "
                "before the harness killed it; no verdict "
                f"({describe_exit(self.d.container, self.creds.secrets)})"
            ) from None

    def restart(self, plan: RoundPlan) -> None:
        if plan.recreate:
            self.d.container.remove(volumes=False)
            self.d.start_new()
        else:
            self.d.container.start_again()

    def judge(self, plan: RoundPlan, round_writes: list[Write]) -> RoundCounts:
        self.history += round_writes
        resolutions = self.resolve()
        rows, duplicated = self.read_back()
        counts = judge(
            plan.number,
            "recreate" if plan.recreate else "start",
            self.history,
            round_ids={w.person_id for w in round_writes},
            read_back=rows,
            resolutions=resolutions,
            duplicated=duplicated,
        )
        # A control's or an unsafe setting's loss is what it is there to show: no evidence.
        if counts.unexpected or (counts.lost and self.campaign.must_show == "no loss"):
            self.campaign.evidence.append(self.evidence(counts, rows))
        self.history = settle(self.history, rows, resolutions)
        self.prepare()
        return counts

    def evidence(self, counts: RoundCounts, rows: Mapping[int, Row]) -> str:
        """What a round that lost or invented rows looked like, for whoever must explain it:
        each such id's recorded fate and what was read back, and the recovering server's log."""
        fates = {w.person_id: w.fate.value for w in self.history}
        shown = [
            f"{i}: {fates.get(i, 'never written')}, read back {rows.get(i, 'nothing')}"
            for i in (counts.lost + counts.unexpected)[:EVIDENCE_IDS]
        ]
        return (
            f"round {counts.round} ({counts.restart}): lost {counts.lost[:EVIDENCE_IDS]}, "
            f"unexpected {counts.unexpected[:EVIDENCE_IDS]}; "
            + "; ".join(shown)
            + ". The server's log after the crash ends:\n"
            + self.server_log()
        )

    def server_log(self) -> str:
        """The current container's log tail, passwords redacted (evidence is not an error, which
        `run_campaign` redacts on its own)."""
        return redact(self.d.container.logs(LOG_TAIL_LINES), self.creds.secrets)

    def resolve(self) -> dict[int, Resolution]:
        """Ask the database what became of each indeterminate write, first thing after the
        restart (before any new transaction could reuse a transaction id recovery forgot)."""
        unsure = [
            w for w in self.history if w.fate is WriteFate.INDETERMINATE and w.txid is not None
        ]
        resolve = self.dialect.resolve
        if not unsure or resolve is None:
            return {}
        with closing(self.d.connect()) as connection:
            connection.commit()
            # Each lookup stands alone: one "in the future" error must not abort the rest.
            connection.autocommit = True  # type: ignore[attr-defined]  # psycopg's, not in DbConnection
            return {w.person_id: resolve(connection, int(w.txid or 0)) for w in unsure}

    def read_back(self) -> tuple[dict[int, Row], list[int]]:
        """Every row there now (none when the table or database is gone), and ids seen twice."""
        rows: dict[int, Row] = {}
        duplicated: list[int] = []
        try:
            with closing(self.d.connect()) as connection:
                cursor = connection.cursor()
                cursor.execute(SELECT)
                fetched: list[Any] = cursor.fetchall()
                cursor.close()
                connection.commit()
        except Exception as error:
            if self.profile.classify_missing(error):
                return rows, duplicated
            raise
        for row in fetched:
            person_id = int(row[0])
            if person_id in rows:
                duplicated.append(person_id)
            rows[person_id] = tuple(row)
        return rows, duplicated


def run_campaign(
    engine: Engine,
    session: Session,
    plan: CampaignPlan,
    image: str,
    creds: Credentials,
    *,
    rounds: int,
    seed: int = DEFAULT_SEED,
    writers: int = 4,
    writes_per_round: int = 400,
    progress: Callable[[RoundCounts], None] | None = None,
    server_options: tuple[str, ...] = (),
) -> Campaign:
    """Run one campaign's rounds; everything it made is removed after. `server_options` are
    added to the server's command (an experiment's arm, such as io_uring off)."""
    setting, options = (SAFE, ()) if plan.safe else UNSAFE[plan.database]
    options = (*options, *server_options)
    campaign = Campaign(
        plan.database, plan.storage, setting, seed, writers, writes_per_round, plan.must_show
    )
    profile = DATABASES[plan.database]
    started = time.monotonic()
    try:
        with (
            database_container(engine, session, image, profile, creds) as container,
            Deployment(
                engine,
                session.scoped(f"durability-{campaign.id}"),
                profile,
                creds,
                STORAGE_MODES[plan.storage],
                container.with_command(list(options)) if options else container,
                spec_of(container),
            ) as d,
        ):
            crash = CrashRounds(d, campaign, creds)
            crash.start()
            for round_plan in plan_rounds(seed, campaign.id, plan.rounds(rounds), writes_per_round):
                counts = crash.run_round(round_plan)
                campaign.rounds.append(counts)
                if progress:
                    progress(counts)
    except Exception as error:  # the campaign's verdict is "could not run", with why
        campaign.error = redact(described(error), creds.secrets)
        if not answers(engine):  # the engine went away, not the server: say so
            forget_refused_sockets()
            campaign.error = engine_cause(campaign.error, f"round {len(campaign.rounds) + 1}")
    campaign.seconds = time.monotonic() - started
    return campaign
