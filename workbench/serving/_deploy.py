"""``deploy``: one model behind a new endpoint, returning a :class:`Predictor`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core import Workspace, get_workspace
from ._endpoint import (
    MicroBatchConfig,
    ServerlessInferenceConfig,
    create_endpoint,
    production_variant,
)

__all__ = ["MultiDataModel", "deploy"]


def _default_name(model_name: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")[:-3]
    return f"{model_name[: 63 - len(stamp) - 1].rstrip('-')}-{stamp}"


def deploy(
    model_name: str,
    initial_instance_count: int = 1,
    instance_type: str = "local",
    serializer: Any = None,
    deserializer: Any = None,
    endpoint_name: str | None = None,
    wait: bool = True,
    data_capture_config: Any = None,
    serverless_inference_config: ServerlessInferenceConfig | None = None,
    batch: MicroBatchConfig | None = None,
    variant_name: str = "AllTraffic",
    host: str = "127.0.0.1",
    port: int | None = None,
    api_token: str | None = None,
    timeout_s: float = 60.0,
    workspace: Workspace | str | None = None,
) -> Any:
    """Serve model ``model_name`` from a new endpoint; return a Predictor for it.

    ``initial_instance_count`` is the number of model worker processes. The endpoint runs
    in its own process (it keeps serving after the kernel restarts; find it again with
    ``Predictor(endpoint_name)``) until :func:`delete_endpoint`.

    Example
    -------
    >>> predictor = deploy(job.name, endpoint_name="fraud")          # doctest: +SKIP
    >>> predictor.predict(rows)                                       # doctest: +SKIP
    """
    from ._predictor import Predictor

    ws = get_workspace(workspace)
    name = endpoint_name or _default_name(model_name)
    create_endpoint(
        name,
        [production_variant(model_name, instance_type, initial_instance_count, variant_name)],
        data_capture_config=data_capture_config,
        serverless_inference_config=serverless_inference_config,
        batch=batch,
        host=host,
        port=port,
        api_token=api_token,
        timeout_s=timeout_s,
        wait=wait,
        workspace=ws,
    )
    kwargs = {}
    if serializer is not None:
        kwargs["serializer"] = serializer
    if deserializer is not None:
        kwargs["deserializer"] = deserializer
    return Predictor(name, workspace=ws, **kwargs)


class MultiDataModel:
    """SageMaker's multi-model endpoint: one server, the models of the workspace behind it.

    Requests pick a model with ``target_model`` (a model name, or ``<name>.tar.gz``); only
    names starting with ``model_data_prefix`` are served. Each worker loads a model on first
    use and unloads the least recently used when its memory passes ``memory_budget_mb``.

    Example
    -------
    >>> mme = MultiDataModel("fraud-models", model_data_prefix="xgboost-")  # doctest: +SKIP
    >>> predictor = mme.deploy()                                            # doctest: +SKIP
    >>> predictor.predict(rows, target_model="xgboost-2026-01-01-...")      # doctest: +SKIP
    """

    def __init__(
        self,
        name: str,
        model_data_prefix: str = "",
        memory_budget_mb: float = 1024.0,
        workspace: Workspace | str | None = None,
    ) -> None:
        self.name = name
        self.model_data_prefix = model_data_prefix
        self.memory_budget_mb = memory_budget_mb
        self.workspace = get_workspace(workspace)

    def list_models(self) -> list[str]:
        """Names of the workspace's models this endpoint can serve."""
        return sorted(
            r["name"]
            for r in self.workspace.catalog.list("model")
            if r["name"].startswith(self.model_data_prefix)
        )

    def deploy(
        self,
        initial_instance_count: int = 1,
        instance_type: str = "local",
        serializer: Any = None,
        deserializer: Any = None,
        endpoint_name: str | None = None,
        **kwargs: Any,
    ) -> Any:
        from ._predictor import Predictor

        name = endpoint_name or self.name
        variant = production_variant(self.name, instance_type, initial_instance_count)
        create_endpoint(
            name,
            [variant],
            multi_model={
                "model_prefix": self.model_data_prefix,
                "memory_budget_mb": float(self.memory_budget_mb),
            },
            workspace=self.workspace,
            **kwargs,
        )
        extra = {k: v for k, v in (("serializer", serializer), ("deserializer", deserializer)) if v}
        return Predictor(name, workspace=self.workspace, **extra)
