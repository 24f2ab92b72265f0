"""Endpoints with SageMaker's contract: real HTTP servers, variants, capture and batch transform.

Example
-------
>>> import workbench as wb
>>> predictor = est.deploy(endpoint_name="fraud")                 # doctest: +SKIP
>>> predictor.predict(rows)                                       # doctest: +SKIP
>>> wb.serving.list_endpoints()                                   # doctest: +SKIP
>>> predictor.delete_endpoint()                                   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "deploy": "._deploy",
    "MultiDataModel": "._deploy",
    "create_endpoint": "._endpoint",
    "delete_endpoint": "._endpoint",
    "describe_endpoint": "._endpoint",
    "list_endpoints": "._endpoint",
    "production_variant": "._endpoint",
    "update_endpoint": "._endpoint",
    "update_endpoint_weights_and_capacities": "._endpoint",
    "EndpointError": "._endpoint",
    "MicroBatchConfig": "._endpoint",
    "ServerlessInferenceConfig": "._endpoint",
    "Predictor": "._predictor",
    "ModelError": "._predictor",
    "DataCaptureConfig": "._capture",
    "default_destination": "._capture",
    "read_captured": "._capture",
    "read_captured_outputs": "._capture",
    "DeployPanel": "._panel",
    "DeployPanelState": "._panel",
    "Transformer": "._transform",
    "TransformJob": "._transform",
    "list_transform_jobs": "._transform",
    "CSVSerializer": "._serializers",
    "JSONSerializer": "._serializers",
    "JSONLinesSerializer": "._serializers",
    "NumpySerializer": "._serializers",
    "IdentitySerializer": "._serializers",
    "StringSerializer": "._serializers",
    "BytesDeserializer": "._deserializers",
    "StringDeserializer": "._deserializers",
    "CSVDeserializer": "._deserializers",
    "JSONDeserializer": "._deserializers",
    "JSONLinesDeserializer": "._deserializers",
    "NumpyDeserializer": "._deserializers",
    "PandasDeserializer": "._deserializers",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
