/* create_test.c - raft_create() refuses bad configurations and boot states
 * that contradict themselves with NR_EINVAL and a sentence naming the
 * field (raft.h); the production library refuses cfg.bugs; good boot
 * states come back as the node's status. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "raft.h"
#include "unit_check.h"

static struct raft_entry log_entries[8];
static const uint8_t payload[4] = {1, 2, 3, 4};

/* A restart: snapshot at 0, entries 1@1 2@1 3@2 4@2 5@2, term 2, voted 1,
 * commit 3, applied 3, voters (1,2,3). */
static void good_boot(struct raft_boot *b)
{
    static const uint64_t terms[] = {1, 1, 2, 2, 2};

    memset(b, 0, sizeof(*b));
    for (uint32_t i = 0; i < 5; i++)
        log_entries[i] = (struct raft_entry){terms[i], i + 1, RAFT_ENTRY_NORMAL, 4, payload};
    b->entries = log_entries;
    b->n_entries = 5;
    b->hard_state = (struct raft_hard_state){2, 1, 3};
    b->applied_index = 3;
    b->snap.conf.voters[0] = 1;
    b->snap.conf.voters[1] = 2;
    b->snap.conf.voters[2] = 3;
    b->snap.conf.n_voters = 3;
}

static void expect_refused(const struct raft_config *cfg, const struct raft_boot *b,
                           const char *what, const char *field)
{
    struct raft_node *node = NULL;
    struct nr_err err;

    memset(&err, 0, sizeof(err));
    int rc = raft_create(cfg, b, &node, &err);
    UNIT_CHECK(rc == NR_EINVAL, "%s: want NR_EINVAL, got %s", what, nr_code_name(rc));
    if (rc == 0) {
        raft_destroy(node);
        return;
    }
    UNIT_CHECK(err.code == rc, "%s: err.code %d matches the return %d", what, err.code, rc);
    UNIT_CHECK(err.msg[0] != '\0', "%s: the refusal has a sentence", what);
    if (field != NULL)
        UNIT_CHECK(strstr(err.msg, field) != NULL, "%s: the sentence names %s: \"%s\"", what, field,
                   err.msg);
}

static void check_config_refusals(void)
{
    struct raft_boot b;
    struct raft_config cfg;

    good_boot(&b);
#define REFUSE_CFG(stmt, what, field)              \
    do {                                           \
        raft_config_default(&cfg, 1, 7);           \
        stmt;                                      \
        expect_refused(&cfg, &b, (what), (field)); \
    } while (0)
    REFUSE_CFG(cfg.id = 0, "id 0", "id");
    REFUSE_CFG(cfg.election_ticks = 0, "election_ticks 0", "election_ticks");
    REFUSE_CFG(cfg.heartbeat_ticks = 0, "heartbeat_ticks 0", "heartbeat_ticks");
    REFUSE_CFG(cfg.heartbeat_ticks = cfg.election_ticks, "heartbeat_ticks == election_ticks",
               "heartbeat_ticks");
    REFUSE_CFG(cfg.inflight_max = 0, "inflight_max 0", "inflight_max");
    REFUSE_CFG(cfg.msg_bytes_max = 0, "msg_bytes_max 0", "msg_bytes_max");
    REFUSE_CFG(cfg.log_entries_max = 0, "log_entries_max 0", "entries");
    REFUSE_CFG(cfg.log_bytes_max = 0, "log_bytes_max 0", "bytes");
    REFUSE_CFG(cfg.apply_batch_max = 0, "apply_batch_max 0", "apply_batch_max");
    REFUSE_CFG(cfg.read_queue_max = 0, "read_queue_max 0", "read_queue_max");
    /* The production library has no injected defects and says so. */
    REFUSE_CFG(cfg.bugs = RAFT_BUG_DOUBLE_VOTE, "bugs=DOUBLE_VOTE in production", "bugs");
    REFUSE_CFG(cfg.bugs = RAFT_BUG_COMMIT_OLD_TERM, "bugs=COMMIT_OLD_TERM in production", "bugs");
#undef REFUSE_CFG
    UNIT_CHECK(!raft_bugs_compiled_in(), "the production library has no bug switches");
}

