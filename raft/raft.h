/* raft.h - the nicraft raft core: a pure, deterministic state machine.
 *
 * The only header of raft/ that other folders include. The core does no I/O,
 * reads no clock, makes no system call and allocates only in raft_create().
 * Same state and same inputs give the same outputs (the random source is a
 * field seeded at creation), so the simulator in tests/sim/ can run many
 * nodes from one seed.
 *
 * Driving a node (one owner thread per node; nodes share nothing):
 *
 *     struct raft_output out;
 *     struct nr_err err;
 *     int rc = raft_step(node, &in, &out, &err);   // rc < 0: refused, counted
 *     persist(out.persist, out.hard_state);         // in order, one batch
 *     send(out.send_now);                           // may leave at once
 *     hold_until_durable(out.send_after_sync);      // copy; release after the
 *                                                   // batch (and all earlier
 *                                                   // ones) is durable
 *     install(out.install); apply(out.apply); answer(out.reads);
 *     raft_advance(node, &out);
 *
 * Whatever raft_step() returns, *out is valid (possibly empty: a refusal may
 * still carry a reply that tells a stale sender the current term) and must be
 * handled, then raft_advance()d, before the next raft_step().
 */
#ifndef NICRAFT_RAFT_H
#define NICRAFT_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nr_err.h"

#define RAFT_VOTERS_MAX 9          /* per majority; linear scans are fine */
#define RAFT_LEARNERS_MAX 8
#define RAFT_MEMBERS_MAX 32        /* voters (both halves) + learners */
#define RAFT_MSG_ENTRIES_MAX 1024  /* entries in one append message */
#define RAFT_PROPOSE_MAX 1024      /* entries in one proposal */
#define RAFT_ID_NONE 0             /* member IDs are non-zero */
/* Terms and indexes from outside beyond these are refused: no real cluster
 * reaches them, and staying far below 2^64 means term + 1 and index + n
 * never wrap (a wrapped term would stall every election for good). */
#define RAFT_TERM_MAX (UINT64_C(1) << 62)
#define RAFT_INDEX_MAX (UINT64_C(1) << 62)

/* ---- configuration -------------------------------------------------- */

/* A cluster configuration. Outside a joint configuration only voters[] and
 * learners[] are used; while joint, voters[] is the incoming majority C(new)
 * and voters_outgoing[] the outgoing one C(old) (Raft thesis 4.3). The
 * changes themselves (adding, removing, promoting, joint entry and exit)
 * are the next step; the types already carry what they need. */
struct raft_conf {
    uint64_t voters[RAFT_VOTERS_MAX];
    uint64_t voters_outgoing[RAFT_VOTERS_MAX];
    uint64_t learners[RAFT_LEARNERS_MAX];
    uint64_t learners_next[RAFT_LEARNERS_MAX]; /* demoted voters, learners on leave */
    uint32_t n_voters;
    uint32_t n_voters_outgoing;
    uint32_t n_learners;
    uint32_t n_learners_next;
    bool auto_leave;
};

/* ---- configuration changes (confchange.c; pure) ----------------------- */

#define RAFT_CC_ITEMS_MAX 16

enum raft_cc_op {
    RAFT_CC_ADD_VOTER = 1, /* add a voter, or promote a learner */
    RAFT_CC_ADD_LEARNER,   /* add a learner, or demote a voter */
    RAFT_CC_REMOVE,
    RAFT_CC_UPDATE,        /* no effect on the configuration (URLs live outside) */
};

enum raft_cc_kind {
    RAFT_CC_SIMPLE = 1,  /* at most one voter changes (SPEC section 2 rule 2) */
    RAFT_CC_ENTER_JOINT, /* any changes; C(old,new) until left (rule 5) */
    RAFT_CC_LEAVE_JOINT, /* C(old,new) -> C(new); no items */
};

struct raft_cc_item {
    uint32_t op; /* enum raft_cc_op */
    uint64_t id; /* 0: the item is ignored, as etcd does */
};

struct raft_conf_change {
    uint32_t kind;   /* enum raft_cc_kind */
    bool auto_leave; /* ENTER_JOINT: the leader leaves by itself once applied */
    uint32_t n_items;
    struct raft_cc_item items[RAFT_CC_ITEMS_MAX];
};

/* A configuration and the member records a change keeps, creates or drops
 * (the leader's progress follows the records: a kept record keeps its
 * replication state). */
struct raft_member_rec {
    uint64_t id;
    uint64_t next_index; /* set when the record is created */
    bool is_learner;     /* false for a voter staged in learners_next */
};

