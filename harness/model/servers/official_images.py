"""What the harness knows of the official images without an engine: for a ref such as
`postgres:16` or `mysql:9.7`, the data directory and the VOLUME its version's image declares.

`compose-check --static` reads a compose file with it where no engine (and no image) is at hand.
It is the table of versions the stand-ins use (`versions.py`): MySQL and MariaDB keep
`/var/lib/mysql` under `VOLUME /var/lib/mysql` in every version; PostgreSQL keeps
`PGDATA=/var/lib/postgresql/data` under a VOLUME on it up to 17, and from 18 on
`PGDATA=/var/lib/postgresql/18/docker` under `VOLUME /var/lib/postgresql`
(docker-library/postgres#1259). A version the table does not list (16, 19) takes the layout of
the nearest listed major at or below it, else the oldest listed.
"""

from __future__ import annotations

from harness.model.placement import ImageFacts
from harness.model.servers.databases import DATABASES
from harness.model.servers.stand_in_table import DATABASE_OF_NAME, tag_version
from harness.model.servers.versions import ServerVersion, versions_of
from harness.model.spec import image_name


def _listed(database: str, asked: str | None) -> ServerVersion:
    """The listed version whose major is the nearest at or below the asked one (no version in
    the tag, as `alpine`: the newest listed, which is what such a tag runs)."""
    known = versions_of(database, local=False)  # oldest first
    if asked is None:
        return known[-1]
    major = int(asked.split(".")[0])
    at_or_below = [v for v in known if int(v.version.split(".")[0]) <= major]
    return at_or_below[-1] if at_or_below else known[0]


def official_image_facts(ref: str) -> ImageFacts | None:
    """The official image's environment (its major version, and its data directory where the
    image says it) and VOLUME, by its tag; None for an image that is not an official MySQL,
    MariaDB or PostgreSQL image."""
    database = DATABASE_OF_NAME.get(image_name(ref))
    if database is None:
        return None
    profile = DATABASES[database]
    asked = tag_version(ref)
    listed = _listed(database, asked)
    layout = listed.layout
    data_dir = layout.data_dir if layout else profile.default_data_dir
    volume = layout.volume if layout else profile.default_data_dir
    env = {profile.major_env: asked or listed.version}
    if profile.data_dir_env:
        env[profile.data_dir_env] = data_dir
    return ImageFacts(ref=ref, env=env, declared_volumes=(volume,), cmd=())
