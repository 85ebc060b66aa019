"""Uploaded photos: checked by content, re-encoded as WebP without metadata, stored under random names.

Every image is generated in memory with Pillow; no image file is committed.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

import pytest
from PIL import ExifTags, Image, ImageCms

from app.images import ImageRejected, StoredImage, delete_image, safe_media_path, store_image

MAX_BYTES = 5 * 1024 * 1024  # config's MAX_IMAGE_BYTES
THUMBS: dict[str, tuple[int, int, str]] = {"thumb": (320, 320, "crop"), "card": (800, 600, "fit")}
STORED_PATH_RE = re.compile(r"shops/(?P<shard>[0-9a-f]{2})/(?P<stem>(?P=shard)[0-9a-f]{30})\.webp")

RED = (220, 20, 20)
BLUE = (20, 20, 220)


# --------------------------------------------------------------------------------------------------
# Helpers


def encode(image: Image.Image, image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def photo(size: tuple[int, int] = (300, 200), mode: str = "RGB", color: Any = RED) -> Image.Image:
    return Image.new(mode, size, color)


def noise(size: tuple[int, int]) -> Image.Image:
    """An image JPEG cannot compress much, so that cutting the file cuts pixel data."""
    return Image.effect_noise(size, 64).convert("RGB")


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG claiming any dimensions: Pillow reads the size from IHDR without decoding anything."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def rgb_profile(red: tuple[float, ...], green: tuple[float, ...], blue: tuple[float, ...]) -> bytes:
    """A minimal ICC v2 RGB display profile (primaries as D50 XYZ, gamma 2.2), built in memory."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(values: tuple[float, ...]) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(s15(value) for value in values)

    description = b"test\0"
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"
    tags = {
        b"desc": b"desc\0\0\0\0" + struct.pack(">I", len(description)) + description + b"\0" * 78,
        b"wtpt": xyz(D50),
        b"rXYZ": xyz(red),
        b"gXYZ": xyz(green),
        b"bXYZ": xyz(blue),
        b"rTRC": curve,
        b"gTRC": curve,
        b"bTRC": curve,
    }
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for signature, body in tags.items():
        padded = body + b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(padded))
        data += padded
    header = (
        struct.pack(">I", offset + len(data))
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28
        + xyz(D50)[8:]
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + table + data


# sRGB's primaries adapted to D50, as ICC profiles state them.
D50 = (0.9642, 1.0, 0.8249)
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)


class GuardedStream(io.RawIOBase):
    """An endless upload that fails the test if anything reads beyond ``limit`` bytes.

    It hands out at most 64 KiB a call, as a socket would, so the reader has to loop.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or self.position + size > self.limit:
            raise AssertionError(f"read({size}) at {self.position} goes beyond {self.limit} bytes")
        count = min(size, 64 * 1024)
        self.position += count
        return b"\xff" * count


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def store(media_dir: Path) -> Callable[..., StoredImage]:
    def store_bytes(data: bytes, **options: Any) -> StoredImage:
        options.setdefault("sizes", THUMBS)
        return store_image(
            io.BytesIO(data), folder="shops", max_bytes=MAX_BYTES, media_dir=media_dir, **options
        )

    return store_bytes


def files_under(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file()) if directory.exists() else []


def open_stored(media_dir: Path, relative: str) -> Image.Image:
    image = Image.open(media_dir / relative)
    image.load()
    return image


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """A pixel's channels; single-channel images give a 1-tuple."""
    value = image.getpixel(xy)
    if isinstance(value, int | float):
        return (int(value),)
    assert isinstance(value, tuple)
    return value


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# --------------------------------------------------------------------------------------------------
# Accepted images


def test_a_png_is_stored_as_webp_with_its_variants(
    store: Callable[..., StoredImage], media_dir: Path
) -> None:
    stored = store(encode(photo((3000, 2000)), "PNG"))

    match = STORED_PATH_RE.fullmatch(stored.path)
    assert match, stored.path
    assert (stored.width, stored.height) == (1600, 1067)  # 2000 × 1600 / 3000 = 1066.7
    stem = match["stem"]
    assert stored.thumbnails == {
        "thumb": f"shops/{match['shard']}/{stem}-thumb.webp",
        "card": f"shops/{match['shard']}/{stem}-card.webp",
    }
    main = open_stored(media_dir, stored.path)
    assert (main.format, main.size, main.mode) == ("WEBP", (1600, 1067), "RGB")
    assert close_to(pixel(main, (800, 500)), RED)
    assert open_stored(media_dir, stored.thumbnails["thumb"]).size == (320, 320)
    assert open_stored(media_dir, stored.thumbnails["card"]).size == (800, 533)
    assert len(files_under(media_dir)) == 3


