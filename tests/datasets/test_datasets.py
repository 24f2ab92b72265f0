"""Tests of workbench.datasets: shapes, types, determinism, bad input, cards and signal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench.datasets as ds
from workbench.exceptions import ValidationError

NAMES = ["fraud", "maintenance", "marketing", "digits", "text", "timeseries", "ratings"]
INT, FLOAT, STR, TIME = "int64", "float64", "object", "datetime64[ns]"
DTYPES = {
    "fraud": {
        "amount": FLOAT, "hour": INT, "day_of_week": INT, "merchant_category": INT,
        "distance_from_home_km": FLOAT, "distance_from_last_txn_km": FLOAT,
        "ratio_to_median_amount": FLOAT, "card_present": INT, "online": INT, "used_pin": INT,
        "txn_count_24h": INT, "account_age_days": INT, "is_fraud": INT,
    },
    "maintenance": {
        "machine_id": INT, "timestamp": TIME, "machine_type": STR, "age_cycles": INT,
        "temperature": FLOAT, "vibration": FLOAT, "pressure": FLOAT, "rpm": FLOAT, "torque": FLOAT,
        "tool_wear_min": INT, "failure_within_7d": INT,
    },
    "marketing": {
        "age": INT, "job": STR, "marital": STR, "education": STR, "balance": INT, "housing": INT,
        "loan": INT, "contact": STR, "month": STR, "campaign": INT, "pdays": INT, "previous": INT,
        "poutcome": STR, "subscribed": INT,
    },
    "digits": {**{f"pixel_{i}": INT for i in range(64)}, "label": INT},
    "text": {"text": STR, "topic": STR, "label": INT},
    "timeseries": {
        "series_id": STR, "timestamp": TIME, "value": FLOAT, "promo": INT, "temperature": FLOAT,
    },
    "ratings": {"user_id": INT, "item_id": INT, "rating": INT, "timestamp": TIME},
}  # fmt: skip


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    """Every dataset at size small, seed 0, loaded once for the module."""
    return {name: ds.load(name) for name in NAMES}


@pytest.fixture()
def one_thread():
    """Fit models on one thread: OpenMP on a busy 2-core runner can be 20x slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _auc(y_true: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y_true, score))


@pytest.mark.parametrize("name", NAMES)
def test_small_has_documented_columns_dtypes_and_no_missing_values(small, name):
    df = small[name]
    assert {col: str(dtype) for col, dtype in df.dtypes.items()} == DTYPES[name]
    assert list(df.columns) == list(DTYPES[name])
    assert df.notna().all().all()
    assert 0 < len(df) <= 5_000 and len(df) == ds.describe(name)["sizes"]["small"]
    assert df.index.equals(pd.RangeIndex(len(df)))


@pytest.mark.parametrize("name", ["fraud", "maintenance", "marketing", "digits", "text"])
def test_target_is_the_last_column_of_supervised_tables(small, name):
    assert small[name].columns[-1] == ds.describe(name)["target"]


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_frame(small, name):
    pd.testing.assert_frame_equal(ds.load(name, "small", seed=0), small[name])


@pytest.mark.parametrize("name", NAMES)
def test_different_seed_gives_different_frame(small, name):
    assert not ds.load(name, "small", seed=1).equals(small[name])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [1, 37, 2_500, np.int64(400)])
def test_int_size_gives_exactly_that_many_rows(name, size):
    df = ds.load(name, size=size, seed=3)
    assert len(df) == size
    assert list(df.columns) == list(DTYPES[name])


def test_size_names_are_case_insensitive():
    pd.testing.assert_frame_equal(ds.load("text", " Small "), ds.load("text", "small"))


@pytest.mark.parametrize("name", ["fraude", "", "FRAUD-X", None, 3])
def test_unknown_name_raises_validation_error_naming_the_field(name):
    with pytest.raises(ValidationError) as info:
        ds.load(name)
    assert info.value.field == "name"
    assert "fraud, maintenance, marketing" in str(info.value)


@pytest.mark.parametrize("size", ["huge", "", 0, -5, 2.5, 100.0, "100", None, True, [10]])
def test_bad_size_raises_validation_error_naming_the_field(size):
    with pytest.raises(ValidationError) as info:
        ds.load("fraud", size=size)
    assert info.value.field == "size"


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None])
def test_bad_seed_raises_validation_error_naming_the_field(seed):
    with pytest.raises(ValidationError) as info:
        ds.load("fraud", seed=seed)
    assert info.value.field == "seed"


