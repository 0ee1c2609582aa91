# shellcheck shell=bash
# setup.sh - the part scripts/up and scripts/test share: install what is
# missing with apt-get, then build out of tree in ./build.

SW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SW_BUILD=${SW_BUILD:-$SW_ROOT/build}

# Debian 12 packages slipway needs to build, run and test.
SW_PACKAGES="gcc make autoconf automake libtool pkg-config libpq-dev libmicrohttpd-dev
 libjansson-dev libsodium-dev libhiredis-dev libvirt-dev libcmocka-dev libcurl4-openssl-dev
 libssl-dev openssl
 postgresql redis-server redis-sentinel libvirt-clients libxml2-utils curl jq wrk
 libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
 libvirt-daemon-config-nwfilter ebtables iptables
 python3 cppcheck clang-tidy clang libclang-rt-14-dev libxml2-dev libsystemd-dev
 libisofs-dev xorriso cpio dosfstools mtools syslinux syslinux-common isolinux kmod
 libarchive-dev e2fsprogs libvirt-daemon-driver-lxc
 libzstd-dev openssh-server
 libnbd-dev lvm2 openipmi ipmitool libwslay-dev python3-websockets
 pdns-server pdns-backend-sqlite3 bind9-dnsutils sqlite3
 php-cli php-curl
 liboath-dev libqrencode-dev oathtool python3-aiosmtpd"

# What tests/packaging/deb.sh installs when missing, to build the Debian
# packages (dpkg-buildpackage, debhelper) and check their systemd units
# (systemd-analyze, from systemd; it needs no systemd running).
SW_PACKAGING_PACKAGES="dpkg-dev debhelper systemd"

# What tests/lint/openapi_tools.sh installs when missing, to run the
# OpenAPI linter and TypeScript (pinned in tests/openapi/package-lock.json,
# from the npm registry); Debian 12's node 18 runs them.
SW_NODE_PACKAGES="nodejs npm"

# What bench/scheduler.sh compares slipway with, installed by it when
# missing (minutes; not needed to build, run or test): Ganeti's hspace, and
# OpenStack Placement behind uwsgi on PostgreSQL.
SW_BENCH_HSPACE_PACKAGES="ganeti-htools-3.0"
SW_BENCH_PLACEMENT_PACKAGES="python3-placement python3-psycopg2 uwsgi-core uwsgi-plugin-python3"

# sw_setup_install [PACKAGES]: installs those of PACKAGES (default
# SW_PACKAGES) that are missing.
sw_setup_install() {
    local missing=() p
    for p in ${1:-$SW_PACKAGES}; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    # Debian's postgresql and redis packages would start system services;
    # slipway runs its own private servers, so keep the packaged ones down.
    local rcd=/usr/sbin/policy-rc.d created=0
    if [ "$(id -u)" = 0 ] && [ ! -e "$rcd" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$rcd" && chmod +x "$rcd" && created=1
    fi
    "${sudo[@]}" apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    local rc=$?
    [ $created = 1 ] && rm -f "$rcd"
    [ $rc = 0 ] || { echo "setup: apt-get install failed" >&2; return 1; }
}

sw_setup_build() {
    local jobs
    jobs=$(nproc 2>/dev/null || echo 2)
    (
        cd "$SW_ROOT" || exit 1
        if [ ! -x configure ] || [ configure.ac -nt configure ]; then
            ./autogen.sh || exit 1
        fi
        mkdir -p "$SW_BUILD" && cd "$SW_BUILD" || exit 1
        if [ ! -f Makefile ]; then
            "$SW_ROOT/configure" -q ${SW_CONFIGURE_FLAGS:-} >configure.out 2>&1 ||
                { cat configure.out; exit 1; }
        fi
        make -s -j"$jobs" >make.out 2>&1 || { tail -40 make.out; exit 1; }
        make -s -j"$jobs" check TESTS= >>make.out 2>&1 || { tail -40 make.out; exit 1; }
    ) || { echo "setup: build failed" >&2; return 1; }
}
