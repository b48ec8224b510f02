/* step_props_test.c - property checks through the public API: random
 * input sequences (hostile messages mixed with well-formed replies, ticks,
 * proposals, reads, transfers) stepped into one node never abort, every
 * refusal carries its code and a sentence and is counted, an accepted
 * message counts no refusal, outputs are well formed (contiguous persist
 * and apply, messages from this node to members, apply within commit),
 * terms and commit never go down, and the same seed gives the same outputs
 * (SPEC section 3; raft.h's determinism). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raft.h"
#include "unit_check.h"

#define SEEDS 40 /* the upper half also sends extreme numbers (2^64 - 1, 0, random) */
#define STEPS 3000
#define REPLIES_MAX 8
#define GEN_ENTRIES_MAX 6

static const uint8_t bytes[8] = "abcdefg";

struct driver {
    struct raft_node *node;
    uint64_t rng;
    uint64_t persisted_index;
    uint64_t persisted_term;
    uint64_t applied_index;
    uint64_t snap_index;
    bool is_persist_due; /* storage owes a RAFT_IN_PERSISTED */
    bool is_apply_due;   /* the state machine owes a RAFT_IN_APPLIED */
    uint64_t last_term;  /* highest term seen in status */
    uint64_t last_commit;
    uint64_t digest;                      /* of every output, for determinism */
    bool is_extreme;                      /* numbers near 0 and 2^64 too, not just near the log */
    struct raft_msg replies[REPLIES_MAX]; /* well-formed answers to what it sent */
    uint32_t n_replies;
    struct raft_entry gen[GEN_ENTRIES_MAX];
};

static void mix(struct driver *d, uint64_t v)
{
    d->digest = (d->digest ^ v) * 1099511628211ull;
}

/* Refusals and clamps: every refused input is counted in one of them. */
static uint64_t refusals(const struct raft_node *node)
{
    struct raft_stats s;

    raft_stats(node, &s);
    return s.refused_stale_term + s.refused_unknown_sender + s.refused_malformed +
           s.refused_not_leader + s.refused_busy + s.clamped_commit;
}

/* STEP_PROPS_TRACE=1 prints every input, to turn a failure into a scenario. */
static bool is_traced;

static void trace(const struct raft_input *in)
{
    const struct raft_msg *m = in->msg;

    if (!is_traced)
        return;
    if (in->kind != RAFT_IN_RECV) {
        printf("  in kind=%u index=%" PRIu64 " term=%" PRIu64 " target=%" PRIu64 " n=%u\n",
               in->kind, in->index, in->term, in->target, in->n_propose);
        return;
    }
    printf("  msg %s from=%" PRIu64 " to=%" PRIu64 " term=%" PRIu64 " index=%" PRIu64
           " log_term=%" PRIu64 " commit=%" PRIu64 " reject=%d hint=%" PRIu64 "@%" PRIu64 " n=%u",
           raft_msg_type_name(m->type), m->from, m->to, m->term, m->index, m->log_term, m->commit,
           m->reject, m->reject_hint, m->reject_hint_term, m->n_entries);
    for (uint32_t i = 0; i < m->n_entries; i++)
        printf(" %" PRIu64 "@%" PRIu64, m->entries[i].index, m->entries[i].term);
    printf("\n");
}

/* ---- generating inputs ---------------------------------------------------- */

static uint64_t near(struct driver *d, uint64_t base)
{
    switch (unit_below(&d->rng, d->is_extreme ? 8 : 4) + (d->is_extreme ? 0 : 3)) {
    case 0: return UINT64_MAX - unit_below(&d->rng, 2);
    case 1: return unit_rand(&d->rng);
    case 2: return 0;
    default: return base + unit_below(&d->rng, 4) - (base > 0 ? unit_below(&d->rng, 2) : 0);
    }
}

static void gen_entries(struct driver *d, struct raft_msg *m)
{
    uint32_t n = (uint32_t)unit_below(&d->rng, GEN_ENTRIES_MAX + 1);
    uint64_t broken = unit_below(&d->rng, 6); /* 0: non-contiguous, 1: term down */

    for (uint32_t i = 0; i < n; i++) {
        struct raft_entry *e = &d->gen[i];
        e->index = m->index + 1 + i + (broken == 0 && i == n / 2 ? 2 : 0);
        e->term = m->term - (broken == 1 && i == n - 1 && m->term > 0 ? 1 : 0);
        e->type =
                unit_below(&d->rng, 10) == 0 ? (uint32_t)unit_below(&d->rng, 4) : RAFT_ENTRY_NORMAL;
        e->len = (uint32_t)unit_below(&d->rng, sizeof(bytes));
        e->data = bytes;
    }
    m->n_entries = n;
    m->entries = n ? d->gen : NULL;
}

