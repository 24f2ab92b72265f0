"""SageMaker's built-in Image Classification, on MXNet Gluon.

A residual network (ResNet) trained from scratch with SageMaker's hyperparameters
(``num_classes``, ``num_training_samples``, ``num_layers``, ``image_shape``, ``resize``,
``augmentation_type``, ``optimizer``, ``lr_scheduler_step``, ``top_k``, early stopping ...),
input formats and inference contract:

- training data (``application/x-image``, ``image/png``, ``image/jpeg``): a folder with one
  sub-folder per class (``cat/1.png``, ``dog/7.jpg``; classes are numbered in sorted order,
  or by their names when every name is a number), or SageMaker's "image" format: image files
  in ``train`` / ``validation`` plus ``train_lst`` / ``validation_lst`` channels holding a
  ``.lst`` file of ``index<TAB>label<TAB>relative/path`` lines. Workbench frames
  (``application/x-npy``, e.g. a DataFrame with a label column) hold one image per row:
  ``channels * height * width`` pixel values, channel-major;
- metrics, once per epoch, in MXNet's log format as SageMaker prints them:
  ``Epoch[3] Train-accuracy=0.91``, ``Epoch[3] Validation-accuracy=0.89`` (the tuning
  metric ``validation:accuracy``) and ``Epoch[3] Train-top_k_accuracy_5=0.99`` with ``top_k``;
- the model: ``image-classification-symbol.json`` and ``image-classification-NNNN.params``
  (MXNet's own formats, NNNN the epoch kept, as SageMaker's artifacts), ``model-shapes.json``
  and a JSON description (class names, pixel normalisation). No pickle;
- inference: one PNG/JPEG image per request; the JSON answer is SageMaker's bare list of
  class probabilities ``[0.01, 0.97, ...]``; JSON Lines gives ``{"prediction": [...]}``.

Where workbench deviates from SageMaker, and why:

- It trains on a CPU, so ``num_layers`` defaults to 20 (SageMaker: 152) and depths of the
  form 6n+2 other than SageMaker's (8, 14, 26, 38, ...) are accepted: CIFAR-style ResNets of
  three stages of widths 16, 32 and 64. SageMaker's ImageNet depths (18, 34, 50, 101, 152,
  200) build ImageNet ResNets (widths 64..512, bottlenecks from 50 layers); they are
  accepted but slow on a CPU. The default trains the 1,797 8x8 digits in well under a minute.
- ``use_pretrained_model=1`` is refused (workbench is offline: no pretrained weights), so is
  ``multi_label=1`` (not implemented). ``precision_dtype=float16`` trains in float32 on a
  CPU. ``kv_store`` and ``checkpoint_frequency`` are accepted and ignored: one machine, and
  the model kept is always the epoch with the best validation accuracy (SageMaker's default;
  ties go to the lower validation loss), or the last epoch without a validation channel.
- Images are brought to ``image_shape`` deterministically: with ``resize`` the shorter side
  is scaled to ``resize`` and the centre cropped; without it every image must already have
  the size of ``image_shape``. Augmentation then works on that crop: ``crop`` is a random
  crop after zero padding of an eighth of the side, plus a horizontal flip (as SageMaker's);
  ``crop_color`` adds a random hue rotation (up to 36 on OpenCV's 0-180 scale), saturation
  and lightness shifts (up to 50 of 255); ``crop_color_transform`` adds a random rotation
  (up to 10 degrees), shear (up to 0.1) and aspect-ratio change (up to 0.25).
- Pixels are standardised with the mean and standard deviation of the training pixels, per
  channel (stored with the model), instead of ImageNet's fixed RGB means.
- As in SageMaker, ``num_training_samples`` sets the iterations per epoch of the learning
  rate schedule (``lr_scheduler_step``); a mismatch with the data is a warning, not an error.
"""

from __future__ import annotations

import functools
import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.algorithms._base import NUMBER_REGEX, Algorithm
from workbench.algorithms._data import FRAME_CONTENT_TYPE, channel_files, parse_content_type
from workbench.algorithms._mxnet import device, import_mxnet
from workbench.algorithms._schema import Hyperparameter, HyperparameterSchema
from workbench.exceptions import ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.training._environment import TrainingEnvironment

__all__ = [
    "ImageClassification",
    "ImageClassificationModel",
    "IMAGE_CONTENT_TYPES",
    "save_image_folder",
]

IMAGE_CONTENT_TYPES = ("application/x-image", "image/png", "image/jpeg")
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
)
PREFIX = "image-classification"
SYMBOL_FILE = f"{PREFIX}-symbol.json"
SHAPES_FILE = "model-shapes.json"
META_FILE = f"{PREFIX}-model.json"
MODEL_FORMAT = "workbench-image-classification"
MODEL_FORMAT_VERSION = 1

IMAGENET_UNITS = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}
CIFAR_DEPTHS = tuple(d for d in range(8, 111, 6) if d not in IMAGENET_UNITS)
CIFAR_WIDTHS = (16, 32, 64)
_SEED = 0
_EVAL_BATCH = 256
_LOG = "[image-classification]"
_UNIT = {"low": 0.0, "high": 1.0}
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


def _h(name: str, kind: str, default: Any, doc: str, **options: Any) -> Hyperparameter:
    """A hyperparameter; only those SageMaker lets automatic model tuning change are tunable."""
    options.setdefault("tunable", False)
    return Hyperparameter(name, kind, default, doc, **options)


