"""Declarative feature recipes, compiled to a scikit-learn ``Pipeline`` and fitted on train only.

A :class:`Recipe` is a readable list of steps (``{"op": "impute", "columns": [...], ...}``;
every op, its parameters, the ordering and the prediction-time rules are documented in
:mod:`workbench.features._steps`). It round-trips through JSON and YAML, checks itself
against a DataFrame with :meth:`Recipe.validate`, and compiles to
``Pipeline([("prepare", Prepare), ("columns", ColumnTransformer)])``. :meth:`Recipe.fit`
returns a :class:`FittedRecipe`, whose ``transform`` gives a float64 DataFrame with fixed
column names and the input's index, and which saves to a folder (``recipe.json`` +
``pipeline.joblib``).
"""

from __future__ import annotations

import copy
import io
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from ..core import atomic_write_bytes, atomic_write_text
from ..exceptions import ValidationError
from ._steps import OPS, REQUIRED, Prepare, chain, column_kind, registered_function
from ._steps import register_function as register_function

__all__ = ["Recipe", "FittedRecipe", "load_recipe", "register_function"]

_VERSION = 1
_TOP_KEYS = ("version", "name", "target", "steps")
_ENCODERS_HINT = {
    "string": "add one_hot/ordinal/target_encode/hashing/tfidf or drop it",
    "category": "add one_hot/ordinal/target_encode/hashing or drop it",
    "datetime": "add date_parts or drop it",
    "other": "convert it to numbers, text or datetime, or drop it",
}
_KIND_WORDS = {
    "string": "text/categorical",
    "category": "text/categorical",
    "datetime": "datetime",
    "other": "of an unsupported type",
}


