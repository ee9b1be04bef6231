"""``config.json`` (version sources and tag filters): read, validated, as frozen values.

* :mod:`.model` — the entries as frozen values (what discovery takes);
* :mod:`.reader` — :func:`load` / :func:`parse`: every problem at once, each naming the entry
  key and the field; regexes and constraints compiled here, so a typo fails ``validate``
  rather than a discovery run half an hour later;
* :mod:`.strict_json` — the JSON read strictly: a key given twice (``json.load`` would keep
  the last one; the seed's own example had two ``longhorn`` keys), ``NaN``/``Infinity``,
  numbers out of range, nesting too deep.

The file is hostile input like any other (see :mod:`mirror.userfile`): it must be UTF-8
without control, separator or bidi characters (a problem names line and column), may not
nest deeper than :data:`~mirror.userfile.NESTING_LIMIT`, and may not use ``NaN`` or
``Infinity``, which Python's ``json`` accepts but JSON does not. Values quoted in messages
are escaped and cut, so a 10 MB line gives a short message.
"""

from __future__ import annotations

from .model import ChartConfig, Config, Entry, HelmChart, SourceKind, VersionSource, repository_path_problem
from .reader import load, parse

__all__ = [
    "ChartConfig",
    "Config",
    "Entry",
    "HelmChart",
    "SourceKind",
    "VersionSource",
    "load",
    "parse",
    "repository_path_problem",
]
