"""SQL that the ORM writes once for the process, for queries that every page asks alike.

Django builds and compiles a queryset's SQL anew each time it runs: for a query of a few joins
and subqueries some fifteen hundred Python calls, many times what running it and reading its few
rows cost. The safety banner on every therapist page and the lists of the therapist's dashboard
ask the same statements at every request, the signed-in therapist being all that changes. Here
each is built and compiled once, and each run puts its values into the SQL the ORM wrote, as
``iop.links`` reverses a URL once. The querysets stay the one place that says what is asked:
change one, and the SQL follows at the next start of the process.

- ``rows_of``: a whole statement that differs from one run to the next only in its values (a key,
  a moment, a day, a list of keys), written with a stand-in for each; it gives the rows as the
  queryset would. It is written once for each shape of the values (a list's length), and checked
  as it is written: a value the ORM worked out from one of them is refused, not taken for a
  constant.
- ``instances_of``: the same for a query of model instances, made as iterating it makes them.
- ``subquery_for_key``: the same for a subquery of one key that stands alone inside another query
  (``IN``).
- ``written_once``: correlated subqueries that are the same for every run (each client's first
  answer, say). Their SQL reads the row they belong to by its table's name, as Django writes an
  ``OuterRef`` to the outermost table: the query that carries them is on that table itself
  (``Client.objects...``) and is never put inside another query, which would rename it (such a
  query refuses, rather than read the wrong row)."""

import datetime
import itertools
from collections.abc import Callable, Sequence
from functools import cached_property

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connections
from django.db.models import Expression, IntegerField, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

# Placeholders for the values a statement is written with, two sets: each statement is written
# with the first and again with the second, to check the first (``_Written``). A key (an int), a
# moment (an aware datetime) or a day, each counted from these, so that every value has its own:
# no row's key (in the range of every integer column) and no moment or day of the clinic's life.
# The two sets differ in every part (sign and parity of a key; year, month, day, weekday, hour,
# minute, second and microsecond of a moment), so that a parameter the ORM worked out from a
# value (a day from a moment, say) differs too, and is caught.
STAND_INS = (
    (-987_654_321, datetime.datetime(1901, 2, 3, 4, 5, 6, 7, tzinfo=datetime.UTC), datetime.date(1801, 2, 3)),
    (-876_543_210, datetime.datetime(1902, 4, 7, 9, 11, 13, 15, tzinfo=datetime.UTC), datetime.date(1802, 4, 8)),
)
KEY = STAND_INS[0][0]
# The integers a database column holds (64 bits). The ORM answers a condition on a key outside
# them without asking the database (no row has it), which SQL written once cannot; some come
# straight from an address (/therapist/sessions/99999999999999999999/).
INTEGERS = range(-(2**63), 2**63)


def _kind(value) -> object:
    """What SQL written for ``value`` depends on: whether it is a key, a moment or a day, and for
    a list of keys its length. Anything else is refused, on every call."""
    if type(value) is int:
        return int
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return datetime.datetime
    if type(value) is datetime.date:
        return datetime.date
    if isinstance(value, list | tuple) and all(type(item) is int for item in value):
        return (list, len(value))
    raise TypeError(f"SQL is written once for keys, aware moments, days and lists of keys, not for {value!r}.")


def _stand_ins(values: Sequence, which: int) -> list:
    """A placeholder of the set ``which`` for each of ``values``, of its kind, each different."""
    key, moment, day = STAND_INS[which]
    counter = itertools.count()

    def stand_in(value):
        if isinstance(value, list | tuple):
            return [stand_in(item) for item in value]
        number = next(counter)
        if type(value) is int:
            return key - 2 * number
        if isinstance(value, datetime.datetime):
            return moment + datetime.timedelta(minutes=number)
        return day + datetime.timedelta(days=number)

    return [stand_in(value) for value in values]


