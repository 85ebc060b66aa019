"""The public pages under load, against a bare Flask app on the same server settings.

    .venv/bin/python -m bench.web            # demo catalogue, then one 20 times larger (a few minutes)
    .venv/bin/python -m bench.web --quick    # one page, the demo catalogue, a second of load
    .venv/bin/python -m bench.web --no-preload  # the app loaded by each worker, not once before the fork

Each run creates a throwaway PostgreSQL database, migrates it, loads the demo town (no past orders, no
photos), builds the embedded search index and serves the site with gunicorn (2 sync workers), with a
five-line "hello" Flask app under the same settings beside it (gunicorn.conf.py's: the app loaded once,
in the master, before it forks the workers; ``--no-preload`` loads it in each worker). For each page:
requests per second, median and 99th percentile latency, SQL statements and time spent in the app per
request (read from the ``Server-Timing`` header ``BENCH_TIMING=1`` turns on), each with its ratio to the
hello app. The larger catalogue copies every demo product 19 more times under new ids and titles,
spread across the shops.

When the site answers with an ``X-Cache`` header (the page cache), each page is measured warm (cache
on) and cold (``PAGE_CACHE=0``). Worker memory (RSS, PSS and private) is read from /proc after the load.
The hello app serves beside the site through each table, and half a run of it comes between two pages:
each page is read against the hello runs just before and just after it (its row's ``hello/s``), as the
speed of a shared machine drifts within minutes; the table's hello row is all its hello runs together.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
)
PAGES = ("home", "category", "product", "storefront", "directory", "search", "cart")
HELLO_APP = """from flask import Flask

app = Flask(__name__)

@app.route("/")
def hello(): return "Hello, world!"
"""
HELLO_TIMING = """
import time
from flask import g
app.before_request(lambda: setattr(g, "t", time.perf_counter()))
@app.after_request
def timing(response):
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.t) * 1000:.2f}"
    return response
