"""Integration tests: real servers in-process on loopback ports, against real stores."""
