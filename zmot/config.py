"""Typed configuration: brands, sources and alerts, loaded from YAML with errors that name the fix.

Defaults live here, once. Secrets never live here: the models hold the *names* of environment
variables or Airflow connections that carry them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

BRANDS_FILE = "brands.yaml"
SOURCES_FILE = "sources.yaml"
ALERTS_FILE = "alerts.yaml"


class ConfigError(ValueError):
    """A config file is missing, unreadable or wrong; the message names the file, key and fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- brands.yaml -------------------------------------------------------------------------


class Product(_Model):
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        return _unique([self.name, *self.aliases])


class Brand(_Model):
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    case_sensitive: bool = Field(
        default=False,
        description="Match names only as written (Apple, not apple): for brands that are common words.",
    )
    products: list[Product] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    exclusions: list[str] = Field(
        default_factory=list,
        description="Phrases that veto a match when they contain it, case-insensitive: 'apple pie'.",
    )

    @property
    def terms(self) -> list[str]:
        return _unique([self.name, *self.aliases])


class BrandCatalog(_Model):
    brands: list[Brand] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_unique(self) -> "BrandCatalog":
        seen: set[str] = set()
        for brand in self.brands:
            key = brand.name.casefold()
            if key in seen:
                raise ValueError(f"brand {brand.name!r} is listed twice; merge its entries")
            seen.add(key)
        return self

    def brand(self, name: str) -> Brand:
        for brand in self.brands:
            if brand.name.casefold() == name.casefold():
                return brand
        raise KeyError(name)

    def all_terms(self) -> list[str]:
        """Every brand and product name and alias: the connectors' cheap prefilter."""
        terms: list[str] = []
        for brand in self.brands:
            terms.extend(brand.terms)
            for product in brand.products:
                terms.extend(product.terms)
        return _unique(terms)


# --- sources.yaml ------------------------------------------------------------------------

SUBREDDIT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$"


class HttpPolicy(_Model):
    user_agent: str = "ZMOT-Monitor/0.1 (social listening; +https://github.com/zmot-monitor/zmot-monitor)"
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    max_retry_after_seconds: float = Field(default=120.0, ge=0, le=3600)
    max_bytes: int = Field(default=10_000_000, gt=0, le=500_000_000)


class RssSource(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: Literal["rss"]
    url: str = Field(min_length=1)
    enabled: bool = True
    brands: list[str] = Field(
        default_factory=list, description="Only keep mentions of these brands; empty means all."
    )
    backfill_days: int = Field(default=30, ge=0, le=3650)
    http: HttpPolicy | None = None

    def describe(self) -> str:
        return self.url

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, url: str) -> str:
        if not url.startswith(("http://", "https://", "file:")):
            raise ValueError("expected an http://, https:// or file: URL")
        return url


class RedditSearch(_Model):
    query: str = Field(min_length=1, max_length=512, description='Reddit search syntax, e.g. "Acme Mobile" or acme AND (x1 OR x2).')
    subreddit: str = Field(default="all", pattern=SUBREDDIT_PATTERN)