struct raft_membership {
    struct raft_conf conf;
    struct raft_member_rec recs[RAFT_MEMBERS_MAX];
    uint32_t n_recs;
};

/* Records for every member of conf (learner flags from conf->learners). */
void raft_membership_from_conf(struct raft_membership *m, const struct raft_conf *conf,
                               uint64_t next_index);
/* Applies cc to *m. New records get next_index = max(last_index, 1). On an
 * error (NR_EREFUSED, with etcd's sentence: "removed all voters", "more than
 * one voter changed without entering joint config", "config is already
 * joint", ...) *m is unchanged. */
int raft_membership_apply(struct raft_membership *m, const struct raft_conf_change *cc,
                          uint64_t last_index, struct nr_err *err);
/* The invariants of a membership (every member has a record, learners_next
 * within the outgoing voters, no member both learner and voter, nothing
 * joint-only outside a joint configuration): 0 or NR_ECORRUPT naming one. */
int raft_membership_check(const struct raft_membership *m, struct nr_err *err);
bool raft_conf_is_joint(const struct raft_conf *conf);
bool raft_conf_has_voter(const struct raft_conf *conf, uint64_t id);
bool raft_conf_has_member(const struct raft_conf *conf, uint64_t id);

/* The entry data of a RAFT_ENTRY_CONF proposal: 8 bytes of header then 16
 * per item, little-endian. */
#define RAFT_CC_WIRE_MAX (8u + 16u * RAFT_CC_ITEMS_MAX)
uint32_t raft_cc_encode(const struct raft_conf_change *cc, uint8_t *buf);
/* 0, or NR_EINVAL naming the bad field (data from a log or a peer). */
int raft_cc_decode(const uint8_t *data, uint32_t len, struct raft_conf_change *cc,
                   struct nr_err *err);

/* ---- log, state and messages ---------------------------------------- */

enum raft_entry_type {
    RAFT_ENTRY_NORMAL = 0, /* client data */
    RAFT_ENTRY_NOOP = 1,   /* a new leader's first entry (Raft paper 5.4.2) */
    RAFT_ENTRY_CONF = 2,   /* configuration change: raft_cc_encode() data */
};

struct raft_entry {
    uint64_t term;
    uint64_t index;
    uint32_t type; /* enum raft_entry_type */
    uint32_t len;  /* bytes at data */
    const uint8_t *data; /* in outputs: node-owned until raft_advance() */
};

struct raft_hard_state {
    uint64_t term;
    uint64_t vote;   /* member voted for in term, RAFT_ID_NONE if none */
    uint64_t commit; /* highest index known committed */
};

/* What a snapshot covers; its bytes are opaque to the core and travel
 * outside it (the control thread streams them, the simulator copies them). */
struct raft_snap_meta {
    uint64_t index;
    uint64_t term;
    struct raft_conf conf;
};

enum raft_msg_type {
    RAFT_MSG_APPEND = 1,        /* index/log_term: previous entry; entries[] */
    RAFT_MSG_APPEND_RESP,       /* index: last matched, or rejected index */
    RAFT_MSG_VOTE,              /* index/log_term: candidate's last entry */
    RAFT_MSG_VOTE_RESP,         /* reject: vote denied */
    RAFT_MSG_PREVOTE,           /* term: the term the candidate would use */
    RAFT_MSG_PREVOTE_RESP,
    RAFT_MSG_HEARTBEAT,         /* commit: min(follower match, commit); ctx */
    RAFT_MSG_HEARTBEAT_RESP,    /* ctx echoed (ReadIndex rounds) */
    RAFT_MSG_SNAPSHOT,          /* snap: what to install; bytes outside */
    RAFT_MSG_TIMEOUT_NOW,       /* leadership transfer: campaign at once */
};
#define RAFT_MSG_TYPE_MAX RAFT_MSG_TIMEOUT_NOW

struct raft_msg {
    uint32_t type; /* enum raft_msg_type */
    bool reject;
    bool transfer;        /* a vote caused by leadership transfer (bypasses lease) */
    uint64_t from;
    uint64_t to;
    uint64_t term;
    uint64_t index;
    uint64_t log_term;
    uint64_t commit;
    uint64_t reject_hint;       /* APPEND_RESP reject: a probe index ... */
    uint64_t reject_hint_term;  /* ... and the follower's term there */
    uint64_t ctx;               /* HEARTBEAT(_RESP): ReadIndex round */
    uint32_t n_entries;
    const struct raft_entry *entries;
    struct raft_snap_meta snap; /* RAFT_MSG_SNAPSHOT only */
};

/* ---- inputs ---------------------------------------------------------- */

