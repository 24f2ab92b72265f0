"""Bank direct marketing: did the customer subscribe to a term deposit after the calls?

Modelled on the UCI "Bank Marketing" data (Moro et al., 2014) that SageMaker's XGBoost
direct-marketing example uses, but generated, with a documented process.

Generating process
------------------
Customers: age from a mixture (working-age normal around 40, a young group around 24 and a
retired group around 67), clipped to 18..95. The job depends on the age group (students are
young, retirees old); marital status depends on age; education depends on the job. The
yearly balance in EUR is log-normal scaled by job and age, with 8% of customers overdrawn.
Housing loans are likelier for 25-55 year-olds, personal loans for blue-collar and services.
Campaign: the contact channel (cellular 65%, telephone 7%, unknown 28%), the month (May
peaks, as in the UCI data), the contacts during this campaign (1 + geometric), and the
previous campaign: 82% were never contacted (``pdays = -1``, ``previous = 0``,
``poutcome = "nonexistent"``); the others have ``previous >= 1``, ``pdays`` days since then,
and a success / failure / other outcome.

Subscription ~ Bernoulli(sigmoid(logit)) with main effects (previous success +2.3, cellular
+0.5, unknown contact -0.9, March/September/October/December +1.0, May -0.5, each extra
contact -0.12, students and retirees +0.7, tertiary education +0.35, housing loan -0.5,
personal loan -0.3, 0.15 x log(1 + positive balance)) and interactions (retiree x cellular
+0.5, recent previous contact (pdays < 100) x success +0.8, single x age < 30 +0.4, more
than 5 contacts x unknown channel -0.8). The intercept (-3.3) gives about 11% positives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

JOBS = np.array(
    [
        "admin.", "blue-collar", "entrepreneur", "housemaid", "management", "retired",
        "self-employed", "services", "student", "technician", "unemployed", "unknown",
    ],
    dtype=object,
)  # fmt: skip
# Job shares for (working-age, young, retired-age) customers, in JOBS order.
_JOB_SHARES = np.array(
    [
        [12, 22, 3, 3, 21, 1, 4, 9, 0.5, 17, 3, 0.5],
        [14, 18, 1, 1, 8, 0, 2, 14, 28, 10, 4, 0.5],
        [2, 4, 2, 6, 6, 74, 2, 1, 0, 1, 1, 1],
    ]
)
MONTHS = np.array(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    dtype=object,
)
_MONTH_SHARES = np.array([3, 6, 1.5, 6.5, 30, 12, 15, 14, 1.5, 2, 9, 0.5])
_GOOD_MONTHS = np.array([2, 8, 9, 11])
EDUCATION = np.array(["primary", "secondary", "tertiary", "unknown"], dtype=object)
MARITAL = np.array(["married", "single", "divorced"], dtype=object)
CONTACT = np.array(["cellular", "telephone", "unknown"], dtype=object)
POUTCOME = np.array(["nonexistent", "failure", "other", "success"], dtype=object)
_INTERCEPT = -3.3

CARD = {
    "title": "Bank direct marketing (term deposit subscription)",
    "task": "direct marketing response",
    "problem_type": "binary_classification",
    "target": "subscribed",
    "description": "Customers called in a bank campaign; ~11% subscribe a term deposit.",
    "columns": {
        "age": "int64 - age in years, 18..95",
        "job": "object (str) - job category: " + ", ".join(JOBS),
        "marital": "object (str) - marital status: " + ", ".join(MARITAL),
        "education": "object (str) - highest education: " + ", ".join(EDUCATION),
        "balance": "int64 - average yearly account balance in EUR (can be negative)",
        "housing": "int64 0/1 - has a housing loan",
        "loan": "int64 0/1 - has a personal loan",
        "contact": "object (str) - contact channel: " + ", ".join(CONTACT),
        "month": "object (str) - month of the last contact: jan .. dec",
        "campaign": "int64 - contacts during this campaign, including the last (>= 1)",
        "pdays": "int64 - days since the previous campaign's contact; -1 = never contacted",
        "previous": "int64 - contacts before this campaign",
        "poutcome": "object (str) - previous campaign's outcome: " + ", ".join(POUTCOME),
        "subscribed": "int64 0/1 - target: the customer subscribed a term deposit (~11%)",
    },
    "generating_process": (
        "Age from a mixture (working age ~40, young ~24, retired ~67); job depends on the age "
        "group, marital status on age, education on job; log-normal balance by job with 8% "
        "overdrawn; housing loans likelier at 25-55, personal loans for blue-collar/services. "
        "Channel cellular/telephone/unknown 65/7/28%, month with a May peak, campaign = 1 + "
        "geometric, 18% previously contacted (pdays, previous, poutcome). Subscription ~ "
        "Bernoulli(sigmoid(-3.3 + 2.3 prev_success + 0.5 cellular - 0.9 unknown_contact + "
        "1.0 mar/sep/oct/dec - 0.5 may - 0.12 (campaign-1) + 0.7 student/retired + 0.35 "
        "tertiary - 0.5 housing - 0.3 loan + 0.15 log1p(balance+) + 0.5 retired*cellular "
        "+ 0.8 (pdays<100)*success + 0.4 single*(age<30) - 0.8 (campaign>5)*unknown_contact))."
    ),
    "sizes": {"small": 4_000, "medium": 45_000, "large": 100_000},
    "sample_project": "Intro lab (Day 1): direct marketing with the built-in XGBoost",
    "source": "generated (modelled on the UCI Bank Marketing data)",
}


def _pick(rng: np.random.Generator, shares: np.ndarray) -> np.ndarray:
    """One category index per row from row-wise shares (rows of ``shares`` sum to anything)."""
    cumulative = np.cumsum(shares, axis=1)
    u = rng.random(len(shares)) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(axis=1)


def _people(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Age, job, marital status, education, balance and loans."""
    group = rng.choice(3, size=n, p=[0.80, 0.12, 0.08])  # working age, young, retired age
    age = np.select(
        [group == 0, group == 1],
        [rng.normal(41, 9, n), rng.normal(24, 3, n)],
        rng.normal(67, 7, n),
    )
    age = np.clip(np.round(age), 18, 95).astype(np.int64)
    job = _pick(rng, _JOB_SHARES[group])
    single_p = np.clip(0.9 - 0.02 * (age - 20), 0.12, 0.9)
    marital_shares = np.column_stack([1 - single_p, single_p, np.full(n, 0.13)])
    edu_shares = np.where(
        np.isin(job, [0, 4, 8])[:, None], [[0.05, 0.4, 0.5, 0.05]], [[0.25, 0.55, 0.15, 0.05]]
    )
    job_scale = np.where(np.isin(job, [2, 4, 5]), 2.0, 1.0) * (1 + (age - 18) / 60)
    balance = rng.lognormal(np.log(500), 1.2, n) * job_scale
    balance = np.where(rng.random(n) < 0.08, -rng.lognormal(np.log(300), 0.9, n), balance)
    housing_p = np.where((age >= 25) & (age <= 55), 0.6, 0.2)
    loan_p = np.where(np.isin(job, [1, 7]), 0.25, 0.12)
    return {
        "age": age,
        "job": job,
        "marital": _pick(rng, marital_shares),
        "education": _pick(rng, edu_shares),
        "balance": np.round(balance).astype(np.int64),
        "housing": (rng.random(n) < housing_p).astype(np.int64),
        "loan": (rng.random(n) < loan_p).astype(np.int64),
    }


