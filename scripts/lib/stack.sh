# shellcheck shell=bash
# stack.sh - start and stop a private PostgreSQL cluster and Redis server in
# a directory. Sourced by scripts/up, scripts/test and the test harness.
#
#   sw_pg_start DIR [fast]   initdb (once) and start; sets SW_PG_URL
#                            (SW_PG_CTYPE: the cluster's LC_CTYPE, default C,
#                            which folds case in ASCII only; C.UTF-8 makes
#                            lower() and upper() fold all of Unicode, as a
#                            cluster made with a UTF-8 system locale does)
#   sw_pg_stop DIR
#   sw_redis_start DIR       sets SW_REDIS_URL (the "admin" user's),
#                            SW_REDIS_URL_<ROLE> for the panel, provisioner
#                            and billing users, and SW_REDIS_SOCK
#   sw_redis_cli ARGS...     redis-cli as the "admin" user
#   sw_redis_stop DIR
#
# Redis runs with "user default off": no anonymous access. Each role has its
# own ACL user (sw__redis_roles), its password made once into
# DIR/redis-users/ROLE (mode 600) and given to Redis only as its SHA-256 in
# DIR/redis.conf (mode 600). The nodes' users are not here: the provisioner
# makes them from PostgreSQL (provisioner/acl.c).
#
# PostgreSQL refuses to run as root, so as root it runs as the "postgres"
# user (created by Debian's postgresql package). Both servers listen only
# on unix sockets inside DIR (or under /tmp when DIR's path is too long for
# a socket), so nothing here can collide with another stack's ports.

