#!/usr/bin/env bash
# The floor a matrix cell can approach: the same steps with the docker CLI and a tight readiness
# loop over TCP (the entrypoints' temporary init servers listen on the socket only, so a socket
# check could write to a server about to stop), nothing else. Usage: floor.sh DATABASE IMAGE
# STORAGE ACTION (mysql|mariadb|postgres, any image of that database, named|layer,
# recreate|restart). Prints the rows read back; exit 1 if not 3.
set -euo pipefail
database=$1 image=$2 storage=$3 action=$4
name="bench-floor-$$"
password="floor-$RANDOM$RANDOM"
label=(--label "harness.session=bench-floor-$$")

case $database in
    mysql)  # Oracle MySQL, its own client (the matrix's default MySQL-family server)
        data=/var/lib/mysql
        env=(-e MYSQL_ROOT_PASSWORD="$password" -e MYSQL_DATABASE=employees -e MYSQL_USER=app
             -e MYSQL_PASSWORD="$password")
        layer_args=(--datadir=/srv/data)
        # Over TCP without TLS, caching_sha2_password needs the server's RSA key.
        query() { docker exec -e MYSQL_PWD="$password" "$1" mysql -h127.0.0.1 -uapp employees \
                      --get-server-public-key --batch --skip-column-names -e "$2"; }
        ;;
    mariadb)
        data=/var/lib/mysql
        env=(-e MARIADB_ROOT_PASSWORD="$password" -e MARIADB_DATABASE=employees
             -e MARIADB_USER=app -e MARIADB_PASSWORD="$password")
        layer_args=(--datadir=/srv/data)
        query() { docker exec -e MYSQL_PWD="$password" "$1" mariadb -h127.0.0.1 -uapp employees \
                      --batch --skip-column-names -e "$2"; }
        ;;
    postgres)
        data=/var/lib/postgresql/data
        env=(-e POSTGRES_PASSWORD="$password" -e POSTGRES_USER=app -e POSTGRES_DB=employees)
        layer_args=()
        query() { docker exec -e PGPASSWORD="$password" "$1" psql -h 127.0.0.1 -U app \
                      -d employees -qtA -c "$2"; }
        ;;
    *) echo "floor.sh: unknown database $database" >&2; exit 2 ;;
esac

cleanup() {
    docker rm -f -v "$name-1" "$name-2" >/dev/null 2>&1 || true
    docker volume rm "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT

run() {  # run N: start container N on the storage
    local mount=()
    if [ "$storage" = named ]; then
        mount=(-v "$name:$data")
    elif [ "$database" = postgres ]; then
        env+=(-e PGDATA=/srv/data)
    fi
    local args=()
    [ "$storage" = layer ] && [ "$database" != postgres ] && args=("${layer_args[@]}")
    docker run -d --name "$name-$1" "${label[@]}" "${env[@]}" "${mount[@]}" "$image" \
        ${args[@]+"${args[@]}"} >/dev/null
}

ready() {  # until the application user's query answers
    until query "$1" 'SELECT 1' >/dev/null 2>&1; do sleep 0.05; done
}

[ "$storage" = named ] && docker volume create "${label[@]}" "$name" >/dev/null
run 1
ready "$name-1"
query "$name-1" "CREATE TABLE Persons (PersonID int, LastName varchar(255));
INSERT INTO Persons VALUES (1, 'a'), (2, 'b'), (3, 'c');" >/dev/null
current="$name-1"
case $action in
    restart) docker restart "$name-1" >/dev/null ;;
    recreate) docker stop "$name-1" >/dev/null; docker rm "$name-1" >/dev/null; run 2
              current="$name-2" ;;
    *) echo "floor.sh: unknown action $action" >&2; exit 2 ;;
esac
ready "$current"
rows=$(query "$current" 'SELECT count(*) FROM Persons')
echo "$rows"
[ "$rows" = 3 ]
