"""Time `create_report` with and without the duplicate clustering of backend.clusters.

    .venv/bin/python bench/clusters.py [--database-url sqlite:///var/bench-clusters.db]
        [--open 5000] [--rounds 200]

Seeds `--open` open reports in one commune around one point over the last week
(the worst case: every one is a neighbour, so the look-up reads `max_candidates`
rows and scores them), then creates `--rounds` reports with clustering on and as
many with it off, one transaction each, and prints p50/p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

TEXTS = (
    "Ổ gà lớn giữa đường trước chợ, xe máy té liên tục",
    "Đèn đường hẻm 12 bị tắt cả tuần nay, tối om",
    "Rác thải đổ bừa bãi cạnh kênh, bốc mùi hôi thối",
    "Cây xanh nghiêng sắp đổ ra đường, rất nguy hiểm",
    "Cống bể tràn nước thải ra đường số 45",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--open", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    root = here.parent
    os.environ.setdefault("PAHT_CONFIG", str(root / "paht.toml"))
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench-clusters.db"

    from backend.db import make_engine, make_session_factory, unit_of_work
    from backend.migrate import upgrade
    from backend.reports.schemas import ReportCreate
    from backend.reports.service import create_report
    from backend.settings import DuplicateSettings, load_settings

    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    settings = load_settings(database_url=url, env="test")
    now = datetime.now(UTC)
    rng = random.Random(7)

    def data() -> ReportCreate:
        return ReportCreate(
            content=f"{rng.choice(TEXTS)} (số {rng.randint(1, 999)})",
            category="giao_thong",
            channel="zalo",
            commune_code="31153",
            lat=9.928 + rng.uniform(-0.002, 0.002),
            lon=105.747 + rng.uniform(-0.002, 0.002),
        )

    off = settings.model_copy(update={"duplicates": DuplicateSettings(enabled=False)})
    with unit_of_work(sessions) as session:
        for i in range(args.open):
            at = now - timedelta(minutes=(args.open - i) * 7 * 24 * 60 / args.open)
            create_report(session, data=data(), settings=off, now=at)

    def timed(config: object) -> list[float]:
        took = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            with unit_of_work(sessions) as session:
                create_report(session, data=data(), settings=config, now=datetime.now(UTC))
            took.append((time.perf_counter() - start) * 1000)
        return took

    for name, config in (("clustering off", off), ("clustering on", settings)):
        took = sorted(timed(config))
        p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
        print(f"{name:15} p50 {statistics.median(took):7.1f} ms   p99 {p99:7.1f} ms")


if __name__ == "__main__":
    main()
