"""gRPC handlers: validate, make one store call, answer. Never the slow work."""