# fmt: off
SCHEMA = HyperparameterSchema((
    _h("num_classes", "int", None, "Number of output classes (labels 0..num_classes-1).",
       required=True, low=2),
    _h("num_training_samples", "int", None,
       "Number of training images; sets the iterations per epoch of lr_scheduler_step.",
       required=True, low=1),
    _h("num_layers", "int", 20,
       "ResNet depth: 6n+2 from 8 to 110 (CIFAR-style, fast) or 18, 34, 50, 101, 152, 200 "
       "(ImageNet-style, slow on a CPU). SageMaker's default is 152.", low=8),
    _h("image_shape", "str", "3,224,224",
       "Input shape 'channels,height,width' (channels 1 or 3); images are brought to it."),
    _h("resize", "int", None,
       "Scale the shorter side of every image to this many pixels, then crop the centre "
       "to image_shape. Unset: images must have image_shape's size.", low=1),
    _h("epochs", "int", 30, "Number of training epochs.", low=1),
    _h("learning_rate", "float", 0.1, "Initial learning rate.",
       low=0.0, high=1.0, low_open=True, tunable=True),
    _h("lr_scheduler_factor", "float", 0.1,
       "Factor multiplying the learning rate at each epoch of lr_scheduler_step.", **_UNIT),
    _h("lr_scheduler_step", "str", None,
       "Comma-separated epochs after which the learning rate is multiplied by "
       "lr_scheduler_factor, e.g. '10,20'."),
    _h("optimizer", "str", "sgd", "Optimiser.", choices=("sgd", "adam", "rmsprop", "nag"),
       tunable=True),
    _h("momentum", "float", 0.9, "Momentum of sgd and nag.", **_UNIT, tunable=True),
    _h("weight_decay", "float", 0.0001, "L2 weight decay of sgd and nag.", **_UNIT,
       tunable=True),
    _h("beta_1", "float", 0.9, "Adam's first-moment decay rate.", **_UNIT, tunable=True),
    _h("beta_2", "float", 0.999, "Adam's second-moment decay rate.", **_UNIT, tunable=True),
    _h("eps", "float", 1e-8, "Epsilon of adam and rmsprop.", **_UNIT, tunable=True),
    _h("gamma", "float", 0.9, "Decay of rmsprop's moving average of squared gradients.",
       **_UNIT, tunable=True),
    _h("mini_batch_size", "int", 32, "Images per mini-batch.", low=1, tunable=True),
    _h("augmentation_type", "str", None,
       "Training-set augmentation: crop (random crop and horizontal flip), crop_color "
       "(and hue, saturation, lightness), crop_color_transform (and rotation, shear, "
       "aspect ratio). Unset: none.",
       choices=("crop", "crop_color", "crop_color_transform")),
    _h("top_k", "int", None, "Also report top-k accuracy (k > 1).", low=2),
    _h("use_pretrained_model", "int", 0,
       "1 starts from pretrained weights: not available offline, so only 0.", low=0, high=1),
    _h("use_weighted_loss", "int", 0, "1 weighs the loss by inverse class frequency.",
       low=0, high=1),
    _h("multi_label", "int", 0, "1 for multi-label training: not implemented, so only 0.",
       low=0, high=1),
    _h("checkpoint_frequency", "int", None,
       "Accepted and ignored: the epoch with the best validation accuracy is kept.", low=1),
    _h("early_stopping", "bool", False,
       "Stop when validation accuracy stops improving (needs a validation channel)."),
    _h("early_stopping_min_epochs", "int", 10, "Epochs to run before early stopping may stop.",
       low=1),
    _h("early_stopping_patience", "int", 5,
       "Epochs without improvement before training stops.", low=1),
    _h("early_stopping_tolerance", "float", 0.0,
       "Relative improvement of validation accuracy below which it counts as none.", **_UNIT),
    _h("precision_dtype", "str", "float32", "float32, or float16 (float32 on a CPU).",
       choices=("float32", "float16")),
    _h("kv_store", "str", None, "Distributed training mode: accepted and ignored.",
       choices=("dist_sync", "dist_async")),
))
# fmt: on


# --- hyperparameters ---------------------------------------------------------------------


def parse_image_shape(value: str) -> tuple[int, int, int]:
    """``"3,224,224"`` -> ``(3, 224, 224)``, or a ValidationError naming ``image_shape``.

    Example
    -------
    >>> parse_image_shape("1, 8, 8")
    (1, 8, 8)
    """
    expected = (
        "'channels,height,width' with 1 or 3 channels and sides of 2 or more, e.g. '3,224,224'"
    )
    try:
        parts = tuple(int(p) for p in str(value).replace(" ", "").split(","))
    except ValueError:
        raise ValidationError("hyperparameters['image_shape']", value, expected) from None
    if len(parts) != 3 or parts[0] not in (1, 3) or min(parts[1:]) < 2:
        raise ValidationError("hyperparameters['image_shape']", value, expected)
    return parts  # type: ignore[return-value]


def _scheduler_epochs(hps: dict[str, Any]) -> list[int]:
    text = hps.get("lr_scheduler_step")
    if text is None or not str(text).strip():
        return []
    field = "hyperparameters['lr_scheduler_step']"
    expected = "comma-separated increasing epochs, e.g. '10,20'"
    try:
        epochs = [int(p) for p in str(text).replace(" ", "").split(",") if p]
    except ValueError:
        raise ValidationError(field, text, expected) from None
    if not epochs or min(epochs) < 1 or epochs != sorted(set(epochs)):
        raise ValidationError(field, text, expected)
    return epochs


class ImageClassification(Algorithm):
    """SageMaker's Image Classification: a ResNet trained from scratch with MXNet Gluon.

    Example
    -------
    >>> import workbench as wb
    >>> from workbench.training import TrainingInput
    >>> hps = {"num_classes": 10, "num_training_samples": 1437, "image_shape": "1,8,8"}
    >>> est = wb.Estimator(algorithm="image-classification", hyperparameters=hps)
    >>> train = TrainingInput("digits/train", content_type="application/x-image")
    >>> job = est.fit({"train": train})                                  # doctest: +SKIP
    """

    name = "image-classification"
    title = "Image Classification"
    description = "ResNet image classifier (MXNet), trained from scratch on image folders."
    hyperparameters = SCHEMA
    channels = ("train", "validation", "train_lst", "validation_lst")
    required_channels = ("train",)
    content_types = (*IMAGE_CONTENT_TYPES, FRAME_CONTENT_TYPE)
    engine = "mxnet"
    preload = ("numpy", "mxnet", "PIL.Image")

    # -- checks --------------------------------------------------------------------------
    def check_hyperparameters(self, hps: dict[str, Any]) -> None:
        parse_image_shape(hps["image_shape"])
        _scheduler_epochs(hps)
        depth = hps["num_layers"]
        if depth not in IMAGENET_UNITS and depth not in CIFAR_DEPTHS:
            raise ValidationError(
                "hyperparameters['num_layers']",
                depth,
                "6n+2 from 8 to 110 (8, 14, 20, 26, 32, 44, 56, ..., 110) or one of "
                "18, 34, 50, 101, 152, 200",
            )
        if hps["use_pretrained_model"] == 1:
            raise ValidationError(
                "hyperparameters['use_pretrained_model']",
                1,
                "0: workbench is offline and has no pretrained weights to download",
                hint="Train from scratch (a small ResNet learns small images in minutes).",
            )
        if hps["multi_label"] == 1:
            raise ValidationError(
                "hyperparameters['multi_label']", 1, "0 (multi-label training is not implemented)"
            )
        if hps.get("top_k") is not None and hps["top_k"] > hps["num_classes"]:
            raise ValidationError(
                "hyperparameters['top_k']",
                hps["top_k"],
                f"at most num_classes ({hps['num_classes']})",
            )
        frequency = hps.get("checkpoint_frequency")
        if frequency is not None and frequency > hps["epochs"]:
            raise ValidationError(
                "hyperparameters['checkpoint_frequency']",
                frequency,
                f"at most epochs ({hps['epochs']})",
            )

    def check_inputs(self, hps: dict[str, Any], channels: list[str]) -> None:
        self.check_channels(channels)
        if "validation_lst" in channels and "validation" not in channels:
            raise ValidationError(
                "inputs", channels, "a 'validation' channel with the images 'validation_lst' lists"
            )
        if hps.get("early_stopping") and "validation" not in channels:
            raise ValidationError(
                "inputs",
                channels,
                "a 'validation' channel: early_stopping watches validation accuracy",
            )

    def check_labels(self, y: np.ndarray, hps: dict[str, Any], channel: str) -> None:
        _check_labels(np.asarray(y, dtype=np.float64), hps["num_classes"], channel)

    def check_data(self, hps: dict[str, Any], channels: list[Any]) -> None:
        """Check image headers (not pixels), labels and sizes in the kernel, before a job."""
        by_name = {c.name: c for c in channels}
        shape = parse_image_shape(hps["image_shape"])
        class_names: list[str] | None = None
        for name in ("train", "validation"):
            chan = by_name.get(name)
            if chan is None:
                continue
            field = f"inputs[{name!r}]"
            if chan.matrix is not None:
                _check_frame_width(chan.matrix.shape[1] - 1, shape, field)
                labels = chan.matrix[:, 0]
            else:
                if chan.source is None or not chan.source.is_dir():
                    raise ValidationError(field, str(chan.source), "a folder of images")
                lst = by_name.get(f"{name}_lst")
                if lst is not None:
                    lst_files = _lst_files(lst.files, None)
                else:
                    lst_files = _lst_files(chan.files, chan.source)
                listing = list_images(chan.source, chan.files, lst_files, name, class_names)
                _check_sizes(listing, hps, shape, name)
                labels = listing.labels
                if name == "train":
                    class_names = listing.class_names
            _check_labels(labels, hps["num_classes"], name)
            if name == "train":
                message = _sample_count_warning(len(labels), hps["num_training_samples"])
                if message:
                    warnings.warn(message, UserWarning, stacklevel=2)

    # -- contract --------------------------------------------------------------------------
    def problem_type(self, hps: dict[str, Any]) -> str:
        return "binary_classification" if hps["num_classes"] == 2 else "multiclass_classification"

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        """SageMaker's metric names; values from MXNet's ``Epoch[n] Train-accuracy=`` lines."""
        out = []
        for channel, word in (("train", "Train"), ("validation", "Validation")):
            out.append({"Name": f"{channel}:accuracy", "Regex": _epoch_regex(word, "accuracy")})
            if hps.get("top_k"):
                metric = f"top_k_accuracy_{hps['top_k']}"
                out.append({"Name": f"{channel}:{metric}", "Regex": _epoch_regex(word, metric)})
        return out

    def train(self, env: TrainingEnvironment, hps: dict[str, Any]) -> None:
        self.check_inputs(hps, env.channels)
        shape = parse_image_shape(hps["image_shape"])
        data = _read_channels(env, hps, shape)
        train = data["train"]
        message = _sample_count_warning(len(train.labels), hps["num_training_samples"])
        if message:
            print(f"{_LOG} warning: {message}", flush=True)
        _Trainer(hps, shape, train, data.get("validation")).run(env.model_dir)

    def load(self, model_dir: Path) -> ImageClassificationModel:
        return ImageClassificationModel.load(Path(model_dir))


