"""pydantic validation errors as one line naming the file, the key path and what is allowed.

pydantic's own messages ("Input should be greater than or equal to 1") name neither the file nor the allowed
choices in the project's style; :func:`describe` rewrites the first error of a ``ValidationError`` as
``<key.path>: must be >= 1, got 0`` or ``<key>: unknown key; allowed: a, b``, merging the alternatives of a
union field into one message.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["describe", "key_path"]

_TYPE_WORDS = {"int", "float", "str", "bool", "none", "dict", "list", "tuple", "is-instance", "function-after",
               "function-before", "function-plain", "function-wrap"}


def _is_tag(part: Any) -> bool:
    """Whether a loc element is a union-member tag pydantic inserts (``literal['auto']``, ``constrained-int``)."""
    return isinstance(part, str) and (any(c in part for c in "[('") or part in _TYPE_WORDS
                                      or part.startswith("constrained-"))


def key_path(loc: tuple, prefix: str = "") -> str:
    """``components[3].attributes.lanes`` from a pydantic loc (union tags dropped), under ``prefix``."""
    out = prefix
    for part in loc:
        if _is_tag(part):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _allowed_keys(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _expected(ctx: dict) -> str:
    """pydantic's "'a', 'b' or 'c'" as "a, b, c"."""
    return ctx.get("expected", "").replace("' or '", ", ").replace("'", "")


def _alternative(err: dict) -> str:
    """What one alternative of a union accepts, in words."""
    t, ctx = err["type"], err.get("ctx") or {}
    if t == "literal_error":
        values = ctx.get("expected", "").replace(" or ", ", ").split(", ")
        return " or ".join(repr(v.strip().strip("'")) for v in values)
    if t in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _bound(t, ctx)
    if t in ("int_type", "int_from_float", "int_parsing"):
        return "an integer"
    if t in ("float_type", "float_parsing", "finite_number"):
        return "a finite number"
    if t == "string_type":
        return "a string"
    if t == "none_required":
        return "null"
    return err["msg"]


def _bound(t: str, ctx: dict) -> str:
    for key, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if key in ctx:
            return f"{word} {ctx[key]}"
    return t


def _phrase(err: dict, model: type[BaseModel] | None) -> str:
    t, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    if t == "missing":
        return "missing"
    if t == "extra_forbidden":
        allowed = _allowed_keys(model)
        return "unknown key" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if t in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"must be {_bound(t, ctx)}, got {got!r}"
    if t == "finite_number":
        return f"must be finite, got {got!r}"
    if t in ("float_type", "float_parsing"):
        return f"must be a number, got {got!r}"
    if t in ("int_type", "int_parsing", "int_from_float"):
        return f"must be an integer, got {got!r}"
    if t in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {got!r}"
    if t in ("string_type",):
        return f"must be a string, got {got!r}"
    if t == "string_too_short":
        return f"must be a non-empty string, got {got!r}"
    if t == "literal_error":
        return f"got {got!r}; allowed: {_expected(ctx)}"
    if t in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping, got {type(got).__name__}"
    if t in ("list_type", "tuple_type"):
        return f"must be a list, got {type(got).__name__}"
    if t == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"]


def describe(e: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> str:
    """One message for the first failing key of ``e``: ``key.path: what is wrong; allowed: ...``.

    ``model`` is the model that failed (for the allowed keys of an unknown key); errors of one union field are
    merged into "got X; allowed: A or B".
    """
    errors = e.errors(include_url=False)
    first = errors[0]
    path = key_path(first["loc"], prefix)
    same = [er for er in errors if key_path(er["loc"], prefix) == path]
    union = len(same) > 1 and any(_is_tag(p) for p in first["loc"])
    if union:
        alts = [_alternative(er) for er in same]
        msg = f"got {first.get('input')!r}; allowed: {' or '.join(dict.fromkeys(alts))}"
    else:
        sub = model
        if first["type"] == "extra_forbidden" and model is not None:
            sub = _submodel(model, first["loc"][:-1])
        msg = _phrase(first, sub)
    return f"{path}: {msg}" if path else msg


def _submodel(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The nested model at ``loc`` (for the allowed keys of an unknown key), or None."""
    cur: Any = model
    for part in loc:
        if isinstance(part, int) or _is_tag(part):
            continue
        field = getattr(cur, "model_fields", {}).get(part)
        if field is None:
            return None
        cur = _model_of(field.annotation)
        if cur is None:
            return None
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _model_of(annotation: Any) -> Any:
    """The BaseModel inside an annotation (Optional[M], list[M], M)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        m = _model_of(arg)
        if m is not None:
            return m
    return None
