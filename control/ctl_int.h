/* ctl_int.h - control/'s internal pieces: the listening socket
 * (ctl_socket.c) and the request/response lines (ctl_proto.c). Not for
 * other folders: they include ctl_server.h or ctl_call.h. */
#ifndef NICRAFT_CTL_INT_H
#define NICRAFT_CTL_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nr_err.h"

typedef void ctl_log_fn(void *log_ctx, const char *line);

/* The node a listening socket was bound to, to unlink only our own. */
struct ctl_socket_node {
    dev_t dev;
    ino_t ino;
};

/* Makes the listening socket at path (see ctl_server_create for the rules:
 * stale replaced, live or non-socket refused, mode 0600 from the start).
 * Fills *fd_out (non-blocking, close-on-exec) and *node. */
int ctl_socket_listen(const char *path, ctl_log_fn *log, void *log_ctx, int *fd_out,
                      struct ctl_socket_node *node, struct nr_err *err);

/* Unlinks path if it still is the node we bound (another daemon may have
 * replaced it since; its socket is not ours to remove). */
void ctl_socket_unlink_if_ours(const char *path, const struct ctl_socket_node *node);

/* SO_PEERCRED of a connected socket. */
int ctl_socket_peer(int fd, uint32_t *uid, int32_t *pid, struct nr_err *err);

/* A parsed request; every pointer is borrowed from root, which the caller
 * releases with json_decref. On a parse error, root and id may still be
 * set (id echoes the request's id when the line was an object). */
struct ctl_parsed {
    json_t *root;
    const char *cmd;
    json_t *args; /* never NULL after a successful parse: {} when absent */
    json_t *id;   /* NULL when absent */
};

/* Strict parsing of one request line (without its newline): one JSON
 * object, no duplicate keys, fields cmd (string, 1 .. cmd_max bytes),
 * args (object, optional), id (anything, optional), nothing else.
 * NR_EINVAL with a sentence naming what is wrong. */
int ctl_proto_parse(const char *line, size_t len, size_t cmd_max, struct ctl_parsed *out,
                    struct nr_err *err);

/* One response line, newline-terminated, malloc'd; *len_out its length.
 * id (may be NULL: null) is borrowed; result is stolen (NULL: {}). When
 * formatting fails (allocation), NULL. */
char *ctl_proto_format_ok(json_t *id, json_t *result, size_t *len_out);
char *ctl_proto_format_err(json_t *id, const struct nr_err *err, size_t *len_out);

/* Maps "NR_EREFUSED" back to its code; NR_EIO for names it does not know. */
int ctl_proto_code_from_name(const char *name);

#endif
