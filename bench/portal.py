"""Public portal benchmark: 100,000 reports on PostgreSQL, latency of the public pages.

Run:  .venv/bin/python bench/portal.py                     (about a minute)
      .venv/bin/python bench/portal.py --reports 20000 --requests 100    (a short run)
      .venv/bin/python bench/portal.py --explain          (also print the query plans)

Creates its own database on the server at `--pg` (default local trust auth), migrates it
(`alembic upgrade head`, so the portal's indexes from 0009 are there), bulk-inserts
`--reports` reports (a third published, 2% merged, 70% with a position, spread over two
years, 12 categories, 60 communes), ANALYZEs, then requests each page `--requests` times
through the real app (`backend.app.create_app`, in process, FastAPI TestClient: routing,
queries, masking and Jinja rendering, no network) and prints p50/p99 in milliseconds:

  list        /cong-dong                          first page, newest first
  list p.5    /cong-dong?after=…                  the fifth page (keyset)
  filtered    /cong-dong?category=…&commune=…     two filters, varying values
  urgent      /cong-dong?urgent=true&status=…
  dates       /cong-dong?date_from=…&date_to=…    a one-month range
  search      /cong-dong?q=<word>                 title search, varying words
  code        /cong-dong?q=<code>                 search by code
  report      /cong-dong/<code>                   report page, varying codes
  map json    /cong-dong/ban-do.json?category=…   up to 500 markers

The database is dropped at the end. A benchmark, not a test: asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/nlu.py would shadow the nlu package when run as a script: put the repository first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PAHT_CONFIG", str(ROOT / "paht.toml"))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

WORDS = [
    "Đèn đường hư",
    "Ổ gà giữa đường",
    "Rác thải ven sông",
    "Cống thoát nước nghẹt",
    "Lấn chiếm vỉa hè",
    "Cây xanh ngã đổ",
    "Tiếng ồn karaoke",
    "Nước sinh hoạt đục",
    "Xây dựng không phép",
    "Ngập nước sau mưa",
]
STATUSES = ["completed"] * 6 + ["in_progress", "assigned", "received", "rejected"]


@contextmanager
def database(pg: str) -> Iterator[str]:
    import psycopg

    admin = make_url(pg)
    name = f"paht_bench_{uuid.uuid4().hex[:8]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str, *, count: int, categories: list[str], rng: random.Random) -> None:
    from backend.db import make_engine
    from backend.reports.models import Report

    communes = [f"Phường {i}" for i in range(1, 41)] + [f"Xã {i}" for i in range(1, 21)]
    start = datetime.now(UTC) - timedelta(days=730)
    engine = make_engine(url)
    table = Report.__table__
    batch: list[dict[str, object]] = []
    with engine.begin() as conn:
        for i in range(count):
            created = start + timedelta(seconds=rng.randrange(730 * 86400))
            day = created.strftime("%Y%m%d")
            located = rng.random() < 0.7
            published = rng.random() < 0.33
            batch.append(
                {
                    "code": f"{day}{i:05d}"[:13],
                    "title": f"{rng.choice(WORDS)} số {i}",
                    "content": f"{rng.choice(WORDS)}, gọi 0912345678. " * 3,
                    "category": rng.choice(categories),
                    "category_source": "nlu",
                    "urgent": rng.random() < 0.05,
                    "urgent_reasons": [],
                    "status": rng.choice(STATUSES),
                    "commune_name": rng.choice(communes),
                    "location_old_names": [],
                    "lat": 10.2 + rng.random() * 0.1 if located else None,
                    "lon": 105.9 + rng.random() * 0.1 if located else None,
                    "reporter_name": "Nguyễn Văn A",
                    "reporter_phone": "+84912345678",
                    "anonymous": False,
                    "public_consent": published,
                    "published": published,
                    "channel": "zalo",
                    "due_at": created + timedelta(days=10),
                    "answer": "<p>Đã xử lý xong.</p>" if published else None,
                    "answered_at": created + timedelta(days=3) if published else None,
                    "reopened_count": 0,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(table), batch)
                batch.clear()
        if batch:
            conn.execute(insert(table), batch)
        # 2% are duplicates merged into an earlier report
        conn.execute(
            text(
                "UPDATE reports SET merged_into_id = id - 1, status = 'merged', published = false"
                " WHERE id % 50 = 0"
            )
        )
        conn.execute(text("ANALYZE reports"))
    engine.dispose()


def timed(call: Callable[[], object], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples), p99


def explain(url: str, category: str) -> None:
    from backend.db import make_engine

    queries = {
        "list": "SELECT id FROM reports WHERE published AND merged_into_id IS NULL"
        " ORDER BY created_at DESC, id DESC LIMIT 21",
        "filtered": "SELECT id FROM reports WHERE published AND merged_into_id IS NULL"
        f" AND category = '{category}' AND commune_name = 'Phường 7'"
        " ORDER BY created_at DESC, id DESC LIMIT 21",
        "search": "SELECT id FROM reports WHERE published AND merged_into_id IS NULL"
        " AND (code = 'ổ gà' OR title ILIKE '%ổ gà%') ORDER BY created_at DESC, id DESC LIMIT 21",
        "search rare": "SELECT id FROM reports WHERE published AND merged_into_id IS NULL"
        " AND (code = 'số 4242' OR title ILIKE '%số 4242%')"
        " ORDER BY created_at DESC, id DESC LIMIT 21",
    }
    engine = make_engine(url)
    with engine.connect() as conn:
        for name, sql in queries.items():
            plan = conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")).scalars().all()
            print(f"-- {name}\n" + "\n".join(plan))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from backend.app import create_app
    from backend.migrate import upgrade
    from backend.reports.models import Report
    from backend.settings import load_settings
    from nlu import load_nlu

    rng = random.Random(7)
    with database(args.pg) as url:
        upgrade(url)
        settings = load_settings(database_url=url, env="test")
        categories = [c.id for c in settings.categories]
        t0 = time.perf_counter()
        seed(url, count=args.reports, categories=categories, rng=rng)
        print(f"seeded {args.reports:,} reports in {time.perf_counter() - t0:.1f} s")
        if args.explain:
            explain(url, categories[0])
        with tempfile.TemporaryDirectory() as model_dir:
            nlu = load_nlu(
                categories=categories,
                province_code=settings.province.code,
                model_dir=Path(model_dir),
            )
            app = create_app(settings, nlu=nlu)
            with TestClient(app) as client:
                with app.state.sessions() as session:
                    public = select(Report.code).where(
                        Report.published.is_(True), Report.merged_into_id.is_(None)
                    )
                    codes = session.scalars(public.limit(2000)).all()
                    published = session.scalar(
                        select(text("count(*)")).select_from(public.subquery())
                    )
                print(f"{published:,} published and listed")
                run(client, codes=codes, categories=categories, rng=rng, n=args.requests)


def run(client, *, codes, categories, rng, n) -> None:  # type: ignore[no-untyped-def]
    def get(url: str, **params: object) -> None:
        response = client.get(url, params=params)
        assert response.status_code == 200, (url, params, response.status_code)

    def fifth_page() -> None:
        url = "/cong-dong"
        for _ in range(5):
            page = client.get(url).text
            start = page.index('rel="next" href="') + len('rel="next" href="')
            url = page[start : page.index('"', start)].replace("&amp;", "&")

    def dates() -> None:
        start = datetime(2025, 1, 1) + timedelta(days=rng.randrange(600))
        end = start + timedelta(days=30)
        get("/cong-dong", date_from=start.date().isoformat(), date_to=end.date().isoformat())

    cases: dict[str, Callable[[], object]] = {
        "list": lambda: get("/cong-dong"),
        "list p.5 (5 pages)": fifth_page,
        "filtered": lambda: get(
            "/cong-dong",
            category=rng.choice(categories),
            commune=f"Phường {rng.randrange(1, 41)}",
        ),
        "urgent": lambda: get("/cong-dong", urgent="true", status="completed"),
        "dates": dates,
        "search": lambda: get("/cong-dong", q=rng.choice(WORDS).split()[0].lower()),
        "search rare": lambda: get("/cong-dong", q=f"số {rng.randrange(100_000)}"),
        "code": lambda: get("/cong-dong", q=rng.choice(codes)),
        "report": lambda: get(f"/cong-dong/{rng.choice(codes)}"),
        "map json": lambda: get("/cong-dong/ban-do.json", category=rng.choice(categories)),
    }
    print(f"{'page':<22}{'p50 ms':>10}{'p99 ms':>10}   ({n} requests each)")
    for name, call in cases.items():
        timed(call, max(5, n // 10))  # warm up
        p50, p99 = timed(call, n)
        print(f"{name:<22}{p50:>10.1f}{p99:>10.1f}")


if __name__ == "__main__":
    main()
