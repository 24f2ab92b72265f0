"""Predictive maintenance: daily sensor readings of a fleet of machines, failures ahead.

Generating process
------------------
Each machine has a type (L, M, H with shares 50/30/20%, as in the AI4I 2020 benchmark)
that sets its daily load (Poisson operating cycles, mean 20/30/40) and its nominal speed,
and a preventive maintenance interval (L 150, M 110, H 80 days, random phase, +-10 days of
jitter per visit). A hidden wear state starts at 0 and grows every day by
``cycles x 0.00035 x period factor x daily factor``, where the period factor
(log-normal, sigma 0.3) is the operating regime since the last reset and the daily factor
(log-normal, sigma 0.4) the day's conditions. The machine fails on the first day its wear
crosses its own threshold (log-normal around 1, sigma 0.1); independently, 1 in 2,000
machine-days has a random electrical failure the sensors cannot foresee. A failure is
repaired overnight and a maintenance visit both reset the wear (and the tool) to 0.

Sensors read the wear with noise: temperature (ambient seasonal + type offset + 12 w^2),
vibration (grows as w^3), pressure (falls with w), rpm (nominal by type, falls with w),
torque (rises with w) and tool wear in minutes (operating minutes since the last reset).
The target ``failure_within_7d`` is 1 on the day of a failure and the six days before it
(the simulation runs 7 days past the end, so the last rows are labelled too). About 4% of
rows are positive. A gradient-boosted tree on the sensors reaches a ROC AUC around 0.9.
Rows are sorted by machine and time; ``size`` rows are the first machines' first days
(365 days per machine, the last machine cut short when ``size`` is not a multiple).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAYS_PER_MACHINE = 365
START = "2024-01-01"
WINDOW_DAYS = 7
TYPES = np.array(["L", "M", "H"], dtype=object)
_TYPE_SHARES = [0.5, 0.3, 0.2]
_CYCLES_PER_DAY = np.array([20.0, 30.0, 40.0])
_SERVICE_DAYS = np.array([150, 110, 80])
_NOMINAL_RPM = np.array([1500.0, 1750.0, 2000.0])
_WEAR_PER_CYCLE = 0.00035
_RANDOM_FAILURE = 1 / 2000

CARD = {
    "title": "Machine fleet sensor readings (predictive maintenance)",
    "task": "predictive maintenance",
    "problem_type": "binary_classification",
    "target": "failure_within_7d",
    "description": "Daily sensor readings of machines; predict a failure in the next 7 days.",
    "columns": {
        "machine_id": "int64 - machine number 0..n_machines-1",
        "timestamp": "datetime64[ns] - day of the reading (daily, increasing per machine)",
        "machine_type": "object (str) - quality variant L (low), M (medium), H (high load)",
        "age_cycles": "int64 - operating cycles since installation",
        "temperature": "float64 - process temperature in deg C",
        "vibration": "float64 - vibration velocity in mm/s",
        "pressure": "float64 - hydraulic pressure in bar",
        "rpm": "float64 - spindle speed in revolutions per minute",
        "torque": "float64 - torque in Nm",
        "tool_wear_min": "int64 - operating minutes of the tool since the last reset",
        "failure_within_7d": "int64 0/1 - target: the machine fails today or in the next 6 days",
    },
    "generating_process": (
        "Machines of type L/M/H (50/30/20%) run Poisson(20/30/40) cycles a day. A hidden "
        "wear state grows by cycles x 0.00035 x a log-normal period factor (sigma 0.3) x a "
        "log-normal daily factor (sigma 0.4); the machine fails when wear crosses its "
        "threshold (log-normal around 1), plus 1 in 2,000 machine-days of random failure. "
        "Preventive maintenance every 150/110/80 days (random phase, +-10 days) and every "
        "failure reset the wear to 0. Sensors drift with wear plus Gaussian noise: "
        "temperature (+12 w^2 on a seasonal ambient), vibration (+4 w^3), pressure (-0.8 w), "
        "rpm (-150 w), torque (+8 w); tool_wear_min counts operating minutes since the "
        "reset. The target is 1 on a failure day and the 6 days before it (~4% positive)."
    ),
    "sizes": {"small": 2_920, "medium": 36_500, "large": 109_500},
    "sample_project": "Classical ML: predictive maintenance (failure-ahead classification)",
    "source": "generated",
}


def _fleet(n_machines: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-machine constants: type, threshold, first maintenance day, initial age."""
    kind = rng.choice(3, size=n_machines, p=_TYPE_SHARES)
    return {
        "kind": kind,
        "threshold": rng.lognormal(0.0, 0.1, n_machines),
        "next_service": rng.integers(1, _SERVICE_DAYS[kind] + 1),
        "age0": rng.integers(0, 60_000, n_machines),
    }


