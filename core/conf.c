#include "config.h"
#include "core/conf.h"
#include "core/alloc.h"
#include "core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const struct sw_conf_key conf_keys[] = {
    {"SLIPWAY_DATABASE_URL", "postgresql:///slipway", "all",
     "libpq connection string or URI of the PostgreSQL database, passed to libpq as it is; over "
     "TLS: ?sslmode=verify-full&sslrootcert=CA.pem (host name and certificate verified)"},
    {"SLIPWAY_REDIS_URL", "redis://127.0.0.1:6379", "all",
     "Redis address: redis://[USER:PASSWORD@]HOST:PORT[/DB], unix://[USER:PASSWORD@]/PATH[?db=N], "
     "redis-sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB] (sentinels naming "
     "the master), or over TLS rediss://...?cacert=CA.pem[&cert=CRT.pem&key=KEY.pem]"
     "[&servername=NAME] (certificate and name always verified; the system store without "
     "cacert; servername: the name checked and sent as SNI; cert and key: a client "
     "certificate); core/redisurl.h"},
    {"SLIPWAY_LISTEN", "127.0.0.1:8080", "panel",
     "address the API listens on, HOST:PORT; port 0 picks a free one"},
    {"SLIPWAY_ADDR_FILE", NULL, "panel",
     "if set, the panel writes the address it bound (http://HOST:PORT) to this file"},
    {"SLIPWAY_SECRET_KEY", NULL, "panel, slipwayctl",
     "64 hex digits (32 bytes): key for token hashes; required"},
    {"SLIPWAY_LOG_LEVEL", "info", "all", "debug, info, warn, error or off"},
    {"SLIPWAY_THREADS", "0", "panel", "HTTP worker threads; 0 means two per core"},
    {"SLIPWAY_DB_POOL", "0", "panel", "PostgreSQL connections of the panel; 0 means threads + 2"},
    {"SLIPWAY_SESSION_TTL", "86400", "panel", "lifetime of a login token, seconds"},
    {"SLIPWAY_PWHASH_OPSLIMIT", "3", "panel", "argon2id passes per password hash"},
    {"SLIPWAY_PWHASH_MEMLIMIT_MB", "128", "panel",
     "argon2id memory per password hash, MiB (3 x 128 MiB: about 0.2 s here)"},
    {"SLIPWAY_LOGIN_FAILURES_PER_ACCOUNT", "10", "panel",
     "failed logins per account per 15 minutes before 429"},
    {"SLIPWAY_LOGIN_FAILURES_PER_ADDRESS", "50", "panel",
     "failed logins per client address per 15 minutes before 429"},
    {"SLIPWAY_ORDER_RATE", "60", "panel", "orders per account per minute before 429; 0: no limit"},
    {"SLIPWAY_SMTP_URL", NULL, "panel",
     "SMTP relay for password reset mail (smtp://HOST:PORT or smtps://; user:password@ if it"
     " needs them); unset: no password reset"},
    {"SLIPWAY_SMTP_FROM", NULL, "panel", "sender address of password reset mail"},
    {"SLIPWAY_PUBLIC_URL", NULL, "panel",
     "the panel's public base URL; a reset link is <it>/reset-password?token=..."},
    {"SLIPWAY_PASSWORD_RESET_TTL", "1800", "panel", "seconds a password reset link works"},
    {"SLIPWAY_2FA_ROLES", NULL, "panel",
     "roles whose accounts must turn on two-factor login before anything else: a comma-separated"
     " list of operator, reseller, customer; empty: none"},
    {"SLIPWAY_CONSOLE_IDLE_S", "600", "panel",
     "seconds a console WebSocket may pass with no byte either way before it is closed"},
    {"SLIPWAY_HTTP_TIMEOUT", "30", "panel",
     "seconds a client connection may stay idle (a slow or silent client) before it is closed"},
    {"SLIPWAY_HTTP_MAX_CONNECTIONS", "4096", "panel",
     "client connections the panel holds at once; more are refused"},
    {"SLIPWAY_HTTP_MAX_PER_IP", "512", "panel",
     "client connections from one address at once; more are refused; 0: no limit"},
    {"SLIPWAY_BACKUP_MASTER_KEY", NULL, "panel, provisioner",
     "base64 of 32 bytes: wraps the accounts' backup keys, the backup targets' secrets and the "
     "nodes' fence secrets at rest (core/bkkey.h); never logged"},
    {"SLIPWAY_BACKUP_MASTER_KEY_FILE", NULL, "panel, provisioner",
     "a file holding SLIPWAY_BACKUP_MASTER_KEY (scripts/up makes var/backup-master.key)"},
    {"SLIPWAY_BACKUP_SCHEDULER_INTERVAL", "60", "provisioner",
     "seconds between the backup scheduler's passes over due policies; 0: no scheduler"},
    {"SLIPWAY_NODE_ID", NULL, "engine", "id of the node this engine serves; required"},
    {"SLIPWAY_NODE_SECRET_KEY", NULL, "engine",
     "the node's X25519 secret key, base64, from its enrolment or rekey; opens the secrets "
     "sealed in its jobs (without it, such jobs fail)"},
    {"SLIPWAY_PANEL_URL", NULL, "engine",
     "the panel's URL as the node reaches it, from its enrolment; the node fetches its servers' "
     "images there (unset: images must already be in its pools)"},
    {"SLIPWAY_NODE_TOKEN", NULL, "engine",
     "the node's image token, from its enrolment or rekey: its credential for the panel's "
     "GET /v1/node/images/{sha256}"},
    {"SLIPWAY_PANEL_CACERT", NULL, "engine",
     "a CA file for the panel's certificate when SLIPWAY_PANEL_URL is https (default: the system's)"},
    {"SLIPWAY_USAGE_INTERVAL", "60", "engine", "seconds between usage samples"},
    {"SLIPWAY_BACKUP_SOCK_DIR", NULL, "engine",
     "a folder the engine and the node's QEMU both reach, for a running guest's backup export "
     "(NBD socket); unset: <state dir>/backup"},
    {"SLIPWAY_HEARTBEAT_INTERVAL", "5", "engine", "seconds between node heartbeats"},
    {"SLIPWAY_RECONCILE_INTERVAL", "300", "engine",
     "seconds between reconciliations of domains with servers (one at start)"},
    {"SLIPWAY_BALLOON_INTERVAL", "10", "engine",
     "seconds between ballooning ticks (stats sampled twice a tick)"},
    {"SLIPWAY_BALLOON_SOURCE", "libvirt", "engine",
     "ballooning stats: libvirt, or sim:PATH (a balloon-sim scenario)"},
    {"SLIPWAY_DOMAINS_FILE", NULL, "engine",
     "if set, the engine writes its node's domains (name, UUID, state) to this file at every "
     "heartbeat"},
    {"SLIPWAY_TEMPLATES_DIR", SW_DATADIR "/templates", "engine",
     "folder of domain XML templates"},
    {"SLIPWAY_NETWORK", "default", "engine",
     "what guest NICs attach to: a libvirt network NAME, or bridge:NAME (a host bridge)"},
    {"SLIPWAY_DOMAIN_TYPE", NULL, "engine",
     "the <domain type> of a QEMU node's guests, kvm or qemu (TCG); unset: kvm where a probe "
     "guest starts, else qemu"},
    {"SLIPWAY_MIGRATIONS_DIR", SW_DATADIR "/migrations", "slipwayctl",
     "folder of NNNN_name.sql migrations"},
    {"SLIPWAY_CONSUMER", NULL, "provisioner, engine, billing",
     "consumer name in Redis groups; default HOSTNAME-PID"},
    {"SLIPWAY_CLAIM_IDLE_MS", "60000", "provisioner, engine, billing",
     "stream entries pending longer than this are reclaimed from dead consumers"},
    {"SLIPWAY_JOB_SILENT_S", "60", "provisioner",
     "a running job with no answer this long is dispatched again; dead after 5 deliveries"},
    {"SLIPWAY_ACL_INTERVAL", "10", "provisioner",
     "seconds between re-applying every node's Redis ACL user from PostgreSQL"},
    {"SLIPWAY_HA_SUSPECT_S", "15", "provisioner",
     "a node whose last heartbeat is older than this is suspect, then fenced (high availability)"},
    {"SLIPWAY_HA_CHECK_MS", "1000", "provisioner", "milliseconds between node health passes"},
    {"SLIPWAY_HA_FENCE_TIMEOUT_S", "30", "provisioner",
     "seconds a fence agent may run before it counts as failed"},
    {"SLIPWAY_NODE_REDIS_URL", NULL, "panel",
     "the Redis address engines reach, without credentials, for enrolment answers (default: SLIPWAY_REDIS_URL without its user)"},
    {"SLIPWAY_BILLING_INTERVAL", "60", "billing",
     "seconds between draft invoice refreshes, month-end finalization and dunning runs"},
    {"SLIPWAY_INVOICE_DUE_DAYS", "14", "billing, slipwayctl",
     "days from an invoice's finalization to its due date"},
    {"SLIPWAY_DUNNING_GRACE_DAYS", "7", "billing, slipwayctl",
     "days past the due date before an unpaid invoice suspends the account's servers"},
    {"SLIPWAY_HOOKS_ALLOW_PRIVATE", "0", "panel, billing",
     "1: webhooks may go to loopback, private and link-local addresses (scripts/up sets it)"},
    {"SLIPWAY_IMAGES_DIR", "/var/lib/slipway/images", "panel",
     "where the image library keeps its files, one per image named by its sha256 (scripts/up: ./var/images)"},
    {"SLIPWAY_IMAGE_MAX_BYTES", "21474836480", "panel",
     "largest image or ISO the library takes, uploaded or fetched, in bytes"},
    {"SLIPWAY_IMAGE_FETCH_TIMEOUT", "3600", "panel",
     "seconds a fetch of an image by URL may take before it fails"},
    {"SLIPWAY_PTR_RESOLVER", NULL, "panel",
     "IPv4:PORT of the DNS server that forward confirmation of PTRs asks (pools with "
     "forward_confirm); unset: the system's resolver"},
    {"SLIPWAY_IMAGES_ALLOW_PRIVATE", "0", "panel",
     "1: images may be fetched from loopback, private and link-local addresses"},
    {"SLIPWAY_NODE_PANEL_URL", NULL, "panel",
     "the panel's URL as nodes reach it, given to each node at enrolment as SLIPWAY_PANEL_URL (default: http://SLIPWAY_LISTEN)"},
    {"SLIPWAY_HOOKS_RETRY_SCHEDULE", "0,5,300,1800,7200,18000,36000,50400,72000,86400", "billing",
     "webhook attempts: seconds to wait before each, comma-separated (the first counts from the event); after the last, failed"},
    {"SLIPWAY_HOOKS_CONCURRENCY", "16", "billing", "webhook requests one billing daemon sends at once"},
    {"SLIPWAY_HOOKS_TIMEOUT", "15", "billing",
     "seconds a webhook request may take in all; a claimed delivery is leased for this plus 5"},
    {"SLIPWAY_BACKUP_GC_INTERVAL", "60", "provisioner",
     "seconds between passes of backup garbage collection over the accounts due for it; 0: none"},
    {"SLIPWAY_MIGRATE_DOWNTIME_MS", "300", "engine",
     "a live migration's switch-over limit in ms (the guest's pause); 0: the hypervisor's"},
    {"SLIPWAY_MIGRATE_UNSAFE", "0", "engine",
     "1: pools marked shared sit on a filesystem libvirt cannot tell is shared (tests' local "
     "folder standing in for NFS); never on a real node"},
    {"SLIPWAY_EVACUATE_INTERVAL_MS", "250", "provisioner",
     "milliseconds between the evacuate thread's passes over running node evacuations; 0: none"},
    {NULL, NULL, NULL, NULL},
};

