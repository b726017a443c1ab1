"""config.yaml: pydantic models for the core sections, `${VAR}` expansion, and errors that name the key.

Sections owned by a plug-in package (each channel, `bot`, `routing`) are kept raw here and validated by
`hub.registry`, so a new channel brings its own model and the core never learns its keys.
"""
from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.privacy.config import RetentionConfig
from hub.webhooks.config import WebhooksConfig

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_HOURS = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """A config problem, phrased as `key.path: what was expected`."""


def parse_duration(value: Any) -> timedelta:
    """'15m', '1h', '2d', '90s', or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    raise ValueError(f"expected a duration such as 30s, 15m, 1h or 2d, got {value!r}")


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name such as Asia/Bangkok)") from exc
    return name


class Strict(BaseModel):
    # Unknown keys are errors: a typo in config.yaml must fail at start, not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = None
    allowed_origins: list[str] = []
    max_body: int = Field(1_048_576, gt=0, description="largest HTTP body in bytes (413 above)")
    max_frame: int = Field(16_384, gt=0, description="largest chat WebSocket frame in bytes (close 1009 above)")
    max_text: int = Field(10_000, gt=0, description="longest message text in characters")
    max_attachment: int = Field(20 * 1_048_576, gt=0, description="largest attachment fetched for agents, bytes")
    static_dir: str | None = None
    workers: int = Field(1, ge=1)
    trusted_proxies: list[str] = Field([], description="reverse proxy addresses whose X-Forwarded-For names the client")


class DatabaseConfig(Strict):
    url: str = "sqlite+aiosqlite:///hub.db"
    echo: bool = False
    pool_size: int = Field(10, ge=1)
    group_wait_ms: float = Field(
        5.0, ge=0, le=100,
        description="under load, how long customer messages may gather into one transaction after the last commit "
                    "(a group opening conversations: twice as long)")

    @field_validator("url")
    @classmethod
    def _known(cls, v: str) -> str:
        if not (v.startswith("sqlite+aiosqlite://") or v.startswith("postgresql+asyncpg://")):
            raise ValueError("expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB")
        return v


class RedisConfig(Strict):
    url: str | None = None
    prefix: str = "hub:"
    lease_ttl: float = Field(10.0, gt=0, description="seconds a singleton lease lives without a heartbeat")


class BusinessHours(Strict):
    tz: str = "Asia/Bangkok"
    weekly: dict[str, list[str]] = Field(
        default_factory=lambda: {d: ["09:00-18:00"] for d in WEEKDAYS[:5]}
    )
    holidays: list[date] = []

    _tz = field_validator("tz")(classmethod(lambda cls, v: check_timezone(v)))

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, spans in v.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; expected one of {', '.join(WEEKDAYS)}")
            for span in spans:
                m = _HOURS.match(span)
                if not m or (m.group(1), m.group(2)) >= (m.group(3), m.group(4)):
                    raise ValueError(f"{day}: expected HH:MM-HH:MM with start before end, got {span!r}")
        return v


class Department(Strict):
    name: str
    default: bool = False
    keywords: dict[str, list[str]] = {}
    business_hours: BusinessHours | None = None
    auto_assign: bool = False
    escalation: str | None = None  # department that receives this one's SLA breaches
    supervisors: list[str] = []  # agent emails notified on breaches (besides the department's supervisors)
    surveys: bool = True  # ask this department's customers for a satisfaction survey after a resolution
    label: dict[str, str] = {}  # the name agents read, per console language ({th: การเงิน}); else `name`


class SlaTarget(Strict):
    first_response: timedelta | None = None
    resolution: timedelta | None = None
    warn_at: float = Field(0.8, gt=0, lt=1, description="fraction of the target at which to warn")

    @field_validator("first_response", "resolution", mode="before")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)


def _default_sla() -> dict[str, SlaTarget]:
    return {
        "low": SlaTarget(first_response=timedelta(hours=8), resolution=timedelta(days=3)),
        "normal": SlaTarget(first_response=timedelta(hours=1), resolution=timedelta(hours=24)),
        "high": SlaTarget(first_response=timedelta(minutes=15), resolution=timedelta(hours=8)),
        "urgent": SlaTarget(first_response=timedelta(minutes=5), resolution=timedelta(hours=4)),
    }


class AgentSeed(Strict):
    name: str
    email: str
    password: str | None = None  # without one the agent is created without a usable password: `hub agent password`
    role: Literal["agent", "supervisor", "admin"] = "agent"
    departments: list[str] = []
    capacity: int = Field(5, ge=1)

    @field_validator("password")
    @classmethod
    def _password(cls, v: str | None) -> str | None:
        from hub.auth import password_problem

        if v is not None and (problem := password_problem(v)):
            raise ValueError(problem)
        return v


class RateLimits(Strict):
    enabled: bool = True
    login_per_minute: int = Field(10, ge=1)
    public_per_minute: int = Field(60, ge=1, description="per IP on /contact, /api/callbacks and chat connects")
    chat_messages_per_minute: int = Field(60, ge=1, description="per visitor on the chat socket")
    chat_frames_per_minute: int = Field(240, ge=1, description="every frame of one chat socket (typing included)")
    chat_typing_interval: float = Field(3.0, ge=0, description="seconds between typing events passed on per visitor")


CLOSING_MESSAGE = {
    "en": "This conversation is marked as resolved. Thank you for contacting us! If you need anything else, just write "
          "here and we will pick it up again.",
    "th": "เรื่องนี้ได้รับการแก้ไขเรียบร้อยแล้ว ขอบคุณที่ติดต่อเรานะคะ หากต้องการสอบถามเพิ่มเติม พิมพ์ข้อความไว้ที่นี่ได้เลย "
          "เราจะกลับมาดูแลต่อค่ะ",
    "fa": "این گفتگو حل‌شده علامت خورد. از تماس شما سپاسگزاریم! اگر کار دیگری داشتید، همین‌جا بنویسید تا دوباره "
          "پیگیری کنیم.",
}


class TicketsConfig(Strict):
    reopen_window: timedelta = timedelta(days=7)
    auto_close_after: timedelta = Field(timedelta(days=3), description="a resolved ticket closes this long after")
    # Said to the customer when an agent resolves their conversation, per language (the ticket's, else en); {} = none.
    closing_message: dict[str, str] = Field(default_factory=lambda: dict(CLOSING_MESSAGE))
    # A conversation only the bot answered resolves by itself this long after the customer's last word (0 = never).
    bot_idle_resolve_after: timedelta = Field(timedelta(hours=24))

    @field_validator("bot_idle_resolve_after", mode="before")
    @classmethod
    def _idle(cls, v: Any) -> Any:
        return parse_duration(v)

    @field_validator("reopen_window", "auto_close_after", mode="before")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return parse_duration(v)


class OutboxConfig(Strict):
    max_attempts: int = Field(8, ge=1)
    backoff_base: float = Field(2.0, gt=0, description="seconds; doubles per attempt")
    backoff_max: float = Field(600.0, gt=0)
    sweep_interval: float = Field(1.0, gt=0)
    lock_timeout: float = Field(60.0, gt=0, description="seconds a claimed row stays locked; longer than any send")


class AuthConfig(Strict):
    token_ttl: timedelta = timedelta(hours=12)
    # How often an open agent socket looks at its token again (revocations normally arrive at once on the bus).
    socket_recheck: timedelta = timedelta(seconds=60)

    @field_validator("token_ttl", "socket_recheck", mode="before")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return parse_duration(v)


class SurveysConfig(Strict):
    """Satisfaction surveys after a resolution (hub/surveys)."""

    enabled: bool = True
    delay: timedelta = Field(timedelta(hours=1), description="time after the resolution before the survey goes out")
    expires_after: timedelta = Field(timedelta(days=3), description="how long a survey can be answered (and changed)")
    comment_window: timedelta = Field(timedelta(hours=24), description="chat: how long after the score a text is the comment")
    low_score: int = Field(2, ge=1, le=4, description="a score at or below this opens a complaint follow-up ticket")
    nps: bool = Field(False, description="ask 'would you recommend us' (0-10) as a second question")
    bot_only: bool = Field(False, description="also survey chats that only the bot answered")
    auto_replies: bool = Field(False, description="also survey tickets opened by auto-replies, bounces or spam reports")
    link_secret: str | None = Field(None, description="HMAC key of survey links; a random one is kept in the database without it")
    sweep_every: timedelta = Field(timedelta(seconds=15), description="how often surveys and follow-ups due are looked for")

    @field_validator("delay", "expires_after", "comment_window", "sweep_every", mode="before")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return parse_duration(v)


class FollowupRule(Strict):
    """A follow-up scheduled by itself when a matching ticket is resolved."""

    kind: str | None = None  # question, complaint, sales, callback, feedback; any when left out
    department: str | None = None
    channel: str | None = None
    after: timedelta = Field(timedelta(days=3), description="time after the resolution")
    mode: Literal["reminder", "message"] = "reminder"
    text: dict[str, str] = Field({}, description="the message per language (en, th, fa); en is the fallback")

    @field_validator("after", mode="before")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return parse_duration(v)

    @model_validator(mode="after")
    def _text(self) -> "FollowupRule":
        if self.mode == "message" and not (self.text.get("en") or "").strip():
            raise ValueError("text.en: a message rule needs its English text (the fallback for other languages)")
        return self


class FollowupsConfig(Strict):
    """Check-ins with customers and win-back (hub/surveys/followups)."""

    rules: list[FollowupRule] = []

    checkin_after: timedelta = Field(timedelta(days=3), description="check-in after a complaint resolved with a fix; 0 = none")
    winback_days: int = Field(30, ge=1, description="no contact for this many days puts a dissatisfied customer on the win-back list")
    per_channel_per_hour: dict[str, int] = Field(
        default_factory=lambda: {"telegram": 20, "email": 30, "webchat": 30},
        description="win-back and check-in messages sent per channel per hour at most",
    )

    @field_validator("checkin_after", mode="before")
    @classmethod
    def _d(cls, v: Any) -> Any:
        return parse_duration(v)


class ReviewConfig(Strict):
    worker: Literal["thread", "process"] = Field(
        "thread", description="where the language review classifies: a thread of the hub, or a process of its own "
                              "(another core, no GIL shared with the event loop; costs the memory of a second copy of "
                              "the models; the shipped config.yaml sets process)")


class Config(Strict):
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    redis: RedisConfig = RedisConfig()
    channels: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"webchat": {"enabled": True}})
    business_hours: BusinessHours = BusinessHours()
    departments: list[Department] = Field(default_factory=lambda: [Department(name="support", default=True)])
    routing: dict[str, Any] = {}
    sla: dict[str, SlaTarget] = Field(default_factory=_default_sla)
    bot: dict[str, Any] = {}
    agents: list[AgentSeed] = []
    rate_limits: RateLimits = RateLimits()
    tickets: TicketsConfig = TicketsConfig()
    outbox: OutboxConfig = OutboxConfig()
    auth: AuthConfig = AuthConfig()
    surveys: SurveysConfig = SurveysConfig()
    followups: FollowupsConfig = FollowupsConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    retention: RetentionConfig = RetentionConfig()
    review: ReviewConfig = ReviewConfig()
    scheduler_interval: float = Field(1.0, gt=0, description="seconds between scheduler ticks")
    default_region: str = Field("TH", description="phone number region when a number has no country code")
    # Where this file was read from: relative paths in plug-in sections (knowledge_base) resolve against it.
    base_dir: str = "."

    @model_validator(mode="after")
    def _departments(self) -> "Config":
        names = [d.name for d in self.departments]
        if len(set(names)) != len(names):
            raise ValueError("departments: names must be unique")
        if sum(d.default for d in self.departments) > 1:
            raise ValueError("departments: at most one may be default")
        if self.surveys.expires_after > self.tickets.reopen_window:
            # A chat answer after the reopen window would open a new ticket instead of reaching its survey.
            raise ValueError("surveys.expires_after: must not be longer than tickets.reopen_window")
        for d in self.departments:
            if d.escalation and d.escalation not in names:
                raise ValueError(f"departments: {d.name}.escalation names unknown department {d.escalation!r}")
        return self

    @property
    def default_department(self) -> str:
        for d in self.departments:
            if d.default:
                return d.name
        return self.departments[0].name if self.departments else "support"

    def department(self, name: str) -> Department | None:
        return next((d for d in self.departments if d.name == name), None)


def expand_env(node: Any) -> Any:
    """Replace ${VAR} and ${VAR:-default} in strings; a value that is only ${UNSET} becomes null."""
    if isinstance(node, dict):
        return {k: expand_env(v) for k, v in node.items()}
    if isinstance(node, list):
        return [expand_env(v) for v in node]
    if isinstance(node, str) and "${" in node:
        whole = _ENV.fullmatch(node)
        if whole and whole.group(1) not in os.environ and whole.group(2) is None:
            return None
        return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), node)
    return node


def format_error(exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        # Cross-field checks raise with no location; their messages start with the key they are about.
        lines.append(f"{path}: {msg}" if path else msg)
    return "; ".join(lines)


def parse_model(model: type[BaseModel], data: Any, prefix: str) -> Any:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(format_error(exc, prefix)) from None


def read_config(path: str | os.PathLike[str] | None = None) -> tuple[Config, dict[str, Any]]:
    """Read and validate the core sections; returns the model and the expanded raw mapping."""
    p = Path(path or os.environ.get("HUB_CONFIG") or "config.yaml")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) if p.exists() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level")
    raw = expand_env(raw)
    raw.setdefault("base_dir", str(p.resolve().parent))
    _relative_to(raw, Path(raw["base_dir"]))
    return parse_model(Config, raw, ""), raw


_SQLITE = "sqlite+aiosqlite:///"


def _relative_to(raw: dict[str, Any], base: Path) -> None:
    """One rule for every relative path in a config file: it is relative to the file, never to the working folder
    (knowledge_base and lexicons already resolve against base_dir; the database file and static_dir do here)."""
    db = raw.get("database")
    if db is None:
        db = raw["database"] = {}
    if isinstance(db, dict):
        url = db.get("url", _SQLITE + "hub.db")
        if isinstance(url, str) and url.startswith(_SQLITE):
            file = url[len(_SQLITE):]
            target = file.split("?", 1)[0]
            if target and target != ":memory:" and not target.startswith("/") and not target.startswith("file:"):
                db["url"] = _SQLITE + str((base / target).resolve()) + file[len(target):]
    server = raw.get("server")
    if isinstance(server, dict) and isinstance(server.get("static_dir"), str) and not os.path.isabs(server["static_dir"]):
        server["static_dir"] = str((base / server["static_dir"]).resolve())


def from_mapping(raw: dict[str, Any]) -> Config:
    return parse_model(Config, expand_env(raw), "")
