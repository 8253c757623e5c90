"""Demo data: one user per role and applications spread over every stage (loaded once)."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from app.cases.records import ACTOR
from app.i18n import SHANGHAI
from app.model.formats import id_card_with_check_digit

# username, role, family name, given name, unit code, password (also in README.md)
DEMO_USERS = [
    ("clerk", "clerk", "王", "业扩", "service_center", "clerk-2026"),
    ("manager", "customer_manager", "李", "经理", "service_center", "manager-2026"),
    ("metering", "metering", "赵", "装表", "metering_center", "metering-2026"),
    ("auditor", "auditor", "陈", "审核", "marketing", "auditor-2026"),
    ("admin", "admin", "系统", "管理员", "service_center", "admin-2026"),
    ("head", "unit_head", "周", "所长", "service_center", "head-2026"),
    # staff of the units that sign joint decisions off (会签): plan, tariff, completion acceptance
    ("billing", "signer", "钱", "电费", "billing_center", "billing-2026"),
    ("station", "signer", "孙", "供电所", "supply_station", "station-2026"),
    ("production", "signer", "吴", "生技", "production", "production-2026"),
    ("safety", "signer", "郑", "安监", "safety", "safety-2026"),
]
SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超"]
STREETS = ["春申大道", "跃进路", "新华街", "弋阳路", "交通路", "航空路", "黄国路"]
SHOPS = ["便民超市", "小吃店", "五金店", "农资站", "汽修厂", "面粉加工厂"]


def _users(sm, core) -> list[str]:
    lines = []
    units = {u.code: u for u in core.db.session.scalars(select(core.orm["unit"]))}
    for username, role, family, given, unit, password in DEMO_USERS:
        if sm.find_user(username=username) or role not in core.model.roles:
            continue
        user = sm.add_user(username, given, family, f"{username}@example.cn", sm.find_role(role),
                           password=password)
        user.unit_id = units[unit].id if unit in units else None
        user.work_phone = "0376-3123456"
        sm.update_user(user)
        lines.append(f"  {username:<9} / {password:<14} {core.model.roles[role].label_zh}")
    return lines


FIELD_VALUES = {
    "survey_participants": "客户服务中心、计量管理中心、供电所", "survey_findings": "现场具备接电条件，表箱位置已确认。",
    "supply_point": "10kV城关线 3号台区", "design_unit": "客户自选设计单位", "contractor_name": "客户自选施工单位",
    "contractor_qualification": "D341234567", "hidden_works_qc": "生技 周工", "meter_type": "DDZY285",
    "approval_opinion": "同意", "plan_delay_reason": "线路改造，已告知客户",
    "design_review_opinion": "设计符合供电方案，同意施工",
}
DAYS_AHEAD = {"temp_end_date": 180}  # dates in the future (the end of a temporary supply)
ROLE_USER = {"clerk": "clerk", "customer_manager": "manager", "metering": "metering", "auditor": "auditor"}


def _path(engine, target: str, engineering: bool, record: dict) -> list | None:
    """Shortest chain of declared transitions from the initial stage to `target`. Guards on the
    fields that transitions `set:` are followed (e.g. acceptance only after a passed inspection);
    other guards are met by the data the demo prepares."""
    from collections import deque

    from app.model import conditions

    tracked = {k for spec in engine.wf.transitions for k in spec.set}
    start = (engine.wf.initial_stage, ())
    queue = deque([(start, [])])
    seen = {start}
    while queue:
        (stage, flags), path = queue.popleft()
        if stage == target:
            return path
        state = {**record, **dict(flags)}
        for spec in engine.wf.transitions_from(stage):
            if spec.reflexive or spec.trigger in ("return_to_clerk", "reject_plan"):
                continue
            if spec.trigger == "reply_direct" and engineering or spec.trigger == "reply_with_works" and not engineering:
                continue
            relevant = [c for c in spec.compiled if c.fields() & tracked]
            if not all(conditions.evaluate(c, state) for c in relevant):
                continue
            node = (spec.dest, tuple(sorted({**dict(flags), **spec.set}.items())))
            if node not in seen:
                seen.add(node)
                queue.append((node, path + [spec]))
    return None


def _value(engine, name: str, rng, today, manager):
    spec = engine.entity.fields[name]
    if name in FIELD_VALUES:
        return FIELD_VALUES[name]
    if name in DAYS_AHEAD:
        return (today + dt.timedelta(days=DAYS_AHEAD[name])).isoformat()
    if spec.type == "date":
        return (today - dt.timedelta(days=rng.randint(0, 3))).isoformat()
    if spec.type == "decimal":
        return str(rng.choice([4, 8, 10, 16]))
    if spec.type == "choice":
        return spec.choices[0].value
    if spec.type == "reference":
        return manager.id
    if spec.type == "boolean":
        return True
    return f"{name[:2].upper()}{rng.randint(10000, 99999)}"


def _drive(core, session, row, target, users, rng, today, clock) -> None:
    """Take the application to `target` through the engine, as the right user at each step;
    `clock()` gives each step's (backdated) time so that deadlines come out met, late or running."""
    engine = core.engine
    engineering = bool(row.needs_engineering) or row.customer_type != "residential"
    cancel = target == engine.wf.cancellation_stage
    path = [] if cancel else _path(engine, target, engineering, engine.record(row))
    if path is None:
        raise RuntimeError(f"demo: no path to {target}")
    for spec in path:
        for before in _reflexive_needed(engine, spec):  # e.g. open the account before archiving
            _fire(core, session, row, before, users, rng, today, clock())
        _prepare(core, session, row, spec.trigger)
        _documents(core, session, row, spec)
        _sign_off(core, session, row, spec, users, clock)
        _fire(core, session, row, spec, users, rng, today, clock())
    if cancel:
        outcome = engine.fire(session, row.id, "cancel", users["clerk"], {"reason": "customer_withdrew"},
                              "客户来电撤回", at=clock())
        assert outcome.ok, outcome.message


