"""Login to the UI with the API token: redirect, form, HttpOnly cookie the API accepts too, logout."""

from __future__ import annotations

from daemon.server.ui.auth import safe_next
from tests.server.ui.conftest import Ui


def test_pages_redirect_to_login(secured: Ui) -> None:
    response = secured.client.get("/ui/flows?q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Fflows%3Fq%3Dx"
    assert secured.client.get("/ui/executions/x/logs/stream", follow_redirects=False).status_code == 303
    assert secured.client.post("/ui/flows/a/b/execute", follow_redirects=False).status_code == 303
    login = secured.client.get("/ui/login?next=/ui/flows")
    assert login.status_code == 200 and 'name="next" value="/ui/flows"' in login.text
    assert secured.client.get("/ui/static/ui.css").status_code == 200  # the login page needs its CSS


def test_wrong_token_is_refused(secured: Ui) -> None:
    response = secured.client.post(
        "/ui/login", data={"token": "nope", "next": "/ui/flows"}, follow_redirects=False
    )
    assert response.status_code == 401 and "wrong token" in response.text
    assert "flowd_session" not in response.headers.get("set-cookie", "")


def test_login_sets_http_only_cookie_for_ui_and_api(secured: Ui) -> None:
    response = secured.client.post(
        "/ui/login", data={"token": "s3cret", "next": "/ui/flows"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/ui/flows"
    cookie = response.headers["set-cookie"].lower()
    assert "flowd_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "s3cret" not in cookie and "max-age=" in cookie  # a signed, expiring session, not the token
    assert secured.client.get("/ui/flows", follow_redirects=False).status_code == 200
    assert secured.client.get("/api/v1/executions/search").status_code == 200  # the same cookie
    assert "Log out" in secured.client.get("/ui/").text
    out = secured.post("/ui/logout", follow_redirects=False)
    assert out.status_code == 303 and 'flowd_session=""' in out.headers["set-cookie"]
    secured.client.cookies.clear()
    assert secured.client.get("/ui/flows", follow_redirects=False).status_code == 303


def test_bearer_header_is_accepted(secured: Ui) -> None:
    page = secured.client.get("/ui/", headers={"Authorization": "Bearer s3cret"}, follow_redirects=False)
    assert page.status_code == 200


def test_open_ui_without_token(ui: Ui) -> None:
    assert ui.client.get("/ui/flows", follow_redirects=False).status_code == 200
    assert "Log out" not in ui.client.get("/ui/").text


def test_next_stays_on_the_ui() -> None:
    assert safe_next("/ui/flows?q=1") == "/ui/flows?q=1"
    for bad in ("https://evil.example/", "//evil.example/ui/", "/api/v1/x", "/ui\\..", None, ""):
        assert safe_next(bad) == "/ui/"
