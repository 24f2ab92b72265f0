"""Feature recipes: every op, chaining, round trips, prediction-time rules and bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from workbench.exceptions import ValidationError
from workbench.features._recipe import FittedRecipe, Recipe, load_recipe, register_function

N = 240


def make_frame(n: int = N, seed: int = 0) -> pd.DataFrame:
    """Numeric (with gaps), categorical strings, datetime, date strings, text and a target."""
    rng = np.random.default_rng(seed)
    a = rng.normal(10.0, 2.0, n)
    a[::9] = np.nan
    cat = rng.choice(["red", "green", "blue", "grey"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    cat[::13] = None
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400 * 24, n), unit="h")
    words = np.array(["cheap", "fast", "red", "car", "loan", "offer", "free", "bike"])
    text = [" ".join(rng.choice(words, 3)) for _ in range(n)]
    df = pd.DataFrame(
        {
            "a": a,
            "b": rng.exponential(2.0, n),
            "c": rng.integers(0, 6, n),
            "cat": cat,
            "city": rng.choice(["oslo", "rome", "lima"], n).astype(object),
            "ts": ts,
            "ts_text": pd.Series(ts).dt.strftime("%Y-%m-%d %H:%M").to_numpy(dtype=object),
            "text": np.asarray(text, dtype=object),
        }
    )
    df["y"] = (df["b"] + rng.normal(0, 1, n) > 2).astype(int)
    return df


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


def _fit(steps: list[dict], df: pd.DataFrame, columns: list[str], target: str | None = "y"):
    data = df[[*columns, *([target] if target else [])]]
    fitted = Recipe(steps=steps, target=target).fit(data)
    return fitted, fitted.transform(data), data


register_function("a_over_b", lambda f: (f["a"] / (f["b"] + 1.0)).to_frame("a_over_b"))


# --------------------------------------------------------------------------- every op

OP_CASES = [
    # (id, input columns, steps, expected output names, check(out, data))
    (
        "impute_mean",
        ["a"],
        [{"op": "impute", "columns": ["a"]}],
        ["a"],
        lambda out, d: np.isclose(out["a"][d["a"].isna()], d["a"].mean()).all(),
    ),
    (
        "impute_constant_text",
        ["cat"],
        [
            {"op": "impute", "columns": ["cat"], "strategy": "constant", "fill_value": "none"},
            {"op": "one_hot", "columns": ["cat"]},
        ],
        ["cat_blue", "cat_green", "cat_grey", "cat_none", "cat_red"],
        lambda out, d: (out["cat_none"] == d["cat"].isna()).all(),
    ),
    (
        "scale_standard",
        ["b"],
        [{"op": "scale", "columns": ["b"]}],
        ["b"],
        lambda out, d: abs(out["b"].mean()) < 1e-9 and abs(out["b"].std(ddof=0) - 1) < 1e-9,
    ),
    (
        "scale_minmax",
        ["b"],
        [{"op": "scale", "columns": ["b"], "method": "minmax"}],
        ["b"],
        lambda out, d: out["b"].min() == 0.0 and out["b"].max() == 1.0,
    ),
    (
        "scale_robust",
        ["b"],
        [{"op": "scale", "columns": ["b"], "method": "robust"}],
        ["b"],
        lambda out, d: abs(out["b"].median()) < 1e-9,
    ),
    (
        "one_hot",
        ["city"],
        [{"op": "one_hot", "columns": ["city"]}],
        ["city_lima", "city_oslo", "city_rome"],
        lambda out, d: (out.sum(axis=1) == 1).all(),
    ),
    (
        "one_hot_max_categories",
        ["cat"],
        [{"op": "one_hot", "columns": ["cat"], "max_categories": 2}],
        ["cat_red", "cat_infrequent_sklearn"],
        lambda out, d: (out.sum(axis=1) == 1).all(),
    ),
    (
        "ordinal",
        ["city"],
        [{"op": "ordinal", "columns": ["city"]}],
        ["city"],
        lambda out, d: (out["city"] == d["city"].map({"lima": 0, "oslo": 1, "rome": 2})).all(),
    ),
    (
        "target_encode",
        ["city"],
        [{"op": "target_encode", "columns": ["city"]}],
        ["city"],
        lambda out, d: out["city"].between(0, 1).all() and out["city"].nunique() == 3,
    ),
    (
        "bin_quantile_ordinal",
        ["b"],
        [{"op": "bin", "columns": ["b"], "n_bins": 4}],
        ["b"],
        lambda out, d: sorted(out["b"].unique()) == [0, 1, 2, 3],
    ),
    (
        "bin_uniform_onehot",
        ["b"],
        [{"op": "bin", "columns": ["b"], "n_bins": 3, "strategy": "uniform", "encode": "onehot"}],
        ["b_bin0", "b_bin1", "b_bin2"],
        lambda out, d: (out.sum(axis=1) == 1).all(),
    ),
    (
        "bin_kmeans",
        ["b"],
        [{"op": "bin", "columns": ["b"], "n_bins": 3, "strategy": "kmeans"}],
        ["b"],
        lambda out, d: set(out["b"].unique()) <= {0, 1, 2},
    ),
    (
        "log",
        ["b"],
        [{"op": "log", "columns": ["b"]}],
        ["b"],
        lambda out, d: np.allclose(out["b"], np.log1p(d["b"])),
    ),
    (
        "power_yeo_johnson",
        ["a"],
        [{"op": "power", "columns": ["a"]}],
        ["a"],
        lambda out, d: abs(out["a"].mean()) < 1e-6 and out["a"].isna().sum() == d["a"].isna().sum(),
    ),
    (
        "power_box_cox",
        ["b"],
        [{"op": "power", "columns": ["b"], "method": "box-cox"}],
        ["b"],
        lambda out, d: abs(out["b"].mean()) < 1e-6,
    ),
    (
        "date_parts_datetime",
        ["ts"],
        [{"op": "date_parts", "columns": ["ts"], "parts": ["year", "month", "hour", "is_weekend"]}],
        ["ts_year", "ts_month", "ts_hour", "ts_is_weekend"],
        lambda out, d: (
            (out["ts_month"] == d["ts"].dt.month).all()
            and (out["ts_is_weekend"] == (d["ts"].dt.dayofweek >= 5)).all()
        ),
    ),
    (
        "date_parts_strings",
        ["ts_text"],
        [{"op": "date_parts", "columns": ["ts_text"], "parts": ["dayofyear", "minute"]}],
        ["ts_text_dayofyear", "ts_text_minute"],
        lambda out, d: (
            out["ts_text_dayofyear"] == pd.to_datetime(d["ts_text"]).dt.dayofyear
        ).all(),
    ),
    (
        "tfidf",
        ["text"],
        [{"op": "tfidf", "column": "text", "max_features": 5}],
        None,
        lambda out, d: out.shape[1] == 5 and all(c.startswith("text_") for c in out.columns),
    ),
    (
        "hashing",
        ["cat", "city"],
        [{"op": "hashing", "columns": ["cat", "city"], "n_features": 16}],
        [f"cat_city_hash{i}" for i in range(16)],
        lambda out, d: (out.sum(axis=1) == 2).all(),
    ),
    (
        "interactions",
        ["b", "c"],
        [{"op": "interactions", "columns": ["b", "c"]}],
        ["b", "c", "b c"],
        lambda out, d: np.allclose(out["b c"], d["b"] * d["c"]),
    ),
    (
        "drop",
        ["b", "city"],
        [{"op": "drop", "columns": ["city"]}],
        ["b"],
        lambda out, d: (out["b"] == d["b"]).all(),
    ),
    (
        "rename_then_scale",
        ["b"],
        [{"op": "scale", "columns": ["size"]}, {"op": "rename", "mapping": {"b": "size"}}],
        ["size"],
        lambda out, d: abs(out["size"].mean()) < 1e-9,
    ),
    (
        "function",
        ["a", "b"],
        [{"op": "function", "name": "a_over_b", "columns": ["a", "b"]}],
        ["a", "b", "a_over_b"],
        lambda out, d: np.allclose(out["a_over_b"], d["a"] / (d["b"] + 1), equal_nan=True),
    ),
    (
        "numeric_passthrough",
        ["a", "c"],
        [],
        ["a", "c"],
        lambda out, d: out.equals(d[["a", "c"]].astype(float)),
    ),
]


@pytest.mark.parametrize(
    "columns, steps, expected, check", [c[1:] for c in OP_CASES], ids=[c[0] for c in OP_CASES]
)
def test_each_op_gives_float_features_with_stable_names(frame, columns, steps, expected, check):
    fitted, out, data = _fit(steps, frame, columns)
    assert all(t == np.float64 for t in out.dtypes)
    assert out.index.equals(data.index)
    assert list(out.columns) == fitted.feature_names_out
    if expected is not None:
        assert fitted.feature_names_out == expected
    assert "y" not in out.columns
    assert check(out, data)


def test_compile_returns_an_unfitted_sklearn_pipeline_equal_to_fit(frame):
    recipe = Recipe(target="y").add("one_hot", columns=["city"]).add("scale", columns=["b"])
    data = frame[["b", "city", "y"]]
    pipeline = recipe.compile(data)
    assert isinstance(pipeline, Pipeline)
    with pytest.raises(NotFittedError):
        check_is_fitted(pipeline)
    direct = pipeline.fit(data, data["y"]).transform(data)
    np.testing.assert_array_equal(direct, recipe.fit(data).transform(data).to_numpy())


def test_add_returns_a_new_recipe_and_steps_are_copies():
    base = Recipe(name="r")
    grown = base.add("impute", columns="a", strategy="median")
    assert base.steps == [] and grown is not base
    assert grown.steps == [{"op": "impute", "columns": ["a"], "strategy": "median"}]
    grown.steps[0]["columns"].append("zzz")
    assert grown.steps[0]["columns"] == ["a"]


# --------------------------------------------------------------------------- chaining


def test_impute_then_scale_chain_in_order(frame):
    steps = [{"op": "impute", "columns": ["a"], "strategy": "median"}]
    steps.append({"op": "scale", "columns": ["a"]})
    _, out, _ = _fit(steps, frame, ["a"])
    assert out["a"].notna().all()
    assert abs(out["a"].mean()) < 1e-9 and abs(out["a"].std(ddof=0) - 1) < 1e-9


def test_impute_then_one_hot_fills_missing_categories_first(frame):
    steps = [
        {"op": "impute", "columns": ["cat"], "strategy": "most_frequent"},
        {"op": "one_hot", "columns": ["cat"]},
    ]
    _, out, data = _fit(steps, frame, ["cat"])
    assert list(out.columns) == ["cat_blue", "cat_green", "cat_grey", "cat_red"]
    assert (out.loc[data["cat"].isna(), "cat_red"] == 1).all()  # red is the most frequent


def test_overlapping_column_sets_split_into_branches(frame):
    steps = [
        {"op": "impute", "columns": ["a", "b"], "strategy": "constant", "fill_value": -1},
        {"op": "scale", "columns": ["a"]},
    ]
    _, out, data = _fit(steps, frame, ["a", "b"])
    assert abs(out["a"].mean()) < 1e-9
    assert (out["b"] == data["b"]).all()  # imputed (nothing missing), not scaled


def test_numeric_steps_may_follow_an_encoder(frame):
    steps = [
        {"op": "date_parts", "columns": ["ts"], "parts": ["month", "dayofyear"]},
        {"op": "scale", "columns": ["ts"]},
    ]
    _, out, _ = _fit(steps, frame, ["ts"])
    assert np.allclose(out.mean(), 0) and np.allclose(out.std(ddof=0), 1)


def test_combining_step_over_differently_prepared_columns(frame):
    steps = [
        {"op": "impute", "columns": ["a"], "strategy": "constant", "fill_value": 0},
        {"op": "log", "columns": ["b"]},
        {"op": "interactions", "columns": ["a", "b"]},
    ]
    _, out, data = _fit(steps, frame, ["a", "b"])
    assert list(out.columns) == ["a", "b", "a b"]
    expected = data["a"].fillna(0) * np.log1p(data["b"])
    assert np.allclose(out["a b"], expected)


# --------------------------------------------------------------------------- round trips


FULL_STEPS = [
    {"op": "rename", "mapping": {"city": "town"}},
    {"op": "impute", "columns": ["a"], "strategy": "median"},
    {"op": "scale", "columns": ["a"]},
    {"op": "impute", "columns": ["cat"], "strategy": "most_frequent"},
    {"op": "one_hot", "columns": ["cat"], "min_frequency": 5},
    {"op": "target_encode", "columns": ["town"]},
    {"op": "date_parts", "columns": ["ts"], "parts": ["month", "dayofweek"]},
    {"op": "tfidf", "column": "text", "ngram_range": [1, 2], "max_features": 12},
    {"op": "bin", "columns": ["b"], "n_bins": 4, "encode": "onehot"},
    {"op": "drop", "columns": ["ts_text"]},
]


@pytest.fixture(scope="module")
def full_fit(frame):
    recipe = Recipe(steps=FULL_STEPS, target="y", name="full")
    return recipe, recipe.fit(frame)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("via", ["text", "file"])
def test_json_and_yaml_round_trips_give_identical_transforms(frame, full_fit, tmp_path, fmt, via):
    recipe, fitted = full_fit
    path = tmp_path / f"recipe.{fmt}"
    text = getattr(recipe, f"to_{fmt}")(path if via == "file" else None)
    loaded = load_recipe(path if via == "file" else text)
    assert loaded == recipe and loaded.target == "y" and loaded.name == "full"
    pd.testing.assert_frame_equal(loaded.fit(frame).transform(frame), fitted.transform(frame))


def test_to_dict_has_the_documented_shape(full_fit):
    recipe, _ = full_fit
    d = recipe.to_dict()
    assert list(d) == ["version", "name", "target", "steps"]
    assert d["version"] == 1 and d["steps"] == FULL_STEPS
    assert Recipe.from_dict(json.loads(json.dumps(d))) == recipe


def test_save_load_round_trip_gives_identical_transforms(frame, full_fit, tmp_path):
    _, fitted = full_fit
    folder = fitted.save(tmp_path / "fitted")
    assert sorted(p.name for p in folder.iterdir()) == ["pipeline.joblib", "recipe.json"]
    meta = json.loads((folder / "recipe.json").read_text())
    assert meta["feature_names_out"] == fitted.feature_names_out
    assert meta["input_columns"] == fitted.input_columns
    assert "ts_text" not in meta["input_columns"] and "y" not in meta["input_columns"]
    assert meta["input_dtypes"]["ts"].startswith("datetime64")
    loaded = FittedRecipe.load(folder)
    assert loaded.recipe == fitted.recipe and loaded.target == "y"
    pd.testing.assert_frame_equal(loaded.transform(frame), fitted.transform(frame))


def test_function_step_loads_only_where_registered(frame, tmp_path):
    register_function("double_b", lambda f: (2 * f[["b"]]).add_suffix("_x2"))
    recipe = Recipe().add("function", name="double_b", columns=["b"])
    fitted = recipe.fit(frame[["b"]])
    assert fitted.feature_names_out == ["b", "b_x2"]
    folder = fitted.save(tmp_path / "fn")
    from workbench.features import _steps

    fn = _steps._FUNCTIONS.pop("double_b")
    try:
        with pytest.raises(ValidationError, match=r"steps\[0\]\.name"):
            FittedRecipe.load(folder)
    finally:
        register_function("double_b", fn)
    assert FittedRecipe.load(folder).transform(frame[["b"]]).equals(fitted.transform(frame[["b"]]))


# --------------------------------------------------------------------------- prediction time

UNSEEN_CASES = [
    ("one_hot", lambda row: (row == 0).all()),
    ("ordinal", lambda row: (row == -1).all()),
    ("hashing", lambda row: row.sum() == 1),
]


@pytest.mark.parametrize("op, check", UNSEEN_CASES, ids=[c[0] for c in UNSEEN_CASES])
def test_unseen_categories_follow_the_rules(frame, op, check):
    fitted, _, _ = _fit([{"op": op, "columns": ["city"]}], frame, ["city"])
    out = fitted.transform(pd.DataFrame({"city": ["paris"]}, index=[7]))
    assert out.index.tolist() == [7] and list(out.columns) == fitted.feature_names_out
    assert check(out.iloc[0])


def test_unseen_category_gets_the_target_mean(frame):
    fitted, _, data = _fit([{"op": "target_encode", "columns": ["city"]}], frame, ["city"])
    out = fitted.transform(pd.DataFrame({"city": ["paris", None]}))
    assert np.allclose(out["city"], data["y"].mean())


def test_missing_columns_are_added_as_missing_with_a_warning(full_fit, frame):
    _, fitted = full_fit
    data = frame.drop(columns=["a", "cat", "text", "ts", "y"]).assign(extra=1.0)
    with pytest.warns(UserWarning, match=r"\['a', 'cat', 'ts', 'text'\]"):
        out = fitted.transform(data)
    assert list(out.columns) == fitted.feature_names_out
    assert out["a"].nunique() == 1 and out["a"].notna().all()  # imputed median, then scaled
    assert out.filter(like="cat_").sum(axis=1).eq(1).all()  # most frequent category
    assert out["ts_month"].isna().all()  # no impute step: stays NaN
    assert (out.filter(like="text_") == 0).all().all()


def test_numeric_column_without_impute_stays_nan_when_missing(frame):
    fitted, _, _ = _fit([{"op": "scale", "columns": ["b"]}], frame, ["b", "c"])
    with pytest.warns(UserWarning, match="'b'"):
        out = fitted.transform(frame[["c"]])
    assert out["b"].isna().all() and list(out.columns) == ["c", "b"]


def test_column_order_and_extra_columns_do_not_matter(full_fit, frame):
    _, fitted = full_fit
    shuffled = frame[frame.columns[::-1]].assign(unused="x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(fitted.transform(shuffled), fitted.transform(frame))


def test_numbers_arriving_as_text_are_converted_with_a_warning(frame):
    fitted, _, _ = _fit([], frame, ["b"])
    with pytest.warns(UserWarning, match=r"b \(object\)"):
        out = fitted.transform(pd.DataFrame({"b": ["1.5", "oops"]}))
    assert out["b"].iloc[0] == 1.5 and np.isnan(out["b"].iloc[1])


def test_text_arriving_as_numbers_is_matched_as_strings():
    train = pd.DataFrame({"zip": ["100", "200", "300"], "when": ["2024-01-01"] * 3})
    steps = [
        {"op": "one_hot", "columns": ["zip"]},
        {"op": "date_parts", "columns": ["when"], "parts": ["month"]},
    ]
    fitted = Recipe(steps=steps).fit(train)
    new = pd.DataFrame(
        {"zip": [200, 999], "when": ["2024-03-01 10:00+01:00", "2024-07-01 10:00+02:00"]}
    )
    with pytest.warns(UserWarning, match=r"zip \(int64\)"):
        out = fitted.transform(new)
    assert out.filter(like="zip_").to_numpy().tolist() == [[0, 1, 0], [0, 0, 0]]
    assert out["when_month"].tolist() == [3, 7]  # mixed offsets are read as UTC


def test_values_outside_the_training_domain_give_nan_not_errors(frame):
    steps = [
        {"op": "log", "columns": ["b"]},
        {"op": "power", "columns": ["c"], "method": "box-cox"},
        {"op": "bin", "columns": ["a"]},
        {"op": "date_parts", "columns": ["ts_text"], "parts": ["year"]},
    ]
    data = frame[["a", "b", "c", "ts_text"]].assign(c=lambda d: d["c"] + 1)
    fitted = Recipe(steps=steps).fit(data)
    new = pd.DataFrame({"a": [np.nan], "b": [-3.0], "c": [0], "ts_text": ["not a date"]})
    assert fitted.transform(new).isna().all().all()


def test_pandas_extension_dtypes_are_accepted(frame):
    data = frame[["c", "city", "a"]].astype({"c": "Int64", "city": "string", "a": "Float64"})
    data.loc[0, "city"] = pd.NA
    steps = [
        {"op": "impute", "columns": ["city"], "strategy": "most_frequent"},
        {"op": "one_hot", "columns": ["city"]},
        {"op": "impute", "columns": ["a"]},
    ]
    out = Recipe(steps=steps).fit(data).transform(data)
    assert out.notna().all().all() and all(t == np.float64 for t in out.dtypes)


# --------------------------------------------------------------------------- train only


def test_target_encoding_is_out_of_fold_on_training_rows():
    rng = np.random.default_rng(3)
    n = 600
    noise = rng.integers(0, 150, n).astype(str).astype(object)
    df = pd.DataFrame({"noise": noise, "y": (rng.random(n) < 0.3).astype(int)})
    recipe = Recipe(target="y").add("target_encode", columns=["noise"])
    fitted, oof = recipe.fit_transform(df)
    in_sample = fitted.transform(df)
    assert not np.allclose(oof["noise"], in_sample["noise"])
    assert abs(oof["noise"].mean() - df["y"].mean()) < 0.05
    assert abs(np.corrcoef(oof["noise"], df["y"])[0, 1]) < 0.15  # no leakage
    assert np.corrcoef(in_sample["noise"], df["y"])[0, 1] > 0.3  # what leakage looks like


def test_recipe_is_fitted_on_the_training_split_only(frame):
    train, valid = frame.iloc[:160], frame.iloc[160:]
    valid = valid.assign(b=valid["b"] + 100.0)
    fitted = Recipe().add("scale", columns=["b"]).fit(train[["b"]])
    scalers = [
        t
        for _, t, _ in fitted.pipeline.named_steps["columns"].transformers_
        if isinstance(t, StandardScaler)
    ]
    assert scalers and np.isclose(scalers[0].mean_[0], train["b"].mean())
    assert not np.isclose(scalers[0].mean_[0], pd.concat([train, valid])["b"].mean())
    assert fitted.transform(valid)["b"].mean() > 10


# --------------------------------------------------------------------------- bad input

BAD_CASES = [
    # (id, steps, target, columns of the frame (None: all), field, text in the message)
    (
        "missing_column",
        [{"op": "scale", "columns": ["zzz"]}],
        None,
        ["b"],
        "steps[0].columns",
        "Available columns: ['b']",
    ),
    ("unknown_op", [{"op": "sqrt", "columns": ["b"]}], None, ["b"], "steps[0].op", "impute, scale"),
    (
        "unknown_param",
        [{"op": "impute", "columns": ["a"], "how": 1}],
        None,
        ["a"],
        "steps[0].how",
        "strategy, fill_value",
    ),
    ("missing_param", [{"op": "impute"}], None, ["a"], "steps[0].columns", "required"),
    (
        "bad_choice",
        [{"op": "impute", "columns": ["a"], "strategy": "mode"}],
        None,
        ["a"],
        "steps[0].strategy",
        "most_frequent",
    ),
    (
        "scale_text",
        [{"op": "scale", "columns": ["city"]}],
        None,
        ["city"],
        "steps[0].columns",
        "numeric",
    ),
    (
        "log_text",
        [{"op": "log", "columns": ["city"]}],
        None,
        ["city"],
        "steps[0].columns",
        "numeric",
    ),
    (
        "power_text",
        [{"op": "power", "columns": ["city"]}],
        None,
        ["city"],
        "steps[0].columns",
        "numeric",
    ),
    (
        "log_negative",
        [{"op": "scale", "columns": ["a"]}, {"op": "log", "columns": ["c"]}],
        None,
        None,
        "steps[1].columns",
        ">= 0",
    ),
    (
        "box_cox_zero",
        [{"op": "power", "columns": ["c"], "method": "box-cox"}],
        None,
        ["c"],
        "steps[0].columns",
        "> 0",
    ),
    (
        "date_parts_numeric",
        [{"op": "date_parts", "columns": ["b"]}],
        None,
        ["b"],
        "steps[0].columns",
        "datetime",
    ),
    (
        "date_parts_unparseable",
        [{"op": "date_parts", "columns": ["city"]}],
        None,
        ["city"],
        "steps[0].columns",
        "parseable",
    ),
    (
        "tfidf_numeric",
        [{"op": "tfidf", "column": "b"}],
        None,
        ["b"],
        "steps[0].column",
        "text column",
    ),
    (
        "all_missing",
        [{"op": "impute", "columns": ["empty"]}],
        None,
        ["empty"],
        "steps[0].columns",
        "'empty' is all missing",
    ),
    ("target_absent", [], "label", ["b"], "target", "Available columns"),
    (
        "target_encode_without_target",
        [{"op": "target_encode", "columns": ["city"]}],
        None,
        ["city"],
        "steps[0].op",
        "target",
    ),
    (
        "text_not_encoded",
        [],
        None,
        ["b", "city"],
        "steps",
        "Column 'city' is text/categorical and no step encodes it; add one_hot/ordinal/target_encode/hashing/tfidf or drop it",
    ),
    ("datetime_not_encoded", [], None, ["ts"], "steps", "date_parts"),
    (
        "text_only_imputed",
        [{"op": "impute", "columns": ["cat"], "strategy": "most_frequent"}],
        None,
        ["cat"],
        "steps",
        "no step encodes it",
    ),
    (
        "median_of_text",
        [{"op": "impute", "columns": ["cat"], "strategy": "median"}],
        None,
        ["cat"],
        "steps[0].strategy",
        "most_frequent or constant",
    ),
    (
        "dropped_and_used",
        [{"op": "drop", "columns": ["b"]}, {"op": "scale", "columns": ["b"]}],
        None,
        ["b", "c"],
        "steps[1].columns",
        "drops 'b'",
    ),
    (
        "step_after_tfidf",
        [{"op": "tfidf", "column": "text"}, {"op": "one_hot", "columns": ["text"]}],
        None,
        ["text"],
        "steps[1].columns",
        "ends its chain",
    ),
    (
        "target_as_feature",
        [{"op": "scale", "columns": ["y"]}],
        "y",
        ["b"],
        "steps[0].columns",
        "not the target",
    ),
    (
        "rename_unknown",
        [{"op": "rename", "mapping": {"nope": "x"}}],
        None,
        ["b"],
        "steps[0].mapping",
        "Available columns",
    ),
    (
        "rename_clash",
        [{"op": "rename", "mapping": {"b": "c"}}],
        None,
        ["b", "c"],
        "steps[0].mapping",
        "both be called 'c'",
    ),
    (
        "unregistered_function",
        [{"op": "function", "name": "nobody"}],
        None,
        ["b"],
        "steps[0].name",
        "register_function",
    ),
    (
        "duplicate_names",
        [{"op": "date_parts", "columns": ["ts"], "parts": ["year"]}],
        None,
        ["ts", "ts_year"],
        "feature_names_out",
        "ts_year",
    ),
]


@pytest.mark.parametrize(
    "steps, target, columns, field, text", [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_bad_input_raises_validation_error_naming_the_field(
    frame, steps, target, columns, field, text
):
    data = frame.assign(empty=np.nan, ts_year=1.0, c=frame["c"] - 1)
    if columns is not None:
        data = data[[*columns, *(["y"] if target == "y" else [])]]
    with pytest.raises(ValidationError) as info:
        Recipe(steps=steps, target=target).fit(data)
    assert info.value.field == field
    assert field in str(info.value) and text in str(info.value)


def test_add_checks_the_step_at_once():
    with pytest.raises(ValidationError, match=r"steps\[1\]\.n_bins"):
        Recipe().add("scale", columns=["a"]).add("bin", columns=["a"], n_bins=1)


def test_target_with_missing_values_is_rejected_for_target_encoding(frame):
    data = frame[["city", "y"]].astype({"y": float})
    data.loc[3, "y"] = np.nan
    with pytest.raises(ValidationError, match="target: .*missing"):
        Recipe(target="y").add("target_encode", columns=["city"]).validate(data)


MALFORMED = [
    ("json_syntax", "recipe.json", '{\n  "name": "r",\n  "steps": [,]\n}\n', "recipe.json line 3"),
    (
        "yaml_syntax",
        "recipe.yaml",
        "name: r\nsteps:\n  - op: scale\n   columns: [a]\n",
        "recipe.yaml line 4",
    ),
    ("json_text", None, '{"steps": [\n{"op": "scale"\n', "recipe line 3"),
    (
        "wrong_structure",
        "r.yaml",
        "steps:\n- {op: scale, columns: [a]}\n- {op: drop, columns: [b]}\n- {op: log, columns: 3}\n",
        "steps[2].columns",
    ),
    ("unknown_top_key", "r.json", '{"stpes": []}', "stpes"),
    ("not_a_mapping", "r.yaml", "- op: scale\n", "recipe"),
    ("steps_not_a_list", "r.json", '{"steps": {"op": "scale"}}', "steps"),
    ("bad_version", "r.json", '{"version": 7, "steps": []}', "version"),
]


@pytest.mark.parametrize(
    "name, content, text", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_recipe_files_name_the_line_or_key(tmp_path, name, content, text):
    source = content
    if name is not None:
        source = tmp_path / name
        source.write_text(content)
    with pytest.raises(ValidationError) as info:
        load_recipe(source)
    assert str(info.value).startswith(text)


def test_missing_recipe_file_is_a_validation_error(tmp_path):
    with pytest.raises(ValidationError, match="path"):
        load_recipe(str(tmp_path / "nope.yaml"))


def test_nothing_is_written_when_fit_fails(frame, tmp_path):
    recipe = Recipe().add("scale", columns=["city"])
    with pytest.raises(ValidationError):
        recipe.fit(frame[["city"]]).save(tmp_path / "out")
    assert not (tmp_path / "out").exists()
