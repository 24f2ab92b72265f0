import contextlib
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.algorithms import get_algorithm
from workbench.algorithms._deepar import (
    ForecastRequest,
    read_series,
    to_series,
    weighted_quantile_loss,
    write_series,
)
from workbench.exceptions import ValidationError
from workbench.serving._codec import encode_columns
from workbench.training._environment import TrainingEnvironment
from workbench.training._inputs import PreparedChannel

ALGO = get_algorithm("deepar")
P = 7  # prediction_length
QUANTILES = np.arange(1, 10) / 10
HPS = {
    "time_freq": "D",
    "context_length": 14,
    "prediction_length": P,
    "epochs": 40,
    "num_cells": 20,
    "num_layers": 1,
    "mini_batch_size": 32,
    "learning_rate": 0.01,
    "num_eval_samples": 50,
}


def _series(n=8, length=150, seed=0):
    """Daily series with a weekly cycle, a promotion uplift (dynamic_feat) and a cat."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    out = []
    for i in range(n):
        promo = (rng.random(length) < 0.15).astype(float)
        week = 1 + 0.5 * np.sin(2 * np.pi * t / 7)
        noise = 1 + 0.05 * rng.standard_normal(length)
        y = 50.0 * (i + 1) * week * (1 + 0.6 * promo) * noise
        out.append(
            {
                "start": "2023-01-02 00:00:00",
                "target": y.round(3).tolist(),
                "cat": [i % 2],
                "dynamic_feat": [promo.tolist()],
            }
        )
    return out


def _cut(records, n):
    """The records without their last n points (target and dynamic features)."""
    out = []
    for r in records:
        cut = dict(r, target=r["target"][:-n])
        if "dynamic_feat" in r:
            cut["dynamic_feat"] = [d[:-n] for d in r["dynamic_feat"]]
        out.append(cut)
    return out


def _job_dir(root: Path, hps: dict, channels: dict[str, list]) -> TrainingEnvironment:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (root / "model").mkdir()
    (root / "output" / "data").mkdir(parents=True)
    data_config = {}
    for name, records in channels.items():
        if isinstance(records, str):  # raw file text
            folder = root / "input" / "data" / name
            folder.mkdir(parents=True)
            (folder / f"{name}.json").write_text(records)
        else:
            write_series(records, root / "input" / "data" / name / f"{name}.json")
        data_config[name] = {"ContentType": "application/jsonlines"}
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hps.items()}))
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    return TrainingEnvironment.from_job_dir(root, "test-job")


def _metrics(hps, out):
    definitions = ALGO.metric_definitions(ALGO.validate_hyperparameters(hps))
    return {
        d["Name"]: [
            float(m.group(1)) for m in map(re.compile(d["Regex"]).search, out.splitlines()) if m
        ]
        for d in definitions
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One model trained on 8 series (train) and scored on their next week (test)."""
    full = _series()
    env = _job_dir(
        tmp_path_factory.mktemp("deepar") / "job", HPS, {"train": _cut(full, P), "test": full}
    )
    typed = ALGO.validate_hyperparameters(env.hyperparameters)
    ALGO.check_inputs(typed, env.channels)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        ALGO.train(env, typed)
    return env, ALGO.load(env.model_dir), full, buffer.getvalue()


def test_training_reports_sagemaker_metrics_and_beats_seasonal_naive(trained):
    env, model, full, out = trained
    series = _metrics(HPS, out)
    names = {"train:final_loss", "train:loss", "test:RMSE", "test:mean_wQuantileLoss"}
    assert names | {f"test:wQuantileLoss[{q:.1f}]" for q in QUANTILES} == set(series)
    assert len(series["train:loss"]) == HPS["epochs"]
    for name, values in series.items():
        if name != "train:loss":
            assert len(values) == 1, name
    per_quantile = [series[f"test:wQuantileLoss[{q:.1f}]"][0] for q in QUANTILES]
    assert series["test:mean_wQuantileLoss"][0] == pytest.approx(np.mean(per_quantile), rel=1e-4)
    # a seasonal-naive forecast (last week again) cannot know the promotions; DeepAR does
    actual = np.array([r["target"][-P:] for r in full])
    naive = np.array([r["target"][-2 * P : -P] for r in full])
    naive_wql = np.mean([weighted_quantile_loss(actual, naive, q) for q in QUANTILES])
    assert series["test:mean_wQuantileLoss"][0] < 0.6 * naive_wql, (series, naive_wql)
    assert series["test:RMSE"][0] < np.sqrt(np.mean((naive - actual) ** 2))
    files = sorted(p.name for p in env.model_dir.iterdir())
    assert files == ["deepar-model.json", "deepar-model.params"]  # no pickle


