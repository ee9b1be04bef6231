"""Rich consoles for outside text: nothing in a string is ever interpreted.

``markup=False`` (``[v1]`` stays a tag), ``emoji=False`` (``:smile:`` stays text),
``highlight=False`` (no colours guessed from content). Control characters are not rich's
business: the renderers escape outside text with :func:`mirror.text.escape` first. rich is
imported here, when a console is really needed, so commands that print nothing pay nothing.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["make_console"]


def make_console(stream: IO[str], *, force_terminal: bool | None = None, soft_wrap: bool = False) -> Console:
    from rich.console import Console

    return Console(file=stream, markup=False, emoji=False, highlight=False, soft_wrap=soft_wrap,
                   force_terminal=force_terminal)
