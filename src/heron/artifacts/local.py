"""Artifacts in a folder on the local filesystem: the embedded default."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeAlias

from heron.artifacts.paths import local_path_from_uri, safe_relative_path
from heron.entities import FileInfo
from heron.exceptions import invalid, not_found

# A file being written carries this prefix until os.replace gives it its name. Listings,
# reads, downloads and sizes skip such names, so nobody sees a half-written artifact or the
# leftover of a crashed writer.
TEMP_PREFIX = ".heron-tmp-"

StrPath: TypeAlias = str | os.PathLike[str]


class LocalArtifactRepository:
    """An artifact root on local disk, addressed by a ``file:`` URI or a plain path.

    Every public method validates its path with ``safe_relative_path`` and then checks that
    the path, with symlinks resolved, is still inside the root. Tree walks (folder download,
    ``total_size``) never descend into symlinked folders, so a link cannot lead them out
    of the root or round in a loop.
    """

    def __init__(self, artifact_uri: str) -> None:
        self.artifact_uri = artifact_uri
        # Absolute now, so a later chdir cannot move the repository under our feet.
        self.root = local_path_from_uri(artifact_uri).absolute()

    # -- writing --------------------------------------------------------------------------

    def log_artifact(self, local_file: StrPath, artifact_path: str | None = None) -> None:
        source = Path(local_file)
        if not source.is_file():
            raise invalid(f"Cannot log {os.fspath(local_file)!r}: it is not a file")
        rel = _join(safe_relative_path(artifact_path), source.name)
        self._write(rel, lambda tmp: shutil.copy2(source, tmp))

    def log_artifacts(self, local_dir: StrPath, artifact_path: str | None = None) -> None:
        source = Path(local_dir)
        if not source.is_dir():
            raise invalid(f"Cannot log {os.fspath(local_dir)!r}: it is not a folder")
        base = safe_relative_path(artifact_path)
        folders, files = _plan_upload(source, base)
        # Check every name before writing anything, so a bad name deep in the tree does not
        # leave half a folder behind.
        for rel in [*folders, *(rel for _, rel in files)]:
            self._resolve(rel)
        for rel in folders:
            self._make_folder(self._resolve(rel)[1], rel)
        for src, rel in files:
            self._write(rel, partial(shutil.copy2, src))

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise invalid(f"log_bytes needs bytes, got {type(data).__name__}")
        self._write(safe_relative_path(artifact_file), lambda tmp: tmp.write_bytes(data))

    def _write(self, rel: str, fill: Callable[[Path], object]) -> None:
        if not rel:
            raise invalid("An artifact file name is required")
        dest = self._resolve(rel)[1]
        if dest.is_dir():
            raise invalid(f"Cannot write artifact {rel!r}: a folder of that name exists")
        self._make_folder(dest.parent, rel)
        tmp = dest.parent / f"{TEMP_PREFIX}{os.urandom(8).hex()}"
        try:
            fill(tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)  # a no-op once os.replace has moved it

    def _make_folder(self, folder: Path, rel: str) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise invalid(f"Cannot write artifact {rel!r}: a file is in the way") from None

    # -- reading --------------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel, folder = self._resolve(path)
        if not folder.is_dir():
            return []
        infos = []
        with os.scandir(folder) as entries:
            for entry in entries:
                info = self._file_info(entry, _join(rel, entry.name))
                if info is not None:
                    infos.append(info)
        return sorted(infos, key=lambda info: info.path)

    def _file_info(self, entry: os.DirEntry[str], rel: str) -> FileInfo | None:
        if entry.name.startswith(TEMP_PREFIX):
            return None
        if entry.is_symlink() and not self._inside(Path(entry.path)):
            return None
        try:
            if entry.is_dir():
                return FileInfo(rel, True, None)
            if entry.is_file():
                return FileInfo(rel, False, entry.stat().st_size)
        except OSError:  # vanished or became unreadable while we listed
            pass
        return None

    def download_artifacts(self, artifact_path: str, dst_path: StrPath | None = None) -> str:
        rel, source = self._resolve(artifact_path)
        # The root always "exists" here: downloading everything of a run that logged nothing
        # gives an empty folder rather than an error.
        if rel and not self._visible(source):
            raise not_found(f"No artifact {artifact_path!r} under {self.artifact_uri}")
        destination = _destination(dst_path)
        target = destination / rel if rel else destination
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            return str(target)
        target.mkdir(parents=True, exist_ok=True)
        for sub, path, is_dir in self._tree(source):
            if is_dir:
                (target / sub).mkdir(parents=True, exist_ok=True)
            else:
                shutil.copy2(path, target / sub)
        return str(target)

    def read_bytes(self, artifact_file: str) -> bytes:
        rel, path = self._resolve(artifact_file)
        if not rel or not self._visible(path) or not path.is_file():
            raise not_found(f"No artifact file {artifact_file!r} under {self.artifact_uri}")
        return path.read_bytes()

    def exists(self, path: str | None) -> bool:
        return self._visible(self._resolve(path)[1])

    def total_size(self) -> int:
        """Bytes in every visible file under the root (what a full download would copy)."""
        if not self.root.is_dir():
            return 0
        return sum(path.stat().st_size for _, path, is_dir in self._tree(self.root) if not is_dir)

    # -- deleting -------------------------------------------------------------------------

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or folder; deleting something absent is not an error."""
        rel, path = self._resolve(artifact_path)
        if rel:
            _remove(path)
        elif self.root.is_symlink():
            # The root is someone's link to a bigger disk: empty it but keep the link.
            for child in self.root.iterdir() if self.root.is_dir() else []:
                _remove(child)
        else:
            _remove(self.root)

    # -- containment ----------------------------------------------------------------------

    def _resolve(self, path: str | None) -> tuple[str, Path]:
        rel = safe_relative_path(path)
        full = self.root / rel if rel else self.root
        if not self._inside(full):
            raise invalid(f"Artifact path {path!r} resolves outside the artifact root")
        return rel, full

    def _inside(self, path: Path) -> bool:
        real = Path(os.path.realpath(path))
        return real.is_relative_to(os.path.realpath(self.root))

    def _visible(self, path: Path) -> bool:
        return path.exists() and not path.name.startswith(TEMP_PREFIX)

    def _tree(self, top: Path) -> Iterator[tuple[str, Path, bool]]:
        """(posix path relative to top, absolute path, is_dir) for what lies under top."""
        for dirpath, dirnames, filenames in os.walk(top):
            here = Path(dirpath)
            dirnames[:] = [name for name in dirnames if not (here / name).is_symlink()]
            for name in dirnames:
                yield (here / name).relative_to(top).as_posix(), here / name, True
            for name in filenames:
                path = here / name
                if self._readable_file(path):
                    yield path.relative_to(top).as_posix(), path, False

    def _readable_file(self, path: Path) -> bool:
        if path.name.startswith(TEMP_PREFIX) or not path.is_file():
            return False
        return not path.is_symlink() or self._inside(path)


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()  # a link is removed itself, never what it points to
    elif path.is_dir():
        shutil.rmtree(path)


def _destination(dst_path: StrPath | None) -> Path:
    if dst_path is None:
        return Path(tempfile.mkdtemp(prefix="heron-artifacts-"))
    dst = Path(dst_path).absolute()
    # As in MLflow: the destination must already exist and be a folder.
    if not dst.exists():
        raise not_found(f"The download destination {os.fspath(dst_path)!r} does not exist")
    if not dst.is_dir():
        raise invalid(f"The download destination {os.fspath(dst_path)!r} is not a folder")
    return dst


def _plan_upload(source: Path, base: str) -> tuple[list[str], list[tuple[Path, str]]]:
    """Folders and (file, artifact path) pairs to create when logging the tree ``source``.

    Symlinks in the user's own folder are followed, as MLflow's copytree does, but each
    real folder is visited once so a link cycle cannot recurse forever.
    """
    folders: list[str] = []
    files: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(source, followlinks=True):
        here = Path(dirpath)
        real = os.path.realpath(here)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        sub = here.relative_to(source).as_posix()
        prefix = _join(base, sub) if sub != "." else base
        if prefix:
            folders.append(prefix)
        files.extend((here / name, _join(prefix, name)) for name in filenames)
    return folders, [(src, rel) for src, rel in files if src.is_file()]
