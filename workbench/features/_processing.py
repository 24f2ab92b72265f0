"""Processing jobs: a feature recipe run over a dataset out of the kernel, like SageMaker Processing.

The kernel checks everything on the data's columns first (nothing is written on error),
then a job process splits the data, fits the recipe on the training split only, transforms
every split and writes them as Parquet channels ready for training jobs, with the fitted
recipe beside them. The layout mirrors ``/opt/ml/processing``::

    processing/input/data/<file>            the raw data (a DataFrame is written as Parquet)
    processing/recipe.json, config.json     what to do
    processing/output/{train,validation,test}/part-0.parquet   features + target
    processing/output/recipe/               the fitted recipe (travels with trained models)

The catalogue records the job with lineage: input data -> processing job -> each output.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..core import Workspace, atomic_write_json, fingerprint, get_workspace, sha256_file
from ..exceptions import ArtifactIntegrityError, ValidationError
from ..training._job import JobHandle
from ..training._launcher import start_job

__all__ = ["ProcessingJob", "process", "run_in_job", "KIND"]

KIND = "processing-job"
_SPLITS = ("random", "stratified", "time", "group")
_PARTS = ("train", "validation", "test")


class ProcessingJob(JobHandle):
    """A processing job in the workspace: status, logs, outputs, channels for training.

    Example
    -------
    >>> job = process(df, recipe, split_method="stratified")        # doctest: +SKIP
    >>> est.fit(job.channels())   # the trained model carries the fitted recipe  # doctest: +SKIP
    """

    kind = KIND

    @property
    def outputs(self) -> dict[str, Path]:
        """Output name (train, validation, test, recipe) -> folder, once Completed."""
        return {k: Path(v["path"]) for k, v in self.record()["artifacts"].items()}

    @property
    def target(self) -> str | None:
        return self.record()["parameters"].get("target")

    def channels(self, parts: tuple[str, ...] = ("train", "validation")) -> dict[str, Any]:
        """Training channels ({"train": TrainingInput, ...}) that carry the fitted recipe.

        The test split is left out by default: it is for evaluation, after training.
        """
        from ..training import TrainingInput

        record = self.record()
        if record["status"] != "Completed":
            raise ValidationError(
                f"processing job {self.name!r}", record["status"], "a Completed job"
            )
        recipe_dir = str(self.verified_recipe_dir())
        return {
            name: TrainingInput(
                str(path),
                content_type="application/x-parquet",
                target=self.target,
                recipe_dir=recipe_dir,
                origin=(KIND, self.name),
            )
            for name, path in self.outputs.items()
            if name in parts
        }

    def verified_recipe_dir(self) -> Path:
        """The fitted recipe's folder, after checking its files against the catalogue."""
        artifact = self.record()["artifacts"].get("recipe")
        if not artifact:
            raise ArtifactIntegrityError(f"Processing job {self.name!r} has no fitted recipe")
        folder = Path(artifact["path"])
        for rel, digest in artifact["files"].items():
            path = folder / rel
            if not path.exists() or sha256_file(path) != digest:
                raise ArtifactIntegrityError(
                    f"Refusing to use {path}: it is missing or changed since the job wrote it"
                )
        return folder

    def recipe(self) -> Any:
        """The fitted recipe, loaded after its checksums are verified."""
        from ._recipe import FittedRecipe

        return FittedRecipe.load(self.verified_recipe_dir())

    def read(self, part: str = "train") -> Any:
        """One output split as a DataFrame (features + target)."""
        import pandas as pd

        outputs = self.outputs
        if part not in outputs or part == "recipe":
            raise ValidationError(
                "part", part, "one of " + ", ".join(o for o in outputs if o in _PARTS)
            )
        return pd.read_parquet(outputs[part])

    @property
    def max_rss_mb(self) -> float | None:
        """Peak memory of the job's process (MB), once it ended."""
        usage = self.record()["extra"].get("cpu_seconds") or {}
        return usage.get("max_rss_mb")

    def describe(self) -> dict[str, Any]:
        """SageMaker's DescribeProcessingJob fields for this job."""
        record = self.record()
        params = record["parameters"]
        return {
            "ProcessingJobName": record["name"],
            "ProcessingJobStatus": record["status"],
            "FailureReason": record["failure_reason"],
            "ExitMessage": record["failure_reason"],
            "AppSpecification": {"ImageUri": "workbench/feature-recipe"},
            "ProcessingInputs": [
                {
                    "InputName": "data",
                    "LocalPath": params.get("input"),
                    "Fingerprint": params.get("fingerprint"),
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {"OutputName": name, "LocalPath": art["path"]}
                    for name, art in record["artifacts"].items()
                ]
            },
            "Recipe": params.get("recipe"),
            "Split": params.get("split"),
            "CreationTime": record["created_at"],
            "ProcessingStartTime": record["started_at"],
            "ProcessingEndTime": record["ended_at"],
            "LastModifiedTime": record["updated_at"],
            "MaxRssMB": self.max_rss_mb,
            "Lineage": self.lineage(),
        }


