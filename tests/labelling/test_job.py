"""LabelingJob: sources, bad input, Ground Truth output per task type, lineage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.exceptions import ResourceInUse, ValidationError
from workbench.labelling import LabelingJob, SimulatedAnnotator, save_images


def _images(tmp_path, n=4, side=8, name="imgs"):
    rng = np.random.default_rng(0)
    return save_images(rng.integers(0, 17, size=(n, side, side)).astype(np.uint8), tmp_path / name)


def test_manifest_bad_lines_are_reported_and_the_rest_goes_on(workspace, tmp_path):
    manifest = tmp_path / "in.manifest"
    manifest.write_text(
        '{"source": "the match was won"}\n'
        "this is not json\n"
        '{"note": "no source"}\n'
        "\n"
        '{"source": "bank rates rallied", "id": 7}\n'
        '{"source": "x", "source-ref": "y.txt"}\n'
    )
    job = LabelingJob(manifest, labels=["sports", "finance"], annotators=["ana"],
                      annotators_per_item=1, workspace=workspace).start()  # fmt: skip
    assert [i.record.get("source") for i in job.items] == [
        "the match was won",
        "bank rates rallied",
    ]
    failures = job.failures()
    assert failures["line"].tolist() == [2, 3, 6]
    assert "not JSON" in failures["reason"][0] and "source" in failures["reason"][1]
    assert job.label_counters()["FailedNonRetryableError"] == 3
    assert [i.line for i in job.items] == [1, 5]


def test_missing_and_unreadable_images_fail_their_item_only(workspace, tmp_path):
    manifest = _images(tmp_path, n=3)
    (tmp_path / "imgs" / "image-1.png").unlink()
    (tmp_path / "imgs" / "image-2.png").write_bytes(b"not a png")
    job = LabelingJob(manifest, task_type="image-classification", labels=[0, 1],
                      annotators=["ana"], annotators_per_item=1, workspace=workspace).start()  # fmt: skip
    assert "image not found" in job.failures()["reason"][0]
    task = job.next_task("ana")
    assert task.item == 0 and task.image_path.name == "image-0.png"
    job.submit("ana", 0, 1)
    assert job.next_task("ana") is None  # item 2 cannot be read: failed, not shown
    failures = job.failures()
    assert failures["item"].tolist() == [1, 2]
    assert "unreadable image" in failures["reason"][1]
    assert job.status == "Completed"


def test_bad_settings_are_refused_before_anything_is_written(workspace):
    frame = pd.DataFrame({"text": ["a", "b"], "id": [1, 2]})
    cases = [
        ({"task_type": "video"}, "task_type"),
        ({"labels": ["x"]}, "labels"),
        ({"labels": ["x", "x"]}, "labels"),
        ({"annotators_per_item": 4}, "annotators_per_item"),
        ({"annotators": ["ana", "ana"]}, "annotators"),
        ({"label_attribute_name": "lab-metadata"}, "label_attribute_name"),
        ({"label_attribute_name": "id"}, "label_attribute_name"),
        ({"name": "bad name"}, "name"),
        ({"task_type": "object-detection", "auto_labeling": wb.AutoLabeling()}, "auto_labeling"),
    ]
    for change, field in cases:
        kwargs = {"labels": ["x", "y"], "annotators": ["ana", "ben", "cy"], **change}
        with pytest.raises(ValidationError, match=field):
            LabelingJob(frame, workspace=workspace, **kwargs).start()
    assert wb.list_labeling_jobs(workspace).empty
    LabelingJob(frame, labels=["x", "y"], annotators=["a"], annotators_per_item=1,
                name="same", workspace=workspace).start()  # fmt: skip
    with pytest.raises(ResourceInUse):
        LabelingJob(frame, labels=["x", "y"], annotators=["a"], annotators_per_item=1,
                    name="same", workspace=workspace).start()  # fmt: skip


def test_single_label_output_is_ground_truths_augmented_manifest(workspace):
    frame = pd.DataFrame({"text": ["goal", "loan", "chef"], "id": [10, 11, 12]}, index=[5, 6, 7])
    labels = ["sports", "finance", "food"]
    job = LabelingJob(frame, labels=labels, annotators=["ana", "ben", "cy"], name="topics",
                      label_attribute_name="topic", workspace=workspace).start()  # fmt: skip
    truth = ["sports", "finance", "food"]
    job.run([SimulatedAnnotator(n, truth, 0.0, seed=i) for i, n in enumerate(["ana", "ben", "cy"])])
    out = job.output()
    assert out.index.tolist() == [5, 6, 7] and out["id"].tolist() == [10, 11, 12]
    assert out["topic"].tolist() == truth
    assert out["topic_human_annotated"].all()
    path = job.describe()["LabelingJobOutput"]["OutputDatasetS3Uri"]
    assert path.endswith("manifests/output/output.manifest")
    line = json.loads(open(path).readline())
    assert line["source"] == "goal" and line["topic"] == 0
    meta = line["topic-metadata"]
    assert meta["class-name"] == "sports" and meta["type"] == "groundtruth/text-classification"
    assert meta["job-name"] == "labeling-job/topics" and meta["human-annotated"] == "yes"
    assert 0.9 < meta["confidence"] <= 1.0
    assert meta["creation-date"][:4].isdigit() and "." in meta["creation-date"]  # microseconds
    workers = job.folder / "annotations" / "worker-response" / "worker-response.jsonl"
    assert len(workers.read_text().splitlines()) == 9


def test_one_annotator_gives_confidence_zero(workspace):
    job = LabelingJob(pd.DataFrame({"text": ["a"]}), labels=["x", "y"], annotators=["ana"],
                      annotators_per_item=1, workspace=workspace).start()  # fmt: skip
    job.submit("ana", 0, "y")
    line = json.loads(open(job.describe()["LabelingJobOutput"]["OutputDatasetS3Uri"]).readline())
    assert line["label"] == 1 and line["label-metadata"]["confidence"] == 0.0


def test_multilabel_output_has_class_and_confidence_maps(workspace):
    job = LabelingJob(pd.DataFrame({"text": ["sunny beach dinner"]}),
                      task_type="text-classification-multilabel", labels=["travel", "food", "tech"],
                      annotators=["a", "b", "c"], workspace=workspace).start()  # fmt: skip
    for name, answer in [("a", ["travel", "food"]), ("b", ["food", "travel"]), ("c", ["travel"])]:
        job.submit(name, 0, answer)
    line = json.loads(open(job.describe()["LabelingJobOutput"]["OutputDatasetS3Uri"]).readline())
    assert line["label"] == [0, 1]
    meta = line["label-metadata"]
    assert meta["class-map"] == {"0": "travel", "1": "food"}
    assert set(meta["confidence-map"]) == {"0", "1"}
    assert meta["type"] == "groundtruth/text-classification-multilabel"


def test_bounding_boxes_are_checked_consolidated_and_written(workspace, tmp_path):
    manifest = _images(tmp_path, n=1, side=20)
    job = LabelingJob(manifest, task_type="bounding-box", labels=["cat", "dog"],
                      annotators=["a", "b", "c"], workspace=workspace).start()  # fmt: skip
    with pytest.raises(ValidationError, match="item 0 answer.*inside the image of 20x20"):
        job.submit("a", 0, [{"label": "cat", "left": 15, "top": 2, "width": 10, "height": 5}])
    with pytest.raises(ValidationError, match=r"item 0 answer\[0\].label"):
        job.submit("a", 0, [{"label": "cow", "left": 1, "top": 2, "width": 3, "height": 5}])
    for name, dx in [("a", 0), ("b", 1), ("c", 0)]:
        job.submit(name, 0, [{"label": "dog", "left": 2 + dx, "top": 3, "width": 10, "height": 8}])
    assert job.answers().shape[0] == 3
    line = json.loads(open(job.describe()["LabelingJobOutput"]["OutputDatasetS3Uri"]).readline())
    value = line["label"]
    assert value["image_size"] == [{"width": 20, "height": 20, "depth": 1}]
    (box,) = value["annotations"]
    assert box["class_id"] == 1 and box["left"] in (2, 3) and box["width"] == 10
    meta = line["label-metadata"]
    assert meta["type"] == "groundtruth/object-detection" and len(meta["objects"]) == 1
    assert meta["class-map"] == {"0": "cat", "1": "dog"}


def test_entity_spans_follow_the_text_span_format(workspace):
    text = "Ana flew to Paris on Monday"
    job = LabelingJob(pd.DataFrame({"text": [text]}), task_type="ner",
                      labels=["person", "place"], annotators=["a", "b"],
                      annotators_per_item=2, workspace=workspace).start()  # fmt: skip
    with pytest.raises(ValidationError, match="end"):
        job.submit("a", 0, [{"start": 5, "end": 5, "label": "person"}])
    spans = [{"start": 0, "end": 3, "label": "person"}, {"start": 12, "end": 17, "label": "place"}]
    job.submit("a", 0, spans)
    job.submit("b", 0, spans)
    line = json.loads(open(job.describe()["LabelingJobOutput"]["OutputDatasetS3Uri"]).readline())
    entities = line["label"]["annotations"]["entities"]
    assert entities == [
        {"endOffset": 3, "startOffset": 0, "label": "person"},
        {"endOffset": 17, "startOffset": 12, "label": "place"},
    ]
    assert line["label-metadata"]["type"] == "groundtruth/text-span"
    assert [text[e["startOffset"] : e["endOffset"]] for e in entities] == ["Ana", "Paris"]


def test_folders_of_images_and_texts(workspace, tmp_path):
    _images(tmp_path, n=2)
    job = LabelingJob(tmp_path / "imgs", task_type="image-classification-multilabel",
                      labels=["round", "tall"], annotators=["a"], annotators_per_item=1,
                      workspace=workspace).start()  # fmt: skip
    assert len(job.items) == 2
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "one.txt").write_text("first text")
    (texts / "two.txt").write_text("second text")
    job = LabelingJob(texts, labels=["x", "y"], annotators=["a"], annotators_per_item=1,
                      workspace=workspace).start()  # fmt: skip
    assert [i.text for i in job.items] == ["first text", "second text"]


def test_tabular_job_output_is_a_training_channel_with_lineage(workspace):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"amount": rng.normal(size=60), "hour": rng.integers(0, 24, 60)})
    truth = ["fraud" if a > 0.5 else "ok" for a in frame["amount"]]
    job = LabelingJob(frame, task_type="tabular-classification", labels=["ok", "fraud"],
                      annotators=["a"], annotators_per_item=1, workspace=workspace).start()  # fmt: skip
    job.run([SimulatedAnnotator("a", truth, 0.0)])
    channel = job.training_input()
    assert channel.target == "label" and channel.origin == ("labeling-job", job.name)
    assert set(channel.data.columns) == {"amount", "hour", "label"}
    assert channel.data["label"].tolist() == [1 if t == "fraud" else 0 for t in truth]
    est = wb.Estimator(algorithm="xgboost", target="label", workspace=workspace,
                       hyperparameters={"objective": "binary:logistic", "num_round": 5})  # fmt: skip
    training = est.fit({"train": channel}, logs=False)
    upstream = workspace.catalog.lineage("training-job", training.name)["upstream"]
    assert {"kind": "labeling-job", "name": job.name, "relation": "channels"} in upstream


def test_attach_describe_and_list(workspace):
    job = LabelingJob(pd.DataFrame({"text": ["a", "b"]}), labels=["x", "y"],
                      annotators=["ana", "ben"], annotators_per_item=2, name="again",
                      instructions="Pick one.", workspace=workspace).start()  # fmt: skip
    job.submit("ana", 0, "x")
    other = LabelingJob.attach("again", workspace)
    assert other.labels == ["x", "y"] and other.annotators == ["ana", "ben"]
    assert other.next_task("ana").item == 1
    info = other.describe()
    assert info["LabelingJobStatus"] == "InProgress"
    assert info["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] == 2
    assert info["LabelCounters"]["Unlabeled"] == 2
    listed = wb.list_labeling_jobs(workspace)
    assert listed["name"].tolist() == ["again"] and listed["unlabeled"].tolist() == [2]


def test_int_labels_stay_ints_and_boxes_can_be_simulated(workspace, tmp_path):
    job = LabelingJob(pd.DataFrame({"text": ["one", "two"]}), labels=[1, 2], annotators=["a"],
                      annotators_per_item=1, workspace=workspace).start()  # fmt: skip
    job.run([SimulatedAnnotator("a", [1, 2], 0.0)])
    assert job.output()["label"].tolist() == [1, 2]
    line = json.loads(open(job.describe()["LabelingJobOutput"]["OutputDatasetS3Uri"]).readline())
    assert line["label-metadata"]["class-name"] == "1"
    boxes = LabelingJob(_images(tmp_path, n=2, side=20), task_type="object-detection",
                        labels=["digit"], annotators=["a", "b"], annotators_per_item=2,
                        workspace=workspace).start()  # fmt: skip
    truth = [[{"label": "digit", "left": 2, "top": 3, "width": 8, "height": 9}]] * 2
    boxes.run([SimulatedAnnotator(n, truth, 0.0, seed=i) for i, n in enumerate("ab")])
    assert boxes.status == "Completed"
    assert all(len(b) == 1 for b in boxes.output()["label"])
