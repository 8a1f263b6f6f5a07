"""The login page (only used when MEDIAPARSER_PASSWORD is set) and sign-out.

The rules themselves (which redirects are allowed, how many passwords may be
tried, what a signed-in session holds, what sign-out ends) live in
`security.py`; this module only walks the form through them.
"""
from __future__ import annotations

import hmac
import time

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from mediaparser.web import security
from mediaparser.web.context import current_settings

bp = Blueprint("auth", __name__)

WRONG_PASSWORD_DELAY = 0.5  # seconds; slows down guessing on top of the counts


def _next_path() -> str:
    return security.same_site_path(request.values.get("next")) or url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    s = current_settings()
    nxt = _next_path()
    if not s.password:
        return redirect(nxt)
    error = None
    status = 200
    if request.method == "POST":
        addr = request.remote_addr or "?"
        refusal = security.throttle.attempt(addr)
        if refusal:
            error, status = refusal, 429
        elif hmac.compare_digest(request.form.get("password", "").encode(), s.password.encode()):
            security.throttle.succeeded(addr)
            session.clear()  # a fresh session (and CSRF token) on sign-in
            session.permanent = True
            session["auth"] = security.session_fingerprint(current_app, s.password)
            security.csrf_token()
            return redirect(nxt)
        else:
            time.sleep(WRONG_PASSWORD_DELAY)
            error, status = "That password is not right.", 401
    signed_out = request.method == "GET" and request.args.get("signed_out") == "1"
    return render_template("login.html", page="login", error=error, next=nxt, signed_out=signed_out), status


@bp.post("/logout")
def logout():
    """Sign out every browser: the sign-in generation changes, so no earlier cookie works any more."""
    if current_settings().password:
        security.sign_everybody_out(current_app)
    session.clear()
    return redirect(url_for("auth.login", signed_out=1))
