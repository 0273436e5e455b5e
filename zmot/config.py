"""Typed configuration: brands, sources and alerts, loaded from YAML with errors that name the fix.

Defaults live here, once. Secrets never live here: the models hold the *names* of environment
variables or Airflow connections that carry them.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    model_validator,
)

from connectors.kinds import KINDS
from connectors.kinds.base import ConfigModel as _Model
from connectors.kinds.base import HttpPolicy, SourceConfig, SourceName, item_key, matching
from nlp.catalog import Brand as Brand  # brands.yaml's models: defined beside the NLP that reads them, named here too
from nlp.catalog import BrandCatalog, parsed_query
from nlp.catalog import Name as Name
from nlp.catalog import Product as Product
from warehouse.cluster_rules import ClusterRules
from warehouse.spike_rules import SpikeDefaults
from zmot.errors import ConfigError
from zmot.yamlfile import YamlFileError, read_yaml

BRANDS_FILE = "brands.yaml"
SOURCES_FILE = "sources.yaml"
ALERTS_FILE = "alerts.yaml"
TAGS_FILE = "tags.yaml"
_TOP_KEYS = {BRANDS_FILE: "a 'brands:' list", SOURCES_FILE: "'http:' and a 'sources:' list",
             ALERTS_FILE: "'sender:', 'recipients:', 'smtp:', 'rules:'", TAGS_FILE: "a 'rules:' mapping of tag: query"}
_SECRET_KEY = re.compile(r"pass|secret|token|credential|api_?key|_env$", re.IGNORECASE)


def _env_name(name: str) -> str:
    """Named, not written: a value that is not a variable name is probably the secret itself."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError("expected the NAME of an environment variable (letters, digits, '_'), like ZMOT_SMTP_PASSWORD, "
                         "not the secret itself")
    return name


EnvName = Annotated[str, AfterValidator(_env_name)]


# --- sources.yaml ------------------------------------------------------------------------

if TYPE_CHECKING:  # the union below is built at run time, from the registry; a checker sees the base they share
    Source = SourceConfig
else:
    Source = Annotated[Union[tuple(spec.config for spec in KINDS.values())], Field(discriminator="kind")]  # noqa: UP007 - built from the registry


