"""Relevance of the search over the demo town: nDCG@10 and the zero-result rate, per backend.

    .venv/bin/python -m bench.search_relevance [--backend tantivy|elasticsearch] [--worst 10]

The judged queries are in bench/search_queries.py. A result that stands for several shops' copies
of one GTIN counts with the best grade among them, and the ideal ranking is collapsed the same way.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from bench.search_queries import QUERIES
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
    with workdir() as folder:
        root = Path(folder)
        docs, records = demo_documents(root)
        groups: dict[str, list[ProductDocument]] = {}
        for document in docs:
            groups.setdefault(document.group, []).append(document)
        group_of = {document.id: document.group for document in docs}
        print(
            f"{len(QUERIES)} judged queries over {len(docs)} demo products "
            f"({len(groups)} after GTIN collapse)"
        )
        with backends(root, args.backend) as chosen:
            for name, backend in chosen:
                backend.rebuild([docs])
                scores: list[tuple[float, str, list[Any]]] = []
                zero = 0
                for text, judge in QUERIES:
                    grade_of_group = {
                        group: max(judge(records[member.id]) for member in members)
                        for group, members in groups.items()
                    }
                    ideal = dcg(sorted(grade_of_group.values(), reverse=True))
                    assert ideal > 0, f"no relevant product for {text!r}: fix its judgment"
                    hits = backend.search(SearchQuery(text=text, per_page=K)).hits
                    zero += not hits
                    grades = [grade_of_group[group_of[hit.product_id]] for hit in hits]
                    titles = [records[hit.product_id]["title"] for hit in hits[:3]]
                    scores.append((dcg(grades) / ideal, text, titles))
                mean = sum(score for score, _text, _titles in scores) / len(scores)
                print(f"{name:>14}: nDCG@{K} {mean:.3f}   zero-result rate {zero / len(QUERIES):.1%}")
                for score, text, titles in sorted(scores)[: args.worst]:
                    print(f"{'':>16}{score:.2f}  {text!r}: {titles}")


if __name__ == "__main__":
    main()
