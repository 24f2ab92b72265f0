"""Tests of workbench.features._profile: kinds, statistics, checks, target summary, plots."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import workbench.datasets as ds
from workbench.exceptions import ValidationError
from workbench.features._profile import CHECKS, Profile, profile

N = 200
WORDS = ["alpha", "beta", "gamma", "delta", "river", "stone", "cloud", "light", "north", "green"]


def _clean(n: int = N, seed: int = 0) -> pd.DataFrame:
    """No check should fire: informative numbers, a few levels, past dates, balanced target."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "amount": rng.normal(100, 20, n),
            "ratio": rng.gamma(2.0, 1.0, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "visits": rng.integers(0, 12, n),
            "signup": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        }
    )
    df["y"] = (df["amount"] + rng.normal(0, 25, n) > 100).astype(int)
    return df


@pytest.fixture(scope="module")
def handmade() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + N),
            "row_number": np.arange(N),
            "order_ref": [f"ORD-{i:05d}" for i in range(N)],
            "constant": ["x"] * N,
            "colour": rng.choice(["red", "green", "blue"], N),
            "store_id": rng.integers(0, 5, N),
            "review": [" ".join(rng.choice(WORDS, 6)) + f" {i}" for i in range(N)],
            "signup": pd.date_range("2023-01-01", periods=N, freq="D"),
            "signup_text": pd.date_range("2023-01-01", periods=N, freq="D").strftime("%Y-%m-%d"),
            "amount": rng.normal(100, 20, N),
            "visits": rng.integers(0, 12, N),
            "flag": rng.random(N) < 0.3,
            "binary_int": rng.integers(0, 2, N),
        }
    )
    df["y"] = (df["amount"] + rng.normal(0, 20, N) > 100).astype(int)
    return df


@pytest.fixture(scope="module")
def handmade_profile(handmade) -> Profile:
    return profile(handmade, target="y")


def _row(p: Profile, column: str) -> pd.Series:
    return p.columns.set_index("column").loc[column]


def _checks(p: Profile) -> set[tuple[str, str]]:
    return set(zip(p.warnings["column"], p.warnings["check"]))


# -- kinds and statistics -----------------------------------------------------------------


@pytest.mark.parametrize(
    "column, kind",
    [
        ("customer_id", "id"),  # unique integers, id-like name
        ("row_number", "id"),  # unique monotonic integers
        ("order_ref", "id"),  # unique one-token strings with digits
        ("constant", "categorical"),
        ("colour", "categorical"),
        ("store_id", "categorical"),  # repeated key: groups, not magnitudes
        ("review", "text"),
        ("signup", "datetime"),
        ("signup_text", "datetime"),  # strings that parse as dates
        ("amount", "numeric"),
        ("visits", "numeric"),
        ("flag", "boolean"),
        ("binary_int", "boolean"),  # numbers that are exactly 0 and 1
    ],
)
def test_kind_is_inferred_per_column(handmade_profile, column, kind):
    assert _row(handmade_profile, column)["kind"] == kind


def test_columns_table_has_one_row_per_column_with_the_documented_fields(
    handmade, handmade_profile
):
    cols = handmade_profile.columns
    assert cols["column"].tolist() == handmade.columns.tolist()
    assert cols.columns.tolist() == [
        "column", "dtype", "kind", "missing_share", "n_unique", "unique_share", "mean", "std",
        "min", "p25", "median", "p75", "max", "top_values", "min_date", "max_date",
    ]  # fmt: skip
    assert set(cols["kind"]) <= {"numeric", "boolean", "categorical", "datetime", "text", "id"}


def test_numeric_statistics_match_pandas_and_are_nan_for_other_kinds(handmade, handmade_profile):
    amount = _row(handmade_profile, "amount")
    assert amount["mean"] == pytest.approx(handmade["amount"].mean())
    assert amount["std"] == pytest.approx(handmade["amount"].std())
    assert amount["median"] == pytest.approx(handmade["amount"].median())
    assert amount["p25"] == pytest.approx(handmade["amount"].quantile(0.25))
    assert amount["min"] == handmade["amount"].min() and amount["max"] == handmade["amount"].max()
    for column in ("colour", "review", "signup", "customer_id"):
        assert np.isnan(_row(handmade_profile, column)["mean"])


def test_top_values_and_date_range_are_filled_for_their_kinds(handmade, handmade_profile):
    colour = _row(handmade_profile, "colour")
    most = handmade["colour"].value_counts().index[0]
    assert colour["top_values"].startswith(f"{most} (")
    signup = _row(handmade_profile, "signup_text")
    assert signup["min_date"] == pd.Timestamp("2023-01-01")
    assert signup["max_date"] == pd.Timestamp("2023-01-01") + pd.Timedelta(days=N - 1)
    assert _row(handmade_profile, "amount")["top_values"] == ""


