"""The rows each generated application leaves behind it (bench/generate.py): history, timers started
and stopped by the model's timer events, breaches with their fines, the documents required at the
stages passed. A mixin of `Generator`: it walks the plans `Generator.applications` made."""
from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

DAY = dt.timedelta(days=1)


class CaseRows:
    def _step_times(self, created, gaps, n_steps, _n_path):
        return [created + dt.timedelta(days=gaps[k]) for k in range(n_steps)]

    def history_timers_documents_fines(self) -> None:
        args = self.args
        timers = self.timers()
        sla = self.core.sla
        docs = self.wf.documents
        doc_cls = self.core.orm[docs.entity] if docs is not None else None
        rules_by_timer = {}
        for rule in self.model.fines or []:
            if rule.trigger.timer and rule.trigger.timer not in rules_by_timer:
                rules_by_timer[rule.trigger.timer] = rule
        hist, tim, doc, fines = [], [], [], []
        hid = tid = did = fid = 0
        version = self.model.version
        r = random.Random(args.seed + 2)
        doc_cache: dict = {}
        auditor = (self.staff.get("auditor") or [(None,)])[0][0]
        from app.assessment.entries import month_of

        for (i, cust_id, ctype, addr, created, duration, engineering, needs, cut, owner, clerk, number) in self.plans:
            path = self._paths[engineering]
            stage, steps = self._stage(path, cut, i)
            times = self._step_times(created, duration, steps, len(path))
            record = {"customer_type": ctype, "needs_engineering": needs}
            # history: created, then each step
            hid += 1
            hist.append((hid, i, created, clerk[0], clerk[1], "clerk", clerk[3], "create", "accept", None,
                         self.initial, None))
            events = [(None, None, self.initial, created)]
            for k in range(steps):
                t = path[k]
                actor = owner if self.wf.owner_role in t.roles else clerk
                hid += 1
                hist.append((hid, i, times[k], actor[0], actor[1], ",".join(t.roles[:1]), actor[3], "transition",
                             t.trigger, t.sources[0], t.dest, None))
                events.append((t.trigger, t.sources[0], t.dest, times[k]))
            if stage == self.cancel_stage:
                at = min(self.now, (times[-1] if times else created) + DAY)
                src = path[steps - 1].dest if steps else self.initial
                hid += 1
                hist.append((hid, i, at, clerk[0], clerk[1], "clerk", clerk[3], "cancel", "cancel", src, stage,
                             "客户来电撤回"))
                events.append(("cancel", src, stage, at))
            # timers
            started: dict = {}
            for key, timer in timers:
                for trig, src, dst, at in events:
                    if key not in started and _hits(timer.start, trig, src, dst):
                        days = sla.limit(key, record)
                        due = at + dt.timedelta(days=days * 7 / 5 + 0.2)
                        # the regulation's deadlines are mostly met: stretch only a few
                        started[key] = [at, days, due, None]
                    elif key in started and started[key][3] is None and (_hits(timer.stop, trig, src, dst)
                                                                        or trig == "cancel"):
                        started[key][3] = (at, trig == "cancel")
            for key, (at, days, due, stop) in started.items():
                tid += 1
                breached = None
                if stop is None:
                    status = "overdue" if due <= self.now else "running"
                    stopped = None
                    breached = due if status == "overdue" else None
                else:
                    stopped, cancelled = stop
                    status = "cancelled" if cancelled else ("met_late" if stopped > due else "met")
                    breached = due if status == "met_late" else None
                tim.append((tid, i, key, status, days, at, due, False, None, None, stopped, breached,
                            breached is not None, stage if breached else None, version))
                rule = rules_by_timer.get(key)
                if breached is not None and rule is not None:
                    fid += 1
                    target_user = owner if (rule.target.role == self.wf.owner_role) else clerk
                    unit = target_user[2] if rule.target.unit else None
                    amount = None if not isinstance(rule.amount, (int, Decimal)) else Decimal(rule.amount)
                    age = (self.now - breached).days
                    status_f = "proposed" if age < 20 else ("waived" if r.random() < 0.1 else "confirmed")
                    fines.append((fid, f"timer:{tid}:{rule.id}", rule.id, rule.label_zh, version, i, number,
                                  None if unit else target_user[0], unit, amount, status_f, breached,
                                  month_of(breached), json.dumps({"timer": key}, ensure_ascii=False),
                                  None if status_f == "proposed" else breached + dt.timedelta(days=3),
                                  None if status_f == "proposed" else auditor))
            # documents: the kinds the model requires at the stages passed
            if doc_cls is not None:
                visited = [self.initial] + [path[k].dest for k in range(steps)]
                for st in dict.fromkeys(visited):
                    ck = (ctype, needs, st)
                    if ck not in doc_cache:
                        rec = {**record, "individual_business": False, "special_customer": False}
                        doc_cache[ck] = self.engine.wf.required_documents(rec, st)
                    for kind in doc_cache[ck]:
                        did += 1
                        doc.append((did, i, kind, True, 1 + did % 5, created, created))
            if len(hist) > 50000:
                self._flush(hist, tim, doc, fines, doc_cls)
                hist, tim, doc, fines = [], [], [], []
        self._flush(hist, tim, doc, fines, doc_cls)

    def _flush(self, hist, tim, doc, fines, doc_cls):
        self.write("workflow_history", ["id", "application_id", "at", "user_id", "user_name", "roles", "unit_name",
                                        "kind", "trigger", "from_stage", "to_stage", "comment"], hist)
        self.write("sla_timer", ["id", "application_id", "timer", "status", "limit_days", "started_at", "due_at",
                                 "provisional", "paused_at", "remaining_days", "stopped_at", "breached_at",
                                 "breach_recorded", "stage_at_breach", "model_version"], tim)
        if doc_cls is not None:
            d = self.wf.documents
            self.write(doc_cls.__tablename__, ["id", "application_id", d.kind_field, d.received_field, "pages",
                                               "created_on", "changed_on"], doc)
        self.write("fine_entry", ["id", "trigger_key", "rule_id", "rule_label", "model_version", "application_id",
                                  "application_number", "target_user_id", "target_unit_id", "amount", "status",
                                  "proposed_at", "month", "evidence", "decided_at", "decided_by_id"], fines)


def _hits(event, trigger, source, dest) -> bool:
    if event is None:
        return False
    if event.transition is not None and event.transition == trigger:
        return True
    if event.enter is not None and event.enter == dest and source != dest:
        return True
    return event.leave is not None and event.leave == source and source != dest
