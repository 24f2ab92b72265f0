"""SageMaker's built-in XGBoost: its hyperparameter names, inputs, metrics and model format.

Inputs are label-first CSV (``text/csv``), Parquet, LibSVM, or workbench's in-memory
frames. The job prints XGBoost's evaluation log (``[3]\\ttrain-auc:0.91\\tvalidation-auc:0.88``),
which SageMaker's metric regexes turn into ``train:auc`` / ``validation:auc``. The model
is saved with ``Booster.save_model`` in XGBoost's own UBJSON format, never pickled.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ValidationError
from ._base import NUMBER_REGEX, Algorithm
from ._data import read_channel
from ._schema import AUTO, Hyperparameter, HyperparameterSchema

__all__ = ["XGBoost", "XGBoostModel"]

MODEL_FILE = "xgboost-model.ubj"
META_FILE = "xgboost-meta.json"

OBJECTIVES = (
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "multi:softprob",
    "multi:softmax",
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:logistic",
    "reg:pseudohubererror",
    "reg:absoluteerror",
    "reg:tweedie",
    "reg:gamma",
    "count:poisson",
)
EVAL_METRICS = (
    "rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss", "auc",
    "aucpr", "poisson-nloglik", "gamma-nloglik", "gamma-deviance", "tweedie-nloglik",
)  # fmt: skip
_EVAL_RE = re.compile(r"^(" + "|".join(map(re.escape, EVAL_METRICS)) + r")(@[0-9.]+)?$")
_DEFAULT_METRIC = {
    "binary": "logloss",
    "multi": "mlogloss",
    "reg": "rmse",
    "count": "poisson-nloglik",
}
# Names that differ between SageMaker's hyperparameters and xgboost.train params.
_RESERVED = {"num_round", "early_stopping_rounds", "csv_weights", "_tuning_objective_metric"}

H = Hyperparameter
SCHEMA = HyperparameterSchema((
    H("num_round", "int", None, "Number of boosting rounds.", required=True, low=1),
    H("objective", "str", "reg:squarederror", "Learning objective.", choices=OBJECTIVES, tunable=False),
    H("num_class", "int", None, "Number of classes (multi:* objectives only).", low=2),
    H("eta", "float", 0.3, "Step size shrinkage (learning rate).", low=0, high=1),
    H("max_depth", "int", 6, "Maximum depth of a tree (0 = no limit with lossguide).", low=0),
    H("min_child_weight", "float", 1.0, "Minimum sum of instance weight in a child.", low=0),
    H("subsample", "float", 1.0, "Row subsample ratio per tree.", low=0, high=1, low_open=True),
    H("colsample_bytree", "float", 1.0, "Column subsample ratio per tree.", low=0, high=1, low_open=True),
    H("colsample_bylevel", "float", 1.0, "Column subsample ratio per level.", low=0, high=1, low_open=True),
    H("colsample_bynode", "float", 1.0, "Column subsample ratio per split.", low=0, high=1, low_open=True),
    H("gamma", "float", 0.0, "Minimum loss reduction to split a leaf.", low=0),
    H("alpha", "float", 0.0, "L1 regularisation on weights.", low=0),
    H("lambda", "float", 1.0, "L2 regularisation on weights.", low=0),
    H("max_delta_step", "float", 0.0, "Maximum delta step of each leaf output.", low=0),
    H("scale_pos_weight", "float", 1.0, "Weight of positive examples (imbalanced data).", low=0, low_open=True),
    H("base_score", "float", None, "Initial prediction score of all instances."),
    H("booster", "str", "gbtree", "Booster type.", choices=("gbtree", "gblinear", "dart"), tunable=False),
    H("tree_method", "str", "auto", "Tree construction algorithm.", choices=("auto", "exact", "approx", "hist"), tunable=False),
    H("grow_policy", "str", "depthwise", "How new nodes are added.", choices=("depthwise", "lossguide")),
    H("max_leaves", "int", 0, "Maximum number of leaves (lossguide).", low=0),
    H("max_bin", "int", 256, "Maximum number of histogram bins (hist).", low=2),
    H("num_parallel_tree", "int", 1, "Trees built per round (random forest boosting).", low=1),
    H("sketch_eps", "float", 0.03, "Sketch accuracy (approx).", low=0, high=1, low_open=True, high_open=True),
    H("tweedie_variance_power", "float", 1.5, "Tweedie variance power.", low=1, high=2, low_open=True, high_open=True),
    H("rate_drop", "float", 0.0, "Dropout rate (dart).", low=0, high=1),
    H("skip_drop", "float", 0.0, "Probability of skipping dropout (dart).", low=0, high=1),
    H("sample_type", "str", "uniform", "Sampling algorithm (dart).", choices=("uniform", "weighted")),
    H("normalize_type", "str", "tree", "Normalisation algorithm (dart).", choices=("tree", "forest")),
    H("eval_metric", "str", None, "Comma-separated evaluation metrics (default from the objective).", tunable=False),
    H("early_stopping_rounds", "int", None, "Stop when the validation metric has not improved for this many rounds.", low=1, tunable=False),
    H("seed", "int", 0, "Random seed.", tunable=False),
    H("nthread", "int", AUTO, "Number of threads (auto = all cores).", low=1, allow_auto=True, tunable=False),
    H("csv_weights", "int", 0, "1: the second CSV column holds instance weights.", choices=(0, 1), tunable=False),
    H("verbosity", "int", 1, "0 silent, 1 warning, 2 info, 3 debug.", low=0, high=3, tunable=False),
))  # fmt: skip


class XGBoost(Algorithm):
    """SageMaker's built-in XGBoost (``algorithm="xgboost"``)."""

    name = "xgboost"
    title = "XGBoost"
    description = "Gradient-boosted trees for classification and regression (SageMaker's XGBoost)."
    hyperparameters = SCHEMA
    channels = ("train", "validation")
    preload = ("numpy", "pandas", "xgboost")
    engine = "xgboost"
    content_types = ("text/csv", "application/x-parquet", "application/x-npy", "text/libsvm")

    def check_hyperparameters(self, hps: dict[str, Any]) -> None:
        objective = hps["objective"]
        if objective.startswith("multi:") and "num_class" not in hps:
            raise ValidationError(
                "hyperparameters['num_class']",
                None,
                "an integer >= 2",
                hint=f"{objective} needs it.",
            )
        if "num_class" in hps and not objective.startswith("multi:"):
            raise ValidationError(
                "hyperparameters['num_class']",
                hps["num_class"],
                "to be left out",
                hint=f"num_class only applies to multi:* objectives, not {objective}.",
            )
        for metric in self._eval_metrics(hps):
            if not _EVAL_RE.match(metric):
                raise ValidationError(
                    "hyperparameters['eval_metric']",
                    hps.get("eval_metric"),
                    "a comma-separated list of " + ", ".join(EVAL_METRICS),
                )

    def check_inputs(self, hps: dict[str, Any], channels: list[str]) -> None:
        self.check_channels(channels)
        if hps.get("early_stopping_rounds") and "validation" not in channels:
            raise ValidationError(
                "hyperparameters['early_stopping_rounds']",
                hps["early_stopping_rounds"],
                "a 'validation' channel to stop on",
                hint="Add a validation channel or leave early_stopping_rounds out.",
            )

    def check_labels(self, y: np.ndarray, hps: dict[str, Any], channel: str) -> None:
        objective = hps["objective"]
        field = f"channel {channel!r} labels"
        if objective.startswith("binary:"):
            bad = ~np.isin(y, (0.0, 1.0))
            if bad.any():
                raise ValidationError(
                    field, sorted(set(y[bad].tolist()))[:5], f"0 or 1 for {objective}"
                )
        elif objective.startswith("multi:"):
            k = hps["num_class"]
            bad = (y != np.round(y)) | (y < 0) | (y >= k)
            if bad.any():
                raise ValidationError(
                    field, sorted(set(y[bad].tolist()))[:5], f"integers 0..{k - 1} (num_class={k})"
                )
        elif objective in ("reg:gamma", "reg:tweedie", "count:poisson") and (y < 0).any():
            raise ValidationError(field, "negative values", f"non-negative labels for {objective}")

    def problem_type(self, hps: dict[str, Any]) -> str:
        objective = hps.get("objective", "reg:squarederror")
        if objective.startswith("binary:"):
            return "binary_classification"
        if objective.startswith("multi:"):
            return "multiclass_classification"
        return "regression"

    def _eval_metrics(self, hps: dict[str, Any]) -> list[str]:
        if hps.get("eval_metric"):
            metrics = [m.strip() for m in str(hps["eval_metric"]).split(",") if m.strip()]
        else:
            metrics = [_DEFAULT_METRIC[hps.get("objective", "reg:squarederror").split(":")[0]]]
        tuning = hps.get("_tuning_objective_metric")
        if tuning:  # SageMaker adds the tuning objective to the evaluated metrics.
            metric = str(tuning).split(":", 1)[-1]
            if metric not in metrics:
                metrics.append(metric)
        return metrics

    def metric_definitions(self, hps: dict[str, Any]) -> list[dict[str, str]]:
        out = []
        for channel in ("train", "validation"):
            for metric in self._eval_metrics(hps):
                regex = rf".*\[[0-9]+\].*(?:\t|#011){channel}-{re.escape(metric)}:{NUMBER_REGEX}"
                out.append({"Name": f"{channel}:{metric}", "Regex": regex})
        return out

    def train(self, env: Any, hps: dict[str, Any]) -> None:
        import xgboost as xgb

        started = time.perf_counter()
        data = {}
        for channel in ("train", "validation"):
            if channel in env.input_data_config:
                d = read_channel(
                    env.channel_dir(channel), env.content_type(channel), channel=channel
                )
                self.check_labels(d.y, hps, channel)
                data[channel] = d
        names = _feature_names(data["train"].feature_names)
        n_features = data["train"].X.shape[1]
        for channel, d in data.items():
            if d.X.shape[1] != n_features:
                raise ValidationError(
                    f"channel {channel!r}", f"{d.X.shape[1]} features", f"{n_features} like 'train'"
                )
        matrices = {}
        for channel, d in data.items():
            X, weight = d.X, None
            if hps.get("csv_weights") == 1:
                X, weight = X[:, 1:], X[:, 0]
            matrices[channel] = xgb.DMatrix(
                X, label=d.y, weight=weight, feature_names=names and names[-X.shape[1] :]
            )
        params = self._params(hps, env)
        evals = [(matrices[c], c) for c in ("train", "validation") if c in matrices]
        metrics = params["eval_metric"]
        round_channels, params["eval_metric"] = self._per_round(hps, [c for _, c in evals], metrics)
        print(
            f"Training XGBoost {xgb.__version__}: objective={params['objective']}, "
            f"rows={data['train'].n_rows}, features={n_features}, rounds={hps['num_round']} "
            f"(data loaded in {time.perf_counter() - started:.3f} s)",
            flush=True,
        )
        started = time.perf_counter()
        booster = xgb.train(
            params,
            matrices["train"],
            num_boost_round=hps["num_round"],
            evals=[e for e in evals if e[1] in round_channels],
            early_stopping_rounds=hps.get("early_stopping_rounds"),
            verbose_eval=True,
            callbacks=[_remaining_metrics(evals, metrics, round_channels, params["eval_metric"])],
        )
        print(f"Trained in {time.perf_counter() - started:.3f} s", flush=True)
        best = getattr(booster, "best_iteration", None)
        if hps.get("early_stopping_rounds") and best is not None:
            print(f"Stopping. Best iteration: [{best}]", flush=True)
            booster = booster[: best + 1]
        env.model_dir.mkdir(parents=True, exist_ok=True)
        booster.save_model(str(env.model_dir / MODEL_FILE))
        meta = {
            "format": "xgboost-ubj",
            "xgboost_version": xgb.__version__,
            "objective": hps["objective"],
            "num_class": hps.get("num_class"),
            "problem_type": self.problem_type(hps),
            "feature_names": data["train"].feature_names[-n_features:]
            if hps.get("csv_weights") != 1
            else data["train"].feature_names[1:],
            "best_iteration": best,
            "num_round": hps["num_round"],
        }
        (env.model_dir / META_FILE).write_text(json.dumps(meta, indent=2))

    def _per_round(
        self, hps: dict[str, Any], channels: list[str], metrics: list[str]
    ) -> tuple[list[str], list[str]]:
        """The channels and metrics evaluated every round; the others are evaluated once.

        A tuning trial (``_tuning_objective_metric`` set) evaluates only its objective each
        round, plus early stopping's metric on validation: a tuner reads nothing else, and
        evaluating every metric on every channel each round costs a trial a fifth of its
        training time or more. The other metrics are printed once, for the final model.
        """
        tuning = hps.get("_tuning_objective_metric")
        if not tuning:
            return channels, metrics
        channel, metric = str(tuning).split(":", 1)
        wanted, per_round = {channel}, [metric]
        if hps.get("early_stopping_rounds") and "validation" in channels:
            # xgboost stops on the last metric of the last evaluation set, as without tuning
            wanted.add("validation")
            per_round = [m for m in (metric, metrics[-1]) if m != metrics[-1]] + [metrics[-1]]
        return [c for c in channels if c in wanted], per_round

    def _params(self, hps: dict[str, Any], env: Any) -> dict[str, Any]:
        """xgboost.train params: the hyperparameters the user set, plus a few always passed."""
        given = set(env.hyperparameters) | {"objective", "nthread", "tree_method", "seed"}
        params = {
            k: v for k, v in hps.items() if k in given and k not in _RESERVED and v is not None
        }
        params["eval_metric"] = self._eval_metrics(hps)
        if params.get("nthread") == AUTO:
            params["nthread"] = env.num_cpus
        if params.get("tree_method") == "auto":
            params["tree_method"] = "hist"
        return params

    def load(self, model_dir: Path) -> XGBoostModel:
        return XGBoostModel.load(Path(model_dir))


