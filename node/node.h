/* node.h - nicraftd: one raft group, its WAL, its key-value store and its
 * transport, driven by one poller thread; a control thread beside it.
 *
 * Who owns what (CONVENTIONS section 1.4):
 *  - the poller (the main thread, pinned): the raft node, the WAL and its
 *    io_uring, the store, the transport, the member table, every client
 *    request in flight. It never blocks and never allocates after start.
 *  - the control thread: the control socket, spare WAL segments, snapshot
 *    files. It reads what the poller publishes (struct node_pub, a
 *    sequence lock: one writer, readers retry) and asks the poller for
 *    anything else through a ring (struct node_cmd); the poller answers
 *    through another (struct node_evt).
 *
 * The raft group's member details (names and URLs) are state-machine
 * state: bootstrap writes them as log entries after the founding
 * configuration, publishing (SPEC section 2 rule 9) updates them, and
 * snapshots carry them. */
#ifndef NICRAFT_NODE_H
#define NICRAFT_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "client_wire.h"
#include "dp_xport.h"
#include "kv.h"
#include "node_flags.h"
#include "node_ids.h"
#include "nr_err.h"
#include "nr_kinds.h"
#include "nr_member.h"
#include "nr_spsc.h"
#include "raft.h"
#include "wal.h"

#define NODE_VERSION "0.1.0"
#define NODE_LOCAL_PEER 0u /* dp_xport local endpoint indexes */
#define NODE_LOCAL_CLIENT 1u
#define NODE_HELD_MAX 4096u     /* messages waiting for their batch to be durable */
#define NODE_WAITERS_MAX 65536u /* client writes proposed, not yet applied */
#define NODE_READS_MAX 4096u    /* linearizable reads waiting */
#define NODE_PROPOSE_MAX 1024u  /* writes proposed in one step */
#define NODE_ERRORS_MAX 4u      /* sentences endpoint status shows */

/* A member as the state machine knows it. */
struct node_member {
    struct nr_member m;          /* name "" while unstarted */
    struct dp_endpoint peer;     /* m.peer_urls[0], parsed */
    struct dp_endpoint client;   /* m.client_urls[0], parsed; 0 when none */
    bool started;                /* it published its name and client URLs */
    bool in_conf;                /* in the applied configuration */
    uint64_t last_heard_ns;      /* a raft message from it last arrived; 0: never */
    uint64_t connected_since_ns; /* it has been heard from without a gap (of an
                                    election timeout) since then */
};

struct node_members {
    struct node_member v[RAFT_MEMBERS_MAX];
    uint32_t n;
};

/* What the poller publishes for the control thread (every few ms). */
struct node_view {
    struct raft_status st;
    struct raft_progress_view prog[RAFT_MEMBERS_MAX];
    uint32_t n_prog;
    struct node_members members;
    struct kv_stats kv;
    uint64_t wal_batches;         /* WAL batches durable since start */
    uint64_t other_cluster_drops; /* frames of another cluster, dropped */
    /* Outside input refused or lost, by reason (never reset). */
    uint64_t peer_bad;        /* peer messages that did not decode */
    uint64_t client_bad;      /* client requests that did not decode */
    uint64_t entries_unknown; /* applied entries of no known kind */
    uint64_t held_dropped;    /* responses dropped: the hold queue was full */
    uint64_t evts_dropped;    /* events the control thread missed: ring full */
    struct raft_stats raft;   /* the core's refusals */
    uint64_t now_ns;
    char errors[NODE_ERRORS_MAX][sizeof(((struct nr_err *)0)->msg)];
    uint32_t n_errors;
};

struct node_pub {
    _Atomic uint32_t seq; /* odd while the poller writes */
    struct node_view view;
};

/* Control thread -> poller. */
enum node_cmd_kind {
    NODE_CMD_HEALTH = 1,    /* confirm leadership through a ReadIndex round */
    NODE_CMD_SNAP_DONE,     /* the snapshot file of .index is durable */
    NODE_CMD_SNAP_FAILED,   /* writing it failed: release the image */
    NODE_CMD_SNAP_RECEIVED, /* a streamed snapshot's file is durable: step .msg */
};

struct node_cmd {
    uint32_t kind;
    uint64_t token; /* echoed in the event that answers */
    uint64_t index;
    uint64_t term;
    struct raft_msg msg; /* SNAP_RECEIVED: the leader's RAFT_MSG_SNAPSHOT */
};

/* Poller -> control thread. */
enum node_evt_kind {
    NODE_EVT_HEALTH = 1, /* .ok, .took_ns, .msg */
    NODE_EVT_SNAP_IMAGE, /* the store's image at .index/.term is frozen */
    NODE_EVT_SNAP_SEND,  /* stream the snapshot .msg names to member .to */
};

struct node_evt {
    uint32_t kind;
    uint64_t token;
    uint64_t index;
    uint64_t term;
    bool ok;
    uint64_t took_ns;
    uint64_t to;
    struct raft_msg msg;
    char text[160];
};

struct node;

/* Everything up to a running poller: flags checked, data directory opened,
 * bootstrap / join / restart (SPEC section 2 rule 8), WAL replayed, store
 * and raft node created, transport up. 0, or an error whose sentence is
 * what nicraftd prints before exiting. */
int node_create(const struct nr_flags *flags, struct node **out, struct nr_err *err);
void node_destroy(struct node *n);

/* Runs the poller on this thread until node_stop (or the node's own
 * removal, or a fatal storage error: then the error is returned). Starts
 * the control thread first and joins it last. */
int node_run(struct node *n, struct nr_err *err);

/* Asks the node to stop: safe from a signal handler. A leader first hands
 * leadership to another voter. */
void node_stop(struct node *n);

#endif
