"""Contract tests of the storage port: the same tests on every implementation."""