class Recipe:
    """An ordered list of feature steps, with an optional target column.

    Recipes are immutable: :meth:`add` returns a new one. Nothing is checked until
    :meth:`add`, :meth:`from_dict`, :meth:`validate`, :meth:`compile` or :meth:`fit`.

    Example
    -------
    >>> recipe = (
    ...     Recipe(target="churned")
    ...     .add("impute", columns=["age"], strategy="median")
    ...     .add("scale", columns=["age"])
    ...     .add("one_hot", columns=["plan"])
    ... )
    >>> fitted = recipe.fit(train)          # doctest: +SKIP
    >>> fitted.transform(valid).columns     # doctest: +SKIP
    Index(['age', 'plan_basic', 'plan_pro'], dtype='object')
    """

    def __init__(
        self,
        steps: list[dict[str, Any]] | None = None,
        target: str | None = None,
        name: str = "recipe",
    ) -> None:
        self._steps = copy.deepcopy(list(steps)) if steps is not None else []
        self.target = target
        self.name = name

    # ------------------------------------------------------------------ spec

    @property
    def steps(self) -> list[dict[str, Any]]:
        """A copy of the step dicts."""
        return copy.deepcopy(self._steps)

    def add(self, op: str, **params: Any) -> Recipe:
        """A new recipe with the step ``{"op": op, **params}`` appended (checked first)."""
        step = _normalise_step({"op": op, **params}, len(self._steps))
        return Recipe([*self._steps, step], target=self.target, name=self.name)

    def to_dict(self) -> dict[str, Any]:
        steps = [_jsonable(s) for s in self.steps]
        return {"version": _VERSION, "name": self.name, "target": self.target, "steps": steps}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """A recipe from :meth:`to_dict` output; a wrong structure names the key."""
        if not isinstance(data, dict):
            raise ValidationError(
                "recipe", type(data).__name__, "a mapping with keys " + ", ".join(_TOP_KEYS)
            )
        for key in data:
            if key not in _TOP_KEYS:
                raise ValidationError(
                    str(key), data[key], "one of the keys " + ", ".join(_TOP_KEYS)
                )
        if data.get("version", _VERSION) != _VERSION:
            raise ValidationError("version", data["version"], f"{_VERSION}")
        name = data.get("name", "recipe")
        if not isinstance(name, str) or not name:
            raise ValidationError("name", name, "a non-empty string")
        target = data.get("target")
        if target is not None and not isinstance(target, str):
            raise ValidationError("target", target, "a column name or null")
        steps = data.get("steps", [])
        if not isinstance(steps, list):
            raise ValidationError("steps", steps, "a list of step mappings")
        return cls([_normalise_step(s, i) for i, s in enumerate(steps)], target=target, name=name)

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The recipe as JSON text, also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        if path is not None:
            atomic_write_text(path, text)
        return text

    def to_yaml(self, path: str | os.PathLike[str] | None = None) -> str:
        """The recipe as YAML text, also written to ``path`` when given."""
        import yaml

        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)
        if path is not None:
            atomic_write_text(path, text)
        return text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipe) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        ops = ", ".join(s.get("op", "?") for s in self._steps)
        return f"Recipe(name={self.name!r}, target={self.target!r}, steps=[{ops}])"

    # ------------------------------------------------------------------ data

    def validate(self, df: pd.DataFrame) -> None:
        """Check the recipe against training data; raises ValidationError naming the field.

        ``df`` is training data: when ``target`` is set it must hold the target column.
        """
        self._plan(df)

    def compile(self, df: pd.DataFrame) -> Pipeline:
        """The unfitted scikit-learn Pipeline for data shaped like ``df`` (validated first)."""
        return _build(self._plan(df))

    def fit(self, df: pd.DataFrame) -> FittedRecipe:
        """Validate, compile and fit on ``df`` (the training rows only)."""
        plan = self._plan(df)
        pipeline = _build(plan)
        with _fit_errors():
            pipeline.fit(df, self._y(df))
        return FittedRecipe._from_fit(self, pipeline, plan)

    def fit_transform(self, df: pd.DataFrame) -> tuple[FittedRecipe, pd.DataFrame]:
        """Fit on ``df`` and return ``(fitted, features of df)``.

        The training features are cross-fitted where a step supports it: target_encode gives
        each training row an out-of-fold encoding, unlike ``fitted.transform(df)``.
        """
        plan = self._plan(df)
        pipeline = _build(plan)
        with _fit_errors():
            out = pipeline.fit_transform(df, self._y(df))
        fitted = FittedRecipe._from_fit(self, pipeline, plan)
        return fitted, fitted._frame(out, df.index)

    def _y(self, df: pd.DataFrame) -> pd.Series | None:
        return df[self.target] if self.target is not None else None

    def _resolved_steps(self) -> list[dict[str, Any]]:
        steps = [_normalise_step(s, i) for i, s in enumerate(self._steps)]
        return [_with_defaults(s) for s in steps]

    def _plan(self, df: pd.DataFrame) -> _Plan:
        if not isinstance(df, pd.DataFrame):
            raise ValidationError("df", type(df).__name__, "a pandas DataFrame")
        if self.name is not None and not isinstance(self.name, str):
            raise ValidationError("name", self.name, "a string")
        steps = self._resolved_steps()
        return _Planner(steps, self.target, df).plan()


# ---------------------------------------------------------------------- structure checks


def _normalise_step(raw: Any, index: int) -> dict[str, Any]:
    """Check one step's structure and parameter values; return it JSON-shaped."""
    where = f"steps[{index}]"
    if not isinstance(raw, dict):
        raise ValidationError(where, raw, 'a mapping like {"op": "impute", "columns": [...]}')
    op = raw.get("op")
    if op not in OPS:
        raise ValidationError(f"{where}.op", op, "one of " + ", ".join(OPS))
    spec = OPS[op]
    step = {"op": op}
    for key, value in raw.items():
        if key == "op":
            continue
        if key not in spec.params:
            raise ValidationError(
                f"{where}.{key}", value, f"a parameter of {op}: " + ", ".join(spec.params)
            )
        step[key] = _jsonable(value)
    for key, default in spec.params.items():
        if default is REQUIRED and key not in step:
            raise ValidationError(f"{where}.{key}", None, f"a value (required by {op})")
    if "columns" in step and not (op == "function" and step["columns"] is None):
        if isinstance(step["columns"], str):
            step["columns"] = [step["columns"]]
        columns = step["columns"]
        if (
            not isinstance(columns, list)
            or not columns
            or not all(isinstance(c, str) and c for c in columns)
        ):
            raise ValidationError(f"{where}.columns", columns, "a non-empty list of column names")
        if len(set(columns)) != len(columns):
            raise ValidationError(f"{where}.columns", columns, "distinct column names")
    spec.check(_with_defaults(step), where)
    return step


