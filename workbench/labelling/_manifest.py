"""Input for labelling jobs: Ground Truth manifests, folders of files, DataFrames.

Every source becomes a list of :class:`Item` (one per data object, with the manifest line
it came from) plus a list of :class:`ItemFailure` for lines or files that cannot be used.
A bad line never stops the job: it is reported with its line number and the rest goes on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ValidationError

__all__ = [
    "Item",
    "ItemFailure",
    "IMAGE_SUFFIXES",
    "read_source",
    "read_manifest",
    "save_images",
    "image_size",
    "load_image",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
TEXT_SUFFIXES = (".txt", ".text", ".md")
MAX_LINE = 100_000  # Ground Truth's limit per manifest line (characters)
MAX_ATTRIBUTE = 20_000


@dataclass
class Item:
    """One data object: its id, the input line (``record``) and where it came from."""

    item: int
    line: int
    record: dict[str, Any]
    index: Any = None  # the DataFrame index label, for DataFrame sources

    @property
    def text(self) -> str | None:
        return self.record.get("source")

    @property
    def image_path(self) -> Path | None:
        ref = self.record.get("source-ref")
        return _local_path(ref) if isinstance(ref, str) else None


@dataclass
class ItemFailure:
    """A line or object that cannot be labelled, with the reason."""

    line: int
    reason: str
    item: int | None = None
    field: str = "source"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "item": self.item, "field": self.field, "reason": self.reason}


@dataclass
class SourceData:
    items: list[Item]
    failures: list[ItemFailure] = field(default_factory=list)
    kind: str = "manifest"  # "manifest" | "folder" | "dataframe"
    columns: list[str] | None = None


def _local_path(ref: str) -> Path:
    return Path(ref[len("file://") :] if ref.startswith("file://") else ref)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def read_manifest(path: str | os.PathLike[str], *, media: str) -> SourceData:
    """Parse a JSON Lines manifest: every line an object with ``source`` or ``source-ref``.

    Relative ``source-ref`` paths are read from the manifest's folder. For ``media="record"``
    (tabular tasks) a line may hold any keys.
    """
    path = Path(path)
    base = path.parent.resolve()
    items: list[Item] = []
    failures: list[ItemFailure] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.strip()
            if not text:
                continue
            if len(text) > MAX_LINE:
                failures.append(ItemFailure(number, f"line longer than {MAX_LINE:,} characters"))
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                failures.append(ItemFailure(number, f"not JSON ({exc.msg} at column {exc.colno})"))
                continue
            problem = _check_record(record, media)
            if problem:
                failures.append(ItemFailure(number, problem))
                continue
            ref = record.get("source-ref")
            if isinstance(ref, str) and not ref.startswith("s3://"):
                local = _local_path(ref)
                if not local.is_absolute():
                    record["source-ref"] = str(base / local)
            items.append(Item(item=len(items), line=number, record=record))
    return SourceData(items, failures, kind="manifest")


def _check_record(record: Any, media: str) -> str:
    if not isinstance(record, dict):
        return f"a JSON object per line, got {type(record).__name__}"
    if any(key.startswith("$") for key in record):
        return "attribute names must not start with '$'"
    for key, value in record.items():
        if isinstance(value, str) and len(value) > MAX_ATTRIBUTE:
            return f"attribute {key!r} longer than {MAX_ATTRIBUTE:,} characters"
    has_source, has_ref = "source" in record, "source-ref" in record
    if media == "record":
        return ""
    if has_source == has_ref:
        return "exactly one of 'source' (inline text) or 'source-ref' (a file)"
    if media == "image" and not has_ref:
        return "'source-ref' (an image file) for an image task"
    if has_source and not isinstance(record["source"], str):
        return "'source' as a string"
    if has_ref and not isinstance(record["source-ref"], str):
        return "'source-ref' as a path string"
    if has_ref and record["source-ref"].startswith("s3://"):
        return "a local path or file:// URI in 'source-ref' (workbench is offline)"
    return ""


def _read_folder(folder: Path, media: str) -> SourceData:
    suffixes = IMAGE_SUFFIXES if media == "image" else TEXT_SUFFIXES
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise ValidationError(
            "source", str(folder), f"a folder with {media} files ({', '.join(suffixes)})"
        )
    items: list[Item] = []
    failures: list[ItemFailure] = []
    for number, path in enumerate(files, start=1):
        if media == "image":
            items.append(Item(len(items), number, {"source-ref": str(path.resolve())}))
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            failures.append(ItemFailure(number, f"unreadable text file {path.name}: {exc}"))
            continue
        record = {"source": text, "source-file": str(path.relative_to(folder))}
        items.append(Item(len(items), number, record))
    return SourceData(items, failures, kind="folder")


def _read_frame(frame: Any, media: str, column: str | None) -> SourceData:
    if len(frame) == 0:
        raise ValidationError("source", "empty DataFrame", "a DataFrame with at least one row")
    columns = [str(c) for c in frame.columns]
    if media != "record":
        key = "source" if media == "text" else "source-ref"
        candidates = [column] if column else [key, "text" if media == "text" else "image", "path"]
        found = next((c for c in candidates if c in columns), None)
        if found is None:
            raise ValidationError(
                "column" if column else "source",
                column or columns,
                f"a column holding the {'texts' if media == 'text' else 'image paths'}"
                f" (pass column=...; columns are {', '.join(columns[:20])})",
            )
    records = frame.to_dict(orient="records")
    items: list[Item] = []
    failures: list[ItemFailure] = []
    for number, (index, row) in enumerate(zip(frame.index, records, strict=True), start=1):
        record = {str(k): _jsonable(v) for k, v in row.items()}
        if media != "record":
            value = record.pop(found)
            record = {key: value, **record}
            if not isinstance(value, str) or not value:
                failures.append(ItemFailure(number, f"column {found!r}: not a non-empty string"))
                continue
        items.append(Item(len(items), number, record, index=_jsonable(index)))
    return SourceData(items, failures, kind="dataframe", columns=columns)


def read_source(source: Any, *, media: str, column: str | None = None) -> SourceData:
    """Items of a manifest path, a folder, or a DataFrame; image files are checked to exist."""
    if type(source).__name__ == "DataFrame" and hasattr(source, "columns"):
        data = _read_frame(source, media, column)
    elif isinstance(source, str | os.PathLike):
        path = _local_path(os.fspath(source)).expanduser()
        if not path.exists():
            raise ValidationError("source", os.fspath(source), "an existing manifest or folder")
        if path.is_dir():
            if media == "record":
                raise ValidationError(
                    "source", str(path), "a DataFrame or manifest for a tabular task"
                )
            data = _read_folder(path, media)
        else:
            data = read_manifest(path, media=media)
    else:
        raise ValidationError(
            "source",
            type(source).__name__,
            "a manifest path (JSON Lines), a folder of images or texts, or a DataFrame",
        )
    if media == "image":
        for item in data.items:
            path = item.image_path
            if path is not None and not path.is_file():
                data.failures.append(
                    ItemFailure(
                        item.line, f"image not found: {path}", item=item.item, field="source-ref"
                    )  # fmt: skip
                )
    failed = {f.item for f in data.failures if f.item is not None}
    if len(data.items) <= len(failed):
        reasons = "; ".join(f"line {f.line}: {f.reason}" for f in data.failures[:5])
        raise ValidationError("source", os.fspath(source) if isinstance(source, str | os.PathLike)
                              else "DataFrame", "at least one usable item", hint=reasons)  # fmt: skip
    return data


def image_size(path: Path) -> tuple[int, int, int]:
    """``(width, height, depth)`` read from the image header (the pixels are not decoded)."""
    from PIL import Image

    with Image.open(path) as image:
        depth = len(image.getbands())
        return image.width, image.height, depth


def load_image(path: Path) -> Any:
    """The decoded image (a PIL image, fully loaded), or OSError/ValueError if unreadable."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return image.copy()


