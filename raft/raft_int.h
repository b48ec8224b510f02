/* raft_int.h - the raft core's private types, shared by the files of raft/ only. */
#ifndef NICRAFT_RAFT_INT_H
#define NICRAFT_RAFT_INT_H

#include "raft.h"

#ifdef RAFT_BUG_INJECTION
#define RAFT_BUG(node, bug) (((node)->cfg.bugs & (bug)) != 0)
#else
#define RAFT_BUG(node, bug) ((void)(node), false)
#endif

/* ---- in-memory log window (log.c) ------------------------------------ */

/* Entries (snap_index, last_index] live in a ring of descriptors; their data
 * lives in a byte ring. Positions in the byte ring are monotonic counters
 * (pos % data_cap is the offset), so head and tail never compare wrongly. */
struct raft_log {
    struct raft_entry *ring; /* entry i at ring[i % cap] */
    uint64_t *data_pos;      /* entry i's data starts at data_pos[i % cap] */
    uint32_t cap;
    uint8_t *data;
    uint64_t data_cap;
    uint64_t data_head;      /* position of the first entry's data */
    uint64_t data_tail;      /* next free position */

    uint64_t snap_index;     /* entries up to here are in the snapshot */
    uint64_t snap_term;
    uint64_t last_index;
    uint64_t committed;
    uint64_t persisted;      /* durable in the WAL (and term-checked) */
    uint64_t applying;       /* handed out for applying */
    uint64_t applied;        /* reported applied by the state machine */
};

int raft_log_init(struct raft_log *log, uint32_t entries_max, uint64_t bytes_max);
void raft_log_free(struct raft_log *log);
/* The term at index: snap_term at snap_index, 0 outside the window. */
uint64_t raft_log_term(const struct raft_log *log, uint64_t index);
uint64_t raft_log_last_term(const struct raft_log *log);
const struct raft_entry *raft_log_entry(const struct raft_log *log, uint64_t index);
bool raft_log_match_term(const struct raft_log *log, uint64_t index, uint64_t term);
/* Whether n entries of total bytes fit after truncating from index from. */
bool raft_log_fits(const struct raft_log *log, uint64_t from, uint32_t n, uint64_t bytes);
/* Whether one more entry of len bytes fits at the end now, keeping one slot
 * free for a new leader's no-op. */
bool raft_log_has_room(const struct raft_log *log, uint32_t len);
/* Appends one entry at last_index + 1, copying its data. Caller checked room. */
const struct raft_entry *raft_log_append(struct raft_log *log, uint64_t term, uint32_t type,
                                         const uint8_t *data, uint32_t len);
/* Drops entries from index on; index > committed. */
void raft_log_truncate(struct raft_log *log, uint64_t index);
/* Drops entries up to index (<= applied) into the snapshot. */
void raft_log_compact(struct raft_log *log, uint64_t index);
/* Replaces everything with a snapshot at (index, term). */
void raft_log_restore(struct raft_log *log, uint64_t index, uint64_t term);
/* The best guess of where a log whose entry at index has term ends
 * matching ours: the largest i <= index whose term is <= term or unknown. */
uint64_t raft_log_find_conflict_by_term(const struct raft_log *log, uint64_t index,
                                        uint64_t term, uint64_t *term_out);

/* ---- progress (progress.c) ------------------------------------------- */

struct raft_prog {
    uint64_t id;
    uint64_t match;
    uint64_t next;
    uint32_t state;            /* enum raft_progress_state */
    uint64_t pending_snapshot; /* index of the snapshot being sent */
    uint64_t snap_sent_tick;
    bool probe_sent;           /* probe: one append out, wait for its answer */
    bool recent_active;        /* heard from since the last quorum check */
    bool is_learner;
    int8_t vote;               /* election tally: 1 granted, -1 denied, 0 none */
    uint64_t last_active_tick;
    uint64_t read_ack;         /* highest ReadIndex round acknowledged */
    uint64_t bound_since_tick; /* learners: lag within bound since, if in_bound */
    bool in_bound;
    uint64_t *infl;            /* ring of last indexes of appends in flight */
    uint32_t infl_start;
    uint32_t infl_n;
};