def _with_defaults(step: dict[str, Any]) -> dict[str, Any]:
    spec = OPS[step["op"]]
    return {**{k: copy.deepcopy(v) for k, v in spec.params.items()}, **step}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------- data checks + plan


@dataclass
class _Plan:
    steps: list[dict[str, Any]]
    rename: dict[str, str]  # raw -> new
    input_columns: list[str]  # raw names, data order
    kinds: dict[str, str]  # raw name -> kind
    dtypes: dict[str, str]  # raw name -> dtype
    passthrough: list[str]  # new names
    groups: dict[tuple, list[str]]  # ("chain", step indices) | ("combine", index) -> columns
    chains: dict[str, list[int]]
    functions: list[tuple[int, list[str], list[str]]] = field(default_factory=list)


class _Planner:
    """Checks a recipe against a frame in one pass and works out the branches."""

    def __init__(self, steps: list[dict[str, Any]], target: str | None, df: pd.DataFrame):
        self.steps, self.target, self.df = steps, target, df

    def plan(self) -> _Plan:
        df, target = self.df, self.target
        bad = [c for c in df.columns if not isinstance(c, str)]
        if bad:
            raise ValidationError("df.columns", bad[:5], "string column names")
        if df.columns.has_duplicates:
            dup = sorted(set(df.columns[df.columns.duplicated()]))
            raise ValidationError("df.columns", dup, "distinct column names")
        if target is not None and target not in df.columns:
            raise ValidationError(
                "target", target, "a column of the data", f"Available columns: {list(df.columns)}"
            )
        current = self._renames()
        self.raw_of = {new: raw for raw, new in current.items()}
        available = [current[c] for c in df.columns if c != target]
        self.available = available
        chains, dropped, functions = self._chains()
        self._check_target(chains)
        kinds = {c: column_kind(df[self.raw_of[c]]) for c in available}
        state = dict(kinds)
        values_raw = dict.fromkeys(available, True)
        consumed: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            spec = OPS[step["op"]]
            if spec.role == "special":
                continue
            where = f"steps[{i}]"
            for c in spec.columns(step):
                if c in consumed:
                    j = consumed[c]
                    raise ValidationError(
                        f"{where}.columns",
                        c,
                        f"a column not combined by an earlier step; steps[{j}] "
                        f"({self.steps[j]['op']}) ends its chain",
                        "tfidf, hashing and interactions must be the last step on their columns.",
                    )
                spec.check_kind(step, c, state[c], where)
                if values_raw[c]:
                    self._check_missing(c, where)
                    spec.check_values(self.df[self.raw_of[c]], c, step, where)
                if spec.role == "encode":
                    state[c] = "numeric"
                elif spec.role == "combine":
                    consumed[c] = i
                if step["op"] != "impute":
                    values_raw[c] = False
        for i, columns in functions:
            for c in columns:
                self._check_missing(c, f"steps[{i}]")
        passthrough = []
        for c in available:
            if c in dropped or c in consumed:
                continue
            kind = state[c]
            if kind == "numeric":
                if c not in chains:
                    passthrough.append(c)
                continue
            raise ValidationError(
                "steps",
                c,
                "a step that encodes or drops every non-numeric column",
                f"Column {c!r} is {_KIND_WORDS[kind]} and no step encodes it; "
                f"{_ENCODERS_HINT[kind]}.",
            )
        groups = self._groups(chains)
        if not passthrough and not groups and not functions:
            raise ValidationError(
                "steps", [s["op"] for s in self.steps], "steps that leave features"
            )
        read = set(available) - set(dropped)
        for _, columns in functions:
            read.update(columns)
        inputs = [c for c in df.columns if c != target and current[c] in read]
        return _Plan(
            steps=self.steps,
            rename={raw: new for raw, new in current.items() if raw != new},
            input_columns=inputs,
            kinds={c: kinds[current[c]] for c in inputs},
            dtypes={c: str(df[c].dtype) for c in inputs},
            passthrough=passthrough,
            groups=groups,
            chains=chains,
            functions=[(i, cols, self._function_outputs(i, cols)) for i, cols in functions],
        )

    def _renames(self) -> dict[str, str]:
        current = {c: c for c in self.df.columns}
        for i, step in enumerate(self.steps):
            if step["op"] != "rename":
                continue
            names = {new: raw for raw, new in current.items()}
            for old, new in step["mapping"].items():
                if old not in names:
                    raise ValidationError(
                        f"steps[{i}].mapping",
                        old,
                        "a column of the data",
                        f"Available columns: {list(names)}",
                    )
                if names[old] == self.target:
                    raise ValidationError(
                        f"steps[{i}].mapping", old, "a column other than the target"
                    )
                current[names[old]] = new
        seen: dict[str, str] = {}
        for raw, new in current.items():
            if new in seen:
                index = next(i for i, s in enumerate(self.steps) if s["op"] == "rename")
                raise ValidationError(
                    f"steps[{index}].mapping",
                    new,
                    "new names that do not clash with other columns",
                    f"Columns {seen[new]!r} and {raw!r} would both be called {new!r}.",
                )
            seen[new] = raw
        return current

    def _chains(self) -> tuple[dict[str, list[int]], dict[str, int], list[tuple[int, list[str]]]]:
        chains: dict[str, list[int]] = {}
        dropped: dict[str, int] = {}
        functions = []
        available = set(self.available)
        for i, step in enumerate(self.steps):
            op = step["op"]
            if op == "rename":
                continue
            key = "column" if op == "tfidf" else "columns"
            columns = OPS[op].columns(step)
            for c in columns:
                if c == self.target:
                    raise ValidationError(
                        f"steps[{i}].{key}", c, "a feature column, not the target"
                    )
                if c not in available:
                    raise ValidationError(
                        f"steps[{i}].{key}",
                        c,
                        "a column of the data",
                        f"Available columns: {self.available}",
                    )
            if op == "drop":
                for c in columns:
                    dropped.setdefault(c, i)
            elif op == "function":
                functions.append((i, columns))
            else:
                for c in columns:
                    chains.setdefault(c, []).append(i)
        for c, i in dropped.items():
            if c in chains:
                j = chains[c][0]
                raise ValidationError(
                    f"steps[{max(i, j)}].columns",
                    c,
                    "a column that is not both dropped and used",
                    f"steps[{i}] drops {c!r} and steps[{j}] ({self.steps[j]['op']}) uses it.",
                )
        functions = [
            (i, cols or [c for c in self.available if c not in dropped]) for i, cols in functions
        ]
        return chains, dropped, functions

    def _check_target(self, chains: dict[str, list[int]]) -> None:
        encoders = [i for i, s in enumerate(self.steps) if s["op"] == "target_encode"]
        if not encoders:
            return
        if self.target is None:
            raise ValidationError(
                f"steps[{encoders[0]}].op",
                "target_encode",
                "a recipe with a target",
                "Set Recipe(target=...).",
            )
        y = self.df[self.target]
        if y.isna().any():
            raise ValidationError(
                "target",
                self.target,
                "a target without missing values (target_encode learns from it)",
                f"{int(y.isna().sum())} rows have no target; drop them first.",
            )

    def _check_missing(self, column: str, where: str) -> None:
        series = self.df[self.raw_of[column]]
        if series.iloc[:1000].notna().any() or not series.isna().all():
            return
        raise ValidationError(
            f"{where}.columns",
            column,
            "a column with at least one value",
            f"Column {column!r} is all missing in the data.",
        )

    def _groups(self, chains: dict[str, list[int]]) -> dict[tuple, list[str]]:
        """Columns with the same chain share a branch; a combining step keeps its columns."""
        groups: dict[tuple, list[str]] = {}
        for c in _first_named(self.steps, chains):
            last = chains[c][-1]
            if OPS[self.steps[last]["op"]].role == "combine":
                key: tuple = ("combine", last)
            else:
                key = ("chain", tuple(chains[c]))
            groups.setdefault(key, []).append(c)
        return groups

    def _function_outputs(self, index: int, columns: list[str]) -> list[str]:
        step = self.steps[index]
        sample = self.df[[self.raw_of[c] for c in columns]].head(100)
        sample.columns = columns
        expected = "a function returning a DataFrame of numeric columns, one row per input row"
        try:
            result = registered_function(step["name"])(sample)
        except ValidationError:
            raise
        except Exception as exc:
            raise ValidationError(
                f"steps[{index}].name", step["name"], expected, f"It raised {exc!r}."
            ) from exc
        if (
            not isinstance(result, pd.DataFrame)
            or len(result) != len(sample)
            or not all(pd.api.types.is_numeric_dtype(t) for t in result.dtypes)
            or result.shape[1] == 0
        ):
            raise ValidationError(f"steps[{index}].name", step["name"], expected)
        return [str(c) for c in result.columns]


