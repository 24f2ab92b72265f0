"""``Predictor``: send requests to a running endpoint, as SageMaker v2's ``Predictor``.

The endpoint is found by name in the workspace catalogue, so a restarted kernel reaches
an endpoint deployed earlier with ``Predictor("my-endpoint")``. Requests go over
keep-alive HTTP connections (one per thread, ``TCP_NODELAY``) straight to the endpoint's
``/invocations``; an error answer raises :class:`ModelError`, as botocore does.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from ..core import Workspace, get_workspace
from ..exceptions import ValidationError, WorkbenchError
from ._deserializers import BaseDeserializer, BytesDeserializer
from ._serializers import BaseSerializer, IdentitySerializer

__all__ = ["ModelError", "Predictor"]

_SERVING = ("InService", "Updating")
_HEADERS = {
    "CustomAttributes": "X-Amzn-SageMaker-Custom-Attributes",
    "TargetModel": "X-Amzn-SageMaker-Target-Model",
    "TargetVariant": "X-Amzn-SageMaker-Target-Variant",
    "InferenceId": "X-Amzn-SageMaker-Inference-Id",
}
_INITIAL_ARGS = {"ContentType", "Accept", "EndpointName", *_HEADERS}
# The connection dropped before any byte of the answer: safe to send the request again.
_DROPPED = (ConnectionError, http.client.RemoteDisconnected, BrokenPipeError)


class ModelError(WorkbenchError):
    """The endpoint answered with an error status (botocore's ``ModelError``).

    ``status`` is the HTTP status (400 bad input, 401 bad token, 404 unknown target,
    406/415 unsupported media type, 413 payload too large, 500 model error, 503 no worker,
    504 timeout), ``message`` the endpoint's explanation, ``error_id`` the id to look for
    in the endpoint's logs (500 errors), ``body`` the raw answer.

    Example
    -------
    >>> try:                                     # doctest: +SKIP
    ...     predictor.predict(b"not,numbers")
    ... except ModelError as err:
    ...     print(err.status, err.message)
    400 text/csv row 1, column 'f0': 'not' is not a number
    """

    def __init__(
        self,
        endpoint_name: str,
        status: int,
        message: str,
        error_id: str | None = None,
        body: bytes = b"",
    ) -> None:
        self.endpoint_name = endpoint_name
        self.status = status
        self.message = message
        self.error_id = error_id
        self.body = body
        side = "client" if status < 500 else "server"
        text = (
            "An error occurred (ModelError) when calling the InvokeEndpoint operation: "
            f"Received {side} error ({status}) from endpoint {endpoint_name!r} with message "
            f'"{message}".'
        )
        if error_id:
            text += f" Error id {error_id}: search for it in the endpoint's logs."
        super().__init__(text)


def _check_custom_attributes(value: str) -> None:
    if len(value) > 1024 or not all(" " <= c <= "~" for c in value):
        raise ValidationError(
            "custom_attributes", value, "at most 1024 visible US-ASCII characters"
        )


class Predictor:
    """Make prediction requests to an endpoint (SageMaker v2's ``Predictor``).

    ``serializer`` (default :class:`IdentitySerializer`, raw bytes) turns the data into
    the request body and sets its Content-Type; ``deserializer`` (default
    :class:`BytesDeserializer`) reads the answer and sets Accept. ``sagemaker_session``
    is accepted for compatibility and ignored. Raises ``ResourceNotFound`` when no
    endpoint has this name, and :class:`~workbench.exceptions.WorkbenchError` when it is
    not InService (or Updating).

    Example
    -------
    >>> from workbench.serving import Predictor, CSVSerializer, JSONDeserializer
    >>> predictor = Predictor("fraud-endpoint", serializer=CSVSerializer(),
    ...                       deserializer=JSONDeserializer())  # doctest: +SKIP
    >>> predictor.predict([[0.1, 2.3, 4.5]])   # doctest: +SKIP
    {'predictions': [{'score': 0.031}]}
    """

    def __init__(
        self,
        endpoint_name: str,
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        workspace: Workspace | str | None = None,
        *,
        timeout: float = 70.0,
        sagemaker_session: Any = None,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.serializer = serializer if serializer is not None else IdentitySerializer()
        self.deserializer = deserializer if deserializer is not None else BytesDeserializer()
        self.workspace = get_workspace(workspace)
        self.timeout = timeout
        self.last_invoked_variant: str | None = None
        self.last_custom_attributes: str | None = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []
        self._url = ""
        self._token: str | None = None
        self._refresh()

    def __repr__(self) -> str:
        return f"Predictor(endpoint_name={self.endpoint_name!r}, url={self._url!r})"

    # -- SageMaker's properties -------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """Alias of ``endpoint_name`` (SageMaker's deprecated name)."""
        return self.endpoint_name

    @property
    def content_type(self) -> str:
        """The Content-Type sent: the serializer's."""
        return self.serializer.CONTENT_TYPE

    @property
    def accept(self) -> tuple[str, ...]:
        """The media types asked for: the deserializer's."""
        return self.deserializer.ACCEPT

    # -- the catalogue record ---------------------------------------------------------
    def _refresh(self) -> None:
        """Read url, auth and token from the catalogue (the port changes on a restart)."""
        record = self.workspace.catalog.get("endpoint", self.endpoint_name)
        status = record["status"]
        if status not in _SERVING:
            reason = f" ({record['failure_reason']})" if record.get("failure_reason") else ""
            advice = {
                "Creating": "wait until it is InService",
                "Failed": "look at its logs, then delete and deploy it again",
            }.get(status, "deploy it again")
            raise WorkbenchError(
                f"Endpoint {self.endpoint_name!r} is {status}{reason}, not InService: {advice}."
            )
        extra = record.get("extra") or {}
        url = str(extra.get("url") or "").rstrip("/")
        if not url:
            raise WorkbenchError(
                f"Endpoint {self.endpoint_name!r} has no URL in the catalogue; deploy it again."
            )
        token = None
        if extra.get("auth"):
            path = self.workspace.folder("endpoint", self.endpoint_name) / "token"
            try:
                token = path.read_text().strip()
            except OSError as exc:
                raise WorkbenchError(
                    f"Endpoint {self.endpoint_name!r} needs an API token, but {path} cannot be"
                    f" read ({exc})."
                ) from None
        self._url, self._token = url, token

    # -- connections ------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.url == self._url:
            return conn
        self._drop()
        parts = urlsplit(self._url)
        factory = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = factory(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._local.conn, self._local.url = conn, self._url
        with self._lock:
            self._connections.append(conn)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
        self._local.conn = None

    def close(self) -> None:
        """Close this predictor's connections (they reopen on the next request)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local.conn = None

    def _send(self, body: bytes, headers: dict[str, str]) -> tuple[int, Any, bytes]:
        for attempt in (1, 2):
            try:
                conn = self._connection()
                conn.putrequest("POST", "/invocations", skip_accept_encoding=True)
                for key, value in headers.items():
                    conn.putheader(key, value)
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                response = conn.getresponse()
            except _DROPPED as exc:
                self._drop()
                if attempt == 2:
                    raise WorkbenchError(
                        f"Could not reach endpoint {self.endpoint_name!r} at {self._url} ({exc});"
                        f" describe_endpoint({self.endpoint_name!r}) shows whether it is running."
                    ) from exc
                self._refresh()  # it may have been restarted on another port
                continue
            except BaseException:
                self._drop()
                raise
            try:
                data = response.read()
            except BaseException:
                self._drop()
                raise
            if response.will_close:
                self._drop()
            return response.status, response.headers, data
        raise AssertionError("unreachable")

    # -- requests ---------------------------------------------------------------------
    def predict(
        self,
        data: Any,
        initial_args: dict[str, str] | None = None,
        target_model: str | None = None,
        target_variant: str | None = None,
        inference_id: str | None = None,
        custom_attributes: str | None = None,
    ) -> Any:
        """Send ``data`` to the endpoint and return the deserialized answer.

        ``initial_args`` takes ``invoke_endpoint``'s names (ContentType, Accept,
        CustomAttributes, TargetModel, TargetVariant, InferenceId); the keyword arguments
        win over it. Raises :class:`ModelError` when the endpoint answers with an error.

        Example
        -------
        >>> predictor.predict(b"0.1,2.3", initial_args={"ContentType": "text/csv"})  # doctest: +SKIP
        b'0.031\\n'
        """
        args = dict(initial_args or {})
        unknown = sorted(set(args) - _INITIAL_ARGS)
        if unknown:
            raise ValidationError(
                "initial_args", unknown, f"keys among {', '.join(sorted(_INITIAL_ARGS))}"
            )
        for key, value in (
            ("TargetModel", target_model),
            ("TargetVariant", target_variant),
            ("InferenceId", inference_id),
            ("CustomAttributes", custom_attributes),
        ):
            if value:
                args[key] = value
        if args.get("CustomAttributes"):
            _check_custom_attributes(args["CustomAttributes"])
        headers = {
            "Content-Type": args.get("ContentType") or self.content_type,
            "Accept": args.get("Accept") or ", ".join(self.accept),
        }
        for key, header in _HEADERS.items():
            if args.get(key):
                headers[header] = str(args[key])
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        status, response_headers, body = self._send(_body(self.serializer.serialize(data)), headers)
        self.last_invoked_variant = response_headers.get("X-Amzn-Invoked-Production-Variant")
        self.last_custom_attributes = response_headers.get("X-Amzn-SageMaker-Custom-Attributes")
        if not 200 <= status < 300:
            raise _model_error(self.endpoint_name, status, body)
        content_type = response_headers.get("Content-Type", "application/octet-stream")
        return self.deserializer.deserialize(io.BytesIO(body), content_type)

    # -- endpoint management (workbench.serving._endpoint) ----------------------------
    def describe(self) -> dict[str, Any]:
        """``describe_endpoint`` for this endpoint."""
        from . import _endpoint

        return _endpoint.describe_endpoint(self.endpoint_name, self.workspace)

    def delete_endpoint(self, delete_endpoint_config: bool = True) -> None:
        """Stop the endpoint and delete it from the catalogue."""
        from . import _endpoint

        self.close()
        _endpoint.delete_endpoint(self.endpoint_name, workspace=self.workspace)

    def update_endpoint(self, **kwargs: Any) -> Any:
        """``update_endpoint`` for this endpoint (blue/green switch to a new model or weights)."""
        from . import _endpoint

        return _endpoint.update_endpoint(self.endpoint_name, **kwargs, workspace=self.workspace)


def _body(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if hasattr(data, "read"):
        return _body(data.read())
    raise ValidationError(
        "data",
        type(data).__name__,
        "bytes after serialization",
        "The default IdentitySerializer sends bytes as they are; pass a serializer such as"
        " CSVSerializer() or JSONSerializer() for lists, arrays and DataFrames.",
    )


def _model_error(endpoint_name: str, status: int, body: bytes) -> ModelError:
    message, error_id = body.decode("utf-8", "replace").strip()[:2000], None
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "error" in answer:
        message, error_id = str(answer["error"]), answer.get("error_id")
    return ModelError(endpoint_name, status, message or f"HTTP {status}", error_id, body)
