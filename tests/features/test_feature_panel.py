"""FeaturePanel, headless: widgets are driven from Python, assertions are on ``state``."""

from __future__ import annotations

import json

import pytest

import workbench as wb
from workbench._ui import error_html
from workbench.exceptions import ValidationError
from workbench.features._panel import FeaturePanel
from workbench.features._recipe import Recipe

PNG = b"\x89PNG"
RED = "#c62828"
TARGET = "failure_within_7d"
SENSORS = ["temperature", "vibration", "pressure", "rpm", "torque", "tool_wear_min"]


@pytest.fixture(scope="module")
def machines():
    return wb.datasets.load("maintenance", size="small", seed=0)


@pytest.fixture
def panel(workspace, machines) -> FeaturePanel:
    return FeaturePanel(machines, target=TARGET, workspace=workspace, poll_interval=0.1)


def _full_recipe() -> Recipe:
    return (
        Recipe(target=TARGET, name="maintenance")
        .add("drop", columns=["machine_id"])
        .add("date_parts", columns=["timestamp"], parts=["month", "dayofweek"])
        .add("one_hot", columns=["machine_type"])
        .add("impute", columns=SENSORS, strategy="median")
        .add("scale", columns=SENSORS)
    )


def test_profile_section_is_filled(panel, machines):
    assert panel.warnings_table.value  # a table, or "No warnings."
    assert "<table" in panel.columns_table.value and "tool_wear_min" in panel.columns_table.value
    assert panel.distributions.value[:4] == PNG
    assert panel.state.error is None
    assert TARGET not in panel.columns.options and len(panel.columns.options) == 10
    # split column defaults come from the profile's column kinds
    assert panel.time_column.value == "timestamp" and panel.group_column.value == "machine_id"
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()


def test_add_remove_and_move_steps_change_the_recipe_in_order(panel):
    panel.add_step("drop", columns=["machine_id"])
    panel.add_step("one_hot", columns=["machine_type"])
    panel.add_step("scale", columns=["rpm"], method="robust")
    assert [s["op"] for s in panel.recipe.steps] == ["drop", "one_hot", "scale"]
    assert panel.state.n_steps == 3 and panel.state.error is None
    assert panel.steps.value == 2 and panel.steps.options[2][0].startswith("2. scale")
    assert panel.state.issue and "timestamp" in panel.state.issue  # not encoded yet

    panel.move_step(2, -1)
    assert [s["op"] for s in panel.recipe.steps] == ["drop", "scale", "one_hot"]
    assert panel.steps.value == 1
    panel.steps.value = 0
    panel.down_button.click()
    assert [s["op"] for s in panel.recipe.steps] == ["scale", "drop", "one_hot"]
    panel.remove_step(1)
    assert panel.recipe.steps == [
        {"op": "scale", "columns": ["rpm"], "method": "robust"},
        {"op": "one_hot", "columns": ["machine_type"]},
    ]
    panel.steps.value = 0
    panel.remove_button.click()
    assert [s["op"] for s in panel.recipe.steps] == ["one_hot"]

    before = panel.recipe
    assert panel.move_step(0, -1) is None and panel.recipe == before
    assert "delta" in panel.state.error
    assert error_html(panel.state.error) in panel.recipe_status.value
    assert panel.remove_step(5) is None and "index" in panel.state.error


BAD_STEPS = [
    ("scale", {"columns": ["no_such_column"]}, "steps[1].columns"),
    ("scale", {"columns": ["machine_type"]}, "steps[1].columns"),  # a string column
    ("impute", {"columns": ["rpm"], "strategy": "avg"}, "steps[1].strategy"),
    ("tfidf", {"columns": ["machine_type"]}, "steps[1].columns"),  # tfidf takes "column"
]


def test_a_bad_step_shows_an_error_and_leaves_the_recipe_unchanged(panel):
    panel.add_step("drop", columns=["machine_id"])
    before = panel.recipe
    for op, params, field in BAD_STEPS:
        assert panel.add_step(op, **params) is None
        assert panel.recipe is before and panel.state.n_steps == 1
        assert panel.state.error.startswith(field)
        assert error_html(panel.state.error) in panel.recipe_status.value
        assert len(panel.steps.options) == 1
    panel.add_step("one_hot", columns=["machine_type"])  # the next good step clears it
    assert panel.state.error is None and RED not in panel.recipe_status.value


