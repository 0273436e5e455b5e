"""Every config mistake a user might plausibly write is refused with one clear message.

Each case is checked twice: through `load_config` (the exception text) and through `zmot check-config`
(exit code 2, the same text on stderr, no traceback). The message names the file (its full path), the
key path (`sources[news].url`) or the line and column, and what was expected; a secret written into
the YAML is never echoed. tests/test_config.py covers the basic cases; these extend it.
"""

from __future__ import annotations

import shutil
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.harness import SAMPLE, query, run_day, snapshot, write_config
from zmot.cli import main
from zmot.config import ConfigError, load_config

BRANDS = """brands:
  - name: Acme
    aliases: [Acme Corp]
    products:
      - name: Acme Rocket
        aliases: [Rocket X]
    competitors: [Orbit]
  - name: Orbit
    products:
      - name: Orbit Flex
"""
SOURCES = """sources:
  - name: news
    kind: rss
    url: https://news.example.com/feed.xml
"""
ALERTS = "sender: alerts@example.com\nrecipients: [team@example.com]\n"
REDDIT = SOURCES + "  - name: rd\n    kind: reddit\n    subreddits: [AcmeMobile]\n"
REVIEWS = SOURCES + "  - name: rv\n    kind: reviews\n    urls: [https://shop.example.com/rocket/reviews]\n"
SMTP = ALERTS + "smtp:\n  host: mail.example.com\n"
ORBIT = "  - name: Orbit\n"
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@dataclass(frozen=True)
class Mistake:
    """One invalid config: which file holds it, its text, and what the message must name."""

    id: str
    file: str
    text: str | bytes | None  # None: the file is not there
    key: str  # the key path, or where in the file
    expected: str
    secret: str | None = None  # written into the YAML; must never be printed


def _brand(extra: str) -> str:
    """BRANDS with one more brand (or more keys) appended."""
    return BRANDS + extra


