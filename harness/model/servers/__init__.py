"""The database servers: their profiles, versions, the variables their images honour, the
credentials the harness logs in with, and the Persons rows it writes and reads back."""