def _first_named(steps: list[dict[str, Any]], chains: dict[str, list[int]]) -> list[str]:
    order: dict[str, None] = {}
    for step in steps:
        spec = OPS[step["op"]]
        if spec.role != "special":
            for c in spec.columns(step):
                order.setdefault(c, None)
    return [c for c in order if c in chains]


# ---------------------------------------------------------------------- compile


def _build(plan: _Plan) -> Pipeline:
    steps = plan.steps
    branches: list[tuple[str, Any, Any]] = []
    if plan.passthrough:
        branches.append(("passthrough", "passthrough", plan.passthrough))
    for n, (key, columns) in enumerate(plan.groups.items()):
        if key[0] == "chain":
            estimator = chain(_transformers(steps, key[1], columns))
            single_tfidf = False
        else:
            estimator = _combined(steps, key[1], columns, plan.chains)
            single_tfidf = steps[key[1]]["op"] == "tfidf" and len(plan.chains[columns[0]]) == 1
        # tfidf alone takes the column as a Series, exactly like a hand-written ColumnTransformer.
        branches.append((f"branch{n}", estimator, columns[0] if single_tfidf else columns))
    for index, columns, outputs in plan.functions:
        step = steps[index]
        branches.append(
            (f"function{index}", OPS["function"].build(step, columns, outputs), columns)
        )
    columns = ColumnTransformer(
        branches, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False
    )
    prepare = Prepare(columns=plan.input_columns, kinds=plan.kinds, rename=plan.rename)
    return Pipeline([("prepare", prepare), ("columns", columns)])