enum raft_input_kind {
    RAFT_IN_TICK = 1,      /* one logical tick elapsed */
    RAFT_IN_RECV,          /* .msg: a decoded message from a peer */
    RAFT_IN_PROPOSE,       /* .propose: entries from clients (leader only) */
    RAFT_IN_READ_INDEX,    /* .read_ctx: a linearizable read request */
    RAFT_IN_TRANSFER,      /* .target: hand leadership to this voter */
    RAFT_IN_PERSISTED,     /* .index/.term: the WAL is durable up to here */
    RAFT_IN_APPLIED,       /* .index: the state machine applied up to here */
    RAFT_IN_COMPACT,       /* .index: a snapshot at .index is durable; the
                              in-memory log may drop entries up to it */
    RAFT_IN_SNAP_STATUS,   /* .target/.snap_failed: a snapshot send ended */
};

struct raft_proposal {
    uint32_t type; /* RAFT_ENTRY_NORMAL, or RAFT_ENTRY_CONF alone in its
                      proposal (one change pending at a time: NR_EBUSY;
                      a change the configuration refuses: NR_EREFUSED) */
    uint32_t len;
    const uint8_t *data; /* caller-owned; copied into the node's log */
};

struct raft_input {
    uint32_t kind; /* enum raft_input_kind */
    const struct raft_msg *msg;
    const struct raft_proposal *propose;
    uint32_t n_propose;
    uint64_t read_ctx;
    uint64_t target;
    uint64_t index;
    uint64_t term;
    bool snap_failed;
};

/* ---- outputs --------------------------------------------------------- */

struct raft_msgs {
    const struct raft_msg *v;
    uint32_t n;
};

struct raft_entries {
    const struct raft_entry *v;
    uint32_t n;
};

/* A linearizable read is answered once the state machine has applied
 * .index (ReadIndex, Raft thesis 6.4). */
struct raft_read_state {
    uint64_t ctx;
    uint64_t index;
};

struct raft_reads {
    const struct raft_read_state *v;
    uint32_t n;
};

enum raft_role {
    RAFT_FOLLOWER = 0,
    RAFT_PRE_CANDIDATE,
    RAFT_CANDIDATE,
    RAFT_LEADER,
};

/* One step's output. Everything it points to belongs to the node until
 * raft_advance(). Entries in persist[] may start at or below an index the
 * WAL already holds: storage then drops its suffix from that index first.
 * A batch is written in this order: the snapshot (install), the entries,
 * then the hard state, as etcd's WAL does: a torn batch may lose its hard
 * state but never keeps a commit index or a vote ahead of its entries (a
 * commit index written first could cover a stale suffix that the lost
 * entries were replacing). */
struct raft_output {
    struct raft_msgs send_now;        /* may leave at once */
    struct raft_msgs send_after_sync; /* only once this step's batch and every
                                         earlier one are durable */
    struct raft_entries persist;      /* append to the WAL, in order */
    struct raft_hard_state hard_state;
    bool hard_state_changed;          /* persist hard_state with the batch */
    const struct raft_snap_meta *install; /* install this snapshot (its bytes
                                         came with the RAFT_MSG_SNAPSHOT), then
                                         persist it with the batch; or NULL */
    struct raft_entries apply;        /* committed, durable here, in order;
                                         after the install, if any */
    struct raft_reads reads;          /* confirmed ReadIndex requests */
    uint64_t snap_wanted_for;         /* a follower needs a snapshot (the
                                         RAFT_MSG_SNAPSHOT in send_now names
                                         index and term); informational */
    uint64_t propose_index;           /* RAFT_IN_PROPOSE: index given to the
                                         first proposed entry */
    uint64_t propose_term;
    const struct raft_conf *conf;     /* the configuration, when a change was
                                         applied in this step; else NULL */
    uint64_t conf_index;              /* the entry that made it */
    uint64_t leader_id;               /* current leader, RAFT_ID_NONE if unknown */
    uint32_t role;                    /* enum raft_role after this step */
};

/* ---- creation -------------------------------------------------------- */

struct raft_config {
    uint64_t id;               /* this member, non-zero */
    uint32_t election_ticks;   /* timeout drawn from [e, 2e) */
    uint32_t heartbeat_ticks;  /* < election_ticks */
    uint32_t inflight_max;     /* appends in flight per follower, >= 1 */
    uint32_t msg_bytes_max;    /* entry bytes per append message */
    uint32_t log_entries_max;  /* in-memory log window, entries */
    uint64_t log_bytes_max;    /* in-memory log window, entry data bytes */
    uint32_t apply_batch_max;  /* entries handed out per step for applying */
    uint32_t read_queue_max;   /* pending ReadIndex requests */
    uint64_t learner_lag_entries_max; /* a learner within this many entries of
                                         the leader's last index ... */
    uint32_t learner_ready_ticks;     /* ... for this many ticks is ready */
    bool pre_vote;             /* Raft thesis 9.6 */
    bool check_quorum;         /* leader steps down without a live quorum */
    uint64_t seed;             /* the node's random source */
    uint32_t bugs;             /* simulator builds only (RAFT_BUG_*); must be
                                  0 in production, where it is refused */
};

