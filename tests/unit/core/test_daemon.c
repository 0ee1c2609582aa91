/* The daemons' shared start-up (core/daemon.c). Start-up changes the whole
 * process (signal mask, SIGPIPE, the stop flag), so each case runs in a
 * child of its own and reports through its exit status and output. */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/daemon.h"
#include "core/err.h"

static const struct sw_daemon test_daemon = {"test", "usage: slipway-test\nTests.\n"};

struct child {
    int status; /* exit status, or 128 + the signal that ended it */
    char out[1024], err[1024];
};

static void slurp(FILE *f, char *buf, size_t n)
{
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
}

/* Runs fn in a child with stdout and stderr captured; a child stuck for
 * 10 s dies of SIGALRM. */
static void run(int (*fn)(void), struct child *c)
{
    FILE *o = tmpfile(), *e = tmpfile();
    assert_non_null(o);
    assert_non_null(e);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fileno(o), 1);
        dup2(fileno(e), 2);
        alarm(10);
        int rc = fn();
        fflush(NULL);
        _exit(rc);
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    c->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    slurp(o, c->out, sizeof c->out);
    slurp(e, c->err, sizeof c->err);
}

static int start_with(int argc, char **argv)
{
    int status = -1;
    if (sw_daemon_start(&test_daemon, argc, argv, &status) != -1)
        return 99;
    return status;
}

static int help(void)
{
    char *argv[] = {"slipway-test", "--help", NULL};
    return start_with(2, argv);
}

static int bad_argument(void)
{
    char *argv[] = {"slipway-test", "--bogus", NULL};
    return start_with(2, argv);
}

static int help_and_more(void)
{
    char *argv[] = {"slipway-test", "--help", "x", NULL};
    return start_with(3, argv);
}

static int bad_log_level(void)
{
    char *argv[] = {"slipway-test", NULL};
    setenv("SLIPWAY_LOG_LEVEL", "loud", 1);
    return start_with(1, argv);
}

static void test_arguments(void **state)
{
    (void)state;
    struct child c;
    run(help, &c);
    assert_int_equal(c.status, 0);
    assert_string_equal(c.out, test_daemon.usage);
    assert_string_equal(c.err, "");
    run(bad_argument, &c);
    assert_int_equal(c.status, 2);
    assert_string_equal(c.out, "");
    assert_string_equal(c.err, test_daemon.usage);
    run(help_and_more, &c);
    assert_int_equal(c.status, 2);
    assert_string_equal(c.err, test_daemon.usage);
    run(bad_log_level, &c);
    assert_int_equal(c.status, 2);
    assert_non_null(strstr(c.err, "slipway-test: SLIPWAY_LOG_LEVEL must be"));
}

/* Starts with logging at info; 0 or a line number. */
static int start(void)
{
    char *argv[] = {"slipway-test", NULL};
    int status = -1;
    setenv("SLIPWAY_LOG_LEVEL", "info", 1);
    if (sw_daemon_start(&test_daemon, 1, argv, &status) != 0)
        return __LINE__;
    return sw_daemon_stopping(NULL) ? __LINE__ : 0;
}

static void *mask_of_thread(void *arg)
{
    pthread_sigmask(SIG_BLOCK, NULL, arg);
    return NULL;
}

/* A thread started after the start blocks SIGINT and SIGTERM; SIGPIPE is
 * ignored; a SIGTERM ends sw_daemon_wait(), not the process. */
static int signals(void)
{
    int rc = start();
    if (rc)
        return rc;
    sigset_t mask;
    pthread_t t;
    if (pthread_create(&t, NULL, mask_of_thread, &mask) != 0 || pthread_join(t, NULL) != 0)
        return __LINE__;
    if (!sigismember(&mask, SIGTERM) || !sigismember(&mask, SIGINT))
        return __LINE__;
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN)
        return __LINE__;
    kill(getpid(), SIGPIPE);
    kill(getpid(), SIGTERM);
    if (sw_daemon_wait() != SIGTERM || !sw_daemon_stopping(NULL))
        return __LINE__;
    return 0;
}

static int sigint(void)
{
    int rc = start();
    if (rc)
        return rc;
    kill(getpid(), SIGINT);
    return sw_daemon_wait() == SIGINT ? 0 : __LINE__;
}

static void *stop_soon(void *arg)
{
    (void)arg;
    usleep(50 * 1000);
    sw_daemon_stop();
    return NULL;
}

