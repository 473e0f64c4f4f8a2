"""The full drills reuse the test suite's fixtures (a real PostgreSQL per test)."""

from tests.conftest import db_url, pg_admin_url, pg_template  # noqa: F401
from tests.drills.conftest import engine  # noqa: F401
