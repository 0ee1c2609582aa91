/* manifest.c - a backup's manifest to and from JSON. */
#include "config.h"
#include "backup/manifest.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/err.h"

#include <string.h>

struct sw_bk_manifest *sw_bk_manifest_new(uint64_t disk_size)
{
    struct sw_bk_manifest *m = sw_calloc(1, sizeof *m);
    m->disk_size = disk_size;
    m->chunk_size = SW_BK_CHUNK_SIZE;
    m->nchunks = (size_t)((disk_size + SW_BK_CHUNK_SIZE - 1) / SW_BK_CHUNK_SIZE);
    m->ids = sw_calloc(m->nchunks ? m->nchunks : 1, sizeof *m->ids);
    m->zero = sw_calloc(m->nchunks ? m->nchunks : 1, sizeof *m->zero);
    for (size_t i = 0; i < m->nchunks; i++)
        m->zero[i] = true;
    m->logical_bytes = disk_size;
    return m;
}

void sw_bk_manifest_free(struct sw_bk_manifest *m)
{
    if (!m)
        return;
    free(m->ids);
    free(m->zero);
    free(m);
}

size_t sw_bk_manifest_chunk_len(const struct sw_bk_manifest *m, size_t i)
{
    uint64_t off = (uint64_t)i * m->chunk_size;
    uint64_t left = m->disk_size - off;
    return (size_t)(left < m->chunk_size ? left : m->chunk_size);
}

char *sw_bk_manifest_key(const char *account, const char *backup_id)
{
    return sw_asprintf("%s/manifests/%s", account, backup_id);
}

json_t *sw_bk_manifest_to_json(const struct sw_bk_manifest *m)
{
    json_t *chunks = json_array();
    for (size_t i = 0; i < m->nchunks; i++) {
        char hex[SW_BK_ID_HEX + 1];
        if (!m->zero[i])
            sw_bk_id_hex(m->ids[i], hex);
        json_array_append_new(chunks, json_string(m->zero[i] ? "zero" : hex));
    }
    char when[32];
    struct tm tm;
    gmtime_r(&m->created_at, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:i, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:o, s:{s:I, s:I, s:I}, s:s}",
                     "version", SW_BK_MANIFEST_VERSION, "account", m->account, "server",
                     m->server, "backup_id", m->backup_id, "parent_id",
                     m->parent_id[0] ? json_string(m->parent_id) : json_null(), "kind",
                     m->incremental ? "incremental" : "full", "disk_size",
                     (json_int_t)m->disk_size, "chunk_size", (json_int_t)m->chunk_size,
                     "chunks", chunks, "bytes", "logical", (json_int_t)m->logical_bytes,
                     "read", (json_int_t)m->read_bytes, "stored_new",
                     (json_int_t)m->stored_new_bytes, "created_at", when);
}

static int bad(struct sw_err *err, const char *what)
{
    SW_ERR(err, SW_EINVALID, "backup manifest: %s", what);
    return -1;
}

static int copy_uuid(char dst[SW_BK_UUID_LEN + 1], const char *s, struct sw_err *err,
                     const char *what)
{
    if (!s || !sw_uuid_valid(s))
        return bad(err, what);
    memcpy(dst, s, SW_BK_UUID_LEN + 1);
    return 0;
}

static int parse_chunks(struct sw_bk_manifest *m, const json_t *chunks, struct sw_err *err)
{
    if (!json_is_array(chunks) || json_array_size(chunks) != m->nchunks)
        return bad(err, "the chunk list does not cover the disk");
    for (size_t i = 0; i < m->nchunks; i++) {
        const char *s = json_string_value(json_array_get(chunks, i));
        m->zero[i] = s && strcmp(s, "zero") == 0;
        if (!s || (!m->zero[i] && sw_bk_id_parse(s, m->ids[i]) < 0))
            return bad(err, "a chunk is neither an id nor \"zero\"");
    }
    return 0;
}

static int parse_time(const char *s, time_t *out)
{
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!end || *end)
        return -1;
    *out = timegm(&tm);
    return 0;
}

struct sw_bk_manifest *sw_bk_manifest_from_json(const json_t *j, struct sw_err *err)
{
    int version = 0;
    const char *acct = NULL, *srv = NULL, *bid = NULL, *kind = NULL, *when = NULL;
    json_t *parent = NULL, *chunks = NULL;
    json_int_t size = 0, csize = 0, logical = 0, read = 0, stored = 0;
    json_error_t je;
    if (json_unpack_ex((json_t *)j, &je, JSON_STRICT,
                       "{s:i, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:o, s:{s:I, s:I, s:I}, s:s}",
                       "version", &version, "account", &acct, "server", &srv, "backup_id", &bid,
                       "parent_id", &parent, "kind", &kind, "disk_size", &size, "chunk_size",
                       &csize, "chunks", &chunks, "bytes", "logical", &logical, "read", &read,
                       "stored_new", &stored, "created_at", &when) < 0) {
        SW_ERR(err, SW_EINVALID, "backup manifest: %s", je.text);
        return NULL;
    }
    bool incr = strcmp(kind, "incremental") == 0;
    if (version != SW_BK_MANIFEST_VERSION || csize != SW_BK_CHUNK_SIZE || size < 0 ||
        (size_t)(size / SW_BK_CHUNK_SIZE) > json_array_size(chunks) || logical < 0 || read < 0 ||
        stored < 0 || (!incr && strcmp(kind, "full") != 0) || incr == json_is_null(parent) ||
        !(json_is_null(parent) || json_is_string(parent))) {
        bad(err, "version, sizes, kind or parent out of range");
        return NULL;
    }
    struct sw_bk_manifest *m = sw_bk_manifest_new((uint64_t)size);
    m->incremental = incr;
    m->logical_bytes = (uint64_t)logical;
    m->read_bytes = (uint64_t)read;
    m->stored_new_bytes = (uint64_t)stored;
    if (copy_uuid(m->account, acct, err, "account is not a uuid") < 0 ||
        copy_uuid(m->server, srv, err, "server is not a uuid") < 0 ||
        copy_uuid(m->backup_id, bid, err, "backup_id is not a uuid") < 0 ||
        (incr && copy_uuid(m->parent_id, json_string_value(parent), err,
                           "parent_id is not a uuid") < 0) ||
        parse_chunks(m, chunks, err) < 0 ||
        (parse_time(when, &m->created_at) < 0 && bad(err, "created_at is not a UTC time") < 0)) {
        sw_bk_manifest_free(m);
        return NULL;
    }
    return m;
}