void raft_prog_reset(struct raft_prog *pr, uint64_t next);
void raft_prog_become_probe(struct raft_prog *pr);
void raft_prog_become_replicate(struct raft_prog *pr);
void raft_prog_become_snapshot(struct raft_prog *pr, uint64_t index, uint64_t tick);
bool raft_prog_maybe_update(struct raft_prog *pr, uint64_t index);
bool raft_prog_maybe_decr_to(struct raft_prog *pr, uint64_t rejected, uint64_t match_hint);
bool raft_prog_is_paused(const struct raft_prog *pr, uint32_t infl_max);
void raft_prog_infl_add(struct raft_prog *pr, uint32_t infl_max, uint64_t last);
void raft_prog_infl_free_le(struct raft_prog *pr, uint32_t infl_max, uint64_t index);
void raft_prog_infl_free_first(struct raft_prog *pr, uint32_t infl_max);
const char *raft_prog_state_name(uint32_t state);

/* ---- the node ---------------------------------------------------------- */

#define RAFT_CONF_HIST 8
#define RAFT_REMOVED_MAX 64

struct raft_read_req {
    uint64_t ctx;
    uint64_t index; /* commit index when confirmed-round started */
    uint64_t seq;   /* heartbeat round that confirms it; 0: not started */
};

struct raft_node {
    struct raft_config cfg;
    uint64_t id;
    uint32_t role;
    uint64_t term;
    uint64_t vote;
    uint64_t lead;
    struct raft_log log;
    struct raft_membership members; /* the configuration in effect */
    uint64_t pending_conf_index;    /* leader: no new change until applied */
    struct raft_conf_hist {
        uint64_t index;             /* in effect from this index on */
        struct raft_conf conf;
    } conf_hist[RAFT_CONF_HIST];    /* for the snapshots' configuration */
    uint32_t n_conf_hist;
    uint64_t removed[RAFT_REMOVED_MAX]; /* members seen removed, oldest first */
    uint32_t n_removed;
    bool conf_changed;              /* in this step */
    uint64_t conf_changed_index;
    struct raft_snap_meta snap; /* the last compaction point */

    struct raft_prog prs[RAFT_MEMBERS_MAX];
    uint32_t n_prs;
    uint64_t *infl_block;

    uint32_t election_elapsed;
    uint32_t heartbeat_elapsed;
    uint32_t randomized_timeout;
    uint64_t ticks;
    uint64_t rng;
    uint64_t transfer_target;

    /* ReadIndex (readindex.c): a FIFO of requests. */
    struct raft_read_req *reads;
    uint32_t reads_head;
    uint32_t n_reads;
    uint64_t read_seq;

    /* This step's output, released by raft_advance(). */
    bool out_open;
    struct raft_msg *now;
    uint32_t n_now;
    struct raft_msg *after;
    uint32_t n_after;
    uint32_t msgs_cap;
    struct raft_entry *persist;
    uint32_t n_persist;
    struct raft_entry *apply;
    uint32_t n_apply;
    struct raft_entry *msg_ents; /* entry descriptors carried by messages */
    uint32_t n_msg_ents;
    uint32_t msg_ents_cap;
    struct raft_read_state *ready;
    uint32_t n_ready;
    struct raft_snap_meta install;
    bool has_install;
    uint64_t snap_wanted_for;
    uint64_t propose_index;
    uint64_t propose_term;
    struct raft_hard_state reported_hs;

    struct raft_stats stats;
};

/* node.c */
uint64_t raft_rand(struct raft_node *node);
struct raft_prog *raft_prog_find(struct raft_node *node, uint64_t id);
bool raft_promotable(const struct raft_node *node);
/* A zeroed message from this node in send_now or send_after_sync, or NULL
 * (counted) when the output array is full; callers skip the send then. */
struct raft_msg *raft_msg_new(struct raft_node *node, uint32_t type, uint64_t to, bool after_sync);
/* A reply that acknowledges nothing durable (heartbeat answers, pre-votes,
 * rejections): send_now unless this step changed term or vote. */
