"""Every lab follows the workshop's lab conventions (read statically: nothing is executed).

A first markdown cell with the title, a ``*Day N · about M minutes · track: ...*`` line and
a ``## Learning goals`` list; the ``parameters`` cell second; exercises each followed by a
hidden ``solution`` cell and a ``self-check`` cell; at least two self-checks; the
``workbench`` kernel and ``workbench`` metadata (tracks, needs); no outputs; the last code
cell writes the lab's results JSON.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

import nbformat
import pytest

from workbench.labs import PROJECTS, list_labs

from ._notebooks import SOLUTION_FIRST_LINE, asserts, code, lab_paths, read, tags


@pytest.fixture(params=sorted(lab_paths()), ids=lambda name: name.replace("/", "-"))
def lab(request: pytest.FixtureRequest) -> tuple[str, nbformat.NotebookNode]:
    return request.param, read(request.param)


def test_notebook_stems_are_unique_across_all_labs():
    stems = Counter(path.stem for path in lab_paths().values())
    assert [s for s, n in stems.items() if n > 1] == [], stems


def test_first_cell_has_title_day_line_and_learning_goals(lab):
    name, nb = lab
    first = nb.cells[0]
    assert first.cell_type == "markdown", name
    lines = first.source.splitlines()
    assert lines[0].startswith("# "), f"{name}: the first line is the title"
    day_lines = [line for line in lines if line.startswith("*Day ")]
    assert len(day_lines) == 1, f"{name}: one '*Day N · about M minutes · track: ...*' line"
    match = re.fullmatch(r"\*Day (\d) · about (\d+) minutes · track: (.+)\*", day_lines[0])
    assert match, f"{name}: malformed day line {day_lines[0]!r}"
    assert name.startswith(f"day{match[1]}/") and 10 <= int(match[2]) <= 180, day_lines[0]
    said = set(PROJECTS) if match[3].startswith("all projects") else set(match[3].split(", "))
    assert said == set(nb.metadata["workbench"]["tracks"]), (name, day_lines[0])
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
    assert cell.cell_type == "code" and tags(cell) == ["parameters"], name
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in code(cell).body
        if isinstance(node, ast.Assign)
    }
    common = {"RUN_DIR": "runs/" + name.split("/")[0], "SEED": 0, "FAST": True,
              "INTERACTIVE": False}  # fmt: skip
    assert {k: values.get(k) for k in common} == common, (name, values)
    assert set(values) - set(common) <= set(nb.metadata["workbench"].get("matrix", {})), values
    for line in cell.source.splitlines()[1:]:
        assert "#" in line, f"{name}: each parameter has a short comment: {line!r}"
    assert sum("parameters" in tags(c) for c in nb.cells) == 1, name


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
        assert solution.cell_type == "code" and tags(solution) == ["solution"], (name, i)
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, (name, i)
        assert solution.source.splitlines()[0] == SOLUTION_FIRST_LINE, (name, i)
        assert check.cell_type == "code" and tags(check) == ["self-check"], (name, i)
        assert asserts(check), f"{name}: the self-check after exercise cell {i} asserts nothing"
    assert sum("solution" in tags(c) for c in cells) == len(exercises), name


def test_at_least_two_self_checks_that_assert(lab):
    name, nb = lab
    checks = [c for c in nb.cells if "self-check" in tags(c)]
    assert len(checks) >= 2, f"{name}: {len(checks)} self-check cells"
    for cell in checks:
        assert cell.cell_type == "code" and asserts(cell), (name, cell.source[:80])


def test_kernel_and_workbench_metadata(lab):
    name, nb = lab
    assert nb.metadata["kernelspec"] == {
        "name": "workbench",
        "display_name": "Python (workbench)",
        "language": "python",
    }, name
    meta = nb.metadata["workbench"]
    assert meta["tracks"] and set(meta["tracks"]) <= set(PROJECTS), (name, meta)
    known = {lab.notebook for lab in list_labs()}
    assert set(meta["needs"]) <= known, f"{name} needs labs that do not exist: {meta}"


def test_saved_without_outputs_and_every_code_cell_parses(lab):
    name, nb = lab
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{name}: outputs in cell {i}"
            )
            code(cell)  # a SyntaxError names the cell's source


def test_results_json_is_written_by_the_last_code_cell(lab):
    name, nb = lab
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    stem = name.split("/")[1]
    assert f'"{stem}' in last.source and ".json" in last.source, name
    assert "json.dump" in last.source, name
