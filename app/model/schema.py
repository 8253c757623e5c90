"""The shape of model.yaml as typed pydantic models; unknown keys are errors."""

from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field as PField, field_validator

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
FIELD_TYPES = ("string", "text", "integer", "decimal", "date", "datetime",
               "boolean", "choice", "reference", "file")
ACTIONS = ("list", "show", "add", "edit", "delete")
SCOPES = ("all", "unit", "own", "own_or_unit")
Key = str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Labelled(Strict):
    label_zh: str = PField(min_length=1, max_length=100)
    label_en: str = PField(min_length=1, max_length=100)


class Choice(Labelled):
    value: str = PField(pattern=KEY_PATTERN)


class Field(Labelled):
    type: Literal[FIELD_TYPES]  # type: ignore[valid-type]
    required: bool = False
    unique: bool = False
    default: Optional[Union[bool, int, Decimal, str]] = None
    max_length: Optional[int] = PField(default=None, ge=1, le=10000)
    digits: int = PField(default=12, ge=1, le=30)
    places: int = PField(default=2, ge=0, le=10)
    choices: Optional[list[Choice]] = None
    to: Optional[str] = None
    format: Optional[Literal["id_card", "mobile", "phone", "email", "money"]] = None
    list: bool = False
    search: bool = False
    index: bool = False  # a database index on the column (lists filter or order by it); see README
    form: bool = True
    help_zh: Optional[str] = None
    help_en: Optional[str] = None
    # Input limits (app/model/limits.py): max_length above for string and text, min/max for numbers.
    min: Optional[Decimal] = PField(default=None, allow_inf_nan=False)
    max: Optional[Decimal] = PField(default=None, allow_inf_nan=False)
    private: bool = False  # personal data (ID number, phone, address): never in a REST API body


class Display(Strict):
    """How a record is named where users pick or read it (selects, filters, reference cells):
    `display: {fields: [name, phone], number: C}` -> "王建国 · 尾号1234 · C000123". Private fields and
    phone/ID formats show only their last 4 characters; `number` prefixes the record's id."""

    fields: list[str] = PField(min_length=1, max_length=4)
    number: Optional[str] = PField(default=None, pattern=r"^[A-Z]{1,4}$")


class Entity(Labelled):
    menu: str
    icon: str = "fa-table"
    title: Optional[str] = None
    display: Optional[Display] = None  # record labels in selects, filters, reference cells (M510, M511)
    order_by: Optional[str] = None
    fields: dict[str, Field]
    permissions: dict[str, list[Literal[ACTIONS]]] = {}  # type: ignore[valid-type]


class Menu(Labelled):
    icon: str = "fa-folder"


class Role(Labelled):
    description_zh: str = ""
    # Which cases (and their records) the role's users see and act on: app/security/scope.py.
    scope: Literal[SCOPES] = "all"  # type: ignore[valid-type]


class Unit(Strict):
    key: str = PField(pattern=KEY_PATTERN)
    name_zh: str
    name_en: str
    kind: str
    phone: Optional[str] = None  # shown to customers on the public progress lookup


class Stage(Labelled):
    side: Literal["utility", "customer"] = "utility"
    roles: list[str] = []
    fields: list[str] = []
    terminal: bool = False
    initial: bool = False
    # 办事公开: what the public progress lookup calls this stage (else its label) and what the
    # customer must do now (nothing shown when absent).
    public_zh: Optional[str] = PField(default=None, min_length=1, max_length=60)
    public_en: Optional[str] = PField(default=None, min_length=1, max_length=100)
    customer_action_zh: Optional[str] = PField(default=None, min_length=1, max_length=200)
    customer_action_en: Optional[str] = PField(default=None, min_length=1, max_length=300)
    # Fields the generic edit screen/API may change while a case is at this stage (default: none).
    editable: list[str] = []


class Signoff(Strict):
    """One party of a joint decision: a unit (any of its staff signs for it) or a role."""

    unit: Optional[str] = None
    role: Optional[str] = None


