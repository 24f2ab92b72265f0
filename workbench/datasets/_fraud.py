"""Banking card transactions with rare fraud (about 1.5% positive), all columns numeric.

Generating process
------------------
Each row is one card transaction of a different customer. The customer has an account
age (log-normal days, 7 to 7,300) and a median spend (log-normal, about 45). A merchant
category is drawn from ten codes with fixed shares; each category has its own online share
and amount scale. The hour follows a daytime profile, the weekday is uniform, the amount is
log-normal around the customer's median times the category scale. Offline transactions
are card-present 93% of the time (the rest are mail or phone orders), and card-present
transactions use a PIN 60% of the time. Distances from home and from the previous
transaction are log-normal (online transactions: the IP location), and the number of
transactions in the last 24 hours is Poisson.

Fraud is then drawn from a logistic model with interactions (weights in ``describe``): night
(0-5 h) x online, an amount unusual for the customer in that category (ratio to the
median above 2.2 times the category scale) x far from home (> 150 km), a burst of
transactions (>= 6 in 24 h), risky categories (electronics, jewellery, digital goods) x
unusual amount, new accounts (< 60 days), a jump of > 150 km from the last transaction; a
PIN lowers the risk. The intercept (-8) is fixed so that about 1.5% of transactions are
fraud. Fraudsters then push what they control: baskets up to 40% bigger and about one more
attempt in 24 h. Label noise: 3% of frauds go unreported (labelled 0) and 0.1% of genuine
transactions are disputed (labelled 1). The signal is strong but not perfect: a gradient
boosted tree reaches a ROC AUC around 0.95 on the medium size, a logistic regression about
0.9 (it cannot see the interactions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# code: (name, share, online probability, amount scale)
CATEGORIES = {
    0: ("grocery", 0.22, 0.05, 1.0),
    1: ("fuel", 0.12, 0.02, 1.1),
    2: ("restaurants", 0.16, 0.05, 0.8),
    3: ("retail", 0.14, 0.30, 1.3),
    4: ("electronics", 0.05, 0.55, 4.0),
    5: ("travel", 0.05, 0.70, 6.0),
    6: ("jewellery", 0.02, 0.30, 6.0),
    7: ("digital_goods", 0.08, 0.98, 0.5),
    8: ("health", 0.06, 0.10, 1.2),
    9: ("entertainment", 0.10, 0.60, 0.9),
}
_RISKY = np.array([4, 6, 7])
# Daytime activity profile by hour (relative weights, 0..23 h).
_HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 11, 13, 12, 11, 10, 11, 12, 13, 12, 10, 8, 6, 4],
    dtype=float,
)
_INTERCEPT = -8.0
_MAX_KM = 20_000.0  # half the Earth's circumference

CARD = {
    "title": "Banking card transactions (fraud detection)",
    "task": "fraud detection",
    "problem_type": "binary_classification",
    "target": "is_fraud",
    "description": "Card transactions, ~1.5% fraud, all numeric; XGBoost / Linear Learner ready.",
    "columns": {
        "amount": "float64 - transaction amount in EUR (cents precision)",
        "hour": "int64 - hour of day 0..23",
        "day_of_week": "int64 - 0 = Monday .. 6 = Sunday",
        "merchant_category": "int64 - merchant category code 0..9: "
        + ", ".join(f"{code}={name}" for code, (name, *_rest) in CATEGORIES.items()),
        "distance_from_home_km": "float64 - distance between the merchant (or IP) and home",
        "distance_from_last_txn_km": "float64 - distance from the previous transaction's place",
        "ratio_to_median_amount": "float64 - amount / the customer's median transaction amount",
        "card_present": "int64 0/1 - the physical card was read at the terminal",
        "online": "int64 0/1 - card-not-present e-commerce transaction",
        "used_pin": "int64 0/1 - the PIN was entered (only when card_present)",
        "txn_count_24h": "int64 - the card's transactions in the previous 24 hours",
        "account_age_days": "int64 - days since the account was opened",
        "is_fraud": "int64 0/1 - target: the transaction was fraudulent (about 1.5%)",
    },
    "generating_process": (
        "Customers (log-normal account age and median spend) make one transaction each: a "
        "merchant category with fixed shares, online with a category-specific probability, "
        "an hour from a daytime profile, a log-normal amount around the median times the "
        "category scale, log-normal distances, Poisson 24 h counts, a PIN for 60% of card-"
        "present payments. Fraud ~ Bernoulli(sigmoid(-8 + 6.5 night*online + 7 unusual*far "
        "+ 6 burst + 4 risky*unusual + 4 new_account + 4 jump + online + unusual + far "
        "- 2.5 used_pin)) with night = 0-5 h, unusual = ratio above 2.2x the category's "
        "amount scale, far = > 150 km from home, burst = >= 6 txns in 24 h, new_account = "
        "< 60 days, jump = > 150 km from the last transaction; fraud baskets are then up to "
        "40% bigger with about one more attempt in 24 h. Label noise: 3% of frauds labelled "
        "0, 0.1% of genuine labelled 1. About 1.5% positive; gradient boosting ROC AUC ~0.95."
    ),
    "sizes": {"small": 5_000, "medium": 50_000, "large": 200_000},
    "sample_project": "Classical ML: banking fraud (XGBoost and Linear Learner, imbalanced data)",
    "source": "generated",
}


def _customers(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Merchant, timing and channel of each transaction."""
    codes = np.array(list(CATEGORIES))
    shares = np.array([c[1] for c in CATEGORIES.values()])
    category = rng.choice(codes, size=n, p=shares / shares.sum())
    online_p = np.array([c[2] for c in CATEGORIES.values()])[category]
    online = (rng.random(n) < online_p).astype(np.int64)
    card_present = np.where(online == 1, 0, (rng.random(n) < 0.93).astype(np.int64))
    return {
        "category": category,
        "online": online,
        "card_present": card_present,
        "used_pin": card_present * (rng.random(n) < 0.6).astype(np.int64),
        "hour": rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()),
        "day_of_week": rng.integers(0, 7, size=n),
        "account_age": np.clip(np.round(rng.lognormal(6.4, 1.1, n)), 7, 7300).astype(np.int64),
        "median_amount": rng.lognormal(np.log(45.0), 0.5, n),
    }