def save_images(
    images: np.ndarray,
    folder: str | os.PathLike[str],
    *,
    prefix: str = "image",
    scale: float | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``(n, h, w)`` or ``(n, h, w, c)`` arrays as PNG files plus ``input.manifest``.

    Pixel values are scaled to 0..255 (``scale`` defaults to ``255 / max``). ``extra``
    maps a key to a sequence of ``n`` values added to each manifest line. Returns the
    manifest path, ready for :class:`LabelingJob`.

    Example
    -------
    >>> images, labels = wb.datasets.load_images("digits")            # doctest: +SKIP
    >>> manifest = save_images(images, "digits-png")                  # doctest: +SKIP
    """
    from PIL import Image

    array = np.asarray(images)
    if array.ndim not in (3, 4) or len(array) == 0:
        raise ValidationError(
            "images", f"array of shape {array.shape}", "(n, h, w) or (n, h, w, c)"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    top = float(array.max()) or 1.0
    factor = scale if scale is not None else 255.0 / top
    pixels = np.clip(np.rint(array.astype(np.float64) * factor), 0, 255).astype(np.uint8)
    width = len(str(len(array) - 1))
    lines = []
    for i, image in enumerate(pixels):
        name = f"{prefix}-{i:0{width}d}.png"
        Image.fromarray(image).save(folder / name)
        line = {"source-ref": name}
        for key, values in (extra or {}).items():
            line[key] = _jsonable(values[i])
        lines.append(json.dumps(line))
    manifest = folder / "input.manifest"
    tmp = manifest.with_suffix(".manifest.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, manifest)
    return manifest
