"""Time the gazetteer load and `Locator.find` / `locate_point` on typical messages.

    .venv/bin/python bench/location.py [--province 86] [--rounds 2000]

Load is measured in a fresh process (the first call of `load_gazetteer()`),
latency as the mean over all messages after one warm-up pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

MESSAGES = (
    "Đèn đường hẻm 12 Nguyễn Trãi phường 3 bị tắt cả tuần nay",
    "Ổ gà lớn trên đường Phạm Thái Bường, gần chợ Long Hồ, rất nguy hiểm cho xe máy",
    "rac thai o ap phu thanh xa long my huyen mang thit lau qua khong ai don",
    "Xin chào, tôi muốn phản ánh tình trạng ngập nước kéo dài ở khu phố 3 P.9 TP Vĩnh Long",
    "cay nga chan ngang duong km 15 QL1A gan cau My Thuan",
    "Cống bể tràn nước thải ra đường số 45 đường 3/2, phường 1, Bến Tre",
    "cảm ơn anh chị đã hỗ trợ",
    "F9 nha em bi cup dien tu sang toi gio",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--province", default="86")
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    # bench/nlu.py would shadow the nlu package when this runs as a script.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]

    from nlu.gazetteer import load_gazetteer
    from nlu.location import Locator

    start = time.perf_counter()
    gazetteer = load_gazetteer()
    load_s = time.perf_counter() - start
    locator = Locator(gazetteer, province_code=args.province)
    for text in MESSAGES:
        locator.find(text)

    per_message = []
    for text in MESSAGES:
        start = time.perf_counter()
        for _ in range(args.rounds):
            locator.find(text)
        per_message.append((time.perf_counter() - start) / args.rounds * 1000)
    start = time.perf_counter()
    for i in range(args.rounds):
        locator.locate_point(10.0 + (i % 100) / 100, 106.0)
    point_ms = (time.perf_counter() - start) / args.rounds * 1000

    print(f"load_gazetteer: {load_s * 1000:.0f} ms")
    print(
        f"find: mean {statistics.mean(per_message):.3f} ms, "
        f"max {max(per_message):.3f} ms over {len(MESSAGES)} messages"
    )
    print(f"locate_point: {point_ms:.3f} ms")


if __name__ == "__main__":
    main()
