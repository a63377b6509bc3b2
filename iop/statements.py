"""SQL that the ORM writes once for the process, for queries that every page asks alike.

Django builds and compiles a queryset's SQL anew each time it runs: for a query of a few joins
and subqueries some fifteen hundred Python calls, many times what running it and reading its few
rows cost. The safety banner on every therapist page and the lists of the therapist's dashboard
ask the same statements at every request, the signed-in therapist being all that changes. Here
each is built and compiled once, and each run puts its values into the SQL the ORM wrote, as
``iop.links`` reverses a URL once. The querysets stay the one place that says what is asked:
change one, and the SQL follows at the next start of the process.

- ``rows_of``: a whole statement that differs from one run to the next only in one key, written
  with a stand-in for the key; it gives the rows as the queryset would.
- ``subquery_for_key``: the same for a subquery that stands alone inside another query (``IN``).
- ``written_once``: correlated subqueries that are the same for every run (each client's first
  answer, say). Their SQL reads the row they belong to by its table's name, as Django writes an
  ``OuterRef`` to the outermost table: the query that carries them is on that table itself
  (``Client.objects...``) and is never put inside another query, which would rename it (such a
  query refuses, rather than read the wrong row)."""

from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connections
from django.db.models import Expression, IntegerField, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler

# Stands for the key in SQL written for every key: no row's key, and in the range of every integer
# column, so that the ORM writes a condition on it as it writes one on any key.
KEY = -987_654_321


def _with_key(query_of: Callable[[int], QuerySet]) -> tuple[SQLCompiler, str, list, list[int]]:
    """The compiler of ``query_of(KEY)``, its SQL and parameters, and where among them the key
    stands."""
    queryset = query_of(KEY)
    compiler = queryset.query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    places = [place for place, value in enumerate(params) if type(value) is int and value == KEY]
    if not places:
        raise ValueError("The query does not ask for the key.")
    return compiler, sql, list(params), places


def _filled(params: list, places: list[int], key: int) -> list:
    filled = list(params)
    for place in places:
        filled[place] = key
    return filled


def rows_of(query_of: Callable[[int], QuerySet]) -> Callable[[int], list[tuple]]:
    """The rows ``query_of(key)`` gives, for any key: ``rows_of(query_of)(42) ==
    list(query_of(42))``. ``query_of`` returns a ``values_list()`` of fields (rows as tuples, each
    value as the ORM reads it) whose only parameter that depends on the key is the key itself."""
    compiler, sql, params, places = _with_key(query_of)
    # What the backend and the fields turn a column's value into (an aware datetime from SQLite's
    # text, for instance); each run converts with its own thread's connection.
    converters = compiler.get_converters([column for column, *_ in compiler.select[: compiler.col_count]])
    alias = compiler.using

    def rows(key: int) -> list[tuple]:
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(sql, _filled(params, places, key))
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


def subquery_for_key(query_of: Callable[[int], QuerySet]) -> Callable[[int], RawSQL]:
    """The SQL of ``query_of(key)`` for any key, to put in another query's ``IN`` (a therapist's
    clients): ``pk__in=subquery_for_key(query_of)(42)`` asks what ``pk__in=query_of(42)`` asks.
    For a query of one column that differs from one key to the next only in the key, and is not
    correlated to the query it is put in."""
    _, sql, params, places = _with_key(query_of)
    return lambda key: RawSQL(sql, _filled(params, places, key), output_field=IntegerField())


class _CorrelatedSQL(RawSQL):
    """SQL that reads the row it belongs to by its table's name (``written_once``). A query that
    carries it and is put inside another query has its table renamed (``U0``), which SQL written
    once cannot follow: the subquery would read the outer query's row instead, or none. Django
    renames each expression of a query so put (``relabeled_clone``); this one refuses."""

    def __init__(self, sql: str, params, *, table: str, output_field):
        super().__init__(sql, params, output_field=output_field)
        self.table = table

    def relabeled_clone(self, change_map):
        if self.table in change_map:
            raise NotSupportedError(f"SQL written once for a query of {self.table} cannot be put inside another query.")
        return super().relabeled_clone(change_map)


def written_once(model: type[Model], **subqueries: Expression) -> dict[str, RawSQL]:
    """Each of ``subqueries`` (an ``Exists`` or ``Subquery`` correlated by ``OuterRef`` to a row
    of ``model``) as the SQL the ORM writes for it in a query of ``model``, with its output field
    (so its values are read as the subquery's are). See the module's note on where it may go; a
    query that carries it refuses to be put inside another (``_CorrelatedSQL``)."""
    query = model._default_manager.alias(**subqueries).query
    compiler = query.get_compiler(DEFAULT_DB_ALIAS)
    written = {}
    for name in subqueries:
        sql, params = compiler.compile(query.annotations[name])
        written[name] = _CorrelatedSQL(
            sql, params, table=model._meta.db_table, output_field=query.annotations[name].output_field
        )
    return written
