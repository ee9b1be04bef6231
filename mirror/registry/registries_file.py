"""The registries file: ``registries.yaml`` read and checked into :class:`~.hosts.Registries`.

It maps a registry host *as written in image references* to optional settings (see
DESIGN.md, "Registries file")::

    docker.io:
      endpoint: http://127.0.0.1:5001
      repository_prefix: dockerhub
      concurrency: 8
      rate: 50
      insecure: false
      ca_file: /path/ca.crt
      monolithic_max: 8MiB     # blob streaming (:mod:`.sizes`): sizes take KiB/MiB/GiB
      chunk_size: 16MiB
      deadline_base: 30        # a blob attempt's deadline: deadline_base + size / min_throughput
      min_throughput: 256KiB
      pull_floor: 10
      referrers: false         # as a destination: copy signatures, attestations, SBOMs here

Reading the file is blocking I/O: call :func:`load_registries` before the event
loop runs, or through ``anyio.to_thread``. The file is checked as hostile input (see
:mod:`mirror.userfile`): strict UTF-8 and no control or bidi characters (problems name line
and column), a nesting bomb or an unparsable number is a message rather than a traceback,
``rate`` must be a finite number (``.nan`` would disable the ceiling), and values quoted
in messages are cut short.
"""

from __future__ import annotations

import math
import ssl
from pathlib import Path
from typing import Any

import yaml

from ..errors import RegistriesFileError
from ..ref import normalize_host
from ..text import excerpt
from ..userfile import UserFileError, forbidden_characters, long_lines, quote, read_text
from .hosts import HostConfig, Registries, split_endpoint
from .sizes import STREAM_FIELDS, check_stream_field, stream_limits

__all__ = ["load_registries", "parse_registries"]

_FIELDS = {
    "endpoint": str,
    "repository_prefix": str,
    "concurrency": int,
    "rate": float,
    "insecure": bool,
    "ca_file": str,
    **{name: object for name in STREAM_FIELDS},  # checked in .sizes
    "pull_floor": int,
    "referrers": bool,
}
#: Whole-number fields that accept 0 (``pull_floor: 0`` turns the pull-quota floor off).
_ZERO_ALLOWED = frozenset({"pull_floor"})
#: Pulls kept in reserve on Docker Hub unless the registries file says otherwise (other hosts: 0, off).


def _check_field(host: str, name: str, value: Any, where: str) -> Any:
    expected = _FIELDS[name]
    at = f"{where}: host {quote(host)} field {quote(name)}"
    if name in STREAM_FIELDS:
        return check_stream_field(name, value, at)
    if expected is bool:
        if not isinstance(value, bool):
            raise RegistriesFileError(f"{at} must be true or false")
        return value
    if expected is int:
        least = 0 if name in _ZERO_ALLOWED else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise RegistriesFileError(f"{at} must be a whole number >= {least}")
        return value
    if expected is float:
        # NaN compares false with everything, so ``value <= 0`` alone would let ``.nan`` through.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise RegistriesFileError(f"{at} must be a finite number > 0")
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise RegistriesFileError(f"{at} must be a non-empty string")
    return value.strip()


def _parse_host(host: str, raw: Any, where: str) -> HostConfig:
    if raw is None:
        return HostConfig()
    if not isinstance(raw, dict):
        raise RegistriesFileError(f"{where}: host {quote(host)} must be a mapping of settings")
    for unknown in sorted(set(map(str, raw)) - set(_FIELDS)):
        known = ", ".join(sorted(_FIELDS))
        raise RegistriesFileError(f"{where}: host {quote(host)} field {quote(unknown)} is unknown (known: {known})")
    values = {name: _check_field(host, name, value, where) for name, value in raw.items()}
    endpoint = values.get("endpoint")
    if endpoint is not None:
        scheme, netloc, _ = split_endpoint(endpoint)
        if scheme not in (None, "http", "https") or not netloc or "@" in netloc:
            raise RegistriesFileError(
                f"{where}: host {quote(host)} field 'endpoint' must be host[:port] or an http(s):// URL "
                "without credentials"
            )
    prefix = values.get("repository_prefix", "").strip("/")
    context = None
    ca_file = values.get("ca_file")
    if ca_file is not None:
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else excerpt(str(exc))
            raise RegistriesFileError(
                f"{where}: host {quote(host)} field 'ca_file': cannot load {quote(ca_file)}: {reason}"
            ) from None
    return HostConfig(
        endpoint=endpoint,
        repository_prefix=prefix,
        concurrency=values.get("concurrency"),
        rate=values.get("rate"),
        insecure=values.get("insecure", False),
        ca_file=ca_file,
        pull_floor=values.get("pull_floor"),
        ssl_context=context,
        streams=stream_limits(values),
        referrers=values.get("referrers", False),
    )


def parse_registries(data: Any, *, source: str = "registries file") -> Registries:
    """Validate the loaded YAML; raise :class:`RegistriesFileError` naming host and field."""
    if data is None:
        return Registries({}, source)
    if not isinstance(data, dict):
        raise RegistriesFileError(f"{source}: the top level must be a mapping of registry hosts")
    hosts: dict[str, HostConfig] = {}
    for raw_host, raw in data.items():
        if not isinstance(raw_host, str) or not raw_host or "/" in raw_host or "://" in raw_host:
            raise RegistriesFileError(f"{source}: {quote(raw_host)} is not a registry host (host[:port])")
        key = normalize_host(raw_host)
        if key in hosts:
            raise RegistriesFileError(f"{source}: host {quote(raw_host)} is configured twice (as {quote(key)})")
        hosts[key] = _parse_host(raw_host, raw, source)
    return Registries(hosts, source)


def load_registries(path: str | Path | None) -> Registries:
    """Read a registries file (blocking). ``None`` means no file: defaults everywhere."""
    if path is None:
        return Registries()
    source = str(path)
    try:
        text = read_text(path)
    except UserFileError as exc:
        raise RegistriesFileError(str(exc)) from None
    problems = forbidden_characters(text, source) or long_lines(text, source)
    if problems:
        raise RegistriesFileError("\n".join(problems))
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise RegistriesFileError(_yaml_problem(source, exc)) from None
    except yaml.YAMLError as exc:
        raise RegistriesFileError(f"{source}: invalid YAML: {excerpt(str(exc))}") from None
    except RecursionError:
        raise RegistriesFileError(f"{source}: invalid YAML: nested too deeply") from None
    except ValueError as exc:  # a scalar PyYAML's constructors cannot convert, e.g. a 5000-digit int
        raise RegistriesFileError(f"{source}: invalid YAML value: {excerpt(str(exc))}") from None
    return parse_registries(data, source=source)


def _yaml_problem(source: str, exc: yaml.MarkedYAMLError) -> str:
    """``file:line:column: invalid YAML: problem (context)``: PyYAML's own text quotes a snippet
    of the line and spreads over several lines."""
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = excerpt(exc.problem or "syntax error")
    context = f" ({excerpt(exc.context)})" if exc.context else ""
    return f"{where}: invalid YAML: {problem}{context}"
