"""Reports shared by the CLI and pytest: terminal tables, HTML grids, JSON, engine comparisons."""
