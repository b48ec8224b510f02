/* ctl_server.h - the control socket server (SPEC section 1: a Unix socket,
 * mode 0600, peer credentials checked), driven by the control thread.
 *
 * Protocol: JSON lines. A request is one line, one JSON object:
 *
 *     {"cmd": "endpoint status", "args": {...}, "id": <any JSON, echoed>}
 *
 * "cmd" is required (a string naming a registered command); "args" is
 * optional (an object; absent means {}); "id" is optional and echoed as
 * is (null when absent or when the request could not be parsed). Any other
 * field is refused (strict parsing). Each request gets exactly one response
 * line, in request order per connection for immediate replies (a deferred
 * reply is sent when it is made, so responses may overtake each other; match
 * them by "id"):
 *
 *     {"ok": true,  "id": ..., "result": {...}}
 *     {"ok": false, "id": ..., "error": "<sentence>", "code": "NR_EREFUSED"}
 *
 * Outside data is checked, never asserted (CONVENTIONS section 1 rule 7):
 * malformed JSON, a non-object, a missing or non-string cmd, an unknown
 * field or command each get an error response (code NR_EINVAL) and a
 * counter; the connection stays open.
 *
 * Limits (CONVENTIONS rule 6), each a configuration field:
 *   - max_clients connections; one more gets one error line (NR_EBUSY) and
 *     is closed;
 *   - line_max_bytes per request line (the newline not counted); a longer
 *     line gets one error response (NR_EINVAL), its bytes are discarded up
 *     to and including the next newline, and the connection is KEPT: the
 *     following lines are served;
 *   - out_max_bytes of unsent responses per connection; a client that does
 *     not read its responses is disconnected when one more would not fit,
 *     and the server never blocks on it;
 *   - max_pending requests waiting for a deferred reply in the whole server
 *     and max_pending_per_client per connection; beyond either a request is
 *     answered NR_EBUSY at once;
 *   - pending_timeout_ms: a deferred request not answered in time gets an
 *     error response (NR_EBUSY, "no reply within N ms"); the handler's later
 *     reply is then dropped and counted.
 *
 * Peers: only a peer whose effective uid (SO_PEERCRED) is this process's
 * euid or root is served; others get one error line (NR_EREFUSED) and are
 * closed. The 0600 mode already keeps other users out; the credential check
 * is the second line of defence (e.g. against a widened mode).
 *
 * A client may half-close (shutdown(SHUT_WR), as `socat` does): its
 * outstanding responses, deferred ones included, are still delivered, then
 * the connection is closed. A client that closes completely loses them
 * (counted as replies_dropped).
 *
 * Threads: everything here runs on one thread (the control thread); nothing
 * is locked. Allocation: the tables at create; per connection an input
 * buffer of line_max_bytes + 1 at accept and an output buffer grown up to
 * out_max_bytes; jansson allocates while parsing and formatting. */
#ifndef NICRAFT_CTL_SERVER_H
#define NICRAFT_CTL_SERVER_H

#include <jansson.h>
#include <stdint.h>

#include "nr_err.h"

#define CTL_CLIENTS_DEFAULT 64u
#define CTL_CLIENTS_MAX 1024u
#define CTL_LINE_MAX_DEFAULT (64u * 1024u)
#define CTL_LINE_MAX_MIN 64u
#define CTL_LINE_MAX_MAX (16u * 1024u * 1024u)
#define CTL_OUT_MAX_DEFAULT (1024u * 1024u)
#define CTL_OUT_MAX_MIN 1024u
#define CTL_OUT_MAX_MAX (64u * 1024u * 1024u)
#define CTL_PENDING_DEFAULT 256u
#define CTL_PENDING_MAX 4096u
#define CTL_PENDING_PER_CLIENT_DEFAULT 16u
#define CTL_PENDING_TIMEOUT_MS_DEFAULT 30000u
#define CTL_COMMANDS_MAX 64u
#define CTL_CMD_NAME_MAX 48u /* bytes of a command name, the NUL not counted */

struct ctl_server_config {
    const char *path;                /* the socket's path, < 108 bytes; borrowed during create */
    uint32_t max_clients;            /* 0: CTL_CLIENTS_DEFAULT; 1 .. CTL_CLIENTS_MAX */
    uint32_t line_max_bytes;         /* 0: CTL_LINE_MAX_DEFAULT; CTL_LINE_MAX_MIN .. _MAX */
    uint32_t out_max_bytes;          /* 0: CTL_OUT_MAX_DEFAULT; CTL_OUT_MAX_MIN .. _MAX */
    uint32_t max_pending;            /* 0: CTL_PENDING_DEFAULT; 1 .. CTL_PENDING_MAX */
    uint32_t max_pending_per_client; /* 0: CTL_PENDING_PER_CLIENT_DEFAULT; <= max_pending */
    uint32_t pending_timeout_ms;     /* 0: CTL_PENDING_TIMEOUT_MS_DEFAULT */
    /* One line per event worth an operator's eye (a refused peer, a
     * replaced stale socket, a slow client dropped); NULL: stderr with a
     * "nicraft control: " prefix. line has no newline. */
    void (*log)(void *log_ctx, const char *line);
    void *log_ctx;
};

