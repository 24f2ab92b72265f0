import dataclasses
import json
import re

import pytest

import workbench as wb
from workbench.exceptions import ValidationError
from workbench.labs import PROJECTS, ProblemStatement, Project, get_project, run_lab
from workbench.labs._projects import SECTIONS

KEYS = ["fraud", "maintenance", "recommendation", "forecasting", "topics", "images"]


def _statement(**changes):
    base = ProblemStatement(
        what="Block fraudulent card payments as they happen.",
        why="Fraud costs the bank money; false alarms cost customers.",
        how="Supervised classification on labelled transactions.",
        success_metric="PR AUC on held-out data",
        baseline="constant score: PR AUC = 0.02",
        data_sources=["card transactions"],
        easy_inputs=["amount", "hour"],
        bias_and_risks=["fraud is rare"],
        team="Team A",
    )
    return dataclasses.replace(base, **changes)


def test_the_catalogue_has_the_six_tracks_in_workshop_order():
    assert list(PROJECTS) == KEYS
    assert all(isinstance(p, Project) and p.key == key for key, p in PROJECTS.items())
    assert {p.learning for p in PROJECTS.values()} == {"supervised", "unsupervised"}
    assert PROJECTS["maintenance"].kind == "unsupervised anomaly detection"
    assert PROJECTS["fraud"].algorithms == ("xgboost", "linear-learner")
    with pytest.raises(TypeError):  # the catalogue cannot be changed by accident
        PROJECTS["fraud"].fast_load["size"] = "large"


def test_every_algorithm_named_is_a_builtin_algorithm():
    builtins = set(wb.list_algorithms())
    for project in PROJECTS.values():
        assert project.algorithms and set(project.algorithms) <= builtins, project.key


@pytest.mark.parametrize("key", KEYS)
def test_each_dataset_loads_in_fast_size_with_its_target(key):
    project = get_project(key)
    df = project.load(fast=True, seed=0)
    assert project.target in df.columns
    assert 100 <= len(df) <= 5_000, len(df)  # FAST: small enough for a 15 s lab
    assert df[project.target].notna().all()
    assert project.load(fast=True, seed=0).equals(df)  # same seed, same frame


def test_lab_names_follow_the_convention():
    pattern = re.compile(r"^day[1-3]/\d\d_[a-z0-9_]+$")
    for project in PROJECTS.values():
        assert project.labs, project.key
        assert all(pattern.match(lab) for lab in project.labs), project.labs
        assert project.labs_for(2) and project.labs_for(3), project.key
        assert list(project.labs) == sorted(project.labs, key=lambda lab: lab[:4])  # by day
    assert PROJECTS["fraud"].labs == (
        "day1/01_intro_fraud",
        "day2/01_features_evaluation",
        "day2/02_tuning",
        "day3/01_moving_to_production",
    )
    assert PROJECTS["maintenance"].labs_for(2) == (
        "day2/01_features_evaluation",
        "day2/01_maintenance_model",
    )
    assert PROJECTS["maintenance"].labs_for(3) == ("day3/01_maintenance_in_production",)
    for n, key in enumerate(["recommendation", "forecasting", "topics", "images"], start=2):
        assert PROJECTS[key].labs == (f"day2/0{n}_{key}_model", f"day3/0{n}_{key}_in_production")


def test_labs_for_refuses_a_day_that_does_not_exist():
    with pytest.raises(ValidationError, match="day: got 4; expected 1, 2 or 3"):
        get_project("fraud").labs_for(4)


def test_unknown_project_lists_the_projects():
    with pytest.raises(ValidationError) as info:
        get_project("churn")
    assert info.value.field == "PROJECT"
    assert "one of fraud, maintenance, recommendation, forecasting, topics, images" in str(
        info.value
    )
    assert get_project(" Images ").key == "images"  # case and spaces forgiven
    for bad in (None, ["fraud"], 3):
        with pytest.raises(ValidationError, match="PROJECT"):
            get_project(bad)


