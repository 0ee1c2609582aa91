#include "config.h"

#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "provisioner/fence.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const agents[] = {
    [SW_FENCE_IPMI] = "ipmi",
    [SW_FENCE_SSH] = "ssh",
    [SW_FENCE_LIBVIRT] = "libvirt",
    [SW_FENCE_MANUAL] = "manual",
};
_Static_assert(N(agents) == SW_FENCE__COUNT, "one name per agent");

int sw_fence_agent_parse(const char *name)
{
    for (size_t i = 0; name && i < N(agents); i++)
        if (strcmp(agents[i], name) == 0)
            return (int)i;
    return -1;
}

const char *sw_fence_agent_name(int agent)
{
    return agent >= 0 && (size_t)agent < N(agents) ? agents[agent] : "?";
}

/* A config string: copied when present and printable, else the default. */
static int take(const json_t *cfg, const char *key, char *out, size_t size, const char *dflt,
                bool need, struct sw_err *err)
{
    const char *v = sw_json_str(cfg, key);
    if (!v && json_object_get(cfg, key) && !json_is_null(json_object_get(cfg, key)))
        goto bad;
    if (!v)
        v = dflt;
    if (!v || !*v) {
        if (!need)
            return out[0] = '\0', 0;
        SW_ERR(err, SW_EINVALID, "fence.config.%s is required for this agent", key);
        return -1;
    }
    if (strlen(v) >= size)
        goto bad;
    for (const char *c = v; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            goto bad;
    snprintf(out, size, "%s", v);
    return 0;
bad:
    SW_ERR(err, SW_EINVALID, "fence.config.%s must be a printable string under %zu bytes", key,
           size);
    return -1;
}

/* Options a host or user could smuggle into a command line start with "-". */
static int not_option(const char *v, const char *key, struct sw_err *err)
{
    if (v[0] != '-')
        return 0;
    SW_ERR(err, SW_EINVALID, "fence.config.%s may not start with '-'", key);
    return -1;
}

/* An integer config field within [min, max] into *out; absent or null
 * leaves *out. */
static int take_int(const json_t *cfg, const char *key, long min, long max, int *out,
                    struct sw_err *err)
{
    json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        SW_ERR(err, SW_EINVALID, "fence.config.%s must be an integer from %ld to %ld", key, min,
               max);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

static int parse_fields(const json_t *cfg, const char *engine_uri, struct sw_fence_target *t,
                        struct sw_err *err)
{
    bool remote = t->agent == SW_FENCE_IPMI || t->agent == SW_FENCE_SSH;
    const char *user_dflt = t->agent == SW_FENCE_SSH ? "root" : NULL;
    if (take(cfg, "host", t->host, sizeof t->host, NULL, remote, err) < 0 ||
        take(cfg, "user", t->user, sizeof t->user, user_dflt, t->agent == SW_FENCE_IPMI, err) < 0 ||
        take(cfg, "uri", t->uri, sizeof t->uri, engine_uri, t->agent == SW_FENCE_LIBVIRT, err) <
            0 ||
        take(cfg, "command", t->command, sizeof t->command, "poweroff", false, err) < 0 ||
        take(cfg, "known_host", t->known_host, sizeof t->known_host, NULL, t->agent == SW_FENCE_SSH,
             err) < 0)
        return -1;
    if (not_option(t->host, "host", err) < 0 || not_option(t->user, "user", err) < 0 ||
        not_option(t->uri, "uri", err) < 0)
        return -1;
    return take_int(cfg, "port", 1, 65535, &t->port, err) < 0 ||
                   take_int(cfg, "cipher", 0, 17, &t->cipher, err) < 0
               ? -1
               : 0;
}

static const char *const known_keys[] = {"host", "port",       "user",  "uri",
                                         "command", "known_host", "cipher"};

int sw_fence_parse(const char *agent, const char *config_json, const char *engine_uri,
                   struct sw_fence_target *t, struct sw_err *err)
{
    memset(t, 0, sizeof *t);
    t->cipher = -1;
    t->agent = sw_fence_agent_parse(agent);
    if (t->agent < 0) {
        SW_ERR(err, SW_EINVALID, "fence.agent must be one of ipmi, ssh, libvirt, manual");
        return -1;
    }
    const char *js = config_json && *config_json ? config_json : "{}";
    json_t *cfg = sw_json_parse_object(js, strlen(js), err);
    if (!cfg)
        return -1;
    const char *key;
    json_t *v;
    json_object_foreach(cfg, key, v) {
        bool known = false;
        for (size_t i = 0; i < N(known_keys); i++)
            known = known || strcmp(key, known_keys[i]) == 0;
        if (!known) {
            SW_ERR(err, SW_EINVALID, "fence.config has an unknown field");
            sw_err_detail(err, "field %s", key);
            json_decref(cfg);
            return -1;
        }
    }
    int rc = parse_fields(cfg, engine_uri, t, err);
    json_decref(cfg);
    return rc;
}

/* The libvirt agent: every running sw-* domain destroyed, then none left
 * running. A libvirt that does not answer is a failed fence, never an
 * empty list. The URI is a positional argument, never part of the script. */
static const char libvirt_script[] =
    "list=$(virsh -q -c \"$1\" list --name) || exit 1;"
    " for d in $list; do case $d in sw-*)"
    "   virsh -q -c \"$1\" destroy \"$d\" >/dev/null 2>&1 && continue;"
    "   st=$(virsh -q -c \"$1\" domstate \"$d\" 2>/dev/null) || exit 1;"
    "   [ \"$st\" != running ] || exit 1;; esac; done;"
    " left=$(virsh -q -c \"$1\" list --name) || exit 1;"
    " for d in $left; do case $d in sw-*) exit 1;; esac; done; exit 0";

int sw_fence_argv(const struct sw_fence_target *t, const char *keyfile, const char *hostsfile,
                  char *bufs, size_t bufsize, const char **argv, size_t max)
{
    size_t each = bufsize / 3;
    char *b0 = bufs, *b1 = bufs + each, *b2 = bufs + 2 * each;
    if (each < 64)
        return -1;
    const char *v[32] = {0};
    size_t n = 0;
    switch (t->agent) {
    case SW_FENCE_IPMI: {
        snprintf(b0, each, "%d", t->port ? t->port : 623);
        const char *a[] = {"ipmitool", "-I", "lanplus", "-H", t->host,
                           "-p",       b0,   "-U",      t->user, "-E"};
        memcpy(v, a, sizeof a), n = N(a);
        if (t->cipher >= 0) {
            snprintf(b1, each, "%d", t->cipher);
            v[n++] = "-C", v[n++] = b1;
        }
        v[n++] = "chassis", v[n++] = "power", v[n++] = "off";
        break;
    }
    case SW_FENCE_SSH: {
        snprintf(b0, each, "%d", t->port ? t->port : 22);
        snprintf(b1, each, "UserKnownHostsFile=%s", hostsfile ? hostsfile : "/dev/null");
        snprintf(b2, each, "%s@%s", t->user, t->host);
        /* clang-format off */
        const char *a[] = {"ssh", "-i", keyfile ? keyfile : "/dev/null", "-p", b0,
                           "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                           "-o", b1, "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
                           "--", b2, t->command};
        /* clang-format on */
        memcpy(v, a, sizeof a), n = N(a);
        break;
    }
    case SW_FENCE_LIBVIRT: {
        const char *a[] = {"/bin/sh", "-c", libvirt_script, "sw-fence", t->uri};
        memcpy(v, a, sizeof a), n = N(a);
        break;
    }
    default:
        return -1;
    }
    if (n + 1 > max)
        return -1;
    memcpy(argv, v, n * sizeof *argv);
    argv[n] = NULL;
    return (int)n;
}

long sw_fence_backoff_s(int attempts)
{
    long s = 2;
    for (int i = 1; i < attempts && s < 60; i++)
        s *= 2;
    return s > 60 ? 60 : s;
}

/* ---- running an agent ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid up to timeout_ms, then kills it. Its exit status, or -1
 * when it was killed for taking too long. */
static int wait_for(pid_t pid, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        if (r < 0 && errno != EINTR)
            return 127;
        if (now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Runs argv with the IPMI password in the environment when given; stdout
 * and stderr go to /dev/null (a tool's output may echo what it was sent). */
static int spawn(const char *const *argv, const char *ipmi_password, long timeout_ms)
{
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0), dup2(null, 1), dup2(null, 2);
        }
        setpgid(0, 0);
        if (ipmi_password)
            setenv("IPMI_PASSWORD", ipmi_password, 1);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return wait_for(pid, timeout_ms);
}

/* A private file holding text (0600), its name into path. */
static int write_private(const char *text, char *path, size_t size, struct sw_err *err)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, size, "%s/sw-fence-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        SW_ERR(err, SW_EINTERNAL, "could not make a temporary file for the fence agent");
        path[0] = '\0';
        return -1;
    }
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len &&
              (len == 0 || text[len - 1] == '\n' || write(fd, "\n", 1) == 1);
    close(fd);
    if (!ok) {
        SW_ERR(err, SW_EINTERNAL, "could not write a temporary file for the fence agent");
        unlink(path);
        path[0] = '\0';
        return -1;
    }
    return 0;
}

/* Overwrites a private file before removing it (it held a key). */
static void wipe_file(const char *path)
{
    if (!path[0])
        return;
    int fd = open(path, O_WRONLY);
    if (fd >= 0) {
        off_t len = lseek(fd, 0, SEEK_END);
        char zero[512] = {0};
        lseek(fd, 0, SEEK_SET);
        for (off_t done = 0; done < len; done += (off_t)sizeof zero)
            if (write(fd, zero, sizeof zero) < 0)
                break;
        fsync(fd);
        close(fd);
    }
    unlink(path);
}

static int run_ssh(const struct sw_fence_target *t, const char *secret, long timeout_ms,
                   int *status, struct sw_err *err)
{
    char key[256] = "", hosts[256] = "";
    if (!secret || !*secret) {
        SW_ERR(err, SW_EINVALID, "the ssh fence agent needs the node's fence secret (a key)");
        return -1;
    }
    if (write_private(secret, key, sizeof key, err) < 0 ||
        write_private(t->known_host, hosts, sizeof hosts, err) < 0) {
        wipe_file(key);
        return -1;
    }
    char bufs[3 * 4096];
    const char *argv[40];
    *status = sw_fence_argv(t, key, hosts, bufs, sizeof bufs, argv, N(argv)) < 0
                  ? 127
                  : spawn(argv, NULL, timeout_ms);
    wipe_file(key);
    unlink(hosts);
    return 0;
}

/* ipmitool power off, then power status must answer "off". */
static int run_ipmi(const struct sw_fence_target *t, const char *secret, long timeout_ms,
                    int *status)
{
    char bufs[3 * 4096];
    const char *argv[40];
    if (sw_fence_argv(t, NULL, NULL, bufs, sizeof bufs, argv, N(argv)) < 0)
        return *status = 127, 0;
    *status = spawn(argv, secret ? secret : "", timeout_ms);
    if (*status != 0)
        return 0;
    /* the same command line, "status" for "off", output looked at */
    int last = 0;
    while (argv[last])
        last++;
    argv[last - 1] = "status";
    char path[256];
    struct sw_err e;
    sw_err_clear(&e);
    if (write_private("", path, sizeof path, &e) < 0)
        return *status = 127, 0;
    const char *sh[] = {"/bin/sh", "-c", "out=$1; shift; \"$@\" >\"$out\" 2>/dev/null",
                        "sw-ipmi", path, NULL};
    const char *full[48];
    size_t k = 0;
    for (; sh[k]; k++)
        full[k] = sh[k];
    for (int i = 0; argv[i] && k + 1 < N(full); i++)
        full[k++] = argv[i];
    full[k] = NULL;
    *status = spawn(full, secret ? secret : "", timeout_ms);
    char got[128] = "";
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(got, sizeof got, f))
            got[0] = '\0';
        fclose(f);
    }
    unlink(path);
    if (*status == 0 && !strstr(got, "is off"))
        *status = 126; /* answered, but not off */
    return 0;
}

