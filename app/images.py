"""Uploaded photos (shop logos and banners, product photos), checked by their content and re-encoded.

Nothing about an upload is trusted: not its name, its extension, its Content-Type nor its length.
The bytes are read up to a limit, decoded by Pillow (JPEG, PNG, WebP and GIF only, first frame),
turned upright, stripped of every piece of metadata (EXIF holds GPS positions and camera serial
numbers), converted to sRGB, shrunk and written as WebP under a random name. What is served
afterwards is therefore always an image we encoded ourselves.

Keys in the media store (``app.storage``: the folder ``MEDIA_DIR`` or a bucket):
``<folder>/<2 hex>/<32 hex>.webp``, its variants next to it as ``<32 hex>-<size name>.webp``, so
that :func:`delete_image` finds them without a database.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Literal

from app.storage import MediaStorage, valid_key

# Pillow is imported by the functions that draw or read pixels, not by every page's worker.
if TYPE_CHECKING:
    from PIL import Image, ImageCms

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_PIXELS",
    "ImageRejected",
    "RejectionReason",
    "StoredImage",
    "delete_image",
    "safe_media_path",
    "store_image",
]

log = logging.getLogger(__name__)

RejectionReason = Literal["too_large", "not_an_image", "unsupported_format", "too_many_pixels", "too_small"]
SizeMode = Literal["fit", "crop"]

# Pillow's names; MPO is how it reads the JPEGs many phones write (a JPEG followed by more pictures).
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF"})
# Pixels decoded before anything is resized: 40 MP covers every phone camera, and decoding one
# takes 120 to 160 MB, which bounds what a single upload can cost a web worker.
MAX_PIXELS = 40_000_000
WEBP_QUALITY = 82

_FOLDER_RE = re.compile(r"[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)*")
_SIZE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_]*")
_STORED_NAME_RE = re.compile(r"[0-9a-f]{32}\.webp")
_ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height
_SIXTEEN_BIT_GREY = frozenset({"I;16", "I;16B", "I;16L", "I"})


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRejected(ValueError):
    """An upload that is not an acceptable photo; ``reason`` says why, the message is English."""

    def __init__(self, reason: RejectionReason, message: str) -> None:
        super().__init__(message)
        self.reason: RejectionReason = reason


@dataclass(frozen=True)
class StoredImage:
    """A stored photo: its keys in the media store; width and height are the main image's."""

    path: str
    width: int
    height: int
    thumbnails: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Argument checks: these are programming errors, not bad uploads, hence plain ValueError.


def _check_folder(folder: str) -> str:
    if not _FOLDER_RE.fullmatch(folder):
        raise ValueError(f"folder must be lower-case words separated by '/', got {folder!r}")
    return folder


def _check_sizes(sizes: Mapping[str, tuple[int, int, str]]) -> dict[str, tuple[int, int, SizeMode]]:
    checked: dict[str, tuple[int, int, SizeMode]] = {}
    for name, (width, height, mode) in sizes.items():
        if not _SIZE_NAME_RE.fullmatch(name):
            raise ValueError(f"size names are lower-case letters, digits and '_', got {name!r}")
        if width < 1 or height < 1:
            raise ValueError(f"size {name!r} must be at least 1×1, got {width}×{height}")
        if mode == "fit":
            checked[name] = (width, height, "fit")
        elif mode == "crop":
            checked[name] = (width, height, "crop")
        else:
            raise ValueError(f"size {name!r} mode must be 'fit' or 'crop', got {mode!r}")
    return checked


# --------------------------------------------------------------------------------------------------
# Reading and decoding


