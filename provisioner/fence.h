/* fence.h - fence agents: how the control plane makes sure a suspect node
 * runs nothing before its servers are restarted elsewhere (README.md "High
 * availability"). An agent is an external program run with a time limit
 * (ipmitool, ssh, virsh); the provisioner links only core, so nothing here
 * speaks IPMI, SSH or libvirt itself. Parsing a node's settings and building
 * the command line are pure (tests/unit/provisioner/test_fence.c).
 */
#ifndef SW_FENCE_H
#define SW_FENCE_H

#include <stdbool.h>
#include <stddef.h>

struct sw_err;

enum sw_fence_agent {
    SW_FENCE_IPMI = 0, /* ipmitool chassis power off, then power status must say off */
    SW_FENCE_SSH,      /* ssh with a key to the host; its command must exit 0 once off */
    SW_FENCE_LIBVIRT,  /* virsh: destroy every sw-* domain on the node's libvirt */
    SW_FENCE_MANUAL,   /* nothing runs: an operator confirms (fence-confirm) */
    SW_FENCE__COUNT
};

/* A node's fence settings: nodes.fence_agent and fence_config (no
 * secret). The secret (IPMI password, ssh private key) is passed apart. */
struct sw_fence_target {
    int agent; /* enum sw_fence_agent */
    char host[256];
    int port;              /* 0: the tool's default */
    int cipher;            /* ipmi: the RMCP+ cipher suite (ipmitool -C); -1: ipmitool's pick */
    char user[64];         /* ipmi, ssh */
    char uri[512];         /* libvirt: the URI to fence through (default: the engine's) */
    char command[256];     /* ssh: what to run (default "poweroff") */
    char known_host[1024]; /* ssh: the host's key line ("[host]:port type key"), required */
};

/* "ipmi" -> SW_FENCE_IPMI ...; -1 for anything else. */
int sw_fence_agent_parse(const char *name);
const char *sw_fence_agent_name(int agent);

/* Fills t from the agent's name, its config (a JSON object) and the
 * node's engine URI (the libvirt agent's default). -1 with err
 * (SW_EINVALID, message naming the field) when a field the agent needs is
 * missing or malformed. */
int sw_fence_parse(const char *agent, const char *config_json, const char *engine_uri,
                   struct sw_fence_target *t, struct sw_err *err);

/* The agent's command line into argv (at most max entries, NULL-ended),
 * pointing into t, into bufs (the caller's, at least 3 x 4096 bytes) and
 * to static strings. keyfile and hostsfile name the temporary files
 * holding the ssh key and known_hosts line (ssh only). Returns the number
 * of arguments, or -1 when they do not fit. The IPMI password goes through
 * the environment (IPMI_PASSWORD, ipmitool -E), never argv. */
int sw_fence_argv(const struct sw_fence_target *t, const char *keyfile, const char *hostsfile,
                  char *bufs, size_t bufsize, const char **argv, size_t max);

/* Seconds before a failed fence is tried again: 2 doubling per attempt,
 * capped at 60. */
long sw_fence_backoff_s(int attempts);

/* Runs the agent against t with secret (NUL-ended, may be NULL), within
 * timeout_ms. 1: the fence is confirmed; 0: it failed (why says how, safe
 * to log: no secret); for SW_FENCE_MANUAL, 0 always (nothing to run). -1
 * with err when it could not be run at all (no temporary file). The
 * secret's copies made here are wiped. */
int sw_fence_run(const struct sw_fence_target *t, const char *secret, long timeout_ms, char *why,
                 size_t why_size, struct sw_err *err);

#endif
