/* sim.h - the deterministic simulator's shared types (tests/sim/).
 *
 * One seed is one world: N members running the real raft core (the
 * RAFT_BUG_INJECTION build), a simulated network and disk, clients doing
 * put/get on a key-value model, virtual time, a fault planner and, with
 * --churn, an operator that changes the membership. Every
 * random draw comes from the world's own generator, seeded from --seed, so a
 * failing seed replays exactly. Nothing lives outside struct sim_world except
 * the pointer the abort handler reads (sim_main.c), reset per seed.
 *
 * Time is virtual microseconds. A "step" is one event taken from the queue.
 */
#ifndef NICRAFT_SIM_H
#define NICRAFT_SIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

/* Member slots per seed: slot i is member ID i + 1, and IDs are never
 * reused, so every member ever added under --churn takes a slot. Vote and
 * acknowledgement sets are bit masks over slots (uint64_t). */
#define SIM_NODES_MAX 32
#define SIM_FOUNDERS_MAX RAFT_VOTERS_MAX
#define SIM_CPEND_MAX 32 /* CONF entries tracked beyond a node's applied index */
#define SIM_CLIENTS_MAX 8
#define SIM_KEYS_MAX 8
#define SIM_MSG_MAGIC 0x4b565031u /* "KVP1": a client put in an entry */
#define SIM_PUT_LEN 24u           /* magic, key, client/seq, value */
/* Then 0..72 filler bytes: entries of varied size split appends unevenly. */
#define SIM_PAD_MAX 72u
#define SIM_TIME_NEVER UINT64_MAX
#define SIM_LOG_RING 512 /* recent events kept per seed */
#define SIM_LOG_DUMP 160 /* events printed with a violation */

/* ---- generator and event queue (sim_sched.c) ------------------------ */

struct sim_rng {
    uint64_t s[4]; /* xoshiro256** state, seeded through splitmix64 */
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* Uniform in [lo, hi]. */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi);
/* True with probability bp / 10000 (basis points). */
bool sim_rng_bp(struct sim_rng *r, uint32_t bp);
uint64_t sim_mix64(uint64_t x);
uint64_t sim_hash_bytes(const uint8_t *p, uint32_t len, uint64_t h);

enum sim_ev_kind {
    SIM_EV_TICK = 1,    /* node: one logical tick */
    SIM_EV_DELIVER,     /* ptr: struct sim_msg */
    SIM_EV_DISK,        /* node: the oldest pending batch is durable */
    SIM_EV_SNAP_STATUS, /* node (sender), a: target, b: failed */
    SIM_EV_CRASH,       /* node, a: restart after a us (0: drawn) */
    SIM_EV_RESTART,     /* node */
    SIM_EV_FAULT,       /* the fault planner's next decision */
    SIM_EV_HEAL,        /* a: the partition epoch it ends */
    SIM_EV_ISOLATE,     /* node: cut it off for a us (0: drawn) */
    SIM_EV_CLIENT,      /* a: client, b: wake token */
    SIM_EV_CHURN,       /* the membership operator's next decision (--churn) */
    SIM_EV_START,       /* node: start a new member's process (empty boot) */
    SIM_EV_STOP,        /* node: a removed member stops for good */
};

struct sim_ev {
    uint64_t at_us;
    uint64_t seq; /* insertion order breaks ties: deterministic */
    uint32_t kind;
    uint32_t node; /* index 0..n-1 */
    uint32_t gen;  /* the node's incarnation when scheduled */
    uint64_t a;
    uint64_t b;
    void *ptr;
};

struct sim_heap {
    struct sim_ev *v;
    uint32_t n;
    uint32_t cap;
    uint64_t next_seq;
};

int sim_heap_push(struct sim_heap *h, const struct sim_ev *ev);
bool sim_heap_pop(struct sim_heap *h, struct sim_ev *ev);
void sim_heap_free(struct sim_heap *h);

/* ---- key-value state ------------------------------------------------ */

