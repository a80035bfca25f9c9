"""Adapters to the outside world (SQL lives in sql/): files, logs, tokens, hashing."""
