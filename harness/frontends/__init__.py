"""The front ends: the command line, the pytest plugin, and what both show (options, reports)."""
