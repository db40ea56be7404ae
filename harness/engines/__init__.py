"""Engines under test beyond the one the harness talks to: a second engine in a container
(docker-in-docker, reached over TCP). The engines issue adds Docker 26 and Podman here."""
