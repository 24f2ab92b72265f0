import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from workbench import datasets
from workbench.algorithms import get_algorithm
from workbench.algorithms._image_classification import (
    ImageClassification,
    _Augmenter,
    save_image_folder,
)
from workbench.exceptions import ValidationError
from workbench.training._environment import TrainingEnvironment
from workbench.training._inputs import TrainingInput, prepare_channels

from ._jobdir import label_first, make_job_dir

ALGO = get_algorithm("image-classification")
BASE = {"num_classes": 10, "image_shape": "1,8,8", "num_layers": 8, "epochs": 3}


@pytest.fixture(scope="module")
def digits():
    images, labels = datasets.load_images("digits", size="small")
    return images, labels


def _config(root, hps, content_types):
    """The config files of a job folder whose channels were written under input/data/."""
    config = root / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (root / "model").mkdir(exist_ok=True)
    (root / "output" / "data").mkdir(parents=True, exist_ok=True)
    data_config = {name: {"ContentType": ct} for name, ct in content_types.items()}
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hps.items()}))
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    return TrainingEnvironment.from_job_dir(root, "test-job")


def _folders(root, digits, n_train=300, n_val=100):
    images, labels = digits
    data = root / "input" / "data"
    save_image_folder(images[:n_train], labels[:n_train], data / "train", max_value=16)
    save_image_folder(
        images[n_train : n_train + n_val], labels[n_train : n_train + n_val],
        data / "validation", max_value=16,
    )  # fmt: skip


def _train(env):
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    ALGO.train(env, typed)
    return ALGO.load(env.model_dir)


def _series(hps, out):
    definitions = ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    return {
        d["Name"]: [
            float(m.group(1)) for m in map(re.compile(d["Regex"]).search, out.splitlines()) if m
        ]
        for d in definitions
    }


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits):
    """One model trained on class folders of digits (300 train, 100 validation)."""
    root = tmp_path_factory.mktemp("ic") / "job"
    _folders(root, digits)
    hps = dict(BASE, num_training_samples=300, top_k=3, epochs=6)
    env = _config(root, hps, {"train": "application/x-image", "validation": "image/png"})
    capture = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(capture):
        model = _train(env)
    return env, hps, model, capture.getvalue()


def test_class_folders_train_with_sagemaker_metrics_and_mxnet_artifacts(trained, digits):
    env, hps, model, out = trained
    series = _series(hps, out)
    assert set(series) == {
        "train:accuracy", "validation:accuracy",
        "train:top_k_accuracy_3", "validation:top_k_accuracy_3",
    }  # fmt: skip
    assert all(len(v) == 6 for v in series.values()), series
    assert series["validation:accuracy"][-1] > 0.85
    assert all(
        t >= a for t, a in zip(series["validation:top_k_accuracy_3"], series["validation:accuracy"])
    )
    meta = json.loads((env.model_dir / "image-classification-model.json").read_text())
    files = sorted(p.name for p in env.model_dir.iterdir())
    assert "image-classification-symbol.json" in files and "model-shapes.json" in files
    assert meta["params_file"] in files and not any(f.endswith((".pkl", ".pickle")) for f in files)
    best = int(np.argmax(series["validation:accuracy"]))
    assert meta["best_epoch"] == best  # the epoch kept is the best on validation
    images, labels = digits
    held_out = np.round(images[400:] * (255 / 16)).astype(np.uint8)
    accuracy = float(np.mean(model.predict(held_out) == labels[400:]))
    assert accuracy > 0.8  # SVC (rbf) scores 0.89 on these harder 100
    assert model.problem_type == "multiclass_classification" and model.feature_names is None


def test_predict_frame_and_response_columns(trained, digits, tmp_path):
    _, _, model, _ = trained
    images, labels = digits
    uint8 = np.round(images[400:420] * (255 / 16)).astype(np.uint8)
    frame = model.predict_frame(list(uint8))
    assert list(frame.columns) == [
        "predicted_label", "probability", "top_1_label", "top_1_probability",
        "top_2_label", "top_2_probability", "top_3_label", "top_3_probability",
    ]  # fmt: skip
    assert (frame["predicted_label"] == frame["top_1_label"]).all()
    assert (frame["top_1_probability"] >= frame["top_2_probability"]).all()
    # file paths, PNG bytes and arrays give the same answer
    path = tmp_path / "x.png"
    path.write_bytes(_png(uint8[0]))
    by_path = model.predict_proba([path])
    by_bytes = model.predict_proba([_png(uint8[0])])
    assert np.allclose(by_path, model.predict_proba(uint8[:1])) and np.allclose(by_path, by_bytes)
    # an image of another size is scaled to image_shape at inference
    big = np.asarray(Image.fromarray(uint8[0]).resize((32, 32), Image.NEAREST))
    assert model.predict(big[None])[0] == model.predict(uint8[:1])[0]
    columns = model.response_columns(model.decode_request(_png(uint8[0]), "image/png"))
    assert list(columns) == ["prediction"] and columns["prediction"].shape == (1, 10)
    assert columns["prediction"].sum() == pytest.approx(1.0, abs=1e-5)
    verbose = model.response_columns([uint8[0]], verbose=True)
    assert set(verbose) == {
        "prediction",
        "labels",
        "predicted_label",
        "top_k_labels",
        "top_k_probabilities",
    }
    assert verbose["labels"][0] == list(range(10))
    assert verbose["predicted_label"][0] == int(np.argmax(columns["prediction"][0]))
    assert model.response_envelope is None
    assert set(model.request_content_types) == {"application/x-image", "image/png", "image/jpeg"}
    with pytest.raises(ValidationError, match="body"):
        model.decode_request(b"not an image", "application/x-image")


