"""Dataclasses without the :mod:`dataclasses` module's start-up cost, for the modules on the
one-shots' path to their first frame (events, policy, core, pacing, netlink, sender...).

Measured (``time.process_time`` around the imports, 2 vCPUs): the ~37 ``@dataclass``
classes on ``garpd announce``'s path cost ~33 ms of CPU to build, and importing
:mod:`dataclasses` (which pulls in ``inspect``, ``ast``, ``dis`` and ``tokenize``) ~7 ms
more: about half of everything before the first frame. :func:`dataclass` here builds the
same class: ``__init__`` from one small generated source (compiling is most of the cost:
the standard module compiles every method), ``__repr__``, ``__eq__``, ``__hash__`` and the
frozen ``__setattr__`` / ``__delattr__`` as closures over the field names, and, like the
standard one, ``__slots__`` and ``__match_args__`` (measured: ~33 ms -> ~8 ms for the 37
classes). The standard module is imported only when something asks for the class's
:func:`dataclasses.fields` (``__dataclass_fields__`` is built on first access, from real
:class:`dataclasses.Field` objects), so ``dataclasses.fields``, ``replace``, ``asdict`` and
``is_dataclass`` keep working on these classes.

The type checker sees the standard decorator (``TYPE_CHECKING``): the classes are typed as
dataclasses. Only the subset garpd uses is supported: ``frozen``, ``slots``, ``eq``,
``field(default=..., default_factory=..., init=..., repr=..., compare=...)``,
``__post_init__``, single inheritance from non-dataclass bases; anything else raises
TypeError at import. ``tests/test_lean.py`` checks every behaviour against the standard
module.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass, field, replace
else:
    from operator import attrgetter as _attrgetter

    class _Missing:
        __slots__ = ()

        def __repr__(self) -> str:
            return "MISSING"

    class _Factory:
        __slots__ = ()

        def __repr__(self) -> str:
            return "<factory>"

    MISSING = _Missing()
    _FACTORY = _Factory()  # the __init__ default of a default_factory field, as dataclasses'

    class FrozenInstanceError(AttributeError):
        """Assignment to a field of a frozen instance (as dataclasses.FrozenInstanceError)."""

    class _Field:
        __slots__ = ("compare", "default", "default_factory", "init", "name", "repr", "type")

        def __init__(self, default, default_factory, init, repr, compare):
            self.name = ""
            self.type = None
            self.default = default
            self.default_factory = default_factory
            self.init = init
            self.repr = repr
            self.compare = compare

    def field(*, default=MISSING, default_factory=MISSING, init=True, repr=True,
              compare=True):
        """As :func:`dataclasses.field` (the supported arguments)."""
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        return _Field(default, default_factory, init, repr, compare)

    class _StdFields:
        """``__dataclass_fields__``, built from the standard module on first access."""

        def __get__(self, obj, owner):
            import dataclasses  # noqa: PLC0415 - only when something inspects the fields

            out = {}
            for f in owner.__lean_fields__:
                kwargs = {"init": f.init, "repr": f.repr, "compare": f.compare}
                if f.default is not MISSING:
                    kwargs["default"] = f.default
                if f.default_factory is not MISSING:
                    kwargs["default_factory"] = f.default_factory
                std = dataclasses.field(**kwargs)
                std.name, std.type = f.name, f.type
                std._field_type = dataclasses._FIELD
                out[f.name] = std
            return out

    def _fields_of(cls):
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect is ~5 ms
        for base in cls.__mro__[1:]:
            if "__lean_fields__" in base.__dict__ or "__dataclass_fields__" in base.__dict__:
                raise TypeError(f"{cls.__name__}: lean dataclasses do not inherit fields")
        fields = []
        for name, annotation in own.items():
            text = annotation if isinstance(annotation, str) else repr(annotation)
            if text.startswith(("ClassVar", "typing.ClassVar", "InitVar", "KW_ONLY")):
                raise TypeError(f"{cls.__name__}.{name}: {text} is not supported here")
            value = cls.__dict__.get(name, MISSING)
            f = value if isinstance(value, _Field) else _Field(value, MISSING, True, True,
                                                               True)
            if f.default is not MISSING and f.default.__class__.__hash__ is None:
                raise ValueError(f"mutable default {type(f.default)} for field {name} is "
                                 "not allowed: use default_factory")
            f.name, f.type = name, annotation
            fields.append(f)
        return fields

    def _source(cls, fields, frozen):
        """``__init__``'s source, and the names it needs (the one method compiled: the
        others are closures, since compiling is most of a class's cost)."""
        env = {"MISSING": MISSING, "_FACTORY": _FACTORY, "_cls": None,
               "FrozenInstanceError": FrozenInstanceError, "_set": object.__setattr__}
        params, body = [], []
        seen_default = False
        for f in fields:
            dflt = f"_dflt_{f.name}"
            if f.default_factory is not MISSING:
                env[dflt] = f.default_factory
                if f.init:
                    params.append(f"{f.name}=_FACTORY")
                    value = f"{dflt}() if {f.name} is _FACTORY else {f.name}"
                else:
                    value = f"{dflt}()"
                seen_default = True
            elif f.init:
                if f.default is not MISSING:
                    env[dflt] = f.default
                    params.append(f"{f.name}={dflt}")
                    seen_default = True
                elif seen_default:
                    raise TypeError(f"non-default argument {f.name!r} follows default "
                                    "argument")
                else:
                    params.append(f.name)
                value = f.name
            elif f.default is not MISSING:
                env[dflt] = f.default
                value = dflt
            else:
                continue
            body.append(f"_set(self, {f.name!r}, {value})" if frozen
                        else f"self.{f.name} = {value}")
        if hasattr(cls, "__post_init__"):
            body.append("self.__post_init__()")
        lines = [f"def __init__(self, {', '.join(params)}):" if params
                 else "def __init__(self):"]
        lines += [f"    {b}" for b in body or ["pass"]]
        return "\n".join(lines) + "\n", env

    def _getter(names):
        """A function returning the tuple of the attributes ``names`` of an object."""
        if not names:
            return lambda obj: ()
        if len(names) == 1:
            (name,) = names
            return lambda obj: (getattr(obj, name),)
        return _attrgetter(*names)

    def _methods(cls, fields, frozen, eq, hashing):
        """``__repr__``, ``__eq__``, ``__hash__`` and the frozen ``__setattr__`` /
        ``__delattr__`` of the (final) class ``cls``, as dataclasses writes them."""
        shown = tuple(f.name for f in fields if f.repr)
        compared = _getter(tuple(f.name for f in fields if f.compare))
        names = frozenset(f.name for f in fields)
        out = {}

        def _repr(self):
            inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
            return f"{self.__class__.__qualname__}({inner})"

        out["__repr__"] = _repr
        if eq:
            def _eq(self, other):
                if other.__class__ is self.__class__:
                    return compared(self) == compared(other)
                return NotImplemented

            out["__eq__"] = _eq
        if hashing:
            def _hash(self):
                return hash(compared(self))

            out["__hash__"] = _hash
        if frozen:
            def _setattr(self, name, value):
                if type(self) is cls or name in names:
                    raise FrozenInstanceError(f"cannot assign to field {name!r}")
                super(cls, self).__setattr__(name, value)

            def _delattr(self, name):
                if type(self) is cls or name in names:
                    raise FrozenInstanceError(f"cannot delete field {name!r}")
                super(cls, self).__delattr__(name)

            out["__setattr__"] = _setattr
            out["__delattr__"] = _delattr
        return out

    def _build(cls, frozen, slots, eq):
        fields = _fields_of(cls)
        class_hash = cls.__dict__.get("__hash__", MISSING)
        explicit_hash = not (class_hash is MISSING
                             or (class_hash is None and "__eq__" in cls.__dict__))
        hashing = eq and frozen and not explicit_hash
        source, env = _source(cls, fields, frozen)
        namespace = {}
        exec(compile(source, f"<lean dataclass {cls.__qualname__}>", "exec"), env, namespace)  # noqa: S102
        if slots:
            body = dict(cls.__dict__)
            for f in fields:
                body.pop(f.name, None)
            body.pop("__dict__", None)
            body.pop("__weakref__", None)
            inherited = {s for base in cls.__mro__[1:] for s in base.__dict__.get("__slots__", ())}
            body["__slots__"] = tuple(f.name for f in fields if f.name not in inherited)
            new = type(cls)(cls.__name__, cls.__bases__, body)
            new.__qualname__ = cls.__qualname__
            cls = new
            if frozen:
                cls.__getstate__ = _getstate
                cls.__setstate__ = _setstate
        else:
            for f in fields:
                if f.default_factory is not MISSING or isinstance(cls.__dict__.get(f.name),
                                                                  _Field):
                    if f.default is MISSING:
                        if f.name in cls.__dict__:
                            delattr(cls, f.name)
                    else:
                        setattr(cls, f.name, f.default)
        env["_cls"] = cls
        namespace.update(_methods(cls, fields, frozen, eq, hashing))
        namespace["__init__"].__annotations__ = {
            **{f.name: f.type for f in fields if f.init}, "return": None}
        for name, fn in namespace.items():
            if name != "__hash__" and name in cls.__dict__:
                if name in ("__setattr__", "__delattr__"):
                    raise TypeError(f"cannot overwrite attribute {name} in class "
                                    f"{cls.__name__}")
                continue  # a method the class defines itself wins, as in dataclasses
            fn.__name__, fn.__qualname__ = name, f"{cls.__qualname__}.{name}"
            setattr(cls, name, fn)
        if eq and not frozen and not explicit_hash:
            cls.__hash__ = None
        cls.__lean_fields__ = tuple(fields)
        cls.__dataclass_fields__ = _StdFields()
        if "__match_args__" not in cls.__dict__:
            cls.__match_args__ = tuple(f.name for f in fields if f.init)
        return cls

    def _getstate(self):
        return [getattr(self, f.name) for f in self.__lean_fields__]

    def _setstate(self, state):
        for f, value in zip(self.__lean_fields__, state, strict=True):
            object.__setattr__(self, f.name, value)

    def dataclass(cls=None, /, *, frozen=False, slots=False, eq=True):
        """As :func:`dataclasses.dataclass` with ``frozen``, ``slots`` and ``eq``."""

        def wrap(c):
            return _build(c, frozen, slots, eq)

        return wrap if cls is None else wrap(cls)

    def replace(obj, /, **changes):
        """As :func:`dataclasses.replace`, without importing :mod:`dataclasses`."""
        for f in obj.__lean_fields__:
            if not f.init:
                if f.name in changes:
                    raise ValueError(f"field {f.name} is declared with init=False, it cannot "
                                     "be specified with replace()")
                continue
            if f.name not in changes:
                changes[f.name] = getattr(obj, f.name)
        return obj.__class__(**changes)


__all__ = ["dataclass", "field", "replace"]
