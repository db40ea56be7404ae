"""The pytest plugin (plugin.py, loaded through `pytest11`) and its parts, each a plugin."""
