/* scen.h - the scenario runner's in-memory cluster of real raft cores.
 *
 * Each node is a real struct raft_node from the production library, driven
 * the way a poller drives it (CONVENTIONS section 2): outputs are written to
 * a simulated WAL, messages go to one FIFO network queue, send_after_sync
 * messages wait until the sender's WAL is durable, committed entries are
 * applied to a tiny state machine (a digest), reads are printed.
 *
 * Everything a command observes is printed into the cluster's output buffer
 * in a stable format; the runner compares it byte for byte with the file.
 * This is test code: it allocates freely, and its limits are generous but
 * checked (a scenario that exceeds them gets an "error:" line).
 */
#ifndef NICRAFT_SCEN_H
#define NICRAFT_SCEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define SCEN_NODES_MAX 16     /* member IDs 1..16 */
#define SCEN_LOG_MAX 4096     /* entries per node's simulated WAL, and highest index */
#define SCEN_DATA_MAX 32      /* bytes of one proposed entry's data */
/* bytes the simulated WAL keeps per entry: a configuration change with the
 * most items (raft_cc_encode) is longer than any proposed data */
#define SCEN_ENTRY_BYTES_MAX RAFT_CC_WIRE_MAX
#define SCEN_NET_MAX 4096     /* messages queued in the network at once */
#define SCEN_FOLLOWUPS_MAX 64 /* persisted/applied steps after one input */

/* ---- output buffer ---------------------------------------------------- */

struct scen_buf {
    char *p;
    size_t len;
    size_t cap;
};

/* calloc that never returns NULL: the runner stops on exhaustion. */
void *scen_xcalloc(size_t n, size_t size);