def _amounts_and_places(c: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Amount, its ratio to the customer's median, distances and the 24 h count."""
    n = len(c["category"])
    scale = np.array([v[3] for v in CATEGORIES.values()])[c["category"]]
    c["ratio"] = scale * rng.lognormal(0.0, 0.55, n)
    home = rng.lognormal(np.log(8.0), 1.2, n)
    home = np.where(c["online"] == 1, rng.lognormal(np.log(40.0), 1.6, n), home)
    c["home_km"] = np.minimum(home, _MAX_KM)
    c["last_km"] = np.minimum(rng.lognormal(np.log(6.0), 1.4, n), _MAX_KM)
    c["count_24h"] = rng.poisson(1.0 + 1.5 * rng.random(n))


def _fraud_logit(c: dict[str, np.ndarray]) -> np.ndarray:
    """The logistic model behind fraud, with its interactions."""
    scale = np.array([v[3] for v in CATEGORIES.values()])[c["category"]]
    night = c["hour"] <= 5
    unusual = c["ratio"] / scale > 2.2  # unusual for this customer in this category
    far = c["home_km"] > 150.0
    risky = np.isin(c["category"], _RISKY)
    online = c["online"] == 1
    return (
        _INTERCEPT
        + 6.5 * (night & online)
        + 7.0 * (unusual & far)
        + 6.0 * (c["count_24h"] >= 6)
        + 4.0 * (risky & unusual)
        + 4.0 * (c["account_age"] < 60)
        + 4.0 * (c["last_km"] > 150.0)
        + 1.0 * online
        + 1.0 * unusual
        + 1.0 * far
        - 2.5 * c["used_pin"]
    )


def generate(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_rows`` transactions; ``is_fraud`` is the last column."""
    c = _customers(n_rows, rng)
    _amounts_and_places(c, rng)
    fraud = rng.random(n_rows) < 1.0 / (1.0 + np.exp(-_fraud_logit(c)))
    # Fraudsters push what they control: bigger baskets, farther places, more attempts.
    c["ratio"] = np.where(fraud, c["ratio"] * rng.uniform(1.0, 1.4, n_rows), c["ratio"])
    c["count_24h"] = c["count_24h"] + fraud * rng.poisson(1.0, n_rows)
    flip = np.where(fraud, rng.random(n_rows) < 0.03, rng.random(n_rows) < 0.001)
    amount = np.round(c["ratio"] * c["median_amount"], 2)
    return pd.DataFrame(
        {
            "amount": amount,
            "hour": c["hour"].astype(np.int64),
            "day_of_week": c["day_of_week"].astype(np.int64),
            "merchant_category": c["category"].astype(np.int64),
            "distance_from_home_km": np.round(c["home_km"], 2),
            "distance_from_last_txn_km": np.round(c["last_km"], 2),
            "ratio_to_median_amount": np.round(c["ratio"], 3),
            "card_present": c["card_present"].astype(np.int64),
            "online": c["online"].astype(np.int64),
            "used_pin": c["used_pin"].astype(np.int64),
            "txn_count_24h": c["count_24h"].astype(np.int64),
            "account_age_days": c["account_age"],
            "is_fraud": (fraud ^ flip).astype(np.int64),
        }
    )
