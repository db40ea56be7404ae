"""`python -m harness run --durability`: the crash campaigns outside pytest."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from harness.containers.engine import Engine
from harness.containers.engine_watch import return_limit, say_on_stderr
from harness.containers.run_state import end_run_or_say, start_run
from harness.errors import UsageError
from harness.frontends.cli.progress import ProgressBar
from harness.frontends.reports.durability import durability_summary
from harness.frontends.reports.json_report import to_json, write_json
from harness.frontends.reports.terminal import render
from harness.model.durability import Campaign, CampaignPlan, RoundCounts, standard_campaigns
from harness.model.servers.credentials import Credentials
from harness.persistence.durability import run_campaign

DURABLE_STORAGES = ("named", "bind")  # where a safe setting must lose nothing


def check_durability_usage(args: argparse.Namespace) -> None:
    """Options of the matrix that do not fit `--durability`: a usage error before any work."""
    storages = tuple(args.storage or DURABLE_STORAGES)
    other = sorted(set(storages) - set(DURABLE_STORAGES))
    if other:
        raise UsageError(
            f"--durability runs on {' and '.join(DURABLE_STORAGES)} storage (tmpfs is its "
            f"control); drop --storage {' '.join(other)}."
        )
    for option, given in (("--action", args.action), ("--html", args.html),
                          ("--compose", args.compose)):  # fmt: skip
        if given:
            raise UsageError(f"{option} does not apply to --durability; drop it.")


def durability_plans(args: argparse.Namespace, databases: tuple[str, ...]) -> list[CampaignPlan]:
    """The campaigns for the chosen databases; `--storage` narrows the no-loss campaigns (the
    controls always run: without them a clean result proves nothing)."""
    storages = tuple(args.storage or DURABLE_STORAGES)
    return standard_campaigns(databases, tuple(s for s in DURABLE_STORAGES if s in storages))


def run_durability(
    args: argparse.Namespace,
    engine: Engine,
    images: Mapping[str, str],
    plans: list[CampaignPlan],
) -> int:
    session = start_run(engine)
    creds = Credentials.random()
    bar = ProgressBar(sum(plan.rounds(args.rounds) for plan in plans))
    campaigns: list[Campaign] = []
    try:
        for plan in plans:

            def show(counts: RoundCounts, plan: CampaignPlan = plan) -> None:
                bar.finished(
                    f"{plan.id} round {counts.round}",
                    f"{counts.acknowledged} acked, {len(counts.lost)} lost, "
                    f"{len(counts.unexpected)} unexpected",
                )

            bar.starting(plan.id)
            campaign = run_campaign(
                engine,
                session,
                plan,
                images[plan.database],
                creds,
                rounds=args.rounds,
                seed=args.seed,
                progress=show,
            )
            # A campaign that stopped early still moves the bar to its end.
            for _ in range(plan.rounds(args.rounds) - len(campaign.rounds)):
                bar.finished(plan.id, campaign.error or "stopped")
            campaigns.append(campaign)
    finally:
        end_run_or_say(engine, session, say_on_stderr, return_limit(os.environ))
    for line in durability_summary(campaigns):
        print(render(line, colour=sys.stdout.isatty()))
    if args.json:
        records = [c.to_record() for c in campaigns]
        write_json(args.json, to_json(engine.info, images, [], records))
        print(f"JSON report: {args.json}")
    return 0 if all(c.passed for c in campaigns) else 1
