-- New names worth tracking: names in the texts of one period ('now') that are not in the catalog,
-- ranked by how much more often they are used now than in the period before ('before').
-- The texts given select (period 'now'|'before', voice, text); the known names, the catalog's names casefolded.
-- A voice (an author, else the mention) counts once per name and period.
-- Candidates: @handles and #hashtags; runs of capitalised words (Nova Pro, Time Warner Cable);
-- camel-case words (iPhone, eBay); and words with digits (S23, Pixel 8, X1000).
-- A single capitalised word that opens a sentence is not taken ("Seriously? Acme is down"), nor one the
-- same texts use more often in lower case ("The", "Thanks"); so is a function word opening a run ("The Zyphone X2"),
-- and so are runs made only of the catalog's words ("Acme Nova" when Acme and Nova are known),
-- and the calendar and chat words that are capitalised everywhere (Friday, December, RT, PM).
-- Score: the log ratio of the two periods' rates (voices using it per voice), each count smoothed
-- by +0.5, divided by its standard error: a z that rises with both the lift and the evidence.
WITH name_texts AS ({texts}),
known_names AS ({known}),
voices AS (
    SELECT period, coalesce(voice, 'text:' || row_number() OVER ()) AS voice, text FROM name_texts
),
totals AS (
    SELECT count(DISTINCT voice) FILTER (WHERE period = 'now') AS n_now,
           count(DISTINCT voice) FILTER (WHERE period = 'before') AS n_before
    FROM voices
),
sentence_starts AS (  -- a capitalised word that opens a sentence is marked: its capital is no evidence of a name
    SELECT period, voice, regexp_replace(text, '(^|[.!?]\s+|\n\s*|\s[-–—]\s+)([A-Z])', '\1§\2', 'g') AS text FROM voices
),
found AS (
    SELECT period, voice, trim(unnest(regexp_extract_all(text,
        '[@#][A-Za-z0-9_]{2,40}|[a-z]+[A-Z][A-Za-z0-9]*(?: [A-Z0-9][A-Za-z0-9]*)*|§?[A-Z][A-Za-z0-9&''-]*[A-Za-z0-9](?: [A-Z0-9][A-Za-z0-9&''-]*)*|§?[A-Za-z]+[0-9][A-Za-z0-9]*'
    )), '''-') AS surface
    FROM sentence_starts
),
leading_word_dropped AS (  -- a run's first word may just start the sentence: "The Zyphone X2", "Thanks Orbitel"
    SELECT period, voice, regexp_replace(
        CASE WHEN starts_with(surface, '§') AND NOT contains(surface, ' ') AND NOT regexp_matches(surface, '[0-9]') THEN ''
             ELSE replace(surface, '§', '') END, '^(?:The|A|An|I''m|I''ve|I''ll|I''d|My|Our|Your|His|Her|Their|This|That|These|Those|I|We|You|He|She|It|They|And|But|Or|So|If|When|Why|How|What|Is|Are|Was|Were|Do|Does|Did|Just|Hey|Hi|Thanks|Thank|Love|Got|Get|RT|Happy|New|Good|Great|Best|Check|Watch|Finally|Even|Still|Not|No|Yes|Yeah|Oh|Ok|Please|Who|Where|With|For|From|At|On|In|Of|To|By|As|Via|After|Before|Anyone|Anybody|Someone|Everyone|Nobody|Can|Could|Should|Would|Will|Has|Have|Had|Here|There|Then|Now|Also|Maybe|Well|Really|Only|Any|Some|All|Every|One|Which|Whose)(?: |$)', '') AS surface
    FROM found
),
candidates AS (
    SELECT period, voice, surface, lower(surface) AS name_key,
           CASE WHEN surface[1] = '@' THEN 'handle' WHEN surface[1] = '#' THEN 'hashtag'
                WHEN regexp_matches(surface, '[0-9]') THEN 'product-like' ELSE 'name' END AS kind
    FROM leading_word_dropped
    WHERE length(surface) >= 2
      AND NOT regexp_full_match(surface, '(?i)(?:RT|AM|PM|OK|LOL|OMG|[#@]?(?:mon|tues|wednes|thurs|fri|satur|sun)day|jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|today|tonight|tomorrow|yesterday)')
),
lower_words AS (  -- how often each word is written all in lower case, to tell names from sentence starts
    SELECT word, count(*) AS lower_uses
    FROM (SELECT unnest(regexp_extract_all(text, '(?:^|[^A-Za-z0-9@#])([a-z]+)', 1)) AS word FROM voices)
    GROUP BY word
),
counted AS (
    SELECT c.name_key, c.kind,
           mode(c.surface) AS name,
           count(*) AS uses,
           count(DISTINCT c.voice) FILTER (WHERE c.period = 'now') AS voices_now,
           count(DISTINCT c.voice) FILTER (WHERE c.period = 'before') AS voices_before
    FROM candidates c
    WHERE c.name_key NOT IN (SELECT name FROM known_names)
      AND ltrim(c.name_key, '@#') NOT IN (SELECT replace(name, ' ', '') FROM known_names)
      AND NOT list_has_all(coalesce((SELECT list(DISTINCT w) FROM (SELECT unnest(string_split(name, ' ')) AS w FROM known_names)), []),
                           string_split(c.name_key, ' '))  -- known names run together: "Acme Nova"
    GROUP BY c.name_key, c.kind
)
SELECT c.name, c.kind, c.voices_now, c.voices_before,
       ((c.voices_now + 0.5) / greatest(t.n_now, 1)) / ((c.voices_before + 0.5) / greatest(t.n_before, 1)) AS lift,
       (ln((c.voices_now + 0.5) / greatest(t.n_now, 1)) - ln((c.voices_before + 0.5) / greatest(t.n_before, 1)))
           / sqrt(1 / (c.voices_now + 0.5) + 1 / (c.voices_before + 0.5)) AS score
FROM counted c
CROSS JOIN totals t
LEFT JOIN lower_words w ON c.kind = 'name' AND NOT contains(c.name_key, ' ') AND w.word = c.name_key
WHERE c.voices_now >= $min_voices
  AND coalesce(w.lower_uses, 0) < c.uses
ORDER BY score DESC, c.voices_now DESC, c.name
LIMIT $limit
