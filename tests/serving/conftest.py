"""Models trained once per module, and no endpoint server left running after a test."""

from __future__ import annotations

import http.client
import json
import textwrap
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from workbench.core import Workspace

SCRIPT = """
import json, os, time
import numpy as np


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        return json.load(f)


def predict_fn(data, model):
    values = np.asarray(data, dtype=float)
    if (values == -999).any():
        raise ValueError("-999 is not a valid value")
    if (values == -777).any():
        time.sleep(3)
    return (values.sum(axis=1) * model["scale"]).tolist()


if __name__ == "__main__":
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
        json.dump({"scale": 2.0}, f)
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory, binary_frame) -> Any:
    """A workspace with an XGBoost model (features x0..x5) and a script-mode model."""
    home = tmp_path_factory.mktemp("serving") / "ws"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        ws = Workspace(home)
        train = binary_frame.iloc[:600]
        est = wb.Estimator(
            algorithm="xgboost",
            target="y",
            hyperparameters={"objective": "binary:logistic", "num_round": 15, "max_depth": 3},
        )
        xgb = est.fit({"train": train}, logs=False).name
        est2 = wb.Estimator(
            algorithm="xgboost",
            target="y",
            hyperparameters={"objective": "binary:logistic", "num_round": 5, "max_depth": 2},
        )
        xgb2 = est2.fit({"train": train}, logs=False).name
        src = home.parent / "script"
        src.mkdir()
        (src / "train.py").write_text(textwrap.dedent(SCRIPT))
        script = (
            wb.Estimator(entry_point="train.py", source_dir=str(src), target="y")
            .fit({"train": train.head(50)}, logs=False)
            .name
        )
        yield {"ws": ws, "xgb": xgb, "xgb2": xgb2, "script": script, "frame": binary_frame}
        for name in wb.list_endpoints(workspace=ws)["name"]:
            wb.delete_endpoint(name, workspace=ws)


def request(
    url: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, method="POST"
) -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body if method == "POST" else None, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def invoke(url: str, body: bytes | str, **headers: str) -> tuple[int, dict[str, str], Any]:
    if isinstance(body, str):
        body = body.encode()
    names = {
        "content_type": "Content-Type", "accept": "Accept",
        "target_variant": "X-Amzn-SageMaker-Target-Variant",
        "target_model": "X-Amzn-SageMaker-Target-Model",
        "custom_attributes": "X-Amzn-SageMaker-Custom-Attributes",
        "authorization": "Authorization",
    }  # fmt: skip
    sent = {names[k]: v for k, v in headers.items()}
    sent.setdefault("Content-Type", "text/csv")
    status, out, data = request(url, "/invocations", body, sent)
    if out.get("content-type", "").split(";")[0] == "application/json":
        return status, out, json.loads(data)
    return status, out, data


def csv_rows(frame, n: int) -> str:
    X = frame.drop(columns="y").head(n)
    return "\n".join(",".join(repr(float(v)) for v in row) for row in X.to_numpy()) + "\n"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