SW_PG_BIN=${SW_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

sw__as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# A directory for sockets: DIR/run when short enough, else a short one in /tmp.
# sw__wait_sock PATH: up to 5 s for a server's unix socket to appear.
sw__wait_sock() {
    local i
    for i in $(seq 1 100); do
        [ -S "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

# sw__wait_gone PID: up to 5 s for a process to exit.
sw__wait_gone() {
    local i
    for i in $(seq 1 100); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.05
    done
    return 1
}

sw__sockdir() {
    local dir=$1 d
    d="$(cd "$dir" && pwd)/run"
    if [ ${#d} -gt 80 ]; then
        if [ -f "$dir/.sockdir" ]; then
            d=$(cat "$dir/.sockdir")
        else
            d=$(mktemp -d /tmp/sw-sock.XXXXXX)
            echo "$d" >"$dir/.sockdir"
        fi
    fi
    mkdir -p "$d"
    chmod 755 "$d"
    echo "$d"
}

# Engines log in as their node's role (migrations/0018_engine_roles.sql), a
# member of slipway_engine, with its password (SCRAM) on the socket and on
# TCP, to the slipway database only; a wrong or missing password, or any
# other database, is refused. These lines come first in pg_hba.conf (the
# first matching line decides), added once to a cluster made before them
# (and reloaded if it runs). The control plane's role keeps initdb's trust
# on the socket, whose directory only this machine reaches.
sw__pg_hba() {
    local data=$1 hba=$1/pg_hba.conf
    grep -q '^# slipway: engine roles' "$hba" 2>/dev/null && return 0
    {
        echo "# slipway: engine roles give their password, to the slipway database only"
        echo "local   slipway  +slipway_engine                 scram-sha-256"
        echo "host    slipway  +slipway_engine  0.0.0.0/0      scram-sha-256"
        echo "host    slipway  +slipway_engine  ::/0           scram-sha-256"
        echo "local   all      +slipway_engine                 reject"
        echo "host    all      +slipway_engine  0.0.0.0/0      reject"
        echo "host    all      +slipway_engine  ::/0           reject"
        cat "$hba"
    } >"$hba.new" || return 1
    [ "$(id -u)" = 0 ] && chown postgres "$hba.new"
    chmod 600 "$hba.new" && mv "$hba.new" "$hba" || return 1
    if sw__as_pg "$SW_PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        sw__as_pg "$SW_PG_BIN/pg_ctl" -D "$data" reload >/dev/null
    fi
}

sw_pg_start() {
    local dir=$1 mode=${2:-} sock data log
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    sock=$(sw__sockdir "$dir")
    data=$dir/pg
    log=$dir/pg.log
    if [ "$(id -u)" = 0 ]; then
        # The postgres user must reach the data directory. A checkout under
        # a private home (/root is 0700) is not reachable: keep the cluster
        # in /var/lib/slipway instead, named after DIR, and remember it.
        if ! runuser -u postgres -- test -x "$dir"; then
            data=/var/lib/slipway/$(echo "$dir" | md5sum | cut -c1-12)/pg
            mkdir -p "$(dirname "$data")"
            chmod 755 /var/lib/slipway "$(dirname "$data")"
            log=$(dirname "$data")/pg.log
            echo "$data" >"$dir/.pgdata"
        fi
        if ! runuser -u postgres -- test -x "$sock"; then
            sock=/tmp/sw-sock-$(echo "$dir" | md5sum | cut -c1-12)
            mkdir -p "$sock" && chmod 755 "$sock"
            echo "$sock" >"$dir/.sockdir"
        fi
        chown postgres "$sock"
        touch "$log" && chown postgres "$log"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data"
        [ "$(id -u)" = 0 ] && chown postgres "$data"
        chmod 700 "$data"
        sw__as_pg "$SW_PG_BIN/initdb" -D "$data" -U slipway --auth=trust -E UTF8 \
            --no-locale --lc-ctype="${SW_PG_CTYPE:-C}" --no-sync >"$dir/initdb.log" 2>&1 || {
            echo "stack: initdb failed, see $dir/initdb.log" >&2
            return 1
        }
        {
            echo "listen_addresses = ''"
            echo "unix_socket_directories = '$sock'"
            echo "max_connections = 300"
            echo "shared_buffers = 256MB"
            if [ "$mode" = fast ]; then
                # test clusters: durability traded for speed; they are thrown away
                echo "fsync = off"
                echo "synchronous_commit = off"
                echo "full_page_writes = off"
            fi
        } >>"$data/postgresql.conf"
    fi
    sw__pg_hba "$data" || return 1
    if ! sw__as_pg "$SW_PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        sw__as_pg "$SW_PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null || {
            echo "stack: PostgreSQL did not start, see $log" >&2
            return 1
        }
    fi
    SW_PG_SOCK=$sock
    SW_PG_URL="postgresql:///slipway?host=$sock&user=slipway"
    if ! "$SW_PG_BIN/psql" -qAt "postgresql:///postgres?host=$sock&user=slipway" \
        -c "select 1 from pg_database where datname = 'slipway'" | grep -q 1; then
        "$SW_PG_BIN/createdb" -h "$sock" -U slipway slipway
    fi
    export SW_PG_URL SW_PG_SOCK
}

sw_pg_stop() {
    local data=$1/pg
    [ -f "$1/.pgdata" ] && data=$(cat "$1/.pgdata")
    [ -f "$data/postmaster.pid" ] || return 0
    sw__as_pg "$SW_PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# ROLE RULES: what each control-plane user may do. admin is for operators,
# tests and scripts (redis-cli); the provisioner manages the nodes' users
# (ACL SETUSER/DELUSER/USERS), so it is as trusted as admin.
sw__redis_roles() {
    cat <<'ROLES'
admin ~* &* +@all
panel ~rl:* ~console:* -@all +ping +incr +expire +get +rpush +blpop
provisioner ~jobs ~node:* ~results:* ~dead:* -@all +@stream +ping +info +acl|setuser +acl|deluser +acl|users
billing ~usage:* ~dead:usage:* -@all +@stream +ping
ROLES
}

# Makes the passwords (once) and DIR/redis.conf with every role's user.
sw__redis_conf() {
    local dir=$1 role rules pass
    (umask 077 && mkdir -p "$dir/redis-users")
    {
        echo "user default off resetkeys -@all"
        while read -r role rules; do
            [ -s "$dir/redis-users/$role" ] ||
                (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/redis-users/$role")
            pass=$(cat "$dir/redis-users/$role")
            echo "user $role on #$(printf %s "$pass" | sha256sum | cut -d' ' -f1) $rules"
        done < <(sw__redis_roles)
    } >"$dir/redis.conf.new"
    chmod 600 "$dir/redis.conf.new"
    mv "$dir/redis.conf.new" "$dir/redis.conf"
}

sw_redis_start() {
    local dir=$1 sock role
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    sock=$(sw__sockdir "$dir")/redis.sock
    if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
        :
    else
        sw__redis_conf "$dir"
        redis-server "$dir/redis.conf" --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' \
            --appendonly no --daemonize yes --pidfile "$dir/redis.pid" \
            --logfile "$dir/redis.log" --dir "$dir" >/dev/null || return 1
        sw__wait_sock "$sock" || { echo "stack: redis did not start, see $dir/redis.log" >&2; return 1; }
    fi
    SW_REDIS_SOCK=$sock
    SW_REDIS_DIR=$dir
    SW_REDIS_URL="unix://admin:$(cat "$dir/redis-users/admin")@$sock"
    for role in panel provisioner billing; do
        printf -v "SW_REDIS_URL_${role^^}" %s "unix://$role:$(cat "$dir/redis-users/$role")@$sock"
        export "SW_REDIS_URL_${role^^}"
    done
    export SW_REDIS_URL SW_REDIS_SOCK SW_REDIS_DIR
}

# redis-cli as admin (the password through the environment, never argv).
sw_redis_cli() {
    REDISCLI_AUTH=$(cat "$SW_REDIS_DIR/redis-users/admin") redis-cli --user admin -s "$SW_REDIS_SOCK" "$@"
}

sw_redis_stop() {
    local pidf=$1/redis.pid pid
    [ -f "$pidf" ] || return 0
    pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    sw__wait_gone "$pid"
    rm -f "$pidf"
}
