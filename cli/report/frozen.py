"""@frozen: a frozen dataclass made faster. A frozen dataclass's __init__ sets each field with
object.__setattr__ (its own __setattr__ refuses); a 10,000-cell report makes some 150,000 figures,
estimates, ratios, sides and cells, and those calls were a sixth of building its model. This __init__
writes the fields into the instance's __dict__ directly (2-3x faster: the same instance); everything else
is the dataclass's own: the fields, repr, ==, hash, dataclasses.asdict and replace, and assigning a field
afterwards still raises FrozenInstanceError. @frozen(slots=True) makes the dataclass with slots, for the
small objects read most: the 10,000-cell report, HTML or table, took 7 % less time with them (fields
read from slots, not a __dict__; half the memory)."""
from __future__ import annotations

import dataclasses


def frozen(cls=None, *, slots: bool = False):
    """dataclass(frozen=True) with a faster __init__ (the same signature and the same instance). For plain
    fields: a field with a default_factory, init=False or a __post_init__ is refused; a field whose class
    attribute is a data descriptor (model.Detail) is set through it, as the dataclass's __init__ does.
    `slots`: dataclass(slots=True) too, its fields set through their slots: for the small objects a report
    makes by the ten thousand and reads many times (a field read from a slot is some 2x faster than from
    the instance's __dict__, and the object half the size); not for a class whose instances keep more
    than their fields (a Cell's details, a Measured's cache)."""
    if cls is None:
        return lambda c: frozen(c, slots=slots)
    if hasattr(cls, "__post_init__") or "__slots__" in cls.__dict__:
        raise TypeError(f"@frozen {cls.__name__}: no __post_init__ nor slots of its own (ask slots=True)")
    cls = dataclasses.dataclass(frozen=True, slots=slots)(cls)
    params, body, scope = [], [], {"__setattr": object.__setattr__}
    for i, f in enumerate(dataclasses.fields(cls)):
        if not f.init or f.default_factory is not dataclasses.MISSING or f.kw_only:
            raise TypeError(f"@frozen {cls.__name__}.{f.name}: only plain fields with a value or a default")
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            scope[f"__default{i}"] = f.default
            params.append(f"{f.name}=__default{i}")
        descriptor = cls.__dict__.get(f.name)
        if slots:  # the slot's own setter (the class's __setattr__ refuses, as it is frozen)
            scope[f"__set{i}"] = descriptor.__set__
            body.append(f"    __set{i}(self, {f.name})")
        elif hasattr(type(descriptor), "__set__"):  # a descriptor-typed field
            # a default its __set__ ignores (its `not_given`) is not handed to it: a cell has 9 such
            # fields, nearly always left at their default
            skip = f.default is getattr(descriptor, "not_given", dataclasses.MISSING)
            guard = f"if {f.name} is not __default{i}: " if skip else ""
            body.append(f"    {guard}__setattr(self, {f.name!r}, {f.name})")
        else:
            body.append(f"    values[{f.name!r}] = {f.name}")
    head = "" if slots else "    values = self.__dict__\n"
    source = f"def __init__(self, {', '.join(params)}):\n{head}" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, scope)  # noqa: S102 (the source is made of the class's own field names)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__, init.__annotations__ = cls.__init__.__doc__, cls.__init__.__annotations__
    cls.__init__ = init
    return cls
