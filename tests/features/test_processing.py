import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.exceptions import ArtifactIntegrityError, ValidationError
from workbench.features import Recipe, process, split

SENSORS = ["temperature", "vibration", "pressure", "rpm", "torque", "tool_wear_min"]
TARGET = "failure_within_7d"


@pytest.fixture(scope="module")
def machines():
    return wb.datasets.load("maintenance", size="small", seed=0)


def _recipe():
    return (
        Recipe(target=TARGET, name="maintenance")
        .add("drop", columns=["machine_id"])
        .add("date_parts", columns=["timestamp"], parts=["month", "dayofweek"])
        .add("one_hot", columns=["machine_type"])
        .add("impute", columns=SENSORS, strategy="median")
        .add("scale", columns=SENSORS, method="standard")
    )


def test_processing_job_writes_channels_recipe_and_lineage(workspace, machines):
    job = process(machines, _recipe(), split_method="group", group_column="machine_id", logs=False)
    assert job.status == "Completed"
    assert set(job.outputs) == {"train", "validation", "test", "recipe"}
    train = job.read("train")
    fitted = job.recipe()
    assert list(train.columns) == [*fitted.feature_names_out, TARGET]
    sizes = {part: len(job.read(part)) for part in ("train", "validation", "test")}
    assert sum(sizes.values()) == len(machines)
    lineage = job.lineage()
    assert lineage["upstream"][0]["relation"] == "input"
    assert {d["relation"] for d in lineage["downstream"]} >= {"output:train", "output:test"}
    assert job.max_rss_mb and job.max_rss_mb > 10
    assert job.describe()["ProcessingJobStatus"] == "Completed"


def test_the_recipe_is_fitted_on_the_training_split_only(workspace, machines):
    job = process(
        machines, _recipe(), split_method="group", group_column="machine_id", seed=3, logs=False
    )
    parts = split(machines, "group", group_column="machine_id", target=TARGET, seed=3)
    offline = _recipe().fit(parts.train)
    expected = offline.transform(parts.test)
    written = job.read("test").drop(columns=TARGET)
    np.testing.assert_allclose(written.to_numpy(), expected.to_numpy())


def test_a_model_trained_on_processed_channels_predicts_raw_records_exactly(workspace, machines):
    job = process(machines, _recipe(), split_method="stratified", logs=False)
    est = wb.Estimator(
        algorithm="xgboost", hyperparameters={"objective": "binary:logistic", "num_round": 20}
    )
    training = est.fit(job.channels(), logs=False)
    model = training.model()
    assert model.recipe is not None
    parts = split(machines, "stratified", target=TARGET, seed=0)
    raw = parts.test
    online = model.predict_proba(raw)[1].to_numpy()
    offline_features = job.recipe().transform(raw)
    offline = model._impl.predict_proba(offline_features.to_numpy(dtype=np.float64))[:, 1]
    assert np.array_equal(online, offline)
    processed = job.read("test").drop(columns=TARGET)
    from_channel = model._impl.predict_proba(processed.to_numpy(dtype=np.float64))[:, 1]
    assert np.array_equal(online, from_channel)
    upstream = {(u["kind"], u["relation"]) for u in training.lineage()["upstream"]}
    assert ("processing-job", "channels") in upstream


def test_estimator_recipe_argument_packs_an_in_kernel_fitted_recipe(workspace, machines):
    parts = split(machines, "random", target=TARGET, seed=1)
    fitted = _recipe().fit(parts.train)
    train = fitted.transform(parts.train).assign(**{TARGET: parts.train[TARGET].to_numpy()})
    est = wb.Estimator(
        algorithm="xgboost",
        target=TARGET,
        recipe=fitted,
        hyperparameters={"objective": "binary:logistic", "num_round": 10},
    )
    model = est.fit({"train": train}, logs=False).model()
    direct = model._impl.predict_proba(fitted.transform(parts.test).to_numpy(dtype=np.float64))
    assert np.array_equal(model.predict_proba(parts.test).to_numpy(), direct)


def test_bad_input_is_refused_before_anything_is_written(workspace, machines):
    bad_recipe = _recipe().add("scale", columns=["no_such_column"])
    with pytest.raises(ValidationError, match="temperature"):
        process(machines, bad_recipe)
    with pytest.raises(ValidationError, match="machine_type"):
        process(machines, _recipe(), split_method="time", time_column="machine_type")
    with pytest.raises(ValidationError, match="split_method"):
        process(machines, _recipe(), split_method="shuffle")
    with pytest.raises(ValidationError, match="target"):
        process(machines.drop(columns=[TARGET]), _recipe())
    with pytest.raises(ValidationError, match="data"):
        process("/no/such/file.csv", _recipe())
    assert workspace.catalog.list("processing-job") == []


def test_a_changed_recipe_file_is_refused(workspace, machines):
    job = process(machines, _recipe(), logs=False)
    recipe_dir = job.outputs["recipe"]
    victim = next(p for p in recipe_dir.iterdir() if p.is_file())
    victim.write_bytes(victim.read_bytes() + b" ")
    with pytest.raises(ArtifactIntegrityError, match="changed"):
        job.channels()


def test_processing_a_parquet_file(workspace, machines, tmp_path):
    path = tmp_path / "machines.parquet"
    machines.to_parquet(path)
    job = process(str(path), _recipe(), split_method="time", time_column="timestamp", logs=False)
    assert job.read("train")[TARGET].notna().all()
    train_end = pd.read_parquet(path).loc[:, "timestamp"].max()
    assert train_end is not None
