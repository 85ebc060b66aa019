"""A clone of the repository is all the project needs: nothing reads, runs or writes outside it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import config
from app.demo import DemoContext

ROOT = Path(__file__).resolve().parents[2]
# Folders that are not part of the project's sources: tools' caches, the virtualenv, local data.
NOT_SOURCES = {
    ".git",
    ".venv",
    "instance",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    "node_modules",
    "screenshots",
}
TEXT_SUFFIXES = {
    ".py",
    ".sh",
    ".md",
    ".toml",
    ".cfg",
    ".ini",
    ".txt",
    ".yml",
    ".yaml",
    ".html",
    ".js",
    ".css",
}
# A sibling folder of the clone (such as the ../shared the demo data once lived in), or this machine's
# own layout: neither exists for someone who clones the project from its public host.
OUTSIDE = re.compile(
    r"\.\./+shared\b"
    r"|\.parents?\b[^\n]{0,20}/\s*[\"']shared[\"']"
    r"|[\"'](?:/work|/home/[a-z]+)/"
    r"|shared/data/demo-town"
)


def _sources() -> Iterator[Path]:
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in NOT_SOURCES]
        for name in files:
            path = Path(folder) / name
            if path.suffix in TEXT_SUFFIXES or name in {"Makefile", "run"} or path.parent.name == ".ci":
                yield path


def test_no_file_refers_to_a_folder_outside_the_repository() -> None:
    this_file = Path(__file__).resolve()
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        if path.resolve() != this_file
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_pattern_catches_what_it_is_for() -> None:
    for line in (
        'DATA_DIR = ROOT.parent / "shared" / "data" / "demo-town"',
        "DEMO_DATA_DIR=../shared/data/demo-town flask demo load",
        'open("/work/main/demo/vendors.json")',
    ):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search('DATA_DIR = ROOT / "demo"')


def test_the_demo_town_is_read_from_the_repository_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEMO_DATA_DIR", raising=False)
    data_dir = Path(config.load(tmp_path)["DEMO_DATA_DIR"]).resolve()
    assert data_dir.is_relative_to(ROOT)

    demo = DemoContext(data_dir=data_dir)
    assert len(demo.read_json("vendors.json")) == 34
    assert demo.read_json("categories.json")
    assert len((data_dir / "products.jsonl").read_text(encoding="utf-8").splitlines()) == 550
