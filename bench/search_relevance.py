"""Relevance of the search over the demo town: nDCG@10, zero results and absent items, per backend.

    .venv/bin/python -m bench.search_relevance [--backend tantivy|elasticsearch] [--worst 10]

The judged queries are in bench/search_queries.py, in groups (the first set, single items among their
category's siblings, English words, product codes, "near me", occasions beside the thing, things the
town does not sell). A result that stands for several shops' copies of one GTIN counts with the best
grade among them, and the ideal ranking is collapsed the same way. For each backend the report gives
nDCG@10 over every query that has a wanted product and per group, the zero-result rate over those same
queries, and the absent-item rate: the share of queries for things the town does not sell that show no
product at all (the right answer there).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from bench.search_queries import JUDGED
from bench.support import backends, demo_documents, workdir
from search.documents import ProductDocument
from search.query import SearchQuery

K = 10


def dcg(grades: list[int]) -> float:
    return sum((2**grade - 1) / math.log2(position + 2) for position, grade in enumerate(grades[:K]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("tantivy", "elasticsearch"))
    parser.add_argument("--worst", type=int, default=8, help="list the queries with the lowest nDCG")
    args = parser.parse_args()
    group_names = list(dict.fromkeys(query.group for query in JUDGED if not query.absent))
    absent_queries = [query for query in JUDGED if query.absent]
    with workdir() as folder:
        root = Path(folder)
        docs, records = demo_documents(root)
        groups: dict[str, list[ProductDocument]] = {}
        for document in docs:
            groups.setdefault(document.group, []).append(document)
        group_of = {document.id: document.group for document in docs}
        print(
            f"{len(JUDGED)} judged queries ({len(absent_queries)} for absent items) over {len(docs)} "
            f"demo products ({len(groups)} after GTIN collapse)"
        )
        with backends(root, args.backend) as chosen:
            for name, backend in chosen:
                backend.rebuild([docs])
                scores: list[tuple[float, str, str, list[Any]]] = []
                zero = 0
                shown_absent: list[tuple[str, list[Any]]] = []
                for query in JUDGED:
                    search = SearchQuery(
                        text=query.text, near=query.near, within_km=query.radius_km, per_page=K
                    )
                    hits = backend.search(search).hits
                    titles = [records[hit.product_id]["title"] for hit in hits[:3]]
                    if query.absent:
                        if hits:
                            shown_absent.append((query.text, titles))
                        continue
                    grade_of_group = {
                        group: max(query.wanted(records[member.id]) for member in members)
                        for group, members in groups.items()
                    }
                    ideal = dcg(sorted(grade_of_group.values(), reverse=True))
                    assert ideal > 0, f"no relevant product for {query.text!r}: fix its judgment"
                    zero += not hits
                    grades = [grade_of_group[group_of[hit.product_id]] for hit in hits]
                    scores.append((dcg(grades) / ideal, query.group, query.text, titles))
                mean = sum(score for score, *_rest in scores) / len(scores)
                absent_rate = 1 - len(shown_absent) / len(absent_queries) if absent_queries else 1.0
                print(
                    f"{name:>14}: nDCG@{K} {mean:.3f} ({len(scores)} queries)   "
                    f"zero-result rate {zero / len(scores):.1%}   "
                    f"absent-item rate {absent_rate:.1%} ({len(absent_queries)} queries)"
                )
                for group in group_names:
                    in_group = [score for score, of, *_rest in scores if of == group]
                    print(
                        f"{'':>16}{group:<10} nDCG@{K} {sum(in_group) / len(in_group):.3f} ({len(in_group)})"
                    )
                for score, group, text, titles in sorted(scores)[: args.worst]:
                    print(f"{'':>16}{score:.2f}  [{group}] {text!r}: {titles}")
                for text, titles in shown_absent[: args.worst]:
                    print(f"{'':>16}absent but shown  {text!r}: {titles}")


if __name__ == "__main__":
    main()