/* Counters since create. */
struct ctl_server_stats {
    uint64_t accepted;             /* connections served */
    uint64_t refused_peer;         /* refused: peer uid neither ours nor root */
    uint64_t refused_full;         /* refused: max_clients reached */
    uint64_t requests;             /* requests handed to a handler */
    uint64_t bad_requests;         /* malformed, non-object, bad cmd/args, unknown field/cmd */
    uint64_t lines_too_long;       /* lines over line_max_bytes (discarded) */
    uint64_t busy;                 /* refused: pending limits reached */
    uint64_t replies_sent;         /* responses queued to a live connection */
    uint64_t replies_dropped;      /* deferred replies whose connection was gone or timed out */
    uint64_t timed_out;            /* deferred requests answered by pending_timeout_ms */
    uint64_t slow_clients_dropped; /* connections closed for not reading (out_max_bytes) */
    uint32_t n_clients;            /* connections open now */
    uint32_t n_pending;            /* requests a handler still owes a reply */
};

struct ctl_server;

/* One request a handler owes a reply to. It points into the server's fixed
 * table of pending requests and stays valid until the handler replies
 * through ctl_reply_ok or ctl_reply_err, which must happen exactly once
 * (immediately in the handler or later, from the same thread, while the
 * server exists). If the connection closed or timed out meanwhile, the
 * reply is dropped and counted: the table entry remembers the connection's
 * slot and generation, so a reused slot never gets another client's reply. */
struct ctl_req;

/* A command handler. args is the request's "args" object ({} when absent),
 * borrowed for the call (json_incref it to keep it). Return 0 after
 * replying, or to reply later; or return a negative NR_E* code with *err
 * filled WITHOUT having replied, and the server replies with err (the same
 * as ctl_reply_err). Must not call ctl_server_poll or ctl_server_destroy. */
typedef int ctl_handler_fn(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err);

/* Opens the socket at cfg->path and fills *out.
 * - A missing parent directory is created (one level, mode 0700).
 * - Nothing at the path: bind. A socket nobody listens on (connect gets
 *   ECONNREFUSED: a dead process's leftover) is unlinked and replaced, and
 *   that is logged. A socket something listens on, or any other kind of
 *   file, is refused (NR_EREFUSED) with a sentence naming the path.
 * - The socket node is created with mode 0600 (fchmod on the socket before
 *   bind, so it is never wider, even for a moment, whatever the umask) and
 *   checked after bind.
 * NR_EINVAL: a configuration field out of range (named); NR_EIO: a system
 * call failed (named, with errno's text); NR_ENOMEM. */
int ctl_server_create(const struct ctl_server_config *cfg, struct ctl_server **out,
                      struct nr_err *err);

/* Closes every connection and the socket, unlinks the socket's path if it
 * is still the node this server bound, and frees everything. Every
 * struct ctl_req still owed a reply becomes invalid. NULL is fine. */
void ctl_server_destroy(struct ctl_server *s);

/* Registers cmd (1 .. CTL_CMD_NAME_MAX bytes, copied) with its handler and
 * ctx (borrowed, passed to each call). NR_EINVAL for a bad or duplicate
 * name, NR_EBUSY when CTL_COMMANDS_MAX are registered. */
int ctl_server_register(struct ctl_server *s, const char *cmd, ctl_handler_fn *fn, void *ctx,
                        struct nr_err *err);

/* A file descriptor (an epoll instance) that is readable when
 * ctl_server_poll has something to do, for the control thread's own
 * poll/epoll set. Replies made outside ctl_server_poll are written at once
 * when the socket takes them; what it does not take waits for the next
 * ctl_server_poll, so call it every loop iteration (timeout 0 is fine). */
int ctl_server_fd(const struct ctl_server *s);

/* One step: writes what waits, answers expired requests, waits up to
 * timeout_ms (0: do not wait; negative is taken as 0) for events, accepts,
 * reads and dispatches what came (handlers run from here), writes and closes
 * what is due. Returns after at most about timeout_ms plus the handlers'
 * time. Returns the number of events handled (>= 0), or NR_EIO when
 * epoll_wait fails (not for EINTR, which returns 0). Problems with one
 * client never fail the call: they are answered, counted and logged. */
int ctl_server_poll(struct ctl_server *s, int timeout_ms, struct nr_err *err);

/* Copies the counters. */
void ctl_server_get_stats(const struct ctl_server *s, struct ctl_server_stats *out);

/* Replies {"ok": true, "id": ..., "result": result} and releases req.
 * Steals the reference to result (NULL means {}); a non-object result is
 * sent as it is. */
void ctl_reply_ok(struct ctl_req *req, json_t *result);

/* Replies {"ok": false, ..., "error": err->msg, "code": "NR_E..."} and
 * releases req. err->code must be negative. */
void ctl_reply_err(struct ctl_req *req, const struct nr_err *err);

/* The request's command name (valid until the reply). */
const char *ctl_req_cmd(const struct ctl_req *req);

/* The peer's uid and pid as SO_PEERCRED gave them at connect. */
uint32_t ctl_req_peer_uid(const struct ctl_req *req);
int32_t ctl_req_peer_pid(const struct ctl_req *req);

#endif
