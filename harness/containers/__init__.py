"""The container layer: the engine connection (the only door to the Docker SDK), testcontainers
containers built from a `ContainerSpec`, deployments through their generations, readiness."""
