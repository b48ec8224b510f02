/* node_int.h - the node's insides, shared by the node/ sources only. */
#ifndef NICRAFT_NODE_INT_H
#define NICRAFT_NODE_INT_H

#include <signal.h>

#include "data_dir.h"
#include "node.h"
#include "wal_writer.h"

#include "snap_wire.h"

struct ctl_server;

#define NODE_CHUNK_BYTES (32u << 10) /* snapshot bytes per chunk */

/* A snapshot chunk or acknowledgement between the poller (which has the
 * transport) and the control thread (which has the files). */
struct node_chunk {
    uint64_t peer;       /* to (outgoing) or from (incoming) */
    uint16_t kind;       /* NR_KIND_SNAP_CHUNK or NR_KIND_SNAP_ACK */
    bool is_end;         /* outgoing only: the stream to peer ended ... */
    bool ok;             /* ... with the follower installing it */
    struct snap_chunk c; /* .data is the data[] below */
    struct snap_ack a;
    uint8_t data[NODE_CHUNK_BYTES];
};

/* A message that may leave only once batch `batch` is durable. */
struct node_held {
    uint64_t batch;
    struct raft_msg msg; /* never carries entries (responses and votes) */
};

/* A client write proposed at index, answered when that index is applied. */
/* Where a client's answer goes: the endpoint its request came from and
 * the sender ID of its frames (several sessions may share one socket,
 * each with its own client_id: client/nr_client.h). */
struct node_reply_to {
    struct dp_endpoint ep;
    uint64_t sender;
};

struct node_waiter {
    uint64_t index;
    uint64_t client_id;
    uint64_t seq;
    struct node_reply_to src;
    uint8_t op;
};

/* A linearizable read waiting for its ReadIndex round, then for the store
 * to apply up to index. */
struct node_read {
    uint64_t ctx;   /* the round it joined */
    uint64_t index; /* 0 until the round is confirmed */
    uint64_t client_id;
    uint64_t seq;
    struct node_reply_to src;
    uint32_t key_len;
    uint8_t key[NR_KV_KEY_MAX];
};

/* Writes that arrived in this poll iteration, proposed together. */
struct node_staged {
    struct raft_proposal props[NODE_PROPOSE_MAX];
    struct node_waiter who[NODE_PROPOSE_MAX];
    uint32_t n;
    uint8_t *buf; /* their bytes, copied out of the receive buffers */
    uint32_t used, cap;
};

struct node {
    struct nr_flags f;
    struct nr_initial_cluster ic;
    uint64_t cluster_id;
    uint64_t self_id;
    bool is_bootstrap;  /* this start founded the cluster */
    bool is_join;       /* this start joined a running cluster */
    bool has_published; /* our name and client URL are in the applied state */
    uint64_t publish_sent_ns;

    struct data_dir *dir;
    char wal_dir[sizeof(((struct nr_flags *)0)->data_dir) + 16];
    char snap_dir[sizeof(((struct nr_flags *)0)->data_dir) + 16];
    struct wal_writer *writer;
    struct wal *wal;
    struct raft_node *raft;
    struct kv *kv;
    struct dp_xport *xp;
    struct node_members members;
    struct dp_endpoint self_peer, self_client;

    /* The poller's state. */
    uint64_t tick_ns, next_tick_ns;
    uint64_t batches_submitted;
    bool wal_dirty; /* appended since the last wal_submit */
    struct wal_durable durable;
    bool durable_new;      /* durable moved; the raft node is not told yet */
    bool wal_wakes;        /* the transport's idle wait wakes on WAL completions */
    uint64_t applied;      /* the store has applied up to here */
    uint64_t applied_told; /* ... and the raft node knows up to here */
    uint32_t role;
    uint64_t leader_id;
    uint64_t term;
    struct node_held *held;
    uint32_t held_head, held_n;
    struct node_waiter *waiters;
    uint32_t wait_head, wait_n;
    struct node_read *reads;
    uint32_t n_reads;
    uint64_t read_ctx_next;
    bool read_round_open; /* reads joined the round read_ctx_next */
    struct node_staged staged;
    uint8_t *enc; /* one encoded message */
    uint32_t enc_cap;
    uint64_t health_token; /* a health round in progress, or 0 */
    uint64_t health_ctx, health_started_ns;
    uint64_t now_ns;        /* this iteration's clock */
    uint64_t propose_index; /* the last proposal's first index */
    struct raft_msg rx_msg; /* the message being stepped */
    struct raft_entry rx_entries[RAFT_MSG_ENTRIES_MAX];
    uint64_t held_dropped;                   /* held messages dropped: the queue was full */
    uint64_t peer_bad;                       /* peer messages that did not decode */
    uint64_t client_bad;                     /* client requests that did not decode */
    uint64_t entries_unknown;                /* applied entries of no known class */
    uint64_t snap_count_at;                  /* applied index of the last snapshot taken */
    uint64_t snap_index, snap_term;          /* the snapshot being made */
    bool snap_in_progress;                   /* the store is copying its image */
    bool snap_with_ctl;                      /* the image is the control thread's */
    struct node_members snap_members;        /* the member table at snap_index */
    struct raft_conf snap_conf;              /* the configuration at snap_index */
    uint64_t stream_to;                      /* a snapshot stream to this member runs */
    uint64_t snap_refused[RAFT_MEMBERS_MAX]; /* snapshot sends refused: busy */
    uint32_t n_snap_refused;
    struct node_chunk *chunk_tmp; /* the poller's scratch chunk */
    struct nr_spsc chunks_out;    /* control -> poller: struct node_chunk to send */
    struct nr_spsc chunks_in;     /* poller -> control: struct node_chunk received */
    uint64_t evts_dropped;
    uint64_t removed_at_ns;                        /* we applied our own removal */
    char fatal[sizeof(((struct nr_err *)0)->msg)]; /* a fatal storage error, or "" */

