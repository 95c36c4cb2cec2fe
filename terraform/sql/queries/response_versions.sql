-- Every distinct version of every response, oldest first (the same version delivered twice, by a webhook and by the poller, or by a retry, shares one dedup_key and is listed once); tombstones show as deleted = true.
SELECT id, updated_at, received_at, source, deleted, CAST(data.score AS integer) AS score, data.text AS comment
FROM (
  SELECT r.*, row_number() OVER (PARTITION BY dedup_key ORDER BY received_at) AS delivery
  FROM responses r
) deliveries
WHERE delivery = 1
ORDER BY id, coalesce(updated_at, received_at), received_at
