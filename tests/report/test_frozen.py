"""@frozen (report/frozen.py): the dataclass(frozen=True) instance, made by a faster __init__."""
import dataclasses
import inspect

import pytest

from vercompare.report import stats
from vercompare.report.frozen import frozen
from vercompare.report.model import Cell, Figure


@frozen
class Point:
    x: float
    y: float = 0.0
    label: str | None = None


@frozen(slots=True)
class SlotPoint:
    x: float
    y: float = 0.0
    label: str | None = None


@dataclasses.dataclass(frozen=True)
class Plain:
    x: float
    y: float = 0.0
    label: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PlainSlots:
    x: float
    y: float = 0.0
    label: str | None = None


def _fields(obj) -> dict:
    """The instance's own attributes: its __dict__, or its slots' values."""
    return vars(obj) if hasattr(obj, "__dict__") else {name: getattr(obj, name) for name in obj.__slots__}


@pytest.mark.parametrize("made,plain", [(Point, Plain), (SlotPoint, PlainSlots)], ids=["dict", "slots"])
def test_the_same_instance_as_the_frozen_dataclass(made, plain):
    for args, kwargs in (((1.0,), {}), ((1.0, 2.0), {}), ((1.0,), {"label": "a"}), ((), {"x": 3, "y": 4})):
        p, q = made(*args, **kwargs), plain(*args, **kwargs)
        assert dataclasses.astuple(p) == dataclasses.astuple(q)
        assert repr(p) == repr(q).replace(plain.__name__, made.__name__) and _fields(p) == _fields(q)
        assert p == made(*args, **kwargs) and hash(p) == hash(made(*args, **kwargs))
        assert dataclasses.asdict(p) == dataclasses.asdict(q)
        assert hasattr(p, "__dict__") == hasattr(q, "__dict__")  # slots=True: none, as the dataclass's
    assert str(inspect.signature(made)) == str(inspect.signature(plain))
    assert dataclasses.replace(made(1.0), y=5.0) == made(1.0, 5.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made(1.0).x = 2.0
    with pytest.raises(TypeError):
        made()
    with pytest.raises(TypeError):
        made(1.0, 2.0, "a", 4)


def test_the_reports_classes_are_still_their_dataclasses():
    r = stats.Ratio(1.1, 1.0, 1.2)
    assert r.se is None and r.df == float("inf") and r.rounds == 0 and dataclasses.is_dataclass(r)
    assert repr(r) == "Ratio(value=1.1, low=1.0, high=1.2, se=None, df=inf, one_process=False, rounds=0)"
    assert not hasattr(r, "__dict__")  # slots: the small objects read most (report/frozen.py)
    cell = Cell("ok", None, (Figure(None, stats.Estimate(1.0, 0.5, 1.5, 3), stats.noise([1.0, 1.1, 0.9]), r),),
                compile_s=2.0)
    assert cell.compile_s == 2.0 and cell.first_call_s is None and dataclasses.asdict(cell)["compile_s"] == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        cell.compile_s = 3.0


def test_what_it_cannot_make_faster_is_refused():
    with pytest.raises(TypeError):
        @frozen
        class WithFactory:
            xs: list = dataclasses.field(default_factory=list)
    with pytest.raises(TypeError):
        @frozen
        class WithPostInit:
            x: int

            def __post_init__(self):
                pass
