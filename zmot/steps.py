"""The pipeline steps the DAG calls, one function per task; each can also be called from a notebook.

extract (per source) -> staging files; enrich (per source) -> NLP files; load -> the warehouse and the
daily_signals of the days it touched, in one transaction; detect -> alerts; notify -> emails; finish -> fail loudly if a source failed, after everything that did work is stored.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from connectors.records import ExtractResult, Reject, SourceState
from zmot import staging
from zmot.config import AppConfig, Source, load_config
from zmot.runcontext import RunContext

if TYPE_CHECKING:
    from nlp.moments import MomentResult

# Each Airflow task is a new process that imports only what its step needs: spaCy (2 s) for enrich,
# matplotlib (1.5 s) for notify, DuckDB for the writers, a source kind's connector for its extract.
# So the heavier packages are imported inside the step functions below, not here.

log = logging.getLogger(__name__)


class SourceFailed(RuntimeError):
    """A source could not be read this run; its reject row is staged and the others go on. Its subclass,
    taken from the connector's error type, says whether the DAG retries the task."""


class TransientSourceFailed(SourceFailed):
    """Trying again soon can help: a timeout, a 429 or 5xx that outlasted the connector's own retries."""


class TerminalSourceFailed(SourceFailed):
    """Trying again cannot help until someone acts: a 404, missing credentials, a feed that is not a feed."""


class RunHadFailures(RuntimeError):
    """Raised at the end of a run whose sources partly failed, so the run shows up as failed."""


def source_names(ctx: RunContext) -> list[str]:
    """The enabled sources, one mapped extract task each."""
    return [s.name for s in load_config(ctx.config_dir).sources.enabled()]


def extract(ctx: RunContext, source_name: str) -> dict[str, Any]:
    """Fetch one source's new mentions into a staging file; a failure is staged as a reject, then raised."""
    cfg = load_config(ctx.config_dir)
    source = cfg.sources.get(source_name)
    state = _stored_state(ctx, source)
    out_mentions = staging.mentions_path(ctx.staging_dir, source.name)
    out_outcome = staging.outcome_path(ctx.staging_dir, source.name)
    from connectors.http import FetchError

    try:
        result = _fetch(cfg, source, state, ctx)
    except Exception as crash:  # noqa: BLE001 - input no connector foresaw fails its own source, with a reject, not the run
        exc = crash if isinstance(crash, FetchError) else FetchError(
            "connector_error", source.describe(),
            f"the connector failed on this source's input ({type(crash).__name__}: {str(crash)[:300]}); report it as a bug",
        )
        if exc is not crash:
            log.exception("source %s: connector error", source.name)
        out_mentions.unlink(missing_ok=True)
        reject = Reject(
            source_id=source.name, source_kind=source.kind, stage="extract", reason=exc.reason,
            message=exc.message, url=exc.url, payload_excerpt=exc.excerpt or "",
        )
        staging.write_outcome(out_outcome, staging.SourceOutcome(source.name, source.kind, False, None, [reject]))
        failed = TransientSourceFailed if exc.transient else TerminalSourceFailed
        raise failed(f"source {source.name!r} failed: {exc.message}") from crash
    staging.write_mentions(out_mentions, result.mentions)
    staging.write_outcome(
        out_outcome,
        staging.SourceOutcome(
            source.name, source.kind, True, result.state, result.rejects, len(result.mentions),
            result.requests, result.not_modified, result.held_back, result.retracted,
        ),
    )
    log.info(
        "source %s: %d new mentions, %d rejects, %d requests%s",
        source.name, len(result.mentions), len(result.rejects), result.requests,
        " (not modified)" if result.not_modified else "",
    )
    return {"source": source.name, "mentions": len(result.mentions), "rejects": len(result.rejects)}


def enrich(ctx: RunContext, source_name: str) -> dict[str, Any]:
    """Run the spaCy pipeline over one source's staged mentions, so each source's NLP can run on its own worker.

    A source that staged no mentions file (its extract failed) writes none: the load reads NLP only
    for the mention files it stores, and a stale pair from an earlier attempt is removed.
    """
    mentions = staging.mentions_path(ctx.staging_dir, source_name)
    out_nlp, out_refs = staging.nlp_path(ctx.staging_dir, source_name), staging.refs_path(ctx.staging_dir, source_name)
    if not mentions.exists():
        out_nlp.unlink(missing_ok=True)
        out_refs.unlink(missing_ok=True)
        log.info("source %s: no staged mentions to enrich", source_name)
        return {"source": source_name, "mentions": 0, "refs": 0}
    nlp_rows, ref_rows = _analyse_rows(ctx, staging.read_mention_rows([mentions]))
    staging.write_records(out_nlp, nlp_rows, staging.NLP_SCHEMA)
    staging.write_records(out_refs, ref_rows, staging.REF_SCHEMA)
    log.info("source %s: enriched %d mentions, %d brand references", source_name, len(nlp_rows), len(ref_rows))
    return {"source": source_name, "mentions": len(nlp_rows), "refs": len(ref_rows)}