struct sim_kv {
    uint64_t val[SIM_KEYS_MAX]; /* 0: never written */
    uint64_t applied_index;
    uint64_t digest; /* chain over every applied (index, term, data) */
};

struct sim_snap {
    struct raft_snap_meta meta; /* index 0: none */
    struct sim_kv kv;
};

/* An entry copied out of the core (owned). */
struct sim_entry {
    uint64_t term;
    uint64_t index;
    uint32_t type;
    uint32_t len;
    uint8_t *data;
    uint64_t prev_term; /* term before it in the writer's log; UINT64_MAX: unknown */
};

/* ---- network (sim_net.c) -------------------------------------------- */

struct sim_msg {
    struct raft_msg m; /* m.entries points at ents */
    struct raft_entry *ents;
    uint8_t *data;         /* all entry bytes */
    struct sim_kv snap_kv; /* RAFT_MSG_SNAPSHOT: the bytes that travel */
    uint32_t from_gen;     /* sender's incarnation */
    bool is_dup;
};

/* ---- storage model (sim_disk.c) ------------------------------------- */

/* One step's writes: records in order snapshot, entries, hard state. The
 * held messages leave once this batch (and every earlier one) is durable. */
struct sim_batch {
    struct sim_batch *next;
    uint64_t done_at_us;
    bool has_hs;
    struct raft_hard_state hs;
    bool has_snap;
    struct sim_snap snap;
    struct sim_entry *entries;
    uint32_t n_entries;
    struct sim_msg **held;
    uint32_t n_held;
};

struct sim_disk {
    struct raft_hard_state hs;
    struct sim_snap snap;  /* durable snapshot, meta.index 0: none */
    struct sim_entry *log; /* durable entries after snap, contiguous */
    uint32_t n_log;
    uint32_t cap_log;
    struct sim_batch *head; /* pending writes, oldest first */
    struct sim_batch *tail;
    uint32_t n_pending;
    uint64_t last_done_us; /* completion time of the newest pending */
};

/* ---- nodes (sim_node.c) --------------------------------------------- */

/* A slot's life. Founders are RUNNING from the start; a member added under
 * --churn is UNSTARTED until the operator starts its process (SPEC section 2
 * rule 1: after its addition is applied), and one that applied its own
 * removal is STOPPED for good (rule 10). A RUNNING slot may be down
 * (raft == NULL) between a crash and its restart. */
enum sim_life {
    SIM_LIFE_RUNNING = 0,
    SIM_LIFE_UNSTARTED,
    SIM_LIFE_STOPPED,
};

/* A RAFT_ENTRY_CONF entry in a node's log beyond its applied index. */
struct sim_cpend {
    uint64_t index;
    uint64_t term;
};

struct sim_node {
    uint32_t idx; /* 0..n-1; member ID is idx + 1 */
    uint64_t id;
    struct raft_node *raft; /* NULL while down */
    uint32_t gen;           /* incarnation: bumped by every crash */
    uint32_t life;          /* enum sim_life */
    bool is_removed;        /* applied its own removal: never runs again */
    bool is_start_planned;  /* UNSTARTED: the operator has decided when */
    bool was_member;        /* in its own configuration after the last step */
    struct raft_conf conf;  /* its configuration after the last step */
    /* Membership checks (sim_member.c). */
    struct sim_cpend cpend[SIM_CPEND_MAX]; /* CONF entries in its log, unapplied */
    uint32_t n_cpend;
    bool is_cpend_lost;                     /* more than SIM_CPEND_MAX: check (1) skipped */
    uint64_t vote_term;                     /* granted VOTE_RESPs delivered to it in this term: */
    uint64_t votes;                         /* bit (id - 1) per granting member */
    uint64_t lead_term;                     /* the leadership lead_match belongs to */
    uint64_t lead_match[SIM_NODES_MAX + 1]; /* by id: highest match seen */
    uint32_t role;
    uint64_t term;
    uint64_t leader_hint;
    struct sim_kv kv;     /* in memory */
    struct sim_snap snap; /* latest snapshot (the one the core knows) */
    struct sim_disk disk;
    uint64_t commit;       /* last commit index the core reported */
    uint64_t want_applied; /* follow-up RAFT_IN_APPLIED to step */
    bool want_compact;
};

