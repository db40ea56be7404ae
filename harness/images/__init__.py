"""Images: the official references, the locally built ones, and the choice between them.

Only the light modules are re-exported here (the front ends read them in every run); building and
availability checks, which talk to the engine, are imported from their own modules.
"""

from harness.images.recipes import BASE, DATABASE_IMAGES, VERSION_IMAGES, LocalImage
from harness.images.sources import (
    ImageChoice,
    ImageSource,
    choose_images,
    describe_choices,
    missing_images_error,
    override_option,
    resolve_source,
)

__all__ = [
    "BASE",
    "DATABASE_IMAGES",
    "VERSION_IMAGES",
    "ImageChoice",
    "ImageSource",
    "LocalImage",
    "choose_images",
    "describe_choices",
    "missing_images_error",
    "override_option",
    "resolve_source",
]