def _reflexive_needed(engine, spec) -> list:
    """Steps that stay in the stage and fill fields `spec`'s guards need (open_account before archive)."""
    needed = {name for c in spec.compiled for name in c.fields()}
    return [t for t in engine.wf.transitions_from(spec.sources[0])
            if t.reflexive and t is not spec and set(t.required) & needed]


def _documents(core, session, row, spec) -> None:
    """Hand in the documents the stage requires before a step that checks them (drawings, report)."""
    engine = core.engine
    if "documents_complete" not in spec.functions or engine.wf.documents is None:
        return
    docs = engine.wf.documents
    cls = core.orm[docs.entity]
    have = set(session.scalars(select(getattr(cls, docs.kind_field)).where(cls.application_id == row.id)))
    for kind in engine.wf.required_documents(engine.record(row)):
        if kind not in have:
            session.add(cls(application_id=row.id, **{docs.kind_field: kind, docs.received_field: True}, pages=2))
    session.commit()


def _signers() -> dict:
    """Who signs for each party in the demo: the first demo user of each unit and of each role."""
    sm = current_app.appbuilder.sm
    signers: dict = {}
    for username, *_rest in DEMO_USERS:
        user = sm.find_user(username=username)
        if user is None:
            continue
        if user.unit is not None:
            signers.setdefault(f"unit:{user.unit.code}", user)
        for role in user.roles:
            signers.setdefault(f"role:{role.name}", user)
    return signers


def _sign_off(core, session, row, spec, users, clock) -> None:
    """Every party of a joint step signs it off: a demo user of that unit, or holding that role."""
    for party in spec.signoffs:
        user = users["_signers"].get(party)
        if user is None:
            raise RuntimeError(f"demo: nobody signs {party} off")
        outcome = core.signoffs.sign(session, row.id, spec.trigger, user, "同意", at=clock())
        if not outcome.ok and outcome.status != 409:  # 409: already signed for this party
            raise RuntimeError(f"demo: sign-off {party} of {spec.trigger} on {row.number}: {outcome.message}")


def _prepare(core, session, row, trigger: str) -> None:
    defect = core.orm.classes.get("inspection_defect")
    if defect is None:
        return
    if trigger == "fail_inspection":
        session.add(defect(application_id=row.id, inspection="intermediate", description="接地电阻不合格",
                           rectify_by=dt.date.today() + dt.timedelta(days=7), fixed=False))
        session.commit()
    if trigger == "request_reinspection":
        for d in session.scalars(select(defect).where(defect.application_id == row.id)):
            d.fixed, d.recheck_note = True, "复检已整改"
        session.commit()


