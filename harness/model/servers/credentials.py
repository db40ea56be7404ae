"""Credentials for one run: random, reused across recreates, never printed."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

REDACTED = "********"

# Secrets a server or an image's entrypoint prints itself, which no run knows beforehand: the
# official mysql and mariadb images' `*_RANDOM_ROOT_PASSWORD` ("GENERATED ROOT PASSWORD: ..."),
# and `mysqld --initialize`'s temporary root password. The secret is the pattern's last group.
PRINTED_SECRETS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(GENERATED ROOT PASSWORD:[ \t]*)(\S+)", re.IGNORECASE),
    re.compile(r"(temporary password is generated for \S+:[ \t]*)(\S+)", re.IGNORECASE),
)


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)
    root_password: str = field(repr=False)
    database: str = "employees"

    @classmethod
    def random(cls, user: str = "harness", database: str = "employees") -> Credentials:
        # URL-safe tokens avoid quoting problems in every client and in env files.
        return cls(
            user=user,
            password=secrets.token_urlsafe(18),
            root_password=secrets.token_urlsafe(18),
            database=database,
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.password, self.root_password)


def redact(text: str, hidden: Iterable[str]) -> str:
    """Replace every occurrence of each secret in `text`, and every secret a server printed
    (PRINTED_SECRETS): a log quoted in a cause, a report or grading feedback shows neither."""
    for secret in hidden:
        if secret:
            text = text.replace(secret, REDACTED)
    for printed in PRINTED_SECRETS:
        text = printed.sub(lambda found: found.group(1) + REDACTED, text)
    return text