    /* Shared with the control thread. */
    struct node_pub pub;
    uint64_t pub_next_ns;
    struct nr_spsc cmds; /* control -> poller: struct node_cmd */
    struct nr_spsc evts; /* poller -> control: struct node_evt */
    pthread_t ctl_thread;
    bool ctl_started;
    struct ctl_server *ctl;
    volatile sig_atomic_t stop;
    _Atomic bool poller_done;
};

/* node_boot.c */
int node_boot(struct node *n, struct nr_err *err);

/* node_join.c */
int node_join(struct node *n, struct nr_err *err);

/* node_snap.c */
/* The member table as a snapshot carries it, before the store's image:
 * magic, version, count, then per member its flags (started, in the
 * configuration), a length and a member record (members_wire.h).
 * Encoding returns the length or NR_EBUSY (cap too small); decoding takes
 * bytes from a file or a peer and returns the bytes used, or NR_EINVAL
 * naming the field (also for a table cut short: the caller may read more
 * and try again). */
int node_members_encode(const struct node_members *t, uint8_t *buf, uint32_t cap,
                        struct nr_err *err);
int node_members_decode(const uint8_t *buf, uint64_t len, struct node_members *t,
                        struct nr_err *err);
int node_snap_load(struct node *n, struct nr_err *err);

/* node_poll.c */
uint64_t node_now_ns(void);
void node_fatal(struct node *n, const struct nr_err *err);
/* Steps one input and handles its output completely. */
void node_step(struct node *n, const struct raft_input *in);
void node_handle_output(struct node *n, const struct raft_input *in, const struct raft_output *out);
/* Queues one message; a full batch is flushed and the send tried once
 * more (a message still refused is lost, as on a wire: raft resends and
 * clients retry). */
void node_send(struct node *n, uint32_t local, const struct dp_endpoint *dst, uint64_t receiver,
               uint16_t kind, const void *data, uint32_t len);
void node_send_raft(struct node *n, const struct raft_msg *m);
void node_log(const struct node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* node_snap.c */
void node_snap_send(struct node *n, const struct raft_msg *m);
void node_snap_tick(struct node *n);
void node_snap_write(struct node *n, const struct node_evt *e);
void node_snap_done(struct node *n, const struct node_cmd *c);
void node_snap_received(struct node *n, const struct node_cmd *c);
uint32_t node_stream_poll(struct node *n);

/* node_stream.c (the control thread's) */
void node_stream_start(struct node *n, const struct node_evt *e);
void node_stream_duties(struct node *n);
void node_snap_installed(struct node *n, const struct raft_snap_meta *meta);
void node_snap_msg(struct node *n, const struct dp_msg *m);
uint32_t node_snap_poll(struct node *n);

/* node_apply.c */
void node_tick_duties(struct node *n);
void node_leadership_lost(struct node *n);
bool node_removed_done(const struct node *n);
void node_member_attr_msg(struct node *n, const struct dp_msg *m);
void node_apply(struct node *n, const struct raft_entries *apply);
void node_conf_applied(struct node *n, const struct raft_conf *conf);
struct node_member *node_member_find(struct node *n, uint64_t id);
int node_member_add(struct node *n, const struct nr_member *m, struct nr_err *err);
void node_answer_reads(struct node *n);
void node_publish_attrs(struct node *n);

/* node_client.c */
void node_client_request(struct node *n, const struct dp_msg *m);
void node_client_reply(struct node *n, const struct node_reply_to *dst, const struct nr_kv_resp *r);
void node_client_error(struct node *n, const struct node_reply_to *dst, uint8_t op,
                       uint64_t client_id, uint64_t seq, uint8_t status, const char *msg);
void node_propose_staged(struct node *n);
void node_reads_confirmed(struct node *n, const struct raft_reads *reads);
void node_members_request(struct node *n, const struct dp_msg *m);

/* node_pub.c */
void node_publish(struct node *n, uint64_t now_ns);
void node_view_read(struct node *n, struct node_view *v);

/* node_ctl.c */
int node_ctl_start(struct node *n, struct nr_err *err);
void node_ctl_join(struct node *n);
uint32_t node_cmds_handle(struct node *n);
void node_evt_post(struct node *n, const struct node_evt *e);
/* The control thread's way to hand the poller something that must not be
 * lost: waits while the ring is full (the poller drains it every
 * iteration); false when the poller has stopped. */
bool node_ctl_push(struct node *n, struct nr_spsc *ring, const void *elem);

#endif
