"""Persistence checks: a cell of the matrix, or a user's own container, against the promises."""
