"""The REST gateway speaking the HTTP async-task contract (issue 3; not built yet)."""
