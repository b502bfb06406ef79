-- One database per service (each service owns its schema; none reads another's tables).
-- Run once by the postgres image when its data directory is empty
-- (mounted as /docker-entrypoint-initdb.d/10-motcua.sql). On an existing server, run it with
-- `psql -U postgres -f deploy/postgres/init.sql`; `python -m motcua_kit.migrate` also creates a
-- missing database when its user may. The names are those of the *_DATABASE_URL settings.
CREATE DATABASE motcua_intake;
CREATE DATABASE motcua_routing;
CREATE DATABASE motcua_notification;
CREATE DATABASE motcua_reporting;
