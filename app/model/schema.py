"""The shape of model.yaml as typed pydantic models; unknown keys are errors."""

from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field as PField, field_validator

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
FIELD_TYPES = ("string", "text", "integer", "decimal", "date", "datetime",
               "boolean", "choice", "reference", "file")
ACTIONS = ("list", "show", "add", "edit", "delete")
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
    form: bool = True
    help_zh: Optional[str] = None
    help_en: Optional[str] = None


class Entity(Labelled):
    menu: str
    icon: str = "fa-table"
    title: Optional[str] = None
    order_by: Optional[str] = None
    fields: dict[str, Field]
    permissions: dict[str, list[Literal[ACTIONS]]] = {}  # type: ignore[valid-type]


class Menu(Labelled):
    icon: str = "fa-folder"


class Role(Labelled):
    description_zh: str = ""


class Unit(Strict):
    key: str = PField(pattern=KEY_PATTERN)
    name_zh: str
    name_en: str
    kind: str


class Stage(Labelled):
    side: Literal["utility", "customer"] = "utility"
    roles: list[str] = []
    fields: list[str] = []
    terminal: bool = False
    initial: bool = False


class Transition(Labelled):
    trigger: str = PField(pattern=KEY_PATTERN)
    source: Union[str, list[str]]
    dest: str
    roles: list[str]
    conditions: list[str] = []
    fields: list[str] = []
    required: list[str] = []
    set: dict[str, Optional[Union[bool, int, str]]] = {}
    comment_required: bool = False


class Reason(Labelled):
    key: str = PField(pattern=KEY_PATTERN)


class Suspension(Strict):
    roles: list[str]
    reasons: list[Reason]


class Cancellation(Strict):
    roles: list[str]
    stage: str
    reasons: list[Reason]


class Documents(Strict):
    """Required application documents, by customer type, kept as rows of an entity."""

    entity: str
    kind_field: str = "kind"
    received_field: str = "received"
    by_customer_type: dict[str, list[str]]


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


class LimitCase(Strict):
    when: Optional[str] = None
    days: int = PField(ge=0, le=365)


class Event(Strict):
    enter: Optional[str] = None
    leave: Optional[str] = None
    transition: Optional[str] = None


class Timer(Labelled):
    start: Event
    stop: Event
    limit: Union[Annotated[int, PField(ge=0, le=365)], list[LimitCase]]
    pause_in: list[str] = []
    due_soon: int = PField(default=1, ge=0, le=30)
    reason_field: Optional[str] = None


class FineTrigger(Strict):
    timer: Optional[str] = None
    when: Optional[str] = None
    suspension_stage: Optional[Union[str, list[str]]] = None
    suspension_reason: Optional[str] = None
    incident: Optional[str] = None


class FineTarget(Strict):
    role: Optional[str] = None
    unit: Optional[str] = None
    responsible: bool = False


class AmountRange(Strict):
    min: Decimal = PField(ge=0)
    max: Decimal = PField(ge=0)


class FineRule(Strict):
    id: str = PField(pattern=r"^[A-Z][A-Z0-9_]{0,9}$")
    label_zh: str
    label_en: str
    stage: str
    trigger: FineTrigger
    target: FineTarget
    amount: Union[Annotated[Decimal, PField(ge=0)], AmountRange]
    sanction: Optional[Literal["suspend_until_exam", "remove_from_post"]] = None


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


class AppInfo(Strict):
    name_zh: str
    name_en: str


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

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value
