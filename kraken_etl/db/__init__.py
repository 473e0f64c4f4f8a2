"""The SQL ring: the only package (with `models/`) that speaks to PostgreSQL."""