def _fire(core, session, row, spec, users, rng, today, at) -> None:
    from app.model import conditions

    user = users[next(r for r in spec.roles if r in users)]
    record = core.engine.record(row)
    optional = {name for name, _text, c in spec.required_when if not conditions.evaluate(c, record)}
    data = {name: _value(core.engine, name, rng, today, users["customer_manager"]) for name in spec.fields
            if name not in optional}
    comment = "按规定办理" if spec.comment_required else None
    outcome = core.engine.fire(session, row.id, spec.trigger, user, data, comment, at=at)
    if not outcome.ok:
        raise RuntimeError(f"demo: {spec.trigger} on {row.number}: {outcome.message} {outcome.errors}")


def load_demo() -> list[str]:
    """Create demo users and applications unless they exist; returns what to print."""
    core = current_app.extensions["yekuotong"]
    sm = current_app.appbuilder.sm
    session = core.db.session
    lines = _users(sm, core)
    if lines:
        lines.insert(0, "Demo users (username / password):")
    app_cls = core.orm["application"]
    if session.execute(select(func.count()).select_from(app_cls)).scalar_one():
        lines.append("Demo applications already present: kept as they are.")
        return lines
    rng = random.Random(2026)
    customer_cls = core.orm["customer"]
    doc_cls = core.orm["document"]
    users = {role: sm.find_user(username=name) for role, name in ROLE_USER.items()}
    users["_signers"] = _signers()
    session.info[ACTOR] = users["clerk"]  # the demo clerk accepts every case (app.cases.records)
    wf = core.model.workflow
    stages = list(wf.stages)
    now = dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(SHANGHAI).date()
    engineering_stages = {"customer_authorisation", "design", "design_review", "construction",
                          "intermediate_inspection", "inspection_rectification", "completion_acceptance",
                          "acceptance_rectification"}
    total = 0
    for i in range(36):
        stage = stages[i % len(stages)]
        residential = i % 3 != 2 and stage not in engineering_stages
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + ("" if residential else rng.choice(SHOPS))
        customer = customer_cls(
            name=name, customer_type="residential" if residential else "non_residential",
            id_card=id_card_with_check_digit(f"4115261980{(i % 12) + 1:02d}{(i % 28) + 1:02d}{i:03d}"),
            phone=f"13{rng.randint(100000000, 999999999)}",
            address=f"潢川县{rng.choice(STREETS)}{rng.randint(1, 300)}号")
        row = app_cls(customer=customer, business_type=rng.choice(["new", "new", "increase", "temporary"]),
                      customer_type=customer.customer_type, address=customer.address,
                      capacity_kw=Decimal(rng.choice([4, 8, 10, 16, 25, 40])),
                      needs_engineering=not residential, inspection_passed=False,
                      individual_business=not residential and i % 2 == 0, special_customer=i % 7 == 5,
                      accepted_on=today - dt.timedelta(days=36 - i))
        start = now - dt.timedelta(days=1 + (i * 7) % 20, hours=rng.randint(0, 8))
        row._created_at = start
        row.accepted_on = start.astimezone(SHANGHAI).date()
        session.add(row)
        for kind in core.engine.wf.required_documents(core.engine.record(row), core.engine.wf.initial_stage):
            session.add(doc_cls(application=row, kind=kind, received=True, pages=rng.randint(1, 3)))
        session.commit()
        steps = iter(range(1, 100))
        pace = dt.timedelta(hours=rng.choice([5, 10, 20]))
        clock = lambda: min(start + pace * next(steps), now - dt.timedelta(minutes=5))  # noqa: E731
        _drive(core, session, row, stage, users, rng, today, clock)
        if i % 9 == 4 and not wf.stages[stage].terminal:
            outcome = core.engine.fire(session, row.id, "suspend", users["customer_manager"],
                                       {"reason": "customer_request", "responsible_user": users["customer_manager"].id},
                                       "客户要求暂缓", at=clock())
            assert outcome.ok, outcome.message
        total += 1
    session.info.pop(ACTOR, None)
    sla = core.sla
    breaches = sla.sweep(session, now) if sla is not None else 0
    lines.append(f"Demo applications created: {total}, over {len(stages)} stages; {breaches} deadline(s) overdue.")
    return lines
