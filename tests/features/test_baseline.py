"""Tests of workbench.features._baseline: Model Monitor files, round trip and violations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import workbench.datasets as ds
from workbench.exceptions import ValidationError
from workbench.features._baseline import (
    CHECK_TYPES,
    Baseline,
    check_against_baseline,
    suggest_baseline,
    write_violations,
)

MONITORING_CONFIG = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 0.1,
    "domain_content_threshold": 0.1,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
    },
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """maintenance features plus a boolean, and integers with gaps (float dtype)."""
    df = ds.load("maintenance").drop(columns="failure_within_7d")
    rng = np.random.default_rng(0)
    df["serviced"] = rng.random(len(df)) < 0.4
    df["cycles_logged"] = df["age_cycles"].where(rng.random(len(df)) > 0.1)  # 90% present
    df["delta"] = rng.normal(0, 1, len(df))  # takes negative values
    return df


@pytest.fixture(scope="module")
def baseline(frame) -> Baseline:
    return suggest_baseline(frame)


def _stats(baseline: Baseline, name: str) -> dict:
    return next(f for f in baseline.statistics["features"] if f["name"] == name)


def _constraint(baseline: Baseline, name: str) -> dict:
    return next(f for f in baseline.constraints["features"] if f["name"] == name)


# -- files --------------------------------------------------------------------------------


def test_write_creates_both_files_and_leaves_no_temporary_files(baseline, tmp_path):
    paths = baseline.write(tmp_path / "baseline")
    assert sorted(p.name for p in (tmp_path / "baseline").iterdir()) == [
        "constraints.json",
        "statistics.json",
    ]
    assert paths["statistics"].name == "statistics.json"
    assert json.loads(paths["constraints"].read_text())["version"] == 0.0


def test_written_files_round_trip(baseline, tmp_path):
    baseline.write(tmp_path)
    again = Baseline.read(tmp_path)
    assert again.statistics == baseline.statistics
    assert again.constraints == baseline.constraints
    again.write(tmp_path)  # overwrite in place
    assert Baseline.read(tmp_path).statistics == baseline.statistics


def test_files_are_strict_json(baseline, tmp_path):
    baseline.write(tmp_path)
    for name in ("statistics.json", "constraints.json"):
        json.loads((tmp_path / name).read_text(), parse_constant=pytest.fail)


# -- statistics.json ----------------------------------------------------------------------


def test_statistics_top_level_keys(frame, baseline):
    stats = baseline.statistics
    assert set(stats) == {"version", "dataset", "features"}
    assert stats["version"] == 0.0 and isinstance(stats["version"], float)
    assert stats["dataset"] == {"item_count": len(frame)}
    assert isinstance(stats["dataset"]["item_count"], int)
    assert [f["name"] for f in stats["features"]] == list(frame.columns)


@pytest.mark.parametrize(
    "column, inferred_type",
    [
        ("machine_id", "Integral"),
        ("age_cycles", "Integral"),
        ("cycles_logged", "Integral"),  # whole numbers with gaps (float dtype)
        ("temperature", "Fractional"),
        ("machine_type", "String"),
        ("serviced", "String"),  # booleans are reported as strings
        ("timestamp", "String"),  # so are datetimes
    ],
)
def test_inferred_types(baseline, column, inferred_type):
    assert _stats(baseline, column)["inferred_type"] == inferred_type
    assert _constraint(baseline, column)["inferred_type"] == inferred_type


def test_numerical_statistics_fields_and_values(frame, baseline):
    feature = _stats(baseline, "cycles_logged")
    assert set(feature) == {"name", "inferred_type", "numerical_statistics"}
    num = feature["numerical_statistics"]
    assert set(num) == {"common", "mean", "sum", "std_dev", "min", "max", "distribution"}
    values = frame["cycles_logged"].dropna()
    assert num["common"] == {"num_present": len(values), "num_missing": len(frame) - len(values)}
    assert num["mean"] == pytest.approx(values.mean())
    assert num["sum"] == pytest.approx(values.sum())
    assert num["std_dev"] == pytest.approx(values.std(ddof=0))
    assert (num["min"], num["max"]) == (values.min(), values.max())
    kll = num["distribution"]["kll"]
    assert set(kll) == {"buckets", "sketch"}
    assert len(kll["buckets"]) == 10
    assert all(set(b) == {"lower_bound", "upper_bound", "count"} for b in kll["buckets"])
    assert kll["buckets"][0]["lower_bound"] == values.min()
    assert kll["buckets"][-1]["upper_bound"] == values.max()
    assert sum(b["count"] for b in kll["buckets"]) == len(values)
    assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
    data = kll["sketch"]["data"]
    assert len(data) == 1 and data[0] == sorted(data[0])
    assert len(data[0]) == min(2048, len(values))


def test_sketch_holds_at_most_2048_values():
    df = pd.DataFrame({"x": np.random.default_rng(0).normal(size=10_000)})
    kll = suggest_baseline(df).statistics["features"][0]["numerical_statistics"]["distribution"]
    sketch = kll["kll"]["sketch"]["data"][0]
    assert len(sketch) == 2048 and sketch == sorted(sketch)
    assert sketch[0] == df["x"].min() and sketch[-1] == df["x"].max()


def test_string_statistics_fields_and_values(frame, baseline):
    feature = _stats(baseline, "machine_type")
    assert set(feature) == {"name", "inferred_type", "string_statistics"}
    strings = feature["string_statistics"]
    assert set(strings) == {"common", "distinct_count", "distribution"}
    assert strings["common"] == {"num_present": len(frame), "num_missing": 0}
    assert strings["distinct_count"] == 3
    buckets = strings["distribution"]["categorical"]["buckets"]
    counts = frame["machine_type"].value_counts().to_dict()
    assert {b["value"]: b["count"] for b in buckets} == counts
    serviced = _stats(baseline, "serviced")["string_statistics"]["distribution"]["categorical"]
    assert {b["value"] for b in serviced["buckets"]} == {"True", "False"}


# -- constraints.json ---------------------------------------------------------------------


def test_constraints_top_level_and_monitoring_config(frame, baseline):
    constraints = baseline.constraints
    assert set(constraints) == {"version", "features", "monitoring_config"}
    assert constraints["version"] == 0.0
    assert constraints["monitoring_config"] == MONITORING_CONFIG
    assert [f["name"] for f in constraints["features"]] == list(frame.columns)


@pytest.mark.parametrize(
    "column, keys",
    [
        ("temperature", {"name", "inferred_type", "completeness", "num_constraints"}),
        ("machine_type", {"name", "inferred_type", "completeness", "string_constraints"}),
        ("timestamp", {"name", "inferred_type", "completeness"}),  # 365 values: no domain
    ],
)
def test_constraint_keys_per_feature(baseline, column, keys):
    assert set(_constraint(baseline, column)) == keys


def test_completeness_is_the_share_present(frame, baseline):
    assert _constraint(baseline, "temperature")["completeness"] == 1.0
    expected = frame["cycles_logged"].notna().mean()
    assert _constraint(baseline, "cycles_logged")["completeness"] == pytest.approx(expected)


def test_is_non_negative_and_domains(baseline):
    assert _constraint(baseline, "age_cycles")["num_constraints"] == {"is_non_negative": True}
    assert _constraint(baseline, "delta")["num_constraints"] == {"is_non_negative": False}
    assert _constraint(baseline, "machine_type")["string_constraints"] == {
        "domains": ["H", "L", "M"]
    }
    assert _constraint(baseline, "serviced")["string_constraints"]["domains"] == ["False", "True"]


def test_exclude_leaves_columns_out(frame):
    b = suggest_baseline(frame, exclude=["timestamp", "machine_id"])
    names = [f["name"] for f in b.statistics["features"]]
    assert "timestamp" not in names and "machine_id" not in names
    assert len(names) == frame.shape[1] - 2
    assert suggest_baseline(frame, exclude="timestamp").features()["name"].tolist() == [
        c for c in frame.columns if c != "timestamp"
    ]


def test_an_all_missing_column_is_unknown():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "empty": [np.nan] * 3})
    b = suggest_baseline(df)
    assert _stats(b, "empty")["inferred_type"] == "Unknown"
    assert _constraint(b, "empty")["completeness"] == 0.0


# -- checks -------------------------------------------------------------------------------


def test_the_same_data_has_no_violations(frame, baseline, tmp_path):
    violations = check_against_baseline(frame, baseline)
    assert violations.empty
    assert violations.columns.tolist() == ["feature_name", "constraint_check_type", "description"]
    baseline.write(tmp_path)
    assert check_against_baseline(frame, tmp_path).empty  # a folder works too


def test_a_random_sample_of_the_same_data_does_not_drift(frame, baseline):
    assert check_against_baseline(frame.sample(300, random_state=1), baseline).empty


def _scale(df):
    return df.assign(temperature=df["temperature"] * 3)


def _new_category(df):
    machine_type = np.where(np.arange(len(df)) % 3 == 0, "XL", df["machine_type"])
    return df.assign(machine_type=machine_type)


def _drop(df):
    return df.drop(columns="pressure")


def _extra(df):
    return df.assign(operator="ann")


def _missing(df):
    return df.assign(vibration=df["vibration"].mask(np.arange(len(df)) % 5 == 0))


def _fractions(df):
    return df.assign(tool_wear_min=df["tool_wear_min"] + 0.5)


@pytest.mark.parametrize(
    "mutate, feature, check",
    [
        (_scale, "temperature", "baseline_drift_check"),
        (_new_category, "machine_type", "categorical_values_check"),
        (_new_category, "machine_type", "baseline_drift_check"),
        (_drop, "pressure", "missing_column_check"),
        (_extra, "operator", "extra_column_check"),
        (_missing, "vibration", "completeness_check"),
        (_fractions, "tool_wear_min", "data_type_check"),
    ],
)
def test_shifted_data_is_reported_with_sagemakers_check_names(
    frame, baseline, mutate, feature, check
):
    violations = check_against_baseline(mutate(frame), baseline)
    assert set(violations["constraint_check_type"]) <= set(CHECK_TYPES)
    found = set(zip(violations["feature_name"], violations["constraint_check_type"]))
    assert (feature, check) in found, violations
    untouched = {"rpm", "torque", "machine_id"}
    assert not untouched & set(violations["feature_name"])


def test_a_small_share_of_unknown_values_stays_under_the_domain_threshold(frame, baseline):
    machine_type = frame["machine_type"].mask(np.arange(len(frame)) % 50 == 0, "XL")  # 2%
    violations = check_against_baseline(frame.assign(machine_type=machine_type), baseline)
    assert "categorical_values_check" not in set(violations["constraint_check_type"])


def test_robust_comparison_allows_for_a_small_sample_and_simple_does_not(frame):
    # 40 rows shifted by 0.4 standard deviations: distance ~0.2, Robust margin ~0.29.
    b = suggest_baseline(frame[["temperature"]])
    shifted = frame[["temperature"]].sample(40, random_state=0) + 3.0
    assert check_against_baseline(shifted, b).empty
    b.constraints["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Simple"
    simple = check_against_baseline(shifted, b)
    assert simple["constraint_check_type"].tolist() == ["baseline_drift_check"]


def test_disabled_evaluation_only_reports_columns(frame):
    b = suggest_baseline(frame)
    b.constraints["monitoring_config"]["evaluate_constraints"] = "Disabled"
    violations = check_against_baseline(_drop(_scale(frame)), b)
    assert violations["constraint_check_type"].tolist() == ["missing_column_check"]


def test_exclude_ignores_columns_when_checking(frame):
    b = suggest_baseline(frame, exclude=["timestamp"])
    assert check_against_baseline(frame, b, exclude=["timestamp"]).empty
    extra = check_against_baseline(frame, b)
    assert extra[["feature_name", "constraint_check_type"]].values.tolist() == [
        ["timestamp", "extra_column_check"]
    ]


# -- constraint_violations.json -----------------------------------------------------------


def test_write_violations_writes_sagemakers_format(frame, baseline, tmp_path):
    violations = check_against_baseline(_drop(_scale(frame)), baseline)
    path = write_violations(violations, tmp_path / "report")
    assert path.name == "constraint_violations.json"
    body = json.loads(path.read_text())
    assert set(body) == {"violations"}
    assert len(body["violations"]) == len(violations)
    for record in body["violations"]:
        assert set(record) == {"feature_name", "constraint_check_type", "description"}
    assert {"temperature", "pressure"} <= {r["feature_name"] for r in body["violations"]}


def test_write_violations_with_no_violations_writes_an_empty_list(frame, baseline, tmp_path):
    path = write_violations(check_against_baseline(frame, baseline), tmp_path)
    assert json.loads(path.read_text()) == {"violations": []}
    assert [p.name for p in tmp_path.iterdir()] == ["constraint_violations.json"]


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "df, exclude, field",
    [
        (pd.DataFrame(), (), "df"),
        (pd.DataFrame({"a": []}), (), "df"),
        ([1, 2, 3], (), "df"),
        (pd.DataFrame({"a": [1]}), ["b"], "exclude"),
        (pd.DataFrame({"a": [1]}), ["a"], "exclude"),  # nothing left
    ],
)
def test_suggest_baseline_bad_input_names_the_field(df, exclude, field):
    with pytest.raises(ValidationError) as err:
        suggest_baseline(df, exclude=exclude)
    assert err.value.field == field


def test_excluded_columns_missing_from_the_frame_are_listed():
    with pytest.raises(ValidationError, match=r"\['b', 'c'\]"):
        suggest_baseline(pd.DataFrame({"a": [1]}), exclude=["b", "c"])


@pytest.mark.parametrize(
    "df, target, field",
    [
        (pd.DataFrame(), "baseline", "df"),
        (pd.DataFrame({"a": [1]}), {"features": []}, "baseline"),
        (pd.DataFrame({"a": [1]}), "no-such-folder", "directory"),
    ],
)
def test_check_against_baseline_bad_input_names_the_field(df, target, field, baseline, tmp_path):
    target = baseline if target == "baseline" else target
    if target == "no-such-folder":
        target = tmp_path / target
    with pytest.raises(ValidationError) as err:
        check_against_baseline(df, target)
    assert err.value.field == field


def test_write_violations_rejects_other_objects(tmp_path):
    with pytest.raises(ValidationError) as err:
        write_violations("nothing", tmp_path)
    assert err.value.field == "violations"
