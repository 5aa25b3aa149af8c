"""Service tests on the in-memory store: unit speed, no moto, no sockets."""
