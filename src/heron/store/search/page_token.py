"""Page tokens: opaque to clients, an offset into the ordered results inside.

The format (urlsafe base64 of ``{"offset": N}``) is MLflow's idea; it is not a promise,
and nothing outside this module should read a token.
"""

from __future__ import annotations

import base64
import binascii
import json

from heron.exceptions import invalid


def encode_page_token(offset: int) -> str:
    payload = json.dumps({"offset": offset}).encode("utf-8")
    return base64.urlsafe_b64encode(payload).decode("ascii")


def decode_page_token(token: str | None) -> int:
    """The offset ``token`` stands for; no token means the first page."""
    if not token:
        return 0
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (UnicodeError, binascii.Error, ValueError) as exc:
        raise invalid(f"Invalid page token {token!r}: it is not one this server issued") from exc
    offset = payload.get("offset") if isinstance(payload, dict) else None
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < 2**63:
        raise invalid(f"Invalid page token {token!r}: it holds no valid offset")
    return offset
