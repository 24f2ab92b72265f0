import pytest

from tests.labs._tiny import write_lab
from workbench.exceptions import ValidationError
from workbench.labs import find_labs, list_labs, select_labs
from workbench.labs._registry import known_names


@pytest.fixture
def labs(tmp_path, monkeypatch):
    root = tmp_path / "labs"
    write_lab(root / "day1_intro" / "01_primer.ipynb", ["x = 1"],
              workbench={"tracks": ["fraud", "images"]})  # fmt: skip
    write_lab(
        root / "day1_intro" / "02_define.ipynb",
        ["x = 2"],
        parameters="RUN_DIR = '.'\nPROJECT = 'fraud'",
        workbench={"tracks": ["fraud", "images"], "matrix": {"PROJECT": ["fraud", "images"]}},
    )
    write_lab(root / "day2_projects" / "01_images_model.ipynb", ["x = 3"],
              workbench={"tracks": ["images"]})  # fmt: skip
    write_lab(root / "day2_fraud" / "01_fraud_model.ipynb", ["x = 4"],
              workbench={"tracks": ["fraud"]})  # fmt: skip
    write_lab(root / "day3_projects" / "01_images_live.ipynb", ["x = 5"],
              workbench={"tracks": ["images"], "needs": ["day2/01_images_model"]})  # fmt: skip
    monkeypatch.setenv("WORKBENCH_LABS_DIR", str(root))
    return root


def test_labs_are_in_workshop_order_with_the_matrix_expanded(labs):
    assert [lab.name for lab in list_labs()] == [
        "day1/01_primer",
        "day1/02_define[fraud]",
        "day1/02_define[images]",
        "day2/01_fraud_model",
        "day2/01_images_model",
        "day3/01_images_live",
    ]
    matrix = list_labs()[2]
    assert matrix.matrix == {"PROJECT": "images"}
    assert matrix.notebook == "day1/02_define"
    assert matrix.results_file == "02_define-images.json"
    assert matrix.output_file == "day1__02_define-images.ipynb"
    assert list_labs()[-1].needs == ("day2/01_images_model",)


def test_find_by_group_folder_lab_stem_and_matrix_value(labs):
    assert len(find_labs("day1")) == 3
    assert [lab.name for lab in find_labs("day2_projects")] == ["day2/01_images_model"]
    assert len(find_labs("day1/02_define")) == 2
    assert [lab.name for lab in find_labs("day1/02_define[images]")] == ["day1/02_define[images]"]
    assert [lab.name for lab in find_labs("01_fraud_model")] == ["day2/01_fraud_model"]


def test_unknown_lab_lists_groups_and_labs(labs):
    with pytest.raises(ValidationError, match="lab.*day9.*day1, day2, day3, day1/01_primer"):
        find_labs("day9")
    assert "day1/02_define" in known_names()


def test_select_all_names_and_tracks(labs):
    assert len(select_labs(all_labs=True)) == 6
    picked = select_labs(["day3", "day1/01_primer", "day1"])
    assert [lab.name for lab in picked][:2] == ["day1/01_primer", "day1/02_define[fraud]"]
    assert len(picked) == 4  # each lab once, in workshop order
    track = [lab.name for lab in select_labs(track="images")]
    assert track == ["day1/01_primer", "day1/02_define[images]", "day2/01_images_model",
                     "day3/01_images_live"]  # fmt: skip
    assert [lab.name for lab in select_labs(["day2"], track="fraud")] == ["day2/01_fraud_model"]


def test_select_refuses_nothing_and_unknown_tracks(labs):
    with pytest.raises(ValidationError, match="labs.*--all"):
        select_labs([])
    with pytest.raises(ValidationError, match="track.*'cooking'.*one of fraud, images"):
        select_labs(track="cooking")


def test_the_real_labs_have_unique_stems_and_known_needs():
    labs = list_labs()
    stems = [lab.path.stem for lab in {lab.path: lab for lab in labs}.values()]
    assert len(stems) == len(set(stems)), stems
    notebooks = {lab.notebook for lab in labs} | {lab.name for lab in labs}
    for lab in labs:
        assert set(lab.needs) <= notebooks, (lab.name, lab.needs)