def test_sagemaker_lst_channels_and_named_rgb_classes(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "job" / "input" / "data"
    (data / "train" / "imgs").mkdir(parents=True)
    (data / "train_lst").mkdir()
    colours = [(220, 30, 30), (30, 200, 40)]
    lines = []
    for i in range(40):
        label = i % 2
        pixels = np.clip(np.array(colours[label]) + rng.normal(0, 20, (10, 12, 3)), 0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(data / "train" / "imgs" / f"{i}.jpg")
        lines.append(f"{i}\t{label}\timgs/{i}.jpg")
    (data / "train_lst" / "train.lst").write_text("\n".join(lines) + "\n")
    hps = {"num_classes": 2, "num_training_samples": 40, "image_shape": "3,8,8", "resize": 8,
           "num_layers": 8, "epochs": 2, "augmentation_type": "crop_color_transform"}  # fmt: skip
    env = _config(
        tmp_path / "job", hps, {"train": "application/x-image", "train_lst": "application/x-image"}
    )
    model = _train(env)
    assert model.class_names is None and model.problem_type == "binary_classification"
    red = np.full((20, 30, 3), colours[0], dtype=np.uint8)
    assert model.predict_proba([red]).shape == (1, 2)
    # the same layout passes the kernel-side checks (headers only)
    channels = prepare_channels(
        {"train": TrainingInput(str(data / "train"), content_type="application/x-image"),
         "train_lst": TrainingInput(str(data / "train_lst"), content_type="application/x-image")}
    )  # fmt: skip
    ALGO.check_data(ALGO.validate_hyperparameters(hps), channels)
    (data / "train_lst" / "train.lst").write_text("0\t1\timgs/missing.jpg\n")
    with pytest.raises(ValidationError, match="line 1"):
        ALGO.check_data(ALGO.validate_hyperparameters(hps), channels)
    (data / "train_lst" / "train.lst").write_text("0\t1\t0\timgs/0.jpg\n")
    with pytest.raises(ValidationError, match="multi_label"):
        ALGO.check_data(ALGO.validate_hyperparameters(hps), channels)


def test_npy_frames_of_pixels_train(tmp_path, digits):
    images, labels = digits
    X = images[:200].reshape(200, -1).astype(float)
    env = make_job_dir(
        tmp_path / "job",
        dict(BASE, num_training_samples=200, epochs=2, optimizer="adam", learning_rate=0.01),
        {"train": label_first(X, labels[:200])},
        content_type="application/x-npy",
    )
    model = _train(env)
    assert model.meta["pixel_source"] == "frames"
    assert model.predict(X[:5]).shape == (5,)  # rows of 64 pixels, in training units
    wrong = make_job_dir(
        tmp_path / "wrong", dict(BASE, num_training_samples=200, image_shape="1,7,7"),
        {"train": label_first(X, labels[:200])}, content_type="application/x-npy",
    )  # fmt: skip
    with pytest.raises(ValidationError, match="image_shape"):
        _train(wrong)


@pytest.mark.parametrize("optimizer", ["nag", "rmsprop"])
def test_optimizers_weighted_loss_and_lr_schedule(tmp_path, digits, optimizer, capsys):
    _folders(tmp_path / "job", digits, n_train=64, n_val=32)
    hps = dict(BASE, num_training_samples=64, epochs=2, optimizer=optimizer, learning_rate=0.01,
               use_weighted_loss=1, lr_scheduler_step="1", mini_batch_size=16)  # fmt: skip
    _train(
        _config(
            tmp_path / "job",
            hps,
            {"train": "application/x-image", "validation": "application/x-image"},
        )
    )
    assert len(_series(hps, capsys.readouterr().out)["validation:accuracy"]) == 2


def test_early_stopping_stops_and_keeps_the_best_epoch(tmp_path, digits, capsys):
    _folders(tmp_path / "job", digits, n_train=64, n_val=32)
    hps = dict(BASE, num_training_samples=64, epochs=10, early_stopping="true",
               early_stopping_min_epochs=1, early_stopping_patience=1,
               early_stopping_tolerance=1.0)  # fmt: skip
    env = _config(
        tmp_path / "job", hps, {"train": "application/x-image", "validation": "application/x-image"}
    )
    model = _train(env)
    out = capsys.readouterr().out
    assert "early stopping after epoch 1" in out
    assert model.meta["epochs_trained"] == 2
    assert len(_series(hps, out)["validation:accuracy"]) == 2


@pytest.mark.parametrize("kind", ["crop", "crop_color", "crop_color_transform"])
def test_augmentations_keep_shape_and_range(kind):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(16, 3, 12, 10)).astype(np.float32)
    out = _Augmenter(kind, 255.0, np.random.default_rng(1))(x.copy())
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255.0 + 1e-3
    assert not np.allclose(out, x)
    assert _Augmenter(None, 255.0, rng)(x) is x


@pytest.mark.parametrize(
    ("hps", "field"),
    [
        ({"num_training_samples": 10}, "num_classes"),
        ({"num_classes": 3}, "num_training_samples"),
        (dict(BASE, num_training_samples=10, num_layers=21), "num_layers"),
        (dict(BASE, num_training_samples=10, image_shape="2,8,8"), "image_shape"),
        (dict(BASE, num_training_samples=10, image_shape="8x8"), "image_shape"),
        (dict(BASE, num_training_samples=10, use_pretrained_model=1), "use_pretrained_model"),
        (dict(BASE, num_training_samples=10, multi_label=1), "multi_label"),
        (dict(BASE, num_training_samples=10, top_k=11), "top_k"),
        (dict(BASE, num_training_samples=10, top_k=1), "top_k"),
        (dict(BASE, num_training_samples=10, lr_scheduler_step="20,10"), "lr_scheduler_step"),
        (dict(BASE, num_training_samples=10, optimizer="adagrad"), "optimizer"),
        (dict(BASE, num_training_samples=10, augmentation_type="flip"), "augmentation_type"),
    ],
)
def test_bad_hyperparameters_are_refused(hps, field):
    with pytest.raises(ValidationError, match=field) as info:
        ALGO.validate_hyperparameters(hps)
    assert field in info.value.field


def test_channel_rules():
    typed = ALGO.validate_hyperparameters(dict(BASE, num_training_samples=10, early_stopping=True))
    with pytest.raises(ValidationError, match="early_stopping"):
        ALGO.check_inputs(typed, ["train"])
    with pytest.raises(ValidationError, match="validation_lst"):
        ALGO.check_inputs(typed, ["train", "validation_lst"])
    assert (
        isinstance(ALGO, ImageClassification)
        and get_algorithm("image_classification").name == ALGO.name
    )


def _check(tmp_path, hps, folder=None):
    typed = ALGO.validate_hyperparameters(hps)
    channels = prepare_channels(
        {
            "train": TrainingInput(
                str(folder or tmp_path / "train"), content_type="application/x-image"
            )
        }
    )
    ALGO.check_data(typed, channels)


def test_kernel_checks_sizes_files_labels_and_counts(tmp_path, digits):
    images, labels = digits
    save_image_folder(images[:20], labels[:20], tmp_path / "train", max_value=16)
    hps = dict(BASE, num_training_samples=20)
    _check(tmp_path, hps)  # fine
    with pytest.warns(UserWarning, match="num_training_samples"):
        _check(tmp_path, dict(hps, num_training_samples=25))
    with pytest.raises(ValidationError, match="num_classes") as info:
        _check(tmp_path, dict(hps, num_classes=5))
    assert info.value.field == "hyperparameters['num_classes']"
    with pytest.raises(ValidationError) as info:
        _check(tmp_path, dict(hps, image_shape="1,16,16"))
    assert info.value.field == "hyperparameters['image_shape']" and "resize" in str(info.value)
    _check(tmp_path, dict(hps, image_shape="1,16,16", resize=16))
    with pytest.raises(ValidationError) as info:
        _check(tmp_path, dict(hps, image_shape="1,16,16", resize=12))
    assert info.value.field == "hyperparameters['resize']"
    Image.new("L", (12, 9)).save(tmp_path / "train" / "3" / "odd.png")
    with pytest.raises(ValidationError) as info:
        _check(tmp_path, hps)
    assert info.value.field == "hyperparameters['resize']" and "odd.png" in str(info.value)
    (tmp_path / "train" / "3" / "odd.png").write_bytes(b"this is no png")
    with pytest.raises(ValidationError, match="odd.png") as info:
        _check(tmp_path, dict(hps, resize=8))
    assert "3/odd.png" in info.value.field
    (tmp_path / "train" / "3" / "odd.png").unlink()
    Image.new("L", (8, 8)).save(tmp_path / "train" / "loose.png")
    with pytest.raises(ValidationError, match="one sub-folder per class"):
        _check(tmp_path, hps)


def test_job_refuses_mixed_sizes_and_frames_of_the_wrong_width(tmp_path, digits):
    images, labels = digits
    _folders(tmp_path / "job", digits, n_train=20, n_val=0)
    Image.new("L", (9, 9)).save(tmp_path / "job" / "input" / "data" / "train" / "1" / "big.png")
    env = _config(
        tmp_path / "job", dict(BASE, num_training_samples=21), {"train": "application/x-image"}
    )
    with pytest.raises(ValidationError) as info:
        _train(env)
    assert info.value.field == "hyperparameters['resize']"
    frame = label_first(images[:10].reshape(10, -1).astype(float), labels[:10])
    channels = prepare_channels({"train": __import__("pandas").DataFrame(frame).rename(columns={0: "label"})},
                                target="label")  # fmt: skip
    with pytest.raises(ValidationError, match="image_shape"):
        ALGO.check_data(
            ALGO.validate_hyperparameters(dict(BASE, num_training_samples=10, image_shape="3,8,8")),
            channels,
        )
    with pytest.raises(ValidationError, match="num_classes"):
        ALGO.check_labels(
            np.array([0.0, 10.0]),
            ALGO.validate_hyperparameters(dict(BASE, num_training_samples=2)),
            "train",
        )


def test_save_image_folder_layout_and_overwrite(tmp_path, digits):
    images, labels = digits
    root = save_image_folder(
        images[:12],
        labels[:12],
        tmp_path / "d",
        class_names=[f"c{i}" for i in range(10)],
        max_value=16,
    )
    assert {p.name for p in root.iterdir()} == {f"c{i}" for i in set(labels[:12].tolist())}
    png = next(root.rglob("*.png"))
    with Image.open(png) as image:
        assert image.size == (8, 8) and image.mode == "L" and np.asarray(image).max() > 16
    with pytest.raises(ValidationError, match="overwrite"):
        save_image_folder(images[:3], labels[:3], tmp_path / "d", max_value=16)
    save_image_folder(images[:3], labels[:3], tmp_path / "d", max_value=16, overwrite=True)
    assert len(list((tmp_path / "d").rglob("*.png"))) == 3
    with pytest.raises(ValidationError, match="0..255"):
        save_image_folder(images[:3] * 100.0, labels[:3], tmp_path / "e")


def test_importing_the_module_does_not_import_mxnet():
    import subprocess
    import sys

    code = "import sys, workbench.algorithms._image_classification; print('mxnet' in sys.modules, 'PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_estimator_fit_model_and_endpoint_answer_like_sagemaker(workspace, tmp_path, digits):
    import workbench as wb
    from workbench.serving._handler import Call, Handler

    images, labels = digits
    train = save_image_folder(images[:200], labels[:200], tmp_path / "train", max_value=16)
    hps = dict(BASE, num_training_samples=200, epochs=2)
    est = wb.Estimator(algorithm="image-classification", hyperparameters=hps)
    job = est.fit(
        {"train": TrainingInput(str(train), content_type="application/x-image")}, logs=False
    )
    assert job.describe()["TrainingJobStatus"] == "Completed"
    metrics = {m["MetricName"] for m in job.describe().get("FinalMetricDataList", [])}
    assert "train:accuracy" in metrics
    model = job.model()
    uint8 = np.round(images[300:305] * (255 / 16)).astype(np.uint8)
    frame = model.predict(list(uint8))
    assert len(frame) == 5 and list(frame.columns[:2]) == ["predicted_label", "probability"]
    handler = Handler.load(model.name)
    reply = handler.invoke(Call(_png(uint8[0]), "image/png", "application/jsonlines"))
    assert reply.status == 200, reply.body
    line = json.loads(reply.body.decode().splitlines()[0])
    assert list(line) == ["prediction"] and len(line["prediction"]) == 10
    assert handler.invoke(Call(b"junk", "image/jpeg", "application/json")).status == 400
    reply = handler.invoke(Call(_png(uint8[0]), "application/x-image", "application/json"))
    assert reply.status == 200, reply.body
    body = json.loads(reply.body)
    # SageMaker answers one image with the bare list of its class probabilities
    assert isinstance(body, list) and len(body) == 10 and sum(body) == pytest.approx(1.0, abs=1e-4)
    assert body == pytest.approx(line["prediction"], abs=1e-6)