def _campaign(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Channel, month, contacts and the previous campaign's history."""
    contacted = rng.random(n) < 0.18
    previous = np.where(contacted, 1 + rng.poisson(1.2, n), 0)
    outcome = np.where(contacted, rng.choice([1, 2, 3], size=n, p=[0.55, 0.2, 0.25]), 0)
    return {
        "contact": rng.choice(3, size=n, p=[0.65, 0.07, 0.28]),
        "month": rng.choice(12, size=n, p=_MONTH_SHARES / _MONTH_SHARES.sum()),
        "campaign": rng.geometric(0.4, n).astype(np.int64),
        "pdays": np.where(contacted, rng.integers(1, 400, n), -1).astype(np.int64),
        "previous": previous.astype(np.int64),
        "poutcome": outcome,
    }


def _logit(c: dict[str, np.ndarray]) -> np.ndarray:
    """Main effects and interactions behind a subscription."""
    success = c["poutcome"] == 3
    cellular, unknown = c["contact"] == 0, c["contact"] == 2
    retired = c["job"] == 5
    return (
        _INTERCEPT
        + 2.3 * success
        + 0.5 * cellular
        - 0.9 * unknown
        + 1.0 * np.isin(c["month"], _GOOD_MONTHS)
        - 0.5 * (c["month"] == 4)
        - 0.12 * (c["campaign"] - 1)
        + 0.7 * (retired | (c["job"] == 8))
        + 0.35 * (c["education"] == 2)
        - 0.5 * c["housing"]
        - 0.3 * c["loan"]
        + 0.15 * np.log1p(np.maximum(c["balance"], 0))
        + 0.5 * (retired & cellular)
        + 0.8 * (success & (c["pdays"] < 100))
        + 0.4 * ((c["marital"] == 1) & (c["age"] < 30))
        - 0.8 * ((c["campaign"] > 5) & unknown)
    )


def generate(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_rows`` customers of the campaign; ``subscribed`` is the last column."""
    c = _people(n_rows, rng)
    c.update(_campaign(n_rows, rng))
    subscribed = rng.random(n_rows) < 1.0 / (1.0 + np.exp(-_logit(c)))
    return pd.DataFrame(
        {
            "age": c["age"],
            "job": JOBS[c["job"]],
            "marital": MARITAL[c["marital"]],
            "education": EDUCATION[c["education"]],
            "balance": c["balance"],
            "housing": c["housing"],
            "loan": c["loan"],
            "contact": CONTACT[c["contact"]],
            "month": MONTHS[c["month"]],
            "campaign": c["campaign"],
            "pdays": c["pdays"],
            "previous": c["previous"],
            "poutcome": POUTCOME[c["poutcome"]],
            "subscribed": subscribed.astype(np.int64),
        }
    )
