"""The platforms' vocabularies: storage modes and actions of a `docker run` line, a compose
project and a swarm service, each with what it promises; compose-check's and the swarm check's
pure reading of a user's file."""
