"""A module whose own import is missing (the nightly job must not mistake it for an absent package)."""

import kraken_etl_missing_dependency  # noqa: F401
