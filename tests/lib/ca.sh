# shellcheck shell=bash
# ca.sh - a private certificate authority for tests, made with openssl(1)
# in a directory the test owns (its temporary one). Sourced by tests.
#
#   sw_ca_new DIR CA                 a CA: DIR/CA.crt, DIR/CA.key
#   sw_ca_issue DIR CA NAME NAMES... a certificate for the host names and
#                                    IP addresses NAMES (subjectAltName;
#                                    the first is also the CN), for servers
#                                    and clients: DIR/NAME.crt, DIR/NAME.key
#                                    (SW_CA_EXPIRED=1: valid only in 2020)
#   sw_ca_selfsigned DIR NAME NAMES... the same, signed by its own key
#
# Keys are EC P-256, unencrypted, mode 0600; certificates use SHA-256.

# sw__ca_san NAMES...: the subjectAltName value for host names and addresses.
sw__ca_san() {
    local n out=
    for n in "$@"; do
        if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then out+="${out:+,}IP:$n"; else out+="${out:+,}DNS:$n"; fi
    done
    echo "$out"
}

sw__ca_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null &&
        chmod 600 "$1"
}

sw_ca_new() {
    local dir=$1 ca=$2
    mkdir -p "$dir/$ca.db/new"
    : >"$dir/$ca.db/index.txt"
    echo 1000 >"$dir/$ca.db/serial"
    cat >"$dir/$ca.db/ca.cnf" <<EOF
[ca]
default_ca = sw
[sw]
database = $dir/$ca.db/index.txt
new_certs_dir = $dir/$ca.db/new
serial = $dir/$ca.db/serial
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[any]
commonName = supplied
EOF
    sw__ca_key "$dir/$ca.key" &&
        openssl req -x509 -new -key "$dir/$ca.key" -subj "/CN=slipway test CA $ca" -days 30 \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
            -out "$dir/$ca.crt" 2>/dev/null
}

# sw__ca_ext NAMES...: the extensions of a leaf certificate, as a file's text.
sw__ca_ext() {
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$(sw__ca_san "$@")"
}

sw_ca_issue() {
    local dir=$1 ca=$2 name=$3
    shift 3
    local dates=(-days 30)
    [ "${SW_CA_EXPIRED:-0}" = 1 ] && dates=(-startdate 20200101000000Z -enddate 20200201000000Z)
    sw__ca_ext "$@" >"$dir/$name.ext"
    sw__ca_key "$dir/$name.key" &&
        openssl req -new -key "$dir/$name.key" -subj "/CN=$1" -out "$dir/$name.csr" 2>/dev/null &&
        openssl ca -batch -notext -config "$dir/$ca.db/ca.cnf" -cert "$dir/$ca.crt" \
            -keyfile "$dir/$ca.key" "${dates[@]}" -extfile "$dir/$name.ext" \
            -in "$dir/$name.csr" -out "$dir/$name.crt" 2>/dev/null
}

sw_ca_selfsigned() {
    local dir=$1 name=$2
    shift 2
    sw__ca_ext "$@" >"$dir/$name.ext"
    sw__ca_key "$dir/$name.key" &&
        openssl req -x509 -new -key "$dir/$name.key" -subj "/CN=$1" -days 30 \
            -extensions v3 -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n'; cat "$dir/$name.ext") \
            -out "$dir/$name.crt" 2>/dev/null
}
