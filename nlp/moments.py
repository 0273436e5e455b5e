"""Moments of truth: is this text a prospect researching (ZMOT), a customer leaving or warning others
(LZMOT), a customer's advocacy (UMOT), or none of these (news, ads, chatter)?

The part of the text about a brand is judged relative to it: a question about a competitor is not
research about our brand, and "switching from X to Y" is LZMOT for X, not for Y. Cue patterns read
that part (their own verdict is the `cues` decider, kept as the baseline); a model trained on the
labelled corpus (nlp/moment_model.py) decides from the cues, the words around the target and the
sentiment, and its strongest features are the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from spacy.language import Language
from spacy.tokens import Doc

from nlp.doctext import sentence_bounds, text_of
from nlp.switching import switches_to

if TYPE_CHECKING:
    from nlp.moment_model import MomentModel

MOMENTS = ("zmot", "lzmot", "umot", "none")
STAGES = ("discovery", "consideration", "purchase", "experience", "loyalty", "recommendation")
CUES_VERSION = "moments-cues-1"


@dataclass(frozen=True)
class MomentResult:
    moment: str  # zmot | lzmot | umot | none
    stage: str | None  # one of STAGES, None for "none"
    confidence: float  # 0..1
    evidence: tuple[str, ...] = field(default_factory=tuple)  # the cues that decided it


class CuePattern:
    """A case-insensitive pattern, compiled twice: ASCII text (most posts) is lowered and matched
    case-sensitively, three times faster than IGNORECASE and the same matches at the same offsets,
    since the pattern's letters are all lower case and lower() keeps an ASCII text's length."""

    def __init__(self, pattern: str) -> None:
        letters = re.sub(r"\\.", "", pattern)
        if letters != letters.lower():
            raise ValueError(f"a cue pattern is written in lower case: {pattern!r}")
        self.pattern = pattern
        self._any_case = re.compile(pattern, re.IGNORECASE)
        self._lowered = re.compile(pattern)

    def search(self, text: str) -> re.Match[str] | None:
        return self._lowered.search(text.lower()) if text.isascii() else self._any_case.search(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self._lowered.finditer(text.lower()) if text.isascii() else self._any_case.finditer(text)


def _rx(*patterns: str) -> CuePattern:
    return CuePattern("|".join(f"(?:{p})" for p in patterns))


NEG = r"(?:not|never|no|don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t|isn'?t|wasn'?t|can'?t|cannot|shouldn'?t)"
FIRST_PERSON = _rx(r"\b(?:i|i'?m|i'?ve|i'?d|i'?ll|me|my|mine|we|we'?re|we'?ve|our|us|im|ive)\b")
QUESTION_START = _rx(r"^\s*(?:is|are|should|would|does|do|did|can|could|has|have|which|what|how|anyone|any|where|who|thoughts)\b")

# Each cue: (name, pattern, weight). Weights are on one scale across classes.
ZMOT_CUES = [
    ("worth_it", _rx(r"\bworth (?:it|the (?:money|price|upgrade|hype)|buying|getting|upgrading)\b"), 2.0),
    ("should_i", _rx(r"\b(?:should|would) (?:i|we|you) (?:get|buy|go (?:with|for)|choose|pick|switch|upgrade|order|try)\b"), 2.0),
    ("considering", _rx(r"\b(?:thinking|planning|considering|debating|deciding)(?: (?:of|about|on|whether|between))? ?(?:getting|buying|switching|upgrading|ordering|trying|to)?\b"), 1.5),
    ("shopping", _rx(r"\b(?:looking for|in the market for|shopping (?:for|around)|need(?:ing)? (?:a|an) new|want(?:ing)? (?:a|an) new)\b"), 1.5),
    ("asks_experience", _rx(r"\b(?:anyone|anybody|any(?:one)? of you) (?:tried|used|using|own|recommend|switched)\b", r"\bany (?:experience|thoughts|opinions|reviews|recommendations|suggestions|advice)\b"), 2.0),
    ("asks_recommendation", _rx(
        r"\b(?:recommendations?|suggestions?|advice) (?:for|on|please)\b", r"\b(?:what|which) (?:do|would) you (?:recommend|suggest)\b",
        r"\bwhich (?:one|is better|should|would|to (?:choose|get|buy|pick))\b", r"\b(?:thoughts|opinions?) (?:on|about)\b",
    ), 2.0),
    ("comparison", _rx(r"\b(?:vs\.?|versus|compared (?:to|with)|better than)\b"), 1.5),
    # "X or Y?" is a choice, but often not a purchase: it needs another cue to count
    ("choice_question", _rx(r"\bor (?!does\b|do\b|is\b|am\b|are\b|was\b|not\b|just\b|what\b|something\b|will\b|can\b)[\w-]+\b[^?.!]{0,40}\?"), 1.0),
    ("intent_to_buy", _rx(
        r"\b(?:want|going|gonna|need|plan|planning|hoping|about|ready|have) to (?:buy|get|grab|order|pre-?order|upgrade|switch|pick up)\b",
        r"\b(?:wanna|gonna) (?:buy|get|grab)\b", r"\bwish ?list\b",
        r"\b(?:i|we) (?:may|might|will|'ll|shall) (?:just |probably |definitely |finally )?(?:get|buy|grab|order|pre-?order|upgrade)\b",
        r"\bmy next (?:phone|laptop|tablet|car|console|watch|tv|purchase|pair|one)\b", r"\b(?:go|goes|going) on sale\b",
        r"\b(?:tempted|itching|dying) to (?:get|buy|try|move|switch)\b", r"\b(?:holds?|holding|keeps?) me back from (?:buying|getting)\b",
        r"\bbring me back to\b", r"\b(?:i|we) (?:may|might|could) (?:just |seriously |finally )?(?:upgrade|switch to|move (?:back )?to)\b",
        r"\bwhen (?:does|will|is|do) .{0,40}\b(?:available|on sale|released?|come out|ship)\b", r"\bbe available\b",
        r"\bpick (?:it |one |them )?up (?:at|in) (?:the|a|your)\b",
    ), 1.5),
    ("asks_quality", _rx(r"\b(?:is|are) (?:[\w'-]+\s){1,3}?(?:any good|good|reliable|decent|legit|worth|fast|quick)\b", r"\bhow(?:'s| is| are| good is| reliable is| does| do)\b(?:\s+[\w'-]+){0,4}?\s+(?:coverage|signal|reception|battery|camera|screen|service|support|quality|speed|price|plan|contract|deal|app|sound|build|warranty|delivery|customer service)\b"), 1.5),
    ("asks_price", _rx(r"\b(?:how much|price|pricing|cost|deal|discount)\b"), 0.5),
    ("reviews", _rx(r"\breviews?\b"), 0.5),
]
LEAVING_CUES = [
    ("cancel", _rx(r"\bcancel+(?:ed|ing|s)?\b", r"\bcancellation\b", r"\bclos(?:ed|ing) (?:my|our) account\b", r"\bunsubscrib"), 2.5),
    ("switching_away", _rx(r"\b(?:switch|switched|switching|moving|moved|porting|ported|going back) (?:over )?(?:to|from)\b", r"\bport(?:ing|ed)? my number\b"), 2.0),
    ("leaving", _rx(
        r"\bleav(?:e|ing)\b(?! a review)", r"\b(?:i'?m|i am|we'?re|we are) (?:so |totally )?(?:done|finished|through) with\b", r"\blast straw\b",
        r"\bgood ?bye\b", r"\b(?:may|might|will|gonna|going to|about to) (?:just )?(?:switch|leave|move|cancel)\b", r"\bmake me (?:switch|leave|cancel)\b",
        r"\bback to (?:ios|android|iphone|my old|the old|windows|mac|pc)\b", r"\brol(?:l|led|ling) back\b", r"\bdowngrad(?:e|ed|ing)\b",
    ), 2.0),
    ("never_again", _rx(r"\bnever (?:again|buying|going back|using|ordering|shopping|buy|use|order)\b", r"\b(?:won'?t|will not|not going to|never gonna) (?:buy|use|order|shop|be back|come back|return|renew)\b"), 2.5),
    ("refund_return", _rx(
        r"\b(?:my |a |for (?:a )?|full |the )refund", r"\brefund(?:ed)? (?:me|my)\b", r"\breturn(?:ed|ing)? (?:it|them|mine|this|the|my)\b",
        r"\bsen[dt](?:ing)? (?:it|them) back\b", r"\bchargeback\b", r"\bmoney back\b", r"\b(?:not|n't) (?:returned|refunded) my\b",
    ), 2.0),
]
WARNING_CUES = [
    ("warns_off", _rx(r"\bavoid\b", r"\bstay away\b", r"\bsteer clear\b", r"\bdo ?n[o']t (?:buy|bother|waste|use|order|trust)\b", r"\bdon'?t (?:buy|bother|waste|use|order|trust)\b", r"\bdon'?t get (?:one|this|that|the|a|an)\b", r"\bsave your money\b", r"\bbuyer beware\b", r"\bwaste of (?:money|time)\b", r"\byou'?ve been warned\b"), 2.5),
    ("would_not_recommend", _rx(rf"\b{NEG} (?:\w+ )?recommend\b", r"\bnot recommended\b"), 2.5),
    ("scam", _rx(r"\bscam(?:med|mers?)?\b", r"\brip(?:ped)? ?off\b", r"\bfraud\b"), 1.5),
]
BAD_EXPERIENCE_CUES = [
    ("failure", _rx(r"\b(?:broke|broken|stopped working|died|dead|faulty|defective|leak(?:s|ed|ing)?|crash(?:es|ed|ing)?|froze|freezes|overheat)", r"\bno (?:signal|service|internet|coverage)\b", r"\bdropped calls?\b", r"\boutages?\b", r"\bovercharg", r"\bbilling error\b", r"\bcharged (?:me|us) twice\b", r"\bdoesn'?t work\b|\bdoes not work\b|\bnot working\b"), 1.0),
    ("repeated", _rx(
        r"\b(?:third|3rd|fourth|4th|fifth|second|2nd) (?:time|one|outage|replacement|call|week|month|failure)\b",
        r"\b(?:again|yet again|yet another|every (?:day|week|month)|three times|3 times|twice|many (?:emails|calls|times))\b", r"\btired of\b",
    ), 1.0),
    ("bad_service", _rx(r"\b(?:customer (?:service|support)|support (?:chat|team)|on hold)\b.*\b(?:useless|joke|terrible|awful|worst|hours|nothing|rude)\b", r"\b(?:useless|rude|hung up|no help|on hold for)\b"), 1.0),
    ("very_negative", _rx(r"\b(?:worst|terrible|awful|horrible|pathetic|disgusting|unacceptable|ridiculous|garbage|trash|crap|sucks|hate)\b", r"\bfed up\b", r"\bfurious\b", r"\bdisappointed\b"), 0.8),
]
UMOT_CUES = [
    ("recommends", _rx(r"\b(?:highly|strongly|definitely|totally|100%|would|i) recommend", r"\brecommend (?:it|this|them|[\w-]+) to\b", r"\bcan'?t recommend [\w\s-]{0,30} enough\b", r"\bmust[- ]have\b"), 2.5),
    ("loves_it", _rx(r"\b(?:love|loving|adore) (?:my|it|this|the|how|our|these|them)\b", r"\b(?:obsessed with|in love with)\b", r"\bi ?<3\b"), 2.0),
    ("best_choice", _rx(r"\bbest (?:purchase|decision|buy|investment|thing|phone|laptop|service|ever)\b", r"\bworth every (?:penny|cent)\b", r"\bno regrets\b", r"\bgame ?changer\b"), 2.0),
    ("satisfied", _rx(r"\b(?:so|very|really|extremely|super) (?:happy|pleased|satisfied|impressed) with\b", r"\bnever had (?:a|any) (?:problem|issue)s?\b", r"\bworks (?:perfectly|great|flawlessly|like a charm)\b", r"\b(?:10/10|five stars|5 stars|5/5|a\+)\b"), 1.5),
    ("urges_others", _rx(r"\b(?:go for it|get one|you won'?t regret|do yourself a favou?r)\b"), 1.5),
    ("loyal", _rx(r"\b(?:been with|been using|customer (?:for|since)|loyal|for (?:\d+|many|ten|five) years)\b", r"\b(?:renewed|bought (?:another|a second)|still (?:using|love))\b"), 1.0),
]
EVALUATIVE = _rx(
    r"\b(?:rocks?|amazing|awesome|excellent|superb|perfect|brilliant|fantastic|impressed|impressive|infatuated|wise|worthwhile)\b",
    r"\b(?:great|good|nice|solid|fine|decent) (?:quality|price|value|phone|product|service|sound|battery|reception|purchase|job)\b",
    r"\b(?:works|worked|holding up) (?:well|great|fine|perfectly)\b", r"\b(?:happy|pleased|satisfied) (?:with|about)\b",
    r"\bthank(?:s| you) (?:for|to)\b", r"\bi (?:love|like) (?!to\b)", r"\b(?:the )?best\b", r"\bcomfortable\b",
)
POSITIVE_EXPERIENCE = 0.5  # sentiment score above which an evaluative account counts as advocacy
NEWS_CUES = _rx(
    r"\b(?:announc(?:es|ed|ement)|reports?(?:ed)?|according to|shares (?:rose|fell|up|down)|stock|ceo|quarter(?:ly)?|earnings|revenue|"
    r"launch(?:es|ed)|unveil(?:s|ed)|recall(?:s|ed)?|lawsuit|sued|regulators?|analysts?|acquir(?:es|ed)|merger|press release|breaking|"
    r"officials?|spokes(?:man|woman|person)|customers (?:in|across)|affected customers|says|said)\b"
)
AD_CUES = _rx(
    r"\b(?:giveaway|win an?|enter to win|promo code|discount code|use code|coupon|\d+% off|sale ends|shop now|click here|"
    r"link in bio|follow (?:and|&) (?:rt|retweet)|retweet to win|sponsored|limited time|order now|free shipping)\b"
)
JUST_BOUGHT = _rx(r"\b(?:just|finally) (?:bought|ordered|got|pre-?ordered|signed up|purchased|picked up)\b", r"\b(?:bought|ordered|purchased) (?:a|an|my|the)\b")
THRESHOLD = 1.5
# Advocacy told with negative feeling toward the brand, or leaving told with positive, contradicts itself:
# the model's next most likely moment is taken instead (measured in bench/moments_eval.py)
CONTRADICTS = {"negative": ("umot",), "positive": ("lzmot",)}
SHORT_TEXT = 280  # a post this short is about one thing: judged whole unless other brands are known to be in it


@lru_cache(maxsize=1)
def _sentencizer() -> Language:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def model_version() -> str:
    """What decided the stored moments: the shipped model's name."""
    return _model().name


