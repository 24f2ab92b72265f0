"""Daily sales of related stores, in long format, for forecasting (DeepAR-style).

Generating process
------------------
Each series is a store. On the log scale its expected daily sales are the sum of

* a level ``log(L)`` with ``L ~ LogNormal(log 200, 0.6)``;
* a linear trend of ``N(0, 0.25)`` per year;
* a weekly profile (Mon..Sun ``-0.10, -0.12, -0.08, -0.02, +0.10, +0.25, +0.05``) scaled by a
  store factor ``U(0.5, 1.5)``;
* a yearly cycle ``a cos(2 pi (day_of_year - peak) / 365.25)`` with ``a ~ U(0.05, 0.3)``
  and a store-specific peak day;
* a temperature effect ``beta x (temperature - store mean)``, ``beta ~ N(0.01, 0.01)``;
* a promotion uplift ``u ~ U(0.15, 0.5)`` on promotion days;
* +0.3 in the five days before Christmas (24 December included).

The temperature is the store's climate (mean ``N(12, 4)`` deg C, amplitude ``U(6, 12)``,
warmest around day 200) plus AR(1) weather noise (phi 0.7, sigma 2.5). Promotions start on
a day with probability 1/30 and last 3 to 10 days. The observed value is Gamma distributed
around the expected sales with shape 20 (coefficient of variation about 22%), so it is a
float >= 0 rounded to cents.

Layout: series of 365 days (from 2022-01-01) when ``size`` is at most 3,650 rows, of 730
days otherwise; as many series as needed, the last one cut short when ``size`` is not a
multiple. Rows are sorted by series, then day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

START = "2022-01-01"
_WEEKLY = np.array([-0.10, -0.12, -0.08, -0.02, 0.10, 0.25, 0.05])
_PROMO_START_P = 1 / 30

CARD = {
    "title": "Daily store sales with promotions and temperature (forecasting)",
    "task": "time-series forecasting",
    "problem_type": "forecasting",
    "target": "value",
    "description": "Related daily series (stores): trend, weekly/yearly seasonality, promos.",
    "columns": {
        "series_id": "object (str) - the store, store_000, store_001, ...",
        "timestamp": "datetime64[ns] - the day (daily, from 2022-01-01, increasing per series)",
        "value": "float64 >= 0 - target: the day's sales",
        "promo": "int64 0/1 - a promotion runs that day (known in advance)",
        "temperature": "float64 - the day's mean temperature at the store in deg C",
    },
    "generating_process": (
        "Per store, log expected sales = log level (LogNormal(log 200, 0.6)) + trend "
        "(N(0, 0.25)/year) + weekly profile x U(0.5, 1.5) + yearly cosine (amplitude "
        "U(0.05, 0.3), store-specific peak) + N(0.01, 0.01) x temperature anomaly + promo "
        "uplift U(0.15, 0.5) + 0.3 before Christmas; value ~ Gamma(shape 20, mean = expected "
        "sales). Temperature = seasonal climate + AR(1) noise; promotions start with "
        "probability 1/30 a day and last 3-10 days. 365-day series up to 3,650 rows, 730-day "
        "series above."
    ),
    "sizes": {"small": 1_825, "medium": 29_200, "large": 109_500},
    "sample_project": "Other: forecasting (DeepAR-style related time series)",
    "source": "generated",
}


def _layout(n_rows: int) -> tuple[int, int]:
    """(number of series, days per series) for ``n_rows`` rows."""
    days = 365 if n_rows <= 3_650 else 730
    return -(-n_rows // days), days


def _temperature(n: int, days: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(series, days) temperatures and each series' climate mean."""
    mean = rng.normal(12.0, 4.0, n)
    amplitude = rng.uniform(6.0, 12.0, n)
    doy = np.arange(days)
    climate = mean[:, None] + amplitude[:, None] * np.cos(2 * np.pi * (doy - 200) / 365.25)
    shocks = rng.normal(0.0, 2.5, (n, days))
    weather = np.empty((n, days))
    weather[:, 0] = shocks[:, 0] / np.sqrt(1 - 0.7**2)
    for day in range(1, days):  # AR(1) over days, vectorised across series
        weather[:, day] = 0.7 * weather[:, day - 1] + shocks[:, day]
    return climate + weather, mean


def _promotions(n: int, days: int, rng: np.random.Generator) -> np.ndarray:
    """(series, days) 0/1 promotion flags: starts with probability 1/30, 3-10 days long."""
    series, start = np.nonzero(rng.random((n, days)) < _PROMO_START_P)
    end = np.minimum(start + rng.integers(3, 11, len(start)), days)
    edges = np.zeros((n, days + 1))
    np.add.at(edges, (series, start), 1)
    np.add.at(edges, (series, end), -1)
    return (np.cumsum(edges, axis=1)[:, :days] > 0).astype(np.int64)


def _log_mean(n: int, dates: pd.DatetimeIndex, temp, temp_mean, promo, rng) -> np.ndarray:
    """(series, days) log expected sales."""
    t = np.arange(len(dates))
    weekly = _WEEKLY[dates.dayofweek.values] * rng.uniform(0.5, 1.5, n)[:, None]
    peak = rng.uniform(0, 365, n)[:, None]
    yearly = rng.uniform(0.05, 0.3, n)[:, None] * np.cos(
        2 * np.pi * (dates.dayofyear.values - peak) / 365.25
    )
    christmas = (dates.month == 12) & (dates.day >= 20) & (dates.day <= 24)
    return (
        rng.normal(np.log(200.0), 0.6, n)[:, None]
        + rng.normal(0.0, 0.25, n)[:, None] * t / 365.25
        + weekly
        + yearly
        + rng.normal(0.01, 0.01, n)[:, None] * (temp - temp_mean[:, None])
        + rng.uniform(0.15, 0.5, n)[:, None] * promo
        + 0.3 * christmas.astype(float)
    )


def generate(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_rows`` daily observations of as many stores as needed, store by store."""
    n, days = _layout(n_rows)
    dates = pd.date_range(START, periods=days, freq="D")
    temp, temp_mean = _temperature(n, days, rng)
    promo = _promotions(n, days, rng)
    mean = np.exp(_log_mean(n, dates, temp, temp_mean, promo, rng))
    value = rng.gamma(20.0, mean / 20.0)
    width = max(3, len(str(n - 1)))
    names = np.array([f"store_{i:0{width}d}" for i in range(n)], dtype=object)  # per series
    return pd.DataFrame(
        {
            "series_id": np.repeat(names, days)[:n_rows],
            "timestamp": np.tile(dates.values, n)[:n_rows],
            "value": np.round(value, 2).reshape(-1)[:n_rows],
            "promo": promo.reshape(-1)[:n_rows],
            "temperature": np.round(temp, 1).reshape(-1)[:n_rows],
        }
    )
