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
from app.workflow import working_hours

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


def _static_fields(engine) -> set[str]:
    """Fields of the case no step fills or sets: what the case was accepted with (customer type,
    whether works are needed); guards on them choose between branches."""
    filled = {name for spec in engine.wf.transitions for name in (*spec.fields, *spec.set)}
    return set(engine.entity.fields) - filled


def _branch_flags(engine) -> set[str]:
    """Yes/no fields of the accepted case that guards read (needs_engineering, needs_line_works...):
    the demo sets them on non-residential cases so that every branch of the model gets cases."""
    static = _static_fields(engine)
    read = {name for spec in engine.wf.transitions for c in spec.compiled for name in c.fields()}
    return {name for name in read & static if engine.entity.fields[name].type == "boolean"}


def _path(engine, target: str, record: dict) -> list | None:
    """Shortest chain of declared transitions from the initial stage to `target`. Guards on the
    fields that transitions `set:` are followed (e.g. acceptance only after a passed inspection), and
    guards on the fields the case was accepted with choose the branch (e.g. a reply with or without
    customer works); other guards are met by the data the demo prepares."""
    from collections import deque

    from app.model import conditions

    tracked = {k for spec in engine.wf.transitions for k in spec.set}
    known = tracked | _static_fields(engine)
    start = (engine.wf.initial_stage, ())
    queue = deque([(start, [])])
    seen = {start}
    while queue:
        (stage, flags), path = queue.popleft()
        if stage == target:
            return path
        state = {**record, **dict(flags)}
        for spec in engine.wf.transitions_from(stage):
            if spec.reflexive:
                continue
            relevant = [c for c in spec.compiled if c.fields() & tracked
                        or c.fields() and c.fields() <= known and not c.functions() and not c.collections()]
            if not all(conditions.evaluate(c, state) for c in relevant):
                continue
            node = (spec.dest, tuple(sorted({**dict(flags), **spec.set}.items())))
            if node not in seen:
                seen.add(node)
                queue.append((node, path + [spec]))
    return None


def _value(engine, name: str, rng, today, manager, record=None):
    """A believable value of a step's field; `today` is the step's day (a survey is dated the day it
    is recorded, never later), `record` the case (a business is not given a household tariff)."""
    spec = engine.entity.fields[name]
    if name in FIELD_VALUES:
        return FIELD_VALUES[name]
    if name in DAYS_AHEAD:
        return (today + dt.timedelta(days=DAYS_AHEAD[name])).isoformat()
    if spec.type == "date":
        return today.isoformat()
    if spec.type == "decimal":
        return str(rng.choice([4, 8, 10, 16]))
    if spec.type == "choice":
        values = [ch.value for ch in spec.choices]
        business = (record or {}).get("customer_type") not in (None, "residential")
        return next((v for v in values if v != "residential"), values[0]) if business else values[0]
    if spec.type == "reference":
        return manager.id
    if spec.type == "boolean":
        return True
    return f"{name[:2].upper()}{rng.randint(10000, 99999)}"


def _drive(core, session, row, target, users, rng, today, clock) -> None:
    """Take the application to `target` through the engine, as the right user at each step;
    `clock()` gives each step's (backdated) time so that deadlines come out met, late or running."""
    engine = core.engine
    cancel = target == engine.wf.cancellation_stage
    path = [] if cancel else _path(engine, target, engine.record(row))
    if path is None:
        raise RuntimeError(f"demo: no path to {target}")
    for spec in path:
        for before in _reflexive_needed(engine, spec):  # e.g. open the account before archiving
            _fire(core, session, row, before, users, rng, today, clock())
        when = clock()  # the records handed in for the step: during office hours too
        _prepare(core, session, row, spec.trigger, when)
        _documents(core, session, row, spec, when)
        _sign_off(core, session, row, spec, users, clock)
        _fire(core, session, row, spec, users, rng, today, clock())
    if cancel:
        spec = core.model.workflow.cancellation
        reason = _reason(spec.reasons, "customer_withdrew")
        outcome = engine.fire(session, row.id, "cancel", _actor(users, spec.roles, "clerk"), {"reason": reason},
                              "客户来电撤回", at=clock())
        assert outcome.ok, outcome.message


def _reason(reasons, preferred: str) -> str:
    """The demo's reason key when the model has it, else the model's first."""
    keys = [r.key for r in reasons]
    return preferred if preferred in keys else keys[0]


def _actor(users, roles, preferred: str):
    """The demo user of `preferred` when that role may act, else of the first role that may."""
    role = preferred if preferred in roles else next(r for r in roles if r in users)
    return users[role]


def _profile(engine, residential: bool) -> dict:
    """What a demo case is accepted with: a household, or a business whose branch flags are set."""
    fields = engine.entity.fields
    record = {name: spec.default for name, spec in fields.items()}
    if "customer_type" in fields:
        record["customer_type"] = "residential" if residential else "non_residential"
    for name in _branch_flags(engine):
        record[name] = not residential
    return record


def _reachable(engine, stage: str, record: dict) -> bool:
    return stage == engine.wf.cancellation_stage or _path(engine, stage, record) is not None


def _only(cls_fields, values: dict) -> dict:
    """The demo's values for the fields the model has (another model may lack some)."""
    return {k: v for k, v in values.items() if k in cls_fields}