@lru_cache(maxsize=1)
def _model() -> MomentModel:
    from nlp.moment_model import load_moment_model

    return load_moment_model()


def classify(
    texts: Sequence[str], targets: Sequence[str | None] | None = None, sentiments: Sequence[float | None] | None = None,
    *, decider: str = "model",
) -> list[MomentResult]:
    """Classify texts, each relative to its target brand or product (None: the text as a whole).

    Without a catalog, other brands are unknown, so a target's part of the text runs from the
    first sentence naming it to the end; the pipeline component also stops at other brands.
    """
    targets = list(targets) if targets is not None else [None] * len(texts)
    if len(targets) != len(texts):
        raise ValueError(f"got {len(texts)} texts but {len(targets)} targets")
    if sentiments is None:
        from nlp.line_sentiment import scores_toward

        scored = scores_toward(list(zip(texts, targets)))  # toward each target, as the pipeline scores references
        labels: Sequence[str | None] = [label for label, _, _ in scored]
        sentiments = [score for _, score, _ in scored]
    else:
        labels = [None] * len(texts)
    docs = _sentencizer().pipe(texts, batch_size=256)
    readings = [read_doc(doc, target, sentiment=s, sentiment_label=label)
                for doc, target, s, label in zip(docs, targets, sentiments, labels)]
    return [r.by_cues for r in readings] if decider == "cues" else decide(readings)