def _epoch_regex(word: str, metric: str) -> str:
    return rf"Epoch\[\d+\] {word}-{metric}={NUMBER_REGEX}"


def _check_labels(y: np.ndarray, num_classes: int, channel: str) -> None:
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0:
        raise ValidationError(f"channel {channel!r}", "no images", "at least one labelled image")
    bad = ~np.isfinite(y) | (y != np.round(y)) | (y < 0)
    if bad.any():
        raise ValidationError(
            f"channel {channel!r} labels",
            sorted(set(y[bad].tolist()))[:5],
            "class indices 0, 1, ...",
        )
    top = int(y.max())
    if top >= num_classes:
        raise ValidationError(
            "hyperparameters['num_classes']",
            num_classes,
            f"more than the largest label {top} of channel {channel!r} (labels 0..num_classes-1)",
        )


def _sample_count_warning(n: int, declared: int) -> str | None:
    if n == declared:
        return None
    return (
        f"num_training_samples is {declared} but the train channel has {n} images; as in "
        "SageMaker, lr_scheduler_step then falls on other epochs than intended"
    )


def _check_frame_width(width: int, shape: tuple[int, int, int], field: str) -> None:
    c, h, w = shape
    if width != c * h * w:
        raise ValidationError(
            "hyperparameters['image_shape']",
            ",".join(map(str, shape)),
            f"a shape whose channels*height*width is the {width} pixel columns of {field}",
        )


# --- listing images -----------------------------------------------------------------------


@dataclass
class ImageListing:
    """Image files of one channel with their labels (and class names for folder layouts)."""

    paths: list[Path]
    labels: np.ndarray
    class_names: list[str] | None
    shown: list[str]  # paths relative to the channel folder, for messages


def _lst_files(files: list[Path], root: Path | None) -> list[Path]:
    """The ``.lst`` files of a ``*_lst`` channel, or those at the top of an image folder."""
    lst = [f for f in files if f.suffix.lower() == ".lst"]
    if root is not None:
        lst = [f for f in lst if f.parent == root]
    return lst


def list_images(
    root: Path,
    files: list[Path],
    lst_files: list[Path],
    channel: str,
    class_names: list[str] | None = None,
) -> ImageListing:
    """The images of a channel: from ``.lst`` files if any, else from class sub-folders.

    ``class_names`` (from the train channel) numbers the class folders of a validation
    channel the same way.
    """
    if lst_files:
        return _list_from_lst(root, lst_files, channel)
    return _list_from_folders(root, files, channel, class_names)


