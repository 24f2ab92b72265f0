"""Comparing several models on one test set."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..exceptions import ValidationError
from ._evaluate import (
    _check_frame,
    evaluate,
    problem_type_of,
    resolve_model,
    resolve_target,
)
from ._metrics import METRIC_KEYS

if TYPE_CHECKING:
    import pandas as pd

    from ..core import Workspace

__all__ = ["compare"]


def compare(
    models_or_jobs: Iterable[Any],
    test_df: pd.DataFrame,
    *,
    target: str | None = None,
    threshold: float = 0.5,
    positive_label: Any = 1,
    record: bool = False,
    workspace: Workspace | str | None = None,
) -> pd.DataFrame:
    """Evaluate several models on the same test data: one row per model.

    Models, training jobs and job names can be mixed; they must share a problem type
    (checked before anything is predicted). Columns are ``algorithm`` then the metrics of
    that problem type, in :func:`evaluate`'s order; the index is the model name.

    Example
    -------
    >>> compare([xgb_job, linear_job], test_df).sort_values("roc_auc")  # doctest: +SKIP
    """
    import pandas as pd

    if isinstance(models_or_jobs, str):
        models_or_jobs = [models_or_jobs]
    models = [resolve_model(m, workspace) for m in models_or_jobs]
    if not models:
        raise ValidationError("models_or_jobs", [], "at least one model, job or job name")
    frame = _check_frame(test_df, None)
    kinds = {}
    for model in models:
        column = resolve_target(model, frame, target)
        kinds[model.name] = problem_type_of(model, frame[column].to_numpy())
    if len(set(kinds.values())) > 1:
        raise ValidationError(
            "models_or_jobs",
            kinds,
            "models of one problem type",
            hint="Compare binary, multiclass and regression models separately.",
        )
    problem_type = next(iter(kinds.values()))
    rows = []
    for model in models:
        ev = evaluate(
            model,
            frame,
            target=target,
            threshold=threshold,
            positive_label=positive_label,
            record=record,
        )
        rows.append({"algorithm": ev.algorithm or model.entry_point, **ev.metrics})
    columns = ["algorithm", *METRIC_KEYS[problem_type]]
    index = pd.Index([m.name for m in models], name="model")
    return pd.DataFrame(rows, index=index, columns=columns)
