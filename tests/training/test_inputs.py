import json

import numpy as np
import pandas as pd
import pytest

from workbench.exceptions import ValidationError
from workbench.training import TrainingInput
from workbench.training._inputs import prepare_channels, write_channels


def test_frame_channel_is_written_as_label_first_npy_with_schema(tmp_path, binary_frame):
    (chan,) = prepare_channels({"train": binary_frame}, target="y")
    assert chan.content_type == "application/x-npy"
    assert chan.columns[0] == "y" and chan.compute_fingerprint().startswith("blake2b:")
    write_channels([chan], tmp_path)
    matrix = np.load(tmp_path / "train" / "data.npy")
    assert matrix.shape == (800, 7)
    assert np.array_equal(matrix[:, 0], binary_frame["y"].to_numpy())
    schema = json.loads((tmp_path / "train" / "schema.json").read_text())
    assert schema["target"] == "y" and schema["columns"][1:] == [f"x{i}" for i in range(6)]


def test_file_channels_are_linked_not_copied(tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.csv").write_text("1,2,3\n0,1,2\n")
    (src / "b.csv").write_text("1,5,6\n")
    (chan,) = prepare_channels({"train": f"file://{src}"})
    assert chan.content_type == "text/csv"
    write_channels([chan], tmp_path / "job")
    link = tmp_path / "job" / "train" / "a.csv"
    assert link.is_symlink() and link.read_text() == "1,2,3\n0,1,2\n"


def test_a_bare_input_becomes_the_training_channel(binary_frame):
    (chan,) = prepare_channels(binary_frame, target="y")
    assert chan.name == "training"


def test_csv_with_header_and_target_gets_header_content_type(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1, 2], "y": [0, 1]}).to_csv(path, index=False)
    (chan,) = prepare_channels({"train": TrainingInput(str(path), target="y")})
    assert chan.content_type == "text/csv;header=present;target=y"


@pytest.mark.parametrize(
    ("inputs", "target", "message"),
    [
        (None, "y", "inputs: got None"),
        ({}, "y", "at least one channel"),
        ({"train": pd.DataFrame()}, "y", "non-empty DataFrame"),
        ({"train": "DF"}, None, "name of the label column"),
        ({"train": "DF"}, "label", "'label'; expected a column of the DataFrame: x0, x1"),
        ({"train": "/no/such/file.csv"}, None, "an existing file or folder"),
        ({"train": "s3://bucket/key"}, None, "workbench is offline"),
        ({"train": 42}, None, "a pandas DataFrame, a path"),
        ({"bad name!": "DF"}, "y", "channel names"),
    ],
)
def test_bad_channels_name_the_field(binary_frame, inputs, target, message):
    if isinstance(inputs, dict):
        inputs = {
            k: (binary_frame if isinstance(v, str) and v == "DF" else v) for k, v in inputs.items()
        }
    with pytest.raises(ValidationError) as info:
        prepare_channels(inputs, target=target)
    assert message in str(info.value)


def test_non_numeric_columns_are_named(binary_frame):
    df = binary_frame.assign(city="Paris")
    with pytest.raises(ValidationError, match=r"\['city'\]"):
        prepare_channels({"train": df}, target="y")


def test_missing_labels_are_refused(binary_frame):
    df = binary_frame.copy()
    df.loc[3, "y"] = np.nan
    with pytest.raises(ValidationError, match="no missing labels"):
        prepare_channels({"train": df}, target="y")


def test_empty_files_and_headers_in_label_first_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValidationError, match="non-empty"):
        prepare_channels({"train": str(empty)})
    header = tmp_path / "header.csv"
    header.write_text("y,a\n1,2\n")
    with pytest.raises(ValidationError, match="no header row"):
        prepare_channels({"train": str(header)})
    with pytest.raises(ValidationError, match="target"):
        prepare_channels({"train": TrainingInput(str(header), target="nope")})


def test_mixed_file_types_need_an_explicit_content_type(tmp_path):
    (tmp_path / "a.csv").write_text("1,2\n")
    (tmp_path / "b.parquet").write_bytes(b"PAR1")
    with pytest.raises(ValidationError, match="content_type"):
        prepare_channels({"train": str(tmp_path)})


def test_script_mode_frames_become_csv_with_a_header(tmp_path, binary_frame):
    (chan,) = prepare_channels({"train": binary_frame}, for_script=True)
    write_channels([chan], tmp_path)
    back = pd.read_csv(tmp_path / "train" / "train.csv")
    pd.testing.assert_frame_equal(back, binary_frame, check_dtype=False)


def test_unsupervised_frames_need_no_target_and_keep_every_column(tmp_path, binary_frame):
    from workbench.algorithms import read_channel

    chans = prepare_channels(
        {"train": binary_frame.drop(columns="y"), "test": binary_frame},
        target="y",
        supervised=False,
    )
    train, test = chans
    assert train.target is None and train.columns == list(binary_frame.columns[:-1])
    assert test.target == "y" and test.columns[0] == "y"  # the test channel keeps labels
    write_channels(chans, tmp_path)
    unlabelled = read_channel(tmp_path / "train", train.content_type, require_label=False)
    assert unlabelled.y is None and unlabelled.X.shape == (len(binary_frame), 6)
    labelled = read_channel(tmp_path / "test", test.content_type)
    np.testing.assert_array_equal(labelled.y, binary_frame["y"].to_numpy(dtype=float))
    with pytest.raises(ValidationError, match="target"):  # supervised algorithms still need it
        prepare_channels({"train": binary_frame.drop(columns="y")}, target="y")


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [(".jsonl", "application/jsonlines"), (".json", "application/jsonlines"),
     (".png", "application/x-image"), (".txt", "text/plain")],
)  # fmt: skip
def test_file_formats_of_the_algorithm_catalogue_are_recognised(tmp_path, suffix, content_type):
    (tmp_path / f"part{suffix}").write_bytes(b"x")
    (chan,) = prepare_channels({"train": str(tmp_path)})
    assert chan.content_type == content_type


def test_a_path_in_a_format_the_algorithm_does_not_read_is_refused(tmp_path, workspace):
    import workbench as wb

    (tmp_path / "series.jsonl").write_text('{"start": "2022-01-01", "target": [1, 2]}\n')
    est = wb.Estimator(algorithm="xgboost", hyperparameters={"num_round": 2})
    with pytest.raises(ValidationError, match=r"inputs\['train'\] content_type.*xgboost"):
        est.fit({"train": str(tmp_path)})


def test_a_labelled_test_frame_beside_an_unlabelled_train_frame_has_the_same_features(
    binary_frame,
):
    from workbench.training._estimator import _check_same_columns

    features = binary_frame.drop(columns="y")
    _check_same_columns(
        prepare_channels({"train": features, "test": binary_frame}, target="y", supervised=False)
    )
    with pytest.raises(ValidationError, match=r"inputs\['test'\] columns"):
        _check_same_columns(
            prepare_channels(
                {"train": features, "test": binary_frame.drop(columns="x0")},
                target="y",
                supervised=False,
            )
        )
