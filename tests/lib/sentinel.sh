# shellcheck shell=bash
# sentinel.sh - a Redis master, its replica and three sentinels on loopback
# TCP ports of their own, in a test's directory. Sourced after harness.sh.
#
#   sw_sent_start DIR        redis "a" (master) and "b" (replica of a), and
#                            sentinels s1..s3 watching them as master set
#                            "swm" (quorum 2, down after 1 s); sets
#                            SW_SENT_URL (redis-sentinel://...) and the ports
#                            SW_SENT_PORT_a, SW_SENT_PORT_b, SW_SENT_SPORTS
#   sw_sent_redis_start DIR NAME [MASTER_PORT]
#                            (re)starts redis NAME, a replica when MASTER_PORT
#   sw_sent_kill9 DIR NAME   SIGKILL of redis NAME
#   sw_sent_master           the port the sentinels name now ("" if none)
#   sw_sent_named PORT       true when some sentinel names PORT
#   sw_sent_set OPTION VALUE SENTINEL SET on every sentinel
#   sw_sent_cli PORT ARGS... redis-cli against one of them
#   sw_sent_stop DIR         stops every one of them (the EXIT trap's job)
#
# The servers keep nothing on disk (save "", no AOF): a restarted one comes
# back empty, as a master, until the sentinels make it a replica again.
# Authentication: everything here uses the default user for now. To move to
# ACL users, set SW_SENT_REDIS_CONF (extra redis.conf lines: "user ..." or
# "aclfile ...", "masteruser"/"masterauth" for the replica link),
# SW_SENT_SENTINEL_CONF (extra sentinel lines: "sentinel auth-user swm ...",
# "sentinel auth-pass swm ...", and "user ..." lines for the sentinels
# themselves), SW_SENT_CLI_AUTH (redis-cli arguments, e.g. "--user U --pass P")
# and SW_SENT_USERINFO ("USER:PASS@" for the URL; "?sentinel_user=..&
# sentinel_password=.." goes in SW_SENT_URL_OPTS).

SW_SENT_MASTER_SET=swm
SW_SENT_REDIS_CONF=${SW_SENT_REDIS_CONF:-}
SW_SENT_SENTINEL_CONF=${SW_SENT_SENTINEL_CONF:-}
SW_SENT_CLI_AUTH=${SW_SENT_CLI_AUTH:-}
SW_SENT_USERINFO=${SW_SENT_USERINFO:-}
SW_SENT_URL_OPTS=${SW_SENT_URL_OPTS:-}

# Five free loopback ports, one a line.
sw__sent_ports() {
    python3 -c '
import random, socket
got = []
while len(got) < 5:
    p = random.randint(20000, 29999)
    if p in got:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        got.append(p)
    except OSError:
        pass
    finally:
        s.close()
print("\n".join(map(str, got)))'
}

# shellcheck disable=SC2086 # SW_SENT_CLI_AUTH is words
sw_sent_cli() { local p=$1; shift; redis-cli -h 127.0.0.1 -p "$p" $SW_SENT_CLI_AUTH "$@" 2>/dev/null; }

sw__sent_wait_port() { # PORT: until it answers PING (5 s)
    local i
    for i in $(seq 1 100); do
        [ "$(sw_sent_cli "$1" PING)" = PONG ] && return 0
        sleep 0.05
    done
    echo "sentinel.sh: nothing answers on port $1" >&2
    return 1
}

sw_sent_redis_start() {
    local dir=$1 name=$2 master=${3:-} port
    eval "port=\$SW_SENT_PORT_$name"
    {
        echo "port $port"
        echo "bind 127.0.0.1"
        echo "save \"\""
        echo "appendonly no"
        echo "daemonize yes"
        echo "pidfile $dir/redis-$name.pid"
        echo "logfile $dir/redis-$name.log"
        echo "dir $dir"
        [ -n "$master" ] && echo "replicaof 127.0.0.1 $master"
        [ -n "$SW_SENT_REDIS_CONF" ] && printf '%s\n' "$SW_SENT_REDIS_CONF"
    } >"$dir/redis-$name.conf"
    redis-server "$dir/redis-$name.conf" >/dev/null || return 1
    sw__sent_wait_port "$port"
}

