"""Login, logout, CSRF and sessions, through the real forms."""

from sqlalchemy import select

from inspect_app.db import db
from inspect_app.models import User

from .conftest import PASSWORD, csrf_from, login


def test_login_page_is_chinese_with_csrf(client, district):
    page = client.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'lang="zh-Hans"' in html and "用户名" in html and "密码" in html
    assert 'name="csrf_token"' in html


def test_login_then_home_then_logout(client, district):
    response = login(client, "inspector")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "我的网格楼栋" in home.get_data(as_text=True)
    assert home.headers["Cache-Control"] == "no-store"
    token = csrf_from(client, "/")
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302, out.get_data(as_text=True)
    assert client.get("/").headers["Location"].startswith("/login")


def test_wrong_password_and_unknown_user_get_the_same_clear_message(client, district):
    for username, password in (("inspector", "wrong"), ("nobody", PASSWORD)):
        response = login(client, username, password)
        assert response.status_code == 400
        assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_empty_form_says_what_is_missing(client, district):
    token = csrf_from(client, "/login")
    response = client.post("/login", data={"csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "请输入用户名" in html and "请输入密码" in html


def test_missing_csrf_token_is_a_clear_400(client, district):
    response = client.post("/login", data={"username": "inspector", "password": PASSWORD})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)


def test_disabled_user_cannot_log_in_and_loses_open_sessions(client, app, district):
    login(client, "street")
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "street"))
        user.active = False
        db.session.commit()
    assert client.get("/").status_code == 302
    assert login(client, "street").status_code == 400


def test_password_change_ends_other_sessions(client, app, district):
    login(client, "fire")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "fire"))
        user.session_nonce = "rotated"
        db.session.commit()
    assert client.get("/").headers["Location"].startswith("/login")


def test_next_parameter_only_goes_to_local_paths(client, district):
    token = csrf_from(client, "/login")
    data = {"username": "fire", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login?next=https://evil.example/x", data=data)
    assert response.headers["Location"] == "/"


def test_session_cookie_flags(client, district):
    response = login(client, "admin")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_english_is_available(client, district):
    login(client, "inspector")
    token = csrf_from(client, "/")
    client.post("/language/en", data={"csrf_token": token, "next": "/"})
    html = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in html and "Buildings in my grid" in html
