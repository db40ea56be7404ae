"""Commands that gate a change on a verdict: compose-check (a user's compose file, on one engine
or a swarm) and upgrade-check (two images of one database)."""