def _analyse_rows(ctx: RunContext, rows: list[dict[str, Any]]) -> tuple[list[staging.NlpRow], list[staging.RefRow]]:
    """The NLP and reference rows of staged mention rows, read in batches by the brands' pipeline."""
    from nlp.pipeline import analyse, build_pipeline, pipeline_version

    cfg = load_config(ctx.config_dir)
    nlp = build_pipeline(cfg.brands.brands)
    texts = [analysis_text(r["title"], r["text"]) for r in rows]
    nlp_rows: list[staging.NlpRow] = []
    ref_rows: list[staging.RefRow] = []
    version = pipeline_version()
    for row, result in zip(rows, analyse(nlp, texts), strict=True):
        nlp_rows.append(
            staging.NlpRow(
                mention_id=row["mention_id"], language=result.language, language_score=result.language_score,
                ref_count=len(result.refs),
                judgement=_judgement(result.sentiment_label, result.sentiment_score, result.moment),
                model_version=version,
            )
        )
        for index, (ref, moment) in enumerate(zip(result.refs, result.ref_moments, strict=True)):
            ref_rows.append(
                staging.RefRow(
                    mention_id=row["mention_id"], ref_index=index, brand=ref.brand, product=ref.product,
                    matched_text=ref.text, start_char=ref.start_char, end_char=ref.end_char,
                    judgement=_judgement(ref.sentiment_label, ref.sentiment_score, moment), implicit=False,
                )
            )
        ref_rows.extend(_implicit_refs(row, result))
    return nlp_rows, ref_rows


def _implicit_refs(row: dict[str, Any], result: Any) -> list[staging.RefRow]:
    """A review on a product's page is about that product even when its text never names it."""
    metadata = json.loads(row.get("metadata") or "{}")
    brand, product = metadata.get("subject_brand"), metadata.get("subject_product")
    if not brand or any(ref.brand == brand for ref in result.refs):
        return []
    return [
        staging.RefRow(
            mention_id=row["mention_id"], ref_index=len(result.refs), brand=brand, product=product,
            matched_text="", start_char=0, end_char=0,
            judgement=_judgement(result.sentiment_label, result.sentiment_score, result.moment), implicit=True,
        )
    ]


def load(ctx: RunContext) -> dict[str, Any]:
    """Store the run in one transaction; cursors only for sources whose mentions are stored with them."""
    from warehouse.load import StagedRun, load_run
    from warehouse.publish import writer

    cfg = load_config(ctx.config_dir)
    outcomes = []
    for source in cfg.sources.enabled():
        path = staging.outcome_path(ctx.staging_dir, source.name)
        if path.exists():
            outcomes.append(staging.read_outcome(path))
        else:
            reject = Reject(
                source_id=source.name, source_kind=source.kind, stage="extract", reason="no_outcome",
                message="the extract task left no result (killed or never ran); it will be fetched next run",
            )
            outcomes.append(staging.SourceOutcome(source.name, source.kind, False, None, [reject]))
    ok = [o for o in outcomes if o.ok]
    # The sources whose mentions are stored; each one's enrich wrote its NLP and reference files.
    enriched = [o.source_id for o in ok if staging.mentions_path(ctx.staging_dir, o.source_id).exists()]
    staged = StagedRun(
        run_key=ctx.run_key,
        interval_end=ctx.interval_end,
        mention_files=[staging.mentions_path(ctx.staging_dir, s) for s in enriched],
        nlp_files=[staging.nlp_path(ctx.staging_dir, s) for s in enriched],
        refs_files=[staging.refs_path(ctx.staging_dir, s) for s in enriched],
        states=[o.state for o in ok if o.state is not None],
        rejects=[r for o in outcomes for r in o.rejects],
        sources_ok=[o.source_id for o in ok],
        sources_failed=[o.source_id for o in outcomes if not o.ok],
        catalog=cfg.brands.brands,
        retracted=[m for o in ok for m in o.retracted],
        tag_rules=dict(cfg.tags.rules),
    )
    with writer(ctx.warehouse) as con:
        summary = load_run(con, staged, cfg.alerts.clusters)
    log.info(
        "loaded run %s: %d new, %d updated, %d retracted mentions, %d rejects; daily_signals: %d rows for days %s",
        ctx.run_key, summary.mentions_new, summary.mentions_updated, summary.mentions_retracted, summary.rejects,
        summary.signal_rows, ", ".join(d.isoformat() for d in summary.days_touched) or "none",
    )
    return {
        "mentions_new": summary.mentions_new,
        "mentions_updated": summary.mentions_updated,
        "rejects": summary.rejects,
        "days_touched": [d.isoformat() for d in summary.days_touched],
        "sources_failed": staged.sources_failed,
    }


