"""garpd.lean's dataclasses against the standard module: the same classes built by both
behave alike (signature, defaults, repr, equality, hashing, frozenness, slots, pattern
matching, copying and pickling, and dataclasses.fields / replace / asdict), and every class
garpd builds with it is seen by the standard module's functions as a dataclass."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
from collections import deque
from typing import Any, Generic, TypeVar

import pytest

from garpd import lean

SOURCES = {
    "Frozen": '''
@dc(frozen=True, slots=True)
class Frozen:
    """doc"""
    a: int
    b: str = "x"
    c: tuple[int, ...] = ()
''',
    "Mutable": '''
@dc(slots=True)
class Mutable:
    """doc"""
    a: int
    items: list[int] = field(default_factory=list)
    hidden: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
''',
    "NoEq": '''
@dc(slots=True, eq=False)
class NoEq:
    """doc"""
    a: int
    b: int = 0
    later: int = field(init=False, default=7)

    def __post_init__(self) -> None:
        self.b += 1
''',
    "Plain": '''
@dc
class Plain:
    """doc"""
    a: int
    b: list[int] = field(default_factory=lambda: [1])
    c: float = 0.5
''',
    "Generic": '''
@dc(slots=True, eq=False)
class Generic_(Generic[K]):
    """doc"""
    key: K
    rest: deque[K] = field(default_factory=deque)
''',
    "FrozenPost": '''
@dc(frozen=True, slots=True)
class FrozenPost:
    """doc"""
    low: float
    high: float = 1.0

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low > high")
''',
}


def build(name: str, decorator: Any, field: Any) -> Any:
    namespace: dict[str, Any] = {"dc": decorator, "field": field, "Generic": Generic,
                                 "K": TypeVar("K"), "deque": deque}
    exec(compile("from __future__ import annotations\n" + SOURCES[name], name, "exec"),  # noqa: S102
         namespace)
    return next(v for k, v in namespace.items() if isinstance(v, type) and k[0].isupper()
                and k not in ("Generic",))


def pair(name: str) -> tuple[Any, Any]:
    return (build(name, dataclasses.dataclass, dataclasses.field),
            build(name, lean.dataclass, lean.field))


ARGS: dict[str, list[tuple[Any, ...]]] = {
        "Frozen": [(1,), (1, "y"), (2, "x", (3,))], "Mutable": [(1,), (1, [2])],
        "NoEq": [(1,), (1, 5)], "Plain": [(1,), (2, [3], 1.5)], "Generic": [("k",)],
        "FrozenPost": [(0.5,), (0.0, 2.0)]}


@pytest.mark.parametrize("name", list(SOURCES))
def test_same_behaviour_as_the_standard_module(name: str) -> None:
    std, mine = pair(name)
    assert str(inspect.signature(std)) == str(inspect.signature(mine))
    assert std.__match_args__ == mine.__match_args__
    assert getattr(std, "__slots__", None) == getattr(mine, "__slots__", None)
    assert (std.__hash__ is None) == (mine.__hash__ is None)
    assert ([(f.name, f.default, f.init, f.repr, f.compare) for f in dataclasses.fields(std)]
            == [(f.name, f.default, f.init, f.repr, f.compare)
                for f in dataclasses.fields(mine)])
    for args in ARGS[name]:
        a, b = std(*args), mine(*args)
        assert repr(a).replace(std.__qualname__, "X") == repr(b).replace(mine.__qualname__, "X")
        assert dataclasses.asdict(a) == dataclasses.asdict(b)
        assert (b == mine(*args)) == (a == std(*args))
        assert (b == a) is False
        if std.__hash__ is not None and std.__hash__ is not object.__hash__:
            assert hash(b) == hash(mine(*args))
        for obj, cls in ((a, std), (b, mine)):
            assert vars(obj) if not hasattr(cls, "__slots__") else True
            clone = copy.deepcopy(obj)
            assert dataclasses.asdict(clone) == dataclasses.asdict(obj)
        field0 = dataclasses.fields(std)[0].name
        try:
            setattr(a, field0, args[0])
        except dataclasses.FrozenInstanceError:
            with pytest.raises(AttributeError):
                setattr(b, field0, args[0])
        else:
            setattr(b, field0, args[0])
        replaced_std = dataclasses.replace(a, **{field0: args[0]})
        replaced = lean.replace(b, **{field0: args[0]})
        assert dataclasses.asdict(replaced) == dataclasses.asdict(replaced_std)
        assert (dataclasses.asdict(dataclasses.replace(b))
                == dataclasses.asdict(dataclasses.replace(a)))


def test_frozen_refuses_assignment_and_deletion() -> None:
    _, mine = pair("Frozen")
    obj = mine(1)
    with pytest.raises(AttributeError, match="cannot assign"):
        obj.a = 2
    with pytest.raises(AttributeError, match="cannot delete"):
        del obj.a


def test_post_init_and_errors_as_standard() -> None:
    std, mine = pair("FrozenPost")
    with pytest.raises(ValueError, match="low > high"):
        std(2.0)
    with pytest.raises(ValueError, match="low > high"):
        mine(2.0)
    with pytest.raises(TypeError):
        mine()
    with pytest.raises(TypeError):
        mine(1.0, 2.0, 3.0)


def test_mutable_default_refused() -> None:
    with pytest.raises(ValueError, match="mutable default"):
        @lean.dataclass
        class Bad:
            items: list[int] = []  # noqa: RUF012


def test_factories_are_fresh_per_instance() -> None:
    _, mine = pair("Mutable")
    one, two = mine(1), mine(1)
    one.items.append(1)
    assert two.items == []


# A class defined at module level pickles; the tests' classes above are not importable.
@lean.dataclass(frozen=True, slots=True)
class Pickled:
    """doc"""

    a: int
    b: str = "x"


def test_frozen_slots_pickle_and_copy() -> None:
    obj = Pickled(1, "y")
    assert pickle.loads(pickle.dumps(obj)) == obj  # noqa: S301 - our own bytes
    assert copy.copy(obj) == obj


def test_match_statement() -> None:
    match Pickled(3, "z"):
        case Pickled(a, b) if a == 3 and b == "z":
            pass
        case _:
            pytest.fail("no match")


LEAN_MODULES = ["garpd.core", "garpd.events", "garpd.policy", "garpd.confirm",
                "garpd.conflicts", "garpd.routes", "garpd.neighbour_wire", "garpd.pacing",
                "garpd.records", "garpd.rtnl", "garpd.drivers.netlink",
                "garpd.drivers.sender", "garpd.commands.oneshot"]


@pytest.mark.parametrize("module", LEAN_MODULES)
def test_garpds_classes_are_dataclasses_to_the_standard_module(module: str) -> None:
    mod = importlib.import_module(module)
    classes = [v for v in vars(mod).values() if isinstance(v, type)
               and v.__module__ == module and "__lean_fields__" in v.__dict__]
    assert classes, f"{module}: no lean dataclass"
    for cls in classes:
        assert dataclasses.is_dataclass(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        assert names == [f.name for f in cls.__dict__["__lean_fields__"]]