def _transformers(
    steps: list[dict[str, Any]], indices: tuple[int, ...], columns: list[str]
) -> list[tuple[str, Any]]:
    return [
        (f"{i}_{steps[i]['op']}", OPS[steps[i]["op"]].build(steps[i], columns)) for i in indices
    ]


def _combined(
    steps: list[dict[str, Any]], index: int, columns: list[str], chains: dict[str, list[int]]
) -> Any:
    """The combining step, after each group of its columns went through its own earlier steps."""
    prefixes: dict[tuple[int, ...], list[str]] = {}
    for c in columns:
        prefixes.setdefault(tuple(chains[c][:-1]), []).append(c)
    final = (f"{index}_{steps[index]['op']}", OPS[steps[index]["op"]].build(steps[index], columns))
    if len(prefixes) == 1:
        (prefix,) = prefixes
        return chain([*_transformers(steps, prefix, columns), final])
    parts = [
        (f"part{k}", chain(_transformers(steps, p, cols)) if p else "passthrough", cols)
        for k, (p, cols) in enumerate(prefixes.items())
    ]
    prepare = ColumnTransformer(parts, sparse_threshold=0.0, verbose_feature_names_out=False)
    return Pipeline([("prepare", prepare), final])


@contextmanager
def _fit_errors() -> Iterator[None]:
    """Turns scikit-learn's ValueErrors during fit into ValidationErrors (bad data)."""
    try:
        yield
    except ValidationError:
        raise
    except ValueError as exc:
        raise ValidationError(
            "df", "the training data", "data every step can be fitted on", str(exc)
        ) from exc


