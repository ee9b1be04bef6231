"""Test bed shared by every test: real registries, TLS material, a token server, and
stdlib-only helpers that push and read images (so tests never depend on the code under test
to set up or check their own data)."""