struct raft_msg *raft_reply_new(struct raft_node *node, uint32_t type, uint64_t to);
void raft_become_follower(struct raft_node *node, uint64_t term, uint64_t lead);
void raft_become_pre_candidate(struct raft_node *node);
void raft_become_candidate(struct raft_node *node);
void raft_become_leader(struct raft_node *node);
void raft_commit_to(struct raft_node *node, uint64_t index);
/* Hands out committed, durable entries now (configuration changes take
 * effect as they are): at each step's start and end, and mid-step where a
 * decision must see them. */
void raft_apply_committed(struct raft_node *node);
/* 0, or NR_EINVAL naming what is wrong (no voters, a duplicate, id 0). */
int raft_conf_check(const struct raft_conf *c, bool may_be_empty, struct nr_err *err);

/* membership.c: the node's configuration and its changes. */
void raft_conf_load(struct raft_node *node, const struct raft_conf *conf, uint64_t index);
void raft_conf_apply_entry(struct raft_node *node, const struct raft_entry *e);
void raft_conf_after_apply(struct raft_node *node);
int raft_conf_check_proposal(struct raft_node *node, const struct raft_input *in,
                             struct nr_err *err);
int raft_conf_at(const struct raft_node *node, uint64_t index, struct raft_conf *out);
bool raft_configured(const struct raft_node *node);
bool raft_was_removed(const struct raft_node *node, uint64_t id);
/* After every step: the leader's automatic leave of a joint configuration. */
void raft_conf_step_end(struct raft_node *node);

/* learner.c: readiness by lag in entries and time (SPEC section 2 rule 4). */
void raft_learners_tick(struct raft_node *node);
void raft_learner_view(const struct raft_node *node, const struct raft_prog *pr,
                       struct raft_progress_view *v);

/* confchange.c: check_one_voter false only for an injected defect. */
int raft_membership_apply_ex(struct raft_membership *m, const struct raft_conf_change *cc,
                             uint64_t last_index, bool check_one_voter, struct nr_err *err);

/* msg.c: validation and the term rules, then the role's handler. */
int raft_step_msg(struct raft_node *node, const struct raft_msg *m, struct nr_err *err);

/* election.c */
void raft_tick_election(struct raft_node *node);
void raft_campaign(struct raft_node *node, bool pre_vote, bool transfer);
int raft_handle_vote_req(struct raft_node *node, const struct raft_msg *m, struct nr_err *err);
int raft_handle_vote_resp(struct raft_node *node, const struct raft_msg *m, struct nr_err *err);
bool raft_in_lease(const struct raft_node *node);

/* follow.c */
int raft_handle_append(struct raft_node *node, const struct raft_msg *m, struct nr_err *err);
int raft_handle_heartbeat(struct raft_node *node, const struct raft_msg *m, struct nr_err *err);
int raft_handle_snapshot(struct raft_node *node, const struct raft_msg *m, struct nr_err *err);

/* replicate.c */
void raft_tick_heartbeat(struct raft_node *node);
int raft_propose(struct raft_node *node, const struct raft_input *in, struct nr_err *err);
int raft_transfer(struct raft_node *node, uint64_t target, struct nr_err *err);
int raft_leader_step(struct raft_node *node, const struct raft_msg *m, struct nr_err *err);
int raft_snap_status(struct raft_node *node, uint64_t target, bool failed, struct nr_err *err);
bool raft_maybe_send_append(struct raft_node *node, struct raft_prog *pr, bool send_if_empty);
void raft_bcast_append(struct raft_node *node);
void raft_bcast_heartbeat(struct raft_node *node, uint64_t ctx);
bool raft_maybe_commit(struct raft_node *node);
/* A leader that is not a voter: leadership to the best voter (see there). */
void raft_handover(struct raft_node *node);
uint64_t raft_self_ack(const struct raft_node *node);

/* readindex.c */
int raft_read_index(struct raft_node *node, uint64_t ctx, struct nr_err *err);
void raft_reads_on_commit(struct raft_node *node);
void raft_reads_on_ack(struct raft_node *node);
void raft_reads_drop(struct raft_node *node);

#endif
