import pytest

from workbench.algorithms import (
    Hyperparameter,
    HyperparameterSchema,
    get_algorithm,
    list_algorithms,
)
from workbench.exceptions import ValidationError

SCHEMA = HyperparameterSchema(
    (
        Hyperparameter("rounds", "int", None, "rounds", required=True, low=1),
        Hyperparameter("eta", "float", 0.3, "eta", low=0, high=1, low_open=True),
        Hyperparameter("kind", "str", "a", "kind", choices=("a", "b")),
        Hyperparameter("flag", "bool", True, "flag"),
        Hyperparameter("lr", "float", "auto", "lr", low=0, allow_auto=True),
        Hyperparameter("metrics", "list", None, "metrics", choices=("auc", "rmse")),
    )
)


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("rounds", "10", 10),
        ("rounds", 10.0, 10),
        ("eta", "0.5", 0.5),
        ("eta", 1, 1.0),
        ("kind", "b", "b"),
        ("flag", "false", False),
        ("flag", "True", True),
        ("lr", "auto", "auto"),
        ("lr", "0.1", 0.1),
        ("metrics", "auc,rmse", ["auc", "rmse"]),
    ],
)
def test_values_are_parsed_from_strings_and_python_values(name, given, expected):
    assert SCHEMA[name].parse(given) == expected


@pytest.mark.parametrize(
    ("values", "field", "expected"),
    [
        ({"rounds": 0}, "rounds", "integer in [1, inf]"),
        ({"rounds": "ten"}, "rounds", "an integer"),
        ({"rounds": 2.5}, "rounds", "an integer"),
        ({"rounds": 2, "eta": 0}, "eta", "(0, 1]"),
        ({"rounds": 2, "kind": "c"}, "kind", "one of 'a', 'b'"),
        ({"rounds": 2, "flag": "maybe"}, "flag", "boolean"),
        ({"rounds": 2, "metrics": "auc,bogus"}, "metrics", "comma-separated list"),
        ({}, "rounds", "required"),
        ({"rounds": 2, "nope": 1}, "nope", "allowed: rounds, eta"),
    ],
)
def test_bad_values_name_field_value_and_what_is_allowed(values, field, expected):
    with pytest.raises(ValidationError) as info:
        SCHEMA.validate(values)
    message = str(info.value)
    assert f"hyperparameters[{field!r}]" in message
    assert expected in message


def test_validate_fills_defaults_and_passes_reserved_keys():
    out = SCHEMA.validate({"rounds": 3, "sagemaker_program": "x", "_tuning_objective_metric": "m"})
    assert out["eta"] == 0.3 and out["flag"] is True and out["rounds"] == 3
    assert "sagemaker_program" not in out


def test_strings_follow_sagemakers_encoding():
    assert SCHEMA.to_strings({"rounds": 3, "flag": False, "metrics": ["auc", "rmse"]}) == {
        "rounds": "3",
        "flag": "false",
        "metrics": "auc,rmse",
    }


def test_table_documents_every_hyperparameter():
    table = SCHEMA.table()
    assert [row["name"] for row in table] == SCHEMA.names
    assert all(row["allowed"] for row in table)


def test_every_builtin_algorithm_declares_a_documented_schema():
    for name in list_algorithms():
        algo = get_algorithm(name)
        assert len(algo.hyperparameters.names) >= 4, name  # RCF has 4, as in SageMaker
        assert all(p.doc for p in algo.hyperparameters), name


def test_unknown_algorithm_lists_the_known_ones():
    with pytest.raises(ValidationError, match="xgboost"):
        get_algorithm("random-forest")
