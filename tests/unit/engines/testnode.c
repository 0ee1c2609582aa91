#include "config.h"
#include "tests/unit/engines/testnode.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The node file format of the test driver (see DESIGN.md): 8 CPUs, 16 GiB. */
static const char node_xml[] =
    "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads>"
    "<active>8</active><mhz>2400</mhz><model>x86_64</model></cpu>"
    "<memory>16777216</memory></node>\n";

int sw_testnode_open(struct sw_testnode *t)
{
    memset(t, 0, sizeof *t);
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_virt_init(&err) < 0)
        return -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/sw-engine-test.XXXXXX");
    if (!mkdtemp(t->dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/node.xml", t->dir);
    FILE *f = fopen(t->path, "w");
    if (!f || fputs(node_xml, f) < 0 || fclose(f) != 0) {
        perror(t->path);
        return -1;
    }
    snprintf(t->uri, sizeof t->uri, "test://%s", t->path);
    t->conn = sw_virt_open(t->uri, &err);
    if (!t->conn) {
        fprintf(stderr, "%s: %s\n", err.msg, err.detail);
        return -1;
    }
    t->eng.conn = t->conn;
    t->eng.hv = sw_hypervisor_from_uri(t->uri, &err);
    t->eng.domain_type = sw_virt_domain_type(t->conn, t->eng.hv);
    t->eng.templates_dir = SW_TEST_SRCDIR "/templates";
    t->eng.node_id = SW_TEST_NODE_ID;
    t->eng.stop_timeout_ms = 2000;
    t->eng.state_dir = t->dir;
    return 0;
}

void sw_testnode_close(struct sw_testnode *t)
{
    if (t->conn)
        virConnectClose(t->conn);
    t->conn = NULL;
    if (t->path[0])
        unlink(t->path);
    if (t->dir[0])
        rmdir(t->dir);
}

void sw_testnode_job(struct sw_msg_node_job *job, int kind, int type, const char *server_id)
{
    memset(job, 0, sizeof *job);
    snprintf(job->job_id, sizeof job->job_id, "10000000-0000-4000-8000-%012d", type);
    snprintf(job->server_id, sizeof job->server_id, "%s", server_id);
    snprintf(job->node_id, sizeof job->node_id, "%s", SW_TEST_NODE_ID);
    job->type = type;
    job->kind = kind;
    job->vcpus = 2;
    job->ram_mb = 1024;
    job->max_ram_mb = 2048;
    job->swap_mb = 512;
    job->disk_gb = 20;
    snprintf(job->hostname, sizeof job->hostname, "web-1.example.com");
    snprintf(job->os, sizeof job->os, "debian-12");
    if (type == SW_JOB_RESET_PASSWORD)
        snprintf(job->password_hash, sizeof job->password_hash, "%s",
                 "$6$rounds=5000$saltsalt$0123456789abcdefABCDEF./0123456789");
}

int sw_testnode_setup(void **state)
{
    struct sw_testnode *t = sw_calloc(1, sizeof *t);
    if (sw_testnode_open(t) < 0) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

int sw_testnode_teardown(void **state)
{
    struct sw_testnode *t = *state;
    sw_testnode_close(t);
    free(t);
    return 0;
}
