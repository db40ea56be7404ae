"""The crash-durability judgement, round plans and campaign verdicts, without an engine."""

from __future__ import annotations

import pytest

from harness.frontends.reports.durability import failure
from harness.model.durability import (
    SAFE,
    UNSAFE,
    Campaign,
    Resolution,
    RoundCounts,
    Write,
    WriteFate,
    judge,
    person_row,
    plan_rounds,
    settle,
)

ACK, FAILED, UNSURE = WriteFate.ACKNOWLEDGED, WriteFate.FAILED, WriteFate.INDETERMINATE


def rows(*ids: int) -> dict[int, tuple[int, str | None, str | None, str | None, str | None]]:
    return {i: person_row(i) for i in ids}


def test_plans_are_reproducible_from_the_seed_and_differ_between_seeds() -> None:
    first = plan_rounds(7, "mysql-named", 20, 400)
    assert first == plan_rounds(7, "mysql-named", 20, 400)
    assert first != plan_rounds(8, "mysql-named", 20, 400)
    assert first != plan_rounds(7, "postgres-named", 20, 400)


def test_every_kill_comes_mid_stream_after_half_to_nine_tenths_of_the_writes() -> None:
    plans = plan_rounds(1, "c", 200, 400)
    kills = [p.kill_after_acks for p in plans]
    assert min(kills) >= 200
    assert max(kills) <= 360
    assert len(set(kills)) > 50  # spread, not one moment
    assert {p.recreate for p in plans} == {True, False}  # both ways back are exercised
    assert [p.number for p in plans] == list(range(1, 201))


def test_an_acknowledged_write_missing_after_the_crash_is_lost() -> None:
    history = [Write(1, ACK), Write(2, ACK)]
    counts = judge(1, "start", history, round_ids={1, 2}, read_back=rows(1), resolutions={})
    assert counts.lost == [2]
    assert counts.unexpected == []
    assert (counts.attempted, counts.acknowledged) == (2, 2)


def test_a_row_read_back_with_other_content_is_lost() -> None:
    changed = {1: (1, "Last1", "First1", "elsewhere", "Kill")}
    counts = judge(1, "start", [Write(1, ACK)], round_ids={1}, read_back=changed, resolutions={})
    assert counts.lost == [1]


def test_a_failed_write_present_and_a_row_never_written_are_unexpected() -> None:
    history = [Write(1, FAILED), Write(2, ACK)]
    counts = judge(1, "start", history, round_ids={1, 2}, read_back=rows(1, 2, 99), resolutions={})
    assert counts.unexpected == [1, 99]
    assert counts.lost == []
    assert counts.failed == 1


def test_an_id_read_back_twice_is_unexpected() -> None:
    history = [Write(1, ACK)]
    counts = judge(
        1, "start", history, round_ids={1}, read_back=rows(1), resolutions={}, duplicated=[1]
    )
    assert counts.unexpected == [1]


def test_an_unresolved_indeterminate_write_may_go_either_way() -> None:
    history = [Write(1, UNSURE), Write(2, UNSURE)]
    counts = judge(1, "start", history, round_ids={1, 2}, read_back=rows(1), resolutions={})
    assert counts.clean
    assert (counts.indeterminate, counts.resolved, counts.indeterminate_present) == (2, 0, 1)


def test_a_resolved_write_is_held_to_what_the_database_said() -> None:
    history = [Write(1, UNSURE, txid=10), Write(2, UNSURE, txid=11)]
    said = {1: Resolution.COMMITTED, 2: Resolution.ABORTED}
    counts = judge(1, "start", history, round_ids={1, 2}, read_back=rows(2), resolutions=said)
    assert counts.lost == [1]
    assert counts.unexpected == [2]
    assert (counts.resolved, counts.resolved_committed) == (2, 1)


def test_counts_are_the_rounds_own_but_earlier_rows_must_survive_too() -> None:
    history = [Write(1, ACK), Write(2, ACK), Write(3, ACK)]
    counts = judge(2, "recreate", history, round_ids={3}, read_back=rows(2, 3), resolutions={})
    assert counts.attempted == 1
    assert counts.acknowledged == 1
    assert counts.lost == [1]  # round 1's row, lost in round 2's crash


def test_settling_makes_what_was_read_back_binding_and_counts_a_loss_once() -> None:
    history = [Write(1, ACK), Write(2, UNSURE), Write(3, UNSURE), Write(4, ACK)]
    settled = settle(history, rows(2, 4), {})
    assert [w.fate for w in settled] == [UNSURE, ACK, FAILED, ACK]
    # The next crash: row 1 (already counted lost) is not counted again; row 2 was seen, so
    # it must stay; row 3 was absent, so it must not appear.
    counts = judge(2, "start", settled, round_ids=set(), read_back=rows(3, 4), resolutions={})
    assert counts.lost == [2]
    assert counts.unexpected == [3]


def campaign(must_show: str, *rounds: RoundCounts, error: str | None = None) -> Campaign:
    setting = SAFE if must_show != "report" else UNSAFE["postgres"][0]
    return Campaign("postgres", "named", setting, 1, 4, 400, must_show, list(rounds), error)


def counts(lost: int = 0, unexpected: int = 0) -> RoundCounts:
    return RoundCounts(
        1, "start", attempted=300, acknowledged=290, lost=[0] * lost, unexpected=[0] * unexpected
    )


@pytest.mark.parametrize(
    ("must_show", "lost", "unexpected", "passed"),
    [
        ("no loss", 0, 0, True),
        ("no loss", 1, 0, False),
        ("no loss", 0, 1, False),
        ("loss", 5, 0, True),
        ("loss", 0, 0, False),  # a control that shows nothing proves the check cannot fail
        ("report", 7, 0, True),  # an unsafe setting may lose: counted, never a failure
        ("report", 0, 1, False),  # but a row from nowhere is wrong under any setting
    ],
)
def test_a_campaign_passes_when_it_shows_what_it_must(
    must_show: str, lost: int, unexpected: int, passed: bool
) -> None:
    assert campaign(must_show, counts(lost, unexpected)).passed is passed


def test_a_campaign_without_rounds_or_with_an_error_gives_no_pass() -> None:
    assert campaign("no loss").passed is False
    assert campaign("no loss", counts(), error="boom").passed is False


def test_the_record_has_totals_and_per_round_counts() -> None:
    record = campaign("report", counts(lost=3), counts(lost=2)).to_record()
    assert record["id"] == "postgres-named-unsafe"
    assert record["setting"] == "synchronous_commit=off"
    assert record["totals"]["lost"] == 5
    assert record["totals"]["attempted"] == 600
    assert [r["lost"] for r in record["rounds"]] == [3, 2]


def test_a_campaign_comes_back_whole_from_its_record() -> None:
    original = campaign("report", counts(lost=3), counts(unexpected=1))
    original.evidence.append("round 2 (start): unexpected [0]; the server's log ...")
    again = Campaign.from_record(original.to_record())
    assert again.to_record() == original.to_record()
    assert again.rounds[0].lost == original.rounds[0].lost
    assert again.evidence == original.evidence


def test_a_failure_names_the_ids_and_shows_the_first_rounds_evidence() -> None:
    lossy = campaign("no loss", counts(), RoundCounts(2, "recreate", lost=[2000017]))
    lossy.evidence += ["round 2 (recreate): lost [2000017]; LOG-TAIL", "round 3: later"]
    message = failure(lossy)
    assert message.startswith("1 acknowledged write(s) missing after a crash (ids [2000017]).")
    assert "LOG-TAIL" in message
    assert "round 3" not in message
