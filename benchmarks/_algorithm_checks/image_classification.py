"""Image Classification vs an RBF support vector machine on the 8x8 digits (held-out accuracy).

The 1,797 digits (``size="medium"``) are split 80/20, stratified; the training part is
written as PNG files in one folder per class (the layout a user hands to
``TrainingInput(path, content_type="application/x-image")``) and the ResNet trains through
the Algorithm API in a temporary job folder, with no validation channel (the last epoch is
kept), so the held-out part is never looked at during training. The reference is
scikit-learn's ``SVC`` (RBF kernel, default settings) on the same split. The check passes
when the ResNet's held-out accuracy is at least 0.97.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._common import check

PASS_ACCURACY = 0.97


def run(fast: bool = False, seed: int = 0) -> list[dict[str, Any]]:
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    import workbench as wb

    images, labels = wb.datasets.load_images("digits", size="medium", seed=seed)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=0.2, stratify=labels, random_state=seed
    )
    hps = {
        "num_classes": 10,
        "num_training_samples": len(train_y),
        "image_shape": "1,8,8",
        "num_layers": 8 if fast else 14,
        "epochs": 12 if fast else 30,
        "lr_scheduler_step": "8,10" if fast else "20,25",
    }
    accuracy = _resnet_accuracy(train_x, train_y, test_x, test_y, hps)
    svc = SVC().fit(train_x.reshape(len(train_x), -1), train_y)
    reference = float(np.mean(svc.predict(test_x.reshape(len(test_x), -1)) == test_y))
    return [
        check(
            "image-classification",
            f"digits 8x8, ResNet-{hps['num_layers']} {hps['epochs']} epochs, 20% held out",
            "accuracy",
            accuracy,
            reference,
            "sklearn SVC (rbf)",
            accuracy >= PASS_ACCURACY,
        )
    ]


def _resnet_accuracy(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    hps: dict[str, Any],
) -> float:
    from workbench.algorithms import get_algorithm
    from workbench.algorithms._image_classification import save_image_folder
    from workbench.training._environment import TrainingEnvironment

    algo = get_algorithm("image-classification")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = root / "input" / "config"
        config.mkdir(parents=True)
        (root / "model").mkdir()
        (root / "output" / "data").mkdir(parents=True)
        save_image_folder(train_x, train_y, root / "input" / "data" / "train", max_value=16)
        strings = {k: str(v) for k, v in hps.items()}
        (config / "hyperparameters.json").write_text(json.dumps(strings))
        data_config = {"train": {"ContentType": "application/x-image"}}
        (config / "inputdataconfig.json").write_text(json.dumps(data_config))
        env = TrainingEnvironment.from_job_dir(root, "check-image-classification")
        typed = algo.validate_hyperparameters(env.hyperparameters)
        with contextlib.redirect_stdout(io.StringIO()):
            algo.train(env, typed)
        model = algo.load(env.model_dir)
        pixels = np.round(test_x.astype(np.float64) * (255 / 16)).astype(np.uint8)
        return float(np.mean(model.predict(pixels) == test_y))
