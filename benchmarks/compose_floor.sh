#!/usr/bin/env bash
# One compose cell by hand, the floor `compose-check` is measured against: a one-service project
# with its data in a named volume, `up -d`, wait until the server answers over TCP, write,
# `down`, `up -d`, wait, read. Usage: compose_floor.sh COMPOSE DATABASE IMAGE (COMPOSE: the
# Compose v2 binary; DATABASE: mysql|mariadb|postgres). Prints the rows read back; exit 1 if not 3.
set -euo pipefail
compose=$1 database=$2 image=$3
project="bench-compose-floor-$$"
password="floor-$RANDOM$RANDOM"
work=$(mktemp -d)

case $database in
    mysql|mariadb)
        prefix=MYSQL client=mysql extra=(--get-server-public-key) data=/var/lib/mysql
        [ "$database" = mariadb ] && prefix=MARIADB client=mariadb extra=()
        environment="      ${prefix}_ROOT_PASSWORD: $password
      ${prefix}_DATABASE: employees
      ${prefix}_USER: app
      ${prefix}_PASSWORD: $password"
        query() { "$compose" -p "$project" -f "$work/compose.yaml" exec -T -e MYSQL_PWD="$password" \
                      db "$client" -h127.0.0.1 -uapp employees ${extra[@]+"${extra[@]}"} \
                      --batch --skip-column-names -e "$1"; }
        ;;
    postgres)
        data=/var/lib/postgresql/data
        # PostgreSQL 18's image keeps its data one level down, under this VOLUME.
        case $image in *postgres-18*|*postgres:18*) data=/var/lib/postgresql ;; esac
        environment="      POSTGRES_PASSWORD: $password
      POSTGRES_USER: app
      POSTGRES_DB: employees"
        query() { "$compose" -p "$project" -f "$work/compose.yaml" exec -T -e PGPASSWORD="$password" \
                      db psql -h 127.0.0.1 -U app -d employees -qtA -c "$1"; }
        ;;
    *) echo "compose_floor.sh: unknown database $database" >&2; exit 2 ;;
esac

cat > "$work/compose.yaml" <<YAML
services:
  db:
    image: $image
    labels:
      harness.session: $project
    environment:
$environment
    volumes:
      - data:$data
volumes:
  data:
    labels:
      harness.session: $project
YAML

cleanup() {
    "$compose" -p "$project" -f "$work/compose.yaml" down -v >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

ready() { until query 'SELECT 1' >/dev/null 2>&1; do sleep 0.05; done; }

"$compose" -p "$project" -f "$work/compose.yaml" up -d --quiet-pull >/dev/null 2>&1
ready
query "CREATE TABLE Persons (PersonID int, LastName varchar(255));
INSERT INTO Persons VALUES (1, 'a'), (2, 'b'), (3, 'c');" >/dev/null
"$compose" -p "$project" -f "$work/compose.yaml" down >/dev/null 2>&1
"$compose" -p "$project" -f "$work/compose.yaml" up -d >/dev/null 2>&1
ready
rows=$(query 'SELECT count(*) FROM Persons')
echo "$rows"
[ "$rows" = 3 ]
