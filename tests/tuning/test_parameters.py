import math

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

import workbench as wb
from workbench.exceptions import ValidationError
from workbench.tuning import (
    CategoricalParameter,
    ContinuousParameter,
    HyperbandStrategyConfig,
    HyperparameterTuner,
    IntegerParameter,
    TuningJobCompletionCriteriaConfig,
    WarmStartConfig,
    WarmStartTypes,
)
from workbench.tuning._parameters import range_from_spec, range_to_spec

XGB = {"objective": "binary:logistic", "num_round": 5}


@pytest.mark.parametrize(
    ("rng", "expected"),
    [
        (IntegerParameter(2, 10), IntDistribution(2, 10)),
        (IntegerParameter(1, 5000), IntDistribution(1, 5000, log=True)),  # Auto: 3+ decades
        (IntegerParameter(0, 5000), IntDistribution(0, 5000)),  # Auto: min 0 stays Linear
        (IntegerParameter(1, 64, "Logarithmic"), IntDistribution(1, 64, log=True)),
        (ContinuousParameter(0.1, 0.5), FloatDistribution(0.1, 0.5)),
        (ContinuousParameter(1e-4, 1.0), FloatDistribution(1e-4, 1.0, log=True)),
        (ContinuousParameter(1e-4, 1.0, "Linear"), FloatDistribution(1e-4, 1.0)),
        (
            ContinuousParameter(0.9, 0.999, "ReverseLogarithmic"),
            FloatDistribution(0.001, 0.1, log=True),
        ),
        (CategoricalParameter(["a", "b"]), CategoricalDistribution(["a", "b"])),
        (CategoricalParameter("only"), CategoricalDistribution(["only"])),
    ],
)
def test_ranges_become_optuna_distributions(rng, expected) -> None:
    got = rng.distribution()
    assert type(got) is type(expected)
    assert (
        vars(got) == pytest.approx(vars(expected))
        if not isinstance(got, CategoricalDistribution)
        else got.choices == expected.choices
    )


def test_reverse_logarithmic_maps_samples_back_and_forth() -> None:
    rng = ContinuousParameter(0.9, 0.999, "ReverseLogarithmic")
    assert rng.to_value(0.01) == pytest.approx(0.99)
    assert rng.to_sample(0.99) == pytest.approx(0.01)
    assert rng.to_value(rng.distribution().low) == pytest.approx(0.999)
    assert IntegerParameter(1, 9).to_value(3.0) == 3 and isinstance(
        IntegerParameter(1, 9).to_value(3.0), int
    )


@pytest.mark.parametrize(
    "rng",
    [IntegerParameter(1, 8, "Logarithmic"), ContinuousParameter(0.0, 0.5, "ReverseLogarithmic"),
     CategoricalParameter([1, "two", True])],
)  # fmt: skip
def test_ranges_round_trip_through_their_catalogue_form(rng) -> None:
    assert range_from_spec(range_to_spec(rng)) == rng


def test_sagemaker_range_form() -> None:
    assert ContinuousParameter(0.1, 0.5).as_tuning_range("eta") == {
        "Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Auto"
    }  # fmt: skip
    assert CategoricalParameter([1, 2]).as_tuning_range("d") == {"Name": "d", "Values": ["1", "2"]}
    assert math.isclose(ContinuousParameter(1, 1000).distribution().low, 1.0)


def _tuner(ranges, objective="validation:auc", estimator=None, **kwargs):
    est = estimator or wb.Estimator(algorithm="xgboost", target="y", hyperparameters=XGB)
    return HyperparameterTuner(est, objective, ranges, **kwargs)


