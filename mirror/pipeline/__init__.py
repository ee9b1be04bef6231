"""The pipelines: discover (source → filter → diff) and sync (plan → copy).

They emit events and return results; they never print.
"""