def _list_from_lst(root: Path, lst_files: list[Path], channel: str) -> ImageListing:
    paths, labels, shown = [], [], []
    for lst in lst_files:
        for number, line in enumerate(lst.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"channel {channel!r} file {lst.name} line {number}"
            fields = [f.strip() for f in line.split("\t")]
            if len(fields) == 1:
                fields = line.split()
            if len(fields) != 3:
                raise ValidationError(
                    where,
                    line[:120],
                    "index<TAB>label<TAB>relative/path (one label: multi_label is not supported)",
                )
            try:
                label = float(fields[1])
            except ValueError:
                raise ValidationError(where, fields[1], "a numeric class label") from None
            path = root / fields[2]
            if not path.is_file():
                raise ValidationError(where, fields[2], f"an image file under {root}")
            paths.append(path)
            labels.append(label)
            shown.append(fields[2])
    if not paths:
        raise ValidationError(
            f"channel {channel!r}", [f.name for f in lst_files], "a non-empty .lst file"
        )
    return ImageListing(paths, np.asarray(labels, dtype=np.float64), None, shown)


def _list_from_folders(
    root: Path, files: list[Path], channel: str, class_names: list[str] | None
) -> ImageListing:
    images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    loose = [f for f in images if len(f.relative_to(root).parts) < 2]
    if loose or not images:
        raise ValidationError(
            f"channel {channel!r}",
            str(loose[0].relative_to(root)) if loose else str(root),
            "one sub-folder per class holding its images (PNG or JPEG), or a .lst file",
            hint="save_image_folder(images, labels, path) writes this layout from arrays.",
        )
    folders = sorted({f.relative_to(root).parts[0] for f in images})
    names, index = _class_index(folders, class_names, channel)
    labels = np.asarray([index[f.relative_to(root).parts[0]] for f in images], dtype=np.float64)
    shown = [str(f.relative_to(root)) for f in images]
    return ImageListing(images, labels, names, shown)


def _class_index(
    folders: list[str], class_names: list[str] | None, channel: str
) -> tuple[list[str] | None, dict[str, int]]:
    """Numbered folders keep their numbers; named ones are numbered in sorted order."""
    if class_names is None and all(f.isdigit() for f in folders):
        return None, {f: int(f) for f in folders}
    if class_names is None:
        return folders, {f: i for i, f in enumerate(folders)}
    unknown = [f for f in folders if f not in class_names]
    if unknown:
        raise ValidationError(
            f"channel {channel!r} class folders",
            unknown[:10],
            f"classes of the train channel: {', '.join(class_names[:30])}",
        )
    return class_names, {f: class_names.index(f) for f in folders}


def _open_image(path: Path, shown: str, channel: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValidationError(
            f"channel {channel!r} file {shown}", str(path), f"an image Pillow can read ({exc})"
        ) from None


def _check_sizes(
    listing: ImageListing, hps: dict[str, Any], shape: tuple[int, int, int], channel: str
) -> None:
    """Read the image headers only: every file is an image of a usable size."""
    sizes: dict[tuple[int, int], str] = {}
    gray = True
    for path, shown in zip(listing.paths, listing.shown):
        with _open_image(path, shown, channel) as image:
            sizes.setdefault(image.size, shown)
            gray = gray and image.mode in _GRAY_MODES
    _check_size_set(sizes, hps.get("resize"), shape, gray)


def _check_size_set(
    sizes: dict[tuple[int, int], str],
    resize: int | None,
    shape: tuple[int, int, int],
    gray: bool = False,
) -> None:
    _, h, w = shape
    if resize is None:
        if len(sizes) > 1:
            listed = ", ".join(f"{a}x{b} ({name})" for (a, b), name in list(sizes.items())[:4])
            raise ValidationError(
                "hyperparameters['resize']",
                None,
                f"a size to resize the images to: they have different sizes (width x height: {listed})",
                hint=f"Set resize (e.g. {max(h, w)}) so every image is scaled, then cropped to "
                f"image_shape's {h}x{w}.",
            )
        (width, height), name = next(iter(sizes.items()))
        if (height, width) != (h, w):
            raise ValidationError(
                "hyperparameters['image_shape']",
                ",".join(map(str, shape)),
                f"the size of the images, '{1 if gray else 3},{height},{width}' "
                f"({name} is {width}x{height} pixels)",
                hint="Or set resize to scale the images before they are cropped to image_shape.",
            )
        return
    for (width, height), name in sizes.items():
        new_w, new_h = _resized_size(width, height, resize)
        if new_w < w or new_h < h:
            raise ValidationError(
                "hyperparameters['resize']",
                resize,
                f"at least {max(h, w)}: {name} ({width}x{height}) resized to {new_w}x{new_h} "
                f"is smaller than image_shape's {w}x{h}",
            )


def _resized_size(width: int, height: int, resize: int) -> tuple[int, int]:
    scale = resize / min(width, height)
    return max(resize, round(width * scale)), max(resize, round(height * scale))


# --- reading pixels -----------------------------------------------------------------------


@dataclass
class _Images:
    """One channel in memory: pixels ``(n, c, h, w)``, integer labels, class names."""

    pixels: np.ndarray
    labels: np.ndarray
    class_names: list[str] | None
    source: str  # "images" (0..255 pixels) or "frames"

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels)


def _read_channels(
    env: TrainingEnvironment, hps: dict[str, Any], shape: tuple[int, int, int]
) -> dict[str, _Images]:
    out: dict[str, _Images] = {}
    class_names = None
    for name in ("train", "validation"):
        if name not in env.channels:
            continue
        base, _ = parse_content_type(env.content_type(name))
        folder = env.channel_dir(name)
        if base == FRAME_CONTENT_TYPE:
            out[name] = _read_frames(folder, env.content_type(name), name, shape)
            _check_labels(out[name].labels, hps["num_classes"], name)
            continue
        if base and base not in IMAGE_CONTENT_TYPES:
            raise ValidationError(
                f"channel {name!r} ContentType",
                env.content_type(name),
                f"one of {', '.join(IMAGE_CONTENT_TYPES)}, {FRAME_CONTENT_TYPE}",
            )
        lst_name = f"{name}_lst"
        if lst_name in env.channels:
            lst = _lst_files(channel_files(env.channel_dir(lst_name)), None)
            if not lst:
                raise ValidationError(
                    f"channel {lst_name!r}", str(env.channel_dir(lst_name)), "a .lst file"
                )
        else:
            lst = _lst_files(channel_files(folder), folder)
        listing = list_images(folder, channel_files(folder), lst, name, class_names)
        _check_labels(listing.labels, hps["num_classes"], name)
        pixels = _load_pixels(listing, hps.get("resize"), shape, name)
        out[name] = _Images(pixels, listing.labels.astype(np.int64), listing.class_names, "images")
        if name == "train":
            class_names = listing.class_names
    return out


def _read_frames(
    folder: Path, content_type: str, channel: str, shape: tuple[int, int, int]
) -> _Images:
    from workbench.algorithms._data import read_channel

    data = read_channel(folder, content_type, channel=channel)
    _check_frame_width(data.X.shape[1], shape, f"channel {channel!r}")
    if not np.all(np.isfinite(data.X)):
        raise ValidationError(
            f"channel {channel!r} pixels", "missing values", "finite pixel values"
        )
    pixels = data.X.astype(np.float32).reshape(-1, *shape)
    return _Images(pixels, data.y, None, "frames")


def _load_pixels(
    listing: ImageListing, resize: int | None, shape: tuple[int, int, int], channel: str
) -> np.ndarray:
    sizes: dict[tuple[int, int], str] = {}
    out = np.empty((len(listing.paths), *shape), dtype=np.uint8)
    for i, (path, shown) in enumerate(zip(listing.paths, listing.shown)):
        with _open_image(path, shown, channel) as image:
            if image.size not in sizes:
                sizes[image.size] = shown
                _check_size_set(sizes, resize, shape)
            try:
                out[i] = _image_to_array(image, shape, resize)
            except OSError as exc:  # truncated or corrupt pixel data
                raise ValidationError(
                    f"channel {channel!r} file {shown}", str(path), f"a readable image ({exc})"
                ) from None
    return out


def _image_to_array(image: Any, shape: tuple[int, int, int], resize: int | None) -> np.ndarray:
    """A PIL image as ``(c, h, w)`` uint8: converted, resized and centre-cropped as configured."""
    from PIL import Image

    c, h, w = shape
    image = image.convert("L" if c == 1 else "RGB")
    if resize is not None:
        image = image.resize(_resized_size(*image.size, resize), Image.BILINEAR)
        width, height = image.size
        if width >= w and height >= h:
            left, top = (width - w) // 2, (height - h) // 2
            image = image.crop((left, top, left + w, top + h))
    if image.size != (w, h):  # only at inference: training checked the sizes first
        image = image.resize((w, h), Image.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if c == 1 else array.transpose(2, 0, 1)


# --- the network --------------------------------------------------------------------------


def build_network(num_layers: int, num_classes: int, height: int, width: int) -> Any:
    """A Gluon ResNet (v1): CIFAR-style for depths 6n+2, ImageNet-style for 18, 34, 50, ...

    The stem keeps small images whole (3x3, stride 1) and shrinks images larger than 32
    pixels a side by four (stride-2 convolution and max pooling), as MXNet's ResNets do.
    """
    from mxnet.gluon import nn

    net = nn.HybridSequential(prefix="")
    with net.name_scope():
        imagenet = num_layers in IMAGENET_UNITS
        if imagenet:
            units = IMAGENET_UNITS[num_layers]
            bottleneck = num_layers >= 50
            widths = (256, 512, 1024, 2048) if bottleneck else (64, 128, 256, 512)
            stem = 64
        else:
            units = ((num_layers - 2) // 6,) * 3
            bottleneck = False
            widths = CIFAR_WIDTHS
            stem = CIFAR_WIDTHS[0]
        large = min(height, width) > 32
        kernel = 7 if large and imagenet else 3
        net.add(nn.Conv2D(stem, kernel, 2 if large else 1, kernel // 2, use_bias=False))
        net.add(nn.BatchNorm(), nn.Activation("relu"))
        if large:
            net.add(nn.MaxPool2D(3, 2, 1))
        channels = stem
        for stage, (count, out) in enumerate(zip(units, widths)):
            for unit in range(count):
                stride = 2 if stage > 0 and unit == 0 else 1
                net.add(_residual(out, stride, channels != out or stride != 1, bottleneck))
                channels = out
        net.add(nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dense(num_classes))
    return net


@functools.lru_cache(maxsize=1)
def _residual_class() -> Any:
    from mxnet.gluon import nn

    class Residual(nn.HybridBlock):
        """A basic (two 3x3) or bottleneck (1x1, 3x3, 1x1) residual unit."""

        def __init__(self, channels: int, stride: int, project: bool, bottleneck: bool) -> None:
            super().__init__()
            with self.name_scope():
                self.body = nn.HybridSequential(prefix="")
                if bottleneck:
                    mid = channels // 4
                    self.body.add(
                        nn.Conv2D(mid, 1, 1, use_bias=False), nn.BatchNorm(), nn.Activation("relu"),
                        nn.Conv2D(mid, 3, stride, 1, use_bias=False), nn.BatchNorm(),
                        nn.Activation("relu"), nn.Conv2D(channels, 1, 1, use_bias=False),
                        nn.BatchNorm(),
                    )  # fmt: skip
                else:
                    self.body.add(
                        nn.Conv2D(channels, 3, stride, 1, use_bias=False), nn.BatchNorm(),
                        nn.Activation("relu"), nn.Conv2D(channels, 3, 1, 1, use_bias=False),
                        nn.BatchNorm(),
                    )  # fmt: skip
                self.shortcut = None
                if project:
                    self.shortcut = nn.HybridSequential(prefix="")
                    self.shortcut.add(
                        nn.Conv2D(channels, 1, stride, use_bias=False), nn.BatchNorm()
                    )

        def hybrid_forward(self, F: Any, x: Any) -> Any:
            skip = x if self.shortcut is None else self.shortcut(x)
            return F.Activation(self.body(x) + skip, act_type="relu")

    return Residual


def _residual(channels: int, stride: int, project: bool, bottleneck: bool) -> Any:
    return _residual_class()(channels, stride, project, bottleneck)


# --- augmentation -------------------------------------------------------------------------


class _Augmenter:
    """SageMaker's augmentation types on a batch of ``(b, c, h, w)`` float pixels."""

    def __init__(self, kind: str | None, pixel_max: float, rng: np.random.Generator) -> None:
        self.kind = kind
        self.pixel_max = pixel_max
        self.rng = rng

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.kind is None:
            return x
        if self.kind == "crop_color_transform":
            x = self._affine(x)
        x = self._crop_flip(x)
        if self.kind in ("crop_color", "crop_color_transform"):
            x = self._color(x)
        return x

    def _crop_flip(self, x: np.ndarray) -> np.ndarray:
        b, c, h, w = x.shape
        pad = max(1, round(min(h, w) / 8))
        padded = np.zeros((b, c, h + 2 * pad, w + 2 * pad), dtype=x.dtype)
        padded[:, :, pad : pad + h, pad : pad + w] = x
        dy = self.rng.integers(0, 2 * pad + 1, size=b)
        dx = self.rng.integers(0, 2 * pad + 1, size=b)
        rows = (dy[:, None] + np.arange(h))[:, None, :, None]
        cols = (dx[:, None] + np.arange(w))[:, None, None, :]
        out = padded[
            np.arange(b)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols
        ]
        flip = self.rng.random(b) < 0.5
        out[flip] = out[flip][..., ::-1]
        return out

    def _color(self, x: np.ndarray) -> np.ndarray:
        b, c = x.shape[:2]
        scale = self.pixel_max / 255.0
        lightness = self.rng.uniform(-50, 50, size=(b, 1, 1, 1)) * scale
        if c == 3:
            angle = np.deg2rad(self.rng.uniform(-36, 36, size=b) * 2)  # OpenCV hue: 0..180
            x = _rotate_hue(x, angle)
            gray = x.mean(axis=1, keepdims=True)
            saturation = 1.0 + self.rng.uniform(-50, 50, size=(b, 1, 1, 1)) / 255.0
            x = gray + (x - gray) * saturation
        return np.clip(x + lightness, 0.0, self.pixel_max).astype(np.float32)

    def _affine(self, x: np.ndarray) -> np.ndarray:
        mx = import_mxnet()

        b, _, h, w = x.shape
        angle = np.deg2rad(self.rng.uniform(-10, 10, size=b))
        shear = self.rng.uniform(-0.1, 0.1, size=b)
        aspect = np.sqrt(self.rng.uniform(0.75, 1.25, size=b))
        cos, sin = np.cos(angle), np.sin(angle)
        # output pixel -> input pixel (centred coordinates), then to [-1, 1] coordinates
        a = np.stack([cos, -sin + shear * cos, sin, cos + shear * sin], axis=1).reshape(b, 2, 2)
        a = a * np.stack([1 / aspect, aspect], axis=1)[:, None, :]
        to_pixels = np.array([w / 2.0, h / 2.0])
        a = a * to_pixels[None, None, :] / to_pixels[None, :, None]
        theta = np.concatenate([a, np.zeros((b, 2, 1))], axis=2).reshape(b, 6)
        grid = mx.nd.GridGenerator(mx.nd.array(theta), transform_type="affine", target_shape=(h, w))
        return mx.nd.BilinearSampler(mx.nd.array(x), grid).asnumpy()


def _rotate_hue(x: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate the hue of RGB pixels by ``angle`` (radians per image) in YIQ space."""
    to_yiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    from_yiq = np.linalg.inv(to_yiq)
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.zeros((len(angle), 3, 3))
    rotation[:, 0, 0] = 1.0
    rotation[:, 1, 1], rotation[:, 1, 2] = cos, -sin
    rotation[:, 2, 1], rotation[:, 2, 2] = sin, cos
    matrix = from_yiq @ rotation @ to_yiq  # (b, 3, 3)
    return np.einsum("bij,bjhw->bihw", matrix, x).astype(np.float32)


# --- training -----------------------------------------------------------------------------


class _Trainer:
    """One training run: the epoch loop, metrics, early stopping and the model kept."""

    def __init__(
        self,
        hps: dict[str, Any],
        shape: tuple[int, int, int],
        train: _Images,
        validation: _Images | None,
    ) -> None:
        mx = import_mxnet()

        self.hps = hps
        self.shape = shape
        for data in (train, validation):
            if data is not None:
                data.labels = data.labels.astype(np.int64)
        self.train = train
        self.validation = validation
        self.k = hps["num_classes"]
        self.top_k = hps.get("top_k")
        self.ctx = device(mx)
        mx.random.seed(_SEED)
        self.rng = np.random.default_rng(_SEED)
        pixels = train.pixels.astype(np.float32)
        self.mean = pixels.mean(axis=(0, 2, 3))
        self.std = np.maximum(pixels.std(axis=(0, 2, 3)), 1e-6)
        self.pixel_max = 255.0 if train.source == "images" else float(max(pixels.max(), 1e-6))
        self.augment = _Augmenter(hps.get("augmentation_type"), self.pixel_max, self.rng)
        if hps["precision_dtype"] == "float16" and self.ctx == mx.cpu():
            print(f"{_LOG} precision_dtype float16 needs a GPU; training in float32", flush=True)

    def run(self, model_dir: Path) -> None:
        net = self._network()
        trainer = self._optimizer(net)
        loss_fn = self._loss()
        best: dict[str, Any] | None = None
        stopper = _EarlyStopping(self.hps) if self.hps["early_stopping"] else None
        epochs = self.hps["epochs"]
        for epoch in range(epochs):
            started = time.time()
            train_acc, train_topk = self._epoch(net, trainer, loss_fn, epoch)
            self._print(epoch, "Train", train_acc, train_topk)
            print(f"Epoch[{epoch}] Time cost={time.time() - started:.3f}", flush=True)
            if self.validation is None:
                best = {"epoch": epoch, "params": None}
                continue
            acc, topk, loss = self.evaluate(net, self.validation)
            self._print(epoch, "Validation", acc, topk)
            if best is None or (acc, -loss) > (best["accuracy"], -best["loss"]):
                best = {"epoch": epoch, "accuracy": acc, "loss": loss, "params": _snapshot(net)}
            if stopper is not None and stopper.stop(epoch, acc):
                print(
                    f"{_LOG} early stopping after epoch {epoch}: validation accuracy has not "
                    f"improved for {stopper.stale} epochs",
                    flush=True,
                )
                break
        assert best is not None
        if best["params"] is not None:
            _restore(net, best["params"])
            print(
                f"{_LOG} keeping epoch {best['epoch']}: validation accuracy {best['accuracy']:.6f}",
                flush=True,
            )
        self._save(net, model_dir, best["epoch"], epoch + 1)

    def _network(self) -> Any:
        mx = import_mxnet()

        c, h, w = self.shape
        net = build_network(self.hps["num_layers"], self.k, h, w)
        net.initialize(
            mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2), ctx=self.ctx
        )
        net.hybridize(static_alloc=True)
        return net

    def _optimizer(self, net: Any) -> Any:
        from mxnet import gluon, lr_scheduler

        hps = self.hps
        name = hps["optimizer"]
        params: dict[str, Any] = {"learning_rate": hps["learning_rate"]}
        if name in ("sgd", "nag"):
            params.update(momentum=hps["momentum"], wd=hps["weight_decay"])
        elif name == "adam":
            params.update(beta1=hps["beta_1"], beta2=hps["beta_2"], epsilon=hps["eps"])
        else:
            params.update(gamma1=hps["gamma"], epsilon=hps["eps"])
        steps = _scheduler_epochs(hps)
        if steps:
            per_epoch = max(1, math.ceil(hps["num_training_samples"] / hps["mini_batch_size"]))
            params["lr_scheduler"] = lr_scheduler.MultiFactorScheduler(
                step=[e * per_epoch for e in steps],
                factor=hps["lr_scheduler_factor"],
                base_lr=hps["learning_rate"],
            )
        return gluon.Trainer(net.collect_params(), name, params)

    def _loss(self) -> Any:
        from mxnet import gluon

        return gluon.loss.SoftmaxCrossEntropyLoss()

    def _class_weights(self) -> np.ndarray:
        counts = np.bincount(self.train.labels, minlength=self.k).astype(np.float64)
        weights = np.where(counts > 0, counts.sum() / (self.k * np.maximum(counts, 1)), 0.0)
        return weights.astype(np.float32)

    def _epoch(
        self, net: Any, trainer: Any, loss_fn: Any, epoch: int
    ) -> tuple[float, float | None]:
        from mxnet import autograd, nd

        n = len(self.train.labels)
        batch = self.hps["mini_batch_size"]
        order = self.rng.permutation(n)
        weights = self._class_weights() if self.hps["use_weighted_loss"] else None
        correct = nd.zeros(1, ctx=self.ctx)
        in_top = nd.zeros(1, ctx=self.ctx)
        seen = 0
        for start in range(0, n, batch):
            rows = order[start : start + batch]
            if len(rows) == 1 and n > 1:  # BatchNorm needs two images; this one comes next epoch
                continue
            x = self._normalise(self.augment(self.train.pixels[rows].astype(np.float32)))
            labels = self.train.labels[rows]
            data = nd.array(x, ctx=self.ctx)
            y = nd.array(labels, ctx=self.ctx)
            with autograd.record():
                out = net(data)
                if weights is None:
                    loss = loss_fn(out, y)
                else:
                    loss = loss_fn(out, y, nd.array(weights[labels], ctx=self.ctx).reshape((-1, 1)))
            loss.backward()
            trainer.step(len(rows))
            correct += (out.argmax(axis=1) == y).sum()
            if self.top_k:
                in_top += _in_top_k(out, y, self.top_k)
            seen += len(rows)
        seen = max(seen, 1)
        topk = float(in_top.asscalar()) / seen if self.top_k else None
        return float(correct.asscalar()) / seen, topk

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean[None, :, None, None]) / self.std[None, :, None, None]).astype(
            np.float32
        )

    def evaluate(self, net: Any, data: _Images) -> tuple[float, float | None, float]:
        """Accuracy, top-k accuracy and mean cross-entropy of ``net`` on ``data``."""
        probs = _predict_probabilities(
            net, data.pixels, self.mean, self.std, self.ctx, softmax=True
        )
        labels = data.labels
        accuracy = float(np.mean(np.argmax(probs, axis=1) == labels))
        topk = None
        if self.top_k:
            rank = (probs > probs[np.arange(len(labels)), labels][:, None]).sum(axis=1)
            topk = float(np.mean(rank < self.top_k))
        loss = float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels], 1e-12))))
        return accuracy, topk, loss

    def _print(self, epoch: int, word: str, accuracy: float, topk: float | None) -> None:
        print(f"Epoch[{epoch}] {word}-accuracy={accuracy:.6f}", flush=True)
        if topk is not None:
            print(f"Epoch[{epoch}] {word}-top_k_accuracy_{self.top_k}={topk:.6f}", flush=True)

    def _save(self, net: Any, model_dir: Path, best_epoch: int, epochs_trained: int) -> None:
        mx = import_mxnet()
        from mxnet.gluon import nn

        model_dir.mkdir(parents=True, exist_ok=True)
        wrapped = nn.HybridSequential(prefix="")
        wrapped.add(net, _softmax_block())
        wrapped.hybridize()
        c, h, w = self.shape
        wrapped(mx.nd.zeros((1, c, h, w), ctx=self.ctx))
        wrapped.export(str(model_dir / PREFIX), epoch=best_epoch + 1)
        shapes = [{"shape": [self.hps["mini_batch_size"], c, h, w], "name": "data"}]
        (model_dir / SHAPES_FILE).write_text(json.dumps(shapes))
        meta = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "algorithm": ImageClassification.name,
            "problem_type": ImageClassification().problem_type(self.hps),
            "num_classes": self.k,
            "class_names": self.train.class_names,
            "image_shape": list(self.shape),
            "resize": self.hps.get("resize"),
            "num_layers": self.hps["num_layers"],
            "top_k": self.top_k,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "pixel_source": self.train.source,
            "params_file": f"{PREFIX}-{best_epoch + 1:04d}.params",
            "best_epoch": best_epoch,
            "epochs_trained": epochs_trained,
            "hyperparameters": {k: v for k, v in self.hps.items() if not k.startswith("_")},
        }
        (model_dir / META_FILE).write_text(json.dumps(meta, indent=2))


class _EarlyStopping:
    """SageMaker's rule: stop after ``patience`` epochs without a relative improvement of
    validation accuracy above ``tolerance``, once ``min_epochs`` epochs have run."""

    def __init__(self, hps: dict[str, Any]) -> None:
        self.min_epochs = hps["early_stopping_min_epochs"]
        self.patience = hps["early_stopping_patience"]
        self.tolerance = hps["early_stopping_tolerance"]
        self.best: float | None = None
        self.stale = 0

    def stop(self, epoch: int, accuracy: float) -> bool:
        if self.best is None or accuracy - self.best > self.tolerance * max(self.best, 1e-12):
            self.best, self.stale = accuracy, 0
        else:
            self.stale += 1
        return epoch + 1 >= self.min_epochs and self.stale >= self.patience


def _softmax_block() -> Any:
    from mxnet.gluon import nn

    class Softmax(nn.HybridBlock):
        def hybrid_forward(self, F: Any, x: Any) -> Any:
            return F.softmax(x, axis=1)

    return Softmax(prefix="softmax_")


def _in_top_k(out: Any, y: Any, k: int) -> Any:
    true_score = out.pick(y, axis=1).reshape((-1, 1))
    rank = (out > true_score).sum(axis=1)
    return (rank < k).sum()


def _snapshot(net: Any) -> dict[str, Any]:
    return {name: p.data().copy() for name, p in net.collect_params().items()}


def _restore(net: Any, params: dict[str, Any]) -> None:
    for name, p in net.collect_params().items():
        p.set_data(params[name])


def _predict_probabilities(
    net: Any,
    pixels: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    ctx: Any,
    *,
    softmax: bool,
) -> np.ndarray:
    from mxnet import nd

    out = []
    for start in range(0, len(pixels), _EVAL_BATCH):
        x = pixels[start : start + _EVAL_BATCH].astype(np.float32)
        x = (x - mean[None, :, None, None]) / std[None, :, None, None]
        scores = net(nd.array(x, ctx=ctx))
        out.append((nd.softmax(scores, axis=1) if softmax else scores).asnumpy())
    if not out:
        return np.zeros((0, 0))
    return np.concatenate(out).astype(np.float64)


# --- the trained model --------------------------------------------------------------------


class ImageClassificationModel:
    """A trained image classifier with SageMaker's inference contract.

    Example
    -------
    >>> model = ImageClassification().load(model_dir)                     # doctest: +SKIP
    >>> model.predict_frame(["digits/test/3/00012.png"])                   # doctest: +SKIP
       predicted_label  probability
    0                3       0.9981
    """

    #: SageMaker answers one image with a bare JSON list of probabilities.
    response_envelope = None
    request_content_types = IMAGE_CONTENT_TYPES
    #: Requests are images, not feature rows: ``Model.predict`` hands inputs to ``predict_frame``.
    tabular = False

    def __init__(self, net: Any, meta: dict[str, Any], ctx: Any) -> None:
        self.net = net
        self.meta = meta
        self.ctx = ctx
        self.problem_type: str = meta["problem_type"]
        self.feature_names: list[str] | None = None
        self.num_classes: int = meta["num_classes"]
        self.class_names: list[str] | None = meta.get("class_names")
        self.image_shape: tuple[int, int, int] = tuple(meta["image_shape"])  # type: ignore[assignment]
        self.resize: int | None = meta.get("resize")
        self.top_k: int | None = meta.get("top_k")
        self.mean = np.asarray(meta["mean"], dtype=np.float32)
        self.std = np.asarray(meta["std"], dtype=np.float32)

    @classmethod
    def load(cls, model_dir: Path) -> ImageClassificationModel:
        mx = import_mxnet()
        from mxnet import gluon

        meta = json.loads((model_dir / META_FILE).read_text())
        ctx = device(mx)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = gluon.SymbolBlock.imports(
                str(model_dir / SYMBOL_FILE),
                ["data"],
                str(model_dir / meta["params_file"]),
                ctx=ctx,
            )
        net.hybridize(static_alloc=True)
        return cls(net, meta, ctx)

    @property
    def labels(self) -> list[Any]:
        """The class of each probability: class names (folder layouts) or indices."""
        return list(self.class_names) if self.class_names else list(range(self.num_classes))

    # -- inputs --------------------------------------------------------------------------
    def decode_request(self, body: bytes, content_type: str) -> list[np.ndarray]:
        """One encoded image (PNG, JPEG, ...) -> a one-image batch; bad bytes -> HTTP 400."""
        import io

        from PIL import Image, UnidentifiedImageError

        if not body:
            raise ValidationError("body", b"", "the bytes of one PNG or JPEG image")
        try:
            with Image.open(io.BytesIO(body)) as image:
                return [_image_to_array(image, self.image_shape, self.resize)]
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise ValidationError(
                "body", f"{len(body)} bytes of {content_type}", f"one PNG or JPEG image ({exc})"
            ) from None

    def pixels(self, images: Any) -> np.ndarray:
        """Images (paths, bytes, PIL images, arrays, a DataFrame of pixel rows) as ``(n, c, h, w)``."""
        import pandas as pd

        c, h, w = self.image_shape
        if isinstance(images, pd.DataFrame):
            if images.shape[1] != c * h * w:
                raise ValidationError(
                    "images columns",
                    f"{images.shape[1]} columns",
                    f"{c * h * w} pixel columns (channels*height*width of image_shape); "
                    "drop the label column",
                )
            images = images.to_numpy(dtype=np.float32)
        if isinstance(images, np.ndarray):
            if images.ndim == 2 and images.shape[1] == c * h * w and images.shape[1] != w:
                return images.astype(np.float32).reshape(-1, c, h, w)  # rows of pixels
            images = _split_array(images, c)
        elif isinstance(images, (str, Path, bytes)) or hasattr(images, "convert"):
            images = [images]
        batch = [self._one(image, i) for i, image in enumerate(images)]
        if not batch:
            return np.zeros((0, c, h, w), dtype=np.float32)
        return np.stack(batch).astype(np.float32)

    def _one(self, image: Any, i: int) -> np.ndarray:
        import io

        from PIL import Image

        c, h, w = self.image_shape
        if isinstance(image, (str, Path)):
            with _open_image(Path(image), str(image), "predict") as opened:
                return _image_to_array(opened, self.image_shape, self.resize)
        if isinstance(image, bytes):
            return self.decode_request(image, "application/x-image")[0]
        if hasattr(image, "convert"):
            return _image_to_array(image, self.image_shape, self.resize)
        array = np.asarray(image)
        if array.ndim == 3 and array.shape[0] == c and array.shape[1:] == (h, w):
            return array.astype(np.float32)  # already (c, h, w)
        if array.ndim == 3 and array.shape[2] in (1, 3, 4):
            array = array[..., :3] if array.shape[2] != 1 else array[..., 0]
        if array.ndim not in (2, 3):
            raise ValidationError(
                f"images[{i}]", f"array of shape {array.shape}", "an HxW or HxWxC image"
            )
        if array.shape[:2] == (h, w):
            pixels = array.astype(np.float32)
            if pixels.ndim == 2:
                pixels = pixels[None] if c == 1 else np.repeat(pixels[None], 3, axis=0)
            else:
                pixels = pixels.transpose(2, 0, 1) if c == 3 else pixels.mean(axis=2)[None]
            return pixels
        if array.dtype != np.uint8:
            raise ValidationError(
                f"images[{i}]",
                f"{array.dtype} array of shape {array.shape}",
                f"image_shape's {h}x{w} pixels, or a uint8 image to resize",
            )
        return _image_to_array(
            Image.open(io.BytesIO(_png_bytes(array))), self.image_shape, self.resize
        )

    # -- outputs -------------------------------------------------------------------------
    def predict_proba(self, images: Any) -> np.ndarray:
        """Class probabilities ``(n, num_classes)``."""
        pixels = self.pixels(images)
        return _predict_probabilities(
            self.net, pixels, self.mean, self.std, self.ctx, softmax=False
        )

    def predict(self, images: Any) -> np.ndarray:
        """The most probable class index of each image."""
        return np.argmax(self.predict_proba(images), axis=1).astype(np.int64)

    def response_columns(self, inputs: Any, verbose: bool = False) -> dict[str, np.ndarray]:
        """SageMaker's answer: ``prediction`` (probabilities); verbose adds labels and top-k."""
        probs = self.predict_proba(inputs)
        out: dict[str, np.ndarray] = {"prediction": probs}
        if verbose:
            labels = self.labels
            n = len(probs)
            out["labels"] = _objects([labels] * n)
            out["predicted_label"] = _objects([labels[i] for i in np.argmax(probs, axis=1)])
            if self.top_k:
                order = np.argsort(-probs, axis=1, kind="stable")[:, : self.top_k]
                out["top_k_labels"] = _objects([[labels[j] for j in row] for row in order])
                out["top_k_probabilities"] = np.take_along_axis(probs, order, axis=1)
        return out

    def predict_frame(self, images: Any, top_k: int | None = None) -> pd.DataFrame:
        """One row per image: ``predicted_label``, ``probability`` and top-k columns.

        ``top_k`` (default: the training ``top_k``) adds ``top_1_label``, ``top_1_probability``,
        ... ``top_k_label``, ``top_k_probability``; ``class_name`` is added when the classes
        have names (class folders).
        """
        import pandas as pd

        probs = self.predict_proba(images)
        order = np.argsort(-probs, axis=1, kind="stable")
        frame = pd.DataFrame(
            {
                "predicted_label": order[:, 0].astype(np.int64),
                "probability": probs[np.arange(len(probs)), order[:, 0]] if len(probs) else [],
            }
        )
        if self.class_names:
            frame["class_name"] = [self.class_names[i] for i in order[:, 0]]
        k = top_k if top_k is not None else self.top_k
        for rank in range(min(k or 0, self.num_classes)):
            frame[f"top_{rank + 1}_label"] = order[:, rank].astype(np.int64)
            frame[f"top_{rank + 1}_probability"] = np.take_along_axis(
                probs, order[:, rank : rank + 1], axis=1
            )[:, 0]
        return frame


def _split_array(images: np.ndarray, channels: int) -> list[np.ndarray]:
    """An array of images: ``(h, w)`` / ``(h, w, 3)`` is one image, else the first axis is n."""
    if images.ndim == 2 or (images.ndim == 3 and images.shape[2] in (3, 4)):
        return [images]
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[3] not in (1, 3, 4):
        return [image for image in images]  # (n, c, h, w)
    if images.ndim in (3, 4):
        return [image for image in images]
    raise ValidationError(
        "images", f"array of shape {images.shape}", "images (n, h, w) or (n, h, w, c)"
    )


def _png_bytes(array: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


# --- helpers for users --------------------------------------------------------------------


def save_image_folder(
    images: Any,
    labels: Any,
    path: str | Path,
    class_names: list[str] | None = None,
    *,
    max_value: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Write images as PNG files in one sub-folder per class: ``path/<class>/<index>.png``.

    ``images`` is ``(n, h, w)`` (grayscale) or ``(n, h, w, 3)`` (RGB) pixels, uint8 in
    0..255 or numbers in ``0..max_value`` (scaled to 0..255). Folders are named by
    ``class_names[label]``, else by the label number. An existing non-empty folder is
    refused unless ``overwrite=True``, which replaces only the PNG files of class folders.

    Example
    -------
    >>> from workbench import datasets
    >>> images, labels = datasets.load_images("digits", size="small")
    >>> root = save_image_folder(images, labels, "digits/train", max_value=16)  # doctest: +SKIP
    >>> sorted(p.name for p in root.iterdir())[:3]                                # doctest: +SKIP
    ['0', '1', '2']
    """
    from PIL import Image

    array = np.asarray(images)
    y = np.asarray(labels)
    if array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[3] not in (1, 3)):
        raise ValidationError(
            "images", f"array of shape {array.shape}", "(n, h, w) or (n, h, w, 3) pixels"
        )
    if len(y) != len(array):
        raise ValidationError("labels", f"{len(y)} labels", f"one label per image ({len(array)})")
    pixels = _to_uint8(array, max_value)
    root = Path(path)
    _prepare_folder(root, overwrite)
    for i, (image, label) in enumerate(zip(pixels, y)):
        name = class_names[int(label)] if class_names is not None else str(_label_text(label))
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image).save(
            folder / f"{i:05d}.png"
        )
    return root


def _label_text(label: Any) -> Any:
    value = float(label) if np.issubdtype(np.asarray(label).dtype, np.number) else label
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _to_uint8(array: np.ndarray, max_value: float | None) -> np.ndarray:
    if max_value is not None:
        if max_value <= 0:
            raise ValidationError("max_value", max_value, "a positive number")
        return np.clip(np.round(array.astype(np.float64) * 255.0 / max_value), 0, 255).astype(
            np.uint8
        )
    if array.dtype == np.uint8:
        return array
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValidationError(
            "images", f"values {array.min()}..{array.max()}", "pixels in 0..255, or pass max_value"
        )
    return np.round(array).astype(np.uint8)


def _prepare_folder(root: Path, overwrite: bool) -> None:
    if root.exists() and not root.is_dir():
        raise ValidationError("path", str(root), "a folder path")
    existing = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    if existing and not overwrite:
        raise ValidationError(
            "path",
            str(root),
            "an empty or new folder",
            hint="Pass overwrite=True to replace its images.",
        )
    for f in existing:
        if f.suffix.lower() == ".png" and f.parent.parent == root:
            f.unlink()
    root.mkdir(parents=True, exist_ok=True)