class SourcesConfig(_Model):
    http: HttpPolicy = Field(default_factory=HttpPolicy)
    sources: list[Source] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_unique(self) -> "SourcesConfig":
        """Names key each source's cursor and staging files: two sources must never share them."""
        for i, source in enumerate(self.sources):
            first = next((j for j, s in enumerate(self.sources[:i]) if s.name.casefold() == source.name.casefold()), None)
            if first is not None:
                raise ValueError(f"sources[{i}].name: {source.name!r} is already the name of sources[{first}]; "
                                 f"expected unique source names (repeated: {source.name})")
        return self

    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]

    def get(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def policy_for(self, source: Source) -> HttpPolicy:
        return source.http or self.http


# --- alerts.yaml -------------------------------------------------------------------------


def _host(host: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]", host):
        raise ValueError("expected a host name or address only, like smtp.example.com (no scheme, port or spaces; "
                         "the port goes in smtp.port)")
    return host


class SmtpSettings(_Model):
    host: Annotated[str, AfterValidator(_host)]
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: EnvName | None = Field(default=None, description="Environment variable holding the user name.")
    password_env: EnvName | None = Field(default=None, description="Environment variable holding the password.")
    airflow_conn_id: str | None = Field(
        default=None, description="Airflow connection to take host/port/login/password from instead."
    )
    timeout_seconds: float = Field(default=30.0, gt=0)


def _plain_email(address: str) -> str:
    """Refuse anything that could smuggle a header or a second address into an e-mail."""
    local, _, domain = address.partition("@")
    if (not local or not domain or "@" in domain or ".." in domain or domain.startswith(".") or domain.endswith(".")
            or any(c in address for c in "<>,;\"' ") or any(ord(c) < 32 or ord(c) == 127 for c in address)):
        raise ValueError("expected a plain e-mail address like name@example.com")
    return address


EmailAddress = Annotated[str, AfterValidator(_plain_email)]


class AlertRules(SpikeDefaults):
    """When a jump is worth an email. The detector's knobs and their defaults come from SpikeDefaults, once."""

    metrics: list[Literal["negative_mentions", "lzmot_mentions", "negative_share", "avg_rating"]] = Field(
        default=["negative_mentions", "lzmot_mentions"], min_length=1,
        description="Series to watch per brand: counts of negative or LZMOT mentions, the negative share, review ratings.",
    )
    per_product: bool = Field(default=False, description="Also watch each product's series.")
    per_source_kind: bool = Field(default=False, description="Also watch each source kind's series (rss, reddit, ...).")
    history_days: int = Field(default=56, ge=7, le=730, description="How much history the detector looks at.")
    notify_max_age_days: int = Field(
        default=3, ge=0, le=365, description="Alerts for windows older than this are stored, not emailed."
    )
    max_mentions_per_email: int = Field(default=5, ge=1, le=50)
    voices: Literal["mentions", "clusters", "authors"] = Field(
        default="mentions",
        description="What the count series count: every mention, each cluster of near-copies once, or each author once.",
    )


def _post_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ValueError("expected an http:// or https:// URL with a host, like https://hooks.example.com/zmot")
    return url


class WebhookSettings(_Model):
    """One place alerts are POSTed to as JSON: a generic receiver, or a Slack incoming webhook."""

    name: SourceName = Field(description="Names the destination in the deliveries table: keep it when the URL changes.")
    kind: Literal["json", "slack"] = Field(default="json", description="json: the alert as a JSON object; slack: text and blocks.")
    url: Annotated[str, AfterValidator(_post_url)] | None = Field(default=None, description="Where to POST (not a secret).")
    url_env: EnvName | None = Field(
        default=None, description="Environment variable holding the URL instead, when the URL is itself the secret (Slack's are).",
    )
    secret_env: EnvName | None = Field(
        default=None, description="Environment variable holding the HMAC-SHA256 key that signs each body; none: unsigned.",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries on 429 (after its Retry-After), 5xx and timeouts.")

    @model_validator(mode="after")
    def _one_url(self) -> "WebhookSettings":
        if (self.url is None) == (self.url_env is None):
            raise ValueError("expected exactly one of url or url_env")
        return self


class DigestSettings(_Model):
    """The daily run emails each brand's digest (to `recipients`) once its day or week is complete."""

    period: Literal["day", "week"] = Field(default="week", description="week: Monday to Sunday, sent by the run after Sunday.")


class AlertsConfig(_Model):
    sender: EmailAddress = "zmot-monitor@localhost"
    recipients: list[EmailAddress] = Field(default_factory=list)
    smtp: SmtpSettings | None = Field(default=None, description="No SMTP: emails go to outbox_dir as .eml.")
    outbox_dir: str = Field(default="outbox", min_length=1, description="Relative paths are under the data directory.")
    rules: AlertRules = Field(default_factory=AlertRules)
    webhooks: list[WebhookSettings] = Field(default_factory=list, description="Also POST every alert to these, once each.")
    digest: DigestSettings | None = Field(default=None, description="No digest: none is sent by the daily run (`zmot digest` still works).")
    clusters: ClusterRules = Field(default_factory=ClusterRules, description="When near-copies count as one voice.")

    @model_validator(mode="after")
    def _unique_webhooks(self) -> "AlertsConfig":
        names = [w.name for w in self.webhooks]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"webhooks[{i}].name: {name!r} is used twice; expected each webhook's name once "
                                 "(it keys what was delivered where)")
        return self


# --- tags.yaml ---------------------------------------------------------------------------


def _query(text: str) -> str:
    parsed_query(text)
    return text


Query = Annotated[str, AfterValidator(_query)]


TagName = Annotated[str, AfterValidator(matching(
    r"[a-z0-9][a-z0-9_-]{0,63}", "expected a tag name of 1-64 lower-case letters, digits, '_' or '-', like billing"))]


class TagsConfig(_Model):
    """Named rules: every mention a rule's query matches gets the tag (docs/tags.md)."""

    rules: dict[TagName, Query] = Field(default_factory=dict)


# --- the whole config --------------------------------------------------------------------


class AppConfig(_Model):
    """Everything a run needs, read from one config directory."""

    directory: str
    brands: BrandCatalog
    sources: SourcesConfig
    alerts: AlertsConfig
    tags: TagsConfig = Field(default_factory=TagsConfig)


def load_config(directory: str | os.PathLike[str]) -> AppConfig:
    """Read and validate brands.yaml, sources.yaml, alerts.yaml and tags.yaml from one directory."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise ConfigError(f"{root}: config directory not found; pass --config DIR or set ZMOT_CONFIG_DIR")
    brands = _load_file(root / BRANDS_FILE, BrandCatalog, required=True)
    sources_data = _read_yaml(root / SOURCES_FILE, required=True)
    _resolve_file_urls(sources_data, root)
    sources = _validate(root / SOURCES_FILE, SourcesConfig, sources_data)
    _check_references(root / SOURCES_FILE, sources, brands)
    alerts = _load_file(root / ALERTS_FILE, AlertsConfig, required=False)
    _check_delivery(root / ALERTS_FILE, alerts)
    tags = _load_file(root / TAGS_FILE, TagsConfig, required=False)
    return AppConfig(directory=str(root), brands=brands, sources=sources, alerts=alerts, tags=tags)


def missing_local_files(cfg: AppConfig) -> list[str]:
    """file: URLs that point at nothing. Not a load error (a run rejects that one source and goes on),
    but `zmot check-config` reports them."""
    problems = []
    for i, source in enumerate(cfg.sources.sources):
        for key, url in source.local_urls():
            local = Path(url.removeprefix("file://")) if url.startswith("file:") else None
            if local is not None and not local.is_file():
                where = item_key("sources", [s.name for s in cfg.sources.sources], i)
                problems.append(f"{Path(cfg.directory) / SOURCES_FILE}: {where}.{key}: no such file {local}; "
                                "expected an existing file (file: paths are relative to the config directory)")
    return problems


def _check_references(path: Path, sources: SourcesConfig, catalog: BrandCatalog) -> None:
    """Brands and products named in sources.yaml exist in brands.yaml."""
    known = {b.name.casefold(): b for b in catalog.brands}
    names = [s.name for s in sources.sources]
    expected = ", ".join(b.name for b in catalog.brands)
    for i, source in enumerate(sources.sources):
        where = item_key("sources", names, i)
        named = [(f"brands[{j}]", b) for j, b in enumerate(source.brands)]
        named += [("brand", subject)] if (subject := source.subject_brand()) else []
        for key, brand in named:
            if brand.casefold() not in known:
                raise ConfigError(f"{path}: {where}.{key}: unknown brand {brand!r}; expected a brand from {BRANDS_FILE}: {expected}")
        if subject and (product := getattr(source, "product", None)):
            brand_cfg = known[subject.casefold()]
            products = [p.name for p in brand_cfg.products]
            if product.casefold() not in {p.casefold() for p in products}:
                raise ConfigError(
                    f"{path}: {where}.product: {product!r} is not a product of {brand_cfg.name}; "
                    f"expected one of: {', '.join(products) or 'none configured'}"
                )


def _check_delivery(path: Path, alerts: AlertsConfig) -> None:
    """With SMTP configured, mail must have somewhere to go and a sender a real server accepts."""
    if alerts.smtp is None:
        return
    if not alerts.recipients:
        raise ConfigError(f"{path}: recipients: empty while smtp is set; expected at least one e-mail address")
    if "sender" not in alerts.model_fields_set:
        raise ConfigError(f"{path}: sender: missing while smtp is set; expected the From address, like alerts@example.com")


def _load_file(path: Path, model: type[_Model], *, required: bool) -> Any:
    return _validate(path, model, _read_yaml(path, required=required))


def _read_yaml(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: file not found; every config directory needs it")
        return {}
    try:
        data = read_yaml(path)
    except YamlFileError as exc:
        raise ConfigError(str(exc)) from None
    if data is None:
        if required:
            raise ConfigError(f"{path}: the file is empty; expected {_TOP_KEYS[path.name]}")
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of keys ({_TOP_KEYS.get(path.name, 'key: value')}), "
            f"got a {_yaml_type(data)}"
        )
    return data


def _resolve_file_urls(data: dict[str, Any], root: Path) -> None:
    """Make `file:relative/path` URLs absolute against the config directory, so configs travel. Any kind's
    `url`, `urls` or `…_url` key (rss's `url`, hackernews's `api_url`), so a new kind needs nothing here."""
    def absolute(url: object) -> object:
        if isinstance(url, str) and url.startswith("file:") and not url.startswith("file:///"):
            return (root / url.removeprefix("file:")).resolve().as_uri()
        return url

    for source in data.get("sources") or []:
        if isinstance(source, dict):
            for key, value in source.items():
                if key == "urls" and isinstance(value, list):
                    source[key] = [absolute(u) for u in value]
                elif key == "url" or key.endswith("_url"):
                    source[key] = absolute(value)


def _validate(path: Path, model: type[_Model], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_messages(path, model, exc, data))) from None


def _messages(path: Path, model: type[_Model], exc: ValidationError, data: dict[str, Any]) -> list[str]:
    return [f"{path}: {_message(model, error, data)}" for error in exc.errors()]


def _message(model: type[_Model], error: Any, data: dict[str, Any]) -> str:
    """One error as `key.path: what was expected (got what)`; values under secret-looking keys are never shown."""
    loc, kind, got = tuple(error["loc"]), error["type"], error.get("input")
    text = error["msg"].removeprefix("Value error, ")
    if not loc and kind == "value_error":
        return text  # a whole-file check that names its own key path
    key = _key_path(loc, data)
    if kind == "extra_forbidden":
        allowed = list(_model_at(model, loc[:-1]).model_fields)
        hint = _secret_hint(loc) or _did_you_mean(str(loc[-1]), allowed)
        return f"{key}: unknown key; expected one of: {', '.join(allowed)}{hint}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        kinds = ", ".join(repr(k) for k in _tags(model, loc))
        if kind == "union_tag_not_found":
            return f"{key}.kind: missing; expected one of {kinds}"
        return f"{key}.kind: expected one of {kinds} (got {error['ctx']['tag']!r})"
    if kind == "missing":
        return f"{key}: missing; this key is required"
    if kind == "query_error":
        return f"{key}: {text}, in the query {_shown(got)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        text = "expected a mapping of keys"
    elif kind == "string_too_short" and error.get("ctx", {}).get("min_length") == 1:
        text = "expected a non-empty value"
    text = re.sub(r"^\w+ should (be |have )?", "expected ", text).split(" after validation")[0]
    if any(isinstance(part, str) and _SECRET_KEY.search(part) for part in loc):
        return f"{key}: {text}"
    return f"{key}: {text}{_got(got, kind)}"


def _got(value: Any, kind: str) -> str:
    if value is None:
        return " (got nothing: the key has no value)"
    if isinstance(value, dict):
        return ""
    shown = _shown(value)
    if kind == "string_type" and isinstance(value, (bool, int, float)):
        return f" (got {shown}; put it in quotes: YAML reads yes/no/on/off as booleans and digits as numbers)"
    if kind == "list_type" and isinstance(value, str):
        return f" (got {shown}; write a list: [{value}])"
    return f" (got {shown})"


def _shown(value: Any) -> str:
    return repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."


def _did_you_mean(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _secret_hint(loc: tuple[Any, ...]) -> str:
    key = str(loc[-1]).lower()
    if not (_SECRET_KEY.search(key) or key in ("client_id", "username", "user", "login")):
        return ""
    if "smtp" in loc:
        return ("; secrets never go in config files: put it in an environment variable and name that variable in "
                "password_env / username_env (or use airflow_conn_id)")
    if "reddit" in loc:
        return ("; Reddit credentials never go in config files: set ZMOT_REDDIT_CLIENT_ID and ZMOT_REDDIT_CLIENT_SECRET "
                "in the environment (or the Airflow connection named by connection_id)")
    return "; secrets never go in config files: put them in environment variables"


def _key_path(loc: tuple[Any, ...], data: Any) -> str:
    """Render a pydantic location as a YAML key path, naming list items by their `name` when it is unique."""
    parts: list[str] = []
    node = data
    for item in loc:
        if item == "[key]":
            continue  # pydantic's marker for a mapping's key, which the path already names
        if isinstance(item, int):
            names = [x.get("name") if isinstance(x, dict) else None for x in node] if isinstance(node, list) else []
            parts.append(item_key("", names, item))
            node = node[item] if isinstance(node, list) and item < len(node) else None
        elif isinstance(node, dict) and item in node:
            parts.append(f".{item}" if parts else str(item))
            node = node[item]
        elif isinstance(node, dict) and item == node.get("kind"):
            continue  # discriminator tag inserted by pydantic, not a key the user wrote
        else:
            parts.append(f".{item}" if parts else str(item))
            node = None
    return "".join(parts) or "(top level)"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """Follow a validation location down the model classes, to list the keys allowed there."""
    candidates = [model]
    for item in loc:
        tagged = [m for m in candidates if _kind_tag(m) == item]
        if tagged:
            candidates = tagged  # the discriminator picked one source kind
            continue
        owner = next((m for m in candidates if isinstance(item, str) and item in m.model_fields), None)
        if owner is not None:
            candidates = _models_in(owner.model_fields[item].annotation) or candidates
    return candidates[0]


def _tags(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The `kind` values allowed at a location: every source kind."""
    owner = _model_at(model, loc[:-1]) if loc else model
    field = owner.model_fields.get(str(loc[-1])) if loc else None
    return [t for m in (_models_in(field.annotation) if field else []) if (t := _kind_tag(m))] or list(KINDS)


def _kind_tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    args = get_args(field.annotation) if field else ()
    return args[0] if args else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _yaml_type(data: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(data), type(data).__name__)
