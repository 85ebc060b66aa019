"""The search page behind the header's search box."""

from __future__ import annotations

from flask import Blueprint, render_template, request

blueprint = Blueprint("search", __name__)


@blueprint.route("/recherche")
def results() -> str:
    query = request.args.get("q", "").strip()[:200]
    # The catalogue is not indexed yet: the page says so instead of pretending to have searched.
    return render_template("search/results.html", query=query)