def detect(ctx: RunContext, days_touched: list[str]) -> list[str]:
    """Spike detection on the days this run touched; new alerts are stored, not yet sent."""
    from warehouse.detect import detect_and_store
    from warehouse.publish import writer
    from warehouse.spike_rules import spike_settings
    from zmot.notify import notify_window

    cfg = load_config(ctx.config_dir)
    rules = cfg.alerts.rules
    detector_rules = spike_settings(rules)
    with writer(ctx.warehouse) as con:
        new = detect_and_store(
            con, run_key=ctx.run_key, brands=[b.name for b in cfg.brands.brands], metrics=rules.metrics,
            days_touched=[date.fromisoformat(d) for d in days_touched], rules=detector_rules,
            history_days=rules.history_days, notify_after=notify_window(ctx.interval_end, rules.notify_max_age_days),
            per_product=rules.per_product, per_source_kind=rules.per_source_kind, voices=rules.voices,
            suppress=None if ctx.send_alerts else f"found by a backfill run ({ctx.run_key}) that was not asked to send alerts",
        )
    log.info("detect: %d new alerts", len(new))
    return new


def notify(ctx: RunContext) -> dict[str, Any]:
    """Email and post to webhooks every alert not yet delivered there; each delivery is recorded only once it succeeded."""
    from warehouse.publish import writer
    from zmot.notify import notify_all, notify_window

    cfg = load_config(ctx.config_dir)
    with writer(ctx.warehouse) as con:
        return notify_all(con, cfg.alerts, data_dir=ctx.data_dir,
                          not_before=notify_window(ctx.interval_end, cfg.alerts.rules.notify_max_age_days))


def digest(ctx: RunContext) -> dict[str, Any]:
    """Email each brand's digest for the day or week that just ended, once; a backfill sends none."""
    from datetime import timedelta

    from warehouse.publish import writer
    from zmot.digest import DigestPeriod, gather_digest, send_digest_once

    cfg = load_config(ctx.config_dir)
    settings = cfg.alerts.digest
    if settings is None or not ctx.send_alerts:
        return {"sent": []}
    last_day = (ctx.interval_end - timedelta(days=1)).date()  # a run covers mentions up to its logical date
    period = DigestPeriod.containing(settings.period, last_day)
    if period.end != last_day:
        return {"sent": [], "next": period.end.isoformat()}
    sent = []
    with writer(ctx.warehouse) as con:
        for brand in cfg.brands.brands:
            where = send_digest_once(con, gather_digest(con, brand.name, period), cfg.alerts, data_dir=ctx.data_dir,
                                     now=datetime.now(timezone.utc))
            if where:
                sent.append(f"{brand.name} {period.key}: {where}")
    log.info("digests: %s", "; ".join(sent) or f"none to send for {period.key}")
    return {"sent": sent}


def finish(load_result: dict[str, Any], ctx: RunContext) -> None:
    """Fail the run loudly when a source failed; its data is missing until a later run fetches it."""
    failed = load_result.get("sources_failed") or []
    if failed:
        day = ctx.logical_date.date().isoformat()
        raise RunHadFailures(
            f"{len(failed)} source(s) failed and were skipped this run: {', '.join(failed)}; "
            "see the rejects table; their cursors did not move, so the next run picks them up. "
            f"To repair this run once the source is fixed: airflow tasks clear zmot_daily -s {day} -e {day} -y "
            "(clears the whole run; clearing only the failed tasks re-runs no load)"
        )


def _judgement(label: str | None, score: float | None, moment: "MomentResult") -> staging.Judgement:
    return staging.Judgement(
        sentiment_label=label, sentiment_score=score, moment=moment.moment, stage=moment.stage,
        moment_confidence=moment.confidence, moment_evidence=list(moment.evidence),
    )


def analysis_text(title: str | None, text: str) -> str:
    """The text the NLP reads: title and body, so reference offsets point into this string."""
    if title and not text.startswith(title):
        return f"{title}\n\n{text}"
    return text


def _fetch(cfg: AppConfig, source: Source, stored: SourceState, ctx: RunContext) -> ExtractResult:
    """Read one source with its kind's fetch; its prefilter keeps the brands the source is limited to."""
    from connectors.http import FetchPolicy
    from connectors.kinds import KINDS
    from connectors.kinds.base import Window
    from nlp.brands import make_prefilter

    window = Window(
        interval_end=ctx.interval_end, backfill_start=ctx.backfill_start(source.backfill_days),
        fetched_at=datetime.now(timezone.utc), keep=make_prefilter(cfg.brands.watched(source.brands)), brand_name=lambda name: cfg.brands.brand(name).name,
    )
    kind = KINDS[source.kind]
    policy = FetchPolicy(**cfg.sources.policy_for(source).model_dump())
    return kind.fetch(source, kind.state.read(stored), window, policy)


def _stored_state(ctx: RunContext, source: Source) -> SourceState:
    """The source's cursor as the last published run has it; a fresh one when the source is new.

    Extract tasks run beside the writer, so they read the published copy. It can lag the writer's
    file only if a writer died between its commit and its publish; the cursor is then a run older,
    and the upsert by stable id stores nothing twice.
    """
    from warehouse.publish import open_published, published_exists

    if published_exists(ctx.warehouse):
        from warehouse.source_state import stored_state_json

        con = open_published(ctx.warehouse)
        try:
            stored = stored_state_json(con, source.name)
        finally:
            con.close()
        if stored is not None:
            return SourceState.from_json(stored)
    return SourceState(source_id=source.name, source_kind=source.kind)
