-- The Grafana login: a role that can log in and holds only kraken_reader (run by the grafana-login
-- service with psql; the password comes from the grafana_db_password secret as the psql variable `pw`).
SELECT format('CREATE ROLE kraken_grafana LOGIN IN ROLE kraken_reader')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kraken_grafana') \gexec
SELECT format('ALTER ROLE kraken_grafana LOGIN PASSWORD %L', :'pw') \gexec