int sw_fence_run(const struct sw_fence_target *t, const char *secret, long timeout_ms, char *why,
                 size_t why_size, struct sw_err *err)
{
    int status = 0;
    switch (t->agent) {
    case SW_FENCE_MANUAL:
        snprintf(why, why_size, "waiting for an operator's fence confirmation");
        return 0;
    case SW_FENCE_SSH:
        if (run_ssh(t, secret, timeout_ms, &status, err) < 0)
            return -1;
        break;
    case SW_FENCE_IPMI:
        run_ipmi(t, secret, timeout_ms, &status);
        break;
    case SW_FENCE_LIBVIRT: {
        char bufs[3 * 4096];
        const char *argv[16];
        status = sw_fence_argv(t, NULL, NULL, bufs, sizeof bufs, argv, N(argv)) < 0
                     ? 127
                     : spawn(argv, NULL, timeout_ms);
        break;
    }
    default:
        SW_ERR(err, SW_EINVALID, "unknown fence agent");
        return -1;
    }
    if (status == 0) {
        snprintf(why, why_size, "confirmed by the %s agent", sw_fence_agent_name(t->agent));
        return 1;
    }
    if (status < 0)
        snprintf(why, why_size, "the %s agent did not finish within %ld ms",
                 sw_fence_agent_name(t->agent), timeout_ms);
    else if (status == 126)
        snprintf(why, why_size, "the %s agent ran, but the host does not report power off",
                 sw_fence_agent_name(t->agent));
    else
        snprintf(why, why_size, "the %s agent failed (exit status %d)",
                 sw_fence_agent_name(t->agent), status);
    return 0;
}