/* ---- clients and history (sim_kv.c) --------------------------------- */

enum sim_op_kind {
    SIM_OP_PUT = 1,
    SIM_OP_GET,
    SIM_OP_DROPPED, /* a get that never answered: no effect, left out */
};

struct sim_op {
    uint32_t kind;
    uint32_t client;
    uint32_t key;
    uint64_t value; /* put: written; get: read */
    uint64_t index; /* put: where it was proposed */
    uint64_t term;
    uint64_t call; /* history clock at invocation */
    uint64_t ret;  /* at response; SIM_TIME_NEVER: outcome unknown */
};

struct sim_hist {
    struct sim_op *v;
    uint32_t n;
    uint32_t cap;
    uint64_t clock;
};

enum sim_client_state {
    SIM_CL_IDLE = 0,
    SIM_CL_PUT, /* proposed, waiting for the entry to be applied */
    SIM_CL_GET, /* ReadIndex requested, waiting for the read state */
};

struct sim_client {
    uint32_t id;
    uint32_t state;
    uint32_t kind; /* op being tried: SIM_OP_PUT or SIM_OP_GET */
    uint32_t key;
    uint64_t value;
    uint32_t pad_len;
    uint64_t seq;
    uint32_t target; /* node index the op is at or will be sent to */
    uint32_t target_gen;
    uint64_t index; /* put: the proposal's place; get: read index */
    uint64_t term;
    bool has_read_index;
    uint64_t ctx;  /* get: ReadIndex context */
    uint32_t hist; /* slot in the history */
    uint64_t deadline_us;
    uint32_t attempts;
    uint64_t token; /* invalidates stale wake-ups */
    bool has_op;    /* an op chosen and not yet finished */
};

/* ---- invariants (sim_check.c) --------------------------------------- */

struct sim_committed {
    uint64_t term;
    uint64_t hash;
    uint64_t digest;     /* state digest after applying it */
    uint64_t bound_term; /* smallest term of a node when it applied it */
    bool is_set;
};

struct sim_written {
    uint64_t term;
    uint64_t hash;
    uint64_t prev_term; /* UINT64_MAX: unknown */
};

struct sim_wslot {
    struct sim_written *v;
    uint32_t n;
    uint32_t cap;
};

struct sim_check {
    struct sim_committed *com; /* by index */
    uint64_t *conf_at;         /* by index: hash of the configuration a CONF
                                  entry there produced, 0: none seen */
    uint64_t n_conf_at;
    uint64_t n_com;       /* highest index + 1 allocated */
    uint64_t com_max;     /* highest index applied anywhere */
    struct sim_wslot *wr; /* (index, term) written anywhere */
    uint64_t n_wr;
    uint64_t *leader_of_term; /* by term; 0: none seen */
    uint64_t n_terms;
};

/* ---- event ring (sim_log.c) ----------------------------------------- */

enum sim_rec_kind {
    SIM_REC_SEND = 1,
    SIM_REC_RECV,
    SIM_REC_DROP,
    SIM_REC_ROLE,
    SIM_REC_CRASH,
    SIM_REC_TORN,
    SIM_REC_RESTART,
    SIM_REC_PART,
    SIM_REC_HEAL,
    SIM_REC_WRITE,
    SIM_REC_DURABLE,
    SIM_REC_APPLY,
    SIM_REC_INSTALL,
    SIM_REC_COMPACT,
    SIM_REC_PROPOSE,
    SIM_REC_READ,
    SIM_REC_OP_DONE,
    SIM_REC_OP_UNKNOWN,
    SIM_REC_REFUSED,
    SIM_REC_SETTLE,
    SIM_REC_FIG8,
    SIM_REC_CHANGE, /* the operator's request and its result */
    SIM_REC_CONF,   /* a node took a new configuration */
    SIM_REC_START,  /* a new member's process started */
    SIM_REC_STOP,   /* a removed member stopped */
    SIM_REC_STATE,  /* a member's state, logged when the cluster did not settle */
};

