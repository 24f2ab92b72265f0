"""One model's answer to ``/invocations``: decode the request, run the recipe, predict, encode.

Shared by endpoint workers and batch transform. Built-in algorithms answer with SageMaker's
response keys (``score``, ``predicted_label``); script-mode models go through the inference
handler functions of their ``code/`` folder (``model_fn`` was called by :class:`Model`):
``transform_fn``, or ``input_fn`` / ``predict_fn`` / ``output_fn`` with SageMaker's default
decoders and encoders for the ones the script leaves out.
"""

from __future__ import annotations

import inspect
import io
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..algorithms import parse_content_type
from ..exceptions import ValidationError, WorkbenchError
from ._codec import (
    CONTENT_TYPES,
    Decoded,
    RequestError,
    choose_accept,
    decode,
    encode_columns,
    parse_media_type,
)

__all__ = ["Call", "Handler", "Reply", "error_reply"]

log = logging.getLogger("workbench.serving")

_JSON = "application/json"


@dataclass
class Call:
    """One invocation as the worker receives it."""

    body: bytes
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    inference_id: str | None = None


@dataclass
class Reply:
    """What the endpoint sends back for one :class:`Call`."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    rows: int = 0


def error_reply(status: int, message: str, error_id: str | None = None) -> Reply:
    body = json.dumps({"error": message, "error_id": error_id, "status": status}).encode()
    return Reply(status, body, _JSON)


def _model_error(exc: BaseException) -> Reply:
    error_id = secrets.token_hex(6)
    log.error("model error %s", error_id, exc_info=exc)
    return error_reply(500, f"the model raised {type(exc).__name__}: {exc}", error_id)


class Handler:
    """Answers invocations for one loaded :class:`~workbench.training.Model`.

    Example
    -------
    >>> handler = Handler.load("xgboost-2026-01-01-00-00-00-000")        # doctest: +SKIP
    >>> handler.invoke(Call(b"0.5,1.2,3\\n", "text/csv", "application/json")).body  # doctest: +SKIP
    b'{"predictions": [{"score": 0.31}]}'
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.script = model._module is not None
        recipe = model.recipe
        if recipe is not None:
            self.columns: list[str] | None = recipe.input_columns
            self.dtypes: dict[str, str] | None = {
                c: "numeric" if _numeric(t) else "string" for c, t in recipe.input_dtypes.items()
            }
        else:
            self.columns = list(model.feature_names) if model.feature_names else None
            self.dtypes = None
        self._context = self._wants_context()

    @classmethod
    def load(cls, name: str, workspace: Any = None) -> Handler:
        """Load model ``name`` (checksum verified) and wrap it."""
        from ..training import Model

        return cls(Model(name, workspace=workspace))

    def set_threads(self, n: int) -> None:
        """Predict with ``n`` threads (XGBoost keeps its training ``nthread`` otherwise).

        An endpoint runs one worker process per instance; with every worker's OpenMP pool
        as wide as the machine, small requests spend more time handing work between
        threads than predicting (measured: 4.8 ms instead of 0.4 ms for one row on 2 cores
        under load).
        """
        booster = getattr(self.model._impl, "booster", None)
        if booster is not None:
            booster.set_param({"nthread": int(n)})

    @property
    def input_columns(self) -> list[str] | None:
        return list(self.columns) if self.columns else None

    # -- one call ----------------------------------------------------------------------
    def invoke(self, call: Call) -> Reply:
        """Answer one call; never raises (errors become 4xx / 500 replies)."""
        try:
            if self.script:
                return self._invoke_script(call)
            if self.own_decoder(call):
                return self._invoke_own(call)
            decoded = decode(call.body, _content_type(call), self.columns, self.dtypes)
            accept = self._accept(call, decoded.style)
            columns = self._predict(decoded)
            return self._reply(call, columns, accept, decoded.style)
        except RequestError as exc:
            return error_reply(exc.status, exc.message)
        except ValidationError as exc:  # the recipe or the model refused the values
            return error_reply(400, str(exc))
        except Exception as exc:
            return _model_error(exc)

    # -- micro-batches -----------------------------------------------------------------
    def invoke_many(self, calls: list[Call]) -> list[Reply]:
        """Answer several calls with one prediction over all their rows.

        A call whose body does not decode gets its own 4xx; if the batch's prediction fails,
        each call is answered on its own so one bad request cannot fail the others.
        """
        if self.script or len(calls) == 1 or hasattr(self.model._impl, "decode_request"):
            return [self.invoke(c) for c in calls]
        replies: list[Reply | None] = [None] * len(calls)
        decoded = []
        for i, call in enumerate(calls):
            try:
                d = decode(call.body, _content_type(call), self.columns, self.dtypes)
                decoded.append((i, d, self._accept(call, d.style)))
            except RequestError as exc:
                replies[i] = error_reply(exc.status, exc.message)
        if decoded:
            import pandas as pd

            parts = [d for _, d, _ in decoded]
            try:
                arrays = [d.array for d in parts]
                if self.model.recipe is None and all(a is not None for a in arrays):
                    if len({a.shape[1] for a in arrays}) != 1:  # type: ignore[union-attr]
                        raise ValueError("calls with different columns")
                    merged = Decoded(None, "sagemaker", np.concatenate(arrays))  # type: ignore[arg-type]
                else:
                    frames = [d.frame for d in parts]
                    if any(list(f.columns) != list(frames[0].columns) for f in frames):
                        raise ValueError("calls with different columns")
                    merged = Decoded(pd.concat(frames, ignore_index=True))
                columns = self._predict(merged)
            except Exception:
                for i, _, _ in decoded:
                    replies[i] = self.invoke(calls[i])
            else:
                start = 0
                for (i, d, accept), part in zip(decoded, parts):
                    end = start + len(part)
                    part = {key: value[start:end] for key, value in columns.items()}
                    replies[i] = self._reply(calls[i], part, accept, d.style)
                    start = end
        return [r for r in replies if r is not None]

    # -- built-in algorithms -----------------------------------------------------------
    def own_decoder(self, call: Call) -> bool:
        """True when the model reads this call's body itself (images, series, sentences).

        Models whose inputs are not feature rows refuse other content types with 415.
        """
        impl = self.model._impl
        media = _content_type(call)
        if media in tuple(getattr(impl, "request_content_types", ())):
            return True
        if not getattr(impl, "tabular", True):
            accepted = ", ".join(getattr(impl, "request_content_types", ()))
            raise RequestError(
                415, f"unsupported Content-Type {media!r} for this model; send one of {accepted}"
            )
        return False

    def _invoke_own(self, call: Call) -> Reply:
        impl = self.model._impl
        inputs = impl.decode_request(call.body, _content_type(call))
        _, params = parse_content_type(call.accept or "")
        if params.get("verbose", "").lower() in ("true", "1"):  # e.g. class names and top-k
            columns = impl.response_columns(inputs, verbose=True)
        else:
            columns = impl.response_columns(inputs)
        media = _content_type(call)  # answer in the request's format unless asked otherwise
        accept = choose_accept(
            call.accept, CONTENT_TYPES, media if media in CONTENT_TYPES else _JSON
        )
        return self._reply(call, columns, accept, "sagemaker")

    def _accept(self, call: Call, style: str) -> str:
        if style == "mlflow":
            return choose_accept(call.accept, (_JSON,), _JSON)
        default = _content_type(call)
        if default not in CONTENT_TYPES:
            default = _JSON
        return choose_accept(call.accept, CONTENT_TYPES, default)

    def _predict(self, decoded: Decoded) -> dict[str, np.ndarray]:
        """The model's answer as columns (one array per SageMaker response key)."""
        model = self.model
        if model.recipe is not None:
            matrix = model.recipe.transform(decoded.frame).to_numpy(dtype=np.float64)
        elif decoded.array is not None:  # the decoder's float matrix: no DataFrame at all
            matrix = decoded.array
        else:
            matrix = decoded.frame.to_numpy(dtype=np.float64, na_value=np.nan)
        columns = getattr(model._impl, "response_columns", None)
        if columns is not None:
            return columns(matrix)
        return {"score": np.asarray(model._impl.predict(matrix))}

    def _reply(self, call: Call, columns: dict[str, np.ndarray], accept: str, style: str) -> Reply:
        envelope = getattr(self.model._impl, "response_envelope", "predictions")
        body, content_type = encode_columns(columns, accept, style, envelope)
        headers = {}
        if call.custom_attributes:  # built-ins echo the caller's attributes back
            headers["X-Amzn-SageMaker-Custom-Attributes"] = call.custom_attributes
        rows = len(next(iter(columns.values()))) if columns else 0
        return Reply(200, body, content_type, headers, rows=rows)

    # -- script mode -------------------------------------------------------------------
    def _wants_context(self) -> bool:
        if not self.script:
            return False
        module = self.model._module
        fn = getattr(module, "transform_fn", None) or getattr(module, "predict_fn", None)
        if fn is None:
            return False
        try:
            return "context" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return False

    def _invoke_script(self, call: Call) -> Reply:
        module, model = self.model._module, self.model._impl
        content_type = _content_type(call)
        context: dict[str, Any] = {
            "custom_attributes": call.custom_attributes,
            "inference_id": call.inference_id,
        }
        extra = {"context": context} if self._context else {}
        transform_fn = getattr(module, "transform_fn", None)
        try:
            if transform_fn is not None:
                accept = call.accept or _JSON
                result = transform_fn(model, call.body, content_type, accept, **extra)
                if isinstance(result, tuple):
                    body, out_type = result
                else:
                    body, out_type = result, accept
                rows = 0
            else:
                input_fn = getattr(module, "input_fn", None)
                if input_fn is not None:
                    data = input_fn(call.body, content_type)
                else:
                    data = decode(call.body, content_type, self.columns, self.dtypes).frame
                predict_fn = getattr(module, "predict_fn", None)
                if predict_fn is not None:
                    prediction = predict_fn(data, model, **extra)
                else:
                    prediction = model.predict(data)
                output_fn = getattr(module, "output_fn", None)
                accept = call.accept if call.accept and call.accept != "*/*" else _JSON
                if output_fn is not None:
                    result = output_fn(prediction, accept)
                    body, out_type = result if isinstance(result, tuple) else (result, accept)
                else:
                    accept = choose_accept(call.accept, CONTENT_TYPES, _JSON)
                    body, out_type = _default_output(prediction, accept)
                rows = len(prediction) if hasattr(prediction, "__len__") else 1
        except RequestError as exc:
            return error_reply(exc.status, exc.message)
        except Exception as exc:
            return _model_error(exc)
        if isinstance(body, str):
            body = body.encode()
        headers = {}
        attributes = context.get("response_custom_attributes")
        if attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = str(attributes)
        return Reply(200, bytes(body), str(out_type), headers, rows=rows)


def _content_type(call: Call) -> str:
    return parse_media_type(call.content_type, "text/csv")


def _numeric(dtype: str) -> bool:
    return dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float", "bool"))


def _plain(value: Any) -> Any:
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _default_output(prediction: Any, accept: str) -> tuple[bytes, str]:
    """SageMaker's default encoders for a script's prediction (JSON, CSV, JSON Lines, NPY)."""
    if accept == "application/x-npy":
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(_plain(prediction)), allow_pickle=False)
        return buffer.getvalue(), accept
    values = _plain(prediction)
    if accept == _JSON:
        return json.dumps(values).encode(), accept
    if not isinstance(values, list):
        values = [values]
    if accept == "application/jsonlines":
        return "".join(json.dumps(v) + "\n" for v in values).encode(), accept
    if accept == "text/csv":
        lines = (",".join(map(str, v)) if isinstance(v, list) else str(v) for v in values)
        return ("\n".join(lines) + "\n").encode(), accept
    raise RequestError(406, f"unsupported Accept {accept!r}")


class HandlerError(WorkbenchError):
    """A model could not be loaded for serving."""