MISTAKES = [
    # --- the YAML itself -----------------------------------------------------------------------------
    Mistake("yaml-unclosed-list", "brands.yaml", "brands:\n  - name: Acme\n    aliases: [Acme Corp\n",
            "at line 4, column 1", "expected ',' or ']'"),
    Mistake("yaml-tab-indent", "brands.yaml", "brands:\n  - name: Acme\n\taliases: [x]\n",
            "at line 3, column 1", "indent with spaces, YAML does not allow tabs"),
    Mistake("yaml-duplicate-key-in-item", "brands.yaml", "brands:\n  - name: Acme\n    aliases: [A]\n    aliases: [B]\n",
            "brands[Acme].aliases", "key written twice in one mapping (lines 3 and 4); expected each key once"),
    Mistake("yaml-duplicate-top-key", "sources.yaml", SOURCES + "sources: []\n",
            "sources", "key written twice in one mapping (lines 1 and 5)"),
    Mistake("yaml-duplicate-nested-key", "alerts.yaml", SMTP + "  port: 25\n  port: 2525\n",
            "smtp.port", "key written twice"),
    Mistake("yaml-empty-brands", "brands.yaml", "", "the file is empty", "expected a 'brands:' list"),
    Mistake("yaml-comments-only-sources", "sources.yaml", "# todo\n", "the file is empty", "'sources:' list"),
    Mistake("yaml-list-at-top", "brands.yaml", "- name: Acme\n", "expected a mapping of keys", "got a list"),
    Mistake("yaml-text-at-top", "alerts.yaml", "team@example.com\n", "expected a mapping of keys", "got a string"),
    Mistake("yaml-missing-brands-file", "brands.yaml", None, "file not found", "every config directory needs it"),
    Mistake("yaml-missing-sources-file", "sources.yaml", None, "file not found", "every config directory needs it"),
    Mistake("yaml-latin-1", "brands.yaml", "brands:\n  - name: Café\n".encode("latin-1"),
            "byte 0xe9 at line 2, column 14", "expected UTF-8"),
    Mistake("yaml-utf16-without-bom", "brands.yaml", "brands:\n  - name: Acme\n".encode("utf-16-le"),
            "NUL byte at line 1, column 2", "expected UTF-8 (is it UTF-16 without a BOM?)"),
    Mistake("yaml-stray-invalid-byte", "sources.yaml", SOURCES.encode() + b"  # caf\xc3\n",
            "at line 5, column 8", "expected UTF-8"),
    Mistake("yaml-control-character", "brands.yaml", "brands:\n  - name: Ac\x07me\n",
            "at line 2, column 13", "control character #x0007; expected printable text"),
    Mistake("yaml-two-documents", "brands.yaml", BRANDS + "---\n" + BRANDS,
            "at line 11, column 1", "expected a single document in the stream, but found another document"),
    Mistake("yaml-billion-laughs", "brands.yaml", BOMB + "brands:\n  - name: Acme\n    aliases: *i\n",
            "aliases expand to more than", "expected a plain config"),
    Mistake("yaml-python-object-tag", "brands.yaml",
            "brands: !!python/object/apply:os.system ['touch pwned']\n", "at line 1, column 9",
            "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    Mistake("yaml-nested-too-deep", "brands.yaml", "brands: " + "[" * 5000 + "]" * 5000 + "\n",
            "nested too deeply", "expected a plain config"),
    Mistake("yaml-syntax-error-on-a-secret-line", "alerts.yaml", SMTP + "  password: hunter2: x\n",
            "at line 5, column 20", "mapping values are not allowed here", secret="hunter2"),
    # --- brands.yaml ------------------------------------------------------------------------------------
    Mistake("brands-empty-list", "brands.yaml", "brands: []\n", "brands", "expected at least 1 item"),
    Mistake("brands-key-misspelt", "brands.yaml", "brand:\n  - name: Acme\n", "brand", "did you mean 'brands'?"),
    Mistake("brand-without-name", "brands.yaml", _brand("  - aliases: [Zed]\n"), "brands[2].name",
            "missing; this key is required"),
    Mistake("brand-empty-name", "brands.yaml", _brand("  - name: ''\n"), "brands[2].name", "expected a non-empty name"),
    Mistake("brand-blank-name", "brands.yaml", _brand("  - name: '   '\n"), "brands[2].name", "expected a non-empty name"),
    Mistake("brand-name-is-yes", "brands.yaml", _brand("  - name: yes\n"), "brands[2].name",
            "expected a valid string (got True; put it in quotes"),
    Mistake("brand-name-is-a-number", "brands.yaml", _brand("  - name: 1800\n"), "brands[2].name",
            "(got 1800; put it in quotes"),
    Mistake("brand-listed-twice-other-case", "brands.yaml", _brand("  - name: ACME\n"), "brands[2].name",
            "brand 'ACME' is listed twice; expected each brand once"),
    Mistake("brand-alias-shared", "brands.yaml", BRANDS.replace("      - name: Orbit Flex\n", "      - name: Orbit Flex\n"
            "    aliases: [acme corp]\n"), "brands[Orbit].aliases[0]",
            "'acme corp' is already a name of brand 'Acme'; expected each name to belong to one brand"),
    Mistake("brand-alias-is-another-brand", "brands.yaml", _brand("  - name: Zed\n    aliases: [Orbit]\n"),
            "brands[Zed].aliases[0]", "'Orbit' is already a name of brand 'Orbit'"),
    Mistake("product-under-two-brands", "brands.yaml", BRANDS + "      - name: Acme Rocket\n",
            "brands[Orbit].products[Acme Rocket].name", "'Acme Rocket' is already a name of brand 'Acme'"),
    Mistake("product-listed-twice", "brands.yaml", BRANDS + "      - name: orbit flex\n",
            "brands[Orbit].products[orbit flex].name", "is already brands[Orbit].products[Orbit Flex].name"),
    Mistake("competitor-not-configured", "brands.yaml", BRANDS.replace("[Orbit]", "[Orbit, Google]"),
            "brands[Acme].competitors[1]", "'Google' is not another brand in this file; expected one of: Orbit"),
    Mistake("competitor-is-itself", "brands.yaml", BRANDS.replace("[Orbit]", "[Acme]"),
            "brands[Acme].competitors[0]", "'Acme' is not another brand in this file"),
    Mistake("exclusion-is-the-brand", "brands.yaml", BRANDS + "    exclusions: [orbit]\n",
            "brands[Orbit].exclusions[0]", "'orbit' would veto every mention of 'Orbit'"),
    Mistake("exclusion-inside-a-product-name", "brands.yaml", BRANDS.replace("    competitors: [Orbit]\n",
            "    competitors: [Orbit]\n    exclusions: [rocket]\n"), "brands[Acme].exclusions[0]",
            "'rocket' would veto every mention of 'Acme Rocket'"),
    Mistake("aliases-as-a-string", "brands.yaml", _brand("  - name: Zed\n    aliases: Zed Corp\n"),
            "brands[Zed].aliases", "expected a valid list (got 'Zed Corp'; write a list: [Zed Corp])"),
    Mistake("case-sensitive-yes-please", "brands.yaml", _brand("  - name: Zed\n    case_sensitive: yes please\n"),
            "brands[Zed].case_sensitive", "expected a valid boolean"),
    Mistake("products-as-strings", "brands.yaml", _brand("  - name: Zed\n    products: [Zed One]\n"),
            "brands[Zed].products[0]", "expected a mapping of keys (got 'Zed One')"),
    Mistake("brand-key-misspelt", "brands.yaml", _brand("  - name: Zed\n    alias: [Z]\n"),
            "brands[Zed].alias", "unknown key; expected one of: name, aliases"),
    # --- sources.yaml -----------------------------------------------------------------------------------
    Mistake("source-kind-unknown", "sources.yaml", SOURCES.replace("kind: rss", "kind: twitter"),
            "sources[news].kind", "expected one of 'rss', 'reddit', 'reviews', 'hackernews' (got 'twitter')"),
    Mistake("source-kind-missing", "sources.yaml", SOURCES.replace("    kind: rss\n", ""),
            "sources[news].kind", "missing; expected one of 'rss', 'reddit', 'reviews', 'hackernews'"),
    Mistake("source-url-misspelt", "sources.yaml", SOURCES.replace("url:", "ulr:"),
            "sources[news].ulr", "did you mean 'url'?"),
    Mistake("source-url-missing", "sources.yaml", SOURCES.replace("    url: https://news.example.com/feed.xml\n", ""),
            "sources[news].url", "missing; this key is required"),
    Mistake("reviews-url-instead-of-urls", "sources.yaml",
            SOURCES + "  - name: rv\n    kind: reviews\n    url: https://shop.example.com/r\n",
            "sources[rv].url", "did you mean 'urls'?"),
    Mistake("reddit-key-lists-reddit-keys", "sources.yaml",
            SOURCES + "  - name: rd\n    kind: reddit\n    subreddit: [AcmeMobile]\n",
            "sources[rd].subreddit", "expected one of: name, kind, enabled, brands, subreddits, searches, include_comments"),
    Mistake("source-names-repeated", "sources.yaml", SOURCES + SOURCES.removeprefix("sources:\n"),
            "sources[1].name", "'news' is already the name of sources[0]; expected unique source names"),
    Mistake("source-names-differ-only-in-case", "sources.yaml",
            SOURCES + SOURCES.removeprefix("sources:\n").replace("name: news", "name: News"),
            "sources[1].name", "'News' is already the name of sources[0]"),
    Mistake("source-name-climbs-out", "sources.yaml", SOURCES.replace("name: news", "name: ../x"),
            "sources[../x].name", "it names files: no spaces, '/' or '..'"),
    Mistake("source-name-with-slash", "sources.yaml", SOURCES.replace("name: news", "name: a/b"),
            "sources[a/b].name", "expected 1-100 letters, digits"),
    Mistake("source-name-with-spaces", "sources.yaml", SOURCES.replace("name: news", "name: my news"),
            "sources[my news].name", "expected 1-100 letters, digits"),
    Mistake("source-name-too-long", "sources.yaml", SOURCES.replace("name: news", "name: " + "n" * 300),
            ".name", "expected 1-100 letters, digits"),
    Mistake("url-without-scheme", "sources.yaml", SOURCES.replace("https://", ""),
            "sources[news].url", "expected an http://, https:// or file: URL with a host"),
    Mistake("url-javascript", "sources.yaml", SOURCES.replace("https://news.example.com/feed.xml", "javascript:alert(1)"),
            "sources[news].url", "expected an http://, https:// or file: URL"),
    Mistake("url-without-host", "sources.yaml", SOURCES.replace("https://news.example.com/feed.xml", "https:///feed.xml"),
            "sources[news].url", "with a host"),
    Mistake("url-with-a-space", "sources.yaml", SOURCES.replace("news.example.com", "news.example .com"),
            "sources[news].url", "with a host"),
    Mistake("backfill-days-negative", "sources.yaml", SOURCES + "    backfill_days: -1\n",
            "sources[news].backfill_days", "expected greater than or equal to 0 (got -1)"),
    Mistake("max-retries-negative", "sources.yaml", "http:\n  max_retries: -1\n" + SOURCES,
            "http.max_retries", "expected greater than or equal to 0"),
    Mistake("timeout-zero", "sources.yaml", SOURCES + "    http:\n      timeout_seconds: 0\n",
            "sources[news].http.timeout_seconds", "expected greater than 0"),
    Mistake("max-bytes-absurd", "sources.yaml", "http:\n  max_bytes: 10000000000\n" + SOURCES,
            "http.max_bytes", "expected less than or equal to 500000000"),
    Mistake("max-bytes-with-a-unit", "sources.yaml", "http:\n  max_bytes: 10MB\n" + SOURCES,
            "http.max_bytes", "expected a valid integer"),
    Mistake("user-agent-empty", "sources.yaml", "http:\n  user_agent: ''\n" + SOURCES,
            "http.user_agent", "expected a non-empty value"),
    Mistake("user-agent-with-a-header", "sources.yaml", 'http:\n  user_agent: "bot\\r\\nX-Evil: 1"\n' + SOURCES,
            "http.user_agent", "expected one line of printable text"),
    Mistake("enabled-sometimes", "sources.yaml", SOURCES + "    enabled: sometimes\n",
            "sources[news].enabled", "expected a valid boolean"),
    Mistake("source-brands-as-a-string", "sources.yaml", SOURCES + "    brands: Acme\n",
            "sources[news].brands", "write a list: [Acme]"),
    Mistake("sources-as-a-mapping", "sources.yaml", "sources:\n  news:\n    kind: rss\n",
            "sources", "expected a valid list"),
    Mistake("source-as-a-bare-url", "sources.yaml", "sources: [https://news.example.com/feed.xml]\n",
            "sources[0]", "expected a mapping of keys (got 'https://news.example.com/feed.xml')"),
    Mistake("sources-key-misspelt", "sources.yaml", SOURCES.replace("sources:", "source:"),
            "source", "did you mean 'sources'?"),
    Mistake("subreddit-as-a-url", "sources.yaml", REDDIT.replace("[AcmeMobile]", "[https://www.reddit.com/r/AcmeMobile]"),
            "sources[rd].subreddits[0]", "without 'r/' or a URL"),
    Mistake("search-subreddit-with-r-prefix", "sources.yaml", REDDIT + "    searches:\n      - query: acme\n        subreddit: r/all\n",
            "sources[rd].searches[0].subreddit", "without 'r/' or a URL"),
    Mistake("reddit-client-secret-in-yaml", "sources.yaml", REDDIT + "    client_secret: s3cr3t-Value\n",
            "sources[rd].client_secret", "set ZMOT_REDDIT_CLIENT_ID and ZMOT_REDDIT_CLIENT_SECRET in the environment",
            secret="s3cr3t-Value"),
    Mistake("reddit-password-in-yaml", "sources.yaml", REDDIT + "    password: pa55-word\n",
            "sources[rd].password", "Reddit credentials never go in config files", secret="pa55-word"),
    Mistake("reviews-urls-as-a-string", "sources.yaml", REVIEWS.replace("[https://shop.example.com/rocket/reviews]",
            "https://shop.example.com/rocket/reviews"), "sources[rv].urls", "write a list"),
    Mistake("reviews-max-pages-zero", "sources.yaml", REVIEWS + "    max_pages: 0\n",
            "sources[rv].max_pages", "expected greater than or equal to 1"),
    # --- alerts.yaml ------------------------------------------------------------------------------------
    Mistake("recipient-is-a-name", "alerts.yaml", ALERTS.replace("[team@example.com]", "[brand team]"),
            "recipients[0]", "expected a plain e-mail address like name@example.com (got 'brand team')"),
    Mistake("recipient-without-local-part", "alerts.yaml", ALERTS.replace("[team@example.com]", "['@example.com']"),
            "recipients[0]", "expected a plain e-mail address"),
    Mistake("recipient-without-domain", "alerts.yaml", ALERTS.replace("[team@example.com]", "['team@']"),
            "recipients[0]", "expected a plain e-mail address"),
    Mistake("recipients-as-a-string", "alerts.yaml", ALERTS.replace("[team@example.com]", "team@example.com"),
            "recipients", "write a list: [team@example.com]"),
    Mistake("recipients-empty-with-smtp", "alerts.yaml", SMTP.replace("[team@example.com]", "[]"),
            "recipients", "empty while smtp is set; expected at least one e-mail address"),
    Mistake("sender-missing-with-smtp", "alerts.yaml", SMTP.replace("sender: alerts@example.com\n", ""),
            "sender", "missing while smtp is set; expected the From address"),
    Mistake("sender-without-value", "alerts.yaml", ALERTS.replace("sender: alerts@example.com", "sender:"),
            "sender", "(got nothing: the key has no value)"),
    Mistake("smtp-port-in-words", "alerts.yaml", SMTP + "  port: twenty-five\n",
            "smtp.port", "expected a valid integer"),
    Mistake("smtp-port-too-big", "alerts.yaml", SMTP + "  port: 70000\n",
            "smtp.port", "expected less than or equal to 65535"),
    Mistake("smtp-security-tls1.0", "alerts.yaml", SMTP + "  security: tls1.0\n",
            "smtp.security", "expected 'starttls', 'ssl' or 'none' (got 'tls1.0')"),
    Mistake("smtp-host-missing", "alerts.yaml", ALERTS + "smtp:\n  port: 25\n", "smtp.host", "missing"),
    Mistake("smtp-host-as-a-url", "alerts.yaml", SMTP.replace("mail.example.com", "smtp://mail.example.com:587"),
            "smtp.host", "expected a host name or address only"),
    Mistake("smtp-password-in-yaml", "alerts.yaml", SMTP + "  password: hunter2\n",
            "smtp.password", "put it in an environment variable and name that variable in password_env", secret="hunter2"),
    Mistake("smtp-password-in-password-env", "alerts.yaml", SMTP + "  password_env: 'c0rrect horse!'\n",
            "smtp.password_env", "expected the NAME of an environment variable", secret="c0rrect horse!"),
    Mistake("smtp-timeout-zero", "alerts.yaml", SMTP + "  timeout_seconds: 0\n",
            "smtp.timeout_seconds", "expected greater than 0"),
    Mistake("threshold-negative", "alerts.yaml", ALERTS + "rules:\n  threshold: -1\n",
            "rules.threshold", "expected greater than 0"),
    Mistake("metric-unknown", "alerts.yaml", ALERTS + "rules:\n  metrics: [clicks]\n",
            "rules.metrics[0]", "expected 'negative_mentions', 'lzmot_mentions', 'negative_share' or 'avg_rating'"),
    Mistake("metrics-empty", "alerts.yaml", ALERTS + "rules:\n  metrics: []\n",
            "rules.metrics", "expected at least 1 item"),
    Mistake("cooldown-days-negative", "alerts.yaml", ALERTS + "rules:\n  cooldown_days: -1\n",
            "rules.cooldown_days", "expected greater than or equal to 0"),
    Mistake("history-days-too-short", "alerts.yaml", ALERTS + "rules:\n  history_days: 3\n",
            "rules.history_days", "expected greater than or equal to 7"),
    Mistake("rules-key-misspelt", "alerts.yaml", ALERTS + "rule:\n  threshold: 3\n", "rule", "did you mean 'rules'?"),
    Mistake("outbox-dir-empty", "alerts.yaml", ALERTS + "outbox_dir: ''\n", "outbox_dir", "expected a non-empty value"),
    # --- across files -----------------------------------------------------------------------------------
    Mistake("reddit-brand-not-in-brands", "sources.yaml", REDDIT + "    brands: [Acme, Nobody]\n",
            "sources[rd].brands[1]", "unknown brand 'Nobody'; expected a brand from brands.yaml: Acme, Orbit"),
    Mistake("review-product-of-another-brand", "sources.yaml", REVIEWS + "    brand: Acme\n    product: Orbit Flex\n",
            "sources[rv].product", "'Orbit Flex' is not a product of Acme; expected one of: Acme Rocket"),
]


