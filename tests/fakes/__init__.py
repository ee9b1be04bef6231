"""Fakes of services tests cannot reach or must break on purpose (GitHub, proxies, registries)."""