def process(
    data: Any,
    recipe: Any,
    *,
    target: str | None = None,
    split_method: str = "random",
    test_size: float = 0.2,
    validation_size: float = 0.1,
    time_column: str | None = None,
    group_column: str | None = None,
    seed: int = 0,
    job_name: str | None = None,
    wait: bool = True,
    logs: bool = True,
    workspace: Workspace | str | None = None,
    keep_alive_period_in_seconds: float | None = None,
) -> ProcessingJob:
    """Run ``recipe`` over ``data`` out of the kernel and write train/validation/test channels.

    ``data`` is a DataFrame or a CSV/Parquet file. The split is made in the job with
    ``workbench.features.split`` (``split_method``: random, stratified, time, group), and the
    recipe is fitted on the training split only.
    """
    from ._recipe import Recipe, load_recipe

    ws = get_workspace(workspace)
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    target = target or recipe.target
    sample, source = _sample(data)
    _check(
        sample, recipe, target, split_method, test_size, validation_size, time_column, group_column
    )
    if recipe.target is None and target is not None:
        recipe = Recipe(steps=recipe.steps, target=target, name=recipe.name)
    config = {
        "target": target,
        "split": {
            "method": split_method,
            "test_size": test_size,
            "validation_size": validation_size,
            "time_column": time_column,
            "group_column": group_column,
            "seed": seed,
        },
    }
    params = {"recipe": recipe.to_dict(), "target": target, "split": config["split"]}
    if job_name:
        record = ws.catalog.create(KIND, job_name, status="InProgress", parameters=params)
    else:
        record = ws.catalog.create_unique(
            KIND, recipe.name or "recipe", status="InProgress", parameters=params
        )
    name = record["name"]
    job_dir = ws.folder(KIND, name)
    input_path = (
        job_dir / "processing" / "input" / "data" / (source.name if source else "data.parquet")
    )

    def prepare() -> dict[str, Any]:
        _write_input(job_dir, data, source)
        atomic_write_json(job_dir / "processing" / "recipe.json", recipe.to_dict())
        atomic_write_json(job_dir / "processing" / "config.json", config)
        (job_dir / "logs").mkdir(parents=True, exist_ok=True)
        return {
            "job_name": name,
            "job_dir": str(job_dir),
            "catalog": str(ws.catalog.path),
            "catalog_kind": KIND,
            "kind": "processing",
            "cwd": str(job_dir),
            "env": {},
            "max_run": 24 * 60 * 60,
            "grace_period": 30,
            "metric_definitions": [],
            "input": str(input_path),
        }

    start_job(ws.catalog, KIND, name, prepare, keep_alive_period_in_seconds)
    data_fp = fingerprint(data) if source is None else fingerprint(source)
    ws.catalog.update(KIND, name, parameters={"input": str(input_path), "fingerprint": data_fp})
    ws.catalog.add_lineage(("data", data_fp), (KIND, name), "input")
    job = ProcessingJob(name, workspace=ws)
    if wait:
        job.wait(logs=logs)
    return job


