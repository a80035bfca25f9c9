"""Use cases: plain functions that take their collaborators (unit of work, clock, ports)."""