/* Fills *cfg with defaults for id and seed: election 10 ticks, heartbeat 1,
 * 256 appends in flight, 1 MiB per message, a 64 Ki-entry / 64 MiB window,
 * 1024 entries applied per step, 1024 queued reads, learners ready within
 * 1000 entries for 20 ticks, pre-vote and check-quorum on. */
void raft_config_default(struct raft_config *cfg, uint64_t id, uint64_t seed);

/* What a node restarts from: its durable hard state, its last snapshot's
 * metadata (index 0 when none) and the log entries after it, in order.
 * The configuration is snap.conf plus the RAFT_ENTRY_CONF entries up to
 * applied_index; later ones take effect as they are applied again.
 * Founding a cluster, one of two ways, the same on every member:
 *  - entries (SPEC section 2 rule 8): the founding configuration as
 *    RAFT_ENTRY_CONF entries 1..N at term 1, committed; a member that joins
 *    later boots with an empty configuration and learns every configuration
 *    from the log or a snapshot;
 *  - agreement: the founding configuration in snap.conf at index 0, like
 *    etcd's --initial-cluster; no entry carries it, so a member that joins
 *    later must boot with the same snap.conf at index 0 too, then applies
 *    the changes that followed (one that boots empty refuses them as
 *    changes of an empty configuration: refused_conf counts them).
 * A member with no configuration takes messages from any sender until it
 * has one, and never campaigns before it is a voter. */
struct raft_boot {
    struct raft_hard_state hard_state;
    struct raft_snap_meta snap;
    const struct raft_entry *entries; /* copied; caller keeps ownership */
    uint32_t n_entries;
    uint64_t applied_index; /* the state machine holds everything up to here */
};

struct raft_node;

/* Creates a node, allocating (and touching, so the poller never takes a
 * page fault on it) everything it will ever use. 0, or NR_EINVAL (the
 * sentence names the field) for a bad config or a boot state that
 * contradicts itself (entries not contiguous with the snapshot, terms going
 * down, a snapshot at an index with term 0, values beyond RAFT_TERM_MAX /
 * RAFT_INDEX_MAX), NR_ENOMEM. A log whose last term is beyond the hard
 * state's is a batch torn after its entries (see struct raft_output): the
 * node takes that term with no vote. A commit index beyond the log cannot
 * come from a WAL written in that order; it is clamped and counted
 * (clamped_commit), and telling a damaged WAL apart is the storage layer's
 * job. */
int raft_create(const struct raft_config *cfg, const struct raft_boot *boot,
                struct raft_node **out, struct nr_err *err);
void raft_destroy(struct raft_node *node);

/* Steps one input. 0 when accepted; a negative NR_E* code with *err filled
 * when refused (the node's state is then unchanged, and the refusal is
 * counted in raft_stats), except NR_ERANGE on a heartbeat whose commit index
 * lies beyond the local log: it is clamped to the log's end, counted, and
 * the rest of the message handled. *out is valid in every case; see the top. */
int raft_step(struct raft_node *node, const struct raft_input *in, struct raft_output *out,
              struct nr_err *err);

/* Releases *out's buffers: the caller has handled all of it. */
void raft_advance(struct raft_node *node, const struct raft_output *out);

/* ---- observation ----------------------------------------------------- */

enum raft_progress_state {
    RAFT_PROGRESS_PROBE = 0,
    RAFT_PROGRESS_REPLICATE,
    RAFT_PROGRESS_SNAPSHOT,
};

/* The leader's view of one member. */
struct raft_progress_view {
    uint64_t id;
    uint64_t match_index;
    uint64_t next_index;
    uint32_t state; /* enum raft_progress_state */
    uint32_t inflight;
    bool is_learner;
    bool recent_active;
    uint64_t last_active_tick; /* node tick count when last heard from */
    uint64_t lag_entries;      /* leader's last index - match */
    uint64_t in_bound_ticks;   /* ticks the lag has stayed within the bound */
    bool is_ready;             /* learners: may be promoted (SPEC 2 rule 4) */
};