def test_a_large_jpeg_is_shrunk(store: Callable[..., StoredImage], media_dir: Path) -> None:
    # A gradient, so that the file stays well under the byte limit.
    gradient = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    stored = store(encode(gradient, "JPEG"), sizes=None)

    assert (stored.width, stored.height) == (1600, 1200)
    assert stored.thumbnails == {}
    assert open_stored(media_dir, stored.path).size == (1600, 1200)
    assert len(files_under(media_dir)) == 1


def test_small_images_are_never_enlarged_but_crops_are_exact(
    store: Callable[..., StoredImage], media_dir: Path
) -> None:
    stored = store(
        encode(photo((200, 150)), "JPEG"), sizes={"thumb": (320, 320, "crop"), "card": (800, 600, "fit")}
    )

    assert (stored.width, stored.height) == (200, 150)
    assert open_stored(media_dir, stored.thumbnails["card"]).size == (200, 150)
    assert open_stored(media_dir, stored.thumbnails["thumb"]).size == (320, 320)


def test_main_size_and_min_size_are_configurable(store: Callable[..., StoredImage]) -> None:
    stored = store(encode(photo((1200, 400)), "PNG"), main_size=(600, 600), min_size=(600, 200))
    assert (stored.width, stored.height) == (600, 200)


@pytest.mark.parametrize(
    ("image", "image_format"),
    [
        (photo(), "WEBP"),
        (photo(), "GIF"),
        (photo(mode="L", color=128), "PNG"),
        (photo(mode="1", color=1), "PNG"),
        (photo(mode="CMYK", color=(0, 200, 200, 0)), "JPEG"),
    ],
    ids=["webp", "gif", "greyscale", "1-bit", "cmyk-jpeg"],
)
def test_other_accepted_kinds(
    store: Callable[..., StoredImage], media_dir: Path, image: Image.Image, image_format: str
) -> None:
    stored = store(encode(image, image_format))
    result = open_stored(media_dir, stored.path)
    assert (result.format, result.mode, result.size) == ("WEBP", "RGB", (300, 200))


def test_an_mpo_jpeg_from_a_phone_is_accepted(store: Callable[..., StoredImage], media_dir: Path) -> None:
    data = encode(photo(color=BLUE), "MPO", save_all=True, append_images=[photo(color=RED)])
    assert Image.open(io.BytesIO(data)).format == "MPO"

    stored = store(data)
    assert close_to(pixel(open_stored(media_dir, stored.path), (150, 100)), BLUE)


def test_sixteen_bit_greyscale_keeps_its_tones(store: Callable[..., StoredImage], media_dir: Path) -> None:
    stored = store(encode(photo(mode="I;16", color=40000), "PNG"))
    grey = pixel(open_stored(media_dir, stored.path), (10, 10))
    assert close_to(grey, (155, 155, 155), tolerance=3)  # 40000 / 257, not clipped to white


def test_an_animated_gif_keeps_its_first_frame(store: Callable[..., StoredImage], media_dir: Path) -> None:
    data = encode(photo(color=BLUE), "GIF", save_all=True, append_images=[photo(color=RED)], duration=100)
    stored = store(data)
    assert close_to(pixel(open_stored(media_dir, stored.path), (150, 100)), BLUE)


def test_transparency_is_kept_only_when_used(store: Callable[..., StoredImage], media_dir: Path) -> None:
    logo = photo(mode="RGBA", color=(0, 0, 0, 0))
    logo.paste((*RED, 255), (50, 50, 250, 150))
    transparent = open_stored(media_dir, store(encode(logo, "PNG")).path)
    assert transparent.mode == "RGBA"
    assert pixel(transparent, (5, 5))[3] == 0
    assert close_to(pixel(transparent, (150, 100)), (*RED, 255))

    opaque = open_stored(media_dir, store(encode(photo(mode="RGBA", color=(*RED, 255)), "PNG")).path)
    assert opaque.mode == "RGB"


