"""Version sources: one module per ``versionSource`` kind, all behind :class:`Source`."""