def test_import_does_not_load_mxnet():
    import subprocess

    code = "import sys, workbench.algorithms._deepar; print('mxnet' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_endpoint_request_and_response_follow_sagemaker_deepar(trained):
    _, model, full, _ = trained
    history = _cut(full[:2], P)
    for r, f in zip(history, full[:2]):
        r["dynamic_feat"] = f["dynamic_feat"]  # target + prediction_length
    body = {
        "instances": history,
        "configuration": {
            "num_samples": 20,
            "output_types": ["quantiles", "samples", "mean"],
            "quantiles": ["0.1", "0.9"],
        },
    }
    assert "application/json" in model.request_content_types
    request = model.decode_request(json.dumps(body).encode(), "application/json")
    assert isinstance(request, ForecastRequest) and len(request) == 2
    columns = model.response_columns(request)
    assert list(columns) == ["quantiles", "samples", "mean"]
    encoded, content_type = encode_columns(columns, "application/json")
    answer = json.loads(encoded)["predictions"]
    assert content_type == "application/json" and len(answer) == 2
    first = answer[0]
    assert set(first) == {"quantiles", "samples", "mean"}
    assert set(first["quantiles"]) == {"0.1", "0.9"}
    assert np.array(first["samples"]).shape == (20, P)
    low, high, mean = (np.array(first["quantiles"]["0.1"]), np.array(first["quantiles"]["0.9"]),
                       np.array(first["mean"]))  # fmt: skip
    assert np.all(low <= high) and len(mean) == P
    actual = np.array(full[0]["target"][-P:])
    assert np.mean(np.abs(mean - actual) / actual) < 0.25
    # JSON Lines: one instance per line, the default configuration (mean and quantiles)
    lines = "\n".join(json.dumps(r) for r in history).encode()
    request = model.decode_request(lines, "application/jsonlines")
    default = model.response_columns(request)
    assert list(default) == ["mean", "quantiles"]
    assert list(default["quantiles"][0]) == [f"{q:.1f}" for q in QUANTILES]
    # the same request gives the same answer (sampling is seeded)
    again = model.response_columns(model.decode_request(lines, "application/jsonlines"))
    assert again["mean"][1] == default["mean"][1]


def test_predict_frame_from_records_and_from_a_long_frame(trained):
    _, model, full, _ = trained
    history = _cut(full[:3], P)
    for r, f in zip(history, full[:3]):
        r["dynamic_feat"] = f["dynamic_feat"]
    frame = model.predict_frame(history)
    assert list(frame.columns) == ["series_id", "timestamp", "mean"] + [
        f"{q:.1f}" for q in QUANTILES
    ]
    assert len(frame) == 3 * P
    first_day = pd.Timestamp("2023-01-02") + pd.Timedelta(days=len(history[0]["target"]))
    assert frame["timestamp"].iloc[0] == first_day
    assert (frame["0.1"] <= frame["0.9"]).all()
    # the same series as a long DataFrame: future rows have a missing target and known promo
    rows = []
    for k, r in enumerate(full[:3]):
        days = pd.date_range("2023-01-02", periods=len(r["target"]), freq="D")
        value = np.array(r["target"])
        value[-P:] = np.nan
        rows.append(pd.DataFrame({"store": f"s{k}", "day": days, "sales": value,
                                  "promo": r["dynamic_feat"][0], "kind": r["cat"][0]}))  # fmt: skip
    long = pd.concat(rows, ignore_index=True)
    by_frame = model.predict_frame(
        long, id_col="store", time_col="day", target_col="sales", cat_cols=["kind"]
    )
    assert by_frame["store"].tolist() == np.repeat(["s0", "s1", "s2"], P).tolist()
    np.testing.assert_allclose(by_frame["mean"], frame["mean"], rtol=1e-6)
    with pytest.raises(ValidationError, match="dynamic_feat_cols"):
        model.predict_frame(long.assign(extra=1.0), id_col="store", time_col="day",
                            target_col="sales", cat_cols=["kind"])  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.update(dynamic_feat=[r["dynamic_feat"][0][:-1]]), "dynamic_feat"),
        (lambda r: r.update(cat=[5]), "cat"),
        (lambda r: r.pop("cat"), "cat"),
        (lambda r: r.update(start="yesterday"), "start"),
        (lambda r: r.update(target=["a", 1]), "target"),
    ],
)
def test_bad_instances_are_refused_with_the_field(trained, change, field):
    _, model, full, _ = trained
    instance = dict(_cut(full[:1], P)[0], dynamic_feat=full[0]["dynamic_feat"])
    change(instance)
    body = json.dumps({"instances": [instance]}).encode()
    with pytest.raises(ValidationError, match=rf"instances\[0\] {field}"):
        model.decode_request(body, "application/json")


