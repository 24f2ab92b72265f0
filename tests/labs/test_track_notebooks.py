"""The sample-project tracks' labs follow the lab conventions (read statically: nothing runs).

Each track has a Day 2 lab (``day2/0N_<key>_model``: build and evaluate the model) and a
Day 3 lab (``day3/0N_<key>_in_production``: deploy, monitor, architecture, present) that
finds the Day 2 model by its training job's base name.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from workbench.labs import labs_dir, list_labs

from ._project import TRACKS, track_labs

SOLUTION_FIRST_LINE = "# Solution (hidden in JupyterLab: click the dots to expand)"
# track key -> the base job names its Day 2 lab trains (the first is the one Day 3 serves)
BASE_JOBS = {
    "maintenance": ["maintenance-rcf"],
    "recommendation": ["recommendation-fm"],
    "forecasting": ["forecasting-deepar"],
    "topics": ["topics-ntm", "topics-lda"],
    "images": ["images-ic"],
}
LABS = {name: key for key in TRACKS for name in track_labs(key)}


def _labs() -> dict[str, Path]:
    return {lab.name: lab.path for lab in list_labs()}


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(_labs()[name], as_version=4)


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.metadata.get("tags", []))


def _code(cell: nbformat.NotebookNode) -> ast.Module:
    """The cell's source as Python (IPython magics and shell lines blanked)."""
    lines = [
        "" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()
    ]
    return ast.parse("\n".join(lines))


def _asserts(cell: nbformat.NotebookNode) -> bool:
    return any(isinstance(node, ast.Assert) for node in ast.walk(_code(cell)))


def _all_code(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.fixture(params=sorted(LABS), ids=lambda name: name.replace("/", "-"))
def lab(request: pytest.FixtureRequest) -> tuple[str, nbformat.NotebookNode]:
    return request.param, _read(request.param)


def test_every_track_has_its_two_labs_in_their_folders():
    labs = _labs()
    missing = sorted(set(LABS) - set(labs))
    assert not missing, f"missing labs: {missing}"
    for name in LABS:
        assert labs[name].parent.name == (
            "day2_projects" if name.startswith("day2/") else "day3_projects"
        )
    assert not (labs_dir() / "projects_algorithms").exists(), "the old project notebooks are gone"


def test_notebook_stems_are_unique_across_all_labs():
    paths = {lab.path for lab in list_labs()}  # a matrix lab is listed once per value
    stems = Counter(path.stem for path in paths)
    assert [s for s, n in stems.items() if n > 1] == [], stems


def test_first_cell_has_title_day_line_and_learning_goals(lab):
    name, nb = lab
    first = nb.cells[0]
    assert first.cell_type == "markdown", name
    lines = first.source.splitlines()
    assert lines[0].startswith("# "), f"{name}: the first line is the title"
    day = name.split("/")[0][-1]
    day_lines = [line for line in lines if line.startswith("*Day ")]
    assert len(day_lines) == 1, f"{name}: one '*Day N · about M minutes · track: ...*' line"
    match = re.fullmatch(r"\*Day (\d) · about (\d+) minutes · track: ([a-z]+)\*", day_lines[0])
    assert match, f"{name}: malformed day line {day_lines[0]!r}"
    assert match.group(1) == day and 10 <= int(match.group(2)) <= 180, day_lines[0]
    assert match.group(3) == LABS[name], (name, day_lines[0])
    assert "## Learning goals" in lines, f"{name}: no '## Learning goals' heading"
    bullets = []
    for line in lines[lines.index("## Learning goals") + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith(("- ", "* ")):
            bullets.append(line)
    assert 3 <= len(bullets) <= 6, f"{name}: {len(bullets)} learning goals, expected 3 to 6"


def test_parameters_cell_comes_second_with_the_common_parameters(lab):
    name, nb = lab
    cell = nb.cells[1]
    assert cell.cell_type == "code" and _tags(cell) == ["parameters"], name
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in _code(cell).body
        if isinstance(node, ast.Assign)
    }
    assert values == {"RUN_DIR": "runs/" + name.split("/")[0], "SEED": 0, "FAST": True,
                      "INTERACTIVE": False}, (name, values)  # fmt: skip
    for line in cell.source.splitlines()[1:]:
        assert "#" in line, f"{name}: each parameter has a short comment: {line!r}"
    assert sum("parameters" in _tags(c) for c in nb.cells) == 1, name


def test_exercises_have_a_hidden_solution_then_a_self_check(lab):
    name, nb = lab
    cells = nb.cells
    exercises = [
        i
        for i, c in enumerate(cells)
        if c.cell_type == "markdown" and c.source.startswith("### Exercise ")
    ]
    assert len(exercises) >= 1, f"{name}: no exercise"
    numbers = [int(re.match(r"### Exercise (\d+): \S", cells[i].source)[1]) for i in exercises]
    assert numbers == list(range(1, len(exercises) + 1)), (name, numbers)
    for i in exercises:
        solution, check = cells[i + 1], cells[i + 2]
        assert solution.cell_type == "code" and _tags(solution) == ["solution"], (name, i)
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, (name, i)
        assert solution.source.splitlines()[0] == SOLUTION_FIRST_LINE, (name, i)
        assert check.cell_type == "code" and _tags(check) == ["self-check"], (name, i)
        assert _asserts(check), f"{name}: the self-check after exercise cell {i} asserts nothing"
    assert sum("solution" in _tags(c) for c in cells) == len(exercises), name


def test_at_least_two_self_checks_that_assert(lab):
    name, nb = lab
    checks = [c for c in nb.cells if "self-check" in _tags(c)]
    assert len(checks) >= 2, f"{name}: {len(checks)} self-check cells"
    for cell in checks:
        assert cell.cell_type == "code" and _asserts(cell), (name, cell.source[:80])


def test_metadata_kernel_tracks_and_needs(lab):
    name, nb = lab
    assert nb.metadata["kernelspec"] == {
        "name": "workbench",
        "display_name": "Python (workbench)",
        "language": "python",
    }, name
    key = LABS[name]
    day2, _ = track_labs(key)
    expected_needs = [] if name == day2 else [day2]
    assert nb.metadata["workbench"] == {"tracks": [key], "needs": expected_needs}, name


def test_saved_without_outputs_and_every_code_cell_parses(lab):
    name, nb = lab
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{name}: outputs in cell {i}"
            )
            _code(cell)  # a SyntaxError names the cell's source


def test_results_json_is_written_by_the_last_code_cell(lab):
    name, nb = lab
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    stem = name.split("/")[1]
    assert f'"{stem}.json"' in code_cells[-1].source and "json.dump" in code_cells[-1].source
    assert "os.makedirs(RUN_DIR, exist_ok=True)" in code_cells[1].source, name


@pytest.mark.parametrize("key", sorted(TRACKS))
def test_day3_serves_the_model_day2_trained_by_name(key):
    day2_name, day3_name = track_labs(key)
    day2, day3 = _all_code(_read(day2_name)), _all_code(_read(day3_name))
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
    nb = _read(name)
    code, markdown = (
        _all_code(nb),
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
