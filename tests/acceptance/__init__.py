"""Acceptance tests: our programs as processes, other languages, the browser, crash loops."""