class Guard(Strict):
    """A transition condition with what the user reads when it does not hold (in both languages):
    `{if: "inspection_passed is true", message_zh: 中间检查尚未合格, message_en: ...}`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    if_: str = PField(alias="if", min_length=1)
    message_zh: Optional[str] = PField(default=None, min_length=1, max_length=200)
    message_en: Optional[str] = PField(default=None, min_length=1, max_length=300)


class Transition(Labelled):
    trigger: str = PField(pattern=KEY_PATTERN)
    source: Union[str, list[str]]
    dest: str
    roles: list[str]
    # A condition as text, or a Guard with the message a user reads when it fails (see `guards`).
    conditions: list[Union[str, Guard]] = []
    fields: list[str] = []
    required: list[str] = []
    set: dict[str, Optional[Union[bool, int, str]]] = {}
    comment_required: bool = False
    # Fields required only when a condition holds: {temp_end_date: "business_type == temporary"}.
    required_when: dict[str, str] = {}
    # Joint decisions: every unit or role listed signs off (each recorded) before the step completes.
    signoffs: list[Signoff] = []

    @property
    def guards(self) -> tuple[Guard, ...]:
        """Every condition as a Guard (a plain text has no message)."""
        return tuple(Guard(if_=c) if isinstance(c, str) else c for c in self.conditions)

    @property
    def condition_texts(self) -> tuple[str, ...]:
        return tuple(g.if_ for g in self.guards)


class Reason(Labelled):
    key: str = PField(pattern=KEY_PATTERN)


class Suspension(Strict):
    roles: list[str]
    reasons: list[Reason]


class Cancellation(Strict):
    roles: list[str]
    stage: str
    reasons: list[Reason]


class DocumentRequirement(Strict):
    """A document kind required at a stage (default: the initial one) when a condition holds;
    `documents_complete()` in a guard of a step leaving that stage checks it."""

    kind: str
    when: Optional[str] = None
    stage: Optional[str] = None


class Documents(Strict):
    """Required application documents, kept as rows of an entity: by customer type (the short
    form, at the initial stage) or as `required` entries with conditions and stages."""

    entity: str
    kind_field: str = "kind"
    received_field: str = "received"
    by_customer_type: dict[str, list[str]] = {}
    required: list[DocumentRequirement] = []


class PublicLookup(Strict):
    """办事公开: the customer finds an application by its number and the last 4 digits of this phone."""

    phone_field: str  # a phone field of the workflow entity, or `reference.field` (customer.phone)
    fields: list[str] = []  # shown besides the stage: choice, date, number or yes/no fields only
    contact_unit: Optional[str] = None  # whom to call while no customer manager is assigned


class Correction(Labelled):
    """A recorded correction of fields that guards, timers or fines read (customer type, capacity...):
    who may make it, which fields, always with a reason; running timers are recomputed."""

    trigger: str = PField(pattern=KEY_PATTERN)
    roles: list[str]
    fields: list[str] = PField(min_length=1)


class CaseRecords(Strict):
    """A sub-record entity of the case (documents, defects, fees): in which stages it may change
    (default: every stage that is not terminal) and by whom (default: the entity's permissions)."""

    stages: Optional[list[str]] = None
    roles: Optional[list[str]] = None


class WorkflowSpec(Strict):
    entity: str
    state_field: str = "stage"
    number_prefix: str = PField(pattern=r"^[A-Z]{1,6}$")
    owner_field: Optional[str] = None
    owner_role: Optional[str] = None
    stages: dict[str, Stage]
    transitions: list[Transition]
    suspension: Optional[Suspension] = None
    cancellation: Optional[Cancellation] = None
    documents: Optional[Documents] = None
    public_lookup: Optional[PublicLookup] = None
    accepted_by_field: Optional[str] = None  # user reference set to whoever creates (accepts) a case
    corrections: list[Correction] = []
    records: dict[str, CaseRecords] = {}
    comment_max_length: int = PField(default=2000, ge=1, le=100000)


class LimitCase(Strict):
    when: Optional[str] = None
    days: int = PField(ge=0, le=365)


class Event(Strict):
    enter: Optional[str] = None
    leave: Optional[str] = None
    transition: Optional[str] = None


class DueDate(Strict):
    """A deadline set in the data: the end (24:00) of a date field of the application, or the
    earliest one among the rows of a collection (those matching `when`)."""

    field: str
    collection: Optional[str] = None
    when: Optional[str] = None


class Timer(Labelled):
    start: Event
    stop: Event
    limit: Optional[Union[Annotated[int, PField(ge=0, le=365)], list[LimitCase]]] = None
    unit: Literal["working_days", "calendar_days"] = "working_days"
    due_date: Optional[DueDate] = None  # instead of a limit
    pause_in: list[str] = []
    due_soon: int = PField(default=1, ge=0, le=30)
    reason_field: Optional[str] = None


class StageRange(Strict):
    """Stages by the regulation's "after X" wording: `{after: site_survey}` is every stage declared
    after site_survey (in workflow.stages) that can be reached from it; `from` includes X itself;
    `before`/`until` bound the range above (exclusive/inclusive). See app/model/fine_stages.py."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    after: Optional[str] = None
    from_: Optional[str] = PField(default=None, alias="from")
    before: Optional[str] = None
    until: Optional[str] = None


#: One stage, a list of stages, or a range `{after: X}` (expanded against the workflow).
StageSet = Union[str, list[str], StageRange]


class FineTrigger(Strict):
    timer: Optional[str] = None
    when: Optional[str] = None
    # timer rules: where the application stood when the deadline passed
    at_stage: Optional[StageSet] = None
    # timer rules: judge the breach at this step (e.g. when the outcome is known), not when it happens
    judged_at: Optional[Event] = None
    suspension_stage: Optional[StageSet] = None
    suspension_reason: Optional[str] = None
    incident: Optional[str] = None


class UnitByField(Strict):
    field: str  # a reference on the application: to a unit, or to a user (that person's unit)


class UnitBySignoff(Strict):
    unsigned: str  # a step with sign-offs from that stage: each unit that has not signed it off yet


class UnitTarget(Strict):
    """A unit resolved per case: by the stage where it happened, or from a field of the application."""

    by_stage: Optional[dict[str, Union[str, UnitByField, UnitBySignoff]]] = None
    field: Optional[str] = None
    among: list[str] = []  # a resolved unit outside this list is not this rule's to fine


class FineTarget(Strict):
    role: Optional[str] = None
    field: Optional[str] = None  # the person in this user reference of the application (holding `role`)
    unit: Optional[Union[str, UnitTarget]] = None
    responsible: bool = False


class AmountRange(Strict):
    """An amount the auditor sets; `max` absent: no upper bound."""

    min: Decimal = PField(ge=0)
    max: Optional[Decimal] = PField(default=None, ge=0)


class FineRule(Strict):
    id: str = PField(pattern=r"^[A-Z][A-Z0-9_]{0,9}$")
    label_zh: str
    label_en: str
    stage: str
    trigger: FineTrigger
    target: FineTarget
    amount: Union[Annotated[Decimal, PField(ge=0)], AmountRange]
    sanction: Optional[Literal["suspend_until_exam", "remove_from_post"]] = None
    excludes: list[str] = []  # rules never proposed together with this one on the same application


class Assessment(Strict):
    """Who decides fines (confirm, waive, incidents, sanctions), who sees the monthly summary and
    who sees all fines of their own unit (unit heads)."""

    decide: list[str]
    summary: list[str] = []
    unit_view: list[str] = []


class Form(Labelled):
    scope: Literal["application", "fine", "month"] = "application"
    template: Optional[str] = None
    stage: Optional[str] = None
    roles: list[str]
    fields: list[str] = []
    # Printable while the application is at `stage` too (a blank form filled in on site), not only after.
    during_stage: bool = False


class AppInfo(Strict):
    name_zh: str
    name_en: str


class Migration(Strict):
    """How the cases of the version being replaced fit this model (`model apply`, app/versions/impact.py):
    a removed stage -> the stage its cases move to; a removed choice value -> the value stored instead
    (`values: {"application.business_type": {old: new}}`); fields set on the cases moved into a stage
    (`set: {line_works: {needs_line_works: true}}`). Each moved case gets a history row."""

    stages: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    set: dict[str, dict[str, Optional[Union[bool, int, str]]]] = {}


class Model(Strict):
    version: str = PField(min_length=1, max_length=40)
    app: AppInfo
    roles: dict[str, Role]
    menus: dict[str, Menu]
    units: list[Unit] = []
    entities: dict[str, Entity]
    workflow: Optional[WorkflowSpec] = None
    timers: dict[str, Timer] = {}
    assessment: Optional[Assessment] = None
    fines: list[FineRule] = []
    incidents: list[Reason] = []
    forms: dict[str, Form] = {}
    migrate: Optional[Migration] = None  # mapping of removed stages and choice values (see Migration)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value
