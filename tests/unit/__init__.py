"""Unit tests: pure functions, parsers, and the store contract on real files.

No servers and no processes."""
