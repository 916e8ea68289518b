"""The REST gateway: the HTTP async-task contract in front of the gRPC server.

POST /videos/tasks → 202 + Content-Location; GET /videos/tasks/{task} → 200
pending, or 303 See Other to the video once done. It calls the gRPC server
as a client and keeps no state of its own.
"""
