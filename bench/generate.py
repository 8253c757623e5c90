"""Fill a database with N realistic applications for the scale benchmarks (issue 13).

    .venv/bin/python bench/generate.py --url postgresql://postgres@127.0.0.1:5432/ykt_bench_100k --size 100000

Runs `model apply` first (idempotent), creates the demo users (one per role, passwords as in README.md)
and a staff of customer managers, clerks, auditors and metering staff in the model's units, then
customers (~30% of N) and applications accepted over the last `--years` years. Each application has
walked the model's own workflow (the shortest declared path, as `demo load` drives it) as far as its
age allows: most are archived, some cancelled, the recent ones spread over the open stages (staff
steps take hours, the customer's own works weeks). Every step writes its history row; timers are started and stopped by the model's timer
events (late ones overdue or met late, each breach with its fine), documents are the kinds the model
requires at the stages passed. Stage keys, choice values, timers and fine rules come from the model
loaded at run time: edit model.yaml and the generator follows.

Rows are made in Python from one `random.Random(seed)` (same seed and --today, same data) and written
with COPY on PostgreSQL, executemany on SQLite. The data tables must be empty (`--fresh` drops
everything first). Not generated yet: suspensions, sign-offs (会签), inspection defects, fees, print
records; the fields of reflexive steps (e.g. the billing account number) stay empty.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.case_rows import CaseRows  # noqa: E402

SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
GIVEN = "伟芳娜敏静强磊军洋勇艳杰涛明超秀英华丽平刚桂兰玉萍红霞建国志斌鹏辉俊峰凤云飞海波宇浩"
SHOPS = ["便民超市", "小吃店", "五金店", "农资站", "汽修厂", "面粉加工厂", "养殖场", "门诊部", "幼儿园", "茶叶店"]
STREETS = ["春申大道", "跃进路", "新华街", "弋阳路", "交通路", "航空路", "黄国路", "中山路", "人民路", "解放路"]
TOWNS = ["城关镇", "五里店", "洋山新区", "平桥区", "浉河区", "东双河镇", "谭家河乡", "董家河镇"]
STAFF_PER_APPS = {"customer_manager": 400, "clerk": 2000, "auditor": 4000, "metering": 3000, "unit_head": 20000}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=os.environ.get("DATABASE_URL"), help="SQLAlchemy URL (default: $DATABASE_URL)")
    p.add_argument("--size", type=int, default=10000, help="applications (up to 1,000,000)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--years", type=float, default=3.0, help="applications accepted over this many years")
    p.add_argument("--today", default=None, help="the generation date (YYYY-MM-DD; default today)")
    p.add_argument("--fresh", action="store_true", help="drop everything in the database first")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if not args.url:
        p.error("--url or DATABASE_URL is required")
    return args


def _weights(values, ratio=0.25):
    """Choice values, the first most common (new connection, residential...): a geometric spread."""
    return [ratio ** i for i in range(len(values))]


class Generator(CaseRows):
    def __init__(self, core, sm, args):
        self.core, self.sm, self.args = core, sm, args
        self.rng = random.Random(args.seed)
        self.model = core.model
        self.wf = core.model.workflow
        self.engine = core.engine
        self.session = core.db.session
        self.conn = None
        today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
        self.now = dt.datetime.combine(today, dt.time(10, 0), dt.timezone.utc)
        self.entity = self.model.entities[self.wf.entity]
        self.counts: dict[str, int] = {}
        self.log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))

    # ------------------------------------------------------------------ writing
    def write(self, table, columns: list[str], rows) -> int:
        """COPY (PostgreSQL) or executemany (SQLite) of tuples in `columns` order; returns the count."""
        n = 0
        raw = self.conn.connection.driver_connection
        if self.conn.dialect.name == "postgresql":
            cols = ", ".join(f'"{c}"' for c in columns)
            with raw.cursor() as cur:
                with cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                        n += 1
        else:
            marks = ", ".join("?" for _ in columns)
            cols = ", ".join(f'"{c}"' for c in columns)
            sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'
            cur = raw.cursor()
            batch = []
            for row in rows:
                batch.append(tuple(_sqlite(v) for v in row))
                if len(batch) >= 5000:
                    cur.executemany(sql, batch)
                    n += len(batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
                n += len(batch)
        self.counts[table] = self.counts.get(table, 0) + n
        return n

    # ------------------------------------------------------------------ users
    def users(self) -> None:
        from sqlalchemy import select

        from app.demo import _users  # `flask demo load`'s users: one per role, README passwords

        _users(self.sm, self.core)
        self.session.commit()
        user_cls = self.sm.user_model
        unit_cls = self.core.orm["unit"]
        self.units = {u.code: (u.id, u.name) for u in self.session.scalars(select(unit_cls))}
        demo = {u.username: u for u in self.session.scalars(select(user_cls))}
        template = demo.get("manager") or next(iter(demo.values()))
        roles = {r.name: r.id for r in self.sm.get_all_roles()}
        max_id = max(u.id for u in demo.values())
        unit_codes = list(self.units)
        staff_units = [c for c in unit_codes if c in ("service_center", "supply_station")] or unit_codes
        rows, links = [], []
        self.staff: dict[str, list[tuple]] = {}  # role -> [(id, name, unit_id, unit_name)]
        for u in demo.values():
            for r in u.roles:
                unit = (u.unit.id, u.unit.name) if u.unit is not None else (None, "")
                self.staff.setdefault(r.name, []).append((u.id, f"{u.last_name}{u.first_name}", *unit))
        rng = self.rng
        for role, per in STAFF_PER_APPS.items():
            if role not in roles:
                continue
            for i in range(max(2, self.args.size // per)):
                max_id += 1
                code = rng.choice(staff_units)
                family, given = rng.choice(SURNAMES), "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                rows.append((max_id, given, family, f"{role}{i + 1:04d}", template.password, True,
                             f"{role}{i + 1:04d}@bench.example.cn", self.units[code][0], self.now, self.now))
                links.append((max_id, roles[role]))
                self.staff.setdefault(role, []).append((max_id, family + given, *self.units[code]))
        self.conn = self.session.connection()
        self.write("ab_user", ["id", "first_name", "last_name", "username", "password", "active", "email",
                               "unit_id", "created_on", "changed_on"], rows)
        start = self.conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM ab_user_role").scalar()
        self.write("ab_user_role", ["id", "user_id", "role_id"],
                   [(start + i + 1, u, r) for i, (u, r) in enumerate(links)])
        self.counts["ab_user"] += len(demo)

    # ------------------------------------------------------------------ customers
    def customers(self) -> list[tuple]:
        from app.model.formats import id_card_with_check_digit

        fields = self.model.entities["customer"].fields
        types = [c.value for c in fields["customer_type"].choices] if "customer_type" in fields else [None]
        n = max(1, int(self.args.size * 0.3))
        rng, out, rows = self.rng, [], []
        for i in range(1, n + 1):
            ctype = rng.choices(types, weights=[0.8] + [0.2 / max(1, len(types) - 1)] * (len(types) - 1))[0]
            if ctype == types[0]:
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            else:
                name = f"{rng.choice(TOWNS)}{rng.choice(SURNAMES)}记{rng.choice(SHOPS)}"
            address = f"信阳市{rng.choice(TOWNS)}{rng.choice(STREETS)}{rng.randint(1, 999)}号"
            phone = f"1{rng.choice('3456789')}{i:09d}"
            born = dt.date(1950, 1, 1) + dt.timedelta(days=(i // 1000) * 53 % 20000)  # unique with i % 1000
            id_card = id_card_with_check_digit(f"411502{born:%Y%m%d}{i % 1000:03d}")
            values = {"name": name, "customer_type": ctype, "id_card": id_card if i < 1000000 else None,
                      "phone": phone, "address": address,
                      "licence_no": f"91411500MA{i:08d}" if ctype != types[0] else None}
            out.append((i, ctype, address))
            rows.append((i, *[values.get(k) for k in self._customer_cols], self.now, self.now))
        self._customer_rows = rows
        return out

    # ------------------------------------------------------------------ the workflow
    def paths(self) -> None:
        """Shortest paths (as `demo load` takes them) to every stage, for each kind of application."""
        from app.demo import _path

        stages = self.wf.stages
        self.terminal = [k for k, s in stages.items() if s.terminal and k != self.engine.wf.cancellation_stage]
        self.cancel_stage = self.engine.wf.cancellation_stage
        self.initial = self.engine.wf.initial_stage
        self._paths: dict = {}
        # the guards choose the branch: a household (first customer type) with or without works
        ctype = self.entity.fields.get("customer_type")
        first = ctype.choices[0].value if ctype is not None and ctype.choices else None
        for engineering in (False, True):
            record = self._record(first, engineering)
            full = _path(self.engine, self.terminal[0], record) if self.terminal else []
            self._paths[engineering] = full or []

    def _record(self, ctype, engineering):
        return {"customer_type": ctype, "needs_engineering": engineering, "inspection_passed": False}

    def timers(self):
        """[(key, timer, limit(record) -> days)] for the model's timers that run on days."""
        out = []
        for key, timer in (self.model.timers or {}).items():
            if timer.due_date is not None:
                continue
            out.append((key, timer))
        return out

    def run(self) -> None:
        from sqlalchemy import select

        t0 = time.time()
        app_cls = self.core.orm[self.wf.entity]
        if self.session.scalar(select(app_cls.id).limit(1)) is not None:
            raise SystemExit(f"generate: table {self.wf.entity} already holds rows; use an empty database")
        self.users()
        cust_fields = self.model.entities["customer"].fields
        self._customer_cols = [k for k in ("name", "customer_type", "id_card", "phone", "address", "licence_no")
                               if k in cust_fields]
        customers = self.customers()
        self.write("customer", ["id", *self._customer_cols, "created_on", "changed_on"], self._customer_rows)
        self.log(f"  users+customers {time.time() - t0:.1f}s")
        self.paths()
        self.applications(customers)
        self.log(f"  applications {time.time() - t0:.1f}s")
        self.finish()
        self.log(f"  done {time.time() - t0:.1f}s")

    def applications(self, customers) -> None:
        """All application rows first (the other tables reference them), then history, timers,
        documents and fines — each table one COPY fed by a generator over the same plan."""
        rng, args = self.rng, self.args
        f = self.entity.fields
        state = self.wf.state_field
        choice = {k: [c.value for c in fld.choices] for k, fld in f.items() if fld.type == "choice"}
        span = args.years * 365.0
        managers = self.staff.get(self.wf.owner_role or "", []) or [(None, "", None, "")]
        clerks = self.staff.get("clerk") or managers
        demo_manager = managers[0]
        plans = []
        prefix = self.wf.number_prefix or "YK"
        month_seq: dict[str, int] = {}
        ctype_field = "customer_type" in f
        side = {k: st.side for k, st in self.wf.stages.items()}
        for i in range(1, args.size + 1):
            cust_id, cust_type, cust_addr = customers[rng.randrange(len(customers))]
            age = span * (rng.random() ** 1.15)  # more recent applications than old ones (growth)
            created = self.now - dt.timedelta(days=age, minutes=rng.randint(0, 480))
            ctype = cust_type if ctype_field and cust_type in choice.get("customer_type", [cust_type]) else None
            needs = rng.random() < 0.15
            engineering = needs or (ctype is not None and ctype != choice["customer_type"][0])
            path = self._paths[engineering]
            # staff steps take hours (a few are late); the customer's own stages (works) take weeks
            gaps, total = [], 0.0
            for t in path:
                if side.get(t.sources[0]) == "customer":
                    gap = rng.uniform(5, 40)
                else:
                    gap = rng.uniform(1.5, 5) if rng.random() < 0.04 else rng.uniform(0.02, 0.5)
                total += gap
                gaps.append(total)
            done = sum(1 for g in gaps if g <= age)
            if done == len(path) or not path:
                cut = len(path) if rng.random() > 0.04 else -1  # -1: cancelled at some step
            else:
                cut = done if rng.random() > 0.02 else -1
            duration = tuple(gaps)
            owner = demo_manager if rng.random() < 0.02 else managers[rng.randrange(len(managers))]
            clerk = clerks[rng.randrange(len(clerks))]
            month = created.strftime("%Y%m")
            month_seq[month] = month_seq.get(month, 0) + 1
            number = f"{prefix}{month}{month_seq[month]:04d}"
            plans.append((i, cust_id, ctype, cust_addr, created, duration, engineering, needs, cut, owner, clerk,
                          number))
        self._month_seq = month_seq
        self.plans = plans
        # application rows
        base = ["id", "number", state, "suspended", "suspended_from", "lock_version", "created_on", "changed_on",
                "customer_id", "address", "accepted_on"]
        extra = [k for k in ("business_type", "customer_type", "capacity_kw", "needs_engineering",
                             "individual_business", "special_customer", "description") if k in f]
        owner_col = f"{self.wf.owner_field}_id" if self.wf.owner_field else None
        acc_col = f"{self.wf.accepted_by_field}_id" if self.wf.accepted_by_field else None
        filled = sorted({name for path in self._paths.values() for t in path for name in t.fields
                         if name in f and name not in extra and name not in ("owner",)} |
                        {name for path in self._paths.values() for t in path for name in t.set if name in f})
        cols = base + extra + [c for c in (owner_col, acc_col) if c] + [
            (f"{n}_id" if f[n].type == "reference" else n) for n in filled]
        self._steps_cache: dict = {}

        def app_rows():
            r = random.Random(args.seed + 1)
            for (i, cust_id, ctype, addr, created, duration, engineering, needs, cut, owner, clerk, number) in plans:
                path = self._paths[engineering]
                stage, steps = self._stage(path, cut, i)
                suspended = False  # suspensions need their suspension rows: not generated yet
                ex = {"business_type": r.choices(choice.get("business_type", [None]),
                                                 _weights(choice.get("business_type", [None])))[0],
                      "customer_type": ctype, "capacity_kw": Decimal(r.choice((4, 6, 8, 10, 16, 20, 30, 50))),
                      "needs_engineering": needs, "individual_business": ctype != choice["customer_type"][0]
                      and r.random() < 0.5 if "customer_type" in choice else False,
                      "special_customer": r.random() < 0.03, "description": None}
                passed = {n for t in path[:steps] for n in t.fields} | {n for t in path[:steps] for n in t.set}
                at = created.date()
                vals = [self._value(n, i, at, owner, path[:steps]) if n in passed else None for n in filled]
                has_owner = any(n == self.wf.owner_field for t in path[:steps] for n in t.fields) or steps > 1
                yield (i, number, stage, suspended, stage if suspended else None, 1 + steps, created,
                       created + dt.timedelta(days=duration[steps - 1] if steps else 0), cust_id, addr,
                       created.date(), *[ex[k] for k in extra],
                       *([owner[0] if has_owner else None] if owner_col else []),
                       *([clerk[0]] if acc_col else []), *vals)
        self.write(self.wf.entity, cols, app_rows())
        self.history_timers_documents_fines()

    def _stage(self, path, cut, i):
        if cut == -1:  # cancelled after a few steps
            steps = (i * 7919) % max(1, min(len(path), 4))
            return self.cancel_stage, steps
        if cut >= len(path):
            return path[-1].dest, len(path)
        return (path[cut - 1].dest if cut > 0 else self.initial), cut

    def _value(self, name, i, at, owner, taken):
        spec = self.entity.fields[name]
        for t in taken:
            if name in t.set:
                return t.set[name]
        if spec.type == "date":
            return at + dt.timedelta(days=5)
        if spec.type == "decimal":
            return Decimal(8)
        if spec.type == "choice":
            return spec.choices[0].value
        if spec.type == "reference":
            return owner[0]
        if spec.type == "boolean":
            return True
        if spec.type == "integer":
            return 1
        text = f"{name[:2].upper()}{i:07d}"
        return text[: spec.max_length] if getattr(spec, "max_length", None) else text

    def finish(self) -> None:
        """Sequences past the ids written, the number counters, statistics."""
        conn = self.conn
        if conn.dialect.name == "postgresql":
            docs = self.wf.documents
            tables = ["ab_user", "ab_user_role", "customer", self.wf.entity, "workflow_history", "sla_timer",
                      "fine_entry"] + ([self.core.orm[docs.entity].__tablename__] if docs else [])
            for table in tables:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM \"{table}\"), false)")
        from app.database.builtin import NumberCounter

        prefix = self.wf.number_prefix or "YK"
        conn.execute(NumberCounter.__table__.delete())
        conn.execute(NumberCounter.__table__.insert(),
                     [{"prefix": f"{prefix}{m}", "value": v} for m, v in self._month_seq.items()])
        dialect = conn.dialect.name
        self.session.commit()
        if dialect == "postgresql":
            with self.core.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE")


