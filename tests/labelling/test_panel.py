"""LabelingPanel, headless (ipywidgets builds on a DummyComm): answers, keys, boxes, spans."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from workbench.labelling import AutoLabeling, LabelingJob, LabelingPanel, save_images

TEXTS = ["goal in extra time", "stocks fell", "new phone <b>out</b>", "match won",
         "bank rates up", "laptop deal"]  # fmt: skip
LABELS = ["sports", "finance", "tech"]
KEY = {"type": "keydown"}


def _job(ws, source, task_type="text-classification", labels=LABELS, annotators=("ana", "ben"),
         per_item=2, **kwargs) -> LabelingJob:  # fmt: skip
    return LabelingJob(source, task_type=task_type, labels=labels, annotators=list(annotators),
                       annotators_per_item=per_item, workspace=ws, **kwargs).start()  # fmt: skip


def _text_job(ws, **kwargs) -> LabelingJob:
    return _job(ws, pd.DataFrame({"text": TEXTS}), **kwargs)


def _image_job(ws, tmp_path, task_type, labels) -> LabelingJob:
    images = np.random.default_rng(0).integers(1, 256, (4, 8, 8), dtype=np.uint8)
    return _job(ws, str(save_images(images, tmp_path / "imgs")), task_type, labels, per_item=1)


def _answers(job, annotator="ana") -> dict:
    frame = job.answers()
    frame = frame[frame["annotator"] == annotator]
    return dict(zip(frame["item"], frame["answer"]))


def _png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def _mouse(kind: str, x: float, y: float, **extra) -> dict:
    return {"type": kind, "event": kind, "dataX": x, "dataY": y, **extra}


# -- single label ----------------------------------------------------------------------------
def test_open_shows_the_item_header_and_progress(workspace):
    job = _text_job(
        workspace, instructions="Pick the topic.", examples=[{"text": "x", "label": "tech"}]
    )
    panel = LabelingPanel(job.name, "ana", workspace=workspace)  # a name attaches the job
    s = panel.state
    assert (s.item, s.media, s.error, s.pending) == (0, "text", None, None)
    assert "goal in extra time" in panel.item_html.value and "item 0" in panel.item_html.value
    assert [b.description for b in panel.control.buttons] == [
        "1 · sports",
        "2 · finance",
        "3 · tech",
    ]
    assert panel.submit_button.layout.display == "none"  # a click on a label submits
    assert (s.answered_by_me, s.labeled, s.total, s.left_for_me) == (0, 0, 6, 6)
    assert panel.progress_text.value.startswith("answered by you: 0 · items labelled: 0 / 6")
    header = panel.widget.children[0].value
    assert job.name in header and "text-classification" in header and "ana" in header
    assert "Pick the topic." in panel.widget.children[1].children[0].value
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()
    panel.skip(), panel.skip()
    assert "&lt;b&gt;out&lt;/b&gt;" in panel.item_html.value  # texts are escaped


def test_label_button_and_number_key_save_answers_with_seconds(workspace):
    job = _text_job(workspace)
    panel = LabelingPanel(job, "ana")
    panel.control.buttons[1].click()
    assert panel.state.item == 1 and panel.state.error is None
    panel.keys._handle_mouse_msg(None, {**KEY, "event": "keydown", "key": "3"}, [])  # ipyevents
    answers = job.answers()
    assert _answers(job) == {0: "finance", 1: "tech"}
    assert (answers["seconds"] > 0).all()
    assert panel.state.item == 2 and "Saved your answer to item 1" in panel.state.message
    assert (panel.state.answered_by_me, panel.state.labeled, panel.state.left_for_me) == (2, 0, 4)
    panel.handle_key({**KEY, "key": "9"})  # no ninth label: nothing happens
    panel.handle_key({**KEY, "key": "x"})
    assert panel.state.item == 2 and panel.state.error is None


def test_skip_moves_on_and_the_item_never_comes_back(workspace):
    job = _text_job(workspace)
    panel = LabelingPanel(job, "ana")
    panel.handle_key({**KEY, "key": "ArrowRight"})
    assert panel.state.item == 1 and "Skipped item 0" in panel.state.message
    panel.skip()
    while panel.state.item is not None:
        panel.choose("sports")
    assert panel.state.shown == [0, 1, 2, 3, 4, 5]
    assert set(_answers(job)) == {2, 3, 4, 5}
    assert "Nothing left for ana right now" in panel.state.message
    assert panel.state.left_for_me == 0 and job.progress("ben")["remaining_for_me"] == 6
    assert panel.skip_button.disabled and panel.state.error is None


def test_undo_restores_the_item_with_its_answer(workspace):
    job = _text_job(workspace)
    panel = LabelingPanel(job, "ana")
    panel.choose("finance")
    assert panel.state.item == 1
    panel.handle_key({**KEY, "key": "u"})
    assert panel.state.item == 0 and panel.state.pending == "finance"
    assert panel.control.buttons[1].button_style == "info"
    assert _answers(job) == {} and "withdrawn" in panel.state.message
    panel.choose("sports")
    assert _answers(job) == {0: "sports"} and panel.state.item == 1
    panel.undo(), panel.undo()
    assert "Nothing to undo" in panel.state.message and panel.state.item == 0


def test_nothing_left_when_the_job_is_complete_or_waits_for_a_round(workspace):
    job = _text_job(workspace, per_item=1)
    panel = LabelingPanel(job, "ana")
    for _ in TEXTS:
        panel.handle_key({**KEY, "key": "1"})
    assert panel.state.item is None and job.status == "Completed"
    assert "Nothing left for ana" in panel.state.message and "complete" in panel.state.message
    assert (panel.state.labeled, panel.state.total, panel.progress_bar.value) == (6, 6, 6)

    auto = _text_job(workspace, per_item=1, auto_labeling=AutoLabeling(initial_count=2))
    panel = LabelingPanel(auto, "ana")
    panel.choose("tech"), panel.choose("tech")
    assert panel.state.item is None
    assert "waiting for the next automated-labelling round" in panel.state.message
    assert panel.refresh().item is None


def test_api_errors_show_in_the_status_line_and_never_raise(workspace):
    job = _text_job(workspace)
    panel = LabelingPanel(job, "zoe")
    assert panel.state.item is None and "zoe" in panel.state.error
    assert "color" in panel.status.value
    panel = LabelingPanel(job, "ana")
    panel.choose("weather")
    assert "weather" in panel.state.error and _answers(job) == {}
    panel.toggle("sports")
    assert "multi-label" in panel.state.error
    panel.submit()
    assert "a label" in panel.state.error and panel.state.item == 0
    panel.choose("tech")
    assert panel.state.error is None and _answers(job) == {0: "tech"}


def test_verification_shows_the_label_to_check(workspace):
    job = _text_job(workspace, per_item=1)
    panel = LabelingPanel(job, "ana")
    for _ in TEXTS:
        panel.choose("sports")
    issues = pd.DataFrame({"item": [3], "suggested_label": ["tech"]})
    check = LabelingPanel(job.create_verification_job(issues, annotators=["ben"]), "ben")
    assert "match won" in check.item_html.value
    assert "Label to check: <b>sports</b>" in check.context_html.value
    assert "suggests: <b>tech</b>" in check.context_html.value
    check.handle_key({**KEY, "key": "2"})
    assert check.state.item is None and check.job.answers()["answer"].tolist() == ["bad"]


# -- other answer forms ----------------------------------------------------------------------
def test_multilabel_toggles_and_enter(workspace):
    job = _text_job(workspace, task_type="text-classification-multilabel")
    panel = LabelingPanel(job, "ana")
    assert panel.state.pending == [] and panel.submit_button.layout.display != "none"
    panel.toggle("tech")
    panel.handle_key({**KEY, "key": "1"})
    assert panel.state.pending == ["sports", "tech"]
    panel.handle_key({**KEY, "key": "3"})
    assert panel.state.pending == ["sports"]
    panel.handle_key({**KEY, "key": "Enter"})
    assert _answers(job) == {0: ["sports"]} and panel.state.pending == []
    panel.undo()
    assert panel.state.item == 0 and panel.control.toggles["sports"].value
    panel.submit_button.click()
    assert _answers(job) == {0: ["sports"]} and panel.state.item == 1


def test_image_classification_scales_the_image(workspace, tmp_path):
    job = _image_job(workspace, tmp_path, "image-classification", ["even", "odd"])
    panel = LabelingPanel(job, "ana")
    assert panel.state.media == "image" and _png_size(panel.image.value) == (192, 192)
    panel.choose("odd")
    assert _answers(job) == {0: "odd"} and panel.state.item == 1
    assert _png_size(LabelingPanel(job, "ben", image_scale=4).image.value) == (32, 32)


def test_unreadable_image_is_failed_and_skipped(workspace, tmp_path):
    job = _image_job(workspace, tmp_path, "image-classification", ["even", "odd"])
    path = job.item(0).image_path
    path.write_bytes(path.read_bytes()[:45])  # the header reads, the pixels do not
    panel = LabelingPanel(job, "ana")
    assert panel.state.item == 1 and "Item 0 cannot be shown" in panel.state.message
    assert job.failures()["item"].tolist() == [0] and panel.state.total == 3


def test_drawing_boxes_with_the_mouse(workspace, tmp_path):
    job = _image_job(workspace, tmp_path, "object-detection", ["digit", "noise"])
    panel = LabelingPanel(job, "ana")
    plain = panel.image.value
    panel.handle_mouse(_mouse("mousedown", 24, 48))  # x24 scale: image pixel (1, 2)
    panel.control.events._handle_mouse_msg(None, _mouse("mouseup", 121, 143), [])  # ipyevents
    assert panel.state.pending == [{"label": "digit", "left": 1, "top": 2, "width": 4, "height": 4}]
    assert panel.image.value != plain and len(panel.control.rows.children) == 1
    panel.handle_key({**KEY, "key": "2"})  # the next box is "noise"
    rect = {"boundingRectWidth": 96, "boundingRectHeight": 96}  # shown at half size (CSS)
    panel.handle_mouse({"type": "mousedown", "relativeX": 48, "relativeY": 72, **rect})
    panel.handle_mouse({"type": "mouseup", "relativeX": 999, "relativeY": -50, **rect})  # clamped
    assert panel.state.pending[1] == {
        "label": "noise",
        "left": 4,
        "top": 0,
        "width": 4,
        "height": 6,
    }
    panel.handle_mouse(_mouse("mousedown", 50, 50))
    panel.handle_mouse(_mouse("mouseup", 51, 50))  # a click, not a box
    assert len(panel.state.pending) == 2 and "Drag" in panel.state.message
    panel.control.remove_last.click()
    panel.handle_key({**KEY, "key": "Enter"})
    assert _answers(job) == {0: [{"label": "digit", "left": 1, "top": 2, "width": 4, "height": 4}]}
    assert panel.state.item == 1 and panel.state.pending == []


def test_a_box_outside_the_image_is_an_error_not_an_exception(workspace, tmp_path):
    job = _image_job(workspace, tmp_path, "object-detection", ["digit", "noise"])
    panel = LabelingPanel(job, "ana")
    panel.add_box("digit", 6, 6, 5, 5)
    panel.submit()
    assert "inside the image" in panel.state.error and panel.state.item == 0
    panel.submit([{"label": "cat", "left": 0, "top": 0, "width": 1, "height": 1}])
    assert "cat" in panel.state.error and _answers(job) == {}
    panel.control.rows.children[0].children[0].click()  # remove the bad box
    panel.add_box("noise", 0, 0, 8, 8)
    panel.submit()
    assert panel.state.error is None and _answers(job)[0][0]["width"] == 8


def test_span_selection_uses_character_offsets(workspace):
    text = "Ana  Lopez flew to New York on Monday"
    frame = pd.DataFrame({"text": [text, "Ben stayed home"]})
    job = _job(workspace, frame, "named-entity-recognition", ["PER", "LOC", "DATE"], per_item=1)
    panel = LabelingPanel(job, "ana")
    panel.select_span(0, 1, "PER")
    selector = panel.control
    selector.buttons[4].click()
    selector.buttons[5].click()
    panel.handle_key({**KEY, "key": "2"})
    selector.add_button.click()
    selector.buttons[7].click()  # one token: a one-word span
    panel.choose("DATE")
    selector.add_button.click()
    spans = panel.state.pending
    assert [(text[s["start"] : s["end"]], s["label"]) for s in spans] == [
        ("Ana  Lopez", "PER"), ("New York", "LOC"), ("Monday", "DATE")]  # fmt: skip
    assert "<mark>New York</mark>" in panel.item_html.value
    panel.select_span(3, 99, "LOC")
    assert "token" in panel.state.error and len(panel.state.pending) == 3
    panel.handle_key({**KEY, "key": "Enter"})
    assert _answers(job)[0] == spans and panel.state.item == 1


def test_tabular_record_is_a_table(workspace):
    frame = pd.DataFrame({"age": [31, 47], "city": ["Oslo", "Lima"]})
    job = _job(workspace, frame, "tabular-classification", ["yes", "no"], per_item=1)
    panel = LabelingPanel(job, "ana")
    assert panel.state.media == "record"
    assert "<th" in panel.item_html.value and "Oslo" in panel.item_html.value
    panel.choose("no")
    assert _answers(job) == {0: "no"} and "Lima" in panel.item_html.value


def test_close_gives_the_item_back(workspace):
    job = _text_job(workspace, annotators=("ana", "ben", "cy"), per_item=1)
    panel = LabelingPanel(job, "ana")
    assert panel.state.item == 0 and job.next_task("cy").item == 1  # ana's claim holds
    panel.close()
    assert panel.state.item is None and "given back" in panel.state.message
    assert job.next_task("ben").item == 0
    panel.choose("sports")
    assert "closed" in panel.state.error and _answers(job, "ana") == {}
    panel.close()  # twice is fine


@pytest.mark.parametrize("scale", [0, -1, True, "2"])
def test_bad_image_scale(workspace, scale):
    with pytest.raises(ValueError, match="image_scale"):
        LabelingPanel(_text_job(workspace), "ana", image_scale=scale)
