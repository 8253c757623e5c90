"""Demo data: one user per role and applications spread over every stage (loaded once)."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from .validators import id_card_with_check_digit

# username, role, family name, given name, unit code, password (also in README.md)
DEMO_USERS = [
    ("clerk", "clerk", "王", "业扩", "service_center", "clerk-2026"),
    ("manager", "customer_manager", "李", "经理", "service_center", "manager-2026"),
    ("metering", "metering", "赵", "装表", "metering_center", "metering-2026"),
    ("auditor", "auditor", "陈", "审核", "marketing", "auditor-2026"),
    ("admin", "admin", "系统", "管理员", "service_center", "admin-2026"),
]
SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超"]
STREETS = ["春申大道", "跃进路", "新华街", "弋阳路", "交通路", "航空路", "黄国路"]
SHOPS = ["便民超市", "小吃店", "五金店", "农资站", "汽修厂", "面粉加工厂"]


def _users(sm, core) -> list[str]:
    lines = []
    units = {u.code: u for u in core.db.session.scalars(select(core.orm["unit"]))}
    for username, role, family, given, unit, password in DEMO_USERS:
        if sm.find_user(username=username):
            continue
        user = sm.add_user(username, given, family, f"{username}@example.cn", sm.find_role(role),
                           password=password)
        user.unit_id = units[unit].id if unit in units else None
        user.work_phone = "0376-3123456"
        sm.update_user(user)
        lines.append(f"  {username:<9} / {password:<14} {core.model.roles[role].label_zh}")
    return lines


def _stage_values(stage_order: list[str], stage: str, app_row, rng, manager, today) -> None:
    """Fill what the stages before `stage` would have recorded."""
    reached = stage_order.index(stage) if stage in stage_order else len(stage_order)

    def past(name: str) -> bool:
        return name in stage_order and stage_order.index(name) < reached

    if past("initial_review"):
        app_row.owner_id = manager.id
    if past("site_survey"):
        app_row.survey_date = today - dt.timedelta(days=rng.randint(3, 20))
        app_row.survey_participants = "客户服务中心、计量管理中心、供电所"
        app_row.survey_findings = "现场具备接电条件，表箱位置已确认。"
        app_row.plan_tracker_id = manager.id
    if past("plan_drafting"):
        app_row.supply_voltage = "v220" if app_row.customer_type == "residential" else "v380"
        app_row.approved_capacity_kw = app_row.capacity_kw
        app_row.supply_point = "10kV城关线 3号台区"
        app_row.metering_method = "direct"
        app_row.billing_method = "single_rate"
        app_row.tariff_category = "residential" if app_row.customer_type == "residential" else "commercial"
    if past("plan_reply"):
        app_row.reply_date = today - dt.timedelta(days=rng.randint(1, 10))
    if past("meter_installation"):
        app_row.meter_no = f"3410{rng.randint(10**8, 10**9 - 1)}"
        app_row.meter_type = "DDZY285"
        app_row.initial_reading = Decimal("0.00")
        app_row.power_on_date = today - dt.timedelta(days=1)


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
    manager = sm.find_user(username="manager")
    wf = core.model.workflow
    stages = [k for k in wf.stages]
    order = [k for k in stages if k != "cancelled"]
    today = dt.date.today()
    required = wf.documents.by_customer_type if wf.documents else {}
    total = 0
    for i in range(36):
        stage = stages[i % len(stages)]
        residential = i % 3 != 2
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + ("" if residential else rng.choice(SHOPS))
        customer = customer_cls(
            name=name, customer_type="residential" if residential else "non_residential",
            id_card=id_card_with_check_digit(f"4115261980{(i % 12) + 1:02d}{(i % 28) + 1:02d}{i:03d}"),
            phone=f"13{rng.randint(100000000, 999999999)}",
            address=f"潢川县{rng.choice(STREETS)}{rng.randint(1, 300)}号")
        row = app_cls(customer=customer, business_type=rng.choice(["new", "new", "increase", "temporary"]),
                      customer_type=customer.customer_type, address=customer.address,
                      capacity_kw=Decimal(rng.choice([4, 8, 10, 16, 25, 40])),
                      needs_engineering=not residential or i % 4 == 0,
                      accepted_on=today - dt.timedelta(days=36 - i), stage=stage)
        _stage_values(order, stage, row, rng, manager, today)
        session.add(row)
        for kind in required.get(customer.customer_type, []):
            session.add(doc_cls(application=row, kind=kind, received=True, pages=rng.randint(1, 3)))
        total += 1
    session.commit()
    lines.append(f"Demo applications created: {total}, over {len(stages)} stages.")
    return lines
