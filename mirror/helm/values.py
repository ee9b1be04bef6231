"""A chart's default ``values.yaml``, read from its archive or directory: what ``helm show values``
prints, without starting helm.

Why not helm: ``helm show values`` only prints the chart's raw ``values.yaml`` (helm's
``action.Show`` writes every top-level file of that name, each followed by a newline); it
renders nothing. A helm process costs 40–50 ms of CPU to start, and a discovery run needs one
per chart version, on the same cores as the renders that have to be done by helm. Reading the
file here is the same text at a fraction of the cost, and helm is left with the renders.

The archive is read as helm's loader reads it: a gzip tar whose entries share one top-level
directory (any name), ``\\`` accepted as a separator, paths cleaned, a UTF-8 byte-order mark
dropped. Blocking: call :func:`read_values` in a worker thread.
"""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from pathlib import Path

from ..errors import HelmError

__all__ = ["MAX_VALUES_BYTES", "read_values"]

#: Largest ``values.yaml`` read (helm 3.17's default limit for one decompressed chart file).
MAX_VALUES_BYTES = 5 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


def _text(data: bytes) -> str:
    return data.removeprefix(_BOM).decode("utf-8", "replace") + "\n"


def _too_big(what: str, size: int) -> HelmError:
    return HelmError(f"{what}: values.yaml is {size} bytes, more than helm's limit of {MAX_VALUES_BYTES}")


def _in_chart(name: str) -> str:
    """An archive entry's path inside the chart (helm's loader: drop the top directory, clean)."""
    separator = "\\" if "\\" in name else "/"
    parts = name.split(separator)
    return posixpath.normpath("/".join(parts[1:])) if len(parts) > 1 else "."


def read_values(chart: Path, what: str = "") -> str:
    """The text ``helm show values <chart>`` prints for a chart archive or directory.

    ``""`` when the chart has no ``values.yaml``. An unreadable archive is a
    :class:`HelmError` naming ``what`` (default: the chart's file name).
    """
    what = what or f"values of {chart.name}"
    if chart.is_dir():
        path = chart / "values.yaml"
        try:
            size = path.stat().st_size
            if size > MAX_VALUES_BYTES:
                raise _too_big(what, size)
            return _text(path.read_bytes())
        except FileNotFoundError:
            return ""
        except OSError as exc:
            raise HelmError(f"{what}: could not read {path}: {exc.strerror or exc}") from None
    found: list[str] = []
    try:
        with tarfile.open(chart, "r:gz") as archive:
            for member in archive:
                if not member.isfile() or _in_chart(member.name) != "values.yaml":
                    continue
                if member.size > MAX_VALUES_BYTES:
                    raise _too_big(what, member.size)
                handle = archive.extractfile(member)
                if handle is not None:
                    found.append(_text(handle.read()))
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise HelmError(f"{what}: {chart.name} is not a readable chart archive: {exc}") from None
    except OSError as exc:
        raise HelmError(f"{what}: could not read {chart}: {exc.strerror or exc}") from None
    return "".join(found)
