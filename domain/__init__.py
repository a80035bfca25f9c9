"""Pure business rules: no Azure, no SQL, no I/O. Adapters are passed in by the callers."""
