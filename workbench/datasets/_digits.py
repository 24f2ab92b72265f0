"""Handwritten digits: the real 8x8 images bundled with scikit-learn (no download).

Source
------
The 1,797 images of scikit-learn's ``sklearn.datasets.load_digits()`` (the test part of
the UCI "Optical Recognition of Handwritten Digits" data): 8x8 pixels, each an integer
count 0..16 of ink in a 4x4 block of the original 32x32 bitmap, labels 0..9.

Sizes and the augmentation process
----------------------------------
* fewer rows than 1,797: a stratified random subset (every digit in proportion, at least
  one of each from 10 rows on), kept in the original order;
* exactly 1,797 (``"medium"``): all the images in scikit-learn's order (the seed is unused);
* more: all 1,797 originals first, then augmented copies of originals drawn uniformly at
  random: each copy is shifted by -1, 0 or +1 pixel in each direction (the uncovered edge
  becomes 0) and gets Gaussian noise (sigma 0.8) rounded to integers, clipped to 0..16.

The bundled file is read directly when it is where scikit-learn installs it (fast, no
import of scikit-learn); otherwise ``sklearn.datasets.load_digits`` is imported and used.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

N_REAL = 1_797
SIDE = 8
PIXELS = [f"pixel_{i}" for i in range(SIDE * SIDE)]

CARD = {
    "title": "Handwritten digits, 8x8 (real, from scikit-learn)",
    "task": "image classification",
    "problem_type": "multiclass_classification",
    "target": "label",
    "description": "Real 8x8 handwritten digits (sklearn); large sizes add shifted noisy copies.",
    "columns": {
        **{
            name: f"int64 0..16 - ink in row {i // SIDE}, column {i % SIDE}"
            for i, name in enumerate(PIXELS)
        },
        "label": "int64 0..9 - target: the digit drawn",
    },
    "generating_process": (
        "Real data: the 1,797 images bundled with scikit-learn (load_digits). Smaller sizes "
        "are a stratified random subset in the original order; 1,797 rows (medium) are all "
        "images in scikit-learn's order; larger sizes append augmented copies of randomly "
        "drawn originals: a random shift of -1/0/+1 pixel per axis (edge filled with 0) plus "
        "rounded Gaussian noise (sigma 0.8), clipped to 0..16."
    ),
    "sizes": {"small": 500, "medium": N_REAL, "large": 100_000},
    "sample_project": "Computer vision warm-up: image classification before object detection",
    "source": "real: scikit-learn load_digits (UCI Optical Recognition of Handwritten Digits)",
}


@functools.lru_cache(maxsize=1)
def _real() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 real images (uint8, read-only) and labels (int64), read once per process."""
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    files = [Path(root, "datasets", "data", "digits.csv.gz") for root in roots]
    if files and files[0].is_file():
        table = np.loadtxt(files[0], delimiter=",")
        pixels, labels = table[:, :-1], table[:, -1]
    else:  # layout changed: ask scikit-learn itself
        from sklearn.datasets import load_digits

        bunch = load_digits()
        pixels, labels = bunch.data, bunch.target
    images = pixels.reshape(-1, SIDE, SIDE).astype(np.uint8)
    images.setflags(write=False)
    return images, labels.astype(np.int64)


def _stratified(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` rows with every label in proportion, in increasing order."""
    order = rng.permutation(len(labels))
    by_label = order[np.argsort(labels[order], kind="stable")]
    counts = np.bincount(labels)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    rank = np.arange(len(labels)) - starts  # position within its label, random order
    key = (rank + rng.random(len(labels))) / counts[labels[by_label]]
    return np.sort(by_label[np.argsort(key, kind="stable")[:n]])


def _augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shift every image by up to one pixel per axis, add rounded noise, clip to 0..16."""
    m = len(images)
    padded = np.zeros((m, SIDE + 2, SIDE + 2), dtype=np.int16)
    padded[:, 1:-1, 1:-1] = images
    dy, dx = rng.integers(-1, 2, size=(2, m))
    rows = np.arange(SIDE)[None, :] + 1 - dy[:, None]
    cols = np.arange(SIDE)[None, :] + 1 - dx[:, None]
    shifted = padded[np.arange(m)[:, None, None], rows[:, :, None], cols[:, None, :]]
    noise = np.rint(rng.normal(0.0, 0.8, size=shifted.shape)).astype(np.int16)
    return np.clip(shifted + noise, 0, 16).astype(np.uint8)


def generate_images(n_rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n_rows`` images ``(n, 8, 8)`` uint8 and their labels ``(n,)`` int64."""
    images, labels = _real()
    if n_rows < N_REAL:
        index = _stratified(labels, n_rows, rng)
        return images[index], labels[index]
    if n_rows == N_REAL:
        return images.copy(), labels.copy()
    source = rng.integers(0, N_REAL, size=n_rows - N_REAL)
    extra = _augment(images[source], rng)
    return np.concatenate([images, extra]), np.concatenate([labels, labels[source]])


def generate(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_rows`` images as ``pixel_0`` .. ``pixel_63`` (row-major) and ``label`` last."""
    images, labels = generate_images(n_rows, rng)
    frame = pd.DataFrame(images.reshape(len(images), -1).astype(np.int64), columns=PIXELS)
    frame["label"] = labels
    return frame
