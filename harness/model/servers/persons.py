"""The `Persons` table of the classroom notes: its rows, writing them, reading them back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.model.outcomes import Outcome


class DbConnection(Protocol):
    """What the harness needs of a DB-API connection (pymysql's and psycopg's both fit)."""

    def cursor(self) -> Any: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


class MissingData(Exception):
    """The database or table the rows were written to does not exist (an observation)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what  # "database" or "table"


# Which of "database" / "table" an error says is missing (None: some other error).
ClassifyMissing = Callable[[BaseException], str | None]

Row = tuple[int, str | None, str | None, str | None, str | None]

# Exactly as typed in the notes; both servers accept it.
CREATE_TABLE = """CREATE TABLE Persons (
  PersonID int,
  LastName varchar(255),
  FirstName varchar(255),
  Address varchar(255),
  City varchar(255)
)"""
# For writers that come back after a crash: the table may be there already (or not, on tmpfs).
CREATE_TABLE_IF_MISSING = CREATE_TABLE.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
INSERT = "INSERT INTO Persons VALUES (%s, %s, %s, %s, %s)"
SELECT = "SELECT PersonID, LastName, FirstName, Address, City FROM Persons ORDER BY PersonID"

NOTES_ROW: Row = (1, "test", "test", "test", "test")

# Rows that catch what naive quoting, encodings and NULL handling lose.
GENERATED_ROWS: tuple[Row, ...] = (
    (2, "O'Brien", "Seán", '12 Quay\'s "End"', "Dún Laoghaire"),
    (3, "Müller", "Zoë", None, "Zürich"),
    (4, "山田", "太郎", "東京都千代田区 1-1", "東京"),
    (5, None, None, None, None),
    (6, "Backslash \\ Tab\t", "Percent %s", "Semi; DROP TABLE Persons; --", "Ωmega 🙂"),
)

PERSONS_ROWS: tuple[Row, ...] = (NOTES_ROW, *GENERATED_ROWS)


@dataclass(frozen=True)
class Observation:
    outcome: Outcome
    rows_read: int
    # Why "lost": "database missing", "table missing", or "rows differ"; empty for "survives".
    detail: str = ""


def write_persons(connection: DbConnection, rows: tuple[Row, ...] = PERSONS_ROWS) -> int:
    """Create `Persons` and insert `rows` in one committed transaction; return the count."""
    cursor = connection.cursor()
    cursor.execute(CREATE_TABLE)
    cursor.executemany(INSERT, [list(row) for row in rows])
    cursor.close()
    connection.commit()
    return len(rows)


def read_persons(connection: DbConnection) -> list[Row]:
    cursor = connection.cursor()
    cursor.execute(SELECT)
    rows = [tuple(row) for row in cursor.fetchall()]
    cursor.close()
    connection.commit()
    return rows


def observe(
    classify_missing: ClassifyMissing,
    connect: Callable[[], DbConnection],
    written: tuple[Row, ...] = PERSONS_ROWS,
) -> Observation:
    """Survives only when the full row set read back equals what was written.

    A missing database or table is an observation ("lost"), not an error.
    """
    try:
        connection = connect()
    except MissingData as missing_database:
        return Observation(Outcome.LOST, 0, f"{missing_database.what} missing")
    try:
        rows = read_persons(connection)
    except Exception as error:
        what = classify_missing(error)
        if what:
            return Observation(Outcome.LOST, 0, f"{what} missing")
        raise
    finally:
        connection.close()
    if rows == list(written):
        return Observation(Outcome.SURVIVES, len(rows))
    return Observation(Outcome.LOST, len(rows), "rows differ")
