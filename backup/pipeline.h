/* pipeline.h - the writer's pipeline: chunks sealed on N worker threads
 * while one thread stores them, in the order they were given.
 *
 * The caller (one thread: the disk's reader) puts chunks; each is copied
 * into a free slot of a fixed ring (2N + 2 slots, so the put blocks when
 * the ring is full: memory stays bounded, about 12 MiB a slot); a worker
 * takes the oldest slot waiting, runs `seal` on it (hash, compress,
 * encrypt: no shared state), and the storer thread runs `store` on the
 * slots strictly in put order (the one thread that talks to the target and
 * writes the manifest's entries). After the first failure nothing more is
 * sealed or stored; every later put and the drain answer that error.
 * With 0 workers nothing runs on another thread: put seals and stores the
 * caller's own buffer in turn (the writer before the pipeline).
 */
#ifndef SW_BK_PIPELINE_H
#define SW_BK_PIPELINE_H

#include "backup/chunk.h"
#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One chunk in the pipeline. seal fills zero, id and blob; store reads
 * them. */
struct sw_bk_slot {
    const unsigned char *data; /* the chunk: copy, or the caller's (0 workers) */
    size_t len;
    uint64_t offset;
    bool zero;
    unsigned char id[SW_BK_ID_BYTES];
    const unsigned char *blob; /* the sealed chunk, borrowed from sealer */
    size_t blob_len;
    struct sw_bk_sealer sealer;
    /* the pipeline's own */
    unsigned char *copy;
    int state;
};

/* seal runs on a worker, store on the storer; 0, or -1 with err set. */
typedef int (*sw_bk_slot_fn)(void *ctx, struct sw_bk_slot *s, struct sw_err *err);

struct sw_bk_pipe;

/* Online cores, 1..8: the default number of workers. */
unsigned sw_bk_pipe_default_workers(void);

/* A pipeline of `workers` sealing threads (0: inline) calling seal and
 * store with ctx; its threads start at the first put. Owned,
 * sw_bk_pipe_free(). */
struct sw_bk_pipe *sw_bk_pipe_new(unsigned workers, sw_bk_slot_fn seal, sw_bk_slot_fn store,
                                  void *ctx);
/* Hands a chunk (len <= SW_BK_CHUNK_SIZE, copied) to the pipeline; waits
 * for a free slot. -1 with the first failure so far. */
int sw_bk_pipe_put(struct sw_bk_pipe *p, uint64_t offset, const unsigned char *data, size_t len,
                   struct sw_err *err);
/* Waits until every chunk put is stored; -1 with the first failure. */
int sw_bk_pipe_drain(struct sw_bk_pipe *p, struct sw_err *err);
/* Stops the threads (chunks not stored yet are dropped) and frees. NULL ok. */
void sw_bk_pipe_free(struct sw_bk_pipe *p);

#endif