static void check_conf_refusals(void)
{
    struct raft_boot b;
    struct raft_config cfg;

    raft_config_default(&cfg, 1, 7);
    cfg.log_bytes_max = 1 << 20; /* a boot accepted by mistake allocates this window */
#define REFUSE_BOOT(stmt, what)                 \
    do {                                        \
        good_boot(&b);                          \
        stmt;                                   \
        expect_refused(&cfg, &b, (what), NULL); \
    } while (0)
    REFUSE_BOOT(b.snap.conf.n_voters = RAFT_VOTERS_MAX + 1, "10 voters");
    REFUSE_BOOT(b.snap.conf.voters[2] = 2, "a voter listed twice");
    REFUSE_BOOT(b.snap.conf.voters[2] = 0, "voter ID 0");
    REFUSE_BOOT((b.snap.conf.learners[0] = 2, b.snap.conf.n_learners = 1),
                "a member both voter and learner");
    REFUSE_BOOT(b.snap.conf.n_learners = RAFT_LEARNERS_MAX + 1, "9 learners");

    /* boot states that contradict themselves */
    REFUSE_BOOT(log_entries[0].index = 2, "first entry not right after the snapshot");
    REFUSE_BOOT(log_entries[3].index = 9, "a gap inside the log");
    REFUSE_BOOT(log_entries[4].term = 1, "terms going down");
    REFUSE_BOOT((b.snap.index = 4, b.snap.term = 3), "entries below their snapshot's term");
    REFUSE_BOOT(b.applied_index = 9, "applied 9 beyond the log");
    REFUSE_BOOT((b.n_entries = 0, b.snap.index = 5, b.snap.term = 0, b.applied_index = 5,
                 b.hard_state.commit = 5),
                "a snapshot at 5 with term 0");
#undef REFUSE_BOOT
}