"""
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
TIMING = re.compile(r"app;dur=([0-9.]+)(?:.*?sql;desc=\"(\d+)\")?")


# --- the town -------------------------------------------------------------------------------------


@dataclass
class Town:
    paths: dict[str, str]
    cart_cookie: str
    products: int


def _server_env(workdir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "ELASTICSEARCH_URL", "DATABASE_URL", "PAGE_CACHE"}
    }
    env.update(
        APP_ENV="development",
        SECRET_KEY="bench-web",  # noqa: S106 - a throwaway database
        DATABASE_URL=database_url,
        SEARCH_INDEX_DIR=str(workdir / "search-index"),
        MEDIA_DIR=str(workdir / "media"),
        PRIVATE_MEDIA_DIR=str(workdir / "private-media"),
        RATELIMIT_ENABLED="0",
        DEMO_HISTORY_DAYS="0",
        BENCH_TIMING="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def database(name: str) -> Iterator[str]:
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load_town(env: dict[str, str], scale: int) -> None:
    """Migrate, load the demo town, copy its catalogue ``scale - 1`` more times, index it; in a child
    process, so that this one stays a plain load generator."""
    code = f"from bench.web import _load_town_here; _load_town_here({scale})"
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)  # noqa: S603
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError("loading the town failed")


def _load_town_here(scale: int) -> None:
    import flask_migrate
    import sqlalchemy as sa

    from app import create_app
    from app import demo as demo_town
    from app.catalog.models import Product, ProductStatus, Variant
    from app.extensions import db
    from search import services as search_services
    from vendors.models import Shop, VatRegime

    app = create_app()
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        demo_town.load(with_photos=False, with_history=False)
        shops = list(db.session.scalars(sa.select(Shop).order_by(Shop.id)))
        originals = list(
            db.session.scalars(
                sa.select(Product).where(Product.status == ProductStatus.ACTIVE).order_by(Product.id)
            )
        )
        rows = [
            (
                p.category_id,
                p.title,
                p.description,
                dict(p.attributes),
                p.vat_bps,
                p.shop_id,
                p.id,
                [(v.sku, dict(v.options), v.price_cents, v.stock) for v in p.variants],
            )
            for p in originals
        ]
        shop_index = {shop.id: index for index, shop in enumerate(shops)}
        for copy in range(1, scale):
            for category_id, title, description, attributes, vat_bps, shop_id, product_id, variants in rows:
                shop = shops[(shop_index[shop_id] + copy) % len(shops)]
                product = Product(
                    shop_id=shop.id,
                    category_id=category_id,
                    title=f"{title} n°{copy + 1}"[:200],
                    description=description,
                    attributes=attributes,
                    vat_bps=0 if shop.vat_regime == VatRegime.FRANCHISE else (vat_bps or 2000),
                    status=ProductStatus.ACTIVE,
                )
                for position, (sku, options, price, stock) in enumerate(variants):
                    product.variants.append(
                        Variant(
                            shop_id=shop.id,
                            sku=f"C{copy}-{product_id}-{sku}"[:64],
                            options=options,
                            price_cents=price,
                            stock=stock,
                            position=position,
                        )
                    )
                db.session.add(product)
            db.session.commit()
        search_services.reindex()
        # A database in service has its planner statistics and visibility map kept by autovacuum; one
        # loaded a second ago has neither until autovacuum passes, and its plans (row estimates of 1)
        # would measure that moment rather than the pages.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))


def _pick_pages(env: dict[str, str]) -> tuple[dict[str, str], list[int], int]:
    """The pages to load: the busiest category and shop, a product of that category, a common word."""
    code = "from bench.web import _pick_pages_here; _pick_pages_here()"
    out = subprocess.run(  # noqa: S603 - this interpreter, our code
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    lines = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    variants = [int(value) for value in lines.pop("variants").split(",")]
    products = int(lines.pop("products"))
    return lines, variants, products


def _pick_pages_here() -> None:
    import sqlalchemy as sa

    from app import create_app
    from app.catalog.models import Category, Product, ProductStatus, Variant
    from app.extensions import db
    from vendors.models import Shop

    app = create_app()
    with app.app_context():
        active = Product.status == ProductStatus.ACTIVE
        count = sa.func.count(Product.id)
        category_id = (
            db.session.execute(
                sa.select(Product.category_id)
                .where(active)
                .group_by(Product.category_id)
                .order_by(count.desc())
            )
            .scalars()
            .first()
        )
        category = db.session.get(Category, category_id)
        shop_id = (
            db.session.execute(
                sa.select(Product.shop_id).where(active).group_by(Product.shop_id).order_by(count.desc())
            )
            .scalars()
            .first()
        )
        shop = db.session.get(Shop, shop_id)
        product_id = db.session.scalars(
            sa.select(Product.id).where(active, Product.category_id == category_id).order_by(Product.id)
        ).first()
        titles = db.session.scalars(sa.select(Product.title).where(active)).all()
        words = collections.Counter(
            word for title in titles for word in re.findall(r"\w+", title.lower()) if len(word) >= 5
        )
        word = words.most_common(1)[0][0]
        variants: list[int] = []
        shops_seen: set[int] = set()
        for variant_id, variant_shop in db.session.execute(
            sa.select(Variant.id, Variant.shop_id)
            .join(Product, Variant.product_id == Product.id)
            .where(active, Variant.stock > 2)
            .order_by(Variant.id)
        ):
            if variant_shop not in shops_seen:
                shops_seen.add(variant_shop)
                variants.append(variant_id)
            if len(variants) == 3:
                break
        assert category is not None, "the demo town has no active product"
        assert shop is not None
        print("home=/")
        print(f"category=/categories/{category.slug}")
        print(f"product=/produits/{product_id}")
        print(f"storefront=/boutiques/{shop.slug}")
        print("directory=/boutiques")
        print(f"search=/recherche?q={urllib.parse.quote(word)}")
        print("cart=/panier")
        print(f"variants={','.join(map(str, variants))}")
        print(f"products={len(titles)}")


# --- servers --------------------------------------------------------------------------------------


def free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != 5000:
            return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    def workers(self) -> list[int]:
        """The worker processes: the master's children."""
        pids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            if fields.get("PPid", "").strip() == str(self.process.pid):
                pids.append(int(status.parent.name))
        return sorted(pids)

    def workers_memory_mb(self) -> list[Memory]:
        """Each worker's memory, from /proc/<pid>/smaps_rollup."""
        found = []
        for pid in self.workers():
            try:
                text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            kb = {
                name.strip(): int(value.split()[0])
                for name, value in (line.split(":", 1) for line in text.splitlines()[1:] if ":" in line)
            }
            private = kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)
            found.append(Memory(kb.get("Rss", 0) / 1024, kb.get("Pss", 0) / 1024, private / 1024))
        return sorted(found, key=lambda memory: memory.rss)


@dataclass(frozen=True)
class Memory:
    """A process's resident memory (RSS), its proportional share of the pages it shares with others
    (PSS: a page shared by n processes counts 1/n) and what only it holds (private), in MB."""

    rss: float
    pss: float
    private: float

    def __str__(self) -> str:
        return f"RSS {self.rss:.0f} MB (PSS {self.pss:.0f}, private {self.private:.0f})"


