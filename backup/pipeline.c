/* pipeline.c - chunks sealed on worker threads, stored in order (pipeline.h). */
#include "config.h"
#include "backup/pipeline.h"
#include "core/alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORKERS 8

enum { SLOT_FREE, SLOT_READY, SLOT_SEALED };

struct sw_bk_pipe {
    sw_bk_slot_fn seal, store;
    void *ctx;
    unsigned nworkers, nslots;
    struct sw_bk_slot *slots;
    pthread_t *threads; /* the workers, then the storer */
    bool started, stop, failed;
    pthread_mutex_t mu;
    pthread_cond_t cv_ready;  /* a slot to seal, or stop */
    pthread_cond_t cv_sealed; /* the storer's next slot sealed, or stop */
    pthread_cond_t cv_free;   /* a slot stored */
    /* Sequence numbers: chunk k lives in slots[k % nslots]. */
    uint64_t next_seq;  /* the next chunk put */
    uint64_t claim_seq; /* the next chunk a worker takes */
    uint64_t store_seq; /* the next chunk stored */
    struct sw_err err;  /* the first failure */
};

unsigned sw_bk_pipe_default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

struct sw_bk_pipe *sw_bk_pipe_new(unsigned workers, sw_bk_slot_fn seal, sw_bk_slot_fn store,
                                  void *ctx)
{
    struct sw_bk_pipe *p = sw_calloc(1, sizeof *p);
    p->seal = seal;
    p->store = store;
    p->ctx = ctx;
    p->nworkers = workers > MAX_WORKERS ? MAX_WORKERS : workers;
    p->nslots = p->nworkers ? 2 * p->nworkers + 2 : 1;
    p->slots = sw_calloc(p->nslots, sizeof *p->slots);
    for (unsigned i = 0; i < p->nslots; i++)
        sw_bk_sealer_init(&p->slots[i].sealer);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_ready, NULL);
    pthread_cond_init(&p->cv_sealed, NULL);
    pthread_cond_init(&p->cv_free, NULL);
    sw_err_clear(&p->err);
    return p;
}

/* Records the first failure; called with mu held (or on the caller's
 * thread alone, with 0 workers). */
static void fail_locked(struct sw_bk_pipe *p, const struct sw_err *e)
{
    if (!p->failed) {
        p->failed = true;
        p->err = *e;
    }
}

static struct sw_bk_slot *slot_of(struct sw_bk_pipe *p, uint64_t seq)
{
    return &p->slots[seq % p->nslots];
}

static void *worker_main(void *arg)
{
    struct sw_bk_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->claim_seq == p->next_seq)
            pthread_cond_wait(&p->cv_ready, &p->mu);
        if (p->stop)
            break;
        struct sw_bk_slot *s = slot_of(p, p->claim_seq++);
        bool skip = p->failed;
        pthread_mutex_unlock(&p->mu);
        struct sw_err e;
        sw_err_clear(&e);
        int rc = skip ? 0 : p->seal(p->ctx, s, &e);
        pthread_mutex_lock(&p->mu);
        if (rc < 0)
            fail_locked(p, &e);
        s->state = SLOT_SEALED;
        pthread_cond_signal(&p->cv_sealed);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *storer_main(void *arg)
{
    struct sw_bk_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && (p->store_seq == p->next_seq ||
                            slot_of(p, p->store_seq)->state != SLOT_SEALED))
            pthread_cond_wait(&p->cv_sealed, &p->mu);
        if (p->stop)
            break;
        struct sw_bk_slot *s = slot_of(p, p->store_seq);
        bool skip = p->failed;
        pthread_mutex_unlock(&p->mu);
        struct sw_err e;
        sw_err_clear(&e);
        int rc = skip ? 0 : p->store(p->ctx, s, &e);
        pthread_mutex_lock(&p->mu);
        if (rc < 0)
            fail_locked(p, &e);
        s->state = SLOT_FREE;
        p->store_seq++;
        pthread_cond_broadcast(&p->cv_free);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void start(struct sw_bk_pipe *p)
{
    p->threads = sw_calloc(p->nworkers + 1, sizeof *p->threads);
    for (unsigned i = 0; i < p->nworkers; i++)
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
            abort(); /* out of resources, as an allocation */
    if (pthread_create(&p->threads[p->nworkers], NULL, storer_main, p) != 0)
        abort();
    p->started = true;
}

/* 0 workers: seal and store the caller's buffer in turn. */
static int put_inline(struct sw_bk_pipe *p, struct sw_bk_slot *s, struct sw_err *err)
{
    if (p->seal(p->ctx, s, err) < 0 || p->store(p->ctx, s, err) < 0) {
        fail_locked(p, err);
        return -1;
    }
    return 0;
}

int sw_bk_pipe_put(struct sw_bk_pipe *p, uint64_t offset, const unsigned char *data, size_t len,
                   struct sw_err *err)
{
    if (p->nworkers == 0) {
        struct sw_bk_slot *s = &p->slots[0];
        s->data = data;
        s->len = len;
        s->offset = offset;
        return p->failed ? (*err = p->err, -1) : put_inline(p, s, err);
    }
    if (!p->started)
        start(p);
    pthread_mutex_lock(&p->mu);
    struct sw_bk_slot *s = slot_of(p, p->next_seq);
    while (!p->failed && s->state != SLOT_FREE)
        pthread_cond_wait(&p->cv_free, &p->mu);
    if (p->failed) {
        *err = p->err;
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    pthread_mutex_unlock(&p->mu);
    /* a free slot is the caller's alone until it is marked ready */
    if (!s->copy)
        s->copy = sw_malloc(SW_BK_CHUNK_SIZE);
    memcpy(s->copy, data, len);
    s->data = s->copy;
    s->len = len;
    s->offset = offset;
    pthread_mutex_lock(&p->mu);
    s->state = SLOT_READY;
    p->next_seq++;
    pthread_cond_signal(&p->cv_ready);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int sw_bk_pipe_drain(struct sw_bk_pipe *p, struct sw_err *err)
{
    pthread_mutex_lock(&p->mu);
    while (p->store_seq < p->next_seq)
        pthread_cond_wait(&p->cv_free, &p->mu);
    int rc = p->failed ? -1 : 0;
    if (rc < 0)
        *err = p->err;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void sw_bk_pipe_free(struct sw_bk_pipe *p)
{
    if (!p)
        return;
    if (p->started) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_broadcast(&p->cv_ready);
        pthread_cond_broadcast(&p->cv_sealed);
        pthread_mutex_unlock(&p->mu);
        for (unsigned i = 0; i <= p->nworkers; i++)
            pthread_join(p->threads[i], NULL);
        free(p->threads);
    }
    for (unsigned i = 0; i < p->nslots; i++) {
        sw_bk_sealer_release(&p->slots[i].sealer);
        free(p->slots[i].copy);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_ready);
    pthread_cond_destroy(&p->cv_sealed);
    pthread_cond_destroy(&p->cv_free);
    free(p->slots);
    free(p);
}
