"""``mlflow-artifacts:`` URIs map into a server's artifact destination, and never out of it."""

from __future__ import annotations

import pytest

from heron.artifacts.paths import proxied_location
from heron.exceptions import HeronException


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("mlflow-artifacts:/1/abc/artifacts", "/dest/1/abc/artifacts"),
        ("mlflow-artifacts:1/abc", "/dest/1/abc"),
        ("mlflow-artifacts:///1//abc/", "/dest/1/abc"),
        ("mlflow-artifacts:", "/dest"),
        ("mlflow-artifacts:/", "/dest"),
    ],
)
def test_proxy_uris_land_in_the_destination(uri: str, expected: str) -> None:
    assert proxied_location(uri, "/dest") == expected


@pytest.mark.parametrize(
    "uri",
    [
        "mlflow-artifacts:/../outside",
        "mlflow-artifacts:/1/../../outside",
        "mlflow-artifacts://other-server:5000/1/abc",
        "file:///dest/1",
    ],
)
def test_uris_that_would_leave_the_destination_are_refused(uri: str) -> None:
    with pytest.raises(HeronException) as excinfo:
        proxied_location(uri, "/dest")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_destination_with_a_trailing_slash() -> None:
    assert proxied_location("mlflow-artifacts:/1/a", "/dest/") == "/dest/1/a"
