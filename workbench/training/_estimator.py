"""``Estimator``: SageMaker v2's training API, run locally as out-of-kernel jobs."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from ..core import Workspace, atomic_write_json, get_workspace
from ..exceptions import ValidationError
from ._environment import CURRENT_HOST, TrainingEnvironment, build_env_vars
from ._inputs import PreparedChannel, TrainingInput, prepare_channels, write_channels
from ._job import KIND, TrainingJob
from ._launcher import start_job
from ._metrics import check_metric_definitions

__all__ = ["Estimator"]

_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_RESERVED_SCRIPT_KEYS = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "sagemaker_region",
)


class Estimator:
    """A training job definition with SageMaker v2's names; ``fit`` runs it out of the kernel.

    Give either a built-in ``algorithm`` (``"xgboost"``, ``"linear-learner"``; or an
    ``image_uri`` naming one) or a script-mode ``entry_point`` (with ``source_dir``).
    ``target`` names the label column of DataFrame channels. A fitted feature ``recipe``
    (or channels from a processing job, which carry theirs) is packed into the model, so
    ``model.predict(raw_df)`` applies the same features as at training time.

    Example
    -------
    >>> est = Estimator(algorithm="xgboost", target="is_fraud",
    ...                 hyperparameters={"objective": "binary:logistic", "num_round": 50})
    >>> est.fit({"train": train_df, "validation": valid_df})   # doctest: +SKIP
    >>> est.latest_training_job.model().predict(test_df)       # doctest: +SKIP
    """

    def __init__(
        self,
        algorithm: str | None = None,
        entry_point: str | None = None,
        source_dir: str | os.PathLike[str] | None = None,
        hyperparameters: dict[str, Any] | None = None,
        *,
        target: str | None = None,
        image_uri: str | None = None,
        role: str | None = None,
        instance_count: int = 1,
        instance_type: str = "local",
        volume_size: int = 30,
        max_run: int = 24 * 60 * 60,
        input_mode: str = "File",
        output_path: str | None = None,
        base_job_name: str | None = None,
        metric_definitions: list[dict[str, str]] | None = None,
        environment: dict[str, str] | None = None,
        keep_alive_period_in_seconds: float | None = None,
        recipe: Any = None,
        workspace: Workspace | str | None = None,
        sagemaker_session: Any = None,
    ) -> None:
        self.algorithm = algorithm
        self.entry_point = entry_point
        self.source_dir = source_dir
        self._hyperparameters = dict(hyperparameters or {})
        self.target = target
        self.image_uri = image_uri
        self.role = role
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.volume_size = volume_size
        self.max_run = max_run
        self.input_mode = input_mode
        self.output_path = output_path
        self.base_job_name = base_job_name
        self.metric_definitions = metric_definitions
        self.environment = dict(environment or {})
        self.keep_alive_period_in_seconds = keep_alive_period_in_seconds
        self.recipe = recipe
        self.workspace = get_workspace(workspace)
        self.sagemaker_session = sagemaker_session
        self.latest_training_job: TrainingJob | None = None

    def __repr__(self) -> str:
        what = self._algorithm_name() or f"entry_point={self.entry_point!r}"
        return f"Estimator({what}, hyperparameters={self._hyperparameters!r})"

    # -- hyperparameters ---------------------------------------------------------------
    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters as given (SageMaker: ``Estimator.hyperparameters()``)."""
        return dict(self._hyperparameters)

    def set_hyperparameters(self, **kwargs: Any) -> None:
        self._hyperparameters.update(kwargs)

    def _algorithm_name(self) -> str | None:
        if self.algorithm:
            return self.algorithm
        if self.image_uri:
            from ..algorithms import list_algorithms

            image = self.image_uri.lower()
            repository = image.rsplit("/", 1)[-1].split(":", 1)[0]  # ".../kmeans:1" -> kmeans
            if repository in list_algorithms():
                return repository
            for name in sorted(list_algorithms(), key=len, reverse=True):
                if name in repository:  # e.g. sagemaker-xgboost
                    return name
            raise ValidationError(
                "image_uri",
                self.image_uri,
                "an image naming a built-in algorithm: " + ", ".join(list_algorithms()),
            )
        return None

    # -- fit ---------------------------------------------------------------------------
    def fit(
        self,
        inputs: Any = None,
        wait: bool = True,
        logs: bool | str = "All",
        job_name: str | None = None,
        experiment_config: dict[str, Any] | None = None,
    ) -> TrainingJob:
        """Start a training job on ``inputs`` ({"train": df_or_path, "validation": ...}).

        Everything is checked before anything is written: bad hyperparameters, channels,
        targets or names raise ValidationError and leave the workspace unchanged.
        """
        fit_called = time.time()
        plan = self._plan(inputs, job_name)
        job = self._start(plan, fit_called)
        self.latest_training_job = job
        if wait:
            job.wait(logs=logs)
        return job

    def _plan(self, inputs: Any, job_name: str | None) -> dict[str, Any]:
        algorithm_name = self._algorithm_name()
        if bool(algorithm_name) == bool(self.entry_point):
            raise ValidationError(
                "algorithm/entry_point",
                {"algorithm": algorithm_name, "entry_point": self.entry_point},
                "exactly one of a built-in algorithm or a script entry_point",
            )
        if self.instance_count != 1:
            raise ValidationError(
                "instance_count", self.instance_count, "1 (one local process per training job)"
            )
        if self.input_mode not in ("File", "FastFile"):
            raise ValidationError("input_mode", self.input_mode, "'File' or 'FastFile'")
        if not isinstance(self.max_run, (int, float)) or self.max_run <= 0:
            raise ValidationError("max_run", self.max_run, "a positive number of seconds")
        if job_name is not None and not _NAME_RE.match(str(job_name)):
            raise ValidationError(
                "job_name", job_name, "1-63 letters, digits and hyphens, starting alphanumeric"
            )
        if job_name is not None and self.workspace.catalog.exists(KIND, job_name):
            raise ValidationError(
                "job_name", job_name, "a name not used by another training job in this workspace"
            )
        definitions = check_metric_definitions(self.metric_definitions)
        if algorithm_name:
            plan = self._plan_algorithm(algorithm_name, inputs, job_name, definitions)
        else:
            plan = self._plan_script(inputs, job_name, definitions)
        plan["recipe_dir"] = self._recipe_dir(plan["channels"])
        return plan

    def _recipe_dir(self, channels: list[PreparedChannel]) -> str | None:
        """The one fitted recipe this job's data came from, if any."""
        dirs = {c.recipe_dir for c in channels if c.recipe_dir}
        if len(dirs) > 1 or (dirs and self.recipe is not None):
            raise ValidationError(
                "inputs",
                sorted(dirs) + (["Estimator(recipe=...)"] if self.recipe is not None else []),
                "channels made by one feature recipe",
            )
        if self.recipe is not None and not hasattr(self.recipe, "save"):
            raise ValidationError("recipe", type(self.recipe).__name__, "a fitted recipe")
        return dirs.pop() if dirs else None

    def _plan_algorithm(
        self, name: str, inputs: Any, job_name: str | None, definitions: list[dict[str, str]]
    ) -> dict[str, Any]:
        from ..algorithms import get_algorithm

        algorithm = get_algorithm(name)
        typed = algorithm.validate_hyperparameters(self._hyperparameters)
        _check_frames_accepted(algorithm, inputs)
        channels = prepare_channels(inputs, target=self.target, supervised=algorithm.supervised)
        algorithm.check_inputs(typed, [c.name for c in channels])
        _check_content_types(algorithm, channels)
        for chan in channels:
            if chan.labels is not None:
                algorithm.check_labels(chan.labels, typed, chan.name)
        _check_same_columns(channels)
        algorithm.check_data(typed, channels)
        train = next((c for c in channels if c.name == "train"), channels[0])
        feature_names = None
        if train.columns and train.frame is not None:
            feature_names = [c for c in train.columns if c != train.target]
        strings = algorithm.hyperparameters.to_strings(
            {k: v for k, v in self._hyperparameters.items() if v is not None}
        )
        return {
            "kind": "algorithm",
            "algorithm": algorithm.name,
            "base": self.base_job_name or algorithm.name,
            "job_name": job_name,
            "channels": channels,
            "hyperparameters": strings,
            "user_hyperparameters": strings,
            "metric_definitions": definitions or algorithm.metric_definitions(typed),
            "problem_type": algorithm.problem_type(typed),
            "feature_names": feature_names,
        }

    def _plan_script(
        self, inputs: Any, job_name: str | None, definitions: list[dict[str, str]]
    ) -> dict[str, Any]:
        entry = Path(str(self.entry_point))
        source = Path(self.source_dir) if self.source_dir else entry.parent
        source = source.expanduser().resolve()
        script = source / entry.name if self.source_dir else entry.expanduser().resolve()
        if not source.is_dir():
            raise ValidationError("source_dir", str(self.source_dir), "an existing folder")
        if not script.is_file():
            raise ValidationError(
                "entry_point", str(self.entry_point), f"an existing Python file in {source}"
            )
        channels = prepare_channels(inputs, target=self.target, for_script=True)
        for key, value in self._hyperparameters.items():
            if not isinstance(key, str) or not key:
                raise ValidationError("hyperparameters", key, "string names")
            try:
                json.dumps(value)
            except TypeError:
                raise ValidationError(
                    f"hyperparameters[{key!r}]", value, "a JSON-serialisable value"
                ) from None
        stem = re.sub(r"[^a-zA-Z0-9-]+", "-", script.stem).strip("-") or "script"
        return {
            "kind": "script",
            "entry_point": script.name,
            "source_dir": str(source),
            "base": self.base_job_name or stem,
            "job_name": job_name,
            "channels": channels,
            "user_hyperparameters": dict(self._hyperparameters),
            "metric_definitions": definitions,
            "problem_type": None,
            "feature_names": None,
        }

    def _start(self, plan: dict[str, Any], fit_called: float) -> TrainingJob:
        catalog = self.workspace.catalog
        channels: list[PreparedChannel] = plan["channels"]
        params = {
            "algorithm": plan.get("algorithm"),
            "entry_point": plan.get("entry_point"),
            "source_dir": plan.get("source_dir"),
            "target": self.target or next((c.target for c in channels if c.target), None),
            "problem_type": plan["problem_type"],
            "feature_names": plan["feature_names"],
            "metric_definitions": plan["metric_definitions"],
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
            "volume_size": self.volume_size,
            "max_run": self.max_run,
            "input_mode": self.input_mode,
            "output_path": self.output_path,
            "environment": self.environment,
            "channels": [
                {
                    "ChannelName": c.name,
                    "ContentType": c.content_type,
                    "Source": str(c.source) if c.source else "DataFrame",
                    "Rows": c.n_rows,
                }
                for c in channels
            ],
        }
        extra = {"secondary_status": "Starting", "fit_called": fit_called}
        if plan["job_name"]:
            record = catalog.create(
                KIND, plan["job_name"], status="InProgress", parameters=params, extra=extra
            )
        else:
            record = catalog.create_unique(
                KIND, plan["base"], status="InProgress", parameters=params, extra=extra
            )
        name = record["name"]
        start_job(
            catalog,
            KIND,
            name,
            lambda: self._write_job_dir(name, plan, params),
            self.keep_alive_period_in_seconds,
        )
        self._record_lineage(name, channels, params)
        for origin in {c.origin for c in channels if c.origin}:
            catalog.add_lineage(origin, (KIND, name), "channels")
        return TrainingJob(name, workspace=self.workspace)

    def _record_lineage(
        self, name: str, channels: list[PreparedChannel], params: dict[str, Any]
    ) -> None:
        """Fingerprint each channel's data (while the job starts) and link data -> job."""
        catalog = self.workspace.catalog
        for chan, config in zip(channels, params["channels"], strict=True):
            config["Fingerprint"] = chan.compute_fingerprint()
            catalog.add_lineage(
                ("data", config["Fingerprint"]), (KIND, name), f"channel:{chan.name}"
            )
        catalog.update(KIND, name, parameters={"channels": params["channels"]})

    def _write_job_dir(
        self, name: str, plan: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        job_dir = self.workspace.folder(KIND, name)
        config = job_dir / "input" / "config"
        config.mkdir(parents=True)
        for sub in ("model", "output/data", "output/intermediate", "logs"):
            (job_dir / sub).mkdir(parents=True, exist_ok=True)
        channels: list[PreparedChannel] = plan["channels"]
        write_channels(channels, job_dir / "input" / "data")
        if plan.get("recipe_dir"):
            shutil.copytree(plan["recipe_dir"], job_dir / "recipe")
        elif self.recipe is not None:
            self.recipe.save(job_dir / "recipe")
        data_config = {c.name: c.config(self.input_mode) for c in channels}
        hyperparameters = self._hyperparameter_file(name, plan, job_dir)
        atomic_write_json(config / "hyperparameters.json", hyperparameters)
        atomic_write_json(config / "inputdataconfig.json", data_config)
        atomic_write_json(
            config / "resourceconfig.json",
            {
                "current_host": CURRENT_HOST,
                "hosts": [CURRENT_HOST],
                "network_interface_name": "eth0",
            },
        )
        env = TrainingEnvironment(name, job_dir, hyperparameters, data_config)
        args: list[str] = []
        if plan["kind"] == "script":
            shutil.copytree(
                plan["source_dir"], job_dir / "code", ignore=_source_filter(self.workspace.path)
            )
            user = plan["user_hyperparameters"]
            args = _to_cmd_args(user)
            variables = build_env_vars(
                env,
                user,
                module_name=Path(plan["entry_point"]).stem,
                user_args=args,
                extra=self.environment,
            )
            variables["SM_FRAMEWORK_PARAMS"] = "{}"
        else:
            variables = build_env_vars(env, plan["user_hyperparameters"], extra=self.environment)
        self.workspace.catalog.update(KIND, name, parameters={"hyperparameters": hyperparameters})
        return {
            "job_name": name,
            "job_dir": str(job_dir),
            "catalog": str(self.workspace.catalog.path),
            "kind": plan["kind"],
            "algorithm": plan.get("algorithm"),
            "entry_point": plan.get("entry_point"),
            "args": args,
            "env": variables,
            "cwd": str(job_dir / "code") if plan["kind"] == "script" else str(job_dir),
            "max_run": self.max_run,
            "grace_period": 120,
            "metric_definitions": plan["metric_definitions"],
        }

    def _hyperparameter_file(
        self, name: str, plan: dict[str, Any], job_dir: Path
    ) -> dict[str, str]:
        if plan["kind"] == "algorithm":
            return dict(plan["hyperparameters"])
        # Framework estimators JSON-encode every value (SageMaker SDK v2).
        out = {k: json.dumps(v) for k, v in plan["user_hyperparameters"].items()}
        out.update(
            {
                "sagemaker_program": json.dumps(plan["entry_point"]),
                "sagemaker_submit_directory": json.dumps(f"file://{job_dir / 'code'}"),
                "sagemaker_container_log_level": "20",
                "sagemaker_job_name": json.dumps(name),
                "sagemaker_region": json.dumps("local"),
            }
        )
        return out

    # -- after fit ---------------------------------------------------------------------
    def _job(self) -> TrainingJob:
        if self.latest_training_job is None:
            raise ValidationError("latest_training_job", None, "a job: call fit() first")
        return self.latest_training_job

    @property
    def model_data(self) -> str | None:
        """Path of the latest job's ``model.tar.gz``."""
        return self._job().model_data

    def logs(self) -> str:
        return self._job().logs()

    def model(self) -> Any:
        """The latest job's trained model, loaded in this kernel."""
        return self._job().model()

    def stop(self) -> None:
        self._job().stop()

    def deploy(
        self, initial_instance_count: int = 1, instance_type: str = "local", **kwargs: Any
    ) -> Any:
        """Serve the latest job's model from a new endpoint; return a Predictor.

        Takes :func:`workbench.serving.deploy`'s arguments (``endpoint_name``,
        ``serializer``, ``deserializer``, ``data_capture_config``, ...).

        Example
        -------
        >>> predictor = est.deploy(endpoint_name="fraud")     # doctest: +SKIP
        """
        from ..serving import deploy

        return deploy(
            self._job().name, initial_instance_count, instance_type,
            workspace=self.workspace, **kwargs,
        )  # fmt: skip

    @classmethod
    def attach(cls, training_job_name: str, workspace: Workspace | str | None = None) -> Estimator:
        """An Estimator bound to an existing job, e.g. from a restarted kernel."""
        job = TrainingJob(training_job_name, workspace=workspace)
        params = job.record()["parameters"]
        hps = dict(params.get("hyperparameters", {}))
        if params.get("entry_point"):
            hps = {k: json.loads(v) for k, v in hps.items() if k not in _RESERVED_SCRIPT_KEYS}
        est = cls(
            algorithm=params.get("algorithm"),
            entry_point=params.get("entry_point"),
            source_dir=params.get("source_dir"),
            hyperparameters=hps,
            target=params.get("target"),
            instance_type=params.get("instance_type", "local"),
            max_run=params.get("max_run", 24 * 60 * 60),
            output_path=params.get("output_path"),
            metric_definitions=params.get("metric_definitions")
            if params.get("entry_point")
            else None,
            environment=params.get("environment"),
            workspace=job.workspace,
        )
        est.latest_training_job = job
        return est


# Where an algorithm that reads files (images, series, sentences) takes a DataFrame from.
_FILE_HELPERS = {
    "forecasting-deepar": "workbench.algorithms.write_series(to_series(df, ...), path)",
    "blazingtext": "workbench.algorithms.write_corpus(texts, labels, path)",
    "image-classification": "workbench.algorithms.save_image_folder(images, labels, path)",
}


def _check_frames_accepted(algorithm: Any, inputs: Any) -> None:
    """A DataFrame goes to algorithms that read feature rows; the others need files."""
    from ..algorithms import FRAME_CONTENT_TYPE

    if FRAME_CONTENT_TYPE in algorithm.content_types:
        return
    items = inputs.items() if isinstance(inputs, dict) else [("training", inputs)]
    for name, item in items:
        data = item.data if isinstance(item, TrainingInput) else item
        if type(data).__name__ == "DataFrame":
            helper = _FILE_HELPERS.get(algorithm.name)
            raise ValidationError(
                f"inputs[{name!r}]",
                "a DataFrame",
                f"a file or folder in one of {', '.join(algorithm.content_types)} "
                f"for algorithm {algorithm.name!r}",
                hint=f"Write it with {helper}." if helper else None,
            )


def _check_content_types(algorithm: Any, channels: list[PreparedChannel]) -> None:
    """Path channels must be in a format the algorithm reads (DataFrames always are)."""
    from ..algorithms import parse_content_type

    accepted = tuple(algorithm.content_types)
    for chan in channels:
        if chan.matrix is not None or chan.as_csv:
            continue
        base, _ = parse_content_type(chan.content_type)
        if base not in accepted:
            raise ValidationError(
                f"inputs[{chan.name!r}] content_type",
                chan.content_type,
                f"one of {', '.join(accepted)} for algorithm {algorithm.name!r}",
                hint="Pass TrainingInput(path, content_type=...) to say what the files hold.",
            )


def _check_same_columns(channels: list[PreparedChannel]) -> None:
    train = next((c for c in channels if c.name == "train"), None)
    if train is None or not train.columns:
        return
    for chan in channels:
        if chan is train or not chan.columns or chan.frame is None or train.frame is None:
            continue
        mine = set(chan.columns) - {chan.target}  # an RCF test channel has labels, train not
        theirs = set(train.columns) - {train.target}
        if mine != theirs:
            missing = sorted(theirs - mine)
            extra = sorted(mine - theirs)
            raise ValidationError(
                f"inputs[{chan.name!r}] columns",
                {"missing": missing[:10], "unexpected": extra[:10]},
                "the same columns as the 'train' channel",
            )


def _to_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """``{"epochs": 10}`` -> ``["--epochs", "10"]`` (the training toolkit's encoding)."""
    args = []
    for key, value in hyperparameters.items():
        args.append(f"--{key}")
        args.append(json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    return args


def _source_filter(workspace: Path) -> Any:
    """shutil.copytree's ignore: caches, VCS folders, and the workspace itself."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        skipped = {"__pycache__", ".ipynb_checkpoints", ".git", ".workbench"}
        return [n for n in names if n in skipped or Path(folder, n).resolve() == workspace]

    return ignore
