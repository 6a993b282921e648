from __future__ import annotations

import base64

import pytest

from heron.exceptions import INVALID_PARAMETER_VALUE, HeronException
from heron.store.search import decode_page_token, encode_page_token


@pytest.mark.parametrize("offset", [0, 1, 1000, 10**12])
def test_round_trip(offset: int) -> None:
    token = encode_page_token(offset)
    assert token.isascii() and "+" not in token and "/" not in token
    assert decode_page_token(token) == offset


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_is_the_first_page(token: str | None) -> None:
    assert decode_page_token(token) == 0


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "token",
    ["not base64!", "é", _b64("not json"), _b64("[1]"), _b64('{"offset": -1}'),
     _b64('{"offset": "3"}'), _b64('{"offset": true}'), _b64('{"other": 1}'), "abc"],
)  # fmt: skip
def test_bad_tokens(token: str) -> None:
    with pytest.raises(HeronException, match=r"^Invalid page token") as caught:
        decode_page_token(token)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