def test_missing_share_and_unique_share_count_present_values():
    df = pd.DataFrame({"a": [1.0, np.nan, 1.0, 2.0], "b": list("wxyz")})
    row = _row(profile(df), "a")
    assert row["missing_share"] == 0.25
    assert row["n_unique"] == 2
    assert row["unique_share"] == pytest.approx(2 / 3)


# -- checks -------------------------------------------------------------------------------


def _with(**columns):
    def build():
        df = _clean()
        for name, make in columns.items():
            df[name] = make(df)
        return df

    return build


def _leaky_binary():
    df = _clean()
    df["leak"] = df["y"] * 10 + np.random.default_rng(1).normal(0, 1, len(df))
    return df


def _leaky_category():
    df = _clean()
    df["outcome_code"] = df["y"].map({0: "closed", 1: "converted"})
    return df


def _duplicated():
    df = _clean()
    return pd.concat([df, df.iloc[:5]])


def _imbalanced():
    df = _clean()
    df["y"] = 0
    df.loc[df.index[:6], "y"] = 1  # 3%
    return df


CHECK_CASES = {
    "id_like": (_with(row_id=lambda d: np.arange(len(d)) * 7 + 3), "row_id", "warning"),
    "constant": (_with(country=lambda d: "PT"), "country", "warning"),
    "high_missing": (
        _with(notes=lambda d: np.where(np.arange(len(d)) % 10 < 6, np.nan, 1.5)),
        "notes",
        "warning",
    ),
    "target_leakage": (_leaky_binary, "leak", "error"),
    "future_dates": (
        _with(
            shipped=lambda d: pd.Timestamp("2100-01-01") + pd.to_timedelta(np.arange(len(d)), "D")
        ),
        "shipped",
        "warning",
    ),
    "duplicated_rows": (_duplicated, "", "warning"),
    "high_cardinality": (
        _with(city=lambda d: [f"city {i % 60}" for i in range(len(d))]),
        "city",
        "warning",
    ),
    "imbalanced_target": (_imbalanced, "y", "warning"),
}


def test_every_documented_check_has_a_case():
    assert set(CHECK_CASES) == set(CHECKS)


@pytest.mark.parametrize("check", sorted(CHECK_CASES))
def test_check_fires_on_a_frame_built_to_trigger_it(check):
    build, column, severity = CHECK_CASES[check]
    warnings = profile(build(), target="y").warnings
    hit = warnings[(warnings["check"] == check) & (warnings["column"] == column)]
    assert len(hit) == 1, warnings
    assert hit["severity"].iloc[0] == severity
    assert hit["message"].iloc[0]


def test_no_check_fires_on_a_clean_frame():
    p = profile(_clean(), target="y")
    assert p.warnings.empty, p.warnings
    assert p.warnings.columns.tolist() == ["column", "check", "severity", "message"]


def test_an_empty_column_is_a_high_missing_error():
    df = _clean().assign(empty=np.nan)
    warnings = profile(df).warnings
    hit = warnings[(warnings["column"] == "empty") & (warnings["check"] == "high_missing")]
    assert hit["severity"].tolist() == ["error"]
    assert warnings["severity"].iloc[0] == "error"  # errors are listed first


def test_leakage_through_a_category_is_found_with_out_of_fold_means():
    warnings = profile(_leaky_category(), target="y").warnings
    assert ("outcome_code", "target_leakage") in set(zip(warnings["column"], warnings["check"]))


def test_a_unique_string_per_row_does_not_look_like_leakage():
    df = _clean().assign(note=[f"n{i}" for i in range(N)])
    checks = _checks(profile(df, target="y"))
    assert ("note", "target_leakage") not in checks
    assert ("note", "id_like") in checks


def test_leakage_for_a_regression_target_uses_correlation():
    df = _clean().drop(columns="y")
    df["price"] = df["amount"] * 3 + np.random.default_rng(2).normal(0, 20, N)  # r ~ 0.95
    df["price_in_cents"] = df["price"] * 100 + 1
    warnings = profile(df, target="price").warnings
    leaks = warnings[warnings["check"] == "target_leakage"]
    assert leaks["column"].tolist() == ["price_in_cents"]
    assert "Pearson" in leaks["message"].iloc[0]


