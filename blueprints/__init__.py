"""HTTP and timer entry points, one blueprint per integration; thin by design."""