def test_palette_transparency_becomes_alpha(store: Callable[..., StoredImage], media_dir: Path) -> None:
    palette = photo(mode="P", color=1)
    palette.putpalette([0, 0, 0, *RED] * 128)
    palette.paste(0, (0, 0, 100, 200))
    data = encode(palette, "PNG", transparency=b"\x00\x80")  # entry 0 transparent, entry 1 half
    assert isinstance(Image.open(io.BytesIO(data)).info["transparency"], bytes)

    result = open_stored(media_dir, store(data).path)
    assert result.mode == "RGBA"
    assert pixel(result, (10, 10))[3] == 0
    assert close_to(pixel(result, (250, 100)), (*RED, 128))


def test_pillow_warnings_about_the_content_do_not_leak(
    store: Callable[..., StoredImage], media_dir: Path
) -> None:
    """An APNG chunk announcing 0 frames makes Pillow warn; the project runs with filterwarnings=error."""
    png = encode(photo(color=BLUE), "PNG")
    actl = b"acTL" + struct.pack(">II", 0, 0)
    chunk = struct.pack(">I", 8) + actl + struct.pack(">I", zlib.crc32(actl))
    data = png[:33] + chunk + png[33:]  # right after the signature (8) and IHDR (25)
    with pytest.warns(UserWarning, match="Invalid APNG"):
        Image.open(io.BytesIO(data))

    stored = store(data)
    assert close_to(pixel(open_stored(media_dir, stored.path), (150, 100)), BLUE)


def test_an_exif_rotated_jpeg_comes_out_upright_without_metadata(
    store: Callable[..., StoredImage], media_dir: Path
) -> None:
    # Stored sideways, 200 × 100, red on the left; orientation 6 means "turn 90° clockwise to view".
    sideways = photo((200, 100), color=BLUE)
    sideways.paste(RED, (0, 0, 100, 100))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (47.0, 23.0, 30.0)
    data = encode(sideways, "JPEG", exif=exif, quality=95)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input does carry GPS

    stored = store(data)
    assert (stored.width, stored.height) == (100, 200)
    upright = open_stored(media_dir, stored.path)
    assert upright.size == (100, 200)
    assert close_to(pixel(upright, (50, 40)), RED)  # the left side is now on top
    assert close_to(pixel(upright, (50, 160)), BLUE)
    assert "exif" not in upright.info
    assert "xmp" not in upright.info
    assert "icc_profile" not in upright.info
    assert not upright.getexif()
    for relative in stored.thumbnails.values():
        assert not open_stored(media_dir, relative).getexif()


def test_the_minimum_size_applies_to_the_upright_image(store: Callable[..., StoredImage]) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = encode(photo((100, 50)), "JPEG", exif=exif)
    with pytest.raises(ImageRejected) as rejected:
        store(data, min_size=(80, 40))  # the stored 100 × 50 would pass; the upright 50 × 100 does not
    assert rejected.value.reason == "too_small"


def test_colour_profiles_are_applied_then_dropped(store: Callable[..., StoredImage], media_dir: Path) -> None:
    # A profile whose red is sRGB's green: a browser shows (255, 0, 0) in it as green, and so must we.
    swapped = rgb_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE)
    stored = store(encode(photo(color=(255, 0, 0)), "JPEG", icc_profile=swapped, quality=95))
    result = open_stored(media_dir, stored.path)
    assert "icc_profile" not in result.info
    assert close_to(pixel(result, (150, 100)), (0, 255, 0))

    logo = photo(mode="RGBA", color=(255, 0, 0, 128))
    result = open_stored(media_dir, store(encode(logo, "PNG", icc_profile=swapped)).path)
    assert close_to(pixel(result, (150, 100)), (0, 255, 0, 128), tolerance=10)


@pytest.mark.parametrize(
    "profile",
    [
        rgb_profile(SRGB_RED, SRGB_GREEN, SRGB_BLUE),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        b"not a colour profile",
    ],
    ids=["hand-made-srgb", "pillow-srgb", "garbage"],
)
def test_srgb_and_unusable_profiles_leave_colours_alone(
    store: Callable[..., StoredImage], media_dir: Path, profile: bytes
) -> None:
    data = encode(photo(), "JPEG", icc_profile=profile, quality=95)
    assert Image.open(io.BytesIO(data)).info["icc_profile"] == profile
    result = open_stored(media_dir, store(data).path)
    assert "icc_profile" not in result.info
    assert close_to(pixel(result, (150, 100)), RED)


