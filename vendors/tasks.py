"""Jobs of the vendors domain. They take plain values and are safe to run twice."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from app import images


def delete_photo(path: str) -> None:
    """Remove a replaced logo or banner (and its thumbnails) once the change is committed."""
    images.delete_image(path, Path(current_app.config["MEDIA_DIR"]))