class XGBoostModel:
    """A trained XGBoost booster with SageMaker's output conventions."""

    def __init__(self, booster: Any, meta: dict[str, Any]) -> None:
        self.booster = booster
        self.meta = meta
        self.problem_type: str = meta["problem_type"]
        self.feature_names: list[str] | None = meta.get("feature_names")
        self.objective: str = meta["objective"]

    @classmethod
    def load(cls, model_dir: Path) -> XGBoostModel:
        import xgboost as xgb

        meta = json.loads((model_dir / META_FILE).read_text())
        booster = xgb.Booster(model_file=str(model_dir / MODEL_FILE))
        booster.feature_names = None  # predictions take positional float matrices
        return cls(booster, meta)

    def score(self, X: np.ndarray) -> np.ndarray:
        """What SageMaker's XGBoost endpoint returns: probabilities, margins or values."""
        return self.booster.inplace_predict(np.asarray(X, dtype=np.float64))

    def response_columns(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """SageMaker XGBoost's endpoint answer, as columns: ``score`` (2-D for multi:softprob)."""
        return {"score": self.score(X)}

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        raw = self.score(X)
        if self.objective in ("binary:logistic",):
            return np.column_stack([1.0 - raw, raw])
        if self.objective == "binary:logitraw":
            p = 1.0 / (1.0 + np.exp(-raw))
            return np.column_stack([1.0 - p, p])
        if self.objective == "multi:softprob":
            return raw
        raise AttributeError(
            f"predict_proba is not available for objective {self.objective!r}; "
            "use binary:logistic or multi:softprob for probabilities."
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        raw = self.score(X)
        if self.objective == "binary:logistic":
            return (raw > 0.5).astype(np.int64)
        if self.objective == "binary:logitraw":
            return (raw > 0.0).astype(np.int64)
        if self.objective == "binary:hinge":
            return raw.astype(np.int64)
        if self.objective == "multi:softprob":
            return np.argmax(raw, axis=1).astype(np.int64)
        if self.objective == "multi:softmax":
            return raw.astype(np.int64)
        return raw


def _remaining_metrics(
    evals: list[tuple[Any, str]],
    metrics: list[str],
    round_channels: list[str],
    round_metrics: list[str],
) -> Any:
    """A callback printing, in XGBoost's log format, the metrics not evaluated every round.

    It runs in ``after_training``, before ``xgboost.train`` drops its prediction cache:
    there the last round's predictions are cached and the evaluation is nearly free, while
    after ``train`` returns it predicts every row again (a tenth of a second or more).
    """
    import xgboost as xgb

    done = {(c, m) for c in round_channels for m in round_metrics}
    todo = [(d, c) for d, c in evals if any((c, m) not in done for m in metrics)]

    class RemainingMetrics(xgb.callback.TrainingCallback):
        def after_training(self, model: Any) -> Any:
            if not todo:
                return model
            for metric in metrics:
                if metric not in round_metrics:
                    model.set_param("eval_metric", metric)
            # "[0]\ttrain-auc:0.9\t...": every metric the booster knows, on each channel
            fields = model.eval_set(todo).split("\t")[1:]
            keep = [
                item
                for item in fields
                if (item.partition("-")[0], item.partition("-")[2].split(":", 1)[0]) not in done
            ]
            print(f"[{model.num_boosted_rounds() - 1}]\t" + "\t".join(keep), flush=True)
            return model

    return RemainingMetrics()


def _feature_names(names: list[str]) -> list[str] | None:
    """XGBoost rejects names with [, ] or < and duplicates; fall back to positions then."""
    if len(set(names)) != len(names) or any(c in n for n in names for c in "[]<"):
        return None
    return names
