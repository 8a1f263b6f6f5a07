"""The login page (only used when MEDIAPARSER_PASSWORD is set) and sign-out."""
from __future__ import annotations

import hmac
import time

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from . import security

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never "//evil.example" or "https://…".
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("pages.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    s = security.settings()
    nxt = _safe_next(request.values.get("next"))
    if not s.password:
        return redirect(nxt)
    error = None
    status = 200
    if request.method == "POST":
        addr = request.remote_addr or "?"
        if security.throttle.blocked(addr):
            error, status = "Too many wrong passwords. Wait a few minutes and try again.", 429
        elif hmac.compare_digest(request.form.get("password", "").encode(), s.password.encode()):
            security.throttle.succeeded(addr)
            session.clear()  # a fresh session (and CSRF token) on sign-in
            session.permanent = True
            session["auth"] = security.password_fingerprint(current_app, s.password)
            security.csrf_token()
            return redirect(nxt)
        else:
            security.throttle.failed(addr)
            time.sleep(0.5)  # slows down guessing
            error, status = "That password is not right.", 401
    return render_template("login.html", page="login", error=error, next=nxt), status


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