def test_a_topic_that_mirrors_the_label_is_flagged_as_leakage():
    warnings = profile(ds.load("text"), target="label").warnings
    assert ("topic", "target_leakage") in set(zip(warnings["column"], warnings["check"]))


# -- target, correlations ------------------------------------------------------------------


def test_classification_target_summary_counts_classes(handmade, handmade_profile):
    summary = handmade_profile.target
    assert handmade_profile.task == "classification"
    assert summary.columns.tolist() == ["class", "count", "share"]
    counts = handmade["y"].value_counts()
    assert dict(zip(summary["class"], summary["count"])) == counts.to_dict()
    assert summary["share"].sum() == pytest.approx(1.0)


def test_regression_target_summary_is_describe():
    df = _clean()
    p = profile(df, target="amount")
    assert p.task == "regression"
    summary = p.target.set_index("statistic")["value"]
    assert summary["mean"] == pytest.approx(df["amount"].mean())
    assert summary["count"] == len(df)


def test_no_target_gives_an_empty_summary():
    p = profile(_clean())
    assert p.target.empty and p.task is None and p.target_name is None


def test_correlations_cover_numeric_columns_and_the_target(handmade, handmade_profile):
    corr = handmade_profile.correlations
    assert {"amount", "visits", "flag", "binary_int", "y"} <= set(corr.columns)
    assert not {"customer_id", "colour", "store_id"} & set(corr.columns)
    expected = handmade["amount"].corr(handmade["y"].astype(float))
    assert corr.loc["amount", "y"] == pytest.approx(expected)


# -- built-in datasets, plots, export ------------------------------------------------------


@pytest.mark.parametrize(
    "name, target", [("maintenance", "failure_within_7d"), ("fraud", "is_fraud")]
)
def test_builtin_datasets_profile_and_every_plot_returns_a_figure(name, target):
    p = profile(ds.load(name), target=target)
    assert not (p.warnings["severity"] == "error").any(), p.warnings
    for kind in ("distributions", "target", "correlations", "missing"):
        assert isinstance(p.plot(kind), Figure)
    assert isinstance(p.plot_distributions(max_columns=3), Figure)
    html = p._repr_html_()
    assert "Warnings" in html and "Columns" in html
    json.dumps(p.to_dict(), allow_nan=False)


def test_maintenance_kinds_match_its_card():
    p = profile(ds.load("maintenance"))
    kinds = dict(zip(p.columns["column"], p.columns["kind"]))
    assert kinds["timestamp"] == "datetime"
    assert kinds["machine_type"] == "categorical"
    assert kinds["temperature"] == "numeric"


def test_fraud_is_flagged_as_imbalanced():
    p = profile(ds.load("fraud"), target="is_fraud")
    assert ("is_fraud", "imbalanced_target") in _checks(p)


def test_to_dict_is_json_ready(handmade_profile):
    data = json.loads(json.dumps(handmade_profile.to_dict(), allow_nan=False))
    assert data["n_rows"] == N and data["target"] == "y"
    signup = next(c for c in data["columns"] if c["column"] == "signup")
    assert signup["min_date"] == "2023-01-01T00:00:00" and signup["mean"] is None


def test_profiling_100k_rows_by_15_columns_takes_under_two_seconds():
    df = ds.load("maintenance", size=100_000)
    rng = np.random.default_rng(0)
    df["note"] = np.where(np.arange(len(df)) % 3 == 0, "some words in a longer note", "short")
    df["day"] = df["timestamp"].dt.strftime("%Y-%m-%d")
    df["segment"] = rng.choice(list("abcdefgh"), len(df))
    df["ref"] = [f"R{i}" for i in range(len(df))]
    assert df.shape == (100_000, 15)
    start = time.perf_counter()
    profile(df, target="failure_within_7d")
    assert time.perf_counter() - start < 2.0


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "df, target, field",
    [
        ([[1, 2]], None, "df"),
        (pd.DataFrame(), None, "df"),
        (pd.DataFrame({"a": []}), None, "df"),
        (pd.DataFrame({"a": [1, 2]}), "label", "target"),
    ],
)
def test_bad_input_names_the_field(df, target, field):
    with pytest.raises(ValidationError) as err:
        profile(df, target=target)
    assert err.value.field == field


def test_a_missing_target_error_lists_the_columns():
    with pytest.raises(ValidationError, match=r"\['amount', 'ratio'"):
        profile(_clean(), target="label")


def test_unknown_plot_and_target_plot_without_target_are_rejected():
    p = profile(_clean())
    with pytest.raises(ValidationError, match="distributions"):
        p.plot("pie")
    with pytest.raises(ValidationError) as err:
        p.plot_target()
    assert err.value.field == "target"
