"""The sample-project tracks' labs: where they are, and how Day 3 builds on Day 2.

(Read statically: nothing runs. The conventions every lab follows are checked in
test_conventions.py.)

Each track has a Day 2 lab (``day2/0N_<key>_model``: build and evaluate the model) and a
Day 3 lab (``day3/0N_<key>_in_production``: deploy, monitor, architecture, present) that
finds the Day 2 model by its training job's base name.
"""

from __future__ import annotations

import nbformat
import pytest

from workbench.labs import labs_dir

from ._notebooks import all_code, lab_paths, read
from ._project import TRACKS, track_labs

# track key -> the base job names its Day 2 lab trains (the first is the one Day 3 serves)
BASE_JOBS = {
    "maintenance": ["maintenance-rcf"],
    "recommendation": ["recommendation-fm"],
    "forecasting": ["forecasting-deepar"],
    "topics": ["topics-ntm", "topics-lda"],
    "images": ["images-ic"],
}
LABS = {name: key for key in TRACKS for name in track_labs(key)}


@pytest.fixture(params=sorted(LABS), ids=lambda name: name.replace("/", "-"))
def lab(request: pytest.FixtureRequest) -> tuple[str, nbformat.NotebookNode]:
    return request.param, read(request.param)


def test_every_track_has_its_two_labs_in_their_folders():
    labs = lab_paths()
    missing = sorted(set(LABS) - set(labs))
    assert not missing, f"missing labs: {missing}"
    for name in LABS:
        assert labs[name].parent.name == (
            "day2_projects" if name.startswith("day2/") else "day3_projects"
        )
    assert not (labs_dir() / "projects_algorithms").exists(), "the old project notebooks are gone"


def test_metadata_tracks_and_needs(lab):
    name, nb = lab
    key = LABS[name]
    day2, _ = track_labs(key)
    expected_needs = [] if name == day2 else [day2]
    assert nb.metadata["workbench"] == {"tracks": [key], "needs": expected_needs}, name


@pytest.mark.parametrize("key", sorted(TRACKS))
def test_day3_serves_the_model_day2_trained_by_name(key):
    day2_name, day3_name = track_labs(key)
    day2, day3 = all_code(read(day2_name)), all_code(read(day3_name))
    for base in BASE_JOBS[key]:
        assert f'base_job_name="{base}"' in day2, (day2_name, base)
    assert "wb.training.warm_up()" in day2
    assert f'latest_training_job("{BASE_JOBS[key][0]}")' in day3, day3_name
    assert "wb.Estimator(" not in day3, "Day 3 serves Day 2's model; it trains none of its own"
    assert "_model.json" not in day3, "Day 3 must not read Day 2's results from the run folder"
    assert "deploy" not in day2, "Day 2 stops before deploying"


@pytest.mark.parametrize("key", sorted(TRACKS))
def test_day3_has_production_steps_architecture_and_presentation(key):
    name = track_labs(key)[1]
    nb = read(name)
    code, markdown = (
        all_code(nb),
        "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"),
    )
    for needed in ("DataCaptureConfig(sampling_percentage=100)", "Transformer(", "read_captured",
                   "np.percentile(latencies_ms", f'"{key}_presentation.md"', "finally:",
                   "delete_lab_endpoints()", "endpoints_left == []"):  # fmt: skip
        assert needed in code, f"{name}: no {needed!r}"
    assert "```mermaid" in markdown and "flowchart" in markdown, f"{name}: no mermaid diagram"
    architecture = markdown[markdown.index("```mermaid") :]
    for service in (
        "SageMaker Training",
        "endpoint",
        "Batch Transform",
        "Model Monitor",
        "Retraining",
    ):
        assert service in architecture, f"{name}: the architecture does not name {service!r}"
    for choice in ("**Latency:**", "**Cost:**", "**Failure handling:**"):
        assert choice in architecture, f"{name}: no non-functional choice {choice}"
