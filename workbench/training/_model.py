"""Trained models loaded in the kernel, after their checksum is checked against the catalogue."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tarfile
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from ..algorithms._base import SUPERVISED_PROBLEM_TYPES
from ..core import Workspace, get_workspace, sha256_file
from ..exceptions import ArtifactIntegrityError, ValidationError

__all__ = ["Model", "list_models"]

KIND = "model"


class Model:
    """A model produced by a training job, loaded for ``predict(df)`` in this kernel.

    Nothing is unpacked or unpickled unless ``model.tar.gz`` has the checksum recorded
    in the catalogue when the job completed.

    Example
    -------
    >>> model = job.model()                      # doctest: +SKIP
    >>> model.predict(test_df.drop(columns="is_fraud"))[:3]  # doctest: +SKIP
    """

    def __init__(self, name: str, workspace: Workspace | str | None = None) -> None:
        self.workspace = get_workspace(workspace)
        self.name = name
        record = self.workspace.catalog.get(KIND, name)
        params = record["parameters"]
        self.algorithm: str | None = params.get("algorithm")
        self.entry_point: str | None = params.get("entry_point")
        self.target: str | None = params.get("target")
        artifact = record["artifacts"].get("model_data")
        if not artifact:
            raise ArtifactIntegrityError(f"Model {name!r} has no model artifact recorded")
        self.model_data = Path(artifact["path"])
        self.checksum: str = artifact["sha256"]
        self.model_dir = self._unpack()
        self._impl: Any = None
        self._module: Any = None
        self.recipe: Any = None
        if (self.model_dir / "recipe").is_dir():
            from ..features import FittedRecipe  # the model's own feature recipe

            self.recipe = FittedRecipe.load(self.model_dir / "recipe")
        if self.algorithm:
            from ..algorithms import get_algorithm

            self._impl = get_algorithm(self.algorithm).load(self.model_dir)
        else:
            self._impl = self._load_script_model()
        self.problem_type: str | None = getattr(self._impl, "problem_type", None) or params.get(
            "problem_type"
        )
        self.feature_names: list[str] | None = getattr(self._impl, "feature_names", None) or (
            params.get("feature_names")
        )

    @property
    def algorithm_model(self) -> Any:
        """The built-in algorithm's own trained model (``None`` for script mode).

        It has what only that algorithm knows, e.g. NTM's and LDA's
        ``top_words(10)``, or the K-Means centres.
        """
        return self._impl if self.algorithm else None

    def __repr__(self) -> str:
        kind = self.algorithm or f"script {self.entry_point}"
        return f"Model({self.name!r}, {kind}, {self.problem_type})"

    def _unpack(self) -> Path:
        """Verify the artifact, then extract it into a folder private to this Model."""
        if not self.model_data.exists():
            raise ArtifactIntegrityError(f"Model artifact {self.model_data} is missing")
        actual = sha256_file(self.model_data)
        if actual != self.checksum:
            raise ArtifactIntegrityError(
                f"Refusing to load {self.model_data}: its sha256 {actual[:16]}... does not match "
                f"the catalogue's {self.checksum[:16]}... (the file changed after training)"
            )
        parent = self.workspace.folder(KIND, self.name)
        parent.mkdir(parents=True, exist_ok=True)
        # A fresh folder per load: files unpacked earlier could have been changed since.
        target = Path(tempfile.mkdtemp(dir=parent, prefix=".unpacked-"))
        weakref.finalize(self, shutil.rmtree, target, True)
        with tarfile.open(self.model_data, "r:gz") as tar:
            tar.extractall(target, filter="data")
        return target

    def _load_script_model(self) -> Any:
        code = self.model_dir / "code"
        script = code / (self.entry_point or "")
        if not script.is_file():
            raise ValidationError("entry_point", self.entry_point, f"a file in {code}")
        module_name = f"_workbench_model_{self.name.replace('-', '_')}"
        spec = importlib.util.spec_from_file_location(module_name, script)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(code))
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(code))
        if not hasattr(module, "model_fn"):
            raise ValidationError(
                f"{self.entry_point} model_fn",
                None,
                "a model_fn(model_dir) function that loads the model (SageMaker's inference "
                "contract)",
            )
        self._module = module
        return module.model_fn(str(self.model_dir))

    def deploy(
        self, initial_instance_count: int = 1, instance_type: str = "local", **kwargs: Any
    ) -> Any:
        """Serve this model from a new endpoint; return a Predictor (see ``workbench.serving.deploy``).

        Example
        -------
        >>> predictor = job.model().deploy(endpoint_name="fraud")   # doctest: +SKIP
        """
        from ..serving import deploy

        return deploy(
            self.name, initial_instance_count, instance_type, workspace=self.workspace, **kwargs
        )

    def transform(self, X: Any) -> Any:
        """The model's input features for raw rows ``X``, as a DataFrame.

        With a feature recipe (trained on a processing job's output), the recipe turns raw
        records into features exactly as at training time; otherwise the feature columns
        are picked by name (the target and extra columns are ignored).
        """
        import pandas as pd

        if self.recipe is not None:
            if not isinstance(X, pd.DataFrame):
                raise ValidationError(
                    "X", type(X).__name__, "a DataFrame of raw records (the model has a recipe)"
                )
            return self.recipe.transform(X)
        matrix, index = self._matrix(X)
        names = self.feature_names or [f"f{i}" for i in range(matrix.shape[1])]
        return pd.DataFrame(matrix, index=index, columns=names)

    def _features(self, X: Any) -> tuple[np.ndarray, Any]:
        import pandas as pd

        if self.recipe is not None:
            frame = self.transform(X)
            return frame.to_numpy(dtype=np.float64), frame.index
        matrix, index = self._matrix(X)
        return matrix, index if isinstance(X, pd.DataFrame) else None

    def _matrix(self, X: Any) -> tuple[np.ndarray, Any]:
        import pandas as pd

        if isinstance(X, pd.DataFrame):
            names = self.feature_names
            if names:
                missing = [c for c in names if c not in X.columns]
                if missing:
                    raise ValidationError(
                        "X columns", missing[:10], f"the model's features: {', '.join(names[:30])}"
                    )
                X = X[names]
            elif self.target and self.target in X.columns:
                X = X.drop(columns=[self.target])
            bad = [str(c) for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
            if bad:
                raise ValidationError("X columns", bad[:10], "numeric columns")
            return X.to_numpy(dtype=np.float64, na_value=np.nan), X.index
        if _is_sparse(X):  # e.g. one-hot users and items for Factorization Machines
            if self.feature_names and X.shape[1] != len(self.feature_names):
                raise ValidationError(
                    "X", f"{X.shape[1]} columns", f"{len(self.feature_names)} feature columns"
                )
            return X, None
        matrix = np.asarray(X, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        if self.feature_names and matrix.shape[1] != len(self.feature_names):
            raise ValidationError(
                "X", f"{matrix.shape[1]} columns", f"{len(self.feature_names)} feature columns"
            )
        return matrix, None

    def predict(self, X: Any) -> Any:
        """Labels (classifiers) or values (regressors) as a pandas Series.

        Other built-in algorithms answer with a DataFrame of SageMaker's response keys:
        ``closest_cluster`` / ``distance_to_cluster`` (K-Means), ``projection_*`` (PCA),
        ``score`` (Random Cut Forest), forecasts (DeepAR), topic weights (NTM), ...
        """
        import pandas as pd

        if self._module is not None:
            X = self._without_target(X)
            fn = getattr(self._module, "predict_fn", None)
            result = fn(X, self._impl) if fn else self._impl.predict(X)
            index = X.index if isinstance(X, pd.DataFrame) else None
            result = np.asarray(result)
            return pd.Series(result, index=index) if result.ndim == 1 else pd.DataFrame(result)
        impl = self._impl
        if not getattr(impl, "tabular", True):  # images, texts, series: the model reads them
            return impl.predict_frame(X)
        matrix, index = self._features(X)
        if self.problem_type not in SUPERVISED_PROBLEM_TYPES and hasattr(impl, "predict_frame"):
            frame = impl.predict_frame(matrix)
            if index is not None:
                frame.index = index
            return frame
        name = "prediction" if self.problem_type == "regression" else "predicted_label"
        return pd.Series(impl.predict(matrix), index=index, name=name)

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities as a DataFrame with one column per class (classifiers only)."""
        import pandas as pd

        if self._module is not None:
            X = self._without_target(X)
            probs = self._impl.predict_proba(X)
            index = X.index if isinstance(X, pd.DataFrame) else None
            return pd.DataFrame(np.asarray(probs), index=index)
        if not getattr(self._impl, "tabular", True):  # texts, images: the model reads them
            probs = np.asarray(self._impl.predict_proba(X))
            return pd.DataFrame(probs, index=X.index if isinstance(X, pd.Series) else None)
        matrix, index = self._features(X)
        return pd.DataFrame(self._impl.predict_proba(matrix), index=index)

    def _without_target(self, X: Any) -> Any:
        if self.target and hasattr(X, "columns") and self.target in X.columns:
            return X.drop(columns=[self.target])
        return X

    def contributions(self, X: Any) -> Any:
        """Per-row feature contributions (XGBoost's ``pred_contribs``), plus a ``bias`` column.

        For binary classifiers they add up to the log-odds; for regression, to the prediction.
        """
        import pandas as pd

        booster = getattr(self._impl, "booster", None)
        if booster is None or self.problem_type == "multiclass_classification":
            raise AttributeError(
                "contributions are available for XGBoost binary classifiers and regressors, "
                f"not for {self.algorithm or 'script'} / {self.problem_type}"
            )
        import xgboost as xgb

        frame = self.transform(X)
        values = booster.predict(xgb.DMatrix(frame.to_numpy(dtype=np.float64)), pred_contribs=True)
        return pd.DataFrame(values, index=frame.index, columns=[*frame.columns, "bias"])

    def feature_importance(self) -> Any:
        """XGBoost's gain per feature, or Linear Learner's absolute weights (standardised)."""
        import pandas as pd

        names = self.feature_names or []
        booster = getattr(self._impl, "booster", None)
        if booster is not None:
            gains = booster.get_score(importance_type="gain")
            values = [gains.get(f"f{i}", 0.0) for i in range(len(names))]
        elif hasattr(self._impl, "weights"):
            values = np.abs(np.asarray(self._impl.weights)).reshape(len(names), -1).sum(axis=1)
        else:
            raise AttributeError(f"no feature importance for {self.algorithm or 'script'} models")
        series = pd.Series(values, index=names, name="importance", dtype=float)
        return series.sort_values(ascending=False)


def _is_sparse(X: Any) -> bool:
    return type(X).__module__.startswith("scipy.sparse")


def list_models(workspace: Workspace | str | None = None) -> Any:
    """Models in the workspace as a DataFrame (name, algorithm, training job, checksum)."""
    import pandas as pd

    rows = []
    for rec in get_workspace(workspace).catalog.list(KIND):
        art = rec["artifacts"].get("model_data", {})
        rows.append(
            {
                "name": rec["name"],
                "status": rec["status"],
                "algorithm": rec["parameters"].get("algorithm")
                or rec["parameters"].get("entry_point"),
                "problem_type": rec["parameters"].get("problem_type"),
                "training_job": rec["parameters"].get("training_job"),
                "created": rec["created_at"],
                "model_data": art.get("path"),
                "sha256": art.get("sha256"),
            }
        )
    columns = ["name", "status", "algorithm", "problem_type", "training_job", "created"]
    return pd.DataFrame(rows, columns=columns + ["model_data", "sha256"])
