import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from heron.artifacts.formats import (
    THUMBNAIL_MAX_SIDE,
    image_artifact_name,
    thumbnail_artifact_name,
    write_image,
    write_image_thumbnail,
)
from heron.artifacts.paths import safe_relative_path
from heron.exceptions import INVALID_PARAMETER_VALUE, HeronException


def saved(image: object, tmp_path: Path, name: str = "img.png") -> Image.Image:
    write_image(image, tmp_path / name)
    return Image.open(tmp_path / name)


def test_uint8_rgb_round_trips(tmp_path: Path) -> None:
    array = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    image = saved(array, tmp_path)
    assert image.mode == "RGB" and image.size == (5, 4)
    assert np.array_equal(np.asarray(image), array)


def test_float_in_unit_range_is_scaled(tmp_path: Path) -> None:
    array = np.array([[0.0, 0.5], [1.0, 0.25]], dtype=np.float32)
    assert np.asarray(saved(array, tmp_path)).tolist() == [[0, 128], [255, 64]]


@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 1)])
def test_grayscale(tmp_path: Path, shape: tuple[int, ...]) -> None:
    image = saved(np.full(shape, 7, dtype=np.uint8), tmp_path)
    assert image.mode == "L" and image.size == (4, 3)


def test_rgba_and_bool(tmp_path: Path) -> None:
    assert saved(np.zeros((2, 2, 4), dtype=np.uint8), tmp_path).mode == "RGBA"
    mask = np.array([[True, False]])
    assert np.asarray(saved(mask, tmp_path, "mask.png")).tolist() == [[255, 0]]


def test_out_of_range_values_are_clipped_with_a_warning(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="clipped"):
        image = saved(np.array([[-5, 300]], dtype=np.int32), tmp_path)
    assert np.asarray(image).tolist() == [[0, 255]]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(5, dtype=np.uint8), "must be 2D or 3D"),
        (np.zeros((2, 2, 3, 1), dtype=np.uint8), "must be 2D or 3D"),
        (np.zeros((2, 2, 2), dtype=np.uint8), "channel count 2"),
        (np.zeros((2, 2), dtype=np.complex64), "data type"),
        (np.array([["a"]]), "data type"),
        (np.zeros((0, 3), dtype=np.uint8), "must not be empty"),
        (np.array([[0.1, np.nan]]), "NaN"),
    ],
)
def test_bad_arrays_are_refused(tmp_path: Path, array: np.ndarray, message: str) -> None:
    with pytest.raises(HeronException, match=message) as caught:
        write_image(array, tmp_path / "img.png")
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert not (tmp_path / "img.png").exists()


def test_pil_images_are_saved_in_the_extension_format(tmp_path: Path) -> None:
    image = saved(Image.new("RGB", (3, 2), "red"), tmp_path, "red.jpg")
    assert image.format == "JPEG" and image.size == (3, 2)


@pytest.mark.parametrize(
    ("image", "name"),
    [
        (Image.new("RGBA", (2, 2)), "a.jpg"),  # JPEG has no alpha
        (Image.new("RGB", (2, 2)), "a.unknown"),
        (Image.new("RGB", (2, 2)), "noext"),
        ([[1, 2]], "a.png"),  # a list is not an image
    ],
)
def test_unsaveable_images_are_refused(tmp_path: Path, image: object, name: str) -> None:
    with pytest.raises(HeronException):
        write_image(image, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_thumbnail_fits_the_limit_and_keeps_the_aspect(tmp_path: Path) -> None:
    write_image_thumbnail(np.zeros((500, 1000, 3), dtype=np.uint8), tmp_path / "t.webp")
    thumb = Image.open(tmp_path / "t.webp")
    assert thumb.format == "WEBP" and thumb.size == (THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE // 2)


def test_thumbnail_never_enlarges_and_handles_grayscale(tmp_path: Path) -> None:
    write_image_thumbnail(np.zeros((10, 20), dtype=np.uint8), tmp_path / "t.webp")
    assert Image.open(tmp_path / "t.webp").size == (20, 10)


def test_image_artifact_names_follow_mlflow() -> None:
    name = image_artifact_name("val/sample", 12, 1_700_000_000_000)
    pattern = r"images/val#sample\+step\+12\+timestamp\+1700000000000\+[g-z][0-9a-f-]{35}\.png"
    assert re.fullmatch(pattern, name)
    assert safe_relative_path(name) == name
    assert image_artifact_name("k", 0, 0) != image_artifact_name("k", 0, 0)
    assert thumbnail_artifact_name(name) == name[: -len(".png")] + "+compressed.webp"


@pytest.mark.parametrize("key", ["", "bad\\key", "nul\x00"])
def test_unusable_image_keys_are_refused(key: str) -> None:
    with pytest.raises(HeronException):
        image_artifact_name(key, 0, 0)
