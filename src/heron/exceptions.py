"""Errors with MLflow's error codes, so the server can map them to the same HTTP statuses."""

from __future__ import annotations

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
INVALID_STATE = "INVALID_STATE"
BAD_REQUEST = "BAD_REQUEST"
PERMISSION_DENIED = "PERMISSION_DENIED"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
INTERNAL_ERROR = "INTERNAL_ERROR"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"

HTTP_STATUS = {
    INVALID_PARAMETER_VALUE: 400,
    BAD_REQUEST: 400,
    RESOURCE_ALREADY_EXISTS: 400,
    INVALID_STATE: 400,
    RESOURCE_DOES_NOT_EXIST: 404,
    ENDPOINT_NOT_FOUND: 404,
    PERMISSION_DENIED: 403,
    TEMPORARILY_UNAVAILABLE: 503,
    INTERNAL_ERROR: 500,
}


class HeronException(Exception):
    """An error a user can act on; ``error_code`` is MLflow's name for its kind."""

    def __init__(self, message: str, error_code: str = INTERNAL_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.error_code, 500)

    def to_dict(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


MlflowException = HeronException


def invalid(message: str) -> HeronException:
    return HeronException(message, INVALID_PARAMETER_VALUE)


def not_found(message: str) -> HeronException:
    return HeronException(message, RESOURCE_DOES_NOT_EXIST)


def already_exists(message: str) -> HeronException:
    return HeronException(message, RESOURCE_ALREADY_EXISTS)
