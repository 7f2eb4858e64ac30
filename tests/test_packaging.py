"""A wheel built from the project runs on its own: it serves its static files and migrates."""

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    import inspect_app, forms
    assert inspect_app.__file__.startswith(sys.argv[1]), inspect_app.__file__
    from flask_migrate import upgrade
    app = inspect_app.create_app({"DATABASE_URL": "sqlite:///" + sys.argv[2], "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
    client = app.test_client()
    assert client.get("/static/css/app.css").status_code == 200
    assert client.get("/healthz").json == {"status": "ok"}
    print("wheel ok")
    """
)


def test_wheel_carries_static_and_migrations_and_runs(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("inspect_app-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "inspect_app/static/css/app.css",
        "inspect_app/migrations/env.py",
        "inspect_app/migrations/versions/0001_initial_schema.py",
        "inspect_app/checklists/catalog.toml",
        "inspect_app/templates/base.html",
        "inspect_app/models/__init__.py",
        "inspect_app/registry/files.py",
        "inspect_app/demo/generator.py",
        "forms/auth.py",
    ):
        assert expected in names, expected
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(unpacked), str(tmp_path / "db.sqlite")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "wheel ok" in out.stdout
