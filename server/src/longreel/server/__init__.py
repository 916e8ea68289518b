"""The gRPC server: VideoService, google.longrunning.Operations, health and reflection.

Calls flow one way: request → handler (api/) → one store transaction →
job → worker → processor → store → completion signal (notify.py).
"""