class _Written:
    """A statement as the ORM writes ``query_of(*values)``, for any values of the same kinds
    (``_kind``): its SQL and parameters written with placeholders, and where among the
    parameters each value goes (as itself, or as the backend writes a moment or a day for a
    column: text on SQLite).

    It is written twice, with the two sets of placeholders, and the second must be the first with
    the second's values put in: a parameter the ORM worked out from a value (a moment six weeks
    earlier, a day from a moment) would otherwise be taken for a constant. Such a query is
    refused; its caller works the value out and passes it."""

    def __init__(self, query_of: Callable[..., QuerySet], values: Sequence):
        stand_ins = _stand_ins(values, 0)
        try:
            compiler, self.sql, self.params = self._write(query_of, stand_ins)
        except EmptyResultSet:
            self._refuse_unless_empty(query_of, values)
            self.sql = None
            return
        self.using = compiler.using
        # What the backend and the fields turn a column's value into (an aware datetime from
        # SQLite's text, for instance); the extra columns an ordering adds are not the row's.
        self.converters = compiler.get_converters([column for column, *_ in compiler.select[: compiler.col_count]])
        self.width = compiler.col_count if compiler.has_extra_select else None
        # How a row becomes a model instance with its related rows and annotations, for
        # ``instances_of``.
        self.select, self.klass_info = compiler.select, compiler.klass_info
        self.annotation_col_map = compiler.annotation_col_map
        found = {}
        for path, stand_in in self._each(stand_ins):
            found[type(stand_in), stand_in] = (path, False)
            if isinstance(stand_in, datetime.date):
                written = self._as_written(stand_in)
                found.setdefault((type(written), written), (path, True))
        self.places = {
            place: found[type(param), param] for place, param in enumerate(self.params) if (type(param), param) in found
        }
        others = _stand_ins(values, 1)
        _, sql, params = self._write(query_of, others)
        if sql != self.sql or params != self.filled(others):
            raise ValueError(
                "The query writes a value it worked out from one it was given: work it out before, and pass it."
            )
        asked = {path[0] for path, _ in self.places.values()}
        # An empty list asks for nothing (``IN ()`` matches no row: Django leaves it out).
        empty = {number for number, value in enumerate(values) if isinstance(value, list | tuple) and not value}
        if missing := sorted(set(range(len(values))) - asked - empty):
            raise ValueError(f"The query does not ask for the key (its value number {missing[0] + 1}).")

    def _refuse_unless_empty(self, query_of: Callable[..., QuerySet], values: Sequence) -> None:
        """Nothing can match when an empty list is all a condition asks (Django sends no query):
        true of every value of that shape. Otherwise a placeholder was refused (a negative key
        of a column of positive numbers)."""
        if not any(isinstance(value, list | tuple) and not value for value in values):
            raise ValueError("The query matches nothing for the placeholders: SQL cannot be written once for it.")
        try:
            self._write(query_of, _stand_ins(values, 1))
        except EmptyResultSet:
            return
        raise ValueError("The query matches nothing for one set of placeholders only.")

    def _write(self, query_of: Callable[..., QuerySet], values: Sequence) -> tuple[SQLCompiler, str, list]:
        queryset = query_of(*values)
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise ValueError("SQL written once is one statement, and rows made of it only: no prefetching.")
        # Whether iterating the queryset makes model instances (rather than rows of values).
        self.of_instances = queryset._iterable_class is ModelIterable
        compiler = queryset.query.get_compiler(queryset.db)
        sql, params = compiler.as_sql()
        return compiler, sql, list(params)

    @staticmethod
    def _each(values: Sequence):
        for number, value in enumerate(values):
            if isinstance(value, list | tuple):
                for item_number, item in enumerate(value):
                    yield (number, item_number), item
            else:
                yield (number, None), value

    @cached_property
    def reading(self) -> tuple[type[Model], list[str], tuple[int, int], list]:
        """For ``instances_of``: the model, the names of its fields read, where they are in a row,
        and what makes each related instance of the row (Django's own ``RelatedPopulator``)."""
        if not self.of_instances:
            raise ValueError("instances_of is for a query of model instances; for values, see rows_of.")
        fields = self.klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        names = [column[0].target.attname for column in self.select[start:end]]
        return (
            self.klass_info["model"],
            names,
            (start, end),
            get_related_populators(self.klass_info, self.select, self.using),
        )

    def rows(self, values: Sequence) -> list[tuple]:
        """The statement's rows for ``values``, each value as the ORM reads it. Each run reads and
        converts with its own thread's connection."""
        if self.sql is None:
            return []
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.filled(values))
            fetched = cursor.fetchall()
        if self.width is not None:
            fetched = [row[: self.width] for row in fetched]
        if not self.converters:
            return [tuple(row) for row in fetched]
        converted = []
        for row in fetched:
            row = list(row)
            for position, (functions, expression) in self.converters.items():
                for convert in functions:
                    row[position] = convert(row[position], expression, connection)
            converted.append(tuple(row))
        return converted

    def filled(self, values: Sequence) -> list:
        """The parameters with ``values`` in their places."""
        params = list(self.params)
        for place, ((number, item_number), as_written) in self.places.items():
            value = values[number] if item_number is None else values[number][item_number]
            params[place] = self._as_written(value) if as_written else value
        return params

    def _as_written(self, value: datetime.date):
        """A moment or a day as the backend writes it for a column (text on SQLite)."""
        ops = connections[self.using].ops
        if isinstance(value, datetime.datetime):
            return ops.adapt_datetimefield_value(value)
        return ops.adapt_datefield_value(value)


