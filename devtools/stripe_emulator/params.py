"""Stripe's form encoding (``metadata[shop_id]=3``, ``expand[0]=x``) decoded into nested dicts, and checks.

Stripe's v1 API takes ``application/x-www-form-urlencoded`` bodies (and query strings for GET) whose
keys use brackets for nesting; the stripe libraries always encode lists with explicit indexes. Values
stay strings: each handler converts the ones it knows, as Stripe does, and names the parameter it
rejects in Stripe's own words.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request

from devtools.stripe_emulator.errors import ApiError, invalid_param, missing_param, unknown_param

Params = dict[str, Any]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
# Hashes whose keys are the caller's own, never list indexes.
_FREE_FORM = frozenset({"metadata"})


def decode(query: str) -> Params:
    """Decode a form body or query string into nested dicts, with dicts of 0..n keys turned into lists."""
    root: Params = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        match = _KEY.match(key)
        if match is None:
            raise invalid_param(key, f"Invalid parameter name: {key}")
        path = [match.group(1), *_PART.findall(match.group(2))]
        node = root
        for depth, part in enumerate(path[:-1]):
            child = node.setdefault(part or str(len(node)), {})
            if not isinstance(child, dict):
                raise invalid_param(_name(path[: depth + 1]), f"Invalid hash: {_name(path[: depth + 1])}")
            node = child
        last = path[-1] or str(len(node))
        if isinstance(node.get(last), dict):
            raise invalid_param(_name(path), f"Invalid hash: {_name(path)}")
        node[last] = value
    return _listify(root)


def _listify(node: Params, free_form: bool = False) -> Any:
    converted = {k: _listify(v, k in _FREE_FORM) if isinstance(v, dict) else v for k, v in node.items()}
    if not free_form and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def _name(path: list[str]) -> str:
    return path[0] + "".join(f"[{part}]" for part in path[1:])


def fingerprint(params: Params) -> str:
    """A canonical text of the parameters, to tell a replayed idempotent request from a different one."""
    return repr(sorted(_flatten(params, "")))


def _flatten(value: Any, prefix: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _flatten(v, f"{prefix}[{k}]" if prefix else k)]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _flatten(v, f"{prefix}[{i}]")]
    return [(prefix, str(value))]


def paths(value: Any, prefix: str = "") -> set[str]:
    """Dotted paths of the leaves given (``company[tax_id]`` → ``company.tax_id``), as requirements say."""
    if isinstance(value, dict) and value:
        return {p for k, v in value.items() for p in paths(v, f"{prefix}.{k}" if prefix else k)}
    return {prefix} if prefix else set()


def check_known(params: Params, allowed: Collection[str], prefix: str = "") -> None:
    """Refuse parameters the endpoint does not take, as Stripe does (it catches typos in callers)."""
    for key in params:
        if key not in allowed:
            raise unknown_param(f"{prefix}[{key}]" if prefix else key)


def string(params: Params, name: str, *, required: bool = False, param: str | None = None) -> str | None:
    param = param or name
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing_param(param)
        return None
    if not isinstance(value, str):
        raise invalid_param(param, f"Invalid string: {param}")
    return value


def choice(params: Params, name: str, choices: Collection[str], *, required: bool = False) -> str | None:
    value = string(params, name, required=required)
    if value is not None and value not in choices:
        raise invalid_param(name, f"Invalid {name}: must be one of {', '.join(choices)}")
    return value


def boolean(value: Any, param: str) -> bool:
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise invalid_param(param, f"Invalid boolean: {value}")


def integer(value: Any, param: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise invalid_param(param, f"Invalid integer: {value}", code="parameter_invalid_integer")


def mapping(params: Params, name: str, *, param: str | None = None) -> Params | None:
    """A nested hash; ``""`` (how Stripe unsets a hash) is returned as an empty dict."""
    param = param or name
    value = params.get(name)
    if value is None:
        return None
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid_param(param, f"Invalid hash: {param}")
    return value


def url(params: Params, name: str, *, required: bool = False) -> str | None:
    value = string(params, name, required=required)
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise invalid_param(name, "Not a valid URL", code="url_invalid")
    return value


def expand_list(params: Params) -> None:
    """Accept ``expand``; the emulator's objects have nothing expandable, so it changes nothing."""
    value = params.pop("expand", None)
    if value is not None and not isinstance(value, list):
        raise ApiError(400, "Invalid array", param="expand")


def merge_metadata(current: dict[str, str], given: Params | None) -> dict[str, str]:
    """Stripe's metadata rules: keys merge; an empty value deletes its key; ``metadata=""`` clears all."""
    if given is None:
        return current
    merged = {} if given == {} else dict(current)
    for key, value in given.items():
        if not isinstance(value, str):
            raise invalid_param(f"metadata[{key}]", f"Invalid string: metadata[{key}]")
        if len(key) > 40:
            raise invalid_param(f"metadata[{key}]", "Metadata keys can have up to 40 characters.")
        if len(value) > 500:
            raise invalid_param(f"metadata[{key}]", "Metadata values can have up to 500 characters.")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise invalid_param("metadata", "You can have up to 50 metadata keys.")
    return merged


def json_body(request: Request) -> dict[str, Any]:
    """The JSON object a test-control request sends (an empty body is an empty object)."""
    if not request.get_data():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object")
    return body
