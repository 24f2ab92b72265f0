import pytest

import workbench as wb
from workbench.tuning import ContinuousParameter, HyperparameterTuner, IntegerParameter

XGB = {"objective": "binary:logistic", "num_round": 10, "eval_metric": "auc"}


@pytest.fixture
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_trials_run_in_dask_workers(workspace, splits, client) -> None:
    est = wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    tuner = HyperparameterTuner(
        est, "validation:auc",
        {"eta": ContinuousParameter(0.05, 0.5), "max_depth": IntegerParameter(1, 5)},
        strategy="Random", max_jobs=4, max_parallel_jobs=2, random_seed=0, dask_client=client,
    )  # fmt: skip
    tuner.fit({"train": splits[0], "validation": splits[1]})
    desc = tuner.describe()
    assert desc["HyperParameterTuningJobStatus"] == "Completed"
    assert desc["TrainingJobStatusCounters"]["Completed"] == 4
    frame = tuner.analytics().dataframe()
    assert len(frame) == 4 and frame.FinalObjectiveValue.notna().all()
    assert tuner.best_training_job() in set(frame.TrainingJobName)