@contextlib.contextmanager
def gunicorn(
    app: str, env: dict[str, str], chdir: Path, probe: str = "/", preload: bool = True
) -> Iterator[Server]:
    port = free_port()
    env = {**env, "GUNICORN_PRELOAD": "1" if preload else "0"}  # for gunicorn.conf.py, where there is one
    command = [
        str(BIN / "gunicorn"),
        "--workers=2",
        "--worker-class=sync",
        f"--bind=127.0.0.1:{port}",
        f"--chdir={chdir}",
        "--log-level=warning",
        *(["--preload"] if preload else []),
        app,
    ]
    # The app logs a line per request (as in production): to a file, not among the figures.
    log = tempfile.NamedTemporaryFile(prefix="bench-web-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, env=env, cwd=chdir, stdout=log, stderr=log)  # noqa: S603
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                tail = Path(log.name).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"gunicorn {app} stopped at start (exit {process.returncode}):\n{tail}")
            with contextlib.suppress(OSError):
                get(port, probe)  # any answer: the workers are up (/healthz is 503 without Redis)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {app} did not answer on port {port}")
            time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        Path(log.name).unlink(missing_ok=True)


# --- the client -----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float


def get(
    port: int,
    path: str,
    cookie: str = "",
    method: str = "GET",
    body: str | None = None,
    encoding: str = "gzip, deflate, br",  # what browsers ask for: compression is part of the cost
) -> Answer:
    headers = {
        "Host": f"127.0.0.1:{port}",
        "User-Agent": BROWSER,  # a person's: their storefront and product views are counted
        "Accept-Language": "fr",
        "Accept-Encoding": encoding,
    }
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return Answer(response.status, response.headers, data, time.perf_counter() - started)


def _cookie(answer: Answer, jar: dict[str, str]) -> str:
    for header in answer.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def fill_cart(port: int, product_path: str, variants: list[int]) -> str:
    """An anonymous shopper's cookie, after adding one item from each of three shops."""
    jar: dict[str, str] = {}
    page = get(port, product_path, encoding="identity")
    cookie = _cookie(page, jar)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.body)
    if token is None:
        raise RuntimeError(f"no CSRF token on {product_path}")
    for variant_id in variants:
        form = urllib.parse.urlencode(
            {"csrf_token": token.group(1).decode(), "variant_id": variant_id, "quantity": 1}
        )
        answer = get(port, "/panier/ajouter", cookie, method="POST", body=form, encoding="identity")
        if answer.status >= 400:
            raise RuntimeError(f"adding variant {variant_id} to the cart answered {answer.status}")
        cookie = _cookie(answer, jar)
    return cookie


@dataclass
class Figures:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    app_ms: list[float] = field(default_factory=list)
    sql: list[int] = field(default_factory=list)
    cache: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0

    @property
    def server_ms(self) -> float:
        return statistics.median(self.app_ms) if self.app_ms else 0.0

    @property
    def queries(self) -> float:
        return statistics.median(self.sql) if self.sql else 0.0

    def merged(self, other: Figures) -> Figures:
        """Two runs of the same page taken as one."""
        return Figures(
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            seconds=self.seconds + other.seconds,
            latencies=self.latencies + other.latencies,
            app_ms=self.app_ms + other.app_ms,
            sql=self.sql + other.sql,
            cache=self.cache + other.cache,
        )


def hammer(port: int, path: str, cookie: str, seconds: float, concurrency: int) -> Figures:
    """``concurrency`` clients asking for ``path`` back to back for ``seconds``."""
    for _ in range(3):  # warm: templates compiled, caches filled, connections opened
        get(port, path, cookie)
    figures = Figures()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        while time.perf_counter() < deadline:
            try:
                answer = get(port, path, cookie)
            except OSError:
                with lock:
                    figures.errors += 1
                continue
            timing = TIMING.search(answer.headers.get("Server-Timing", ""))
            with lock:
                figures.requests += 1
                if answer.status != 200:
                    figures.errors += 1
                figures.latencies.append(answer.seconds)
                if timing:
                    figures.app_ms.append(float(timing.group(1)))
                    if timing.group(2) is not None:
                        figures.sql.append(int(timing.group(2)))
                if "X-Cache" in answer.headers:
                    figures.cache[answer.headers["X-Cache"]] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures.seconds = time.perf_counter() - started
    return figures


# --- the run --------------------------------------------------------------------------------------


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.1f}×" if base else "—"


