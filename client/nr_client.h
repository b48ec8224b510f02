/* nr_client.h - the C client library: puts, gets and deletes against a
 * nicraft cluster over kernel UDP (dataplane/dp_udp.h), in client_wire.h's
 * protocol, in two shapes over one engine:
 *
 *   - a synchronous client (nr_client_*): one session, one operation at a
 *     time, for nicraftctl and tools;
 *   - an asynchronous, pipelined engine (nr_client_async_*): many sessions
 *     (logical clients, each its own client_id and seq numbering) on one
 *     socket and one thread, for nicraft-bench. Operations are submitted
 *     with a cookie and complete through a callback; several share a frame.
 *
 * Sessions (client_wire.h). Each session numbers its operations seq = 1,
 * 2, ... and has at most one in flight; a retry keeps its seq, so the
 * state machine applies a write once. Frames go to DP_MEMBER_BROADCAST from
 * the socket's sender ID; the node answers to the datagram's source address
 * with receiver = that sender ID (for the synchronous client the sender ID is
 * the client_id; the engine's sessions share the socket's ID, see
 * nr_client_async_config.transport_id).
 *
 * Retries. Every attempt counts against max_tries:
 *   NOT_LEADER  resend to the leader it names (leader_ipv4/leader_port),
 *               else to the next endpoint of the list;
 *   BUSY        resend to the same endpoint after a short backoff (1 ms,
 *               doubling, at most 32 ms);
 *   timeout     resend the same seq to the next endpoint.
 * When the tries are spent the operation fails with a sentence naming the
 * endpoints tried.
 *
 * Errors (return values and completion rc):
 *   NR_EINVAL     a configuration or argument breaks a rule (err names it);
 *   NR_ERANGE     a GET's value is larger than the caller's buffer (sync);
 *   NR_EREFUSED   the node refused the request (status error or nospace;
 *                 its sentence is quoted);
 *   NR_ENOTLEADER tries spent on NOT_LEADER answers;
 *   NR_EBUSY      tries spent on BUSY answers; or (submit) the session has
 *                 an operation in flight;
 *   NR_EIO        tries spent without an answer, or a socket call failed;
 *   NR_ENOMEM     allocation at creation failed.
 *
 * Allocation happens in the create functions only: the op table (one
 * request buffer per session), the endpoint table and the socket's frame
 * buffers. Submitting, polling and completing allocate nothing. */
#ifndef NICRAFT_NR_CLIENT_H
#define NICRAFT_NR_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "client_wire.h"
#include "nr_err.h"

/* Configured endpoints at most; leader hints add up to as many again. */
#define NR_CLIENT_ENDPOINTS_MAX 16u
#define NR_CLIENT_TIMEOUT_MS_DEFAULT 1000u
#define NR_CLIENT_TRIES_DEFAULT 8u
#define NR_CLIENT_TRIES_MAX 1000u

struct nr_client_config {
    uint64_t cluster_id;             /* non-zero; the cluster's ID (nicraftctl endpoint status) */
    const char *const *endpoints;    /* "udp://IP:PORT", the members' client URLs; borrowed
                                        during create only */
    uint32_t n_endpoints;            /* 1 .. NR_CLIENT_ENDPOINTS_MAX */
    uint64_t client_id;              /* 0: a random non-zero ID (getrandom) */
    uint32_t timeout_ms;             /* per attempt; 0: NR_CLIENT_TIMEOUT_MS_DEFAULT */
    uint32_t max_tries;              /* attempts per operation, redirects included;
                                        0: NR_CLIENT_TRIES_DEFAULT; at most NR_CLIENT_TRIES_MAX */
    uint32_t mtu;                    /* IP MTU of the path; 0: DP_MTU_DEFAULT (1500) */
};

struct nr_client;

/* Parses the endpoints, opens a UDP socket on 0.0.0.0 (kernel-chosen
 * port) and fills *out. NR_EINVAL names a bad field or URL; NR_EIO or
 * NR_ENOMEM when the socket or its buffers cannot be had. */
int nr_client_create(const struct nr_client_config *cfg, struct nr_client **out, struct nr_err *err);

/* Closes and frees; NULL is fine. */
void nr_client_destroy(struct nr_client *c);

/* The session's client_id (the random one when the config said 0). */
uint64_t nr_client_id(const struct nr_client *c);

/* Writes key = val and waits for the answer; *revision (may be NULL) gets
 * the store's revision after the write. key_len 1 .. NR_KV_KEY_MAX,
 * val_len 0 .. NR_KV_VAL_MAX. Errors as above. */
int nr_client_put(struct nr_client *c, const void *key, uint32_t key_len, const void *val,
                  uint32_t val_len, uint64_t *revision, struct nr_err *err);

/* Reads key. Linearizable through the leader, or with serializable from
 * the first endpoint that answers (may be stale). On 0: *found says whether
 * the key exists; if so its value is copied to val_buf (val_cap bytes),
 * *val_len is its length and *mod_revision (may be NULL) its last-modified
 * revision. A value longer than val_cap: NR_ERANGE, *val_len still set. */
int nr_client_get(struct nr_client *c, const void *key, uint32_t key_len, bool serializable,
                  uint8_t *val_buf, uint32_t val_cap, uint32_t *val_len, uint64_t *mod_revision,
                  bool *found, struct nr_err *err);

