/* image_store.h - the image library's files (panel/README.md, "API notes:
 * images and ISOs").
 *
 * An image is one file, <dir>/<sha256 hex>, written only by renaming a
 * finished temporary file (<dir>/.part-XXXXXX) whose bytes were hashed
 * while they arrived, so a file under its final name is always complete
 * and named by its content. What arrives (an upload, a fetch) is a trust
 * boundary: nothing is kept before sw_image_inspect() accepted it.
 * Nothing here includes microhttpd.h or libcurl: the adapter and the
 * fetcher feed a sink.
 */
#ifndef SW_PANEL_IMAGE_STORE_H
#define SW_PANEL_IMAGE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_err;

#define SW_IMAGE_SHA256_HEX 64

/* The library's settings (SLIPWAY_IMAGES_DIR, SLIPWAY_IMAGE_MAX_BYTES),
 * read once; -1 with err when they are bad or the directory cannot be
 * made. */
int sw_image_store_init(struct sw_err *err);
const char *sw_image_store_dir(void);
int64_t sw_image_store_max_bytes(void);

/* The panel's URL as nodes reach it, given to each node at enrolment
 * (SLIPWAY_PANEL_URL): SLIPWAY_NODE_PANEL_URL, else the address the panel
 * bound (main.c sets it once listening). Returns owned (free()). */
void sw_image_store_set_bound_url(const char *url);
char *sw_image_store_panel_url(void);

/* The file of an image: owned (free()). */
char *sw_image_path(const char *sha256);

/* True for SW_IMAGE_SHA256_HEX lower-case hex digits. */
bool sw_image_sha256_valid(const char *s);

/* A file being received. */
struct sw_image_sink;

/* A new temporary file in the library's directory; NULL with err. Owned:
 * sw_image_sink_free() (which removes the file unless it was kept). */
struct sw_image_sink *sw_image_sink_new(struct sw_err *err);
/* Appends n bytes, hashing them; -1 when the file would pass the size
 * limit (SW_ETOO_LARGE) or cannot be written (SW_EINTERNAL): err set, and
 * every later write fails alike. */
int sw_image_sink_write(struct sw_image_sink *s, const void *data, size_t n, struct sw_err *err);
/* Ends the file (flushed to disk): its sha256 and size. -1 with err when a
 * write failed before or now. */
int sw_image_sink_finish(struct sw_image_sink *s, char sha256[SW_IMAGE_SHA256_HEX + 1],
                         int64_t *size, struct sw_err *err);
/* The temporary file's path (borrowed, valid until sw_image_sink_free). */
const char *sw_image_sink_path(const struct sw_image_sink *s);
/* Renames the finished file to its final name (its sha256); -1 with err. */
int sw_image_sink_keep(struct sw_image_sink *s, struct sw_err *err);
void sw_image_sink_free(struct sw_image_sink *s);

/* Checks the file at path is what format ("qcow2", "raw", "kernel",
 * "initrd", "tar", "iso") says, before it is used: qcow2 and raw through
 * `qemu-img info --output=json -f <format>` (the format it reports must be
 * the declared one; a raw file must not probe as another format; a qcow2
 * must name no backing file and no external data file, and
 * `qemu-img check` must find it whole), an ISO by its ISO 9660 volume
 * descriptor, a tarball by `tar -tf`, a kernel or initrd by not being
 * empty. -1 with SW_EUNPROCESSABLE and a message saying what is wrong (or
 * SW_EINTERNAL when a tool could not run). */
int sw_image_inspect(const char *path, const char *format, int64_t size, struct sw_err *err);

/* Runs argv (no shell) under prlimit(1) (1 GiB of address space, 30 s of
 * CPU) with stdout captured (at most cap bytes kept) and stderr dropped;
 * its exit status, or -1 with err when it could not run.
 * *out is owned (free()), NUL-terminated; NULL when -1 is returned. */
int sw_image_run(char *const argv[], char **out, size_t cap, struct sw_err *err);

/* ---- an upload as the HTTP adapter collects it (multipart/form-data) ---- */

#define SW_UPLOAD_FIELD_MAX 256

struct sw_upload {
    json_t *fields;                       /* the form's text fields: name -> string */
    struct sw_image_sink *file;           /* the "file" part; NULL when none came */
    uint64_t file_bytes;                  /* received so far */
    char sha256[SW_IMAGE_SHA256_HEX + 1]; /* the file's, once finished */
    int64_t size;
    bool failed;            /* the form was refused while it arrived */
    struct sw_err *failure; /* why (owned) when failed */
};

/* A new, empty upload. Owned: sw_upload_free(). */
struct sw_upload *sw_upload_new(void);
/* One piece of the form: part key (with filename for a file part), data
 * at offset off of that part. Text fields over SW_UPLOAD_FIELD_MAX bytes, a
 * second file, or a file over the size limit fail the upload. 0, or -1
 * once the upload failed (later pieces are ignored). */
int sw_upload_piece(struct sw_upload *u, const char *key, const char *filename, const char *data,
                    uint64_t off, size_t size);
/* Fails the upload with why (the first failure is kept); returns -1. */
int sw_upload_fail(struct sw_upload *u, const struct sw_err *why);
/* The form has arrived: finishes the file (its sha256 and size) and
 * returns the request body the router and Idempotency-Key see, the form's
 * fields with the file's sha256 and size as a JSON text (owned, free()).
 * A failed upload (or one failing now) answers NULL. */
char *sw_upload_finish(struct sw_upload *u);
void sw_upload_free(struct sw_upload *u);

#endif