@dataclass(frozen=True)
class Reading:
    """What the cues read in the part of a text about one target: their own verdict and their tokens."""

    scope: str
    target: str | None
    by_cues: MomentResult
    tokens: tuple[str, ...]
    sentiment_label: str | None = None  # toward the target; a moment that contradicts it is not chosen


def read_doc(
    doc: Doc,
    target: str | None = None,
    spans: Sequence[tuple[int, int]] = (),
    other_spans: Sequence[tuple[int, int]] = (),
    sentiment: float | None = None,
    sentiment_label: str | None = None,
) -> Reading:
    """Read the part of the text about the target: from each sentence that names it up to the next
    sentence that names another brand (the whole text when it is not named or not given)."""
    text = text_of(doc)
    bounds = sentence_bounds(doc)
    sentences = [text[a:b] for a, b in bounds] if bounds is not None else [text]
    if (target or spans) and (other_spans or len(text) > SHORT_TEXT):
        scoped = _sentences_about(doc, target, spans, other_spans)
        if scoped:
            sentences = scoped
    scope = " ".join(sentences)
    by_cues, tokens = _judge(scope, text, target, sentiment)
    return Reading(scope, target, by_cues, tokens, sentiment_label)


def decide(readings: Sequence[Reading]) -> list[MomentResult]:
    """The trained model's moments for a batch of readings; the stage comes from the cues."""
    if not readings:
        return []
    from nlp.moment_model import MomentInput

    model = _model()
    items = [MomentInput(r.scope, r.target, r.tokens) for r in readings]
    decisions = model.decide(model.probabilities(items), [CONTRADICTS.get(r.sentiment_label or "", ()) for r in readings])
    results = []
    for reading, item, (moment, probability) in zip(readings, items, decisions):
        if moment == "none":
            results.append(MomentResult("none", None, round(probability, 3), model.evidence(item, "none")))
            continue
        cue_evidence = list(reading.by_cues.evidence) if reading.by_cues.moment == moment else []
        results.append(MomentResult(moment, _stage(moment, reading.scope, cue_evidence), round(probability, 3),
                                    model.evidence(item, moment)))
    return results


