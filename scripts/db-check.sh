#!/usr/bin/env bash
# Apply every migration to an empty PostgreSQL database, then fail if the models and the migrations
# disagree (a model change without its migration, or the reverse).
set -euo pipefail
bin=${1:-.venv/bin}
admin_url=${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
name=marketplace_migration_check
url="${admin_url%/*}/$name"

if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  if [ "${CI:-}" = "true" ]; then echo "db-check: PostgreSQL is not reachable" >&2; exit 1; fi
  echo "db-check: PostgreSQL not reachable, skipped (CI runs it)"
  exit 0
fi

sql() { "$bin/python" -c "
import sqlalchemy as sa, sys
engine = sa.create_engine(sys.argv[1], isolation_level='AUTOCOMMIT')
with engine.connect() as c: c.execute(sa.text(sys.argv[2]))
" "$admin_url" "$1"; }

sql "DROP DATABASE IF EXISTS $name WITH (FORCE)"
sql "CREATE DATABASE $name"
trap 'sql "DROP DATABASE IF EXISTS $name WITH (FORCE)"' EXIT
export DATABASE_URL=$url SECRET_KEY=db-check APP_ENV=testing
"$bin/flask" --app wsgi db upgrade
"$bin/flask" --app wsgi db check
echo "db-check: migrations apply to an empty database and match the models"