@pytest.mark.parametrize("key", KEYS)
def test_prefilled_statements_pass_the_check_and_are_copies(key):
    project = get_project(key)
    statement = project.problem_statement(team="Team B")
    assert statement.check() is statement
    assert statement.team == "Team B" and statement.title == project.title
    assert statement.success_metric == project.metric and statement.baseline == project.baseline
    statement.bias_and_risks.append("edited")  # a copy: the catalogue does not change
    assert "edited" not in project.problem_statement().bias_and_risks


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("what", "", "what: got ''; expected a non-empty answer"),
        ("why", "   ", "why: got '   '; expected a non-empty answer"),
        ("how", None, "how: got None"),
        ("success_metric", "", "success_metric: got ''"),
        ("baseline", "", "baseline: got ''"),
        ("data_sources", [], "data_sources: got []; expected at least one non-empty answer"),
        ("easy_inputs", "amount", "easy_inputs: got 'amount'; expected a list of answers"),
        ("bias_and_risks", ["", " "], "bias_and_risks: got"),
        ("easy_inputs", ["amount", ""], "easy_inputs[1]: got ''; expected a non-empty string"),
        ("team", 3, "team: got 3; expected a string"),
    ],
)
def test_check_names_the_empty_field(field, value, message):
    with pytest.raises(ValidationError, match=re.escape(message)) as info:
        _statement(**{field: value}).check()
    assert info.value.field.split("[")[0] == field


def test_markdown_has_every_section_in_order_and_the_evidence():
    md = _statement().to_markdown(evidence={"rows": 5000, "fraud rate": 0.019812, "note": "a|b"})
    assert md.splitlines()[0] == "# Problem statement · Team A"
    headings = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert headings == [title for _, title, _ in SECTIONS] + ["Evidence from the data"]
    assert "- amount\n- hour" in md
    assert "| rows | 5000 |" in md and "| fraud rate | 0.01981 |" in md and "a\\|b" in md


def test_markdown_marks_unanswered_sections_and_template_has_prompts():
    md = _statement(why="", easy_inputs=[]).to_markdown()
    assert md.count("*(not answered yet)*") == 2
    assert "Evidence" not in md
    template = ProblemStatement.template()
    for _, title, prompt in SECTIONS:
        assert f"## {title}\n\n*{prompt}*" in template


def test_save_writes_the_markdown(tmp_path):
    path = _statement().save(tmp_path / "sub" / "problem_statement_fraud.md", {"rows": 10})
    assert path.read_text() == _statement().to_markdown({"rows": 10})


def test_importing_the_catalogue_stays_light():
    import subprocess
    import sys

    code = (
        "import sys; from workbench.labs import PROJECTS; "
        "print(sorted(m for m in ('pandas', 'sklearn', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_day1_primer_and_define_problem_run_end_to_end(tmp_path, workspace):
    run = run_lab("day1/00_ml_primer", {"FAST": True}, run_dir=tmp_path / "run")
    assert run.status == "Completed"
    primer = json.loads((tmp_path / "run" / "00_ml_primer.json").read_text())
    assert abs(primer["gd_slope"] - primer["closed_form_slope"]) < 0.05
    assert abs(primer["gd_intercept"] - primer["closed_form_intercept"]) < 0.05
    assert primer["final_loss"] <= primer["closed_form_loss"] + 1e-4
    assert primer["bandit_best_arm_share"] > 0.75
    assert primer["bandit_reward_last"] > primer["bandit_reward_first"]
    assert primer["best_rule_feature"] == "age_band" and primer["kmeans_purity"] >= 0.95

    params = {"FAST": True, "PROJECT": "forecasting"}
    run = run_lab("day1/03_define_problem", params, run_dir=tmp_path / "run")
    assert run.status == "Completed"
    result = json.loads((tmp_path / "run" / "03_define_problem-forecasting.json").read_text())
    assert result["project"] == "forecasting" and result["task"] == "regression"
    assert result["baseline_metric"] == "wape" and 0.05 < result["baseline_value"] < 0.8
    assert result["statement_checked"] is True
    statement = (tmp_path / "run" / "problem_statement_forecasting.md").read_text()
    assert "## Evidence from the data" in statement
    assert f"wape = {result['baseline_value']:.4f}" in statement
    assert list(wb.list_endpoints()["name"]) == []  # nothing left running
