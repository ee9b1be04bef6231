"""``python -m mirror`` is the same as the ``image-mirror`` console script."""

from .cli import main

raise SystemExit(main())