def _feature_names(pipeline: Pipeline) -> list[str]:
    columns: ColumnTransformer = pipeline[-1]
    columns.verbose_feature_names_out = True
    try:
        verbose = columns.get_feature_names_out()
    finally:
        columns.verbose_feature_names_out = False
    names = [str(n).split("__", 1)[1] for n in verbose]
    if len(set(names)) != len(names):
        seen: set[str] = set()
        dups = sorted({n for n in names if n in seen or seen.add(n)})
        raise ValidationError(
            "feature_names_out",
            dups,
            "distinct output names",
            "Two steps produce the same feature name; rename or drop one of the columns.",
        )
    return names


# ---------------------------------------------------------------------- fitted recipe


class FittedRecipe:
    """A recipe fitted on training data: ``transform`` any frame with the same raw columns.

    Example
    -------
    >>> fitted = Recipe().add("one_hot", columns=["plan"]).fit(train)   # doctest: +SKIP
    >>> fitted.transform(new_rows)            # float64, fitted.feature_names_out  # doctest: +SKIP
    >>> fitted.save("out/recipe"); FittedRecipe.load("out/recipe")     # doctest: +SKIP
    """

    def __init__(
        self,
        recipe: Recipe,
        pipeline: Pipeline,
        input_columns: list[str],
        input_dtypes: dict[str, str],
        feature_names_out: list[str],
    ) -> None:
        self._recipe = recipe
        self._pipeline = pipeline
        self._input_columns = list(input_columns)
        self._input_dtypes = dict(input_dtypes)
        self._names = list(feature_names_out)

    @classmethod
    def _from_fit(cls, recipe: Recipe, pipeline: Pipeline, plan: _Plan) -> FittedRecipe:
        names = _feature_names(pipeline)
        return cls(recipe, pipeline, plan.input_columns, plan.dtypes, names)

    @property
    def recipe(self) -> Recipe:
        return self._recipe

    @property
    def target(self) -> str | None:
        return self._recipe.target

    @property
    def pipeline(self) -> Pipeline:
        """The fitted scikit-learn Pipeline."""
        return self._pipeline

    @property
    def feature_names_out(self) -> list[str]:
        return list(self._names)

    @property
    def input_columns(self) -> list[str]:
        """The raw columns the recipe reads (before renames; the target excluded)."""
        return list(self._input_columns)

    @property
    def input_dtypes(self) -> dict[str, str]:
        return dict(self._input_dtypes)

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Features of ``df``: float64, columns ``feature_names_out``, index of ``df``."""
        if not isinstance(df, pd.DataFrame):
            raise ValidationError("df", type(df).__name__, "a pandas DataFrame")
        return self._frame(self._pipeline.transform(df), df.index)

    def _frame(self, out: Any, index: pd.Index) -> pd.DataFrame:
        if hasattr(out, "toarray"):
            out = out.toarray()
        out = np.asarray(out, dtype=np.float64)
        return pd.DataFrame(out, columns=self._names, index=index, copy=False)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``pipeline.joblib`` then ``recipe.json`` into ``directory``; returns it."""
        import joblib
        import sklearn

        folder = Path(directory)
        buffer = io.BytesIO()
        joblib.dump(self._pipeline, buffer)
        meta = {
            "format": "workbench.fitted_recipe",
            "version": _VERSION,
            "recipe": self._recipe.to_dict(),
            "input_columns": self._input_columns,
            "input_dtypes": self._input_dtypes,
            "feature_names_out": self._names,
            "sklearn_version": sklearn.__version__,
        }
        atomic_write_bytes(folder / "pipeline.joblib", buffer.getvalue())
        atomic_write_text(folder / "recipe.json", json.dumps(meta, indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> FittedRecipe:
        """Load a folder written by :meth:`save`. Unpickles: verify checksums first."""
        import joblib

        folder = Path(directory)
        spec, model = folder / "recipe.json", folder / "pipeline.joblib"
        if not spec.is_file() or not model.is_file():
            raise ValidationError(
                "directory", str(folder), "a folder with recipe.json and pipeline.joblib"
            )
        try:
            meta = json.loads(spec.read_text())
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{spec.name} line {exc.lineno}", str(spec), "valid JSON", exc.msg
            ) from None
        for key in ("recipe", "input_columns", "input_dtypes", "feature_names_out"):
            if key not in meta:
                raise ValidationError(f"{spec.name}.{key}", None, "a value (written by save)")
        recipe = Recipe.from_dict(meta["recipe"])  # fails if a function step is not registered
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # scikit-learn version notes
            pipeline = joblib.load(model)
        return cls(
            recipe, pipeline, meta["input_columns"], meta["input_dtypes"], meta["feature_names_out"]
        )

    def __repr__(self) -> str:
        return (
            f"FittedRecipe(name={self._recipe.name!r}, inputs={len(self._input_columns)}, "
            f"features={len(self._names)})"
        )


# ---------------------------------------------------------------------- loading


def load_recipe(path_or_text: str | os.PathLike[str]) -> Recipe:
    """A recipe from a .json/.yaml/.yml file or from JSON/YAML text.

    Invalid JSON/YAML raises a ValidationError naming the line; a wrong structure names the
    key (``steps[2].columns``).

    Example
    -------
    >>> load_recipe('{"steps": [{"op": "scale", "columns": ["a"]}]}').steps
    [{'op': 'scale', 'columns': ['a']}]
    """
    source, text, kind = _read(path_or_text)
    if kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{source} line {exc.lineno}",
                _line(text, exc.lineno),
                "valid JSON",
                f"{exc.msg} at line {exc.lineno}, column {exc.colno}.",
            ) from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise ValidationError(
                f"{source} line {line}" if line else source,
                _line(text, line) if line else text[:80],
                "valid YAML",
                f"{getattr(exc, 'problem', None) or exc} at line {line}.",
            ) from None
    return Recipe.from_dict(data)


