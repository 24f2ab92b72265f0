"""Reliability of a live endpoint on loopback: fuzzed requests and sustained load."""

import asyncio
import json
import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench as wb
from workbench.serving import create_endpoint, production_variant

from .conftest import csv_rows, invoke, request

CONTENT_TYPES = [
    "text/csv", "application/json", "application/jsonlines", "application/x-npy",
    "text/csv; charset=utf-8", "application/octet-stream", "", "text/plain",
]  # fmt: skip
ACCEPTS = ["text/csv", "application/json", "application/jsonlines", "application/x-npy", "*/*",
           "", "image/png", "application/json;q=0.5, text/csv"]  # fmt: skip

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**30), 10**30))
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)
csv_cells = st.one_of(
    numbers.map(str), st.text(alphabet='0123456789.,-+eE"\n\r abcx\t', max_size=12)
)
csv_bodies = st.lists(st.lists(csv_cells, min_size=0, max_size=9), max_size=6).map(
    lambda rows: "\n".join(",".join(r) for r in rows)
)
structured = st.one_of(
    json_values.map(json.dumps),
    st.lists(json_values, max_size=5).map(lambda items: "\n".join(json.dumps(i) for i in items)),
    st.lists(st.lists(numbers, min_size=6, max_size=6), min_size=1, max_size=4).map(
        lambda rows: json.dumps({"instances": rows})
    ),
    st.lists(
        st.dictionaries(st.sampled_from([f"x{i}" for i in range(7)]), numbers), max_size=3
    ).map(lambda recs: json.dumps({"dataframe_records": recs})),
)
bodies = st.one_of(csv_bodies.map(str.encode), structured.map(str.encode), st.binary(max_size=200))


@pytest.fixture(scope="module")
def fuzz_url(served):
    url = create_endpoint("fuzz", [production_variant(served["xgb"])], workspace=served["ws"])[
        "Url"
    ]
    yield url
    wb.delete_endpoint("fuzz", workspace=served["ws"])


@settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES), accept=st.sampled_from(ACCEPTS))
def test_fuzzed_invocations_never_get_a_5xx(fuzz_url, body, content_type, accept):
    headers = {"Content-Type": content_type, "Accept": accept}
    status, out, data = request(
        fuzz_url, "/invocations", body, {k: v for k, v in headers.items() if v}
    )
    assert status < 500, (status, data[:300])
    if status >= 400:
        assert json.loads(data)["error"]  # every refusal says why


def test_fuzzing_left_the_endpoint_healthy(fuzz_url, served):
    assert request(fuzz_url, "/ping", method="GET")[0] == 200
    assert invoke(fuzz_url, csv_rows(served["frame"], 2))[0] == 200
    stats = wb.describe_endpoint("fuzz", workspace=served["ws"])["Stats"]
    if stats:
        assert stats["variants"]["AllTraffic"]["errors_5xx"] == 0


async def _connection(port: int, body: bytes, deadline: float) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    ok = failed = 0
    while time.monotonic() < deadline:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )  # fmt: skip
        await reader.readexactly(length)
        if head.startswith(b"HTTP/1.1 200"):
            ok += 1
        else:
            failed += 1
    writer.close()
    return ok, failed


@pytest.mark.slow
def test_thirty_seconds_at_16_connections_without_an_error(served):
    url = create_endpoint(
        "load",
        [production_variant(served["xgb"], initial_instance_count=2)],
        workspace=served["ws"],
    )["Url"]
    port = int(url.rsplit(":", 1)[1])
    body = csv_rows(served["frame"], 1).encode()

    async def run():
        deadline = time.monotonic() + 30
        return await asyncio.gather(*(_connection(port, body, deadline) for _ in range(16)))

    results = asyncio.run(run())
    ok, failed = sum(r[0] for r in results), sum(r[1] for r in results)
    wb.delete_endpoint("load", workspace=served["ws"])
    assert failed == 0 and ok > 1000
