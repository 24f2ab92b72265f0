"""Random Cut Forest: schema, the trees, CoDisp scores, metrics, model files and bad input."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from workbench.algorithms import get_algorithm
from workbench.algorithms._rcf import (
    META_FILE,
    MODEL_FILE,
    RandomCutForest,
    RandomCutForestModel,
    _Forest,
    _sample_trees,
)
from workbench.exceptions import ValidationError
from workbench.training._environment import TrainingEnvironment
from workbench.training._inputs import PreparedChannel

ALGO = get_algorithm("randomcutforest")
UNLABELLED = "text/csv;label_size=0"
SMALL = {"num_trees": 50, "num_samples_per_tree": 128}


def _planted(n: int, d: int, n_anomalies: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clusters plus uniform points at least 5 sigma from every centre."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 4.0, (3, d))
    normal = centres[rng.integers(0, 3, n)] + rng.normal(0.0, 1.0, (n, d))
    anomalies = np.empty((0, d))
    while len(anomalies) < n_anomalies:
        candidates = rng.uniform(normal.min(0) - 3, normal.max(0) + 3, (20 * n_anomalies, d))
        far = np.linalg.norm(candidates[:, None] - centres[None], axis=2).min(axis=1) > 5.0
        anomalies = np.vstack([anomalies, candidates[far]])
    X = np.vstack([normal, anomalies[:n_anomalies]])
    y = np.r_[np.zeros(n), np.ones(n_anomalies)]
    order = rng.permutation(len(y))
    return X[order], y[order]


def _job(tmp_path: Path, hps: dict, channels: dict[str, tuple[np.ndarray, str]]):
    """A SageMaker job folder; each channel is (matrix, content type), written as CSV."""
    root = tmp_path / "job"
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (root / "model").mkdir()
    (root / "output" / "data").mkdir(parents=True)
    for name, (matrix, _) in channels.items():
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True)
        np.savetxt(folder / f"{name}.csv", matrix, delimiter=",", fmt="%.10g")
    data_config = {name: {"ContentType": ct, "TrainingInputMode": "File"}
                   for name, (_, ct) in channels.items()}  # fmt: skip
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hps.items()}))
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    return TrainingEnvironment.from_job_dir(root, "test-job")


def _train(env: TrainingEnvironment) -> RandomCutForestModel:
    hps = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(hps, env.channels)
    ALGO.train(env, hps)
    return ALGO.load(env.model_dir)


def _metrics(out: str, hps: dict) -> dict[str, list[float]]:
    found = {}
    for d in ALGO.metric_definitions(ALGO.validate_hyperparameters(hps)):
        values = [float(v) for v in re.findall(d["Regex"], out)]
        if values:
            found[d["Name"]] = values
    return found


@pytest.fixture(scope="module")
def planted() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    X, y = _planted(3000, 6, 60, seed=0)
    return {"train": (X[:2000], y[:2000]), "test": (X[2000:], y[2000:])}


# --- registry and hyperparameters ----------------------------------------------------------


def test_registered_under_sagemaker_name_and_aliases() -> None:
    for name in ("randomcutforest", "rcf", "random-cut-forest", "RandomCutForest"):
        assert isinstance(get_algorithm(name), RandomCutForest)
    assert ALGO.supervised is False
    assert ALGO.channels == ("train", "test")
    assert ALGO.problem_type({}) == "anomaly_detection"


def test_hyperparameters_have_sagemaker_defaults_and_tunable_ranges() -> None:
    hps = ALGO.validate_hyperparameters({"feature_dim": "5"})
    assert hps == {"feature_dim": 5, "num_samples_per_tree": 256, "num_trees": 100,
                   "eval_metrics": ["accuracy", "precision_recall_fscore"]}  # fmt: skip
    assert {p.name for p in ALGO.hyperparameters if p.tunable} == {
        "num_samples_per_tree",
        "num_trees",
    }
    assert ALGO.validate_hyperparameters({"feature_dim": 1, "eval_metrics": "accuracy"})[
        "eval_metrics"
    ] == ["accuracy"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "feature_dim"),
        ({"feature_dim": 0}, "feature_dim"),
        ({"feature_dim": 3, "num_trees": 49}, "num_trees"),
        ({"feature_dim": 3, "num_trees": 1001}, "num_trees"),
        ({"feature_dim": 3, "num_samples_per_tree": 0}, "num_samples_per_tree"),
        ({"feature_dim": 3, "num_samples_per_tree": 2049}, "num_samples_per_tree"),
        ({"feature_dim": 3, "eval_metrics": "accuracy,auc"}, "eval_metrics"),
        ({"feature_dim": 3, "num_tree": 100}, "num_tree"),
    ],
)
def test_bad_hyperparameters_name_the_field(values: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ALGO.validate_hyperparameters(values)
    assert info.value.field == f"hyperparameters[{field!r}]"


def test_metric_definitions_follow_eval_metrics() -> None:
    def names(metrics: str) -> set[str]:
        hps = ALGO.validate_hyperparameters({"feature_dim": 2, "eval_metrics": metrics})
        return {d["Name"] for d in ALGO.metric_definitions(hps)}

    assert names("accuracy,precision_recall_fscore") == {
        "test:f1", "test:precision", "test:recall", "test:accuracy", "test:roc_auc_score",
    }  # fmt: skip
    assert names("accuracy") == {"test:accuracy", "test:roc_auc_score"}
    assert "test:f1" in names("precision_recall_fscore")


def test_channels_are_checked() -> None:
    hps = ALGO.validate_hyperparameters({"feature_dim": 2})
    with pytest.raises(ValidationError, match="'train' channel"):
        ALGO.check_inputs(hps, ["test"])
    with pytest.raises(ValidationError) as info:
        ALGO.check_inputs(hps, ["train", "validation"])
    assert info.value.field == "inputs['validation']"


# --- the forest ----------------------------------------------------------------------------


def test_trees_are_random_cut_trees_over_disjoint_samples() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 3)) * [1.0, 10.0, 0.1]
    samples = _sample_trees(X, 4, 200, np.random.default_rng(1))
    rows = {tuple(r) for r in samples.reshape(-1, 3)}
    assert len(rows) == 800  # disjoint samples when the data has enough rows
    f = _Forest.build(samples, np.random.default_rng(2))
    lower = f.lower.astype(np.float64) + f.shift
    upper = f.upper.astype(np.float64) + f.shift
    internal = np.flatnonzero(f.cut_dim >= 0)
    left, right = f.left[internal], f.right[internal]
    np.testing.assert_array_equal(f.size[internal], f.size[left] + f.size[right])
    np.testing.assert_array_equal(f.size[f.roots], 200)
    assert (f.cut_dim < 0).sum() == 4 * 200  # one leaf per distinct point
    for child in (left, right):  # children's boxes inside their parent's
        assert np.all(lower[child] >= lower[internal] - 1e-5)
        assert np.all(upper[child] <= upper[internal] + 1e-5)
    dim = f.cut_dim[internal]
    rows = np.arange(internal.size)
    assert np.all(upper[left][rows, dim] <= f.cut_value[internal] + 1e-5)
    assert np.all(lower[right][rows, dim] > f.cut_value[internal] - 1e-5)
    # Cut dimensions follow the ranges: the wide feature 1 gets the most cuts.
    assert np.bincount(f.cut_dim[internal], minlength=3).argmax() == 1


def _insertion_codisp(
    f: _Forest, root: int, x: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """CoDisp of the new leaf after ``draws`` random insertions done as the rrcf package does.

    At each node a cut is drawn on the node's box extended by x (dimension by extended
    range, value uniform); if it falls outside the node's own box, x becomes a leaf beside
    the node. Otherwise x follows the node's cut, so undecided draws share one path.
    """
    lower = f.lower.astype(np.float64) + f.shift
    upper = f.upper.astype(np.float64) + f.shift
    out = np.full(draws, np.nan)
    path, node = [root], root
    while np.isnan(out).any():
        terms = [f.size[sib] / (f.size[child] + 1.0) for sib, child in _siblings(f, path)]
        lo, hi = lower[node], upper[node]
        span = np.maximum(hi, x) - np.minimum(lo, x)
        open_ = np.flatnonzero(np.isnan(out))
        if f.cut_dim[node] < 0:  # a leaf (its box is one point, up to float32 rounding)
            duplicate = np.all((x >= lo - 1e-6) & (x <= hi + 1e-6))
            out[open_] = max(terms, default=0.0) if duplicate else max([f.size[node], *terms])
            break
        r = rng.uniform(0, span.sum(), open_.size)
        dim = np.searchsorted(np.cumsum(span), r, side="right")
        cut = np.minimum(lo, x)[dim] + r - (np.cumsum(span) - span)[dim]
        separated = (cut < lo[dim]) | (cut >= hi[dim])
        out[open_[separated]] = max([float(f.size[node]), *terms])
        node = f.left[node] if x[f.cut_dim[node]] <= f.cut_value[node] else f.right[node]
        path.append(node)
    return out


def _siblings(f: _Forest, path: list[int]) -> list[tuple[int, int]]:
    pairs = []
    for parent, child in zip(path[:-1], path[1:]):
        pairs.append((f.right[parent] if f.left[parent] == child else f.left[parent], child))
    return pairs


def test_scores_are_the_expected_codisp_of_a_random_insertion() -> None:
    X = np.random.default_rng(3).normal(size=(40, 3))
    samples = _sample_trees(X, 3, 12, np.random.default_rng(0))
    f = _Forest.build(samples, np.random.default_rng(1))
    queries = np.array([[0.1, -0.2, 0.3], [4.0, 0.0, 0.0], [0.9, 0.9, -0.5], samples[0, 0]])
    expected = f.score(queries)
    rng = np.random.default_rng(4)
    for x, value in zip(queries, expected):
        draws = np.mean([_insertion_codisp(f, int(r), x, 20_000, rng) for r in f.roots], axis=0)
        assert abs(draws.mean() - value) < 4 * draws.std() / np.sqrt(draws.size) + 1e-9
    assert expected[1] > 3 * expected[0]  # the far point displaces much more


def test_identical_rows_and_far_points() -> None:
    X = np.ones((100, 2))
    f = _Forest.build(_sample_trees(X, 50, 64, np.random.default_rng(0)), np.random.default_rng(0))
    assert np.all(f.cut_dim < 0)  # every tree is one leaf holding 64 copies
    np.testing.assert_allclose(f.score(np.array([[1.0, 1.0], [5.0, 1.0]])), [0.0, 64.0])


# --- training, metrics and the model --------------------------------------------------------


def test_planted_anomalies_get_high_scores_and_sagemaker_test_metrics(
    tmp_path: Path, capsys, planted
) -> None:
    (Xtr, _), (Xte, yte) = planted["train"], planted["test"]
    hps = {"feature_dim": 6, **SMALL}
    env = _job(tmp_path, hps, {"train": (Xtr, UNLABELLED),
                               "test": (np.column_stack([yte, Xte]), "text/csv")})  # fmt: skip
    model = _train(env)
    out = capsys.readouterr().out
    seen = _metrics(out, hps)
    assert set(seen) == {"test:f1", "test:precision", "test:recall", "test:accuracy",
                         "test:roc_auc_score"}  # fmt: skip
    lines = [line for line in out.splitlines() if line.startswith("#quality_metric")]
    assert len(lines) == 5
    scores = model.score(Xte)
    auc = roc_auc_score(yte, scores)
    reference = roc_auc_score(yte, -IsolationForest(random_state=0).fit(Xtr).score_samples(Xte))
    assert auc >= 0.97 and auc >= reference - 0.02, (auc, reference)
    assert seen["test:roc_auc_score"][0] == pytest.approx(auc, abs=1e-5)
    flagged = scores > scores.mean() + 3 * scores.std()  # SageMaker's three-sigma rule
    precision = (flagged & (yte == 1)).sum() / flagged.sum()
    recall = (flagged & (yte == 1)).sum() / (yte == 1).sum()
    assert seen["test:precision"][0] == pytest.approx(precision, abs=1e-5)
    assert seen["test:recall"][0] == pytest.approx(recall, abs=1e-5)
    assert seen["test:f1"][0] == pytest.approx(2 * precision * recall / (precision + recall),
                                               abs=1e-5)  # fmt: skip
    assert seen["test:f1"][0] > 0.6
    assert np.median(scores[yte == 0]) < 5 < np.median(scores[yte == 1])
    assert "threshold (mean + 3 std)" in out


def test_model_files_are_arrays_and_json_and_reload_to_the_same_scores(
    tmp_path: Path, planted
) -> None:
    (Xtr, _), (Xte, _) = planted["train"], planted["test"]
    env = _job(tmp_path, {"feature_dim": 6, **SMALL}, {"train": (Xtr, UNLABELLED)})
    model = _train(env)
    assert sorted(p.name for p in env.model_dir.iterdir()) == sorted([MODEL_FILE, META_FILE])
    with zipfile.ZipFile(env.model_dir / MODEL_FILE) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(env.model_dir / MODEL_FILE, allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
        assert arrays["roots"].shape == (50,) and arrays["lower"].shape[1] == 6
    meta = json.loads((env.model_dir / META_FILE).read_text())
    assert meta["problem_type"] == "anomaly_detection" and meta["num_trees"] == 50
    assert meta["threshold"] == pytest.approx(
        meta["train_score_mean"] + 3 * meta["train_score_std"]
    )
    again = ALGO.load(env.model_dir)
    np.testing.assert_array_equal(again.score(Xte), model.score(Xte))
    columns = again.response_columns(Xte[:3])
    assert list(columns) == ["score"] and columns["score"].shape == (3,)
    assert again.response_envelope == "scores" and again.problem_type == "anomaly_detection"
    frame = again.predict_frame(Xte[:4])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["score"]
    assert again.score(Xte[0]).shape == (1,)
    with pytest.raises(ValidationError) as info:
        again.score(Xte[:, :5])
    assert info.value.field == "X" and "feature_dim" in info.value.expected
    with pytest.raises(ValidationError, match="finite"):
        again.score(np.where(np.eye(6)[:2] == 1, np.nan, 0.0))


def test_npy_frames_with_and_without_a_target(tmp_path: Path, planted) -> None:
    (Xtr, _), (Xte, yte) = planted["train"], planted["test"]
    root = tmp_path / "job"
    for name, matrix, columns, target in (
        ("train", Xtr[:600], [f"s{i}" for i in range(6)], None),
        ("test", np.column_stack([yte, Xte]), ["anomaly"] + [f"s{i}" for i in range(6)], "anomaly"),
    ):
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True)
        np.save(folder / "data.npy", matrix)
        schema = {"format": "workbench-frame", "columns": columns, "target": target}
        (folder / "schema.json").write_text(json.dumps(schema))
    (root / "input" / "config").mkdir(parents=True)
    (root / "model").mkdir()
    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"feature_dim": "6", "num_trees": "50", "num_samples_per_tree": "64"})
    )
    config = {c: {"ContentType": "application/x-npy"} for c in ("train", "test")}
    (root / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(config))
    model = _train(TrainingEnvironment.from_job_dir(root, "npy-job"))
    assert model.feature_names == [f"s{i}" for i in range(6)]
    assert roc_auc_score(yte, model.score(Xte)) > 0.95


# --- bad input ---------------------------------------------------------------------------------


def test_feature_dim_must_match_the_data(tmp_path: Path, planted) -> None:
    X = planted["train"][0][:300]
    env = _job(tmp_path / "a", {"feature_dim": 5, **SMALL}, {"train": (X, UNLABELLED)})
    with pytest.raises(ValidationError) as info:
        _train(env)
    assert info.value.field == "hyperparameters['feature_dim']" and info.value.value == 5
    # A plain text/csv train channel is label-first (SageMaker's rule): one column short.
    env = _job(tmp_path / "b", {"feature_dim": 6, **SMALL}, {"train": (X, "text/csv")})
    with pytest.raises(ValidationError, match="label_size=0"):
        _train(env)


@pytest.mark.parametrize(
    ("channel", "content", "field"),
    [
        ("train", "1,2\nx,3\n", "channel 'train' columns"),
        ("train", "1,2\n,3\n", "channel 'train' features"),
        ("test", "2,1,2\n0,3,4\n", "channel 'test' labels"),
    ],
)
def test_bad_channel_data_is_refused(tmp_path: Path, channel: str, content: str, field: str):
    env = _job(tmp_path, {"feature_dim": 2, **SMALL},
               {"train": (np.ones((4, 2)), UNLABELLED)})  # fmt: skip
    folder = env.channel_dir(channel)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{channel}.csv").write_text(content)
    content_type = UNLABELLED if channel == "train" else "text/csv"
    env.input_data_config[channel] = {"ContentType": content_type}
    with pytest.raises(ValidationError) as info:
        _train(env)
    assert info.value.field == field


def test_more_samples_per_tree_than_rows_trains_on_all_rows(tmp_path: Path, capsys) -> None:
    X, _ = _planted(100, 3, 2, seed=1)
    env = _job(tmp_path, {"feature_dim": 3, "num_trees": 50}, {"train": (X, UNLABELLED)})
    model = _train(env)
    assert "num_samples_per_tree=256 is more than the 102 rows" in capsys.readouterr().out
    assert model.meta["num_samples_per_tree"] == 102
    assert model.meta["hyperparameters"]["num_samples_per_tree"] == 256


def _prepared(name: str, matrix: np.ndarray, target: str | None = None) -> PreparedChannel:
    columns = [f"c{i}" for i in range(matrix.shape[1])]
    labels = matrix[:, 0] if target else None
    return PreparedChannel(name=name, content_type="application/x-npy", matrix=matrix,
                           target=target, n_rows=len(matrix), columns=columns, labels=labels)  # fmt: skip


def test_check_data_refuses_bad_channels_before_a_job_starts(tmp_path: Path) -> None:
    hps = ALGO.validate_hyperparameters({"feature_dim": 3, "num_samples_per_tree": 10})
    good = np.random.default_rng(0).normal(size=(50, 3))
    ALGO.check_data(hps, [_prepared("train", good)])
    labelled = np.column_stack([np.r_[np.zeros(49), 1.0], good])
    ALGO.check_data(hps, [_prepared("train", labelled, "y"), _prepared("test", labelled, "y")])
    cases = [
        ([_prepared("train", good[:, :2])], "hyperparameters['feature_dim']"),
        ([_prepared("train", good), _prepared("test", good)], "inputs['test'] target"),
        ([_prepared("test", np.column_stack([np.full(50, 2.0), good]), "y")],
         "channel 'test' labels"),
        ([_prepared("train", np.where(good > 2, np.nan, good))], "channel 'train' features"),
    ]  # fmt: skip
    for channels, field in cases:
        with pytest.raises(ValidationError) as info:
            ALGO.check_data(hps, channels)
        assert info.value.field == field
    with pytest.warns(UserWarning, match="num_samples_per_tree=10 is more than the 5 rows"):
        ALGO.check_data(hps, [_prepared("train", good[:5])])
    csv = tmp_path / "train.csv"
    np.savetxt(csv, good, delimiter=",")
    path_channel = PreparedChannel(name="train", content_type=UNLABELLED, source=csv, files=[csv])
    ALGO.check_data(hps, [path_channel])
    path_channel.content_type = "text/csv"  # label-first: 2 features
    with pytest.raises(ValidationError, match="label_size=0"):
        ALGO.check_data(hps, [path_channel])


# --- end to end ---------------------------------------------------------------------------------


def test_estimator_fit_model_predict_and_endpoint_answer(workspace, tmp_path, planted) -> None:
    import workbench as wb
    from workbench.serving._handler import Call, Handler
    from workbench.training import TrainingInput

    (Xtr, _), (Xte, yte) = planted["train"], planted["test"]
    names = [f"s{i}" for i in range(6)]
    test_csv = tmp_path / "test.csv"  # SageMaker's test channel: label-first CSV
    np.savetxt(test_csv, np.column_stack([yte, Xte]), delimiter=",", fmt="%.10g")
    est = wb.Estimator(algorithm="rcf", hyperparameters={"feature_dim": 6, **SMALL})
    job = est.fit({"train": pd.DataFrame(Xtr[:800], columns=names),
                   "test": TrainingInput(str(test_csv), content_type="text/csv")},
                  logs=False)  # fmt: skip
    assert job.describe()["TrainingJobStatus"] == "Completed"
    finals = {m["MetricName"]: m["Value"] for m in job.describe()["FinalMetricDataList"]}
    assert finals["test:roc_auc_score"] > 0.95 and "test:f1" in finals
    model = job.model()
    scores = model.predict(pd.DataFrame(Xte, columns=names))
    assert isinstance(scores, pd.DataFrame) and list(scores.columns) == ["score"]
    assert roc_auc_score(yte, scores["score"]) > 0.95
    body = "\n".join(",".join(f"{v:.10g}" for v in row) for row in Xte[:3]).encode()
    reply = Handler.load(model.name).invoke(Call(body, "text/csv", "application/json"))
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert list(answer) == ["scores"] and len(answer["scores"]) == 3
    assert [list(r) for r in answer["scores"]] == [["score"]] * 3
    np.testing.assert_allclose([r["score"] for r in answer["scores"]],
                               scores["score"][:3], rtol=1e-4)  # fmt: skip
