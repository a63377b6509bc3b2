"""Where one page's time goes: its queries with their times, and the Python functions that cost most.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 \\
    .venv/bin/python bench/profile_page.py --database iop_scale_copy 'admin: attendances search'
        [--repeat 5] [--top 25] [--explain]

The pages are bench/pages.py's (the same names, found the same way); the regular expression picks
one or more. Each page is asked in this process through Django's test client, signed in as
bench/pages.py signs in, with production settings: first once to warm up, then ``--repeat``
times for the median, then once under cProfile and once with every query captured. It prints the
median, the queries (slowest first, with their ms), and the functions with the most time of
their own and the most cumulative time. ``--explain`` also prints PostgreSQL's plan (EXPLAIN
ANALYZE) of the slowest query. Give it a copy of the scale database: pages write audit rows.
Not part of the test suite.
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pages as bench_pages  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="a regular expression over bench/pages.py's page names")
    parser.add_argument("--database", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--callees", help="also print what the functions matching this regular expression call")
    options = parser.parse_args()
    os.environ.update(bench_pages.SERVER_ENV)
    os.environ["DATABASE_URL"] = f"postgres://{options.user}@{options.host}:5432/{options.database}"

    import django

    django.setup()
    bench_pages.collect_static()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pages = [page for page in bench_pages.discover_pages() if re.search(options.page, page.name)]
    if not pages:
        sys.exit(f"No page matches {options.page!r}.")
    browsers = bench_pages.signed_in_clients()
    for page in pages:
        browser = browsers[page.who]
        browser.get(page.url, headers=page.headers)
        times = []
        for _ in range(options.repeat):
            started = time.perf_counter()
            response = browser.get(page.url, headers=page.headers)
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            browser.get(page.url, headers=page.headers)
        # Taken now: the next request empties the connection's log (request_started).
        captured = list(queries.captured_queries)
        profile = cProfile.Profile()
        profile.enable()
        browser.get(page.url, headers=page.headers)
        profile.disable()

        print(f"\n=== {page.name}: {page.url}")
        print(f"HTTP {response.status_code}, median {statistics.median(times):.1f} ms of {options.repeat}")
        timed = sorted(captured, key=lambda query: -float(query["time"]))
        total = sum(float(query["time"]) for query in timed) * 1000
        print(f"{len(timed)} queries, {total:.1f} ms in the database:")
        for query in timed:
            print(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:400]}")
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(options.top)
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
        if options.callees:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_callees(options.callees)
            print(out.getvalue()[:8000])
        if options.explain and timed and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + timed[0]["sql"])
                print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
