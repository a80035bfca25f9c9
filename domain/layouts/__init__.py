"""One module per file format; each declares its records as `Layout` tables."""
