"""The Optuna study of a tuning job: a journal file in the tuning job's folder."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from ..core import Workspace
from ..exceptions import ValidationError
from ._config import MAX_PARENTS, WarmStartConfig
from ._parameters import ParameterRange, range_from_spec

if TYPE_CHECKING:
    import optuna

__all__ = ["KIND", "TERMINAL", "create_study", "load_study", "own_trials", "warm_start"]

KIND = "tuning-job"
TERMINAL = ("Completed", "Failed", "Stopped")


def _storage(workspace: Workspace, name: str) -> Any:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    folder = workspace.folder(KIND, name)
    folder.mkdir(parents=True, exist_ok=True)
    backend = JournalFileBackend(str(folder / "study.journal"))
    return optuna.storages.JournalStorage(backend)


def create_study(
    workspace: Workspace, name: str, direction: str, sampler: Any, pruner: Any
) -> optuna.Study:
    import optuna

    return optuna.create_study(
        storage=_storage(workspace, name),
        study_name=name,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )


def load_study(
    workspace: Workspace, name: str, sampler: Any = None, pruner: Any = None
) -> optuna.Study:
    import optuna

    return optuna.load_study(
        study_name=name, storage=_storage(workspace, name), sampler=sampler, pruner=pruner
    )


def own_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's trials that ran as this tuning job's training jobs (not warm start)."""
    return [
        t
        for t in study.get_trials(deepcopy=False)
        if "training_job" in t.user_attrs and "parent_tuning_job" not in t.user_attrs
    ]


def check_parents(
    workspace: Workspace,
    config: WarmStartConfig,
    objective: dict[str, str],
    ranges: dict[str, ParameterRange],
) -> list[dict[str, Any]]:
    """The parents' catalogue rows, after SageMaker's warm start rules."""
    kind = config.type_value()
    parents = sorted(set(config.parents))
    if not 1 <= len(parents) <= MAX_PARENTS:
        raise ValidationError(
            "warm_start_config.parents", parents, f"1 to {MAX_PARENTS} tuning job names"
        )
    records = []
    for parent in parents:
        rec = workspace.catalog.get(KIND, parent)  # ResourceNotFound lists the known ones
        where = f"warm_start_config.parents[{parent!r}]"
        if rec["status"] not in TERMINAL:
            raise ValidationError(where, rec["status"], "a tuning job that has ended")
        if rec["parameters"]["objective"] != objective:
            raise ValidationError(
                where, rec["parameters"]["objective"], f"the same objective {objective}"
            )
        if kind == "IdenticalDataAndAlgorithm":
            theirs = {n: range_from_spec(s) for n, s in rec["parameters"]["ranges"].items()}
            if theirs != ranges:
                raise ValidationError(
                    where,
                    theirs,
                    "the same hyperparameter_ranges for IdenticalDataAndAlgorithm "
                    "(use TransferLearning to change them)",
                )
        records.append(rec)
    return records


def warm_start(
    study: optuna.Study,
    workspace: Workspace,
    parents: list[dict[str, Any]],
    ranges: dict[str, ParameterRange],
) -> int:
    """Add the parents' completed trials whose values fit ``ranges``; return how many."""
    import optuna

    distributions = {n: r.distribution() for n, r in ranges.items()}
    added = 0
    for rec in parents:
        parent = load_study(workspace, rec["name"])
        for trial in own_trials(parent):
            if trial.state != optuna.trial.TrialState.COMPLETE:
                continue
            values = trial.user_attrs.get("hyperparameters", {})
            if set(values) != set(ranges) or not all(
                ranges[n].is_valid(v) for n, v in values.items()
            ):
                continue  # TransferLearning: trials outside the new ranges do not fit
            params = {n: ranges[n].to_sample(v) for n, v in values.items()}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                study.add_trial(
                    optuna.trial.create_trial(
                        value=trial.value,
                        params=params,
                        distributions=distributions,
                        user_attrs={**trial.user_attrs, "parent_tuning_job": rec["name"]},
                    )
                )
            added += 1
    return added