def _read(path_or_text: Any) -> tuple[str, str, str]:
    """(source name, text, "json" | "yaml")."""
    if isinstance(path_or_text, str):
        one_line = "\n" not in path_or_text and len(path_or_text) < 4096
        looks_like_path = one_line and path_or_text.strip().lower().endswith(
            (".json", ".yaml", ".yml")
        )
        if not (looks_like_path or (one_line and Path(path_or_text).is_file())):
            kind = "json" if path_or_text.lstrip().startswith(("{", "[")) else "yaml"
            return "recipe", path_or_text, kind
        path = Path(path_or_text)
    elif isinstance(path_or_text, os.PathLike):
        path = Path(path_or_text)
    else:
        raise ValidationError(
            "path_or_text", type(path_or_text).__name__, "a path or JSON/YAML text"
        )
    if not path.is_file():
        raise ValidationError("path", str(path), "an existing .json, .yaml or .yml file")
    text = path.read_text()
    if path.suffix.lower() == ".json":
        kind = "json"
    elif path.suffix.lower() in (".yaml", ".yml"):
        kind = "yaml"
    else:
        kind = "json" if text.lstrip().startswith("{") else "yaml"
    return path.name, text, kind


def _line(text: str, lineno: int | None) -> str:
    lines = text.splitlines()
    return lines[lineno - 1].strip() if lineno and 0 < lineno <= len(lines) else ""
