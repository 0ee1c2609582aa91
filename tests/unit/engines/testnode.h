/* testnode.h - a simulated node on libvirt's in-process test driver, for
 * the engine's unit tests: a node file in a fresh temporary directory,
 * opened as test:///<dir>/node.xml, and a struct sw_engine over it. */
#ifndef SW_TESTS_ENGINES_TESTNODE_H
#define SW_TESTS_ENGINES_TESTNODE_H

#include "engines/driver.h"

#define SW_TEST_NODE_ID "00000000-0000-4000-8000-00000000000a"

struct sw_testnode {
    char dir[64];
    char path[128];
    char uri[160];
    virConnectPtr conn;
    struct sw_engine eng;
};

/* 0, or -1 (reported on stderr). */
int sw_testnode_open(struct sw_testnode *t);
void sw_testnode_close(struct sw_testnode *t);

/* cmocka fixtures: *state is a struct sw_testnode opened (and freed). */
int sw_testnode_setup(void **state);
int sw_testnode_teardown(void **state);
#define SW_TESTNODE_TEST(f)                                                                        \
    cmocka_unit_test_setup_teardown(f, sw_testnode_setup, sw_testnode_teardown)

/* A node job for server_id with plausible sizes (and a password hash for
 * reset_password). */
void sw_testnode_job(struct sw_msg_node_job *job, int kind, int type, const char *server_id);

#endif