struct raft_status {
    uint64_t id;
    uint32_t role;
    uint64_t leader_id;
    struct raft_hard_state hard_state;
    uint64_t first_index;    /* first entry in the in-memory log */
    uint64_t last_index;
    uint64_t persisted_index;
    uint64_t applied_index;
    uint64_t snap_index;
    uint64_t snap_term;
    uint64_t ticks;          /* ticks since creation */
    uint64_t transfer_target; /* leadership transfer in progress, or 0 */
    uint64_t pending_conf_index; /* leader: a change up to here is not applied */
    bool is_member;           /* this node is in its configuration */
    struct raft_conf conf;
};

/* Refusals and clamps of outside input, by reason; never reset. */
struct raft_stats {
    uint64_t refused_stale_term;
    uint64_t refused_unknown_sender;
    uint64_t refused_malformed;
    uint64_t clamped_commit;      /* a commit index beyond the local log */
    uint64_t refused_not_leader;
    uint64_t refused_busy;
    uint64_t refused_conflict;    /* an append contradicting the committed log */
    uint64_t refused_conf;        /* a committed change the configuration refused */
    uint64_t conf_applied;        /* configuration changes applied */
    uint64_t out_full;            /* a message not emitted: output array full */
    uint64_t msgs_stepped;
};

void raft_status(const struct raft_node *node, struct raft_status *st);
void raft_stats(const struct raft_node *node, struct raft_stats *stats);
/* Fills up to max views (leader only; 0 elsewhere); returns how many. */
uint32_t raft_progress(const struct raft_node *node, struct raft_progress_view *v, uint32_t max);
/* Leader only: 0 when learner id is ready for promotion (SPEC section 2
 * rule 4), else NR_EREFUSED with the figures ("refused: learner ... is 5230
 * entries behind the leader ...; promotion needs at most 1000"),
 * NR_ENOTLEADER or NR_EUNKNOWN. The control layer asks before proposing a
 * promotion; --force skips the question, not the core's other rules. */
int raft_check_ready(const struct raft_node *node, uint64_t id, struct nr_err *err);
/* The term of the entry at index, 0 when not in the window or snapshot. */
uint64_t raft_term_at(const struct raft_node *node, uint64_t index);

const char *raft_msg_type_name(uint32_t type);
const char *raft_role_name(uint32_t role);

/* ---- quorum arithmetic (pure; quorum.c) ------------------------------ */

enum raft_vote_result {
    RAFT_VOTE_PENDING = 1,
    RAFT_VOTE_LOST,
    RAFT_VOTE_WON,
};

/* The highest index acknowledged by a majority of voters[]; ack(id) gives a
 * voter's index (0 when unknown). An empty set returns UINT64_MAX so that
 * in a joint configuration the other half alone decides. */
uint64_t raft_quorum_committed(const uint64_t *voters, uint32_t n_voters,
                               uint64_t (*ack)(const void *ctx, uint64_t id),
                               const void *ctx);
/* The joint result: the smaller of both halves' committed index. */
uint64_t raft_quorum_joint_committed(const struct raft_conf *conf,
                                     uint64_t (*ack)(const void *ctx, uint64_t id),
                                     const void *ctx);
/* vote(id): 1 granted, -1 rejected, 0 not yet answered. An empty set wins. */
uint32_t raft_quorum_vote(const uint64_t *voters, uint32_t n_voters,
                          int (*vote)(const void *ctx, uint64_t id), const void *ctx);
uint32_t raft_quorum_joint_vote(const struct raft_conf *conf,
                                int (*vote)(const void *ctx, uint64_t id), const void *ctx);

/* ---- injected defects (simulator builds only) ------------------------ */

/* Each switch makes the core wrong in one known way, so the simulator can
 * show that it catches it. Compiled in only with RAFT_BUG_INJECTION; the
 * production library refuses a non-zero cfg.bugs. */
enum raft_bug {
    RAFT_BUG_COMMIT_OLD_TERM = 1u << 0,   /* commit earlier-term entries by count */
    RAFT_BUG_DOUBLE_VOTE = 1u << 1,       /* grant a second vote in one term */
    RAFT_BUG_ACK_BEFORE_PERSIST = 1u << 2, /* append ack in send_now */
    RAFT_BUG_FORGET_VOTE = 1u << 3,       /* drop the vote on restart */
    RAFT_BUG_SIMPLE_MULTI = 1u << 4,      /* apply a joint change as a simple one */
    RAFT_BUG_LEARNER_QUORUM = 1u << 5,    /* count learners toward commit */
    RAFT_BUG_CONF_NO_PENDING = 1u << 6,   /* accept a change while one is pending */
};

/* Whether this build of the library has the switches. */
bool raft_bugs_compiled_in(void);

#endif
