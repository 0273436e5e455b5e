"""A wrong config key or value fails with the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from zmot.config import BrandCatalog, ConfigError, load_config

PROJECT = Path(__file__).resolve().parents[1]
BRANDS = "brands:\n  - name: Acme\n    aliases: [ACME Corp]\n"
SOURCES = "sources:\n  - name: news\n    kind: rss\n    url: https://news.example.com/feed.xml\n"


def _write(tmp_path: Path, brands: str = BRANDS, sources: str = SOURCES, alerts: str | None = None) -> Path:
    (tmp_path / "brands.yaml").write_text(brands, encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(sources, encoding="utf-8")
    if alerts is not None:
        (tmp_path / "alerts.yaml").write_text(alerts, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("folder", ["config", "config/sample"])
def test_the_shipped_configs_are_valid(folder: str) -> None:
    cfg = load_config(PROJECT / folder)
    assert cfg.brands.brands and cfg.sources.sources


def test_relative_file_urls_resolve_against_the_config_folder() -> None:
    cfg = load_config(PROJECT / "config" / "sample")
    url = cfg.sources.sources[0].url
    assert url.startswith("file:///") and "/config/sample/feeds/" in url


def test_an_unknown_key_names_the_file_the_key_and_the_allowed_keys(tmp_path: Path) -> None:
    _write(tmp_path, sources=SOURCES + "    urll: typo\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    message = str(err.value)
    assert "sources.yaml" in message and "sources[news].urll" in message
    assert "unknown key" in message and "url" in message and "backfill_days" in message


def test_a_wrong_value_says_what_was_expected(tmp_path: Path) -> None:
    _write(tmp_path, sources=SOURCES + "    backfill_days: lots\n")
    with pytest.raises(ConfigError, match=r"sources\[news\]\.backfill_days: expected a valid integer.*'lots'"):
        load_config(tmp_path)


def test_an_unknown_source_kind_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, sources="sources:\n  - name: x\n    kind: telepathy\n    url: https://a.example\n")
    with pytest.raises(ConfigError, match=r"sources.yaml: sources\[x\].*'rss'"):
        load_config(tmp_path)


def test_a_bad_url_scheme_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, sources=SOURCES.replace("https://", "ftp://"))
    with pytest.raises(ConfigError, match=r"sources\[news\]\.url: expected an http://, https:// or file: URL"):
        load_config(tmp_path)


def test_duplicate_brands_and_sources_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, brands=BRANDS + "  - name: acme\n")
    with pytest.raises(ConfigError, match="brands.yaml.*listed twice"):
        load_config(tmp_path)
    _write(tmp_path, sources=SOURCES + SOURCES.removeprefix("sources:\n"))
    with pytest.raises(ConfigError, match="sources.yaml.*repeated: news"):
        load_config(tmp_path)


def test_a_source_limited_to_an_unknown_brand_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, sources=SOURCES + "    brands: [Nobody]\n")
    with pytest.raises(ConfigError, match="unknown brand.*Nobody"):
        load_config(tmp_path)


def test_a_source_limited_to_some_brands_watches_those_in_any_case() -> None:
    catalog = BrandCatalog.model_validate({"brands": [{"name": "Acme"}, {"name": "Orbit"}, {"name": "Globex"}]})
    assert [b.name for b in catalog.watched(["orbit", "ACME"])] == ["Acme", "Orbit"]  # in the catalog's order
    assert catalog.watched([]) == catalog.brands  # a source that names none watches them all


def test_invalid_yaml_and_missing_files_are_explained(tmp_path: Path) -> None:
    _write(tmp_path, brands="brands: [unclosed\n")
    with pytest.raises(ConfigError, match="brands.yaml: not valid YAML"):
        load_config(tmp_path)
    (tmp_path / "brands.yaml").unlink()
    with pytest.raises(ConfigError, match="brands.yaml: file not found"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="config directory not found"):
        load_config(tmp_path / "nope")


def test_non_utf8_config_is_explained(tmp_path: Path) -> None:
    _write(tmp_path)
    (tmp_path / "brands.yaml").write_bytes(b"brands:\n  - name: Caf\xe9\n")
    with pytest.raises(ConfigError, match="brands.yaml: not UTF-8"):
        load_config(tmp_path)


def test_a_list_where_a_mapping_belongs_is_explained(tmp_path: Path) -> None:
    _write(tmp_path, brands="- Acme\n")
    with pytest.raises(ConfigError, match="brands.yaml: expected a mapping"):
        load_config(tmp_path)


def test_alert_recipients_must_be_plain_addresses(tmp_path: Path) -> None:
    _write(tmp_path, alerts="recipients: ['a@b.example', \"x@y.example\\r\\nBcc: evil@z.example\"]\n")
    with pytest.raises(ConfigError, match=r"alerts.yaml: recipients\[1\]: expected a plain e-mail address.*Bcc"):
        load_config(tmp_path)


def test_smtp_secrets_are_referenced_not_written(tmp_path: Path) -> None:
    _write(tmp_path, alerts="smtp:\n  host: mail.example\n  password: hunter2\n")
    with pytest.raises(ConfigError, match=r"smtp\.password: unknown key; expected one of: .*password_env"):
        load_config(tmp_path)


REDDIT = "sources:\n  - name: rd\n    kind: reddit\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", "sources[rd]: a reddit source needs at least one of 'subreddits' or 'searches'"),
        ("    subreddits: [r/apple]\n", "sources[rd].subreddits[0]: expected a subreddit name as Reddit spells it, without 'r/'"),
        ("    searches:\n      - query: ''\n", "sources[rd].searches[0].query: expected a non-empty value"),
        ("    subreddits: [apple]\n    client_secret: abc\n", "sources[rd].client_secret: unknown key; expected one of:"),
        ("    subreddits: [apple]\n    max_requests: 0\n", "sources[rd].max_requests: expected greater than or equal to 1"),
    ],
)
def test_reddit_source_mistakes_are_explained(tmp_path: Path, body: str, expected: str) -> None:
    _write(tmp_path, sources=REDDIT + body)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert "sources.yaml" in str(err.value) and expected in str(err.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("    urls: []\n", "sources[rv].urls: expected at least 1 item"),
        ("    urls: [ftp://x/y]\n", "sources[rv].urls[0]: expected an http://, https:// or file: URL"),
        ("    urls: [https://x/y]\n    product: Widget\n", "'product' needs 'brand'"),
        ("    urls: [https://x/y]\n    brand: Nope\n", "sources[rv].brand: unknown brand 'Nope'"),
        ("    urls: [https://x/y]\n    brand: Acme\n    product: Widget\n", "'Widget' is not a product of Acme"),
    ],
)
def test_review_source_mistakes_are_explained(tmp_path: Path, body: str, expected: str) -> None:
    _write(tmp_path, sources="sources:\n  - name: rv\n    kind: reviews\n" + body)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  - name: ops\n    url: ftp://hooks.example/x\n", "webhooks[ops].url: expected an http:// or https:// URL with a host"),
        ("  - name: ops\n", "webhooks[ops]: expected exactly one of url or url_env"),
        ("  - name: ops\n    url: https://hooks.example/x\n    secret: hunter2\n",
         "webhooks[ops].secret: unknown key; expected one of: name, kind, url, url_env, secret_env"),
        ("  - name: ops\n    url: https://hooks.example/x\n    secret_env: 'hunter 2'\n",
         "webhooks[ops].secret_env: expected the NAME of an environment variable"),
        ("  - name: ops\n    kind: teams\n    url: https://hooks.example/x\n", "webhooks[ops].kind: expected 'json' or 'slack' (got 'teams')"),
        ("  - {name: ops, url: 'https://a.example/x'}\n  - {name: ops, url_env: HOOK_URL}\n", "webhooks[1].name: 'ops' is used twice"),
        ("  - name: ops\n    url: https://hooks.example/x\n    max_retries: 99\n", "webhooks[ops].max_retries: expected less than or equal to 10"),
    ],
)
def test_webhook_mistakes_are_explained_and_secrets_never_shown(tmp_path: Path, body: str, expected: str) -> None:
    _write(tmp_path, alerts="webhooks:\n" + body)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert "alerts.yaml" in str(err.value) and expected in str(err.value) and "hunter" not in str(err.value)
