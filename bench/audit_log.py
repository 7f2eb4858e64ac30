"""Benchmark what the audit log costs per write request, against the same requests without it.

Run from the project root::

    .venv/bin/python bench/audit_log.py [--requests 200]

Builds a throwaway SQLite demo district (``flask demo``, 300 buildings), then times through the
WSGI test client, alternating request by request between the app as it ships (audit lines
written to a file) and the same app with the audit hooks taken off (the raw baseline):

- transition: ``POST /api/v1/hazards/<id>/events`` extending a deadline (one update, one
  event row: the smallest write, so the largest relative cost);
- inspection: ``POST /api/v1/buildings/<code>/inspections`` with every applicable item
  answered (one inspection, ~60 findings in one flush).

Prints the medians, the ratio of the medians and the audit lines written. No network, no server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select  # noqa: E402

from inspect_app import audit, create_app  # noqa: E402
from inspect_app.auth import building_scope, issue_token, scoped_buildings  # noqa: E402
from inspect_app.checklists import current_checklist  # noqa: E402
from inspect_app.db import db  # noqa: E402
from inspect_app.inspections import applicable_items  # noqa: E402
from inspect_app.models import Building, Hazard, User  # noqa: E402
from inspect_app.thresholds import evaluate  # noqa: E402

CANDIDATES = [Decimal(v) for v in ("0", "0.3", "0.5", "1", "2", "5", "10", "50", "100", "500")]
SESSION_HOOKS = (
    ("after_flush", audit._collect),
    ("do_orm_execute", audit._collect_statement),
    ("after_commit", audit._emit),
    ("after_soft_rollback", audit._forget),
)


def set_audit(app, on: bool) -> None:
    """Put the audit hooks on (as shipped) or take them all off (the baseline)."""
    before = app.before_request_funcs.setdefault(None, [])
    after = app.after_request_funcs.setdefault(None, [])
    for name, fn in SESSION_HOOKS:
        if on and not event.contains(db.session, name, fn):
            event.listen(db.session, name, fn)
        elif not on and event.contains(db.session, name, fn):
            event.remove(db.session, name, fn)
    for funcs, fn in ((before, audit._begin_request), (after, audit._end_request)):
        if on and fn not in funcs:
            funcs.append(fn)
        elif not on and fn in funcs:
            funcs.remove(fn)


def answers_for(checklist, building) -> list[dict]:
    findings = []
    for item in applicable_items(checklist, building):
        if item.answer_type == "numeric":
            value = next(
                v
                for v in CANDIDATES
                if evaluate(
                    item.rules,
                    v,
                    building_class=building.building_class,
                    flags=building.flags,
                    unit=item.unit,
                ).result
                == "pass"
            )
            findings.append({"item": item.code, "value": float(value)})
        else:
            findings.append({"item": item.code, "result": "pass"})
    return findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    log_path = tmp / "audit.log"
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "SECRET_KEY": "bench",
            "PHOTO_DIR": str(tmp / "photos"),
            "AUDIT_LOG": str(log_path),
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    result = app.test_cli_runner().invoke(args=["demo", "--buildings", "300"])
    assert result.exit_code == 0, result.output

    with app.app_context():
        street = db.session.scalar(select(User).where(User.role == "street"))
        inspector = db.session.scalar(select(User).where(User.role == "inspector"))
        street_auth = {"Authorization": f"Bearer {issue_token(street, 'bench')}"}
        inspector_auth = {"Authorization": f"Bearer {issue_token(inspector, 'bench')}"}
        db.session.commit()
        checklist = current_checklist(db.session)
        building = db.session.scalars(scoped_buildings(inspector)).first()
        code, findings = building.code, answers_for(checklist, building)
        hazards = {
            h.id: (h.version, h.deadline)
            for h in db.session.scalars(
                select(Hazard)
                .join(Building)
                .where(
                    building_scope(street),
                    Hazard.status == "open",
                    Hazard.supervised_at.is_(None),
                )
            )
        }

    client = app.test_client()
    times: dict[tuple[str, bool], list[float]] = {}
    hazard_ids = list(hazards)
    for n in range(args.requests * 2):
        on = n % 2 == 0
        set_audit(app, on)
        hid = hazard_ids[n % len(hazard_ids)]
        version, deadline = hazards[hid]
        deadline = max(deadline, date.today()) + timedelta(days=1)
        body = {
            "action": "extend_deadline",
            "version": version,
            "deadline": deadline.isoformat(),
            "reason": "等待采购",
        }
        start = time.perf_counter()
        r = client.post(f"/api/v1/hazards/{hid}/events", json=body, headers=street_auth)
        times.setdefault(("transition", on), []).append(time.perf_counter() - start)
        if r.status_code != 201:
            sys.exit(f"transition answered {r.status_code}: {r.get_data(as_text=True)[:300]}")
        hazards[hid] = (r.json["hazard"]["version"], deadline)

        body = {"client_uuid": str(uuid.uuid4()), "kind": "survey", "findings": findings}
        start = time.perf_counter()
        r = client.post(f"/api/v1/buildings/{code}/inspections", json=body, headers=inspector_auth)
        times.setdefault(("inspection", on), []).append(time.perf_counter() - start)
        if r.status_code != 201:
            sys.exit(f"inspection answered {r.status_code}: {r.get_data(as_text=True)[:300]}")
    set_audit(app, True)

    lines = log_path.read_text(encoding="utf-8").count("\n")
    print(f"{args.requests} requests of each kind with and without the audit log (SQLite, medians)")
    for kind in ("transition", "inspection"):
        with_audit = statistics.median(times[(kind, True)]) * 1000
        baseline = statistics.median(times[(kind, False)]) * 1000
        print(
            f"  {kind:<10}  audited {with_audit:7.2f} ms   baseline {baseline:7.2f} ms   "
            f"ratio {with_audit / baseline:.2f}x"
        )
    print(f"  audit lines written: {lines} ({log_path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