/* Deletes key; *found says whether it existed, *revision (may be NULL) is
 * the store's revision after the delete (a delete of an absent key is
 * still a write). */
int nr_client_del(struct nr_client *c, const void *key, uint32_t key_len, uint64_t *revision,
                  bool *found, struct nr_err *err);

/* ---- The asynchronous engine ---- */

enum nr_client_target {
    NR_CLIENT_TARGET_LEADER = 0, /* every session sends to the engine's leader guess (the
                                    first endpoint until a NOT_LEADER names another) */
    NR_CLIENT_TARGET_SPREAD = 1, /* session i starts every operation at endpoint i mod n;
                                    a follower's NOT_LEADER redirects that operation */
};

struct nr_client_async_config {
    uint64_t cluster_id;          /* as nr_client_config */
    const char *const *endpoints; /* as nr_client_config */
    uint32_t n_endpoints;
    uint64_t transport_id;        /* the socket's sender ID; 0: random non-zero. Session i's
                                     client_id is transport_id + i (no wrap: chosen so) */
    uint32_t n_sessions;          /* 1 .. NR_CLIENT_SESSIONS_MAX: the op table's size */
    uint32_t req_len_max;         /* largest encoded request a session holds; 0:
                                     NR_KV_CMD_LEN_MAX. Sizes the op table */
    uint32_t timeout_ms;          /* as nr_client_config */
    uint32_t max_tries;
    uint32_t mtu;
    enum nr_client_target target;
};

#define NR_CLIENT_SESSIONS_MAX 65536u

/* One finished operation, handed to the completion callback. Pointers are
 * borrowed until the callback returns. */
struct nr_client_done {
    uint64_t cookie;         /* as submitted */
    uint32_t session;        /* 0 .. n_sessions - 1 */
    uint8_t op;              /* enum nr_kv_op */
    int rc;                  /* 0, or an error code as above */
    uint8_t status;          /* the last answer's enum nr_kv_status (rc != 0: may be none) */
    bool found;              /* GET and DEL: the key existed */
    uint64_t revision;       /* PUT/DEL: revision after; GET: mod revision */
    const uint8_t *val;      /* GET: the value (val_len bytes) */
    uint32_t val_len;
    uint32_t tries;          /* attempts made, the answered one included */
    uint64_t latency_ns;     /* submit to completion */
    const struct nr_err *err; /* rc != 0: the sentence */
};

/* Called once per finished operation, from nr_client_async_poll. It may
 * submit (the session that finished is free again) but must not poll or
 * destroy the engine. */
typedef void nr_client_done_fn(void *ctx, const struct nr_client_done *d);

struct nr_client_async;

/* Allocates everything the engine will use and opens its socket.
 * NR_EINVAL names a bad field or URL; NR_EIO / NR_ENOMEM otherwise. */
int nr_client_async_create(const struct nr_client_async_config *cfg,
                           struct nr_client_async **out, struct nr_err *err);
void nr_client_async_destroy(struct nr_client_async *a);

/* Session i's client_id. */
uint64_t nr_client_async_session_id(const struct nr_client_async *a, uint32_t session);

/* Queues one operation for session (encodes it into the session's slot
 * and hands it to the socket's batch; nothing is sent before
 * nr_client_async_flush or the next poll). flags: NR_KV_F_*. val is for
 * PUT only. 0, or NR_EBUSY when the session has an operation in flight,
 * NR_EINVAL for a bad session or a request breaking a rule (or larger than
 * req_len_max). Nothing is kept of key and val after the call. */
int nr_client_async_submit(struct nr_client_async *a, uint32_t session, uint8_t op,
                           uint8_t flags, const void *key, uint32_t key_len, const void *val,
                           uint32_t val_len, uint64_t cookie, struct nr_err *err);

/* Sends what is queued. 0, or NR_EIO when the socket fails (a full kernel
 * buffer is not an error: the rest goes out on the next poll). */
int nr_client_async_flush(struct nr_client_async *a, struct nr_err *err);

/* Flushes, receives what waits (waiting up to wait_ms for something when
 * nothing does; 0: do not wait), handles answers, retries and timeouts,
 * calls fn for every operation that finished, and flushes what the
 * callbacks submitted. Returns the number of completions, or NR_EIO when
 * the socket fails. */
int nr_client_async_poll(struct nr_client_async *a, int wait_ms, nr_client_done_fn *fn,
                         void *ctx, struct nr_err *err);

/* Operations in flight. */
uint32_t nr_client_async_in_flight(const struct nr_client_async *a);

/* Counters since creation. */
struct nr_client_stats {
    uint64_t sent;          /* attempts sent (first sends and retries) */
    uint64_t retries;       /* attempts after the first */
    uint64_t not_leader;    /* NOT_LEADER answers */
    uint64_t busy;          /* BUSY answers */
    uint64_t timeouts;      /* attempts that timed out */
    uint64_t stale;         /* answers for no operation in flight (late duplicates) */
    uint64_t bad;           /* messages that did not decode (outside data: counted) */
    uint64_t completed;
    uint64_t failed;        /* completions with rc != 0 */
};
const struct nr_client_stats *nr_client_async_stats(const struct nr_client_async *a);

#endif
