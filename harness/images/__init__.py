"""Images: the official references, the locally built ones, and the choice between them."""

from harness.images.availability import require_present, select_images
from harness.images.build import BuildResult, ensure_images
from harness.images.recipes import BASE, DATABASE_IMAGES, LocalImage
from harness.images.sources import (
    OFFICIAL_REFS,
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
    "OFFICIAL_REFS",
    "BuildResult",
    "ImageChoice",
    "ImageSource",
    "LocalImage",
    "choose_images",
    "describe_choices",
    "ensure_images",
    "missing_images_error",
    "override_option",
    "require_present",
    "resolve_source",
    "select_images",
]
