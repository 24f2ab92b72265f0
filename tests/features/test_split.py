"""Tests of workbench.features._split: sizes, determinism, stratification, time and groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench.datasets as ds
from workbench.exceptions import ValidationError
from workbench.features._split import METHODS, Split, split


@pytest.fixture(scope="module")
def fraud() -> pd.DataFrame:
    # A shuffled, non-default index: splits must keep it.
    df = ds.load("fraud")
    return df.set_axis(np.random.default_rng(0).permutation(len(df)) + 10_000)


@pytest.fixture(scope="module")
def maintenance() -> pd.DataFrame:
    return ds.load("maintenance")


def _kwargs(method: str) -> dict:
    return {
        "random": {},
        "stratified": {"target": "is_fraud"},
        "time": {"time_column": "when"},
        "group": {"group_column": "customer"},
    }[method]


@pytest.fixture(scope="module")
def frame(fraud) -> pd.DataFrame:
    """fraud plus a time column (distinct per row) and a group column (500 customers)."""
    return fraud.assign(
        when=pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(fraud)), "min"),
        customer=np.arange(len(fraud)) % 500,
    )


# -- sizes, coverage, determinism ---------------------------------------------------------


@pytest.mark.parametrize("method", ["random", "stratified", "time"])
def test_sizes_are_fractions_of_rows(frame, method):
    s = split(frame, method, test_size=0.2, validation_size=0.1, **_kwargs(method))
    assert s.sizes() == {"train": 3500, "validation": 500, "test": 1000}


def test_group_sizes_are_fractions_of_groups(frame):
    s = split(frame, "group", group_column="customer", test_size=0.2, validation_size=0.1)
    groups = {part: frame_["customer"].nunique() for part, frame_ in zip(s._fields, s)}
    assert groups == {"train": 350, "validation": 50, "test": 100}


@pytest.mark.parametrize("method", METHODS)
def test_parts_cover_every_row_once_and_keep_the_index(frame, method):
    s = split(frame, method, **_kwargs(method))
    indexes = [part.index for part in s]
    combined = indexes[0].append(indexes[1]).append(indexes[2])
    assert combined.is_unique
    assert set(combined) == set(frame.index)
    for part in s:
        pd.testing.assert_frame_equal(part, frame.loc[part.index])


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_gives_the_same_split_and_another_seed_another(frame, method):
    first = split(frame, method, seed=3, **_kwargs(method))
    again = split(frame, method, seed=3, **_kwargs(method))
    other = split(frame, method, seed=4, **_kwargs(method))
    for a, b in zip(first, again):
        assert a.index.equals(b.index)
    if method != "time":  # a time split does not depend on the seed
        assert not first.test.index.equals(other.test.index)


@pytest.mark.parametrize(
    "test_size, validation_size, expected",
    [(0.2, 0.0, (4000, 0, 1000)), (0.0, 0.1, (4500, 500, 0)), (0.0, 0.0, (5000, 0, 0))],
)
def test_a_zero_size_leaves_that_part_empty(frame, test_size, validation_size, expected):
    s = split(frame, test_size=test_size, validation_size=validation_size)
    assert tuple(s.sizes().values()) == expected
    assert list(s.validation.columns) == list(frame.columns)


def test_split_is_a_named_tuple_that_unpacks(frame):
    s = split(frame)
    train, validation, test = s
    assert isinstance(s, tuple) and s._fields == ("train", "validation", "test")
    assert train is s.train and validation is s.validation and test is s.test
    assert "train=3,500 rows" in repr(s)


# -- stratified ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, target", [("fraud", "is_fraud"), ("marketing", "subscribed"), ("text", "topic")]
)
def test_stratified_keeps_class_shares_within_one_row(name, target):
    df = ds.load(name)
    s = split(df, "stratified", target=target, test_size=0.25, validation_size=0.15, seed=1)
    shares = df[target].value_counts(normalize=True)
    for part in s:
        counts = part[target].value_counts().reindex(shares.index, fill_value=0)
        assert np.all(np.abs(counts - shares * len(part)) <= 1), (counts, shares * len(part))


def test_stratified_keeps_every_class_in_train_even_when_tiny():
    df = pd.DataFrame({"x": range(100), "y": ["a"] * 96 + ["b"] * 2 + ["c"] * 2})
    s = split(df, "stratified", target="y", test_size=0.3, validation_size=0.3)
    assert set(s.train["y"]) == {"a", "b", "c"}


def test_stratified_split_gives_each_part_the_same_target_rate(frame):
    strat = split(frame, "stratified", target="is_fraud").describe()["target_rate"]
    assert strat.max() - strat.min() < 0.002


# -- time ---------------------------------------------------------------------------------


def test_time_split_orders_parts_and_never_straddles_a_timestamp(maintenance):
    # 8 machines share each day: a day must land in one part only.
    s = split(maintenance, "time", time_column="timestamp", test_size=0.2, validation_size=0.1)
    assert s.train["timestamp"].max() < s.validation["timestamp"].min()
    assert s.validation["timestamp"].max() < s.test["timestamp"].min()
    days = [set(part["timestamp"]) for part in s]
    assert not (days[0] & days[1] or days[1] & days[2] or days[0] & days[2])
    assert abs(len(s.test) - 0.2 * len(maintenance)) <= 8  # within one day's rows
    assert s.train["timestamp"].is_monotonic_increasing


def test_time_split_parses_string_dates(maintenance):
    df = maintenance.assign(day=maintenance["timestamp"].dt.strftime("%Y-%m-%d"))
    by_text = split(df, "time", time_column="day")
    by_date = split(df, "time", time_column="timestamp")
    for a, b in zip(by_text, by_date):
        assert a.index.equals(b.index)


def test_time_split_with_too_few_timestamps_explains():
    df = pd.DataFrame({"t": pd.to_datetime(["2024-01-01"] * 5 + ["2024-01-02"] * 5), "x": 1})
    with pytest.raises(ValidationError, match="distinct timestamps") as err:
        split(df, "time", time_column="t")
    assert err.value.field == "time_column"


# -- group --------------------------------------------------------------------------------


def test_group_split_keeps_each_machine_in_one_part(maintenance):
    s = split(maintenance, "group", group_column="machine_id", target="failure_within_7d")
    machines = [set(part["machine_id"]) for part in s]
    assert not (machines[0] & machines[1] or machines[1] & machines[2] or machines[0] & machines[2])
    # 8 machines: test round(1.6) = 2, validation round(0.8) = 1, train 5
    assert [len(m) for m in machines] == [5, 1, 2]
    assert s.describe()["groups"].tolist() == [5, 1, 2]


# -- describe -----------------------------------------------------------------------------


def test_describe_reports_rows_share_target_rate_and_time_range(maintenance):
    s = split(maintenance, "time", time_column="timestamp", target="failure_within_7d")
    d = s.describe()
    assert d.index.tolist() == ["train", "validation", "test"]
    assert d["rows"].sum() == len(maintenance)
    assert d["share"].sum() == pytest.approx(1.0)
    for part_name, part in zip(d.index, s):
        assert d.loc[part_name, "target_rate"] == pytest.approx(part["failure_within_7d"].mean())
        assert d.loc[part_name, "time_min"] == part["timestamp"].min()
        assert d.loc[part_name, "time_max"] == part["timestamp"].max()


def test_describe_shows_class_shares_for_a_multiclass_target():
    s = split(ds.load("text"), "stratified", target="topic")
    d = s.describe()
    assert {c for c in d.columns if c.startswith("target=")} == {
        f"target={t}" for t in ds.load("text")["topic"].unique()
    }


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field, message",
    [
        ({"method": "kfold"}, "method", "random, stratified, time, group"),
        ({"method": "stratified"}, "target", "stratified"),
        ({"method": "stratified", "target": "label"}, "target", "is_fraud"),
        ({"method": "time"}, "time_column", "time"),
        ({"method": "time", "time_column": "amount"}, "time_column", "float64"),
        ({"method": "group"}, "group_column", "group"),
        ({"method": "group", "group_column": "shop"}, "group_column", "columns"),
        ({"test_size": 1.0}, "test_size", "[0, 1)"),
        ({"test_size": -0.1}, "test_size", "[0, 1)"),
        ({"validation_size": 1.5}, "validation_size", "[0, 1)"),
        ({"validation_size": "0.1"}, "validation_size", "[0, 1)"),
        ({"test_size": 0.6, "validation_size": 0.4}, "test_size + validation_size", "below 1"),
        ({"seed": 1.5}, "seed", "integer"),
    ],
)
def test_bad_input_names_the_field(fraud, kwargs, field, message):
    with pytest.raises(ValidationError) as err:
        split(fraud, **kwargs)
    assert err.value.field == field
    assert message in str(err.value)


def test_time_split_on_a_non_date_column_names_the_column_and_its_dtype(maintenance):
    with pytest.raises(ValidationError) as err:
        split(maintenance, "time", time_column="machine_type")
    text = str(err.value)
    assert err.value.field == "time_column"
    assert "Time split on a non-date column" in text
    assert "'machine_type'" in text and "dtype object" in text


def test_stratified_with_a_single_row_class_explains_why():
    df = pd.DataFrame({"x": range(10), "y": ["a"] * 9 + ["b"]})
    with pytest.raises(ValidationError, match="at least 2 rows per class") as err:
        split(df, "stratified", target="y")
    assert err.value.field == "target"
    assert "'b'" in str(err.value)


@pytest.mark.parametrize(
    "df, field",
    [
        ("not a frame", "df"),
        (pd.DataFrame(), "df"),
        (pd.DataFrame({"x": [1, 2]}), "df"),  # too few rows for three parts
    ],
)
def test_bad_frames_are_rejected(df, field):
    with pytest.raises(ValidationError) as err:
        split(df)
    assert err.value.field == field


def test_a_split_with_too_few_groups_is_rejected():
    df = pd.DataFrame({"g": [1, 1, 2, 2], "x": range(4)})
    with pytest.raises(ValidationError) as err:
        split(df, "group", group_column="g")
    assert err.value.field == "group_column"


def test_split_class_can_be_built_directly():
    empty = pd.DataFrame({"x": []})
    s = Split(pd.DataFrame({"x": [1]}), empty, empty)
    assert s.sizes() == {"train": 1, "validation": 0, "test": 0}
