"""Kamei-format datasets: individual features dropped, bad files refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from teamlens.model.dataset import DatasetError, load_kamei_csv
from teamlens.model.evaluation import Contender, evaluate_split
from teamlens.model.split import holdout

HEADER = ",_id,date,bug,__,ns,nd,nf,entrophy,la,ld,lt,fix,ndev,age,nuc,exp,rexp,sexp\n"
SHARED_JIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "jit"


def _csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_individual_features_are_dropped_and_rows_sorted_by_date(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "p.csv",
        [
            "0,bbb,200,1,1,1,1,2,0.9,10,2,100,1,3,4.5,7,500,20.5,40",
            "1,aaa,100,0,0,1,1,1,0.0,3,0,50,0,1,1.0,2,10,1.0,2",
        ],
    )
    data = load_kamei_csv(path)
    assert data.features == (
        "ns",
        "nd",
        "nf",
        "entropy",
        "la",
        "ld",
        "lt",
        "fix",
        "ndev",
        "age",
        "nuc",
    )
    assert data.dropped == ("exp", "rexp", "sexp")
    assert not {"exp", "rexp", "sexp"} & set(data.frame.columns)
    assert data.frame["id"].tolist() == ["aaa", "bbb"]
    assert data.y().tolist() == [0, 1]
    assert data.effort().tolist() == [3.0, 12.0]  # la + ld
    assert data.frame["entropy"].tolist() == [0.0, 0.9]


def test_missing_columns_and_bad_labels_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_kamei_csv(tmp_path / "nope.csv")
    short = _csv(tmp_path / "short.csv", ["0,a,1,0"], header=",_id,date,bug\n")
    with pytest.raises(DatasetError, match=r"missing column\(s\) ns, nd, nf, entrophy, la, ld, lt"):
        load_kamei_csv(short)
    bad = _csv(tmp_path / "bad.csv", ["0,a,1,2,2,1,1,1,0,1,1,1,0,1,1,1,1,1,1"])
    with pytest.raises(DatasetError, match="0 or 1"):
        load_kamei_csv(bad)
    empty = _csv(tmp_path / "empty.csv", [])
    with pytest.raises(DatasetError, match="no rows"):
        load_kamei_csv(empty)


def test_iso_dates_are_read_as_utc_seconds(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "iso.csv",
        [
            _row(_id="aaa", date="2020-09-13"),
            _row(_id="bbb", date="2020-09-13T12:26:40Z", bug="1"),
            _row(_id="ccc", date="1600000000"),
        ],
    )
    frame = load_kamei_csv(path).frame
    times = dict(zip(frame["id"], frame["time"], strict=True))
    assert times == {"aaa": 1_599_955_200, "bbb": 1_600_000_000, "ccc": 1_600_000_000}


def _row(**cells: str) -> str:
    """One data row of HEADER's columns, every cell 1 (date 100, bug 0) unless given."""
    names = HEADER.strip().split(",")
    values = {"": "0", "_id": "a", "date": "100", "bug": "0", **cells}
    return ",".join(values.get(name, "1") for name in names)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"date": ""}, "column date on line 3 is empty"),
        ({"date": "last tuesday"}, "column date on line 3 is 'last tuesday', not a date"),
        ({"la": ""}, "column la on line 3 is empty"),
        ({"la": "many"}, "column la on line 3 is 'many', not a number"),
        ({"age": "inf"}, "column age on line 3 is 'inf', not a number"),
    ],
)
def test_a_bad_cell_is_one_line_naming_column_and_line(
    tmp_path: Path, cells: dict[str, str], message: str
) -> None:
    path = _csv(tmp_path / "bad.csv", [_row(_id="b", date="200"), _row(**cells)])
    with pytest.raises(DatasetError) as caught:
        load_kamei_csv(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.skipif(
    not (SHARED_JIT / "jdt_k_feature.csv").is_file(),
    reason="the public JIT benchmark (shared data folder) is not on this machine",
)
def test_the_public_dataset_trains_without_individual_features() -> None:
    data = load_kamei_csv(SHARED_JIT / "jdt_k_feature.csv")
    assert data.dropped == ("exp", "rexp", "sexp")
    result = evaluate_split(data, holdout(data.times(), 0.2, 0), tune=False)
    for fitted in result.fitted.values():
        assert not {"exp", "rexp", "sexp"} & set(fitted.features)
    assert result.results[next(iter(result.results))].metrics.roc_auc > 0.6


def test_a_dataset_with_individual_features_trains_without_them(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    rows = []
    for i in range(400):
        la = int(rng.integers(0, 300))
        exp = int(rng.integers(0, 1000))
        bug = int(rng.random() < (0.6 if la > 150 else 0.15))
        rows.append(
            f"{i},c{i},{1_500_000_000 + i * 3600},{bug},{bug},1,1,{1 + la // 60},0.5,"
            f"{la},{la // 3},{200 + la},0,2,10.0,4,{exp},{exp / 10},{exp // 2}"
        )
    data = load_kamei_csv(_csv(tmp_path / "synthetic.csv", rows))
    result = evaluate_split(data, holdout(data.times(), 0.2, 0))
    for fitted in result.fitted.values():
        assert not {"exp", "rexp", "sexp"} & set(fitted.features)
    assert set(result.fitted[Contender.LIGHTGBM].features) == set(data.features)
    assert result.results[Contender.LIGHTGBM].metrics.roc_auc > 0.6
