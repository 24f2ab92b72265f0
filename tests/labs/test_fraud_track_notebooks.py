"""The fraud track's labs follow the lab conventions (read statically: nothing is executed).

The workshop's lab conventions: a first markdown cell with the title, a
``*Day N · about M minutes · track: ...*`` line and a ``## Learning goals`` list; a
``parameters`` cell; exercises with a hidden ``solution`` cell and a ``self-check`` cell;
the ``workbench`` kernel and ``workbench`` metadata (tracks, needs); no outputs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from workbench.labs import list_labs

TRACKS = {"fraud", "maintenance", "recommendation", "forecasting", "topics", "images"}
SOLUTION_FIRST_LINE = "# Solution (hidden in JupyterLab: click the dots to expand)"
# lab name -> (tracks, needs) expected in the notebook's "workbench" metadata
FRAUD_LABS = {
    "day1/01_intro_fraud": (["fraud"], []),
    "day1/02_labelling": (sorted(TRACKS), []),
    "day2/01_features_evaluation": (["maintenance", "fraud"], []),
    "day2/02_tuning": (["fraud"], []),
    "day3/01_moving_to_production": (["fraud"], ["day2/02_tuning"]),
}


def _labs() -> dict[str, Path]:
    return {lab.name: lab.path for lab in list_labs()}


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(_labs()[name], as_version=4)


def _code(cell: nbformat.NotebookNode) -> ast.Module:
    """The cell's source as Python (IPython magics and shell lines blanked)."""
    lines = [
        "" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()
    ]
    return ast.parse("\n".join(lines))


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.metadata.get("tags", []))


def _has_assert(cell: nbformat.NotebookNode) -> bool:
    return any(isinstance(node, ast.Assert) for node in ast.walk(_code(cell)))


@pytest.fixture(params=sorted(FRAUD_LABS), ids=lambda name: name.replace("/", "-"))
def lab(request: pytest.FixtureRequest) -> tuple[str, nbformat.NotebookNode]:
    return request.param, _read(request.param)


def test_the_fraud_labs_exist():
    assert set(FRAUD_LABS) <= set(_labs()), sorted(set(FRAUD_LABS) - set(_labs()))


def test_first_cell_has_title_day_line_and_learning_goals(lab):
    name, nb = lab
    first = nb.cells[0]
    assert first.cell_type == "markdown", name
    lines = first.source.splitlines()
    assert lines[0].startswith("# "), f"{name}: the first line is the title"
    day_lines = [line for line in lines if line.startswith("*Day ")]
    assert len(day_lines) == 1, f"{name}: one '*Day N · about M minutes · track: ...*' line"
    match = re.fullmatch(r"\*Day (\d) · about (\d+) minutes · track: ([a-z, ]+)\*", day_lines[0])
    assert match, f"{name}: malformed day line {day_lines[0]!r}"
    assert name.startswith(f"day{match.group(1)}/"), (name, day_lines[0])
    assert 10 <= int(match.group(2)) <= 180, day_lines[0]
    line_tracks = {t.strip() for t in match.group(3).split(",")}
    assert line_tracks == set(nb.metadata["workbench"]["tracks"]), (name, line_tracks)
    assert "## Learning goals" in lines, f"{name}: no '## Learning goals' heading"
    after = lines[lines.index("## Learning goals") + 1 :]
    bullets = []
    for line in after:
        if line.startswith("#"):
            break
        if line.startswith(("* ", "- ")):
            bullets.append(line)
    assert 3 <= len(bullets) <= 6, f"{name}: {len(bullets)} learning goals, expected 3 to 6"


def test_parameters_cell_comes_second_with_the_common_parameters(lab):
    name, nb = lab
    cell = nb.cells[1]
    assert cell.cell_type == "code" and _tags(cell) == ["parameters"], name
    assigned = {
        target.id
        for node in _code(cell).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert {"RUN_DIR", "SEED", "FAST", "INTERACTIVE"} <= assigned, (name, assigned)
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in _code(cell).body
        if isinstance(node, ast.Assign)
    }
    assert values["SEED"] == 0 and values["FAST"] is True and values["INTERACTIVE"] is False
    assert values["RUN_DIR"] == "runs/" + name.split("/")[0], values["RUN_DIR"]
    assert sum("parameters" in _tags(c) for c in nb.cells) == 1, name


def test_exercises_have_a_hidden_solution_then_a_self_check(lab):
    name, nb = lab
    cells = nb.cells
    exercises = [
        i
        for i, c in enumerate(cells)
        if c.cell_type == "markdown" and c.source.startswith("### Exercise ")
    ]
    assert 1 <= len(exercises) <= 3, f"{name}: {len(exercises)} exercises, expected 1 to 3"
    numbers = [
        int(re.match(r"### Exercise (\d+): \S", cells[i].source).group(1)) for i in exercises
    ]
    assert numbers == list(range(1, len(exercises) + 1)), (name, numbers)
    for i in exercises:
        solution = cells[i + 1]
        assert solution.cell_type == "code" and "solution" in _tags(solution), (name, i)
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, (name, i)
        assert solution.source.splitlines()[0] == SOLUTION_FIRST_LINE, (name, i)
        check = cells[i + 2]
        assert check.cell_type == "code" and "self-check" in _tags(check), (name, i)
        assert _has_assert(check), f"{name}: the self-check after exercise cell {i} asserts nothing"
    solutions = [c for c in cells if "solution" in _tags(c)]
    assert len(solutions) == len(exercises), f"{name}: a solution cell without an exercise"


def test_at_least_two_self_checks_that_assert(lab):
    name, nb = lab
    checks = [c for c in nb.cells if "self-check" in _tags(c)]
    assert len(checks) >= 2, f"{name}: {len(checks)} self-check cells"
    for cell in checks:
        assert cell.cell_type == "code" and _has_assert(cell), (name, cell.source[:80])


def test_metadata_kernel_tracks_and_needs(lab):
    name, nb = lab
    assert nb.metadata["kernelspec"] == {
        "name": "workbench",
        "display_name": "Python (workbench)",
        "language": "python",
    }, name
    meta = nb.metadata["workbench"]
    tracks, needs = FRAUD_LABS[name]
    assert sorted(meta["tracks"]) == sorted(tracks) and set(meta["tracks"]) <= TRACKS, meta
    assert meta["needs"] == needs, meta
    assert set(meta["needs"]) <= set(_labs()), f"{name} needs labs that do not exist: {meta}"


def test_saved_without_outputs_and_every_code_cell_parses(lab):
    name, nb = lab
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs in cell {i}"
        try:
            _code(cell)
        except SyntaxError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{name}: cell {i} does not parse: {exc}")


def test_last_code_cell_writes_the_results_json(lab):
    name, nb = lab
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    stem = name.split("/")[1]
    assert f'"{stem}.json"' in last.source and "json.dump" in last.source, name
    assert "os.makedirs(RUN_DIR, exist_ok=True)" in "".join(c.source for c in nb.cells[2:4])


def test_day3_deploys_the_model_day2_tuning_trained():
    def code_of(name: str) -> str:
        return "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")

    tuning, production = code_of("day2/02_tuning"), code_of("day3/01_moving_to_production")
    for base in ("fraud-xgboost", "fraud-baseline"):
        assert f'base_job_name="{base}"' in tuning, base
        assert f'latest_training_job("{base}")' in production, base
    assert ".fit(" not in production, "Day 3 serves Day 2's models; it trains none of its own"