def _sqlite(v):
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def drop_all(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            else:
                tables = [r[0] for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                for t in tables:
                    conn.exec_driver_sql(f'DROP TABLE "{t}"')
    finally:
        engine.dispose()


def generate(url: str, size: int, seed: int = 13, years: float = 3.0, today: str | None = None,
             quiet: bool = False, fresh: bool = False) -> dict[str, int]:
    """Importable entry point (the smoke test): returns rows written per table."""
    argv = ["--url", url, "--size", str(size), "--seed", str(seed), "--years", str(years)]
    argv += (["--today", today] if today else []) + (["--quiet"] if quiet else [])
    argv += ["--fresh"] if fresh else []
    return main(argv)


def main(argv=None) -> dict[str, int]:
    args = parse_args(argv)
    from flask import current_app

    from app import create_app
    from app.database.apply import apply_model

    if args.fresh:
        drop_all(args.url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench-generate",
                      "SLA_SWEEP_IN_PROCESS": False})
    with app.app_context():
        apply_model()
        core = current_app.extensions["yekuotong"]
        gen = Generator(core, current_app.appbuilder.sm, args)
        gen.run()
        core.db.session.remove()
        core.db.engine.dispose()
    if not args.quiet:
        for table, n in gen.counts.items():
            print(f"{table:<20} {n:>10,}")
    return gen.counts


if __name__ == "__main__":
    main()