sw_sent_kill9() {
    local pidf=$1/redis-$2.pid pid
    pid=$(cat "$pidf" 2>/dev/null) || return 0
    kill -9 "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
    rm -f "$pidf"
}

sw__sent_sentinel_start() { # DIR I PORT
    local dir=$1 i=$2 port=$3
    {
        echo "port $port"
        echo "bind 127.0.0.1"
        echo "daemonize yes"
        echo "pidfile $dir/sentinel$i.pid"
        echo "logfile $dir/sentinel$i.log"
        echo "dir $dir"
        echo "sentinel monitor $SW_SENT_MASTER_SET 127.0.0.1 $SW_SENT_PORT_a 2"
        echo "sentinel down-after-milliseconds $SW_SENT_MASTER_SET 1000"
        echo "sentinel failover-timeout $SW_SENT_MASTER_SET 5000"
        echo "sentinel parallel-syncs $SW_SENT_MASTER_SET 1"
        [ -n "$SW_SENT_SENTINEL_CONF" ] && printf '%s\n' "$SW_SENT_SENTINEL_CONF"
    } >"$dir/sentinel$i.conf"
    redis-sentinel "$dir/sentinel$i.conf" >/dev/null || return 1
    sw__sent_wait_port "$port" || return 1
    # INFO every second, not every 10 s: a master that turned replica is
    # seen (and failed over) in seconds
    sw_sent_cli "$port" SENTINEL DEBUG info-period 1000 >/dev/null
}

sw_sent_start() {
    local dir=$1 ports i
    mapfile -t ports < <(sw__sent_ports)
    SW_SENT_PORT_a=${ports[0]} SW_SENT_PORT_b=${ports[1]}
    SW_SENT_SPORTS="${ports[2]} ${ports[3]} ${ports[4]}"
    sw_sent_redis_start "$dir" a || return 1
    sw_sent_redis_start "$dir" b "$SW_SENT_PORT_a" || return 1
    i=0
    for p in $SW_SENT_SPORTS; do
        i=$((i + 1))
        sw__sent_sentinel_start "$dir" "$i" "$p" || return 1
    done
    local hosts
    hosts=$(for p in $SW_SENT_SPORTS; do printf '127.0.0.1:%s,' "$p"; done)
    SW_SENT_URL="redis-sentinel://$SW_SENT_USERINFO${hosts%,}/$SW_SENT_MASTER_SET$SW_SENT_URL_OPTS"
    export SW_SENT_URL SW_SENT_PORT_a SW_SENT_PORT_b SW_SENT_SPORTS
}

# The master's port as every sentinel that answers names it ("" when they
# disagree or none answers).
sw_sent_master() {
    local p seen=""
    for p in $SW_SENT_SPORTS; do
        local got
        got=$(sw_sent_cli "$p" SENTINEL get-master-addr-by-name "$SW_SENT_MASTER_SET" | sed -n 2p)
        [ -n "$got" ] || continue
        [ -z "$seen" ] || [ "$seen" = "$got" ] || { echo ""; return; }
        seen=$got
    done
    echo "$seen"
}

# True when some sentinel names PORT as the master (the failover's leader
# does before the others hear of it).
sw_sent_named() {
    local p
    for p in $SW_SENT_SPORTS; do
        [ "$(sw_sent_cli "$p" SENTINEL get-master-addr-by-name "$SW_SENT_MASTER_SET" | sed -n 2p)" = "$1" ] &&
            return 0
    done
    return 1
}

# sw_sent_set OPTION VALUE: SENTINEL SET on every sentinel.
sw_sent_set() {
    local p
    for p in $SW_SENT_SPORTS; do
        [ "$(sw_sent_cli "$p" SENTINEL SET "$SW_SENT_MASTER_SET" "$1" "$2")" = OK ] || return 1
    done
}

sw_sent_stop() {
    local dir=$1 f pid
    for f in "$dir"/sentinel*.pid "$dir"/redis-*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null
        sw__wait_gone "$pid"
        kill -9 "$pid" 2>/dev/null
        rm -f "$f"
    done
}
