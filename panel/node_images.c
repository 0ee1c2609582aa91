/* node_images.c - GET /v1/node/images/{sha256}: a node's engine fetches
 * an image for its pool with its own image token (SLIPWAY_NODE_TOKEN,
 * made at enrolment and rekey, admin.c), never with an account's.
 *
 * A node gets only the images its servers use: a live server on it, or an
 * unfinished job sent to it, whose template names the image. Anything
 * else, an unknown or not-ready image included, is 404 alike, so a node
 * learns nothing about images it has no use for. No token, or one no node
 * holds, is 401. */
#include "config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "panel/data_images.h"
#include "panel/handlers.h"
#include "panel/image_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The node whose image token the request carries: 0 with node_id, or -1. */
static int node_of(struct sw_req *req, char node_id[SW_UUID_LEN + 1], struct sw_err *err)
{
    const char *h = req->authorization;
    if (!h || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != SW_TOKEN_LEN) {
        SW_ERR(err, SW_EUNAUTHENTICATED, "a node's Authorization: Bearer token is required");
        return -1;
    }
    char hash[SW_TOKEN_HASH_HEX + 1];
    sw_token_hash(req->app->key, h + 7, hash);
    int found = sw_data_images_node_by_token(req->db, hash, node_id, err);
    if (found == 0)
        SW_ERR(err, SW_EUNAUTHENTICATED, "the node token is unknown");
    return found > 0 ? 0 : -1;
}

SW_HANDLER(sw_h_node_image_get)
{
    char node[SW_UUID_LEN + 1];
    if (node_of(req, node, err) < 0)
        return -1;
    const char *sha = req->params[0];
    int64_t size = 0;
    int may = sw_image_sha256_valid(sha)
                  ? sw_data_images_node_may_fetch(req->db, node, sha, &size, err)
                  : 0;
    if (may <= 0) {
        if (may == 0)
            SW_ERR(err, SW_ENOTFOUND, "image not found");
        return -1;
    }
    char *path = sw_image_path(sha);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size != size) {
        SW_ERR(err, SW_EINTERNAL, "the image's file is missing");
        sw_err_detail(err, "%s: %s", path, fd < 0 ? strerror(errno) : "size differs from its row");
        if (fd >= 0)
            close(fd);
        free(path);
        return -1;
    }
    free(path);
    sw_info("image.node_fetch", "node=%s sha256=%s bytes=%lld", node, sha, (long long)size);
    resp->status = 200;
    resp->send_fd = true;
    resp->fd = fd;
    resp->fd_size = (uint64_t)size;
    return 0;
}

const struct sw_route sw_routes_node_images[] = {
    {"GET", "/v1/node/images/{sha256}", PUBLIC, SW_OWN_NODE_IMAGE, sw_h_node_image_get,
     "a node fetches an image its servers use, with its own node token", 0},
    SW_ROUTES_END,
};