def _sentences_about(
    doc: Doc, target: str | None, spans: Sequence[tuple[int, int]], other_spans: Sequence[tuple[int, int]]
) -> list[str]:
    bounds = sentence_bounds(doc)
    if bounds is None:
        return []
    chosen = []
    pattern = re.compile(rf"(?<!\w){re.escape(target)}(?!\w)", re.IGNORECASE) if target else None
    following = False
    text = text_of(doc)
    for begin, end in bounds:
        names_target = any(begin <= start < end for start, _ in spans) or bool(
            pattern is not None and pattern.search(text[begin:end])
        )
        names_other = any(begin <= start < end for start, _ in other_spans)
        if names_target:
            following = True
        elif names_other:
            following = False
        if following:
            chosen.append(text[begin:end])
    return chosen


def _judge(scope: str, full_text: str, target: str | None, sentiment: float | None = None) -> tuple[MomentResult, tuple[str, ...]]:
    """The cues' own verdict (the baseline decider), and every cue and flag they saw as model features."""
    evidence: dict[str, list[str]] = {m: [] for m in MOMENTS}
    scores = dict.fromkeys(MOMENTS, 0.0)
    is_question = "?" in scope or bool(QUESTION_START.search(scope))
    first_person = bool(FIRST_PERSON.search(full_text))

    zmot, leaving, warning, bad, umot = (dict(hits) for hits in _cue_hits(scope))
    if zmot:
        weight = sum(w for _, w in zmot.values())
        researching = is_question or any(cue in zmot for cue in ("intent_to_buy", "shopping", "comparison"))
        scores["zmot"] = weight * (1.0 if researching else 0.4)
        evidence["zmot"] = list(zmot)
        if is_question:
            evidence["zmot"].append("question")

    switching_to_target = switches_to(scope, target)
    if switching_to_target:
        leaving.pop("switching_away", None)  # they are coming to this brand, not leaving it
        leaving.pop("leaving", None)
        leaving.pop("cancel", None)
    lz = sum(w for _, w in leaving.values()) + sum(w for _, w in warning.values())
    if lz or len(bad) >= 2:
        lz += sum(w for _, w in bad.values())
        scores["lzmot"] = lz * (1.0 if first_person or warning else 0.5)
        evidence["lzmot"] = [*leaving, *warning, *bad]

    if sentiment is not None and sentiment >= POSITIVE_EXPERIENCE and not is_question and EVALUATIVE.search(scope):
        umot["positive_experience"] = ("", 1.5)
    if umot and not warning:
        scores["umot"] = sum(w for _, w in umot.values()) * (1.0 if first_person or "recommends" in umot or "positive_experience" in umot else 0.6)
        evidence["umot"] = list(umot)

    news = bool(NEWS_CUES.search(scope)) and not first_person
    ad = bool(AD_CUES.search(full_text))
    tokens = (
        *(f"zmot:{n}" for n in zmot), *(f"leaving:{n}" for n in leaving), *(f"warning:{n}" for n in warning),
        *(f"bad:{n}" for n in bad), *(f"umot:{n}" for n in umot),
        *(flag for flag, on in (("question", is_question), ("first_person", first_person), ("news", news), ("ad", ad),
                                ("switch_to_target", switching_to_target), ("just_bought", bool(JUST_BOUGHT.search(scope))))
          if on),
        "sentiment:" + ("none" if sentiment is None else "neg" if sentiment <= -0.3 else "pos" if sentiment >= 0.3 else "neu"),
    )
    if news or ad:
        for moment in ("lzmot", "umot"):
            scores[moment] *= 0.3  # a report of customers' trouble is news, not a customer's story
        scores["zmot"] *= 0.5 if news else 0.2

    if is_question and scores["zmot"] and scores["lzmot"] < 2 * scores["zmot"]:
        scores["lzmot"] *= 0.5  # "should I cancel?" still reads as deciding, weigh toward research
    moment = max(("zmot", "lzmot", "umot"), key=lambda m: scores[m])
    if scores[moment] < THRESHOLD:
        cue = "news" if news else "ad" if ad else "no cue"
        return MomentResult("none", "discovery" if news or ad else None, _confidence(THRESHOLD - scores[moment], 1.0), (cue,)), tokens
    runner_up = max(v for m, v in scores.items() if m != moment)
    confidence = _confidence(scores[moment] - runner_up, scores[moment])
    return MomentResult(moment, _stage(moment, scope, evidence[moment]), confidence, tuple(evidence[moment])), tokens


