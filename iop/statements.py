"""A query that a page runs for one key, compiled once.

Django builds a queryset's SQL anew at each run: for a query of a few joins some fifteen hundred
Python calls, many times what running it and reading its few rows cost. A query that every page
asks with only one value changing (the signed-in therapist) is built and compiled once, with a
stand-in for that value, and each run puts the value in its place, as ``iop.links`` does for a
URL. The SQL is still the ORM's: the queryset stays the one place that says what is asked."""

from collections.abc import Callable

from django.db import connections
from django.db.models import QuerySet

# Stands for the key in the one compiled statement: no row has it, and no other parameter of a
# statement is this number (``rows_of`` checks that the key is in the statement at all).
KEY = 9_876_543_210


def rows_of(build: Callable[[int], QuerySet]) -> Callable[[int], list[tuple]]:
    """The rows ``build(key)`` gives, for any key: ``rows_of(build)(42) == list(build(42))``.
    ``build`` returns a ``values_list()`` of fields (rows as tuples, the fields' values as the
    ORM reads them) whose only parameter that depends on the key is the key itself."""
    queryset = build(KEY)
    compiler = queryset.query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    if KEY not in params:
        raise ValueError("The statement does not depend on its key.")
    # What the backend turns a column's value into (a datetime from SQLite's text, for instance);
    # each run converts with its own thread's connection.
    converters = compiler.get_converters([column for column, *_ in compiler.select[: compiler.col_count]])
    alias = queryset.db

    def rows(key: int) -> list[tuple]:
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(sql, [key if param == KEY else param for param in params])
            fetched = cursor.fetchall()
        if not converters:
            return [tuple(row) for row in fetched]
        converted = []
        for row in fetched:
            row = list(row)
            for position, (functions, expression) in converters.items():
                for convert in functions:
                    row[position] = convert(row[position], expression, connection)
            converted.append(tuple(row))
        return converted

    return rows