static void gen_msg(struct driver *d, struct raft_msg *m)
{
    static const uint64_t senders[] = {2, 3, 2, 3, 1, 0, 9};
    struct raft_status st;

    raft_status(d->node, &st);
    if (d->n_replies > 0 && unit_below(&d->rng, 3) == 0) {
        *m = d->replies[unit_below(&d->rng, d->n_replies)];
        return;
    }
    memset(m, 0, sizeof(*m));
    uint64_t t = unit_below(&d->rng, 14);
    m->type = t <= RAFT_MSG_TYPE_MAX ? (uint32_t)(t ? t : 1) : (t == 11 ? 0 : (uint32_t)(t * 10));
    m->from = senders[unit_below(&d->rng, 7)];
    m->to = unit_below(&d->rng, 10) == 0 ? 2 : 1;
    m->term = near(d, st.hard_state.term);
    m->index = near(d, st.last_index);
    m->log_term = near(d, raft_term_at(d->node, st.last_index));
    m->commit = near(d, st.hard_state.commit);
    m->reject = unit_below(&d->rng, 3) == 0;
    m->transfer = unit_below(&d->rng, 8) == 0;
    m->reject_hint = near(d, st.last_index);
    m->reject_hint_term = near(d, st.hard_state.term);
    m->ctx = unit_below(&d->rng, 4);
    m->snap.index = near(d, st.last_index);
    m->snap.term = near(d, st.hard_state.term);
    m->snap.conf = st.conf;
    if (m->type == RAFT_MSG_APPEND || unit_below(&d->rng, 10) == 0)
        gen_entries(d, m);
}

/* Answers a peer would give to what the node just sent. */
static void remember_replies(struct driver *d, const struct raft_msgs *msgs)
{
    for (uint32_t i = 0; i < msgs->n && d->n_replies < REPLIES_MAX; i++) {
        const struct raft_msg *m = &msgs->v[i];
        struct raft_msg r;
        memset(&r, 0, sizeof(r));
        r.from = m->to;
        r.to = m->from;
        r.term = m->term;
        switch (m->type) {
        case RAFT_MSG_PREVOTE: r.type = RAFT_MSG_PREVOTE_RESP; break;
        case RAFT_MSG_VOTE: r.type = RAFT_MSG_VOTE_RESP; break;
        case RAFT_MSG_APPEND:
            r.type = RAFT_MSG_APPEND_RESP;
            r.index = m->index + m->n_entries;
            break;
        case RAFT_MSG_HEARTBEAT:
            r.type = RAFT_MSG_HEARTBEAT_RESP;
            r.ctx = m->ctx;
            break;
        default: continue;
        }
        d->replies[d->n_replies++] = r;
    }
}

/* ---- checking outputs ------------------------------------------------------ */

static void check_msgs(struct driver *d, const struct raft_msgs *msgs)
{
    for (uint32_t i = 0; i < msgs->n; i++) {
        const struct raft_msg *m = &msgs->v[i];
        UNIT_CHECK(m->from == 1, "message from %" PRIu64 ", not this node", m->from);
        /* Peers 2 and 3; or the stranger 9, only answered (a stranger's
         * leader messages of a newer term are followed and its vote
         * requests answered, raft.h), never asked for a vote or sent
         * entries. */
        UNIT_CHECK(m->to == 2 || m->to == 3 ||
                       (m->to == 9 && (m->type == RAFT_MSG_APPEND_RESP ||
                                       m->type == RAFT_MSG_HEARTBEAT_RESP ||
                                       m->type == RAFT_MSG_VOTE_RESP ||
                                       m->type == RAFT_MSG_PREVOTE_RESP)),
                   "message %s to %" PRIu64 ", not a peer's", raft_msg_type_name(m->type), m->to);
        UNIT_CHECK(m->type >= 1 && m->type <= RAFT_MSG_TYPE_MAX, "message type %u", m->type);
        for (uint32_t k = 0; k < m->n_entries; k++)
            UNIT_CHECK(m->entries[k].index == m->index + 1 + k,
                       "append entry %u at %" PRIu64 " after %" PRIu64, k, m->entries[k].index,
                       m->index);
        mix(d, m->type);
        mix(d, m->to);
        mix(d, m->term);
        mix(d, m->index);
        mix(d, m->commit);
        mix(d, m->n_entries);
    }
}