def _written_for(query_of: Callable[..., QuerySet]) -> Callable[[Sequence], _Written | None]:
    """``query_of`` written once for each kind of values it is asked with (``_kind``: a
    therapist's groups are a list of as many keys as they lead groups, a few lengths in all) and
    each time zone; None for keys no column holds (``INTEGERS``), which are asked the ORM's way."""
    written: dict[tuple, _Written] = {}

    def written_for(values: Sequence) -> _Written | None:
        # The SQL of a day in the clinic's zone names the zone (a roster's rule of membership).
        shape = (timezone.get_current_timezone_name(), *(_kind(value) for value in values))
        if not _in_range(values):
            return None
        if shape not in written:
            written[shape] = _Written(query_of, values)
        return written[shape]

    return written_for


def _in_range(values: Sequence) -> bool:
    return all(
        all(item in INTEGERS for item in value) if isinstance(value, list | tuple) else value in INTEGERS
        for value in values
        if type(value) is int or isinstance(value, list | tuple)
    )


def rows_of(query_of: Callable[..., QuerySet]) -> Callable[..., list[tuple]]:
    """The rows ``query_of(*values)`` gives, for any values: ``rows_of(query_of)(42, moment) ==
    list(query_of(42, moment))``. ``query_of`` returns a ``values_list()`` of fields (rows as
    tuples, each value as the ORM reads it); each of its parameters that depends on the values is
    one of them (a key, a moment, a day, a key of a list), and the others are constants.

    Nothing is written until the first call, so it decorates the function that says what is
    asked, and the module's callers call that::

        @rows_of
        def _week_starts(therapist_id: int, start: datetime.datetime) -> QuerySet: ...

        _week_starts(therapist.pk, monday)  # a list of tuples"""
    written_for = _written_for(query_of)

    def rows(*values) -> list[tuple]:
        written = written_for(values)
        if written is None:
            return [tuple(row) for row in query_of(*values)]
        if written.of_instances:
            raise ValueError("rows_of is for a query of values (values_list); for instances, see instances_of.")
        return written.rows(values)

    return rows


def instances_of(query_of: Callable[..., QuerySet]) -> Callable[..., list[Model]]:
    """The model instances ``query_of(*values)`` gives, for any values, as ``rows_of`` gives rows:
    each with the fields it reads (``only``), the related rows it selects (``select_related``)
    and its annotations, made from each row as iterating the queryset makes them (Django's
    ``ModelIterable``, from the compiler's plan of the row kept with the SQL). Not for a queryset
    that prefetches, which is more than one statement."""
    written_for = _written_for(query_of)

    def instances(*values) -> list[Model]:
        written = written_for(values)
        if written is None:
            return list(query_of(*values))
        rows = written.rows(values)
        if not rows:
            return []
        model, names, (start, end), populators = written.reading
        made = []
        for row in rows:
            instance = model.from_db(written.using, names, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in written.annotation_col_map.items():
                setattr(instance, name, row[position])
            made.append(instance)
        return made

    return instances


def subquery_for_key(query_of: Callable[[int], QuerySet]) -> Callable[[int], RawSQL]:
    """The SQL of ``query_of(key)`` for any key, to put in another query's ``IN`` (a therapist's
    clients): ``pk__in=subquery_for_key(query_of)(42)`` asks what ``pk__in=query_of(42)`` asks.
    For a query of one column that differs from one key to the next only in the key, and is not
    correlated to the query it is put in."""
    written = _Written(query_of, [KEY])
    return lambda key: RawSQL(written.sql, written.filled([key]), output_field=IntegerField())


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