def _any_of(cues: list[tuple[str, CuePattern, float]]) -> CuePattern:
    return _rx(*(pattern.pattern for _, pattern, _ in cues))


# One search per cue family first: most texts match none of a family, and then its cues need not run one by one
_FAMILIES = tuple((cues, _any_of(cues)) for cues in (ZMOT_CUES, LEAVING_CUES, WARNING_CUES, BAD_EXPERIENCE_CUES, UMOT_CUES))
_NEGATED_BEFORE = re.compile(rf"\b{NEG}\b(?:\s+\w+)?\s*$")


@lru_cache(maxsize=256)  # a batch's texts, not a benchmark pass: no hits across passes
def _cue_hits(scope: str) -> tuple[dict[str, tuple[str, float]], ...]:
    """Every family's hits in one part of a text; a text and its one brand's part are often the same string."""
    return tuple(_hits(cues, scope) if any_cue.search(scope) else {} for cues, any_cue in _FAMILIES)


def _hits(cues: list[tuple[str, CuePattern, float]], text: str) -> dict[str, tuple[str, float]]:
    """Cues found in the text, skipping those negated just before ("not cancelling")."""
    found: dict[str, tuple[str, float]] = {}
    for name, pattern, weight in cues:
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 24): match.start()].lower()
            if name != "would_not_recommend" and _NEGATED_BEFORE.search(before):
                continue
            found[name] = (match.group(0), weight)
            break
    return found