def table(title: str, rows: list[tuple[str, Figures, Figures]]) -> str:
    """Each page against the hello app's runs just before and just after it (its own ``hello/s``); the
    hello row is every hello run of the table together."""
    head = (
        f"{'page':<20}{'req/s':>8}{'hello/s':>9}{'×hello':>8}{'p50 ms':>9}{'×hello':>8}{'p99 ms':>9}"
        f"{'×hello':>8}{'SQL/req':>9}{'app ms':>9}{'×hello':>8}{'errors':>8}"
    )
    lines = [title, head, "-" * len(head)]
    everything = Figures()
    for _name, _figures, hello in rows:
        everything = everything.merged(hello)
    for name, figures, hello in [("hello", everything, everything), *rows]:
        lines.append(
            f"{name:<20}{figures.rate:>8.0f}{hello.rate:>9.0f}{_ratio(hello.rate, figures.rate):>8}"
            f"{figures.percentile(0.5):>9.1f}{_ratio(figures.percentile(0.5), hello.percentile(0.5)):>8}"
            f"{figures.percentile(0.99):>9.1f}{_ratio(figures.percentile(0.99), hello.percentile(0.99)):>8}"
            f"{figures.queries:>9.0f}{figures.server_ms:>9.2f}{_ratio(figures.server_ms, hello.server_ms):>8}"
            f"{figures.errors:>8}"
        )
    lines.append(
        "(×hello: how many times slower than the hello app in the runs just before and after the page; "
        "app ms and SQL/req are medians)"
    )
    return "\n".join(lines)


def run_catalogue(
    workdir: Path,
    scale: int,
    pages: list[str],
    seconds: float,
    concurrency: int,
    hello_server: Callable[[], contextlib.AbstractContextManager[Server]],
    preload: bool = True,
) -> list[str]:
    name = f"marketplace_bench_web_{os.getpid()}_{scale}"
    reports = []
    with database(name) as url:
        env = _server_env(workdir / f"x{scale}", url)
        started = time.perf_counter()
        load_town(env, scale)
        paths, variants, products = _pick_pages(env)
        print(
            f"catalogue ×{scale}: {products} products loaded and indexed "
            f"in {time.perf_counter() - started:.0f} s"
        )
        modes = [("", env)]
        with gunicorn("wsgi:app", env, ROOT, probe="/robots.txt", preload=preload) as server:
            cached = "X-Cache" in get(server.port, "/").headers or "X-Cache" in get(server.port, "/").headers
            if cached:
                modes = [("warm", env), ("cold", {**env, "PAGE_CACHE": "0"})]
        for mode, mode_env in modes:
            rows = []
            with (
                gunicorn("wsgi:app", mode_env, ROOT, probe="/robots.txt", preload=preload) as server,
                hello_server() as hello,
            ):
                cookie = fill_cart(server.port, paths["product"], variants) if "cart" in pages else ""
                # Half a run of the hello app between two pages: each page is read against the hello
                # app of the seconds around it, as this machine's speed drifts within minutes.
                before = hammer(hello.port, "/", "", seconds / 2, concurrency)
                for page in pages:
                    figures = hammer(
                        server.port, paths[page], cookie if page == "cart" else "", seconds, concurrency
                    )
                    after = hammer(hello.port, "/", "", seconds / 2, concurrency)
                    label = page if not figures.cache else f"{page} ({'/'.join(sorted(figures.cache))})"
                    rows.append((label, figures, before.merged(after)))
                    before = after
                memory = server.workers_memory_mb()
            title = f"Catalogue ×{scale} ({products} products){', cache ' + mode if mode else ''}"
            reports.append(
                table(title, rows)
                + f"\nworker memory after the run: {'; '.join(str(worker) for worker in memory)}"
            )
            print(reports[-1], flush=True)
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one page (home), the demo catalogue, 1 s")
    parser.add_argument("--pages", nargs="+", choices=PAGES, help="pages to load (default: all)")
    parser.add_argument(
        "--scales", nargs="+", type=int, help="catalogue sizes, in demo catalogues (default 1 20)"
    )
    parser.add_argument("--seconds", type=float, help="load per page (default 10, 1 with --quick)")
    parser.add_argument("--concurrency", type=int, default=4, help="clients at once (default 4)")
    parser.add_argument(
        "--no-preload",
        dest="preload",
        action="store_false",
        help="each gunicorn worker loads the app itself, rather than the master once before forking them",
    )
    args = parser.parse_args(argv)
    pages = args.pages or (["home"] if args.quick else list(PAGES))
    scales = args.scales or ([1] if args.quick else [1, 20])
    seconds = args.seconds or (1.0 if args.quick else 10.0)

    workdir = Path(tempfile.mkdtemp(prefix="marketplace-bench-web-"))
    try:
        hello_dir = workdir / "hello"
        hello_dir.mkdir()
        (hello_dir / "hello.py").write_text(HELLO_APP + HELLO_TIMING)
        hello_env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

        def hello_server() -> contextlib.AbstractContextManager[Server]:
            return gunicorn("hello:app", hello_env, hello_dir, preload=args.preload)

        with hello_server() as server:
            first = hammer(server.port, "/", "", seconds, args.concurrency)
            workers = "; ".join(str(worker) for worker in server.workers_memory_mb())
        print(f"hello: {first.rate:.0f} req/s, worker memory {workers}")
        for scale in scales:
            run_catalogue(workdir, scale, pages, seconds, args.concurrency, hello_server, args.preload)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