static void check_good_boots(void)
{
    struct raft_boot b;
    struct raft_config cfg;
    struct raft_node *node = NULL;
    struct raft_status st;
    struct nr_err err;

    raft_config_default(&cfg, 2, 7);
    cfg.log_bytes_max = 1 << 20; /* not 256 MiB: meson's MALLOC_PERTURB_ fills it */
    good_boot(&b);
    int rc = raft_create(&cfg, &b, &node, &err);
    if (!UNIT_CHECK(rc == 0, "restart from a good log: %s: %s", nr_code_name(rc), err.msg))
        return;
    raft_status(node, &st);
    UNIT_CHECK(st.id == 2 && st.role == RAFT_FOLLOWER, "restarts as follower 2 (role %u)", st.role);
    UNIT_CHECK(st.hard_state.term == 2 && st.hard_state.vote == 1 && st.hard_state.commit == 3,
               "hard state kept: term %" PRIu64 " vote %" PRIu64 " commit %" PRIu64,
               st.hard_state.term, st.hard_state.vote, st.hard_state.commit);
    UNIT_CHECK(st.first_index == 1 && st.last_index == 5,
               "log window 1..5 (got %" PRIu64 "..%" PRIu64 ")", st.first_index, st.last_index);
    UNIT_CHECK(st.applied_index == 3, "applied 3 (got %" PRIu64 ")", st.applied_index);
    UNIT_CHECK(raft_term_at(node, 2) == 1 && raft_term_at(node, 3) == 2 &&
                       raft_term_at(node, 5) == 2 && raft_term_at(node, 6) == 0,
               "terms 2@1 3@2 5@2, none at 6");
    UNIT_CHECK(st.conf.n_voters == 3, "three voters (got %u)", st.conf.n_voters);
    raft_destroy(node);

    /* Accepted on purpose (raft.h): a vote for a member since removed is a
     * legal history, and a commit index beyond the log (the batch that
     * carried it lost its entries in a torn tail) is clamped and counted. */
    good_boot(&b);
    b.hard_state.vote = 9;
    rc = raft_create(&cfg, &b, &node, &err);
    if (UNIT_CHECK(rc == 0, "a vote for a removed member is kept: %s", nr_code_name(rc))) {
        raft_status(node, &st);
        UNIT_CHECK(st.hard_state.vote == 9, "vote 9 kept (got %" PRIu64 ")", st.hard_state.vote);
        raft_destroy(node);
    }
    /* A batch torn after its entries: the log's term 2 is beyond the hard
     * state's term 1. The node takes term 2, with no vote. */
    good_boot(&b);
    b.hard_state.term = 1;
    rc = raft_create(&cfg, &b, &node, &err);
    if (UNIT_CHECK(rc == 0, "a log term beyond the hard state's boots: %s", nr_code_name(rc))) {
        raft_status(node, &st);
        UNIT_CHECK(st.hard_state.term == 2 && st.hard_state.vote == 0,
                   "takes the log's term 2 with no vote (got term %" PRIu64 " vote %" PRIu64 ")",
                   st.hard_state.term, st.hard_state.vote);
        raft_destroy(node);
    }
    good_boot(&b);
    b.hard_state.commit = 6;
    rc = raft_create(&cfg, &b, &node, &err);
    if (UNIT_CHECK(rc == 0, "commit beyond the log boots: %s", nr_code_name(rc))) {
        struct raft_stats stats;

        raft_status(node, &st);
        raft_stats(node, &stats);
        UNIT_CHECK(st.hard_state.commit == 5, "commit 6 clamped to the last index 5 (got %" PRIu64 ")",
                   st.hard_state.commit);
        UNIT_CHECK(stats.clamped_commit == 1, "the clamp is counted (got %" PRIu64 ")",
                   stats.clamped_commit);
        raft_destroy(node);
    }

    /* A restart after a snapshot at 10@2: entries 11@2 12@3. */
    memset(&b, 0, sizeof(b));
    log_entries[0] = (struct raft_entry){2, 11, RAFT_ENTRY_NORMAL, 4, payload};
    log_entries[1] = (struct raft_entry){3, 12, RAFT_ENTRY_NOOP, 0, NULL};
    b.entries = log_entries;
    b.n_entries = 2;
    b.snap.index = 10;
    b.snap.term = 2;
    b.snap.conf.voters[0] = 1;
    b.snap.conf.voters[1] = 2;
    b.snap.conf.voters[2] = 3;
    b.snap.conf.n_voters = 3;
    b.hard_state = (struct raft_hard_state){3, 0, 11};
    b.applied_index = 10;
    rc = raft_create(&cfg, &b, &node, &err);
    if (!UNIT_CHECK(rc == 0, "restart after a snapshot: %s: %s", nr_code_name(rc), err.msg))
        return;
    raft_status(node, &st);
    UNIT_CHECK(st.snap_index == 10 && st.snap_term == 2,
               "snapshot 10@2 (got %" PRIu64 "@%" PRIu64 ")", st.snap_index, st.snap_term);
    UNIT_CHECK(st.first_index == 11 && st.last_index == 12,
               "window 11..12 (got %" PRIu64 "..%" PRIu64 ")", st.first_index, st.last_index);
    UNIT_CHECK(raft_term_at(node, 10) == 2 && raft_term_at(node, 12) == 3,
               "term at the snapshot 2, at 12 3");
    raft_destroy(node);

    /* A member that joins later starts empty: no configuration yet (it
     * comes with the leader's snapshot), zero hard state, no log. */
    memset(&b, 0, sizeof(b));
    rc = raft_create(&cfg, &b, &node, &err);
    if (!UNIT_CHECK(rc == 0, "an empty joining member: %s: %s", nr_code_name(rc), err.msg))
        return;
    raft_status(node, &st);
    UNIT_CHECK(st.conf.n_voters == 0 && st.last_index == 0 && st.hard_state.term == 0,
               "starts with nothing");
    raft_destroy(node);
}

static void check_defaults(void)
{
    struct raft_config cfg;

    memset(&cfg, 0xff, sizeof(cfg));
    raft_config_default(&cfg, 5, 99);
    UNIT_CHECK(cfg.id == 5 && cfg.seed == 99 && cfg.bugs == 0, "id, seed set; bugs 0");
    UNIT_CHECK(cfg.election_ticks == 10 && cfg.heartbeat_ticks == 1, "election 10, heartbeat 1");
    UNIT_CHECK(cfg.inflight_max == 256 && cfg.msg_bytes_max == (1u << 20), "256 in flight, 1 MiB");
    UNIT_CHECK(cfg.log_entries_max == 65536 && cfg.log_bytes_max == (64ull << 20),
               "64 Ki entries, 64 MiB window");
    UNIT_CHECK(cfg.learner_lag_entries_max == 1000 && cfg.learner_ready_ticks == 20,
               "learners ready within 1000 entries for 20 ticks");
    UNIT_CHECK(cfg.apply_batch_max == 1024 && cfg.read_queue_max == 1024, "1024 apply, 1024 reads");
    UNIT_CHECK(cfg.pre_vote && cfg.check_quorum, "pre-vote and check-quorum on");
}

int main(void)
{
    check_defaults();
    check_config_refusals();
    check_conf_refusals();
    check_good_boots();
    return unit_finish();
}
