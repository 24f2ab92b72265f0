"""The catalogue: SageMaker names and aliases, the table, and no heavy import at lookup."""

import subprocess
import sys

import pytest

import workbench as wb
from workbench.algorithms import describe_algorithms, get_algorithm, list_algorithms
from workbench.exceptions import ValidationError

SAGEMAKER_NAMES = {
    "blazingtext", "factorization-machines", "forecasting-deepar", "image-classification",
    "kmeans", "knn", "lda", "linear-learner", "ntm", "pca", "randomcutforest", "xgboost",
}  # fmt: skip


def test_every_sagemaker_name_is_listed_and_described():
    assert set(list_algorithms()) == SAGEMAKER_NAMES
    table = describe_algorithms()
    assert list(table["name"]) == sorted(SAGEMAKER_NAMES)
    engines = dict(zip(table["name"], table["engine"]))
    assert {n for n, e in engines.items() if e == "mxnet"} == {
        "factorization-machines", "forecasting-deepar", "image-classification", "ntm",
    }  # fmt: skip
    unsupervised = set(table.loc[~table["supervised"], "name"])
    assert {"kmeans", "pca", "randomcutforest", "ntm", "lda"} <= unsupervised
    for name in SAGEMAKER_NAMES:  # every algorithm documents what it needs
        algo = get_algorithm(name)
        assert algo.title and algo.description, name
        assert algo.hyperparameters.names, name


@pytest.mark.parametrize(
    ("alias", "name"),
    [("deepar", "forecasting-deepar"), ("rcf", "randomcutforest"), ("K-Means", "kmeans"),
     ("fm", "factorization-machines"), ("image_classification", "image-classification")],
)  # fmt: skip
def test_aliases_and_image_uris_pick_the_algorithm(alias, name):
    assert get_algorithm(alias).name == name
    uri = f"382416733822.dkr.ecr.us-east-1.amazonaws.com/{name}:1"
    assert wb.Estimator(image_uri=uri)._algorithm_name() == name


def test_an_unknown_name_lists_the_catalogue():
    with pytest.raises(ValidationError, match="kmeans"):
        get_algorithm("kmeanz")


def test_looking_up_the_catalogue_imports_no_deep_learning_library():
    code = (
        "import sys; from workbench.algorithms import describe_algorithms; "
        "describe_algorithms(); print(sorted(m for m in ('mxnet', 'xgboost', 'PIL') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