def test_each_upload_gets_its_own_random_name(store: Callable[..., StoredImage]) -> None:
    data = encode(photo(), "PNG")
    assert store(data).path != store(data).path


def test_an_upload_of_exactly_max_bytes_is_read(media_dir: Path) -> None:
    data = encode(photo(), "PNG")
    stored = store_image(io.BytesIO(data), folder="shops", max_bytes=len(data), media_dir=media_dir)
    assert (stored.width, stored.height) == (300, 200)
    with pytest.raises(ImageRejected) as rejected:
        store_image(io.BytesIO(data), folder="shops", max_bytes=len(data) - 1, media_dir=media_dir)
    assert rejected.value.reason == "too_large"


# --------------------------------------------------------------------------------------------------
# Rejected uploads


class NamedBytes(io.BytesIO):
    """What a browser sends: a file name and a content type the server must not believe."""

    name = "photo.jpg"
    content_type = "image/jpeg"


def test_a_text_file_named_photo_jpg_is_not_an_image(media_dir: Path) -> None:
    with pytest.raises(ImageRejected) as rejected:
        store_image(
            NamedBytes(b"Bonjour, ceci est une photo."),
            folder="shops",
            max_bytes=MAX_BYTES,
            media_dir=media_dir,
        )
    assert rejected.value.reason == "not_an_image"
    assert str(rejected.value) == "the file is not an image"
    assert isinstance(rejected.value, ValueError)


def test_an_upload_over_the_limit_is_refused_without_reading_the_rest(media_dir: Path) -> None:
    stream = GuardedStream(limit=MAX_BYTES + 1)
    with pytest.raises(ImageRejected) as rejected:
        store_image(cast(IO[bytes], stream), folder="shops", max_bytes=MAX_BYTES, media_dir=media_dir)
    assert rejected.value.reason == "too_large"
    assert stream.position == MAX_BYTES + 1
    assert files_under(media_dir) == []


TRUNCATED_JPEG = encode(noise((400, 300)), "JPEG", quality=90)
TRUNCATED_PNG = encode(noise((400, 300)), "PNG")