BAD = [
    ({"eta": ContinuousParameter(0, 2)}, {}, "hyperparameter_ranges['eta'].max_value"),
    ({"etaa": ContinuousParameter(0, 1)}, {}, "allowed: num_round, objective"),
    ({"booster": CategoricalParameter(["gbtree", "dart"])}, {}, "cannot be tuned"),
    ({"max_depth": ContinuousParameter(1, 5)}, {}, "an IntegerParameter"),
    ({"grow_policy": IntegerParameter(1, 5)}, {}, "a CategoricalParameter"),
    ({"eta": ContinuousParameter(0.1, 0.5, "Sideways")}, {}, "scaling_type"),
    ({"eta": ContinuousParameter(0.5, 0.1)}, {}, "min_value <= max_value"),
    ({"eta": ContinuousParameter(0, 0.5, "Logarithmic")}, {}, "for Logarithmic scaling"),
    ({"max_depth": IntegerParameter(1, 5, "ReverseLogarithmic")}, {}, "continuous ranges only"),
    ({"eta": ContinuousParameter(0.5, 1, "ReverseLogarithmic")}, {}, "max_value < 1"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"objective": "validation:bogus"}, "objective_metric_name"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"objective": "auc"}, "'train:<m>' or 'validation:<m>'"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"max_jobs": 2, "max_parallel_jobs": 3}, "max_parallel_jobs"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"strategy": "Grid"}, "Grid strategy takes categorical"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"strategy": "Genetic"}, "Bayesian, Random, Grid, Hyperband"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"objective_type": "Max"}, "objective_type"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"early_stopping_type": "On"}, "early_stopping_type"),
    ({"eta": ContinuousParameter(0.1, 0.5)},
     {"strategy": "Hyperband", "early_stopping_type": "Auto"}, "'Off' with the Hyperband"),
    ({"eta": ContinuousParameter(0.1, 0.5)},
     {"strategy": "Hyperband", "strategy_config": HyperbandStrategyConfig(10, 5)}, "max_resource"),
    ({"eta": ContinuousParameter(0.1, 0.5)},
     {"metric_definitions": [{"Name": "m", "Regex": "m=(.*)"}]}, "built-in algorithm"),
    ({"eta": ContinuousParameter(0.1, 0.5)},
     {"warm_start_config": WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, {"a", "b", "c", "d", "e", "f"})},
     "1 to 5 tuning job names"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"job_name": "x" * 33}, "job_name"),
    ({f"p{i}": IntegerParameter(0, 1) for i in range(31)}, {}, "at most 30 ranges"),
    ({"eta": "0.1"}, {}, "an IntegerParameter, ContinuousParameter or CategoricalParameter"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"max_runtime_in_seconds": 0}, "max_runtime_in_seconds"),
    ({"eta": ContinuousParameter(0.1, 0.5)}, {"completion_criteria_config": {"target": 1}},
     "a TuningJobCompletionCriteriaConfig"),
    ({"eta": ContinuousParameter(0.1, 0.5)},
     {"completion_criteria_config": TuningJobCompletionCriteriaConfig(max_number_of_training_jobs_not_improving=1)},
     "max_number_of_training_jobs_not_improving"),
    ({"eta": ContinuousParameter(0.1, 0.5)},
     {"completion_criteria_config": TuningJobCompletionCriteriaConfig(target_objective_metric_value="high")},
     "target_objective_metric_value"),
]  # fmt: skip


@pytest.mark.parametrize(("ranges", "options", "message"), BAD)
def test_bad_settings_are_refused_before_anything_is_written(
    workspace, splits, ranges, options, message
) -> None:
    options = dict(options)
    objective = options.pop("objective", "validation:auc")
    job_name = options.pop("job_name", None)
    tuner = _tuner(ranges, objective, **options)
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace("[", r"\[")):
        tuner.fit({"train": splits[0], "validation": splits[1]}, job_name=job_name)
    assert workspace.catalog.list("tuning-job") == []
    assert workspace.catalog.list("training-job") == []


def test_integer_range_on_a_float_hyperparameter_is_fine(workspace) -> None:
    from workbench.algorithms import get_algorithm
    from workbench.tuning._config import check_ranges

    ranges = {"gamma": IntegerParameter(0, 5), "alpha": ContinuousParameter(0, 3)}
    assert check_ranges(ranges, get_algorithm("xgboost")) is ranges


def test_script_mode_objective_must_be_in_metric_definitions(workspace, tmp_path, splits) -> None:
    (tmp_path / "train.py").write_text("print('loss=1')\n")
    est = wb.Estimator(entry_point="train.py", source_dir=str(tmp_path), target="y")
    tuner = HyperparameterTuner(
        est, "loss", {"x": ContinuousParameter(0, 1)},
        metric_definitions=[{"Name": "val", "Regex": "val=([0-9.]+)"}],
    )  # fmt: skip
    with pytest.raises(ValidationError, match="a name in metric_definitions: val"):
        tuner.fit({"train": splits[0]})
    assert workspace.catalog.list("tuning-job") == []
