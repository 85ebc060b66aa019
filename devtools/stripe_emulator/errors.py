"""Errors in Stripe's shape, so that the stripe library raises the same exception classes as in production."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as ``{"error": {...}}`` with an HTTP status, as Stripe does.

    ``extra`` adds fields to the error (a card error's ``decline_code``, ``charge``, ``payment_intent``...).
    ``executed`` says the request did run (a declined card was charged, and failed): its answer is kept
    under its ``Idempotency-Key`` and replayed, as Stripe does, where a refusal by validation is not.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        executed: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.extra = extra or {}
        self.executed = executed

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
        error.update(self.extra)
        return {"error": error}


class NotHandled(Exception):
    """Raised by a handler when the request is not the emulator's after all: it goes to localstripe."""


def missing_param(param: str) -> ApiError:
    return ApiError(400, f"Missing required param: {param}.", param=param, code="parameter_missing")


def unknown_param(param: str) -> ApiError:
    return ApiError(400, f"Received unknown parameter: {param}", param=param, code="parameter_unknown")


def invalid_param(param: str, message: str, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def no_such(object_name: str, object_id: str, *, param: str, status: int = 400) -> ApiError:
    """Stripe answers 404 for a missing object named in the path, 400 for one named in a parameter."""
    return ApiError(status, f"No such {object_name}: '{object_id}'", param=param, code="resource_missing")
