"""Unit tests: pure functions, parsers and the store contract on real files; no servers, no processes."""
