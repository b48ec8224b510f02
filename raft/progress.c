/* progress.c - the leader's view of one follower: probe, replicate and
 * snapshot states, and the bounded window of appends in flight. */
#include "raft_int.h"

static void infl_reset(struct raft_prog *pr)
{
    pr->infl_start = 0;
    pr->infl_n = 0;
}

void raft_prog_reset(struct raft_prog *pr, uint64_t next)
{
    pr->match = 0;
    pr->next = next;
    pr->state = RAFT_PROGRESS_PROBE;
    pr->pending_snapshot = 0;
    pr->probe_sent = false;
    pr->recent_active = false;
    pr->vote = 0;
    pr->read_ack = 0;
    pr->in_bound = false; /* readiness is measured anew by each leader */
    infl_reset(pr);
}

void raft_prog_become_probe(struct raft_prog *pr)
{
    /* After a snapshot, resume right after it: the follower installed it or
     * will reject the probe and back off. */
    if (pr->state == RAFT_PROGRESS_SNAPSHOT) {
        uint64_t pending = pr->pending_snapshot;

        pr->next = (pr->match + 1 > pending + 1) ? pr->match + 1 : pending + 1;
    } else {
        pr->next = pr->match + 1;
    }
    pr->state = RAFT_PROGRESS_PROBE;
    pr->pending_snapshot = 0;
    pr->probe_sent = false;
    infl_reset(pr);
}

void raft_prog_become_replicate(struct raft_prog *pr)
{
    pr->state = RAFT_PROGRESS_REPLICATE;
    pr->next = pr->match + 1;
    pr->pending_snapshot = 0;
    pr->probe_sent = false;
    infl_reset(pr);
}

void raft_prog_become_snapshot(struct raft_prog *pr, uint64_t index, uint64_t tick)
{
    pr->state = RAFT_PROGRESS_SNAPSHOT;
    pr->pending_snapshot = index;
    pr->snap_sent_tick = tick;
    pr->probe_sent = false;
    infl_reset(pr);
}

bool raft_prog_maybe_update(struct raft_prog *pr, uint64_t index)
{
    bool updated = false;

    if (pr->match < index) {
        pr->match = index;
        updated = true;
        pr->probe_sent = false;
    }
    if (pr->next < index + 1)
        pr->next = index + 1;
    return updated;
}

bool raft_prog_maybe_decr_to(struct raft_prog *pr, uint64_t rejected, uint64_t match_hint)
{
    if (pr->state == RAFT_PROGRESS_REPLICATE) {
        /* A rejection at or below match is a stale answer. */
        if (rejected <= pr->match)
            return false;
        pr->next = pr->match + 1;
        return true;
    }
    /* In probe, only the answer to the probe in flight counts. A rejection
     * at or below match is stale, or comes from a member whose log is
     * shorter than it acknowledged (SPEC section 3): either way it is no
     * reason to probe again at once; the next heartbeat answer will. */
    if (pr->next - 1 != rejected || rejected <= pr->match)
        return false;
    uint64_t next = rejected < match_hint + 1 ? rejected : match_hint + 1;
    pr->next = next > pr->match + 1 ? next : pr->match + 1;
    pr->probe_sent = false;
    return true;
}

bool raft_prog_is_paused(const struct raft_prog *pr, uint32_t infl_max)
{
    switch (pr->state) {
    case RAFT_PROGRESS_PROBE:
        return pr->probe_sent;
    case RAFT_PROGRESS_REPLICATE:
        return pr->infl_n >= infl_max;
    default:
        return true;
    }
}

void raft_prog_infl_add(struct raft_prog *pr, uint32_t infl_max, uint64_t last)
{
    NR_ASSERT(pr->infl_n < infl_max);
    pr->infl[(pr->infl_start + pr->infl_n) % infl_max] = last;
    pr->infl_n++;
}

void raft_prog_infl_free_le(struct raft_prog *pr, uint32_t infl_max, uint64_t index)
{
    while (pr->infl_n > 0 && pr->infl[pr->infl_start] <= index) {
        pr->infl_start = (pr->infl_start + 1) % infl_max;
        pr->infl_n--;
    }
}

void raft_prog_infl_free_first(struct raft_prog *pr, uint32_t infl_max)
{
    if (pr->infl_n == 0)
        return;
    pr->infl_start = (pr->infl_start + 1) % infl_max;
    pr->infl_n--;
}

const char *raft_prog_state_name(uint32_t state)
{
    switch (state) {
    case RAFT_PROGRESS_PROBE: return "probe";
    case RAFT_PROGRESS_REPLICATE: return "replicate";
    case RAFT_PROGRESS_SNAPSHOT: return "snapshot";
    default: return "?";
    }
}
