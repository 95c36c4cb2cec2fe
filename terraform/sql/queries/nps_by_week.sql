-- NPS per week of the response's creation, weeks starting Monday 00:00 in America/Los_Angeles (edit the zone), latest version of each response, integer scores 0-10 only, excluded responses left out, NPS surveys only.
-- survey_mode comes from webhooks only: the REST API's response object has no survey mode, template or metric field
-- (survey_id is per survey instance), so a response never seen by a webhook has none. coalesce(..., 'NPS') counts
-- those as NPS, right for NPS-only accounts; with CES or CSAT surveys on the account use survey_mode = 'NPS' instead.
SELECT
  CAST(date_trunc('week', at_timezone(from_iso8601_timestamp(created_at), 'America/Los_Angeles')) AS date) AS week,
  count(*) AS responses,
  count_if(data.score >= 9) AS promoters,
  count_if(data.score <= 6) AS detractors,
  round(100.0 * (count_if(data.score >= 9) - count_if(data.score <= 6)) / count(*), 1) AS nps
FROM responses_current
WHERE data.score BETWEEN 0 AND 10
  AND data.score = floor(data.score)
  AND NOT coalesce(data.excluded_from_calculations, false)
  AND coalesce(survey_mode, 'NPS') = 'NPS'
  AND created_at IS NOT NULL
GROUP BY 1
ORDER BY 1
