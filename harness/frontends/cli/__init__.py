"""The command line: `python -m harness` (main.py builds the parser; one module per command)."""
