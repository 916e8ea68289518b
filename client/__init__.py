"""The Python client library and the `videoctl` CLI (issue 4; not built yet)."""