@pytest.mark.parametrize(
    "config",
    [{"num_samples": 0}, {"output_types": ["median"]}, {"quantiles": ["1.5"]}],
)
def test_bad_configuration_is_refused(trained, config):
    _, model, full, _ = trained
    instance = dict(_cut(full[:1], P)[0], dynamic_feat=full[0]["dynamic_feat"])
    body = json.dumps({"instances": [instance], "configuration": config}).encode()
    with pytest.raises(ValidationError, match=f"configuration.{next(iter(config))}"):
        model.decode_request(body, "application/json")


@pytest.mark.parametrize("likelihood", ["gaussian", "negative-binomial", "deterministic-L1"])
def test_other_likelihoods_train_and_forecast(tmp_path, likelihood):
    full = [dict(r, target=np.round(r["target"]).tolist()) for r in _series(n=4, length=60)]
    hps = dict(HPS, epochs=2, likelihood=likelihood, num_eval_samples=10, cardinality="ignore",
               num_dynamic_feat="ignore")  # fmt: skip
    env = _job_dir(tmp_path / "job", hps, {"train": full})
    ALGO.train(env, ALGO.validate_hyperparameters(env.hyperparameters))
    model = ALGO.load(env.model_dir)
    paths = model.sample_paths(full, num_samples=10)
    assert paths.shape == (4, 10, P) and np.all(np.isfinite(paths))
    if likelihood == "negative-binomial":
        assert np.all(paths >= 0) and np.all(paths == np.round(paths))
    if likelihood == "deterministic-L1":
        assert np.allclose(paths.std(axis=1), 0, atol=1e-8)


def test_early_stopping_keeps_the_best_epoch(tmp_path, capsys):
    full = _series(n=4, length=60)
    hps = dict(HPS, epochs=60, early_stopping_patience=1, mini_batch_size=8)
    env = _job_dir(tmp_path / "job", hps, {"train": full})
    ALGO.train(env, ALGO.validate_hyperparameters(env.hyperparameters))
    out = capsys.readouterr().out
    series = _metrics(hps, out)
    assert "early stopping" in out and len(series["train:loss"]) < 60
    assert series["train:final_loss"][0] == min(series["train:loss"])


@pytest.mark.parametrize(
    ("hps", "field"),
    [
        ({"context_length": 5, "prediction_length": 5, "epochs": 1}, "time_freq"),
        ({"time_freq": "D", "prediction_length": 5, "epochs": 1}, "context_length"),
        ({"time_freq": "D", "context_length": 5, "epochs": 1}, "prediction_length"),
        ({"time_freq": "D", "context_length": 5, "prediction_length": 5}, "epochs"),
        ({"time_freq": "5X"}, "time_freq"),
        ({"time_freq": "0min"}, "time_freq"),
        ({"likelihood": "beta"}, "likelihood"),
        ({"likelihood": "poisson"}, "likelihood"),
        ({"cardinality": "[2, x]"}, "cardinality"),
        ({"num_dynamic_feat": "-1"}, "num_dynamic_feat"),
        ({"test_quantiles": "[0.1, 1.5]"}, "test_quantiles"),
        ({"dropout_rate": 1.0}, "dropout_rate"),
    ],
)
def test_bad_hyperparameters_are_refused(hps, field):
    base = {"time_freq": "D", "context_length": 5, "prediction_length": 5, "epochs": 1}
    values = hps if len(hps) == 3 else dict(base, **hps)
    with pytest.raises(ValidationError, match=field):
        ALGO.validate_hyperparameters(values)


def test_sagemaker_style_values_are_accepted():
    typed = ALGO.validate_hyperparameters(
        {"time_freq": "15min", "context_length": "8", "prediction_length": "4", "epochs": "2",
         "test_quantiles": [0.1, 0.5, 0.9], "cardinality": [3, 2], "num_dynamic_feat": 2}
    )  # fmt: skip
    names = {d["Name"] for d in ALGO.metric_definitions(typed)}
    assert {"test:wQuantileLoss[0.5]", "test:RMSE", "train:final_loss"} <= names
    assert "test:wQuantileLoss[0.2]" not in names
    assert ALGO.problem_type(typed) == "forecasting" and ALGO.supervised is False


