"""Subqueries whose SQL is written once for the process.

Building and compiling a subquery costs Django a few hundred calls at every use: a compiler of
its own, its joins, columns, conditions and order, written out again. The dashboard's lists ask
for subqueries that are the same for every therapist (the first and latest answer of each
questionnaire, whether a discharge summary is signed) or differ only in the therapist's key (their
clients), and paid that at every request, for SQL that never changes. Here the ORM writes each
one once, and the queries that use it carry that SQL as it is (``RawSQL``): the same statement,
the same plan, none of the building or compiling.

A correlated subquery (``written_once``) reads the row it belongs to by its table's name
(``"clients_client"."id"``), as Django writes an ``OuterRef`` to the outermost table: a query
that uses it has the model's table as its own (``Client.objects...``), and is not itself put
inside another query, which would rename that table. A subquery written for any key
(``written_for_key``) stands alone, for ``IN``."""

from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Expression, IntegerField, Model, QuerySet
from django.db.models.expressions import RawSQL


def written_once(model: type[Model], **subqueries: Expression) -> dict[str, RawSQL]:
    """Each of ``subqueries`` (an ``Exists`` or ``Subquery`` correlated by ``OuterRef`` to a row
    of ``model``) as the SQL the ORM writes for it in a query of ``model``, with its output field
    (so its values are read as the subquery's are)."""
    query = model._default_manager.alias(**subqueries).query
    compiler = query.get_compiler(DEFAULT_DB_ALIAS)
    return {
        name: RawSQL(*compiler.compile(query.annotations[name]), output_field=query.annotations[name].output_field)
        for name in subqueries
    }


# Stands for a row's key in SQL written once for every key (``written_for_key``): never a row's
# key, and within the range of every integer column, so that the ORM writes a condition on it as
# it writes one on any key.
KEY = -987_654_321


def written_for_key(query_of: Callable[[int], QuerySet]) -> Callable[[int], RawSQL]:
    """The SQL of ``query_of(key)`` for any key, for ``IN``: written once with a stand-in for the
    key (as ``iop.links`` reverses a URL once), each call putting its key in the stand-in's
    place. For a query that differs from one key to the next only in the key (a therapist's
    clients), and is not correlated to the query it is put in."""
    query = query_of(KEY)
    sql, params = query.query.get_compiler(query.db).as_sql()
    places = [place for place, value in enumerate(params) if type(value) is int and value == KEY]
    if not places:
        raise ValueError("The query does not ask for the key.")

    def written(key: int) -> RawSQL:
        filled = list(params)
        for place in places:
            filled[place] = key
        return RawSQL(sql, filled, output_field=IntegerField())

    return written