static void handle_output(struct driver *d, const struct raft_output *out)
{
    struct raft_status st;

    raft_status(d->node, &st);
    for (uint32_t i = 0; i < out->persist.n; i++) {
        const struct raft_entry *e = &out->persist.v[i];
        UNIT_CHECK(i == 0 || e->index == out->persist.v[i - 1].index + 1, "persist contiguous");
        mix(d, e->index);
        mix(d, e->term);
    }
    if (out->install != NULL) {
        d->persisted_index = out->install->index;
        d->persisted_term = out->install->term;
        d->applied_index = out->install->index;
        d->snap_index = out->install->index;
        d->is_persist_due = true;
    }
    if (out->persist.n > 0) {
        d->persisted_index = out->persist.v[out->persist.n - 1].index;
        d->persisted_term = out->persist.v[out->persist.n - 1].term;
        d->is_persist_due = true;
    }
    d->is_apply_due = d->is_apply_due || out->apply.n > 0;
    for (uint32_t i = 0; i < out->apply.n; i++) {
        const struct raft_entry *e = &out->apply.v[i];
        UNIT_CHECK(e->index == d->applied_index + 1, "apply %" PRIu64 " after %" PRIu64, e->index,
                   d->applied_index);
        UNIT_CHECK(e->index <= st.hard_state.commit, "apply %" PRIu64 " within commit %" PRIu64,
                   e->index, st.hard_state.commit);
        d->applied_index = e->index;
        mix(d, e->index);
    }
    check_msgs(d, &out->send_now);
    check_msgs(d, &out->send_after_sync);
    d->n_replies = 0;
    remember_replies(d, &out->send_now);
    remember_replies(d, &out->send_after_sync);
    UNIT_CHECK(st.hard_state.term >= d->last_term, "term went down: %" PRIu64 " < %" PRIu64,
               st.hard_state.term, d->last_term);
    UNIT_CHECK(st.hard_state.commit >= d->last_commit, "commit went down: %" PRIu64 " < %" PRIu64,
               st.hard_state.commit, d->last_commit);
    UNIT_CHECK(st.hard_state.commit <= st.last_index, "commit %" PRIu64 " beyond last %" PRIu64,
               st.hard_state.commit, st.last_index);
    UNIT_CHECK(st.role <= RAFT_LEADER, "role %u", st.role);
    d->last_term = st.hard_state.term;
    d->last_commit = st.hard_state.commit;
}

/* Steps in and handles the output; returns the code. */
static int step(struct driver *d, const struct raft_input *in)
{
    struct raft_output out;
    struct nr_err err;
    uint64_t refused_before = refusals(d->node);

    memset(&err, 0, sizeof(err));
    trace(in);
    int rc = raft_step(d->node, in, &out, &err);
    mix(d, (uint64_t)(int64_t)rc);
    if (rc != 0) {
        UNIT_CHECK(rc < 0 && err.code == rc, "refusal %d with err.code %d", rc, err.code);
        UNIT_CHECK(err.msg[0] != '\0', "refusal %s of input %u has a sentence", nr_code_name(rc),
                   in->kind);
    }
    handle_output(d, &out);
    raft_advance(d->node, &out);
    if (in->kind == RAFT_IN_RECV && rc != 0)
        UNIT_CHECK(refusals(d->node) > refused_before, "refused %s message (%s) not counted",
                   nr_code_name(rc), err.msg);
    if (in->kind == RAFT_IN_RECV && rc == 0)
        UNIT_CHECK(refusals(d->node) == refused_before, "accepted message counted as refused");
    return rc;
}

/* The driver's own inputs are always true: storage and apply report facts. */
static void settle(struct driver *d)
{
    for (uint32_t i = 0; i < 8; i++) {
        struct raft_input in = {0};
        if (d->is_persist_due) {
            d->is_persist_due = false;
            in.kind = RAFT_IN_PERSISTED;
            in.index = d->persisted_index;
            in.term = d->persisted_term;
        } else if (d->is_apply_due) {
            d->is_apply_due = false;
            in.kind = RAFT_IN_APPLIED;
            in.index = d->applied_index;
        } else {
            return;
        }
        int rc = step(d, &in);
        UNIT_CHECK(rc == 0, "driver input %u at %" PRIu64 " refused: %s", in.kind, in.index,
                   nr_code_name(rc));
    }
}

static void random_input(struct driver *d, struct raft_input *in, struct raft_msg *m,
                         struct raft_proposal *props)
{
    static const uint64_t targets[] = {0, 1, 2, 3, 9};
    uint64_t r = unit_below(&d->rng, 100);