def _channel(tmp_path, name, records):
    path = tmp_path / f"{name}.json"
    if isinstance(records, str):
        path.write_text(records)
    else:
        write_series(records, path)
    return PreparedChannel(
        name=name, content_type="application/jsonlines", source=path, files=[path]
    )


def _check(tmp_path, hps, channels):
    typed = ALGO.validate_hyperparameters(dict(HPS, **hps))
    ALGO.check_data(typed, [_channel(tmp_path, n, r) for n, r in channels.items()])


def test_check_data_refuses_a_prediction_length_the_series_cannot_hold(tmp_path):
    full = _series(n=3, length=40)
    _check(tmp_path, {}, {"train": _cut(full, P), "test": full})  # fits: no error
    with pytest.raises(ValidationError, match="prediction_length") as info:
        _check(tmp_path, {"prediction_length": 30}, {"train": _cut(full, P)})
    assert info.value.field == "hyperparameters['prediction_length']"
    short = [dict(r, target=r["target"][:5], dynamic_feat=[r["dynamic_feat"][0][:5]]) for r in full]
    with pytest.raises(ValidationError, match="prediction_length"):
        _check(tmp_path, {}, {"train": full, "test": short})


@pytest.mark.parametrize(
    ("change", "hps", "field"),
    [
        (lambda r: r.update(start="2023-13-45"), {}, "line 2 start"),
        (lambda r: r.update(start=20230101), {}, "line 2 start"),
        (lambda r: r.update(dynamic_feat=[r["dynamic_feat"][0][:-3]]), {}, "line 2 dynamic_feat"),
        (lambda r: r.update(dynamic_feat=[[None] * len(r["target"])]), {}, "dynamic_feat"),
        (lambda r: r.update(cat=[7]), {"cardinality": "[2]"}, "line 2 cat"),
        (lambda r: r.update(cat=[0, 1]), {}, "cat"),
        (lambda r: r.pop("dynamic_feat"), {}, "dynamic_feat"),
        (lambda r: None, {"num_dynamic_feat": 2}, "num_dynamic_feat"),
        (lambda r: None, {"cardinality": "[2, 2]"}, "cardinality"),
    ],
)
def test_check_data_refuses_bad_series(tmp_path, change, hps, field):
    records = _series(n=3, length=40)
    change(records[1])
    with pytest.raises(ValidationError, match=re.escape(field)):
        _check(tmp_path, hps, {"train": records})


def test_bad_json_and_dataframes_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="line 1"):
        _check(tmp_path, {}, {"train": '{"start": "2023-01-01", "target": [1, 2\n'})
    frame = PreparedChannel(name="train", content_type="application/x-npy", frame=object())
    with pytest.raises(ValidationError, match="to_series") as info:
        ALGO.check_data(ALGO.validate_hyperparameters(HPS), [frame])
    assert info.value.field == "inputs['train']"


def test_the_job_checks_its_files_before_training(tmp_path, capsys):
    records = _series(n=3, length=40)
    records[2]["start"] = "not a date"
    env = _job_dir(tmp_path / "job", HPS, {"train": records})
    with pytest.raises(ValidationError, match="line 3 start"):
        ALGO.train(env, ALGO.validate_hyperparameters(env.hyperparameters))
    assert "train loss" not in capsys.readouterr().out


def test_to_series_and_write_series_round_trip(tmp_path):
    df = pd.DataFrame(
        {
            "series_id": ["b", "b", "b", "a", "a"],
            "timestamp": pd.to_datetime(
                ["2022-01-02", "2022-01-01", "2022-01-03", "2022-01-05", "2022-01-06"]
            ),
            "value": [2.0, 1.0, np.nan, 5.0, 6.0],
            "promo": [0, 1, 0, 1, 1],
            "store_type": [1, 1, 1, 0, 0],
        }
    )
    records = to_series(df, "series_id", "timestamp", "value", ["promo"], ["store_type"])
    assert records == [
        {"start": "2022-01-05 00:00:00", "target": [5.0, 6.0], "cat": [0],
         "dynamic_feat": [[1.0, 1.0]]},
        {"start": "2022-01-01 00:00:00", "target": [1.0, 2.0, "NaN"], "cat": [1],
         "dynamic_feat": [[1.0, 0.0, 0.0]]},
    ]  # fmt: skip
    path = write_series(records, tmp_path / "data" / "train.json")
    assert path.read_text().count("\n") == 2 and '"NaN"' in path.read_text()
    assert read_series(tmp_path / "data") == records
    with pytest.raises(ValidationError, match="store_type"):
        to_series(df.assign(store_type=[1, 2, 1, 0, 0]), "series_id", "timestamp", "value",
                  cat_cols=["store_type"])  # fmt: skip
    with pytest.raises(ValidationError, match="dynamic_feat_cols"):
        to_series(df.assign(promo=[0, np.nan, 0, 1, 1]), "series_id", "timestamp", "value",
                  ["promo"])  # fmt: skip
    with pytest.raises(ValidationError, match="target_col"):
        to_series(df, "series_id", "timestamp", "sales")


