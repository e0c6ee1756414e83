"""The one error shape of the contract: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered to the client. Raise it anywhere below a resource."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            err["field"] = self.field
        return {"error": err}


def bad_request(field: str | None, message: str, code: str = "invalid_field") -> ApiError:
    return ApiError(400, code, message, field)


def unavailable(part: str, retry_after: int = 2) -> ApiError:
    return ApiError(
        503,
        "dependency_unavailable",
        f"{part} is unavailable, try again shortly",
        headers={"Retry-After": str(retry_after)},
    )