struct sim_rec {
    uint64_t at_us;
    uint32_t kind;
    uint32_t node;
    uint64_t a, b, c, d, e, f;
};

struct sim_elog {
    struct sim_rec ring[SIM_LOG_RING];
    uint64_t n; /* records ever written */
};

/* ---- options and the world ------------------------------------------ */

struct sim_opts {
    uint64_t n_seeds;
    uint64_t first_seed;
    uint64_t steps;
    uint32_t n_nodes; /* 0: drawn per seed (3 or 5) */
    uint32_t bugs;
    uint64_t stop_after;    /* violating seeds after which to stop; 0: never */
    bool churn;             /* membership changes (sim_churn.c) */
    bool churn_self_remove; /* ask a leader to remove itself, no transfer first */
    bool verbose;
};

/* Fault and workload knobs, drawn per seed (sim_world.c). */
struct sim_params {
    uint32_t n_nodes;    /* member slots in use: founders, then every member
                            the operator added (grows under --churn) */
    uint32_t n_founders; /* members 1..n_founders found the cluster */
    uint32_t n_clients, n_keys;
    uint64_t tick_us;
    uint64_t delay_min_us, delay_max_us;
    uint32_t long_delay_bp, loss_bp, dup_bp;
    uint64_t disk_max_us;
    uint32_t disk_slow_bp;
    uint64_t fault_mean_us;
    uint32_t torn_bp;
    uint32_t risky_crash_bp; /* crash a node that spoke with writes pending */
    uint32_t vote_crash_bp;  /* crash a node right after a durable vote */
    uint32_t flap_bp;        /* cut off a new leader soon after it wins */
    uint32_t fig8_bp;        /* chance per fault decision to start an episode */
    uint32_t pad_min;        /* filler bytes of a put: pad_min..SIM_PAD_MAX */
    uint32_t snap_every;     /* entries applied between snapshots */
    uint32_t msg_bytes_max;
    uint64_t client_timeout_us;
    uint32_t put_bp; /* share of puts among client ops */
    /* --churn only (drawn after everything above). */
    uint64_t churn_mean_us;   /* between the operator's decisions */
    uint32_t churn_busy_bp;   /* propose a second change at once (NR_EBUSY) */
    uint32_t churn_force_bp;  /* skip the strict checks, as --force would */
    uint32_t start_early_bp;  /* start a new member when its add is proposed */
    uint32_t start_late_bp;   /* start it 0.3-1.5 s after its add is applied */
    uint32_t start_never_bp;  /* forget it until the cluster settles */
    uint64_t learner_lag_max; /* raft_config learner_lag_entries_max */
    uint32_t learner_ready_ticks;
};

struct sim_stats {
    uint64_t ops_ok, ops_unknown, gets_dropped;
    uint64_t crashes, torn, restarts, partitions, elections;
    uint64_t msgs, drops, snaps_sent, installs, refusals;
    uint64_t linz_unknown_keys, linz_keys;
    /* --churn: the operator's requests and what became of them. */
    uint64_t cc_proposed, cc_accepted, cc_busy, cc_refused, cc_not_leader;
    uint64_t cc_joint, cc_leave, cc_leader_removed, cc_forced, cc_transfers;
    uint64_t cc_handovers;     /* removals of the leader proposed after a transfer */
    uint64_t leader_stepdowns; /* leaders that applied their own removal or demotion */
    uint64_t conf_applied;     /* distinct CONF entries applied somewhere */
    uint64_t members_added, members_started, members_stopped;
    /* Membership checks that ran (sim_member.c). */
    uint64_t chk_commits, chk_elections, chk_skipped;
};

/* The Figure 8 nemesis (sim_fig8.c). */
enum sim_fig8_state {
    SIM_FIG8_IDLE = 0,
    SIM_FIG8_OLD_CUT,     /* A cut off; waiting for another leader */
    SIM_FIG8_NEW_CUT,     /* that one cut off at once; waiting for A */
    SIM_FIG8_WAIT_COMMIT, /* A leads again; cut off once it commits s_index */
    SIM_FIG8_LAST_CUT,    /* A cut off after a commit, until until_us */
};

