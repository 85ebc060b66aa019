"""Search: the shared catalogue index.

Product documents built from the database, the backend-neutral query model (``query.py``), the
backends (Elasticsearch through the official client, an embedded tantivy index by default), the index
outbox and the jobs that drain it, and ``flask search reindex``. Search reads domain models; no domain
imports search: changes reach it through the outbox.
"""