def _simulate(fleet: dict[str, np.ndarray], n_days: int, rng: np.random.Generator) -> dict:
    """Run the fleet day by day (vectorised over machines): wear, cycles and failures."""
    kind, n = fleet["kind"], len(fleet["kind"])
    cycles = rng.poisson(_CYCLES_PER_DAY[kind], size=(n_days, n))
    daily = rng.lognormal(0.0, 0.4, size=(n_days, n))
    random_failure = rng.random((n_days, n)) < _RANDOM_FAILURE
    period = rng.lognormal(0.0, 0.3, n)
    wear_now, tool_now = np.zeros(n), np.zeros(n)
    next_service = fleet["next_service"].copy()
    wear, tool = np.empty((n_days, n)), np.empty((n_days, n))
    failed = np.zeros((n_days, n), dtype=bool)
    for day in range(n_days):  # one step per day for the whole fleet, not per row
        serviced = next_service == day
        wear_now[serviced], tool_now[serviced] = 0.0, 0.0
        next_service[serviced] += _SERVICE_DAYS[kind[serviced]] + rng.integers(
            -10, 11, serviced.sum()
        )
        wear_now += cycles[day] * _WEAR_PER_CYCLE * period * daily[day]
        tool_now += cycles[day] * 2.0
        wear[day], tool[day] = wear_now, tool_now
        failed[day] = (wear_now >= fleet["threshold"]) | random_failure[day]
        reset = failed[day] | serviced
        period[reset] = rng.lognormal(0.0, 0.3, reset.sum())
        wear_now[failed[day]], tool_now[failed[day]] = 0.0, 0.0
    return {"cycles": cycles, "wear": wear, "tool": tool, "failed": failed}


def _sensors(kind: np.ndarray, wear: np.ndarray, rng: np.random.Generator) -> dict:
    """Noisy sensor readings of a (days, machines) wear matrix."""
    shape = wear.shape
    day = np.arange(shape[0])[:, None]
    ambient = 15.0 + 8.0 * np.sin(2 * np.pi * (day - 100) / 365.25)
    vibration = 1.5 + 0.3 * kind + 4.0 * wear**3 + rng.normal(0.0, 0.4, shape)
    return {
        "temperature": ambient + 20.0 + 3.0 * kind + 12.0 * wear**2 + rng.normal(0, 1.5, shape),
        "vibration": np.maximum(vibration, 0.05),
        "pressure": 6.0 - 0.8 * wear + rng.normal(0.0, 0.25, shape),
        "rpm": _NOMINAL_RPM[kind] - 150.0 * wear + rng.normal(0.0, 40.0, shape),
        "torque": 40.0 + 5.0 * kind + 8.0 * wear + rng.normal(0.0, 3.0, shape),
    }


def _failure_ahead(failed: np.ndarray, n_days: int) -> np.ndarray:
    """1 where a failure happens on this day or within the next WINDOW_DAYS - 1 days."""
    counts = np.vstack([np.zeros((1, failed.shape[1])), np.cumsum(failed, axis=0)])
    ahead = counts[WINDOW_DAYS : WINDOW_DAYS + n_days] - counts[:n_days]
    return (ahead > 0).astype(np.int64)


def generate(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_rows`` daily readings, machine by machine; ``failure_within_7d`` last."""
    n_machines = -(-n_rows // DAYS_PER_MACHINE)
    fleet = _fleet(n_machines, rng)
    sim = _simulate(fleet, DAYS_PER_MACHINE + WINDOW_DAYS, rng)
    days = slice(0, DAYS_PER_MACHINE)
    kind = fleet["kind"]
    sensors = _sensors(kind, sim["wear"][days], rng)
    age = fleet["age0"] + np.cumsum(sim["cycles"][days], axis=0)

    def flat(matrix: np.ndarray) -> np.ndarray:  # (days, machines) -> machine-major rows
        return matrix.T.reshape(-1)[:n_rows]

    dates = pd.date_range(START, periods=DAYS_PER_MACHINE, freq="D").values
    frame = {
        "machine_id": np.repeat(np.arange(n_machines, dtype=np.int64), DAYS_PER_MACHINE),
        "timestamp": np.tile(dates, n_machines),
        "machine_type": np.repeat(TYPES[kind], DAYS_PER_MACHINE),
    }
    frame = {key: value[:n_rows] for key, value in frame.items()}
    frame["age_cycles"] = flat(age).astype(np.int64)
    frame.update({key: np.round(flat(value), 3) for key, value in sensors.items()})
    frame["tool_wear_min"] = flat(sim["tool"][days]).astype(np.int64)
    frame["failure_within_7d"] = flat(_failure_ahead(sim["failed"], DAYS_PER_MACHINE))
    return pd.DataFrame(frame)