struct sim_fig8 {
    uint32_t state;
    uint32_t first;   /* A */
    uint64_t s_index; /* index of the last cut-off leader's no-op */
    uint64_t since_us;
    uint64_t until_us;
    uint64_t episodes;
};

/* A change that removes or demotes the leader waits for the leadership
 * transfer that SPEC section 2 rule 10 puts first (sim_churn.c). */
struct sim_intent {
    bool is_active;
    uint32_t op;
    bool forced;
    uint64_t old_leader; /* the member the change removes or demotes */
    uint32_t n_new;      /* IDs it adds: p.n_nodes + 1 ... */
    uint64_t conf_hash;  /* the configuration it was built for */
    struct raft_conf_change cc;
};

struct sim_world {
    const struct sim_opts *opts;
    uint64_t seed;
    struct sim_params p;
    struct sim_rng rng;
    uint64_t now_us;
    uint64_t steps;
    struct sim_heap heap;
    struct raft_conf conf;       /* founding configuration: members 1..n_founders */
    struct raft_conf final_conf; /* at convergence: the leader's configuration */
    uint64_t final_index;        /* ... and its last index, all applied */
    struct sim_node nodes[SIM_NODES_MAX];
    bool blocked[SIM_NODES_MAX][SIM_NODES_MAX]; /* [from][to] */
    uint64_t part_epoch;
    bool is_partitioned;
    bool is_settling;
    struct sim_fig8 fig8;
    struct sim_intent intent;
    struct sim_client clients[SIM_CLIENTS_MAX];
    struct sim_hist hist;
    struct sim_check chk;
    struct sim_elog elog;
    uint64_t next_value;
    uint64_t next_ctx;
    struct sim_stats st;
    bool failed;
    char why[512];
};

/* sim_world.c */
/* Runs one seed (out of memory stops the process: nothing sensible to
 * simulate). A violation is recorded in w->failed / w->why. */
void sim_world_run(struct sim_world *w, const struct sim_opts *opts, uint64_t seed);
void sim_world_free(struct sim_world *w);
void sim_schedule(struct sim_world *w, uint64_t delay_us, uint32_t kind, uint32_t node, uint64_t a,
                  uint64_t b, void *ptr);
uint32_t sim_n_up(const struct sim_world *w);

/* sim_node.c */
int sim_node_start(struct sim_world *w, struct sim_node *n, bool is_fresh);
void sim_node_crash(struct sim_world *w, struct sim_node *n);
void sim_node_free(struct sim_node *n);
/* Steps one input and handles the whole output (and the follow-up
 * applied/compact steps). Returns raft_step's code. */
int sim_node_step(struct sim_world *w, struct sim_node *n, const struct raft_input *in,
                  const struct sim_kv *snap_kv, struct raft_output *first_out);
void sim_node_tick(struct sim_world *w, struct sim_node *n);
void sim_node_disk_done(struct sim_world *w, struct sim_node *n);

/* sim_disk.c */
/* Queues one step's writes (copies everything) behind the pending ones. */
struct sim_batch *sim_disk_add(struct sim_world *w, struct sim_node *n,
                               const struct raft_output *out, const struct sim_kv *snap_kv);
/* Makes the oldest batch durable and detaches it; the caller sends its held
 * messages and frees it. */
struct sim_batch *sim_disk_complete(struct sim_world *w, struct sim_node *n);
/* Crash: a prefix of the oldest batch may survive (torn); the rest is lost. */
void sim_disk_crash(struct sim_world *w, struct sim_node *n);
void sim_disk_put_snap(struct sim_node *n, const struct sim_snap *snap);
void sim_disk_boot(const struct sim_node *n, struct raft_boot *boot, struct raft_entry *ents);
void sim_disk_free(struct sim_disk *d);
void sim_batch_free(struct sim_batch *b);
void sim_entry_copy(struct sim_entry *dst, const struct raft_entry *src);
void sim_entry_free(struct sim_entry *e);