    memset(in, 0, sizeof(*in));
    if (r < 50) {
        gen_msg(d, m);
        in->kind = RAFT_IN_RECV;
        in->msg = m;
    } else if (r < 75) {
        in->kind = RAFT_IN_TICK;
    } else if (r < 85) {
        in->kind = RAFT_IN_PROPOSE;
        in->n_propose = (uint32_t)unit_below(&d->rng, 4);
        for (uint32_t i = 0; i < in->n_propose; i++)
            props[i] = (struct raft_proposal){RAFT_ENTRY_NORMAL, 3, bytes};
        in->propose = props;
    } else if (r < 90) {
        in->kind = RAFT_IN_READ_INDEX;
        in->read_ctx = unit_below(&d->rng, 1000);
    } else if (r < 94) {
        in->kind = RAFT_IN_TRANSFER;
        in->target = targets[unit_below(&d->rng, 5)];
    } else if (r < 97) {
        in->kind = RAFT_IN_SNAP_STATUS;
        in->target = targets[unit_below(&d->rng, 5)];
        in->snap_failed = unit_below(&d->rng, 2);
    } else if (r < 99 && d->applied_index > d->snap_index) {
        in->kind = RAFT_IN_COMPACT;
        in->index = d->snap_index + 1 + unit_below(&d->rng, d->applied_index - d->snap_index);
        d->snap_index = in->index;
    } else {
        in->kind = unit_below(&d->rng, 2) ? 0 : 77; /* no such input kind */
    }
}

/* One random run; returns the digest of everything that came out. */
static uint64_t run(uint64_t seed)
{
    struct driver d;
    struct raft_config cfg;
    struct raft_boot boot;
    struct nr_err err;

    memset(&d, 0, sizeof(d));
    d.rng = seed;
    d.is_extreme = seed > SEEDS / 2;
    d.digest = 1469598103934665603ull;
    raft_config_default(&cfg, 1, seed);
    cfg.election_ticks = 4 + (uint32_t)unit_below(&d.rng, 8);
    cfg.pre_vote = unit_below(&d.rng, 2);
    cfg.check_quorum = unit_below(&d.rng, 2);
    cfg.log_entries_max = 1024;
    cfg.log_bytes_max = 1 << 20;
    memset(&boot, 0, sizeof(boot));
    boot.snap.conf.voters[0] = 1;
    boot.snap.conf.voters[1] = 2;
    boot.snap.conf.voters[2] = 3;
    boot.snap.conf.n_voters = 3;
    int rc = raft_create(&cfg, &boot, &d.node, &err);
    if (!UNIT_CHECK(rc == 0, "seed %" PRIu64 ": raft_create: %s", seed, err.msg))
        return 0;
    for (uint32_t i = 0; i < STEPS; i++) {
        struct raft_input in;
        struct raft_msg m;
        struct raft_proposal props[4];
        random_input(&d, &in, &m, props);
        rc = step(&d, &in);
        if (in.kind == 0 || in.kind == 77)
            UNIT_CHECK(rc == NR_EINVAL, "unknown input kind %u: %s", in.kind, nr_code_name(rc));
        if (in.kind == RAFT_IN_COMPACT)
            UNIT_CHECK(rc == 0, "compact at %" PRIu64 " (applied %" PRIu64 "): %s", in.index,
                       d.applied_index, nr_code_name(rc));
        settle(&d);
    }
    raft_destroy(d.node);
    return d.digest;
}

/* Each seed runs twice in a child process, so that an abort in the core
 * (which outside input must never cause) fails that seed and names it
 * instead of ending the whole test. */
static void check_seed(uint64_t seed)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t a = run(seed);
        uint64_t b = run(seed);
        UNIT_CHECK(a == b, "seed %" PRIu64 ": two runs differ (%016" PRIx64 " vs %016" PRIx64 ")",
                   seed, a, b);
        fflush(stdout);
        _exit(unit_failed() == 0 ? 0 : 1);
    }
    int status = 0;
    if (!UNIT_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "seed %" PRIu64 ": fork", seed))
        return;
    if (WIFSIGNALED(status))
        UNIT_CHECK(false,
                   "seed %" PRIu64 ": the core died with signal %d (rerun with "
                   "STEP_PROPS_TRACE=1 to see the inputs)",
                   seed, WTERMSIG(status));
    else
        UNIT_CHECK(WEXITSTATUS(status) == 0, "seed %" PRIu64 ": property checks failed (above)",
                   seed);
}

int main(void)
{
    is_traced = getenv("STEP_PROPS_TRACE") != NULL;
    for (uint64_t seed = 1; seed <= SEEDS; seed++)
        check_seed(seed);
    return unit_finish();
}
