"""The embedded default: files in a folder of this machine, the key being the path under it.

This is the layout every install has had (``MEDIA_DIR/products/ab/<32 hex>.webp``), so existing
photos keep working. Nothing outside the folder is ever read, written or listed, even through a
symbolic link.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from app.storage import MediaStorage, ObjectInfo, check_key, valid_key


class LocalStorage(MediaStorage):
    def __init__(self, root: Path, *, public: bool) -> None:
        self.root = root
        self.public = public

    def _inside(self, path: Path) -> Path:
        """``path`` resolved, or ValueError if it lies outside the folder (a symlink out of it)."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise ValueError(f"outside the storage folder: {path}")
        return resolved

    def local_path(self, key: str) -> Path | None:
        if not valid_key(key):
            return None
        root = self.root.resolve()
        try:
            path = root.joinpath(key).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a symlink loop
            return None
        if not path.is_relative_to(root) or not path.is_file():
            return None
        return path

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Written once: an existing file is never overwritten (FileExistsError)."""
        relative = check_key(key)
        directory = self.root / relative.parent
        directory.mkdir(parents=True, exist_ok=True)
        path = self._inside(directory) / relative.name
        with path.open("xb") as output:
            try:
                output.write(data)
            except BaseException:
                path.unlink(missing_ok=True)
                raise

    def read(self, key: str) -> bytes | None:
        path = self.local_path(key)
        return path.read_bytes() if path is not None else None

    def info(self, key: str) -> ObjectInfo | None:
        path = self.local_path(key)
        if path is None:
            return None
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
        return ObjectInfo(size=path.stat().st_size, md5=digest.hexdigest())

    def exists(self, key: str) -> bool:
        return self.local_path(key) is not None

    def delete(self, key: str) -> None:
        relative = check_key(key)
        directory = self._inside(self.root / relative.parent)
        (directory / relative.name).unlink(missing_ok=True)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Sorted keys under ``prefix``; ValueError if the prefix's folder leads out of the store."""
        folder = prefix.rpartition("/")[0]
        if folder:
            check_key(folder)
        root = self.root.resolve()
        directory = self._inside(self.root / folder) if folder else root
        if not directory.is_dir():
            return
        found: list[str] = []
        for current, subfolders, files in os.walk(directory):  # symlinked folders are not entered
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            base = Path(current)
            for name in files:
                path = base / name
                key = path.relative_to(root).as_posix()
                if key.startswith(prefix) and valid_key(key) and not path.is_symlink():
                    found.append(key)
        yield from sorted(found)

    def describe(self) -> str:
        return f"local folder {self.root}"