/* sim_net.c */
void sim_net_send(struct sim_world *w, struct sim_node *from, const struct raft_msg *m);
void sim_net_send_held(struct sim_world *w, struct sim_msg *sm);
struct sim_msg *sim_msg_copy(struct sim_world *w, const struct sim_node *from,
                             const struct raft_msg *m);
void sim_msg_free(struct sim_msg *sm);
void sim_net_deliver(struct sim_world *w, struct sim_msg *sm);
void sim_net_snap_status(struct sim_world *w, const struct sim_ev *ev);
enum sim_part_kind {
    SIM_PART_SPLIT = 0, /* two random groups, symmetric */
    SIM_PART_ISOLATE,   /* one member cut off both ways */
    SIM_PART_ONE_WAY,   /* one member cannot send, or cannot hear */
    SIM_PART_LINKS,     /* random directed links cut */
    SIM_PART_KINDS,
};

void sim_net_partition(struct sim_world *w);
uint32_t sim_pick_victim(struct sim_world *w);
void sim_net_heal(struct sim_world *w);
/* Cuts member x off both ways (replacing any partition); returns the epoch
 * its heal must name. */
uint64_t sim_net_isolate(struct sim_world *w, uint32_t x);

/* sim_fault.c */
void sim_fault_plan(struct sim_world *w);
void sim_fault_after_step(struct sim_world *w, struct sim_node *n, const struct raft_output *out,
                          bool has_pending);
void sim_fault_after_vote(struct sim_world *w, struct sim_node *n);
void sim_fault_restart(struct sim_world *w, struct sim_node *n);
void sim_fault_on_leader(struct sim_world *w, struct sim_node *n);
/* Cuts node off for for_us (0: the usual draw). */
void sim_fault_isolate(struct sim_world *w, uint32_t node, uint64_t for_us);
void sim_fault_heal_later(struct sim_world *w);

/* sim_churn.c: the membership operator (--churn). */
void sim_churn_start(struct sim_world *w);
void sim_churn_plan(struct sim_world *w);
/* A node took configuration conf: start members the operator added. */
void sim_churn_on_conf(struct sim_world *w, const struct raft_conf *conf);
/* Settling: start every unstarted member some live node counts. */
void sim_churn_settle_starts(struct sim_world *w);
void sim_churn_start_member(struct sim_world *w, struct sim_node *n);
void sim_churn_stop_member(struct sim_world *w, struct sim_node *n);
/* A random member slot that is up (non-churn runs: any slot, as before). */
uint32_t sim_random_slot(struct sim_world *w);
/* Founders' durable state under --churn: the founding configuration as
 * CONF entries 1..N at term 1, committed (SPEC section 2 rule 8). */
void sim_churn_found(struct sim_world *w, struct sim_node *n);
/* Slots that are started and not stopped (crashed ones included). */
uint32_t sim_n_alive(const struct sim_world *w);

/* sim_member.c: the membership invariants. */
/* Before a message is stepped: note granted votes. */
void sim_member_on_deliver(struct sim_world *w, struct sim_node *n, const struct raft_msg *m);
/* After a node started: its tracking from its boot state. */
void sim_member_on_start(struct sim_world *w, struct sim_node *n);
/* n became leader this step; conf0 is its configuration before the step. */
void sim_member_on_leader(struct sim_world *w, struct sim_node *n, const struct raft_conf *conf0,
                          const struct raft_output *out);
/* After a step's output was handled (commit, pending, agreement, removal). */
void sim_member_after_step(struct sim_world *w, struct sim_node *n, const struct raft_output *out,
                           const struct raft_conf *conf0, uint64_t commit0, uint32_t role0);
bool sim_conf_equal(const struct raft_conf *a, const struct raft_conf *b);
uint64_t sim_conf_hash(const struct raft_conf *c);
/* "{1,2,3}" for a set of member ids (bit id - 1). */
void sim_fmt_ids(char *buf, size_t len, uint64_t mask);
uint64_t sim_ids_mask(const uint64_t *ids, uint32_t n);