def test_the_add_form_follows_the_op_and_works_like_add_step(panel):
    panel.op.value = "bin"
    assert {n: w.value for n, w in panel.params.items()} == {
        "n_bins": "5",
        "strategy": "quantile",
        "encode": "ordinal",
    }
    panel.columns.value = ("rpm", "torque")
    panel.params["n_bins"].value = "4"
    panel.add_button.click()
    expected = Recipe(target=TARGET).add("bin", columns=["rpm", "torque"], n_bins=4)
    assert panel.recipe == expected  # unchanged defaults stay implicit, as in add_step

    panel.op.value = "date_parts"
    assert list(panel.params) == ["parts"] and not panel.columns.disabled
    panel.columns.value = ("timestamp",)
    panel.params["parts"].value = '["month", "is_weekend"]'
    panel.add_button.click()
    assert panel.recipe.steps[-1] == {
        "op": "date_parts",
        "columns": ["timestamp"],
        "parts": ["month", "is_weekend"],
    }

    panel.op.value = "rename"
    assert panel.columns.disabled and list(panel.params) == ["mapping"]
    panel.op.value = "scale"
    panel.columns.value = ("machine_type",)
    panel.add_button.click()
    assert panel.state.n_steps == 2 and "steps[2].columns" in panel.state.error


def test_preview_fits_on_the_seeded_sample(workspace, machines):
    panel = FeaturePanel(machines, target=TARGET, workspace=workspace, recipe=_full_recipe())
    assert len(panel.sample) == 1000 and panel.sample.index.is_monotonic_increasing
    assert panel.state.issue is None and "fits the data" in panel.recipe_status.value
    assert Recipe.from_dict(json.loads(panel.recipe_json.value)) == _full_recipe()
    with pytest.raises(ValidationError, match="target"):
        FeaturePanel(machines, target="rpm", recipe=_full_recipe(), workspace=workspace)
    out = panel.preview()
    expected = _full_recipe().fit(panel.sample).transform(panel.sample)
    assert out.equals(expected)
    assert panel.state.preview_shape == expected.shape == (1000, 12)
    assert panel.preview_table.value.count("</tr>") == 11  # header + 10 rows
    assert "12 output columns" in panel.preview_status.value


def test_preview_shows_errors_in_red(workspace, machines):
    broken = _full_recipe().add("log", columns=["no_such_column"])  # add checks no data
    panel = FeaturePanel(machines, workspace=workspace, recipe=broken, sample_rows=100)
    assert panel.recipe.target == TARGET and len(panel.sample) == 100
    assert panel.state.issue.startswith("steps[5].columns")
    assert panel.preview() is None
    assert panel.state.preview_shape is None and "no_such_column" in panel.state.error
    assert panel.preview_status.value == error_html(panel.state.error)
    assert panel.preview_table.value == ""


def test_json_export_and_load_round_trip(panel):
    panel.add_step("drop", columns=["machine_id"])
    panel.add_step("impute", columns=["rpm"], strategy="median")
    text = panel.export_json()
    assert panel.recipe_json.value == text and json.loads(text)["steps"][1]["strategy"] == "median"

    edited = json.loads(text)
    edited["steps"].reverse()
    panel.recipe_json.value = json.dumps(edited)
    panel.load_button.click()
    assert [s["op"] for s in panel.recipe.steps] == ["impute", "drop"]
    assert panel.recipe.target == TARGET and panel.state.error is None
    assert panel.load_json(text) == Recipe.from_dict(json.loads(text))

    before = panel.recipe
    bad_step = '{"steps": [{"op": "scale", "columns": ["rpm"], "methd": "robust"}]}'
    assert panel.load_json(bad_step) is None and panel.recipe is before
    assert panel.state.error.startswith("steps[0].methd")
    assert panel.load_json('{"steps": [], "owner": "me"}') is None
    assert panel.state.error.startswith("owner")
    assert panel.load_json('{"steps": [\n') is None
    assert "line 2" in panel.state.error
    assert error_html(panel.state.error) in panel.recipe_status.value


def test_run_starts_a_processing_job_that_completes(workspace, machines):
    panel = FeaturePanel(
        machines, target=TARGET, workspace=workspace, recipe=_full_recipe(), poll_interval=0.1
    )
    panel.split_method.value = "group"
    assert panel.group_column.value == "machine_id" and not panel.group_column.disabled
    job = panel.run()
    assert job is panel.job and panel.state.job_name == job.name
    panel.job.wait(logs=False)
    state = panel.refresh()
    assert state.status == "Completed" and state.error is None
    assert set(state.output_sizes) == {"train", "validation", "test"}
    assert sum(rows for rows, _ in state.output_sizes.values()) == len(machines)
    assert state.output_sizes["test"] == job.read("test").shape
    assert "Completed" in panel.status.value and "train:" in panel.status.value
    assert not panel.run_button.disabled
    assert job.describe()["Split"]["group_column"] == "machine_id"


def test_a_time_split_on_a_non_date_column_starts_no_job(panel, workspace):
    panel.add_step("drop", columns=["machine_id", "timestamp", "machine_type"])
    assert panel.time_column.disabled
    panel.split_method.value = "time"
    assert not panel.time_column.disabled and panel.group_column.disabled
    panel.time_column.value = "temperature"
    panel.run_button.click()
    assert panel.job is None and panel.state.job_name is None
    assert panel.state.error.startswith("time_column")
    assert error_html(panel.state.error) in panel.status.value
    assert not panel.run_button.disabled
    assert workspace.catalog.list("processing-job") == []
