"""Images: ``npz:PATH`` (arrays ``X``, ``y``, optional ``class_names``) and ``imagefolder:DIR``.

Images are uint8 ``N×H×W`` (grey) or ``N×H×W×C``; a single channel is squeezed to ``N×H×W``.
Arrays of another type are converted by one rule (``to_uint8``): values already within 0..255
(integers, or floats holding integers) are kept; floats within [0, 1] are scaled by 255;
anything else is min-max scaled over the whole array to 0..255.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np

from dlvsml.data.dataset import Dataset
from dlvsml.data.sources import SourceURI, source
from dlvsml.data.tabular import dataset_name, existing_file
from dlvsml.data.targets import encode_with_names
from dlvsml.errors import DataError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@source("npz", local=True)
def load_npz(uri: SourceURI) -> Dataset:
    uri.check_params(("task",))
    path = existing_file(uri)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"{uri.text}: cannot read {str(path)!r} as .npz ({exc}); "
            "save it with numpy.savez(path, X=images, y=labels)"
        ) from None
    missing = [key for key in ("X", "y") if key not in arrays]
    if missing:
        raise DataError(
            f"{uri.text}: the archive lacks {' and '.join(missing)} (it holds "
            f"{', '.join(arrays) or 'nothing'}); save images as X and labels as y"
        )
    names = arrays.get("class_names")
    return images_to_dataset(
        arrays["X"],
        arrays["y"],
        name=dataset_name(path),
        source=uri.text,
        class_names=tuple(str(n) for n in names) if names is not None else None,
        task=uri.param("task"),
    )


@source("imagefolder", local=True)
def load_image_folder(uri: SourceURI) -> Dataset:
    uri.check_params(("task",))
    root = uri.local_path()
    if not root.is_dir():
        raise DataError(
            f"{uri.text}: {str(root)!r} is not a folder; imagefolder: needs a folder with one "
            "subfolder of images per class"
        )
    files, labels, names = _list_images(root, uri.text)
    return images_to_dataset(
        _decode_all(files, uri.text),
        np.asarray(labels, dtype=np.int64),
        name=root.resolve().name,
        source=uri.text,
        class_names=tuple(names),
        task=uri.param("task"),
    )


def images_to_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    name: str,
    source: str,
    class_names: tuple[str, ...] | None = None,
    task: str | None = None,
) -> Dataset:
    """An image Dataset from an image array and one label per image."""
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (3, 4)):
        raise DataError(
            f"{source}: X has shape {images.shape}; images must be N×H×W (grey) or N×H×W×C "
            "with C = 1, 3 or 4 channels"
        )
    if len(images) == 0:
        raise DataError(f"{source}: there are no images")
    if 0 in images.shape[1:3]:
        raise DataError(
            f"{source}: the images have no pixels (shape {images.shape}); "
            "give images at least 1×1 in size"
        )
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise DataError(
            f"{source}: y has shape {labels.shape} but there are {len(images)} images; "
            "give one label per image"
        )
    target = encode_with_names(labels, class_names, source, task)
    return Dataset(
        name=name,
        modality="image",
        task=target.task,
        X=to_uint8(images, source),
        y=target.y,
        source=source,
        class_names=target.class_names,
    )


def to_uint8(images: np.ndarray, where: str) -> np.ndarray:
    """uint8 pixels by the module's rule; NaN or infinite pixels are an error."""
    if images.dtype == np.uint8:
        return images
    if images.dtype == bool:
        return images.astype(np.uint8) * 255
    if not np.issubdtype(images.dtype, np.number):
        raise DataError(f"{where}: X holds {images.dtype} values; images must be numbers")
    values = images.astype(np.float64, copy=False)
    if not np.isfinite(values).all():
        raise DataError(f"{where}: X holds NaN or infinite pixels; replace them first")
    low, high = float(values.min()), float(values.max())
    integral = np.issubdtype(images.dtype, np.integer) or bool(np.all(values == np.round(values)))
    if low >= 0 and high <= 255 and integral and high > 1:
        return values.astype(np.uint8)
    if low >= 0 and high <= 1:
        log.info("%s: pixels in [0, 1] scaled by 255 to uint8", where)
        return np.round(values * 255).astype(np.uint8)
    log.warning("%s: pixels in [%g, %g] min-max scaled to 0..255", where, low, high)
    span = high - low or 1.0
    return np.round((values - low) / span * 255).astype(np.uint8)


def _list_images(root: Path, where: str) -> tuple[list[Path], list[int], list[str]]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[Path] = []
    labels: list[int] = []
    names: list[str] = []
    for folder in folders:
        found = sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if not found:
            log.warning("%s: skipped class folder %s: it has no PNG/JPEG images", where, folder)
            continue
        labels += [len(names)] * len(found)
        names.append(folder.name)
        files += found
    if not files:
        raise DataError(
            f"{where}: no PNG/JPEG images in class subfolders of {str(root)!r}; "
            "put each class's images in its own subfolder, e.g. DIR/cat/1.png"
        )
    return files, labels, names


def _decode_all(files: list[Path], where: str) -> np.ndarray:
    """Decode every file; all grey images stay grey (``L``), otherwise all become RGB."""
    from PIL import Image, UnidentifiedImageError

    decoded = []
    for path in files:
        try:
            with Image.open(path) as image:
                image.load()
                decoded.append(image)
        except (OSError, UnidentifiedImageError) as exc:
            raise DataError(f"{where}: cannot decode image {path} ({exc})") from None
        if image.size != decoded[0].size:
            raise DataError(
                f"{where}: images differ in size: {files[0]} is "
                f"{decoded[0].size[0]}×{decoded[0].size[1]} but {path} is "
                f"{image.size[0]}×{image.size[1]}; resize them to one size"
            )
    mode = "L" if {image.mode for image in decoded} <= {"L", "1"} else "RGB"
    return np.stack([np.asarray(image.convert(mode)) for image in decoded])