/* sim_fig8.c */
#define SIM_FIG8_TIMEOUT_US 1500000u /* an episode that stalls this long ends */
/* From the fault planner: true while an episode runs (other faults wait). */
bool sim_fig8_plan(struct sim_world *w);
/* A member became leader: true when the episode acted on it. */
bool sim_fig8_on_leader(struct sim_world *w, struct sim_node *n);
/* A leader's commit index advanced. */
void sim_fig8_on_commit(struct sim_world *w, struct sim_node *n);
bool sim_fig8_is_active(const struct sim_world *w);
/* Whether the episode's network loses this message (step 3). */
bool sim_fig8_drops(const struct sim_world *w, const struct sim_msg *sm);

/* sim_kv.c */
/* Writes a put's entry bytes into buf (SIM_PUT_LEN + SIM_PAD_MAX); returns
 * their length. */
uint32_t sim_kv_encode_put(uint8_t *buf, uint32_t key, uint64_t client_seq, uint64_t value,
                           uint32_t pad_len);
int sim_kv_apply(struct sim_kv *kv, const struct raft_entry *e);
uint64_t sim_entry_hash(uint32_t type, const uint8_t *data, uint32_t len);
void sim_clients_start(struct sim_world *w);
void sim_client_wake(struct sim_world *w, uint32_t client, uint64_t token);
void sim_clients_on_apply(struct sim_world *w, struct sim_node *n, const struct raft_entry *e);
void sim_clients_on_install(struct sim_world *w, struct sim_node *n);
void sim_clients_on_reads(struct sim_world *w, struct sim_node *n, const struct raft_reads *r);
void sim_clients_on_applied(struct sim_world *w, struct sim_node *n);
void sim_clients_on_crash(struct sim_world *w, struct sim_node *n);
void sim_clients_settle(struct sim_world *w);
void sim_hist_free(struct sim_hist *h);

/* sim_check.c */
/* Grows a zeroed array of *n elements of size bytes to hold need (doubling);
 * out of memory stops the process. */
void *sim_grow(void *v, uint64_t *n, uint64_t need, size_t size);
void sim_check_step(struct sim_world *w, struct sim_node *n, const struct raft_output *out);
void sim_check_written(struct sim_world *w, struct sim_node *n, const struct raft_entries *es);
/* An entry became durable on n (log matching is judged on durable logs:
 * an entry lost with its batch was never seen by anyone). */
void sim_check_durable(struct sim_world *w, struct sim_node *n, const struct sim_entry *e);
void sim_check_apply(struct sim_world *w, struct sim_node *n, const struct raft_entry *e);
void sim_check_install(struct sim_world *w, struct sim_node *n);
/* Whether the settled cluster has converged: a leader whose whole log is
 * committed in its own term, and every member of its configuration (every
 * slot without --churn) up, applied to its last index and in the same
 * configuration. Records them in w->final_conf / final_index. */
bool sim_check_converged(struct sim_world *w);
void sim_check_final(struct sim_world *w);
void sim_check_free(struct sim_check *c);

/* sim_linz.c */
enum sim_linz_result {
    SIM_LINZ_OK = 0,
    SIM_LINZ_FAIL,
    SIM_LINZ_UNKNOWN, /* the search bound was reached: neither pass nor fail */
};
/* Checks the history key by key; fills *n_unknown with keys left unknown
 * and names the first failing key in *bad_key. */
uint32_t sim_linz_check(const struct sim_hist *h, uint32_t n_keys, uint64_t effort_max,
                        uint32_t *n_unknown, uint32_t *bad_key);

/* sim_log.c */
void sim_log(struct sim_world *w, uint32_t kind, uint32_t node, uint64_t a, uint64_t b, uint64_t c,
             uint64_t d, uint64_t e, uint64_t f);
void sim_log_dump(const struct sim_world *w, int fd, uint32_t max);
void sim_violation(struct sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