def _sample(data: Any) -> tuple[Any, Path | None]:
    """A DataFrame to check the recipe on (the data itself, or the head of a file)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise ValidationError("data", "an empty DataFrame", "a DataFrame with rows")
        return data, None
    if not isinstance(data, (str, os.PathLike)):
        raise ValidationError("data", type(data).__name__, "a DataFrame or a CSV/Parquet path")
    path = Path(data).expanduser().resolve()
    if not path.is_file():
        raise ValidationError("data", str(data), "an existing CSV or Parquet file")
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        sample = pq.ParquetFile(path).read_row_group(0).to_pandas().head(10_000)
    elif path.suffix.lower() == ".csv":
        sample = pd.read_csv(path, nrows=10_000)
    else:
        raise ValidationError("data", str(data), "a .csv or .parquet file")
    return sample, path


def _check(
    df: Any,
    recipe: Any,
    target: str | None,
    method: str,
    test_size: float,
    validation_size: float,
    time_column: str | None,
    group_column: str | None,
) -> None:
    from ._split import split

    if target is not None and target not in df.columns:
        raise ValidationError(
            "target", target, "a column of the data: " + ", ".join(map(str, df.columns[:30]))
        )
    if method not in _SPLITS:
        raise ValidationError("split_method", method, "one of " + ", ".join(_SPLITS))
    recipe.validate(df)
    # A dry run of the split on the columns' head catches bad split settings before any job.
    split(
        df.head(min(len(df), 1000)),
        method,
        test_size=test_size,
        validation_size=validation_size,
        target=target,
        time_column=time_column,
        group_column=group_column,
        seed=0,
    )


def _write_input(job_dir: Path, data: Any, source: Path | None) -> Path:
    folder = job_dir / "processing" / "input" / "data"
    folder.mkdir(parents=True, exist_ok=True)
    if source is not None:
        link = folder / source.name
        os.symlink(source, link)
        return link
    path = folder / "data.parquet"
    data.to_parquet(path, index=True)
    return path


def run_in_job(spec: dict[str, Any]) -> None:
    """Inside the job process: split, fit on train, transform every split, write outputs."""
    import pandas as pd

    from ._recipe import load_recipe
    from ._split import split

    root = Path(spec["job_dir"]) / "processing"
    config = json.loads((root / "config.json").read_text())
    recipe = load_recipe(root / "recipe.json")
    started = time.perf_counter()
    source = Path(spec["input"])
    df = (
        pd.read_parquet(source)
        if source.suffix.lower() in (".parquet", ".pq")
        else pd.read_csv(source)
    )
    print(
        f"Read {len(df):,} rows x {df.shape[1]} columns from {source.name} "
        f"in {time.perf_counter() - started:.2f} s",
        flush=True,
    )
    s = config["split"]
    parts = split(
        df,
        s["method"],
        test_size=s["test_size"],
        validation_size=s["validation_size"],
        target=config["target"],
        time_column=s["time_column"],
        group_column=s["group_column"],
        seed=s["seed"],
    )
    print(
        "Split ({}): {}".format(
            s["method"], ", ".join(f"{k}={len(v):,}" for k, v in parts._asdict().items())
        ),
        flush=True,
    )
    started = time.perf_counter()
    fitted, train_features = _fit(recipe, parts.train)
    print(
        f"Fitted the recipe on the training split in {time.perf_counter() - started:.2f} s: "
        f"{len(fitted.feature_names_out)} features",
        flush=True,
    )
    out = root / "output"
    target = config["target"]
    for name, part in parts._asdict().items():
        if len(part) == 0:
            continue
        started = time.perf_counter()
        features = train_features if name == "train" else fitted.transform(part)
        if target is not None:
            features[target] = part[target].to_numpy()
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        features.to_parquet(folder / "part-0.parquet", index=False)
        print(
            f"Wrote {name}: {len(features):,} rows x {features.shape[1]} columns "
            f"in {time.perf_counter() - started:.2f} s",
            flush=True,
        )
    fitted.save(out / "recipe")
    print("Saved the fitted recipe", flush=True)


def _fit(recipe: Any, train: Any) -> tuple[Any, Any]:
    """Fit on the training split; training rows get out-of-fold encodings where a step has them."""
    fit_transform = getattr(recipe, "fit_transform", None)
    if fit_transform is not None:
        result = fit_transform(train)
        if isinstance(result, tuple):
            return result
    fitted = recipe.fit(train)
    return fitted, fitted.transform(train)
