"""Handler hooks of the algorithm catalogue: models that decode their own requests, envelopes."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from workbench.exceptions import ValidationError
from workbench.serving._handler import Call, Handler


class _Images:
    """A model reading raw bytes (like image classification): non-tabular, bare-list answers."""

    problem_type = "multiclass_classification"
    feature_names = None
    tabular = False
    request_content_types = ("application/x-image",)
    response_envelope = None

    def decode_request(self, body: bytes, content_type: str) -> np.ndarray:
        if not body.startswith(b"IMG"):
            raise ValidationError("body", body[:8], "an image")
        return np.array([len(body)])

    def response_columns(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        return {"label": np.array(["seven"], dtype=object), "prob": np.array([[0.25, 0.75]])}


class _Clusters:
    """A tabular model with its own response keys and envelope (like PCA)."""

    problem_type = "dimensionality_reduction"
    feature_names = ["a", "b"]
    response_envelope = "projections"

    def response_columns(self, X: np.ndarray) -> dict[str, np.ndarray]:
        return {"projection": X[:, :1] * 2}


def _handler(impl: object) -> Handler:
    model = SimpleNamespace(_impl=impl, _module=None, recipe=None, feature_names=impl.feature_names)
    return Handler(model)


def test_a_model_with_its_own_decoder_reads_the_body_and_answers_a_bare_list():
    handler = _handler(_Images())
    reply = handler.invoke(Call(b"IMG....", "application/x-image", "application/json"))
    assert reply.status == 200, reply.body
    assert json.loads(reply.body) == [{"label": "seven", "prob": [0.25, 0.75]}]
    lines = handler.invoke(Call(b"IMG", "application/x-image", "application/jsonlines"))
    assert json.loads(lines.body.splitlines()[0]) == {"label": "seven", "prob": [0.25, 0.75]}


def test_bad_bodies_are_400_and_other_content_types_415_naming_the_accepted_ones():
    handler = _handler(_Images())
    bad = handler.invoke(Call(b"GIF89a", "application/x-image", "application/json"))
    assert bad.status == 400 and "an image" in json.loads(bad.body)["error"]
    csv = handler.invoke(Call(b"1,2\n", "text/csv", "application/json"))
    assert csv.status == 415 and "application/x-image" in json.loads(csv.body)["error"]
    many = handler.invoke_many([Call(b"IMG", "application/x-image"), Call(b"1\n", "text/csv")])
    assert [r.status for r in many] == [200, 415]


def test_tabular_models_answer_with_their_envelope_and_micro_batches_split_back():
    handler = _handler(_Clusters())
    reply = handler.invoke(Call(b"1,2\n3,4\n", "text/csv", "application/json"))
    assert json.loads(reply.body) == {"projections": [{"projection": [2.0]}, {"projection": [6.0]}]}
    replies = handler.invoke_many(
        [Call(b"1,2\n", "text/csv", "application/json"), Call(b"5,6\n", "text/csv", "text/csv")]
    )
    assert json.loads(replies[0].body) == {"projections": [{"projection": [2.0]}]}
    assert replies[1].body == b"10.0\n"


class _Probabilities(_Images):
    """One list-valued key per record, like image classification (verbose adds keys)."""

    def response_columns(self, inputs: np.ndarray, verbose: bool = False) -> dict:
        columns = {"prediction": np.array([[0.1, 0.9]])}
        if verbose:
            columns["predicted_label"] = np.array([1])
        return columns


def test_one_list_valued_record_is_the_bare_list_and_verbose_accept_adds_keys():
    handler = _handler(_Probabilities())
    reply = handler.invoke(Call(b"IMG", "application/x-image", "application/json"))
    assert json.loads(reply.body) == [0.1, 0.9]  # SageMaker's answer for one image
    verbose = handler.invoke(Call(b"IMG", "image/png", "application/jsonlines; verbose=true"))
    assert verbose.status == 415  # image/png is not among this model's request types
    verbose = handler.invoke(
        Call(b"IMG", "application/x-image", "application/jsonlines; verbose=true")
    )
    assert json.loads(verbose.body) == {"prediction": [0.1, 0.9], "predicted_label": 1}