def _stage(moment: str, scope: str, evidence: list[str]) -> str:
    if moment == "zmot":
        if JUST_BOUGHT.search(scope) or "intent_to_buy" in evidence:
            return "purchase"
        return "consideration"
    if moment == "lzmot":
        if any(e in evidence for e in ("warns_off", "would_not_recommend", "scam")):
            return "recommendation"
        if any(e in evidence for e in ("cancel", "switching_away", "leaving", "never_again")):
            return "loyalty"
        return "experience"
    if any(e in evidence for e in ("recommends", "urges_others")):
        return "recommendation"
    if "loyal" in evidence:
        return "loyalty"
    return "experience"


def _confidence(margin: float, scale: float) -> float:
    return round(min(0.99, 0.5 + 0.5 * margin / (scale + 1.0)), 3)


# --- the spaCy component ------------------------------------------------------------------

if not Doc.has_extension("moment"):
    Doc.set_extension("moment", default=None)
    Doc.set_extension("ref_moments", default=None)


@Language.factory("zmot_moments", default_config={})
def make_moments(nlp: Language, name: str) -> "MomentsComponent":
    return MomentsComponent()


class MomentsComponent:
    """Sets doc._.moment for the whole text and doc._.ref_moments, one per brand reference."""

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        """One model call per batch of documents: the features are cheapest built together."""
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._decide(batch)
                batch = []
        yield from self._decide(batch)

    def _decide(self, docs: list[Doc]) -> list[Doc]:
        plans = [self._readings(doc) for doc in docs]
        flat = [reading for whole, per_ref, _ in plans for reading in (whole, *per_ref)]
        decided = iter(decide(flat))
        for doc, (_, per_ref, ref_slots) in zip(docs, plans):
            doc._.moment = next(decided)
            distinct = [next(decided) for _ in per_ref]
            doc._.ref_moments = [distinct[slot] for slot in ref_slots]
        return docs

    @staticmethod
    def _readings(doc: Doc) -> tuple[Reading, list[Reading], list[int]]:
        """The whole text's reading, one reading per distinct target, and which one each reference uses."""
        scored = Doc.has_extension("sentiment_score")
        whole = read_doc(doc, sentiment=doc._.sentiment_score if scored else None,
                         sentiment_label=doc._.sentiment_label if scored else None)
        refs = (doc._.brand_refs if Doc.has_extension("brand_refs") else None) or []
        per_ref: list[Reading] = []
        slots: list[int] = []
        if len({ref.brand for ref in refs}) == 1:
            seen: dict[str, int] = {}
            for ref in refs:
                target = ref.product or ref.brand
                if target not in seen:
                    seen[target] = len(per_ref)
                    per_ref.append(read_doc(doc, target, sentiment=ref.sentiment_score, sentiment_label=ref.sentiment_label))
                slots.append(seen[target])
            return whole, per_ref, slots
        for ref in refs:
            slots.append(len(per_ref))
            per_ref.append(read_doc(
                doc, ref.product or ref.brand,
                [(r.start_char, r.end_char) for r in refs if r.brand == ref.brand],
                [(r.start_char, r.end_char) for r in refs if r.brand != ref.brand],
                sentiment=ref.sentiment_score, sentiment_label=ref.sentiment_label,
            ))
        return whole, per_ref, slots