def _reflexive_needed(engine, spec) -> list:
    """Steps that stay in the stage and fill fields `spec`'s guards need (open_account before archive)."""
    needed = {name for c in spec.compiled for name in c.fields()}
    return [t for t in engine.wf.transitions_from(spec.sources[0])
            if t.reflexive and t is not spec and set(t.required) & needed]


def _documents(core, session, row, spec, at=None) -> None:
    """Hand in the documents the stage requires before a step that checks them (drawings, report)."""
    engine = core.engine
    if "documents_complete" not in spec.functions or engine.wf.documents is None:
        return
    docs = engine.wf.documents
    cls = core.orm[docs.entity]
    have = set(session.scalars(select(getattr(cls, docs.kind_field)).where(cls.application_id == row.id)))
    for kind in engine.wf.required_documents(engine.record(row)):
        if kind not in have:
            document = cls(application_id=row.id, **{docs.kind_field: kind, docs.received_field: True}, pages=2)
            document._recorded_at = at
            session.add(document)
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


def _prepare(core, session, row, trigger: str, at=None) -> None:
    defect = core.orm.classes.get("inspection_defect")
    if defect is None:
        return
    if trigger == "fail_inspection":
        found = defect(application_id=row.id, inspection="intermediate", description="接地电阻不合格",
                       rectify_by=dt.date.today() + dt.timedelta(days=7), fixed=False)
        found._recorded_at = at
        session.add(found)
        session.commit()
    if trigger == "request_reinspection":
        for d in session.scalars(select(defect).where(defect.application_id == row.id)):
            d.fixed, d.recheck_note, d._recorded_at = True, "复检已整改", at
        session.commit()


def _fire(core, session, row, spec, users, rng, today, at) -> None:
    from app.model import conditions

    user = users[next(r for r in spec.roles if r in users)]
    record = core.engine.record(row)
    optional = {name for name, _text, c in spec.required_when if not conditions.evaluate(c, record)}
    day = at.astimezone(SHANGHAI).date() if at is not None else today
    data = {name: _value(core.engine, name, rng, day, users["customer_manager"], record) for name in spec.fields
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
    workday = core.calendar_service.is_workday if core.calendar_service is not None else (lambda d: d.weekday() < 5)
    latest = working_hours.last_open(now - dt.timedelta(minutes=5), workday)
    engine = core.engine
    customer_fields = core.model.entities["customer"].fields
    total = 0
    for i in range(36):
        stage = stages[i % len(stages)]
        # a household where the stage can be reached by one (no works), else a business
        residential = i % 3 != 2 and _reachable(engine, stage, _profile(engine, True))
        profile = _profile(engine, residential)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + ("" if residential else rng.choice(SHOPS))
        customer = customer_cls(**_only(customer_fields, dict(
            name=name, customer_type="residential" if residential else "non_residential",
            id_card=id_card_with_check_digit(f"4115261980{(i % 12) + 1:02d}{(i % 28) + 1:02d}{i:03d}"),
            phone=f"13{rng.randint(100000000, 999999999)}",
            address=f"潢川县{rng.choice(STREETS)}{rng.randint(1, 300)}号")))
        values = dict(customer=customer, business_type=rng.choice(["new", "new", "increase", "temporary"]),
                      customer_type=profile.get("customer_type"), address=customer.address,
                      capacity_kw=Decimal(rng.choice([4, 8, 10, 16, 25, 40])),
                      inspection_passed=False,
                      individual_business=not residential and i % 2 == 0, special_customer=i % 7 == 5,
                      accepted_on=today - dt.timedelta(days=36 - i))
        values.update({flag: profile[flag] for flag in _branch_flags(engine)})
        row = app_cls(**_only(engine.entity.fields, values))
        # Every step during office hours (08:30–17:30 on working days), the last before now.
        start = min(working_hours.next_open(now - dt.timedelta(days=1 + (i * 7) % 20, hours=rng.randint(0, 8)),
                                            workday), latest)
        row._created_at = start
        row.accepted_on = start.astimezone(SHANGHAI).date()
        session.add(row)
        for kind in core.engine.wf.required_documents(core.engine.record(row), core.engine.wf.initial_stage):
            session.add(doc_cls(application=row, kind=kind, received=True, pages=rng.randint(1, 3)))
        session.commit()
        steps = iter(range(1, 100))
        pace = dt.timedelta(hours=rng.choice([5, 10, 20]))
        clock = lambda: min(working_hours.next_open(start + pace * next(steps), workday), latest)  # noqa: E731
        _drive(core, session, row, stage, users, rng, today, clock)
        if i % 9 == 4 and not wf.stages[stage].terminal:
            suspension = wf.suspension
            outcome = core.engine.fire(session, row.id, "suspend", _actor(users, suspension.roles, "customer_manager"),
                                       {"reason": _reason(suspension.reasons, "customer_request"),
                                        "responsible_user": users["customer_manager"].id},
                                       "客户要求暂缓", at=clock())
            assert outcome.ok, outcome.message
        total += 1
    session.info.pop(ACTOR, None)
    sla = core.sla
    breaches = sla.sweep(session, now) if sla is not None else 0
    lines.append(f"Demo applications created: {total}, over {len(stages)} stages; {breaches} deadline(s) overdue.")
    return lines