def test_validation_error_is_a_value_error():
    with pytest.raises(ValueError):
        ds.describe("nope")


# --- cards --------------------------------------------------------------------------------


def test_list_datasets_has_one_row_per_dataset():
    table = ds.list_datasets()
    assert table["name"].tolist() == NAMES
    assert list(table.columns) == [
        "name", "task", "target", "problem_type",
        "rows_small", "rows_medium", "rows_large", "description",
    ]  # fmt: skip
    assert (table["rows_large"] >= 100_000).all()
    assert table["rows_medium"].between(1_797, 50_000).all()
    assert (table["rows_small"] <= 5_000).all()


@pytest.mark.parametrize("name", NAMES)
def test_card_describes_every_loaded_column(small, name):
    card = ds.describe(name)
    assert card["name"] == name
    assert set(card) >= {
        "title", "task", "problem_type", "target", "columns", "generating_process",
        "sizes", "sample_project", "source",
    }  # fmt: skip
    assert card["generating_process"].strip()
    assert card["target"] in small[name].columns
    assert set(small[name].columns) <= set(card["columns"])
    assert all(text.strip() for text in card["columns"].values())
    assert card["source"] == "generated" or card["source"].startswith(("real:", "generated"))
    assert set(card["sizes"]) == {"small", "medium", "large"}


def test_readme_has_a_card_for_every_dataset_and_column():
    readme = (Path(__file__).resolve().parents[2] / "datasets" / "README.md").read_text()
    for name in NAMES:
        assert f"\n## {name}\n" in readme
        columns = [c for c in ds.describe(name)["columns"] if not c.startswith("pixel_")]
        assert all(f"`{column}`" in readme for column in columns), name


def test_describe_returns_a_copy():
    ds.describe("fraud")["columns"].clear()
    assert ds.describe("fraud")["columns"]