def _read_limited(stream: IO[bytes], max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes, looping because a read may return less than asked."""
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    chunks: list[bytes] = []
    remaining = max_bytes + 1
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise ImageRejected("too_large", f"the image is larger than {max_bytes} bytes")
    return data


def _open(data: bytes) -> Image.Image:
    """Pillow's lazy open (header only), mapping its many exceptions to a rejection."""
    from PIL import Image

    try:
        return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too_many_pixels", "the image has too many pixels") from exc
    except Exception as exc:  # hostile input makes Pillow's parsers raise almost anything
        raise ImageRejected("not_an_image", "the file is not an image") from exc


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """Width and height once the EXIF orientation is applied."""
    from PIL import ExifTags

    width, height = image.size
    if image.getexif().get(ExifTags.Base.Orientation) in _ROTATED_ORIENTATIONS:
        return height, width
    return width, height


def _decode(data: bytes, max_pixels: int, min_size: tuple[int, int], largest_side: int) -> Image.Image:
    """The upright first frame of an acceptable image, or ImageRejected.

    Format and pixel count are checked from the header, before any pixel is decoded.
    ``largest_side`` lets JPEGs decode at a reduced scale that still covers every output size.
    """
    from PIL import Image, ImageOps

    header = _open(data)
    with header:
        if header.format not in ALLOWED_FORMATS:
            raise ImageRejected("unsupported_format", "only JPEG, PNG, WebP and GIF images are accepted")
        width, height = header.size
        if width * height > max_pixels:
            raise ImageRejected("too_many_pixels", "the image has too many pixels")
        try:
            header.verify()
        except Exception as exc:
            raise ImageRejected("not_an_image", "the image is damaged") from exc
    # verify() leaves the image unusable: decode from a fresh parse.
    image = _open(data)
    with image:
        try:
            upright_width, upright_height = _upright_size(image)  # a PNG's EXIF may follow its pixels
        except Exception as exc:
            raise ImageRejected("not_an_image", "the image is damaged") from exc
        if upright_width < min_size[0] or upright_height < min_size[1]:
            raise ImageRejected("too_small", f"the image must be at least {min_size[0]}×{min_size[1]} pixels")
        try:
            if image.format in {"JPEG", "MPO"}:
                image.draft(None, (largest_side, largest_side))
            image.load()
            return ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected("too_many_pixels", "the image has too many pixels") from exc
        except Exception as exc:  # truncated or corrupt pixel data
            raise ImageRejected("not_an_image", "the image is damaged") from exc


# --------------------------------------------------------------------------------------------------
# Re-encoding


def _to_srgb(image: Image.Image) -> Image.Image:
    """8-bit RGB, or RGBA if the image has transparency, with its embedded colour profile applied.

    Phones shoot in Display P3: dropping the profile without converting would dull their colours.
    A profile Pillow cannot use is ignored, as browsers do. (An alpha channel that turns out opaque
    everywhere costs nothing: libwebp leaves it out.)
    """
    from PIL import ImageCms

    icc_profile = image.info.get("icc_profile")
    if image.mode in _SIXTEEN_BIT_GREY:
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    has_alpha = image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    converted: Image.Image | None = None
    if icc_profile and image.mode in {"RGB", "RGBA", "CMYK"}:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(image, source, _srgb(), outputMode=target)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None
    if converted is None:
        converted = image.convert(target)
    return converted


def _fit(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """The image shrunk to fit inside ``box``, keeping its proportions; never enlarged."""
    from PIL import Image

    width, height = image.size
    scale = min(box[0] / width, box[1] / height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _variant(image: Image.Image, width: int, height: int, mode: SizeMode) -> Image.Image:
    from PIL import Image, ImageOps

    if mode == "crop":
        return ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)
    return _fit(image, (width, height))


def _webp(image: Image.Image) -> bytes:
    """WebP bytes without EXIF, XMP or ICC: explicit, whatever Pillow would carry over from ``info``."""
    buffer = io.BytesIO()
    image.info.clear()
    image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4, exif=b"", xmp=b"", icc_profile=None)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------
# Files


def _store(storage: MediaStorage | None, media_dir: Path | None) -> MediaStorage:
    """The store to use: the one given, a folder given (scripts and tests), else the app's public one."""
    if storage is not None:
        return storage
    if media_dir is not None:
        from app.storage.local import LocalStorage

        return LocalStorage(media_dir, public=True)
    from app.storage import media_storage

    return media_storage()


def _write_all(storage: MediaStorage, relative_dir: str, files: Mapping[str, bytes]) -> None:
    """Write new files; on any failure remove those already written (an upload is whole or absent)."""
    written: list[str] = []
    try:
        for name, content in files.items():
            key = f"{relative_dir}/{name}"
            storage.put(key, content, content_type="image/webp")
            written.append(key)
    except BaseException:
        for key in written:
            try:
                storage.delete(key)
            except Exception:
                log.warning("could not remove media file %s", key, exc_info=True)
        raise


def store_image(
    stream: IO[bytes],
    *,
    folder: str,
    max_bytes: int,
    sizes: Mapping[str, tuple[int, int, str]] | None = None,
    main_size: tuple[int, int] = (1600, 1600),
    min_size: tuple[int, int] = (64, 64),
    storage: MediaStorage | None = None,
    media_dir: Path | None = None,
    max_pixels: int = MAX_PIXELS,
) -> StoredImage:
    """Check an uploaded photo by its content and store it as WebP under a random name.

    ``sizes`` adds variants, name -> (width, height, "fit" | "crop"): "fit" shrinks inside the box,
    "crop" centre-crops to exactly that size (enlarging a smaller image). Raises ImageRejected
    for a bad upload, with nothing written; ValueError for bad arguments. The files go to ``storage``
    (default: the app's public store) or, for scripts and tests, to the folder ``media_dir``.
    """
    from PIL import Image

    _check_folder(folder)
    variants = _check_sizes(sizes or {})
    largest_side = max([*main_size, *(max(width, height) for width, height, _ in variants.values())])
    data = _read_limited(stream, max_bytes)
    with warnings.catch_warnings():
        # Pillow warns about odd but harmless content (corrupt EXIF, invalid APNG chunks): that is the
        # uploader's business, not a log line. Its decompression-bomb warning becomes an error.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        picture = _to_srgb(_decode(data, max_pixels, min_size, largest_side))
        main = _fit(picture, main_size)
        main_webp = _webp(main)
        variant_webps = {name: _webp(_variant(picture, *variant)) for name, variant in variants.items()}

    stem = secrets.token_hex(16)
    relative_dir = f"{folder}/{stem[:2]}"
    files = {f"{stem}.webp": main_webp}
    files.update((f"{stem}-{name}.webp", webp) for name, webp in variant_webps.items())
    _write_all(_store(storage, media_dir), relative_dir, files)
    return StoredImage(
        path=f"{relative_dir}/{stem}.webp",
        width=main.width,
        height=main.height,
        thumbnails={name: f"{relative_dir}/{stem}-{name}.webp" for name in variants},
    )


# --------------------------------------------------------------------------------------------------
# Reading back and deleting


def _stored_parts(stored_path: str) -> PurePosixPath:
    """A path shaped like those :func:`store_image` returns, or ValueError."""
    if not valid_key(stored_path) or not _STORED_NAME_RE.fullmatch(PurePosixPath(stored_path).name):
        raise ValueError(f"not a stored image path: {stored_path!r}")
    return PurePosixPath(stored_path)


def safe_media_path(relative: str, media_dir: Path) -> Path | None:
    """The file a media URL names, or None if it does not exist or would lie outside ``media_dir``."""
    from app.storage.local import LocalStorage

    return LocalStorage(media_dir, public=True).local_path(relative)


def delete_image(
    stored_path: str, media_dir: Path | None = None, *, storage: MediaStorage | None = None
) -> None:
    """Remove a stored image and its variants, if present (best effort: failures are logged).

    Only paths shaped like those :func:`store_image` returns are accepted (ValueError otherwise),
    so that a bad database value can never delete anything else.
    """
    parts = _stored_parts(stored_path)
    store = _store(storage, media_dir)
    stem = parts.name.removesuffix(".webp")
    prefix = f"{parts.parent}/{stem}"
    try:
        found = list(store.list_keys(prefix))
    except ValueError as exc:  # the folder leads out of the store
        raise ValueError(f"not a stored image path: {stored_path!r}") from exc
    variant = re.compile(re.escape(stem) + r"(?:-[a-z0-9_]+)?\.webp")
    for key in found:
        if not variant.fullmatch(PurePosixPath(key).name):
            continue
        try:
            store.delete(key)
        except Exception:
            log.warning("could not delete media file %s", key, exc_info=True)


def copy_image(
    stored_path: str, thumbnails: Mapping[str, str], *, storage: MediaStorage | None = None
) -> StoredImage:
    """A copy of a stored image and its variants under a new random name (a duplicated product must
    not share files with its original: deleting one would break the other)."""
    parts = _stored_parts(stored_path)
    store = _store(storage, None)
    original = store.read(stored_path)
    if original is None:
        raise ValueError(f"no such stored image: {stored_path!r}")
    stem = secrets.token_hex(16)
    relative_dir = str(parts.parent)
    files = {f"{stem}.webp": original}
    copied: dict[str, str] = {}
    for name, thumbnail in thumbnails.items():
        data = store.read(thumbnail)
        if data is not None:
            files[f"{stem}-{name}.webp"] = data
            copied[name] = f"{relative_dir}/{stem}-{name}.webp"
    _write_all(store, relative_dir, files)
    from PIL import Image

    with Image.open(io.BytesIO(original)) as image:
        width, height = image.size
    return StoredImage(path=f"{relative_dir}/{stem}.webp", width=width, height=height, thumbnails=copied)


def delete_stored(stored_path: str) -> None:
    """Job: remove a replaced or removed image (and its variants) once the change is committed."""
    delete_image(stored_path)


def rejection_message(rejected: ImageRejected) -> Any:
    """What to tell the person whose upload was refused, in their language."""
    from flask_babel import lazy_gettext as _l

    messages = {
        "too_large": _l("Cette photo dépasse 5 Mo."),
        "not_an_image": _l("Ce fichier n’est pas une image."),
        "unsupported_format": _l("Format non pris en charge : envoyez une photo JPEG, PNG ou WebP."),
        "too_many_pixels": _l("Cette image est trop grande."),
        "too_small": _l("Cette image est trop petite."),
    }
    return messages.get(rejected.reason, _l("Ce fichier n’est pas une image."))
