"""The databases the harness knows: how to configure, reach and question each."""

from harness.databases.profiles import DATABASES, DatabaseProfile

__all__ = ["DATABASES", "DatabaseProfile"]
