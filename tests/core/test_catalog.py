import multiprocessing
import threading

import pytest

from workbench.core import Catalog
from workbench.exceptions import ResourceInUse, ResourceNotFound


@pytest.fixture
def catalog(tmp_path):
    return Catalog(tmp_path / "catalog.db")


def test_create_and_get_round_trip_json_fields(catalog):
    catalog.create("training-job", "a", status="InProgress", parameters={"eta": 0.1})
    rec = catalog.get("training-job", "a")
    assert rec["status"] == "InProgress"
    assert rec["parameters"] == {"eta": 0.1}
    assert rec["metrics"] == {} and rec["artifacts"] == {}
    assert rec["created_at"].endswith("+00:00")


def test_duplicate_name_is_refused(catalog):
    catalog.create("training-job", "a", status="InProgress")
    with pytest.raises(ResourceInUse, match="already exists"):
        catalog.create("training-job", "a", status="InProgress")
    # Same name, other kind: allowed.
    catalog.create("model", "a", status="Created")


def test_missing_object_error_lists_known_names(catalog):
    catalog.create("training-job", "known-job", status="Completed")
    with pytest.raises(ResourceNotFound, match="known-job"):
        catalog.get("training-job", "nope")


def test_update_merges_json_and_records_status_events(catalog):
    catalog.create("training-job", "a", status="InProgress", extra={"x": 1})
    catalog.update("training-job", "a", metrics={"m": 1.0}, extra={"y": 2})
    rec = catalog.update("training-job", "a", status="Completed", metrics={"n": 2.0})
    assert rec["extra"] == {"x": 1, "y": 2}
    assert rec["metrics"] == {"m": 1.0, "n": 2.0}
    assert [e["status"] for e in catalog.events("training-job", "a")] == [
        "InProgress",
        "Completed",
    ]


def test_update_with_expected_status_is_compare_and_set(catalog):
    catalog.create("training-job", "a", status="Completed")
    assert (
        catalog.update("training-job", "a", status="Failed", expected_status=["InProgress"]) is None
    )
    assert catalog.get("training-job", "a")["status"] == "Completed"


def test_failure_reason_is_cut_to_1024_characters(catalog):
    catalog.create("training-job", "a", status="InProgress")
    rec = catalog.update("training-job", "a", status="Failed", failure_reason="x" * 5000)
    assert len(rec["failure_reason"]) == 1024


def test_list_is_newest_first_and_filters_status(catalog):
    for name in ("a", "b", "c"):
        catalog.create("training-job", name, status="Completed" if name != "b" else "Failed")
    assert [r["name"] for r in catalog.list("training-job")] == ["c", "b", "a"]
    assert [r["name"] for r in catalog.list("training-job", status="Failed")] == ["b"]


def test_metric_values_and_lineage(catalog):
    catalog.create("training-job", "a", status="InProgress")
    catalog.add_metric_values("training-job", "a", [("validation:auc", 0, 0.8, 1.0)])
    catalog.add_metric_values("training-job", "a", [("validation:auc", 1, 0.9, 2.0)])
    values = catalog.metric_values("training-job", "a")
    assert [v["value"] for v in values] == [0.8, 0.9]
    catalog.add_lineage(("data", "sha256:abc"), ("training-job", "a"), "channel:train")
    catalog.add_lineage(("training-job", "a"), ("model", "a"), "produced")
    lineage = catalog.lineage("training-job", "a")
    assert lineage["upstream"] == [
        {"kind": "data", "name": "sha256:abc", "relation": "channel:train"}
    ]
    assert lineage["downstream"][0]["kind"] == "model"


def test_unique_names_from_many_threads_are_distinct(catalog):
    names: list[str] = []

    def worker():
        for _ in range(10):
            names.append(catalog.create_unique("training-job", "job", status="InProgress")["name"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(names) == 40 == len(set(names))
    assert len(catalog.list("training-job")) == 40


def _create_many(path: str, n: int) -> None:
    cat = Catalog(path)
    for i in range(n):
        rec = cat.create_unique("training-job", "proc", status="InProgress")
        cat.update("training-job", rec["name"], status="Completed", metrics={"i": i})


def test_concurrent_writer_processes_keep_the_catalogue_consistent(tmp_path):
    path = str(tmp_path / "catalog.db")
    Catalog(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_create_many, args=(path, 15)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    rows = Catalog(path).list("training-job")
    assert len(rows) == 60 == len({r["name"] for r in rows})
    assert all(r["status"] == "Completed" for r in rows)


def test_generated_names_follow_sagemaker_rules(catalog):
    rec = catalog.create_unique("training-job", "x" * 80, status="InProgress")
    assert len(rec["name"]) <= 63
    assert rec["name"][0].isalnum()
