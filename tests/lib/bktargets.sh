# shellcheck shell=bash
# tests/lib/bktargets.sh - the backup targets' test servers, started in the
# test's directory on loopback ports and stopped with it (sourced after
# tests/lib/harness.sh, whose teardown kills them):
#
#   . tests/lib/bktargets.sh
#   sw_bk_s3rver DIR   # s3rver (npm) with bucket "bk"; sets SW_BK_S3_CONF
#   sw_bk_sshd DIR     # sshd with a generated key; sets SW_BK_SFTP_CONF
#
# Each returns 1 with SW_BK_WHY when it cannot (the caller skips). The
# *_CONF are target configurations (backup/README.md "Targets") as JSON.
# s3rver is installed once, pinned (SW_S3RVER_VERSION), into
# $SW_NPM_CACHE (default $SW_BUILDDIR/tests/npm), the way tests/images
# caches its packages under the build folder; it needs node and npm and
# the npm registry the first time.
SW_BK_S3_CONF= SW_BK_SFTP_CONF= SW_BK_WHY=
SW_S3RVER_VERSION=${SW_S3RVER_VERSION:-3.7.1}

# A free loopback TCP port (the kernel's pick, released at once).
sw_bk_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# sw_bk_wait_port PORT: waits up to 30 s for something to listen there.
sw_bk_wait_port() {
    local i
    for i in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

sw_bk_s3rver_install() {
    local cache=${SW_NPM_CACHE:-$SW_BUILDDIR/tests/npm}/s3rver-$SW_S3RVER_VERSION
    SW_BK_S3RVER=$cache/node_modules/s3rver/bin/s3rver.js
    [ -f "$SW_BK_S3RVER" ] && return 0
    command -v npm >/dev/null || { SW_BK_WHY="npm is not installed"; return 1; }
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-audit --no-fund --omit=dev --loglevel=error \
        "s3rver@$SW_S3RVER_VERSION" >"$cache/install.log" 2>&1 &&
        [ -f "$SW_BK_S3RVER" ] || { SW_BK_WHY="s3rver cannot be installed: $(tail -1 "$cache/install.log")"; return 1; }
}

sw_bk_s3rver() {
    local d=$1/s3 port
    command -v node >/dev/null || { SW_BK_WHY="node is not installed"; return 1; }
    sw_bk_s3rver_install || return 1
    mkdir -p "$d"
    port=$(sw_bk_port)
    sw_t_daemon s3rver node "$SW_BK_S3RVER" --directory "$d" --address 127.0.0.1 \
        --port "$port" --configure-bucket bk --silent
    sw_bk_wait_port "$port" || { SW_BK_WHY="s3rver did not listen"; return 1; }
    SW_BK_S3_CONF=$(jq -cn --arg e "http://127.0.0.1:$port" \
        '{kind:"s3", endpoint:$e, bucket:"bk", region:"us-east-1",
          access_key:"S3RVER", secret_key:"S3RVER", prefix:"repo"}')
}

# An sshd of the test's own: its host key, config, authorized key and
# known_hosts in DIR/ssh; the user is the one running the test.
sw_bk_sshd() {
    local d=$1/ssh port sshd=/usr/sbin/sshd
    [ -x $sshd ] || { SW_BK_WHY="sshd is not installed (openssh-server)"; return 1; }
    mkdir -p "$d/repo" && chmod 700 "$d"
    ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" &&
        ssh-keygen -q -t ed25519 -N '' -f "$d/client_key" || { SW_BK_WHY="ssh-keygen failed"; return 1; }
    cp "$d/client_key.pub" "$d/authorized_keys"
    port=$(sw_bk_port)
    echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
    cat >"$d/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers $(id -un)
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
CONF
    # sshd wants its privilege separation folder, even for one connection.
    [ -d /run/sshd ] || mkdir -p -m 755 /run/sshd
    sw_t_daemon sshd $sshd -D -e -f "$d/sshd_config"
    sw_bk_wait_port "$port" || { SW_BK_WHY="sshd did not listen"; return 1; }
    SW_BK_SFTP_CONF=$(jq -cn --arg u "sftp://127.0.0.1:$port$d/repo" --arg user "$(id -un)" \
        --arg k "$d/client_key" --arg p "$d/client_key.pub" --arg kh "$d/known_hosts" \
        '{kind:"sftp", url:$u, user:$user, private_key_file:$k, public_key_file:$p, known_hosts:$kh}')
}
