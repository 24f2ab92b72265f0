import subprocess
import sys

HEAVY = ("xgboost", "mxnet", "optuna", "dask", "distributed", "ipywidgets", "sklearn", "matplotlib")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_import_workbench_is_light():
    loaded = _modules_after("import workbench")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    assert "pandas" not in loaded


def test_the_training_api_does_not_import_heavy_libraries():
    loaded = _modules_after("import workbench as wb\nwb.Estimator\nwb.TrainingJob\nwb.datasets")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_the_core_never_imports_a_capability_subpackage():
    loaded = _modules_after("import workbench.core")
    capabilities = ("training", "algorithms", "datasets", "labs")
    assert not {m for m in loaded if m.split(".")[:2] in [["workbench", c] for c in capabilities]}


def test_mxnet_is_only_imported_by_code_that_uses_it():
    loaded = _modules_after(
        "import workbench as wb\nwb.get_algorithm('xgboost')\nwb.get_algorithm('linear-learner')"
    )
    assert "mxnet" not in loaded
