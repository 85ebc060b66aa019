"""The one exception every domain's use cases raise when they refuse."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refused use case; ``field`` names the form field the message belongs to (or None)."""

    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