const struct sw_conf_key *sw_conf_table(void)
{
    return conf_keys;
}

static const struct sw_conf_key *find_key(const char *name)
{
    for (const struct sw_conf_key *k = conf_keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

const char *sw_conf_get(const char *name)
{
    const struct sw_conf_key *k = find_key(name);
    if (!k)
        abort(); /* a key missing from the table is a bug */
    const char *v = getenv(name);
    if (v && *v)
        return v;
    return k->def;
}

const char *sw_conf_require(const char *name, struct sw_err *err)
{
    const char *v = sw_conf_get(name);
    if (!v || !*v) {
        SW_ERR(err, SW_EINVALID, "%s is not set", name);
        return NULL;
    }
    return v;
}

int sw_conf_long(const char *name, long min, long max, long *out, struct sw_err *err)
{
    const char *v = sw_conf_require(name, err);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < min || n > max) {
        SW_ERR(err, SW_EINVALID, "%s must be an integer from %ld to %ld, not \"%s\"", name, min,
               max, v);
        return -1;
    }
    *out = n;
    return 0;
}

int sw_conf_bool(const char *name, bool *out, struct sw_err *err)
{
    static const struct {
        const char *text;
        bool value;
    } words[] = {{"1", true},   {"true", true},   {"yes", true}, {"on", true},
                 {"0", false},  {"false", false}, {"no", false}, {"off", false}};
    const char *v = sw_conf_require(name, err);
    if (!v)
        return -1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcasecmp(v, words[i].text) == 0) {
            *out = words[i].value;
            return 0;
        }
    }
    SW_ERR(err, SW_EINVALID, "%s must be 1 or 0 (true/false, yes/no, on/off), not \"%s\"", name,
           v);
    return -1;
}

char *sw_conf_consumer_name(void)
{
    const char *v = sw_conf_get("SLIPWAY_CONSUMER");
    if (v)
        return sw_strdup(v);
    char host[256];
    if (gethostname(host, sizeof host) < 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    return sw_asprintf("%s-%ld", host, (long)getpid());
}

void sw_conf_print_markdown(FILE *f)
{
    fprintf(f, "| variable | default | used by | meaning |\n|---|---|---|---|\n");
    for (const struct sw_conf_key *k = conf_keys; k->name; k++)
        fprintf(f, "| `%s` | %s%s%s | %s | %s |\n", k->name, k->def ? "`" : "",
                k->def ? k->def : "(none)", k->def ? "`" : "", k->used_by, k->help);
}
