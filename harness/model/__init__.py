"""Pure values: outcomes, promises, cells, results, container specs, engine identity.

Nothing in this package imports docker, testcontainers or a database driver, so the pytest plugin
and the front ends can load it in every run at little cost.
"""
