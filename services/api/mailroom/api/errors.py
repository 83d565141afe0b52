"""Every error the API returns is JSON: `{"error": {"code", "message", "field"?}}`.

Handlers raise `ApiError`; FastAPI's own errors (validation, unknown route,
wrong method) and anything unexpected are turned into the same shape here, so
a client never has to parse HTML or a bare string.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "not_ready",
}


class ErrorBody(BaseModel):
    """What went wrong: a stable code, a sentence, and the offending field if any."""

    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorBody


class ApiError(Exception):
    """An expected failure with its HTTP status, stable code and sentence."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found.")


def error_response(
    status: int, code: str, message: str, field: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def field_path(loc: Sequence[int | str]) -> str:
    """`("body", "smtp", "port")` → `"smtp.port"`; list positions stay as `to.0.email`."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_problems(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors as `{"field", "message"}` pairs, never echoing the input value."""
    problems = []
    for error in errors:
        message = str(error.get("msg", "is invalid"))
        problems.append({"field": field_path(error.get("loc", ())), "message": message})
    return problems


def validation_error_response(errors: Sequence[Any]) -> JSONResponse:
    problems = validation_problems(errors) or [{"field": "body", "message": "is invalid"}]
    first = problems[0]
    return error_response(
        422,
        "invalid_request",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        details=problems,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to the JSON error shape."""

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.field)

    async def on_request_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_error_response(exc.errors())

    async def on_model_validation(_: Request, exc: Exception) -> JSONResponse:
        # Raised when a handler builds a model (e.g. a contract) from checked input.
        assert isinstance(exc, ValidationError)
        return validation_error_response(exc.errors(include_input=False))

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unexpected error",
            exc_info=exc,
            extra={"method": request.method, "path": request.url.path},
        )
        return error_response(500, "internal_error", "Something went wrong on our side.")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(ValidationError, on_model_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