/* sw_daemon_stop() from another thread wakes sw_daemon_wait(). */
static int stop_from_thread(void)
{
    int rc = start();
    if (rc)
        return rc;
    pthread_t t;
    if (pthread_create(&t, NULL, stop_soon, NULL) != 0)
        return __LINE__;
    int sig = sw_daemon_wait();
    pthread_join(t, NULL);
    return sig == 0 && sw_daemon_stopping(NULL) ? 0 : __LINE__;
}

/* sw_daemon_stop() before sw_daemon_wait(): no signal is waited for. */
static int stop_first(void)
{
    int rc = start();
    if (rc)
        return rc;
    sw_daemon_stop();
    if (!sw_daemon_stopping(NULL))
        return __LINE__;
    return sw_daemon_wait() == 0 ? 0 : __LINE__;
}

static void test_stop(void **state)
{
    (void)state;
    struct child c;
    run(signals, &c);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.err, "comp=test event=test.stopping signal=15"));
    run(sigint, &c);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.err, "event=test.stopping signal=2"));
    run(stop_from_thread, &c);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.err, "event=test.stopping signal=0"));
    run(stop_first, &c);
    assert_int_equal(c.status, 0);
    assert_non_null(strstr(c.err, "event=test.stopping signal=0"));
}

static void test_fail(void **state)
{
    (void)state;
    struct sw_err err = {0};
    SW_ERR(&err, SW_EINVALID, "SLIPWAY_X must be 1 to 2");
    assert_int_equal(sw_daemon_fail(&err), 2);
    SW_ERR(&err, SW_EINTERNAL, "could not start a thread");
    assert_int_equal(sw_daemon_fail(&err), 1);
    SW_ERR(&err, SW_EUNAVAILABLE, "could not connect");
    assert_int_equal(sw_daemon_fail(&err), 1);
}

static void set_streams_env(void)
{
    setenv("SLIPWAY_DATABASE_URL", "postgresql:///t", 1);
    setenv("SLIPWAY_REDIS_URL", "redis://127.0.0.1:1", 1);
    setenv("SLIPWAY_CLAIM_IDLE_MS", "250", 1);
    setenv("SLIPWAY_CONSUMER", "c1", 1);
}

static void assert_conf_refused(const char *key, const char *value)
{
    struct sw_daemon_conf c;
    struct sw_err err = {0};
    set_streams_env();
    setenv(key, value, 1);
    assert_int_equal(sw_daemon_conf_load(&c, &err), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_non_null(strstr(err.msg, key));
    assert_null(c.consumer);
    sw_daemon_conf_release(&c);
}

static void test_conf(void **state)
{
    (void)state;
    struct sw_daemon_conf c;
    struct sw_err err = {0};
    set_streams_env();
    assert_int_equal(sw_daemon_conf_load(&c, &err), 0);
    assert_string_equal(c.db_url, "postgresql:///t");
    assert_string_equal(c.redis_url, "redis://127.0.0.1:1");
    assert_int_equal(c.claim_idle_ms, 250);
    assert_string_equal(c.consumer, "c1");
    sw_daemon_conf_release(&c);
    assert_null(c.consumer);
    sw_daemon_conf_release(&c);

    unsetenv("SLIPWAY_CONSUMER");
    unsetenv("SLIPWAY_CLAIM_IDLE_MS");
    assert_int_equal(sw_daemon_conf_load(&c, &err), 0);
    assert_int_equal(c.claim_idle_ms, 60000);
    char pid[32];
    snprintf(pid, sizeof pid, "-%ld", (long)getpid());
    assert_non_null(strstr(c.consumer, pid));
    sw_daemon_conf_release(&c);

    setenv("SLIPWAY_DATABASE_URL", "", 1); /* empty: the default, as for every key */
    unsetenv("SLIPWAY_REDIS_URL");
    assert_int_equal(sw_daemon_conf_load(&c, &err), 0);
    assert_string_equal(c.db_url, "postgresql:///slipway");
    assert_string_equal(c.redis_url, "redis://127.0.0.1:6379");
    sw_daemon_conf_release(&c);

    assert_conf_refused("SLIPWAY_CLAIM_IDLE_MS", "99");
    assert_conf_refused("SLIPWAY_CLAIM_IDLE_MS", "86400001");
    assert_conf_refused("SLIPWAY_CLAIM_IDLE_MS", "soon");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_fail),
        cmocka_unit_test(test_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
