/* manifest.h - what one backup holds: its chunk list and counts.
 *
 * JSON (jansson): {"version":1, "account", "server", "backup_id",
 * "parent_id" (or null), "kind": "full"|"incremental", "disk_size",
 * "chunk_size", "chunks": [id hex | "zero", ...] (index i covers disk bytes
 * [i*chunk_size, ...)), "bytes": {"logical", "read", "stored_new"},
 * "created_at": "YYYY-MM-DDTHH:MM:SSZ"}. Stored encrypted with the data key
 * (chunk.h, sw_bk_object_seal) as <account>/manifests/<backup id>, written
 * after every chunk it names.
 */
#ifndef SW_BK_MANIFEST_H
#define SW_BK_MANIFEST_H

#include "backup/chunk.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct sw_err;

#define SW_BK_MANIFEST_VERSION 1
#define SW_BK_UUID_LEN 36

struct sw_bk_manifest {
    char account[SW_BK_UUID_LEN + 1];
    char server[SW_BK_UUID_LEN + 1];
    char backup_id[SW_BK_UUID_LEN + 1];
    char parent_id[SW_BK_UUID_LEN + 1]; /* "" when full */
    bool incremental;
    uint64_t disk_size;
    uint32_t chunk_size;
    size_t nchunks;
    unsigned char (*ids)[SW_BK_ID_BYTES]; /* nchunks ids */
    bool *zero;                           /* nchunks flags: all zero, not stored */
    uint64_t logical_bytes, read_bytes, stored_new_bytes;
    time_t created_at;
    /* The key check of the keys it was opened or written with. */
    unsigned char keycheck[SW_BK_KEYCHECK_BYTES];
};

/* An empty manifest for a disk of disk_size bytes (every chunk zero);
 * owned, sw_bk_manifest_free(). */
struct sw_bk_manifest *sw_bk_manifest_new(uint64_t disk_size);
void sw_bk_manifest_free(struct sw_bk_manifest *m);

/* Bytes chunk i covers (chunk_size, or less for the last). */
size_t sw_bk_manifest_chunk_len(const struct sw_bk_manifest *m, size_t i);

/* Owned JSON of m (json_decref). */
json_t *sw_bk_manifest_to_json(const struct sw_bk_manifest *m);
/* Parses and checks every member; owned or NULL with err (invalid). */
struct sw_bk_manifest *sw_bk_manifest_from_json(const json_t *j, struct sw_err *err);

/* Its name on the target: owned "<account>/manifests/<backup id>". */
char *sw_bk_manifest_key(const char *account, const char *backup_id);

#endif
