-- Detractor comments of responses created in the last 7 days (created_at, not the dt partition, which is when a record was received: a first sync or backfill lands old responses today), latest version of each response, non-empty comments, excluded responses left out.
-- Webhook responses carry the e-mail in data.email, polled ones in data.end_user.email.
SELECT
  id,
  created_at,
  CAST(data.score AS integer) AS score,
  trim(data.text) AS comment,
  coalesce(data.email, data.end_user.email) AS email,
  source
FROM responses_current
WHERE from_iso8601_timestamp(created_at) >= current_timestamp - INTERVAL '7' DAY
  AND data.score BETWEEN 0 AND 6
  AND data.score = floor(data.score)
  AND NOT coalesce(data.excluded_from_calculations, false)
  AND coalesce(trim(data.text), '') <> ''
  AND coalesce(survey_mode, 'NPS') = 'NPS'
ORDER BY created_at DESC, id
