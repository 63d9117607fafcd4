"""Search over 10,000 job postings: p50/p99 per query, in the process that answers chat.

    python bench/jobs_search.py [--postings 10000]
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time

import redis

from bot.runtime.storage import embedded_socket, stop_embedded
from domain.jobs import Jobs, Posting, default_expiry

TITLES = ["货车司机", "仓库分拣员", "快递派送员", "护理员", "养老护理员", "药店营业员", "数控车床操作工", "质检员", "电工",
          "装配普工", "物业客服", "收银员", "手机销售顾问", "厨师", "餐厅服务员", "小学辅导老师", "课程顾问",
          "电商运营助理", "短视频剪辑", "网络维护", "社区网格员", "会计助理", "叉车司机", "理货员"]
CATEGORIES = ["物流司机", "医疗护理", "制造技工", "客服销售", "餐饮服务", "教育培训", "电商新媒体", "行政文员"]
EMPLOYERS = ["顺达物流", "区人民医院", "鑫源精密制造", "华明电器", "凯旋城物业", "万家福超市", "乡味餐饮", "启航教育",
             "云帆网络科技", "恒信会计师事务所"]
QUERIES = ["司机", "护理", "电工证", "物流园 司机", "会计", "剪辑", "宇航员", "B2"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postings", type=int, default=10_000)
    args = ap.parse_args()
    data_dir = tempfile.mkdtemp(prefix="yb-bench-jobs-")
    r = redis.Redis(unix_socket_path=embedded_socket(data_dir), decode_responses=True)
    r.config_set("appendfsync", "no")  # seeding speed only
    rng, jobs, now = random.Random(7), Jobs(r), time.time()
    for i in range(args.postings):
        published = now - rng.randint(0, 25) * 86400
        jobs.save(Posting(f"p{i}", rng.choice(EMPLOYERS) + f"{i % 97}号店", rng.choice(TITLES), rng.choice(CATEGORIES),
                          "4000-6000元/月", rng.choice(["物流园", "工业园", "步行街", "各社区"]), "高中及以上",
                          rng.choice(["持B2驾照", "有电工证", "无经验可培训", "会用Excel", "普通话标准"]), 2, "x",
                          published, default_expiry(published)))
    t0 = time.perf_counter()
    jobs.open(now)  # first read after a change loads every posting into the process
    load_ms = (time.perf_counter() - t0) * 1000
    print(f"search over {args.postings:,} postings (substring match, every word must appear); "
          f"first load after a change {load_ms:.0f} ms")
    all_samples = []
    for q in QUERIES:
        samples = []
        for _ in range(300):
            t = time.perf_counter()
            found = jobs.search(q, now)
            samples.append((time.perf_counter() - t) * 1000)
        all_samples += samples
        print(f"  {q!r:14} {len(found):>5} found   p50 {statistics.median(samples):.2f} ms   "
              f"p99 {statistics.quantiles(samples, n=100)[98]:.2f} ms")
    print(f"all queries: p50 {statistics.median(all_samples):.2f} ms, "
          f"p99 {statistics.quantiles(all_samples, n=100)[98]:.2f} ms (target p99 < 10 ms)")
    stop_embedded(data_dir)


if __name__ == "__main__":
    main()
