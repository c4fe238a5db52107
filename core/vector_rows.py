"""Rows with pgvector columns in binary form: reads that return numpy vectors, and COPY writes.

Through Django's client-side cursors a 384-float vector travels as text, and formatting or parsing it in
Python costs more than everything else a bulk step does with it (a profile rebuild spent 11 s of 49 in
pgvector's text conversion). These helpers use a plain psycopg cursor on Django's connection, so they run
in the caller's transaction, with binary results and binary COPY.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import psycopg
from django.db import connection
from psycopg.types.json import Jsonb

VECTOR_HEADER = 4  # pgvector's binary form: dimensions (uint16), unused (uint16), then big-endian float32s


def vector_from_binary(data: bytes | None) -> np.ndarray | None:
    """A pgvector value read in binary form as float32 (None stays None)."""
    if data is None:
        return None
    return np.frombuffer(data, dtype=">f4", offset=VECTOR_HEADER).astype(np.float32)


def vector_to_binary(vector: np.ndarray | None) -> bytes | None:
    """The pgvector binary form of a 1-d vector (None stays None)."""
    if vector is None:
        return None
    values = np.asarray(vector, dtype=">f4")
    return len(values).to_bytes(2, "big") + b"\0\0" + values.tobytes()


def fetch_binary(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    """All rows of a query, fetched in binary form (vector columns as bytes: `vector_from_binary`).
    Placeholders are psycopg's (`%s`, `%(name)s`), bound on the server."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def copy_rows(table: str, columns: Sequence[str], types: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into `table` in binary form; `types` are the columns' PostgreSQL types ("vector" columns take
    `vector_to_binary` bytes, "jsonb" columns plain dicts). Returns the number of rows written."""
    connection.ensure_connection()
    count = 0
    with (
        psycopg.Cursor(connection.connection) as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        # binary COPY sends no type per field: the server reads each with its column's type, so a vector
        # goes as bytea (written unchanged) holding pgvector's binary form
        copy.set_types(["bytea" if kind == "vector" else kind for kind in types])
        jsonb = [i for i, kind in enumerate(types) if kind == "jsonb"]
        for row in rows:
            values = list(row)
            for i in jsonb:
                values[i] = Jsonb(values[i])
            copy.write_row(values)
            count += 1
    return count
