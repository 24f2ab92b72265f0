"""The fraud track's labs: their tracks and needs, and Day 3 serving Day 2's models by name.

The conventions every lab follows are checked in test_conventions.py.
"""

from __future__ import annotations

from workbench.labs import PROJECTS

from ._notebooks import all_code, lab_paths, read

# lab name -> (tracks, needs) expected in the notebook's "workbench" metadata
FRAUD_LABS = {
    "day1/01_intro_fraud": (["fraud"], []),
    "day1/02_labelling": (sorted(PROJECTS), []),
    "day2/01_features_evaluation": (["maintenance", "fraud"], []),
    "day2/02_tuning": (["fraud"], []),
    "day3/01_moving_to_production": (["fraud"], ["day2/02_tuning"]),
}


def test_the_fraud_labs_exist_with_their_tracks_and_needs():
    assert set(FRAUD_LABS) <= set(lab_paths()), sorted(set(FRAUD_LABS) - set(lab_paths()))
    for name, (tracks, needs) in FRAUD_LABS.items():
        meta = read(name).metadata["workbench"]
        assert sorted(meta["tracks"]) == sorted(tracks) and meta["needs"] == needs, (name, meta)


def test_day3_deploys_the_model_day2_tuning_trained():
    tuning = all_code(read("day2/02_tuning"))
    production = all_code(read("day3/01_moving_to_production"))
    for base in ("fraud-xgboost", "fraud-baseline"):
        assert f'base_job_name="{base}"' in tuning, base
        assert f'latest_training_job("{base}")' in production, base
    assert ".fit(" not in production, "Day 3 serves Day 2's models; it trains none of its own"
