import pytest
from django.db import connection


@pytest.mark.django_db
def test_database_is_postgres_with_pgvector() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    assert connection.vendor == "postgresql"
    assert row is not None and row[0].startswith("0.8")
