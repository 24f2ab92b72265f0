"""Predictor against a stub endpoint on loopback (workbench.serving._predictor)."""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from workbench.exceptions import ResourceNotFound, ValidationError, WorkbenchError
from workbench.serving._codec import CONTENT_TYPES, RequestError, choose_accept, decode, encode
from workbench.serving._deserializers import (
    BytesDeserializer,
    JSONDeserializer,
    JSONLinesDeserializer,
    NumpyDeserializer,
    PandasDeserializer,
)
from workbench.serving._predictor import ModelError, Predictor
from workbench.serving._serializers import (
    CSVSerializer,
    JSONLinesSerializer,
    JSONSerializer,
    NumpySerializer,
)

NAME = "stub-endpoint"


class _Handler(BaseHTTPRequestHandler):
    """Answers /invocations as told by ``server.script`` (one action per request)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server = self.server
        with server.lock:
            server.seen.append(
                {"headers": dict(self.headers), "body": body, "peer": self.client_address}
            )
            action = server.script.pop(0) if server.script else server.default
        kind = action[0]
        if kind == "echo":
            payload = json.dumps({"headers": dict(self.headers), "body": body.decode("latin-1")})
            self._answer(200, payload.encode(), "application/json", close=action[1])
        elif kind == "error":
            self._answer(action[1], action[2], "application/json")
        elif kind == "truncate":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
            self.wfile.flush()
            self.close_connection = True
        elif kind == "model":
            self._model(body)

    def _model(self, body: bytes) -> None:
        """A tiny endpoint: the score of each row is the sum of its values."""
        try:
            accept = choose_accept(self.headers.get("Accept"), CONTENT_TYPES, "application/json")
            decoded = decode(body, self.headers.get("Content-Type", ""), columns=["a", "b"])
            rows = [{"score": float(s)} for s in decoded.frame.sum(axis=1)]
            answer, content_type = encode(rows, accept, decoded.style)
        except RequestError as error:
            payload = {"error": error.message, "error_id": None, "status": error.status}
            self._answer(error.status, json.dumps(payload).encode(), "application/json")
        else:
            self._answer(200, answer, content_type)

    def _answer(self, status: int, body: bytes, content_type: str, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Amzn-Invoked-Production-Variant", "AllTraffic")
        attributes = self.headers.get("X-Amzn-SageMaker-Custom-Attributes")
        if attributes:
            self.send_header("X-Amzn-SageMaker-Custom-Attributes", f"echo:{attributes}")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if close:  # drop the keep-alive connection without announcing it
            self.close_connection = True


class _Server:
    def __init__(self, default=("echo", False)) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.lock = threading.Lock()
        self.httpd.seen = []
        self.httpd.script = []
        self.httpd.default = default
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def seen(self) -> list[dict]:
        return self.httpd.seen

    def then(self, *actions) -> None:
        self.httpd.script.extend(actions)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = _Server()
    yield srv
    srv.stop()


@pytest.fixture
def endpoint(workspace, server):
    workspace.catalog.create(
        "endpoint", NAME, status="InService", extra={"url": server.url, "auth": False}
    )
    return server


def _echo(predictor: Predictor, *args, **kwargs) -> dict:
    return json.loads(predictor.predict(*args, **kwargs))


# -- finding the endpoint ------------------------------------------------------------------
def test_unknown_endpoint_is_resource_not_found(workspace):
    with pytest.raises(ResourceNotFound, match="No endpoint named 'missing'"):
        Predictor("missing", workspace=workspace)


@pytest.mark.parametrize(
    "status, advice", [("Creating", "wait until it is InService"), ("Failed", "look at its logs")]
)
def test_endpoint_not_in_service_is_refused(workspace, status, advice):
    workspace.catalog.create("endpoint", NAME, status=status, extra={"url": "http://127.0.0.1:1"})
    with pytest.raises(WorkbenchError) as info:
        Predictor(NAME, workspace=workspace)
    assert f"Endpoint {NAME!r} is {status}" in str(info.value) and advice in str(info.value)


def test_workspace_defaults_to_workbench_home_and_updating_is_served(workspace, server):
    workspace.catalog.create("endpoint", NAME, status="Updating", extra={"url": server.url + "/"})
    predictor = Predictor(NAME)  # found through WORKBENCH_HOME
    assert predictor.workspace == workspace
    assert predictor.endpoint == predictor.endpoint_name == NAME
    assert _echo(predictor, b"x")["body"] == "x"


# -- what is sent --------------------------------------------------------------------------
def test_predict_sends_sagemaker_headers_and_keeps_the_connection(endpoint, workspace):
    predictor = Predictor(NAME, workspace=workspace)
    answer = _echo(
        predictor,
        b"1,2",
        target_model="model-a.tar.gz",
        target_variant="Blue",
        inference_id="req-1",
        custom_attributes="trace=7",
    )
    headers = answer["headers"]
    assert answer["body"] == "1,2"
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Accept"] == "*/*"
    assert headers["X-Amzn-SageMaker-Target-Model"] == "model-a.tar.gz"
    assert headers["X-Amzn-SageMaker-Target-Variant"] == "Blue"
    assert headers["X-Amzn-SageMaker-Inference-Id"] == "req-1"
    assert headers["X-Amzn-SageMaker-Custom-Attributes"] == "trace=7"
    assert "Authorization" not in headers
    assert predictor.last_invoked_variant == "AllTraffic"
    assert predictor.last_custom_attributes == "echo:trace=7"
    _echo(predictor, b"again")
    assert predictor.last_custom_attributes is None
    assert endpoint.seen[0]["peer"] == endpoint.seen[1]["peer"]  # one keep-alive connection


def test_initial_args_override_like_invoke_endpoint(endpoint, workspace):
    predictor = Predictor(
        NAME,
        serializer=CSVSerializer(),
        deserializer=BytesDeserializer("application/json"),
        workspace=workspace,
    )
    assert predictor.content_type == "text/csv" and predictor.accept == ("application/json",)
    args = {
        "ContentType": "application/x-npy",
        "Accept": "text/csv",
        "CustomAttributes": "a=1",
        "TargetVariant": "Green",
        "EndpointName": NAME,
    }
    headers = _echo(predictor, [1, 2], initial_args=args)["headers"]
    assert headers["Content-Type"] == "application/x-npy" and headers["Accept"] == "text/csv"
    assert headers["X-Amzn-SageMaker-Custom-Attributes"] == "a=1"
    assert headers["X-Amzn-SageMaker-Target-Variant"] == "Green"
    headers = _echo(predictor, [1], initial_args=args, custom_attributes="b=2")["headers"]
    assert headers["X-Amzn-SageMaker-Custom-Attributes"] == "b=2"  # the keyword wins
    with pytest.raises(ValidationError, match="initial_args"):
        predictor.predict([1], initial_args={"Body": b"x"})
    with pytest.raises(ValidationError, match="custom_attributes"):
        predictor.predict([1], custom_attributes="é")
    assert len(endpoint.seen) == 2


def test_accept_lists_every_type_the_deserializer_reads(endpoint, workspace):
    predictor = Predictor(NAME, deserializer=PandasDeserializer(), workspace=workspace)
    predictor.deserializer = BytesDeserializer(accept=("text/csv", "application/json"))
    assert _echo(predictor, b"x")["headers"]["Accept"] == "text/csv, application/json"


def test_auth_sends_the_bearer_token_from_the_endpoint_folder(workspace, server):
    workspace.catalog.create(
        "endpoint", NAME, status="InService", extra={"url": server.url, "auth": True}
    )
    with pytest.raises(WorkbenchError, match="needs an API token"):
        Predictor(NAME, workspace=workspace)
    folder = workspace.folder("endpoint", NAME)
    folder.mkdir(parents=True)
    (folder / "token").write_text("s3cret\n")
    (folder / "token").chmod(0o600)
    predictor = Predictor(NAME, workspace=workspace)
    assert _echo(predictor, b"x")["headers"]["Authorization"] == "Bearer s3cret"


def test_data_that_is_not_bytes_needs_a_serializer(endpoint, workspace):
    with pytest.raises(ValidationError, match="CSVSerializer"):
        Predictor(NAME, workspace=workspace).predict([1, 2])
    assert _echo(Predictor(NAME, workspace=workspace), "text é")["body"] == "text Ã©"  # UTF-8


# -- errors --------------------------------------------------------------------------------
def test_a_model_error_raises_model_error_with_the_error_id(endpoint, workspace):
    payload = {"error": "division by zero", "error_id": "9f2c", "status": 500}
    endpoint.then(("error", 500, json.dumps(payload).encode()), ("error", 400, b"bad row"))
    predictor = Predictor(NAME, workspace=workspace)
    with pytest.raises(ModelError) as info:
        predictor.predict(b"1,2")
    error = info.value
    assert (error.status, error.message, error.error_id) == (500, "division by zero", "9f2c")
    assert json.loads(error.body) == payload
    assert "Received server error (500)" in str(error) and "9f2c" in str(error)
    with pytest.raises(ModelError) as info:
        predictor.predict(b"1,2")
    assert (info.value.status, info.value.message, info.value.error_id) == (400, "bad row", None)
    assert "Received client error (400)" in str(info.value)
    assert isinstance(info.value, WorkbenchError)
    assert _echo(predictor, b"ok")["body"] == "ok"  # the connection is still usable


def test_a_dropped_keep_alive_connection_is_retried_once(endpoint, workspace):
    endpoint.then(("echo", True))  # answer, then close the connection silently
    predictor = Predictor(NAME, workspace=workspace)
    assert _echo(predictor, b"first")["body"] == "first"
    assert _echo(predictor, b"second")["body"] == "second"
    assert [r["body"] for r in endpoint.seen] == [b"first", b"second"]  # sent once each
    assert endpoint.seen[0]["peer"] != endpoint.seen[1]["peer"]  # on a new connection


def test_an_answer_cut_short_is_not_sent_again(endpoint, workspace):
    endpoint.then(("truncate",))
    predictor = Predictor(NAME, workspace=workspace)
    with pytest.raises(http.client.IncompleteRead):
        predictor.predict(b"once")
    assert len(endpoint.seen) == 1
    assert _echo(predictor, b"next")["body"] == "next"


def test_a_restarted_endpoint_is_found_at_its_new_port(workspace):
    old = _Server(default=("echo", True))
    workspace.catalog.create("endpoint", NAME, status="InService", extra={"url": old.url})
    predictor = Predictor(NAME, workspace=workspace)
    assert _echo(predictor, b"1")["body"] == "1"
    old.stop()
    new = _Server()
    try:
        workspace.catalog.update("endpoint", NAME, extra={"url": new.url})
        assert _echo(predictor, b"2")["body"] == "2"
        assert len(new.seen) == 1
    finally:
        new.stop()


def test_an_endpoint_that_stopped_serving_raises_a_clear_error(workspace):
    old = _Server(default=("echo", True))
    workspace.catalog.create("endpoint", NAME, status="InService", extra={"url": old.url})
    predictor = Predictor(NAME, workspace=workspace)
    _echo(predictor, b"1")
    old.stop()
    with pytest.raises(WorkbenchError, match="Could not reach endpoint"):
        predictor.predict(b"2")  # still InService in the catalogue, nobody listening
    workspace.catalog.update("endpoint", NAME, status="Failed", failure_reason="worker died")
    with pytest.raises(WorkbenchError, match=r"is Failed \(worker died\)"):
        predictor.predict(b"3")


def test_threads_use_their_own_connections(endpoint, workspace):
    predictor = Predictor(NAME, workspace=workspace)
    results: list[str] = []

    def work(i: int) -> None:
        for j in range(5):
            results.append(_echo(predictor, f"{i}-{j}".encode())["body"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(f"{i}-{j}" for i in range(4) for j in range(5))
    assert len({r["peer"] for r in endpoint.seen}) == 4
    predictor.close()
    assert _echo(predictor, b"after close")["body"] == "after close"


# -- serializer and deserializer round trips -----------------------------------------------
@pytest.fixture
def model_endpoint(workspace):
    srv = _Server(default=("model",))
    workspace.catalog.create("endpoint", NAME, status="InService", extra={"url": srv.url})
    yield srv
    srv.stop()


def test_csv_in_json_out(model_endpoint, workspace):
    predictor = Predictor(
        NAME, serializer=CSVSerializer(), deserializer=JSONDeserializer(), workspace=workspace
    )
    assert predictor.predict([[1, 2], [3, 4.5]]) == {
        "predictions": [{"score": 3.0}, {"score": 7.5}]
    }


def test_numpy_in_numpy_out(model_endpoint, workspace):
    predictor = Predictor(
        NAME, serializer=NumpySerializer(), deserializer=NumpyDeserializer(), workspace=workspace
    )
    result = predictor.predict(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert isinstance(result, np.ndarray) and result.tolist() == [3.0, 7.0]


def test_dataframe_in_pandas_out(model_endpoint, workspace):
    predictor = Predictor(
        NAME, serializer=JSONSerializer(), deserializer=PandasDeserializer(), workspace=workspace
    )
    frame = pd.DataFrame({"b": [2.0, 4.0], "a": [1.0, 3.0]})
    result = predictor.predict(frame, initial_args={"Accept": "application/json"})
    assert result.to_dict("list") == {"predictions": [3.0, 7.0]}  # MLflow-style answer
    result = predictor.predict(frame)  # Accept "text/csv, application/json": CSV first
    assert result.shape == (2, 1) and result[0].tolist() == [3.0, 7.0]


def test_jsonlines_in_jsonlines_out(model_endpoint, workspace):
    predictor = Predictor(
        NAME,
        serializer=JSONLinesSerializer(),
        deserializer=JSONLinesDeserializer(),
        workspace=workspace,
    )
    assert predictor.predict([{"features": [2, 2]}]) == [{"score": 4.0}]
    assert predictor.predict([{"a": 1, "b": 1}, {"b": 2, "a": 0.5}]) == [
        {"score": 2.0},
        {"score": 2.5},
    ]


def test_a_bad_request_comes_back_as_model_error_400(model_endpoint, workspace):
    predictor = Predictor(NAME, serializer=CSVSerializer(), workspace=workspace)
    with pytest.raises(ModelError) as info:
        predictor.predict([[1, 2, 3, 4]])
    assert info.value.status == 400
    assert info.value.message == "text/csv row 1 has 4 fields; expected 2"
