"""Artifact path hygiene: one place decides which relative paths are acceptable.

Artifact paths arrive from users and, through the server, from the network, so every
repository method funnels them through ``safe_relative_path`` before touching storage.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlparse, urlsplit

from heron.exceptions import invalid

# "C:", "c:foo": a Windows drive would make the path absolute on that platform.
_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_relative_path(path: str | None) -> str:
    """Return ``path`` as a normalised posix path relative to an artifact root ('' = root).

    Refuses (INVALID_PARAMETER_VALUE) anything that could name a file outside the root.
    """
    if path is None or path == "":
        return ""
    if not isinstance(path, str):
        raise invalid(f"Artifact path must be a string, got {type(path).__name__}")
    _refuse_unsafe(path)
    normal = posixpath.normpath(path)
    # normpath collapses "a/./b" and "a//b"; it can only produce ".." from a ".." component,
    # which _refuse_unsafe has already rejected, so this is the belt to those braces.
    if normal == ".." or normal.startswith(("../", "/")):
        raise invalid(f"Artifact path {path!r} escapes the artifact root")
    return "" if normal == "." else normal


def _refuse_unsafe(path: str) -> None:
    if "\x00" in path:
        raise invalid(f"Artifact path {path!r} contains a NUL byte")
    # A backslash is a separator on Windows; refusing it keeps one meaning on every platform.
    if "\\" in path:
        raise invalid(f"Artifact path {path!r} contains a backslash; use '/' as the separator")
    if path.startswith("/"):
        raise invalid(f"Artifact path {path!r} must be relative, not absolute")
    if _DRIVE.match(path):
        raise invalid(f"Artifact path {path!r} must not start with a drive letter")
    if ".." in path.split("/"):
        raise invalid(f"Artifact path {path!r} must not contain '..' components")


def local_path_from_uri(uri: str) -> Path:
    """The local folder a ``file:`` URI (``file:///abs``, ``file:/abs``) or plain path names.

    Only ``file:`` URIs are percent-decoded: a plain path is not a URI, and decoding it
    would corrupt a folder whose name really contains '%'.
    """
    if not uri.lower().startswith("file:"):
        return Path(uri)
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise invalid(f"file: URI {uri!r} names a remote host; only local paths are supported")
    path = unquote(parsed.path)
    # file:///C:/x parses to "/C:/x"; on Windows the leading slash must go.
    if os.name == "nt" and re.match(r"^/[A-Za-z]:", path):
        path = path[1:]
    if not path or "\x00" in path:
        raise invalid(f"file: URI {uri!r} does not name a usable local path")
    return Path(path)


PROXY_SCHEME = "mlflow-artifacts:"


def proxied_location(uri: str, destination: str) -> str:
    """Where the files of an ``mlflow-artifacts:/<path>`` URI are: ``<destination>/<path>``.

    The path goes through ``safe_relative_path``, so an experiment created with a location
    like ``mlflow-artifacts:/../x`` cannot reach outside the destination. A URI that names a
    host (``mlflow-artifacts://host/path``) belongs to that server, which alone knows where
    its files are.
    """
    parts = urlsplit(uri)
    if parts.scheme.lower() != PROXY_SCHEME.rstrip(":"):
        raise invalid(f"{uri!r} is not an {PROXY_SCHEME} URI")
    if parts.netloc:
        raise invalid(f"{uri!r} names the server {parts.netloc}; only that server can reach it")
    relative = safe_relative_path(parts.path.strip("/"))
    return f"{destination.rstrip('/')}/{relative}" if relative else destination
