-- The Prefect server's own database, `prefect`, in the same PostgreSQL as `kraken_etl` (run by the prefect-db
-- service with psql; idempotent). Prefect's tables never mix with the kraken-etl database.
SELECT 'CREATE DATABASE prefect OWNER kraken_etl'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'prefect') \gexec