def test_import_loads_neither_sklearn_nor_plotting_nor_xgboost():
    code = (
        "import sys, workbench.datasets; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sklearn', 'scipy', 'matplotlib', 'xgboost', 'torch', 'mxnet'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- fraud --------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "seed"), [("small", 0), ("small", 1), ("medium", 0)])
def test_fraud_is_rare(size, seed):
    rate = ds.load("fraud", size, seed=seed)["is_fraud"].mean()
    assert 0.005 <= rate <= 0.03


def test_fraud_is_all_numeric_and_binary(small):
    df = small["fraud"]
    assert all(kind in "if" for kind in df.dtypes.map(lambda d: d.kind))
    for col in ["card_present", "online", "used_pin", "is_fraud"]:
        assert set(df[col].unique()) <= {0, 1}
    assert (df["used_pin"] <= df["card_present"]).all()
    assert df["hour"].between(0, 23).all() and df["day_of_week"].between(0, 6).all()


def test_fraud_large_has_at_least_100k_rows():
    assert len(ds.load("fraud", "large")) >= 100_000


def test_fraud_gradient_boosting_finds_the_signal(one_thread):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    df = ds.load("fraud", "medium", seed=0)
    X, y = df.drop(columns="is_fraud"), df["is_fraud"]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    model = HistGradientBoostingClassifier(random_state=0).fit(X_tr, y_tr)
    assert _auc(y_te, model.predict_proba(X_te)[:, 1]) >= 0.85


# --- maintenance --------------------------------------------------------------------------


def test_maintenance_timestamps_increase_per_machine_and_failures_are_few(small):
    df = small["maintenance"]
    assert df.groupby("machine_id")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    assert set(df["machine_type"].unique()) <= {"L", "M", "H"}
    assert 0.01 <= ds.load("maintenance", "medium")["failure_within_7d"].mean() <= 0.10


def test_maintenance_target_follows_the_sensors(one_thread):
    from sklearn.ensemble import HistGradientBoostingClassifier

    df = ds.load("maintenance", "medium", seed=0)
    X = df.drop(columns=["failure_within_7d", "timestamp", "machine_id"])
    X["machine_type"] = X["machine_type"].map({"L": 0, "M": 1, "H": 2})
    y = df["failure_within_7d"]
    train = (df["machine_id"] % 4 != 0).to_numpy()  # hold out whole machines
    model = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(X[train], y[train])
    assert _auc(y[~train], model.predict_proba(X[~train])[:, 1]) >= 0.75


# --- marketing ----------------------------------------------------------------------------


def test_marketing_subscription_rate_is_about_ten_percent():
    df = ds.load("marketing", "medium")
    assert 0.06 <= df["subscribed"].mean() <= 0.16
    never = df["previous"] == 0
    assert (df.loc[never, "pdays"] == -1).all()
    assert (df.loc[never, "poutcome"] == "nonexistent").all()


# --- digits -------------------------------------------------------------------------------


def test_digits_small_has_500_rows_with_every_label(small):
    df = small["digits"]
    assert len(df) == 500
    assert sorted(df["label"].unique()) == list(range(10))
    assert df.drop(columns="label").to_numpy().min() >= 0
    assert df.drop(columns="label").to_numpy().max() <= 16


def test_digits_medium_is_sklearns_real_data():
    from sklearn.datasets import load_digits

    real = load_digits()
    df = ds.load("digits", "medium")
    np.testing.assert_array_equal(df.drop(columns="label").to_numpy(), real.data.astype(int))
    np.testing.assert_array_equal(df["label"].to_numpy(), real.target)


def test_digits_beyond_1797_rows_are_augmented_within_range():
    images, labels = ds.load_images("digits", size=5_000, seed=0)
    assert images.shape == (5_000, 8, 8) and labels.shape == (5_000,)
    assert images.min() >= 0 and images.max() <= 16
    real, _ = ds.load_images("digits", size="medium")
    np.testing.assert_array_equal(images[:1_797], real)
    assert len(np.unique(images.reshape(5_000, -1), axis=0)) > 4_000  # copies are altered


@pytest.mark.parametrize("size", ["small", 2_000, 40])
def test_load_images_matches_load(size):
    images, labels = ds.load_images("digits", size=size, seed=5)
    df = ds.load("digits", size=size, seed=5)
    assert images.dtype == np.uint8 and images.shape == (len(df), 8, 8)
    np.testing.assert_array_equal(images.reshape(len(df), 64), df.drop(columns="label"))
    np.testing.assert_array_equal(labels, df["label"])


def test_load_images_rejects_a_tabular_dataset():
    with pytest.raises(ValidationError) as info:
        ds.load_images("fraud")
    assert info.value.field == "name"


# --- text ---------------------------------------------------------------------------------


def test_text_documents_are_short_and_labels_match_topics(small):
    df = small["text"]
    words = df["text"].str.split().str.len()
    assert words.between(8, 30).all()
    assert df.groupby("topic")["label"].nunique().eq(1).all()
    assert df["topic"].nunique() == 6


def test_text_is_learnable_but_not_trivial(small, one_thread):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    df = small["text"]
    cut = int(len(df) * 0.7)
    X = TfidfVectorizer().fit_transform(df["text"])
    model = LogisticRegression(max_iter=1_000).fit(X[:cut], df["label"][:cut])
    accuracy = (model.predict(X[cut:]) == df["label"][cut:].to_numpy()).mean()
    assert 0.6 <= accuracy <= 0.995


# --- timeseries ---------------------------------------------------------------------------


def test_timeseries_is_daily_per_series_and_non_negative(small):
    df = small["timeseries"]
    assert df["series_id"].nunique() == 5
    steps = df.groupby("series_id")["timestamp"].diff().dropna()
    assert (steps == pd.Timedelta(days=1)).all()
    assert (df["value"] >= 0).all()
    assert set(df["promo"].unique()) == {0, 1}
    assert df.loc[df["promo"] == 1, "value"].mean() > df.loc[df["promo"] == 0, "value"].mean()


# --- ratings ------------------------------------------------------------------------------


def test_ratings_have_unique_pairs_and_star_values(small):
    df = small["ratings"]
    assert not df.duplicated(["user_id", "item_id"]).any()
    assert df["rating"].between(1, 5).all()
    counts = df["item_id"].value_counts()
    assert counts.head(len(counts) // 10).sum() > 0.3 * len(df)  # popularity is skewed


def test_ratings_bias_baseline_beats_the_global_mean(small):
    df = small["ratings"]
    test = np.random.default_rng(0).random(len(df)) < 0.2
    train, held = df[~test], df[test]
    mean = train["rating"].mean()
    item = (train["rating"] - mean).groupby(train["item_id"]).agg(lambda r: r.sum() / (len(r) + 5))
    rest = train["rating"] - mean - train["item_id"].map(item)
    user = rest.groupby(train["user_id"]).agg(lambda r: r.sum() / (len(r) + 5))
    pred = mean + held["item_id"].map(item).fillna(0) + held["user_id"].map(user).fillna(0)

    def rmse(p):
        return float(np.sqrt(((held["rating"] - p) ** 2).mean()))

    assert rmse(pred) < 0.95 * rmse(mean)