@pytest.mark.parametrize(
    ("data", "reason", "message"),
    [
        (b"", "not_an_image", "the file is not an image"),
        (b"Bonjour", "not_an_image", "the file is not an image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not_an_image", "the file is not an image"),
        (TRUNCATED_JPEG[: len(TRUNCATED_JPEG) // 2], "not_an_image", "the image is damaged"),
        (TRUNCATED_PNG[: len(TRUNCATED_PNG) // 2], "not_an_image", "the image is damaged"),
        (encode(photo(), "BMP"), "unsupported_format", "only JPEG, PNG, WebP and GIF images are accepted"),
        (encode(photo(), "TIFF"), "unsupported_format", "only JPEG, PNG, WebP and GIF images are accepted"),
        (
            encode(photo((64, 64)), "ICO"),
            "unsupported_format",
            "only JPEG, PNG, WebP and GIF images are accepted",
        ),
        # Beyond twice Pillow's own limit: it raises DecompressionBombError.
        (png_header(20_000, 20_000), "too_many_pixels", "the image has too many pixels"),
        # Between Pillow's limit and twice it: Pillow only warns, which must not leak.
        (png_header(10_000, 10_000), "too_many_pixels", "the image has too many pixels"),
        # Under Pillow's limit, over ours (40 MP).
        (png_header(7_000, 7_000), "too_many_pixels", "the image has too many pixels"),
        (encode(photo((10, 10)), "PNG"), "too_small", "the image must be at least 64×64 pixels"),
        (encode(photo((500, 63)), "JPEG"), "too_small", "the image must be at least 64×64 pixels"),
    ],
    ids=[
        "empty",
        "text",
        "svg",
        "truncated-jpeg",
        "truncated-png",
        "bmp",
        "tiff",
        "ico",
        "bomb-error",
        "bomb-warning",
        "over-our-limit",
        "tiny",
        "too-thin",
    ],
)
def test_rejections_leave_nothing_on_disk(
    store: Callable[..., StoredImage], media_dir: Path, data: bytes, reason: str, message: str
) -> None:
    with pytest.raises(ImageRejected) as rejected:
        store(data)
    assert rejected.value.reason == reason
    assert str(rejected.value) == message
    assert files_under(media_dir) == []


def test_max_pixels_is_configurable(store: Callable[..., StoredImage]) -> None:
    with pytest.raises(ImageRejected) as rejected:
        store(encode(photo((100, 100)), "PNG"), max_pixels=9_999)
    assert rejected.value.reason == "too_many_pixels"


def test_a_failed_write_removes_what_was_written(
    store: Callable[..., StoredImage], media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Path.open

    def disk_full_on_thumbnails(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "-thumb" in self.name:
            raise OSError(28, "No space left on device")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", disk_full_on_thumbnails)
    with pytest.raises(OSError, match="No space left"):
        store(encode(photo(), "PNG"), sizes={"card": (100, 100, "fit"), "thumb": (50, 50, "crop")})
    assert files_under(media_dir) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"folder": "../shops"}, "folder"),
        ({"folder": "/shops"}, "folder"),
        ({"folder": "shops/"}, "folder"),
        ({"sizes": {"../x": (10, 10, "fit")}}, "size names"),
        ({"sizes": {"thumb": (0, 10, "fit")}}, "at least"),
        ({"sizes": {"thumb": (10, 10, "stretch")}}, "mode"),
        ({"max_bytes": 0}, "max_bytes"),
    ],
)
def test_bad_arguments_are_programming_errors(media_dir: Path, options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"folder": "shops", "max_bytes": MAX_BYTES, "media_dir": media_dir, **options}
    with pytest.raises(ValueError, match=message) as raised:
        store_image(io.BytesIO(encode(photo(), "PNG")), **arguments)
    assert not isinstance(raised.value, ImageRejected)


# --------------------------------------------------------------------------------------------------
# Reading back and deleting


def test_safe_media_path_finds_stored_files(store: Callable[..., StoredImage], media_dir: Path) -> None:
    stored = store(encode(photo(), "PNG"))
    assert safe_media_path(stored.path, media_dir) == (media_dir / stored.path).resolve()
    assert (
        safe_media_path(stored.thumbnails["thumb"], media_dir)
        == (media_dir / stored.thumbnails["thumb"]).resolve()
    )


@pytest.mark.parametrize(
    "relative",
    [
        "",
        "shops",  # a directory
        "shops/ab/missing.webp",
        "../secret.txt",
        "shops/../../secret.txt",
        "/etc/passwd",
        "shops\\..\\..\\secret.txt",
        "shops/.hidden",
        "shops//secret.txt",
        "shops/\x00.webp",
        "outside/secret.txt",  # a symlink out of the media folder
    ],
)
def test_safe_media_path_refuses_traversal(media_dir: Path, tmp_path: Path, relative: str) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    (media_dir / "shops").mkdir(parents=True)
    (media_dir / "shops" / ".hidden").write_text("hidden")
    (media_dir / "outside").symlink_to(tmp_path)
    assert safe_media_path(relative, media_dir) is None


def test_delete_image_removes_the_image_and_its_variants(
    store: Callable[..., StoredImage], media_dir: Path
) -> None:
    kept = store(encode(photo(), "PNG"))
    deleted = store(encode(photo(), "PNG"))
    assert len(files_under(media_dir)) == 6

    delete_image(deleted.path, media_dir)

    assert files_under(media_dir) == sorted(
        (media_dir / relative) for relative in [kept.path, *kept.thumbnails.values()]
    )
    delete_image(deleted.path, media_dir)  # already gone: nothing to do
    assert safe_media_path(deleted.path, media_dir) is None


@pytest.mark.parametrize(
    "stored_path",
    [
        "../secret.webp",
        "shops/../../0123456789abcdef0123456789abcdef.webp",
        "/srv/media/0123456789abcdef0123456789abcdef.webp",
        "shops/01/secret.txt",
        "shops/01/0123456789abcdef0123456789abcdef-thumb.webp",
        "",
    ],
)
def test_delete_image_refuses_other_paths(media_dir: Path, stored_path: str) -> None:
    with pytest.raises(ValueError, match="not a stored image path"):
        delete_image(stored_path, media_dir)


def test_delete_image_does_not_follow_symlinks_out(media_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "01"
    outside.mkdir(parents=True)
    victim = outside / "0123456789abcdef0123456789abcdef.webp"
    victim.write_bytes(b"not ours")
    media_dir.mkdir()
    (media_dir / "shops").symlink_to(tmp_path / "outside")

    with pytest.raises(ValueError, match="not a stored image path"):
        delete_image("shops/01/0123456789abcdef0123456789abcdef.webp", media_dir)
    assert victim.exists()
