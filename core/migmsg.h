/* migmsg.h - the migrate part of node jobs and results (issue 15,
 * provisioner/README.md "Migration"): what a migrate job tells the engine
 * of a node it goes to, and what that engine answers beyond ok.
 *
 * On the wire one member, "migrate", of every migrate node job (and of no
 * other job) and of a migrate job's result. A move runs as one dispatch
 * (live, or offline by libvirt: the SOURCE's engine moves the domain
 * peer to peer and answers "moved") or as two (a cold move the control
 * plane drives: phase "source" stops and undefines the domain, keeping its
 * volumes; phase "target" defines it on the target and starts it if it
 * ran). Nothing here is secret.
 */
#ifndef SW_MIGMSG_H
#define SW_MIGMSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/crypto.h"

struct sw_err;

#define SW_MIGMSG_URI_MAX 513

/* The phases of a move, as on the wire. */
#define SW_MIGMSG_SOURCE "source"
#define SW_MIGMSG_TARGET "target"

struct sw_msg_migrate {
    sw_uuid_t to_node_id; /* the target node */
    /* The target's libvirt URI as the source's libvirtd reaches it
     * (nodes.migrate_uri, else its engine_uri), and where the memory stream
     * goes ("" : the target's hypervisor picks). */
    char target_uri[SW_MIGMSG_URI_MAX];
    char migrate_uri[SW_MIGMSG_URI_MAX];
    bool live;   /* move a running server live (false: it must be stopped) */
    bool shared; /* every volume of the server lies in a pool both nodes share */
    char phase[8]; /* SW_MIGMSG_SOURCE or SW_MIGMSG_TARGET */
    /* phase target: the domain ran on the source, so it is started */
    bool was_running;
    /* The placement epoch the domain carries on the target (servers.epoch
     * + 1: the node change bumps it); on the wire "epoch", >= 1. */
    int64_t epoch;
    int64_t bandwidth_mib; /* the memory stream's limit in MiB/s; 0: none */
};

/* What the engine did (a migrate job's result, ok or not). */
struct sw_msg_migrate_result {
    bool has;          /* present on the wire */
    bool moved;        /* the domain lives on the target now: the move is complete */
    bool was_running;  /* phase source: the domain ran before it was stopped */
    int64_t downtime_ms; /* measured switch-over pause; -1: none or unknown */
    int64_t total_ms;    /* the move's elapsed time; -1: unknown */
};

/* Adds "migrate" to a node job object o of type (enum sw_job_type) when it
 * is a migrate job. */
void sw_migmsg_job_encode(json_t *o, int type, const struct sw_msg_migrate *m);
/* Reads "migrate" from o: required for migrate jobs, refused for others.
 * 0, or -1 with err (SW_EINVALID). */
int sw_migmsg_job_decode(const json_t *o, int type, struct sw_msg_migrate *m, struct sw_err *err);
/* Adds "migrate" to a result object when r->has. */
void sw_migmsg_result_encode(json_t *o, const struct sw_msg_migrate_result *r);
/* Reads the optional "migrate" of a result (r->has false without one). */
int sw_migmsg_result_decode(const json_t *o, struct sw_msg_migrate_result *r, struct sw_err *err);

#endif