def _config(directory: Path, mistake: Mistake) -> Path:
    files: dict[str, str | bytes | None] = {"brands.yaml": BRANDS, "sources.yaml": SOURCES, "alerts.yaml": ALERTS}
    files[mistake.file] = mistake.text
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text is not None:
            (directory / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return directory


def _assert_explains(message: str, directory: Path, mistake: Mistake) -> None:
    path = directory.resolve() / mistake.file
    assert message.startswith(f"{path}: "), message
    assert all(line.startswith(f"{directory.resolve()}/") for line in message.splitlines()), message
    assert mistake.key in message and mistake.expected in message, message
    assert "Traceback" not in message and "<unicode string>" not in message, message
    if mistake.secret:
        assert mistake.secret not in message, message


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_load_config_names_the_file_the_key_and_what_was_expected(tmp_path: Path, mistake: Mistake) -> None:
    directory = _config(tmp_path / "cfg", mistake)
    with pytest.raises(ConfigError) as err:
        load_config(directory)
    _assert_explains(str(err.value), directory, mistake)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_check_config_exits_2_with_the_same_message_and_no_traceback(tmp_path: Path, capsys, mistake: Mistake) -> None:
    directory = _config(tmp_path / "cfg", mistake)
    with pytest.raises(ConfigError) as err:
        load_config(directory)
    code = main(["check-config", "--config", str(directory)])
    out, stderr = capsys.readouterr()
    assert code == 2 and out == ""
    assert stderr == f"config error: {err.value}\n"
    _assert_explains(stderr.removeprefix("config error: "), directory, mistake)


def test_the_cases_are_many_and_distinct() -> None:
    assert len(MISTAKES) >= 50 and len({m.id for m in MISTAKES}) == len(MISTAKES)


@pytest.mark.parametrize(
    ("encoding", "text"),
    [("utf-8-sig", BRANDS), ("utf-16", BRANDS), ("utf-16-be", "\ufeff" + BRANDS)],
    ids=["utf8-bom", "utf16-le-bom", "utf16-be-bom"],
)
def test_a_byte_order_mark_is_honoured_not_refused(tmp_path: Path, encoding: str, text: str) -> None:
    directory = _config(tmp_path, Mistake("bom", "brands.yaml", text.encode(encoding), "", ""))
    cfg = load_config(directory)
    assert [b.name for b in cfg.brands.brands] == ["Acme", "Orbit"]
    assert cfg.brands.brand("Acme").aliases == ["Acme Corp"]


def test_anchors_and_merge_keys_within_reason_still_work(tmp_path: Path) -> None:
    sources = (
        "http: &polite\n  timeout_seconds: 5\n  max_retries: 1\n"
        "sources:\n  - &feed\n    name: a\n    kind: rss\n    url: https://a.example/feed\n    http: *polite\n"
        "  - <<: *feed\n    name: b\n    url: https://b.example/feed\n"
    )
    directory = _config(tmp_path, Mistake("anchors", "sources.yaml", sources, "", ""))
    cfg = load_config(directory)
    assert [(s.name, s.url, s.http.max_retries) for s in cfg.sources.sources] == [
        ("a", "https://a.example/feed", 1), ("b", "https://b.example/feed", 1)]


def test_a_billion_laughs_is_refused_fast_and_small(tmp_path: Path) -> None:
    directory = _config(tmp_path, Mistake("bomb", "brands.yaml", BOMB + "brands:\n  - name: Acme\n    aliases: *i\n", "", ""))
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(ConfigError, match="aliases expand to more than 2,000,000 values"):
        load_config(directory)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 30 and peak < 50_000_000  # 9**9 strings would take minutes and gigabytes


def test_a_python_tag_is_refused_and_never_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    directory = _config(tmp_path / "cfg", next(m for m in MISTAKES if m.id == "yaml-python-object-tag"))
    with pytest.raises(ConfigError, match="python/object/apply:os.system"):
        load_config(directory)
    assert not (tmp_path / "pwned").exists()


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    directory = _config(tmp_path, Mistake("huge", "sources.yaml", SOURCES + "# " + "x" * 11_000_000 + "\n", "", ""))
    started = time.monotonic()
    with pytest.raises(ConfigError) as err:
        load_config(directory)
    assert time.monotonic() - started < 30
    size = (directory / "sources.yaml").stat().st_size
    assert str(err.value) == (f"{directory.resolve() / 'sources.yaml'}: {size:,} bytes; "
                              "expected a config file under 10,000,000 bytes")


def test_a_missing_local_feed_fails_check_config_but_a_run_only_rejects_that_source(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path / "cfg", (
        "sources:\n"
        "  - name: telecom-news\n    kind: rss\n    url: file:feeds/telecom-news.rss.xml\n    backfill_days: 60\n"
        "  - name: gone\n    kind: rss\n    url: file:feeds/gone.xml\n    backfill_days: 60\n"
    ))
    shutil.copytree(SAMPLE / "feeds", config / "feeds")
    cfg = load_config(config)  # a file that vanished must not stop every other source of a run
    assert [s.name for s in cfg.sources.sources] == ["telecom-news", "gone"]

    assert main(["check-config", "--config", str(config)]) == 2
    out, stderr = capsys.readouterr()
    assert out == "" and "Traceback" not in stderr
    assert stderr == (f"config error: {config.resolve() / 'sources.yaml'}: sources[gone].url: no such file "
                      f"{config.resolve() / 'feeds' / 'gone.xml'}; expected an existing file "
                      "(file: paths are relative to the config directory)\n")

    data = tmp_path / "data"
    first = run_day(config, data, "2026-11-10", notify=False)
    warehouse = data / "zmot.duckdb"
    assert list(first.failed) == ["gone"]
    assert query(warehouse, "SELECT source_id, stage, reason FROM rejects") == [("gone", "extract", "not_found")]
    kept = query(warehouse, "SELECT source_id, count(*) FROM mentions GROUP BY 1")
    assert [source for source, _ in kept] == ["telecom-news"] and kept[0][1] > 0

    shutil.copy(config / "feeds" / "mobile-forum.atom.xml", config / "feeds" / "gone.xml")  # healed
    assert main(["check-config", "--config", str(config)]) == 0
    assert run_day(config, data, "2026-11-10", notify=False).failed == {}
    counts = dict(query(warehouse, "SELECT source_id, count(*) FROM mentions GROUP BY 1"))
    assert counts["telecom-news"] == kept[0][1] and counts["gone"] > 0 and set(counts) == {"telecom-news", "gone"}
    healed = snapshot(warehouse)
    assert run_day(config, data, "2026-11-10", notify=False).failed == {}
    assert snapshot(warehouse) == healed  # the rerun stores nothing twice
    assert query(warehouse, "SELECT count(*) - count(DISTINCT mention_id) FROM mentions") == [(0,)]
