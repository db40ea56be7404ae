"""Credentials for one run: random, reused across recreates, never printed."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

REDACTED = "********"


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
    """Replace every occurrence of each secret in `text`."""
    for secret in hidden:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