void scen_buf_init(struct scen_buf *b);
void scen_buf_free(struct scen_buf *b);
void scen_buf_reset(struct scen_buf *b);
void scen_printf(struct scen_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- simulated storage and state machine ------------------------------ */

struct scen_entry {
    uint64_t term;
    uint64_t index;
    uint32_t type;
    uint32_t len;
    uint8_t data[SCEN_ENTRY_BYTES_MAX];
};

/* One node's WAL: hard state, last snapshot and the entries after it. */
struct scen_store {
    struct raft_hard_state hs;
    struct raft_snap_meta snap;
    uint64_t snap_digest;   /* the state machine at snap.index */
    struct scen_entry *log; /* SCEN_LOG_MAX slots; log[i].index == snap.index + 1 + i */
    uint32_t n_log;
};

/* scen_store.c: the simulated WAL. */
void scen_store_init(struct scen_store *s);
void scen_store_free(struct scen_store *s);
void scen_store_copy(struct scen_store *dst, const struct scen_store *src);
/* The last index and its term (the snapshot's when the log is empty). */
void scen_store_last(const struct scen_store *s, uint64_t *index, uint64_t *term);
/* Appends entries, first dropping the suffix from entries[0].index. 0, or
 * NR_ERANGE when they leave a gap or pass SCEN_LOG_MAX. */
int scen_store_append(struct scen_store *s, const struct raft_entry *e, uint32_t n,
                      struct nr_err *err);
/* Records a snapshot; keeps the entries after it when the log matches it. */
void scen_store_install(struct scen_store *s, const struct raft_snap_meta *meta, uint64_t digest);

/* ---- network ---------------------------------------------------------- */

struct scen_msg {
    struct raft_msg m;       /* m.entries points at ents */
    struct raft_entry *ents; /* copies, data pointing into blob */
    uint8_t *blob;
    bool is_after_sync;   /* came out of send_after_sync */
    bool is_held;         /* waits for the sender's next sync */
    bool has_snap_bytes;  /* RAFT_MSG_SNAPSHOT: the sender had the snapshot */
    uint64_t snap_digest; /* ... and these are its "bytes" */
};

/* ---- nodes and cluster ------------------------------------------------ */

struct scen_node {
    uint64_t id;
    bool is_member;         /* created by `cluster` */
    struct raft_node *raft; /* NULL while crashed */
    struct raft_config cfg;
    struct raft_conf boot_conf; /* the bootstrap configuration (wipe=true) */
    bool is_boot_entries;       /* ... written as entries 1..N (bootstrap=entries) */
    struct scen_store wal;      /* written, maybe not yet durable */
    struct scen_store durable;  /* what survives a crash */
    bool is_sync_manual;        /* durable only on `sync` */
    bool has_unsynced;          /* wal differs from durable */
    bool has_unsynced_entries;  /* ... in its entries or snapshot */
    bool is_persist_due;        /* step RAFT_IN_PERSISTED next */
    bool is_apply_due;          /* step RAFT_IN_APPLIED next */
    uint64_t sm_applied;        /* state machine: applied index ... */
    uint64_t *digest_at;        /* ... and its digest after each index */
    int group;                  /* partition group; equal groups talk */
    /* what was last printed about this node, to print changes only */
    uint32_t shown_role;
    uint64_t shown_term;
    uint64_t shown_vote;
    uint64_t shown_leader;
    struct raft_conf shown_conf; /* the configuration last printed or booted */
};

/* One entry the cluster has seen applied at an index: every node must apply
 * the same one there (State Machine Safety, Raft paper Figure 3). */
struct scen_applied {
    uint64_t term;
    uint64_t hash;
    uint64_t first_node;
};

struct scen_cluster {
    struct scen_node nodes[SCEN_NODES_MAX + 1]; /* by member ID */
    struct scen_msg *net[SCEN_NET_MAX];         /* FIFO, oldest first */
    uint32_t n_net;
    struct scen_applied *applied; /* by index, SCEN_LOG_MAX + 1 */
    struct scen_buf *out;         /* where commands print */
    const char *indent;           /* "" or "  " (inside deliver) */
    /* from the last input's output (not the follow-ups') */
    uint64_t last_propose_index;
    uint64_t last_propose_term;
    uint64_t last_leader_id;
    /* what `add-node` gives a new member: the `cluster` command's config
     * (id and seed replaced) and seed */
    struct raft_config base_cfg;
    uint64_t seed;
    /* set by `cluster` with learners= or bootstrap=entries and by the
     * membership commands: `status` prints each node's configuration, and a
     * step that applies one prints it (the files written before membership
     * print neither) */
    bool is_conf_shown;
};

void scen_cluster_init(struct scen_cluster *c, struct scen_buf *out);
void scen_cluster_free(struct scen_cluster *c);
/* Node by ID, or NULL (with an error line printed) when not a member. */
struct scen_node *scen_node_get(struct scen_cluster *c, uint64_t id);
/* Node by ID that is also running (not crashed), or NULL with an error line. */
struct scen_node *scen_node_up(struct scen_cluster *c, uint64_t id);

/* Creates (or recreates from its durable store) node id's raft core. 0, or
 * the raft_create() code with the sentence printed. */
int scen_node_boot(struct scen_cluster *c, struct scen_node *n);
void scen_node_crash(struct scen_cluster *c, struct scen_node *n);
/* Makes node n's WAL durable, releases its held messages and tells the core. */
void scen_node_sync(struct scen_cluster *c, struct scen_node *n);

/* Steps one input into n, handles the output like a poller, then steps the
 * follow-up RAFT_IN_PERSISTED / RAFT_IN_APPLIED inputs. via: the delivered
 * message (for a snapshot's bytes), or NULL. Returns raft_step()'s code. */
int scen_node_step(struct scen_cluster *c, struct scen_node *n, const struct raft_input *in,
                   const struct scen_msg *via, struct nr_err *err);

/* Queues a copy of m, sent by n; an after-sync message waits while n has
 * unsynced writes. */
void scen_net_enqueue(struct scen_cluster *c, struct scen_node *n, const struct raft_msg *m,
                      bool is_after_sync);
/* Releases (or, is_drop, discards) the messages held for from's sync; from
 * 0: every node's. */
void scen_net_release_held(struct scen_cluster *c, uint64_t from, bool is_drop);

/* Delivers the messages queued now that match from/to (0: any); returns how
 * many were delivered or dropped. */
uint32_t scen_deliver(struct scen_cluster *c, uint64_t from, uint64_t to);
/* Drops the queued messages that match from/to; returns how many. */
uint32_t scen_drop(struct scen_cluster *c, uint64_t from, uint64_t to);
/* Whether any queued message is deliverable (not held for a sync). */
bool scen_has_deliverable(const struct scen_cluster *c);

/* Compacts node n's log at index (<= applied): writes the snapshot to its
 * store and steps RAFT_IN_COMPACT. */
int scen_node_compact(struct scen_cluster *c, struct scen_node *n, uint64_t index,
                      struct nr_err *err);

/* Prints state changes of n since last shown (role, term, vote, leader). */
void scen_show_state(struct scen_cluster *c, struct scen_node *n);

/* ---- printing (scen_print.c) ------------------------------------------ */

const char *scen_msg_type_name(uint32_t type);
const char *scen_role_name(uint32_t role);
bool scen_msg_type_parse(const char *s, uint32_t *type);
void scen_print_msg(struct scen_buf *b, const struct raft_msg *m);
void scen_print_status(struct scen_buf *b, const struct raft_node *raft);
/* scen_print_status, with a `  conf ...` line after the first when is_conf_shown. */
void scen_print_status_ex(struct scen_buf *b, const struct raft_node *raft, bool is_conf_shown);
/* voters=(1,2,3) or voters=(1,2,4)&&(1,2,3) when joint, then learners=(..),
 * learners_next=(..) and autoleave when present; IDs sorted. */
void scen_print_conf(struct scen_buf *b, const struct raft_conf *conf);
bool scen_conf_equal(const struct raft_conf *a, const struct raft_conf *b);
/* A RAFT_ENTRY_CONF entry's data as the `conf` command's words:
 * "simple l4", "joint autoleave v4 r3", "leave", or "undecodable". */
void scen_print_cc(struct scen_buf *b, const uint8_t *data, uint32_t len);
void scen_print_stats(struct scen_buf *b, const struct raft_node *raft);
void scen_print_log(struct scen_buf *b, const struct raft_node *raft);

/* ---- commands (scen_cmds.c) ------------------------------------------- */

/* Runs one command line, printing its output into c->out. */
void scen_run_command(struct scen_cluster *c, const char *line);

#endif
