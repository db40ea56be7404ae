"""`compose-check --static FILE...`: the promise table alone, before anything runs.

No engine and no image: each file is read as Compose normalises it (the Compose binary reads a
file without an engine), its database services found by their official image names, and each
image's data directory and VOLUME taken from what the harness knows of the official images by
tag. Then the same table as the full check says, per service and action, what Compose promises.
Exit 1 when a must-survive action would lose the rows (or the server would refuse to start),
with the change to make; 0 otherwise, a file without a database service included (the
pre-commit hook runs on every compose file); 2 for usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.containers.compose import Compose, compose_binary
from harness.errors import UsageError
from harness.frontends.cli.gates.compose_check_parts import (
    asked_services,
    database_of_name,
    find_services,
    normalised,
    parse_actions,
    read_compose_file,
)
from harness.frontends.reports.compose_check import expectation_lines
from harness.model.outcomes import Outcome
from harness.model.platforms.compose_check import (
    DatabaseService,
    ServiceChoice,
    advice,
    database_service,
    expectation,
    read_text,
    server_environment,
)
from harness.model.servers.official_images import official_image_facts


def check_statically(args: argparse.Namespace) -> int:
    """Every file's promise table; the exit code of the worst."""
    if args.on != "engine":
        raise UsageError("--static reads Compose's promises on one engine; drop --on swarm.")
    given = [f"--{name}" for name in ("json", "html", "shard") if getattr(args, name, None)]
    if given:
        raise UsageError(
            f"--static prints the promises and writes no report; drop {' and '.join(given)} "
            "(or --static, to prove them on an engine)."
        )
    actions, must_survive = parse_actions(args)
    asked = asked_services(args)
    compose = Compose(compose_binary(), None)  # reading a file needs no engine
    broken = 0
    for path in args.files:
        services = _services_of(compose, path, asked)
        print(f"compose-check --static: {path} (the promise table alone: no engine, nothing run)")
        if not services:
            print("  no MySQL, MariaDB or PostgreSQL service: nothing to check")
            continue
        print("\n".join(expectation_lines(services, actions, must_survive)))
        for line in _broken_promises(services, must_survive):
            broken += 1
            print(line)
    if broken:
        print(f"{broken} must-survive action(s) would not keep the rows; "
              "`harness compose-check FILE` proves it on an engine.")  # fmt: skip
        return 1
    print(f"Every must-survive action ({', '.join(must_survive)}) is promised to keep the rows.")
    return 0


def _services_of(
    compose: Compose, path: Path, asked: dict[str, str | None]
) -> list[DatabaseService]:
    """The file's database services, read with the official images' facts; UsageError for a
    service whose image the harness does not know without an engine."""
    raw = read_compose_file(path)
    model = normalised(compose, path.resolve())
    names = model.get("services") or {}
    if not asked and not any(database_of_name(s.get("image") or "") for s in names.values()):
        return []
    services = []
    for name, database in find_services(path, model, asked, database_of_name).items():
        image = str(names[name].get("image") or "")
        facts = official_image_facts(image)
        if facts is None:
            raise UsageError(
                f"{path}'s service {name} runs {image or 'a built image'}, which --static does "
                "not know (it knows the official mysql, mariadb and postgres images); drop "
                "--static to read it from an engine."
            )
        env = server_environment(model, name, read_text)
        choice = ServiceChoice(name, database, image)
        services.append(database_service(model, raw, choice, facts, env))
    return services


def _broken_promises(services: list[DatabaseService], must_survive: tuple[str, ...]) -> list[str]:
    """Per must-survive action that would not keep the rows, what happens and the fix."""
    lines = []
    for service in services:
        for action in must_survive:
            outcome = expectation(service, action).outcome
            if outcome is Outcome.SURVIVES:
                continue
            happens = (
                "would not start, so it keeps nothing"
                if outcome is Outcome.REFUSED
                else "would lose its rows"
            )
            lines.append(f"{service.name} {happens} on {action}: {advice(service, action)}.")
    return lines