class RedditSource(_Model):
    """Posts and comments from watched subreddits and searches; credentials come from the environment."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: Literal["reddit"]
    enabled: bool = True
    brands: list[str] = Field(
        default_factory=list, description="Only keep mentions of these brands; empty means all."
    )
    subreddits: list[Annotated[str, Field(pattern=SUBREDDIT_PATTERN)]] = Field(
        default_factory=list, description="Every new post (and comment) here that names a brand is kept."
    )
    searches: list[RedditSearch] = Field(default_factory=list)
    include_comments: bool = Field(default=True, description="Also read new comments in the watched subreddits.")
    thread_comments: bool = Field(default=True, description="Read the comment trees of threads the searches find.")
    max_threads: int = Field(default=25, ge=0, le=1000)
    max_more: int = Field(default=10, ge=0, le=1000, description="'load more comments' expansions per thread.")
    max_requests: int = Field(default=200, ge=1, le=10_000)
    max_items: int = Field(default=5000, ge=1, le=1_000_000)
    pseudonymise_authors: bool = False
    revisit_hours: float = Field(
        default=24.0, ge=0, le=24 * 30, description="Re-read this far behind the cursor to catch edits and deletions."
    )
    connection_id: str | None = Field(
        default="reddit_default", description="Airflow connection to read credentials from when ZMOT_REDDIT_* are unset."
    )
    backfill_days: int = Field(default=7, ge=0, le=365)
    http: HttpPolicy | None = None

    def describe(self) -> str:
        watched = [f"r/{name}" for name in self.subreddits] + [f"search {s.query!r} in r/{s.subreddit}" for s in self.searches]
        return ", ".join(watched)

    @model_validator(mode="after")
    def _reads_something(self) -> "RedditSource":
        if not self.subreddits and not self.searches:
            raise ValueError("a reddit source needs at least one of 'subreddits' or 'searches'")
        return self


class ReviewSource(_Model):
    """Review pages (a company's page on a review site, a product page in a shop), read politely."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: Literal["reviews"]
    enabled: bool = True
    urls: list[str] = Field(min_length=1, description="First page of each review listing, newest first.")
    brand: str | None = Field(default=None, description="The brand these pages review; reviews need not name it.")
    product: str | None = Field(default=None, description="The product these pages review (one of the brand's products).")
    brands: list[str] = Field(default_factory=list, description="Ignored for reviews: every review on the page is kept.")
    max_pages: int = Field(default=5, ge=1, le=200)
    host_delay_seconds: float = Field(default=2.0, ge=0, le=600, description="Pause between requests to one host.")
    backfill_days: int = Field(default=365, ge=0, le=3650)
    http: HttpPolicy | None = None

    def describe(self) -> str:
        subject = f" about {self.product or self.brand}" if self.brand else ""
        return f"{len(self.urls)} review page(s){subject}: {', '.join(self.urls)}"

    @field_validator("urls")
    @classmethod
    def _url_schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://", "file:")):
                raise ValueError(f"expected http://, https:// or file: URLs (got {url!r})")
        return urls

    @model_validator(mode="after")
    def _product_needs_brand(self) -> "ReviewSource":
        if self.product and not self.brand:
            raise ValueError("'product' needs 'brand' (the brand that makes it)")
        return self


Source = Annotated[RssSource | RedditSource | ReviewSource, Field(discriminator="kind")]


class SourcesConfig(_Model):
    http: HttpPolicy = Field(default_factory=HttpPolicy)
    sources: list[Source] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_unique(self) -> "SourcesConfig":
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
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


class SmtpSettings(_Model):
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: str | None = Field(default=None, description="Environment variable holding the user name.")
    password_env: str | None = Field(default=None, description="Environment variable holding the password.")
    airflow_conn_id: str | None = Field(
        default=None, description="Airflow connection to take host/port/login/password from instead."
    )
    timeout_seconds: float = Field(default=30.0, gt=0)


def _plain_email(address: str) -> str:
    """Refuse anything that could smuggle a header or a second address into an e-mail."""
    if address.count("@") != 1 or any(c in address for c in "\r\n<>,;\"' \t"):
        raise ValueError("expected a plain e-mail address like name@example.com")
    return address


EmailAddress = Annotated[str, AfterValidator(_plain_email)]


class AlertRules(_Model):
    """When a jump is worth an email. Defaults favour few, meaningful alerts over many."""

    metrics: list[Literal["negative_mentions", "lzmot_mentions", "negative_share", "avg_rating"]] = Field(
        default_factory=lambda: ["negative_mentions", "lzmot_mentions"],
        description="Series to watch per brand: counts of negative or LZMOT mentions, the negative share, review ratings.",
    )
    per_product: bool = Field(default=False, description="Also watch each product's series.")
    per_source_kind: bool = Field(default=False, description="Also watch each source kind's series (rss, reddit, ...).")
    min_volume: float = Field(default=5, ge=0, description="No alert below this many in the window.")
    min_excess: float = Field(default=4, ge=0, description="No alert unless observed exceeds expected by this much.")
    threshold: float | None = Field(default=None, gt=0, description="Severity cut; empty = the detector's default.")
    cooldown_days: int = Field(default=2, ge=0, le=60, description="Quiet days after an alert for the same series.")
    history_days: int = Field(default=56, ge=7, le=730, description="How much history the detector looks at.")
    notify_max_age_days: int = Field(
        default=3, ge=0, le=365, description="Alerts for windows older than this are stored, not emailed."
    )
    max_mentions_per_email: int = Field(default=5, ge=1, le=50)


class AlertsConfig(_Model):
    sender: EmailAddress = "zmot-monitor@localhost"
    recipients: list[EmailAddress] = Field(default_factory=list)
    smtp: SmtpSettings | None = Field(default=None, description="No SMTP: emails go to outbox_dir as .eml.")
    outbox_dir: str = Field(default="outbox", description="Relative paths are under the data directory.")
    rules: AlertRules = Field(default_factory=AlertRules)


# --- the whole config --------------------------------------------------------------------


class AppConfig(_Model):
    """Everything a run needs, read from one config directory."""

    directory: str
    brands: BrandCatalog
    sources: SourcesConfig
    alerts: AlertsConfig

    @model_validator(mode="after")
    def _references_resolve(self) -> "AppConfig":
        known = {b.name.casefold() for b in self.brands.brands}
        for source in self.sources.sources:
            named = [*source.brands, *([source.brand] if isinstance(source, ReviewSource) and source.brand else [])]
            unknown = [b for b in named if b.casefold() not in known]
            if unknown:
                raise ValueError(
                    f"{SOURCES_FILE}: sources[{source.name}].brands: unknown brand(s) "
                    f"{', '.join(unknown)}; expected names from {BRANDS_FILE}"
                )
            if isinstance(source, ReviewSource) and source.brand and source.product:
                brand = next(b for b in self.brands.brands if b.name.casefold() == source.brand.casefold())
                products = [p.name for p in brand.products]
                if source.product.casefold() not in {p.casefold() for p in products}:
                    raise ValueError(
                        f"{SOURCES_FILE}: sources[{source.name}].product: {source.product!r} is not a product of "
                        f"{brand.name}; expected one of: {', '.join(products) or 'none configured'}"
                    )
        return self


def load_config(directory: str | os.PathLike[str]) -> AppConfig:
    """Read and validate brands.yaml, sources.yaml and alerts.yaml from one directory."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise ConfigError(f"{root}: config directory not found; pass --config DIR or set ZMOT_CONFIG_DIR")
    brands = _load_file(root / BRANDS_FILE, BrandCatalog, required=True)
    sources_data = _read_yaml(root / SOURCES_FILE, required=True)
    _resolve_file_urls(sources_data, root)
    sources = _validate(root / SOURCES_FILE, SourcesConfig, sources_data)
    alerts = _load_file(root / ALERTS_FILE, AlertsConfig, required=False)
    try:
        return AppConfig(directory=str(root), brands=brands, sources=sources, alerts=alerts)
    except ValidationError as exc:
        raise ConfigError(_first_message(exc)) from None


def _load_file(path: Path, model: type[_Model], *, required: bool) -> Any:
    return _validate(path, model, _read_yaml(path, required=required))


def _read_yaml(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: file not found; every config directory needs it")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top, got {type(data).__name__}")
    return data


def _resolve_file_urls(data: dict[str, Any], root: Path) -> None:
    """Make `file:relative/path` URLs absolute against the config directory, so configs travel."""
    def absolute(url: object) -> object:
        if isinstance(url, str) and url.startswith("file:") and not url.startswith("file:///"):
            return (root / url.removeprefix("file:")).resolve().as_uri()
        return url

    for source in data.get("sources") or []:
        if isinstance(source, dict):
            if "url" in source:
                source["url"] = absolute(source["url"])
            if isinstance(source.get("urls"), list):
                source["urls"] = [absolute(u) for u in source["urls"]]


def _validate(path: Path, model: type[_Model], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_messages(path, model, exc, data))) from None


def _messages(path: Path, model: type[_Model], exc: ValidationError, data: dict[str, Any]) -> list[str]:
    lines = []
    for error in exc.errors():
        key = _key_path(error["loc"], data)
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(_model_at(model, error["loc"][:-1]).model_fields)
            lines.append(f"{path}: {key}: unknown key; expected one of: {allowed}")
        else:
            got = error.get("input")
            got_text = "" if isinstance(got, dict) else f" (got {got!r})"
            message = error["msg"].removeprefix("Value error, ").replace("Input should be", "expected")
            lines.append(f"{path}: {key}: {message}{got_text}")
    return lines


def _key_path(loc: tuple[Any, ...], data: Any) -> str:
    """Render a pydantic location as a YAML key path, naming list items by their `name` when they have one."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            name = node[item].get("name") if isinstance(node, list) and item < len(node) and isinstance(node[item], dict) else None
            parts.append(f"[{name}]" if name else f"[{item}]")
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
    for item in loc:
        if not isinstance(item, str) or item not in model.model_fields:
            continue  # list indexes and discriminator tags
        model = _model_in(model.model_fields[item].annotation) or model
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found:
            return found
    return None


def _first_message(exc: ValidationError) -> str:
    return "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out