def test_weighted_quantile_loss_matches_the_definition():
    y = np.array([[10.0, np.nan, 30.0]])
    q = np.array([[12.0, 5.0, 20.0]])
    expected = 2 * (0.9 * 0 + 0.1 * 2 + 0.9 * 10) / 40
    assert weighted_quantile_loss(y, q, 0.9) == pytest.approx(expected)


@pytest.mark.slow
def test_estimator_fit_model_predict_and_endpoint_answer(tmp_path, workspace):
    import workbench as wb
    from workbench.serving._handler import Call, Handler
    from workbench.training import TrainingInput

    full = _series(n=4, length=80)
    train_path = write_series(_cut(full, P), tmp_path / "data" / "train.json")
    test_path = write_series(full, tmp_path / "data" / "test.json")
    est = wb.Estimator(algorithm="forecasting-deepar", hyperparameters=dict(HPS, epochs=5))
    job = est.fit(
        {
            "train": TrainingInput(str(train_path), content_type="application/jsonlines"),
            "test": TrainingInput(str(test_path), content_type="application/jsonlines"),
        },
        logs=False,
    )
    metrics = {m["MetricName"] for m in job.describe()["FinalMetricDataList"]}
    assert {"train:final_loss", "test:RMSE", "test:mean_wQuantileLoss"} <= metrics
    model = job.model()
    history = [dict(h, dynamic_feat=f["dynamic_feat"]) for h, f in zip(_cut(full, P), full)]
    frame = model.predict(history)
    assert list(frame.columns[:3]) == ["series_id", "timestamp", "mean"] and len(frame) == 4 * P
    body = {"instances": history[:1], "configuration": {"num_samples": 10, "quantiles": ["0.5"]}}
    reply = Handler.load(model.name).invoke(
        Call(json.dumps(body).encode(), "application/json", "application/json")
    )
    assert reply.status == 200, reply.body
    answer = json.loads(reply.body)
    assert list(answer) == ["predictions"]
    assert set(answer["predictions"][0]) == {"mean", "quantiles"}
    assert len(answer["predictions"][0]["quantiles"]["0.5"]) == P


def test_time_freq_chooses_lags_calendar_features_and_forecast_dates(tmp_path):
    from workbench.algorithms._deepar import _Freq

    daily, hourly, quarter_hour = _Freq.parse("D"), _Freq.parse("2H"), _Freq.parse("15min")
    assert {1, 7, 14, 21, 28, 30, 365} <= set(daily.lags())
    assert {1, 12, 84} <= set(hourly.lags())  # half a day, a week of 2-hour steps
    assert {4, 96} <= set(quarter_hour.lags())  # an hour and a day of 15-minute steps
    assert daily.n_time_features == 3 and _Freq.parse("M").n_time_features == 1
    months = _Freq.parse("M").dates(pd.Timestamp("2022-01-31"), 3, first=1)
    assert [d.strftime("%Y-%m-%d") for d in months] == ["2022-02-28", "2022-03-31", "2022-04-30"]
    # a weekly model forecasts the weeks after each series
    weekly = [{"start": "2020-01-06", "target": (100 + 10 * np.sin(np.arange(60))).tolist()}]
    hps = dict(HPS, time_freq="W", context_length=8, prediction_length=4, epochs=1)
    env = _job_dir(tmp_path / "job", hps, {"train": weekly})
    ALGO.train(env, ALGO.validate_hyperparameters(env.hyperparameters))
    frame = ALGO.load(env.model_dir).predict_frame(weekly, num_samples=5, quantiles=[0.5])
    assert list(frame.columns) == ["series_id", "timestamp", "mean", "0.5"]
    first = pd.Timestamp("2020-01-06") + pd.Timedelta(weeks=60)
    assert frame["timestamp"].tolist() == [first + pd.Timedelta(weeks=k) for k in range(4)]
