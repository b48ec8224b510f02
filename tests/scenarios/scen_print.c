/* scen_print.c - the scenario runner's output: a growable text buffer and
 * the stable formats of messages, status, stats and logs.
 *
 * Names come from our own tables, not raft_msg_type_name(), so that the
 * expected outputs do not change when the core renames something. */
#include "scen.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(void)
{
    fprintf(stderr, "raft-scenario: out of memory\n");
    exit(2);
}

void *scen_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        out_of_memory();
    return p;
}

void scen_buf_init(struct scen_buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void scen_buf_free(struct scen_buf *b)
{
    free(b->p);
    scen_buf_init(b);
}

void scen_buf_reset(struct scen_buf *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

static void buf_reserve(struct scen_buf *b, size_t more)
{
    size_t need = b->len + more + 1;
    size_t cap = b->cap ? b->cap : 256;

    if (need <= b->cap)
        return;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        out_of_memory();
    b->p = p;
    b->cap = cap;
}

void scen_printf(struct scen_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[512];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    if ((size_t)n < sizeof(small)) {
        memcpy(b->p + b->len, small, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* ---- names ------------------------------------------------------------ */

static const char *const msg_names[] = {
        [RAFT_MSG_APPEND] = "APPEND",       [RAFT_MSG_APPEND_RESP] = "APPEND_RESP",
        [RAFT_MSG_VOTE] = "VOTE",           [RAFT_MSG_VOTE_RESP] = "VOTE_RESP",
        [RAFT_MSG_PREVOTE] = "PREVOTE",     [RAFT_MSG_PREVOTE_RESP] = "PREVOTE_RESP",
        [RAFT_MSG_HEARTBEAT] = "HEARTBEAT", [RAFT_MSG_HEARTBEAT_RESP] = "HEARTBEAT_RESP",
        [RAFT_MSG_SNAPSHOT] = "SNAPSHOT",   [RAFT_MSG_TIMEOUT_NOW] = "TIMEOUT_NOW",
};

const char *scen_msg_type_name(uint32_t type)
{
    if (type == 0 || type > RAFT_MSG_TYPE_MAX)
        return "MSG?";
    return msg_names[type];
}

bool scen_msg_type_parse(const char *s, uint32_t *type)
{
    for (uint32_t t = 1; t <= RAFT_MSG_TYPE_MAX; t++) {
        if (strcmp(s, msg_names[t]) == 0) {
            *type = t;
            return true;
        }
    }
    /* TYPE=N: a raw type number, to inject types that do not exist */
    if (strncmp(s, "TYPE=", 5) == 0) {
        char *end;
        unsigned long v = strtoul(s + 5, &end, 10);
        if (*end == '\0' && v <= UINT32_MAX) {
            *type = (uint32_t)v;
            return true;
        }
    }
    return false;
}

const char *scen_role_name(uint32_t role)
{
    switch (role) {
    case RAFT_FOLLOWER: return "FOLLOWER";
    case RAFT_PRE_CANDIDATE: return "PRE_CANDIDATE";
    case RAFT_CANDIDATE: return "CANDIDATE";
    case RAFT_LEADER: return "LEADER";
    default: return "ROLE?";
    }
}

static const char *progress_state_name(uint32_t state)
{
    switch (state) {
    case RAFT_PROGRESS_PROBE: return "PROBE";
    case RAFT_PROGRESS_REPLICATE: return "REPLICATE";
    case RAFT_PROGRESS_SNAPSHOT: return "SNAPSHOT";
    default: return "STATE?";
    }
}

/* ---- messages ----------------------------------------------------------- */

/* entries=[2@1 3@2]: index@term; long runs shortened to first..last n=N. */
static void print_entries(struct scen_buf *b, const struct raft_msg *m)
{
    if (m->n_entries == 0 || m->entries == NULL)
        return;
    const struct raft_entry *e = m->entries;
    uint32_t n = m->n_entries;
    if (n > 6) {
        scen_printf(b, " entries=[%" PRIu64 "@%" PRIu64 "..%" PRIu64 "@%" PRIu64 " n=%u]",
                    e[0].index, e[0].term, e[n - 1].index, e[n - 1].term, n);
        return;
    }
    scen_printf(b, " entries=[");
    for (uint32_t i = 0; i < n; i++)
        scen_printf(b, "%s%" PRIu64 "@%" PRIu64, i ? " " : "", e[i].index, e[i].term);
    scen_printf(b, "]");
}

void scen_print_msg(struct scen_buf *b, const struct raft_msg *m)
{
    scen_printf(b, "%" PRIu64 "->%" PRIu64 " %s term=%" PRIu64, m->from, m->to,
                scen_msg_type_name(m->type), m->term);
    switch (m->type) {
    case RAFT_MSG_APPEND:
        scen_printf(b, " index=%" PRIu64 " log_term=%" PRIu64 " commit=%" PRIu64, m->index,
                    m->log_term, m->commit);
        print_entries(b, m);
        break;
    case RAFT_MSG_APPEND_RESP:
        scen_printf(b, " index=%" PRIu64, m->index);
        if (m->reject)
            scen_printf(b, " reject hint=%" PRIu64 " hint_term=%" PRIu64, m->reject_hint,
                        m->reject_hint_term);
        break;
    case RAFT_MSG_VOTE:
    case RAFT_MSG_PREVOTE:
        scen_printf(b, " index=%" PRIu64 " log_term=%" PRIu64, m->index, m->log_term);
        if (m->transfer)
            scen_printf(b, " transfer");
        break;
    case RAFT_MSG_VOTE_RESP:
    case RAFT_MSG_PREVOTE_RESP:
        if (m->reject)
            scen_printf(b, " reject");
        break;
    case RAFT_MSG_HEARTBEAT:
        scen_printf(b, " commit=%" PRIu64, m->commit);
        if (m->ctx != 0)
            scen_printf(b, " ctx=%" PRIu64, m->ctx);
        break;
    case RAFT_MSG_HEARTBEAT_RESP:
        if (m->ctx != 0)
            scen_printf(b, " ctx=%" PRIu64, m->ctx);
        break;
    case RAFT_MSG_SNAPSHOT:
        scen_printf(b, " snap=%" PRIu64 "@%" PRIu64, m->snap.index, m->snap.term);
        break;
    default: break;
    }
}

/* ---- observation ---------------------------------------------------------- */

static int compare_views(const void *a, const void *b)
{
    uint64_t x = ((const struct raft_progress_view *)a)->id;
    uint64_t y = ((const struct raft_progress_view *)b)->id;

    return x < y ? -1 : x > y;
}

/* By member ID: the core's order follows its records, which a removal
 * reorders. */
static void print_progress(struct scen_buf *b, const struct raft_node *raft)
{
    struct raft_progress_view v[RAFT_MEMBERS_MAX];
    uint32_t n = raft_progress(raft, v, RAFT_MEMBERS_MAX);

    if (n > RAFT_MEMBERS_MAX)
        n = RAFT_MEMBERS_MAX;
    qsort(v, n, sizeof(v[0]), compare_views);
    for (uint32_t i = 0; i < n; i++) {
        scen_printf(b, "  %" PRIu64 ": match=%" PRIu64 " next=%" PRIu64 " %s", v[i].id,
                    v[i].match_index, v[i].next_index, progress_state_name(v[i].state));
        if (v[i].inflight != 0)
            scen_printf(b, " inflight=%u", v[i].inflight);
        if (v[i].is_learner)
            scen_printf(b, " learner");
        scen_printf(b, "%s\n", v[i].recent_active ? " active" : "");
    }
}

void scen_print_status_ex(struct scen_buf *b, const struct raft_node *raft, bool is_conf_shown)
{
    struct raft_status st;

    raft_status(raft, &st);
    scen_printf(b,
                "%" PRIu64 ": %s term=%" PRIu64 " vote=%" PRIu64 " leader=%" PRIu64
                " commit=%" PRIu64 " applied=%" PRIu64 " first=%" PRIu64 " last=%" PRIu64
                " persisted=%" PRIu64 " snap=%" PRIu64 "@%" PRIu64,
                st.id, scen_role_name(st.role), st.hard_state.term, st.hard_state.vote,
                st.leader_id, st.hard_state.commit, st.applied_index, st.first_index, st.last_index,
                st.persisted_index, st.snap_index, st.snap_term);
    if (st.transfer_target != 0)
        scen_printf(b, " transfer=%" PRIu64, st.transfer_target);
    scen_printf(b, "\n");
    if (is_conf_shown) {
        scen_printf(b, "  conf ");
        scen_print_conf(b, &st.conf);
        if (st.role == RAFT_LEADER && st.pending_conf_index > st.applied_index)
            scen_printf(b, " pending=%" PRIu64, st.pending_conf_index);
        scen_printf(b, "%s\n", st.is_member ? "" : " (not a member)");
    }
    if (st.role == RAFT_LEADER)
        print_progress(b, raft);
}

void scen_print_status(struct scen_buf *b, const struct raft_node *raft)
{
    scen_print_status_ex(b, raft, false);
}

/* ---- configurations ----------------------------------------------------- */

static int compare_ids(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* (1,2,3), sorted; n is at most RAFT_VOTERS_MAX (learner lists are shorter). */
static void print_ids(struct scen_buf *b, const uint64_t *ids, uint32_t n)
{
    uint64_t sorted[RAFT_VOTERS_MAX];

    if (n > RAFT_VOTERS_MAX)
        n = RAFT_VOTERS_MAX;
    memcpy(sorted, ids, n * sizeof(ids[0]));
    qsort(sorted, n, sizeof(sorted[0]), compare_ids);
    scen_printf(b, "(");
    for (uint32_t i = 0; i < n; i++)
        scen_printf(b, "%s%" PRIu64, i ? "," : "", sorted[i]);
    scen_printf(b, ")");
}

void scen_print_conf(struct scen_buf *b, const struct raft_conf *conf)
{
    scen_printf(b, "voters=");
    print_ids(b, conf->voters, conf->n_voters);
    if (conf->n_voters_outgoing > 0) {
        scen_printf(b, "&&");
        print_ids(b, conf->voters_outgoing, conf->n_voters_outgoing);
    }
    if (conf->n_learners > 0) {
        scen_printf(b, " learners=");
        print_ids(b, conf->learners, conf->n_learners);
    }
    if (conf->n_learners_next > 0) {
        scen_printf(b, " learners_next=");
        print_ids(b, conf->learners_next, conf->n_learners_next);
    }
    if (conf->auto_leave)
        scen_printf(b, " autoleave");
}

/* Whether a's n IDs are b's m IDs, in any order (neither has duplicates). */
static bool same_set(const uint64_t *a, uint32_t n, const uint64_t *b, uint32_t m)
{
    if (n != m)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        bool is_found = false;
        for (uint32_t j = 0; j < m && !is_found; j++)
            is_found = a[i] == b[j];
        if (!is_found)
            return false;
    }
    return true;
}

bool scen_conf_equal(const struct raft_conf *a, const struct raft_conf *b)
{
    return same_set(a->voters, a->n_voters, b->voters, b->n_voters) &&
           same_set(a->voters_outgoing, a->n_voters_outgoing, b->voters_outgoing,
                    b->n_voters_outgoing) &&
           same_set(a->learners, a->n_learners, b->learners, b->n_learners) &&
           same_set(a->learners_next, a->n_learners_next, b->learners_next, b->n_learners_next) &&
           a->auto_leave == b->auto_leave;
}

void scen_print_cc(struct scen_buf *b, const uint8_t *data, uint32_t len)
{
    static const char op_letters[] = {[RAFT_CC_ADD_VOTER] = 'v', [RAFT_CC_ADD_LEARNER] = 'l',
                                      [RAFT_CC_REMOVE] = 'r', [RAFT_CC_UPDATE] = 'u'};
    struct raft_conf_change cc;
    struct nr_err err = {0};

    if (raft_cc_decode(data, len, &cc, &err) != 0) {
        scen_printf(b, "undecodable");
        return;
    }
    if (cc.kind == RAFT_CC_SIMPLE)
        scen_printf(b, "simple");
    else if (cc.kind == RAFT_CC_ENTER_JOINT)
        scen_printf(b, "joint%s", cc.auto_leave ? " autoleave" : "");
    else
        scen_printf(b, "leave");
    /* raft_cc_decode() checked that every op is in range */
    for (uint32_t i = 0; i < cc.n_items; i++)
        scen_printf(b, " %c%" PRIu64, op_letters[cc.items[i].op], cc.items[i].id);
}

void scen_print_stats(struct scen_buf *b, const struct raft_node *raft)
{
    struct raft_stats s;
    struct raft_status st;

    raft_stats(raft, &s);
    raft_status(raft, &st);
    scen_printf(b,
                "%" PRIu64 ": stale_term=%" PRIu64 " unknown_sender=%" PRIu64 " malformed=%" PRIu64
                " clamped_commit=%" PRIu64 " not_leader=%" PRIu64 " busy=%" PRIu64 " msgs=%" PRIu64,
                st.id, s.refused_stale_term, s.refused_unknown_sender, s.refused_malformed,
                s.clamped_commit, s.refused_not_leader, s.refused_busy, s.msgs_stepped);
    /* Only when non-zero: the files written before membership have none. */
    if (s.refused_conf != 0)
        scen_printf(b, " refused_conf=%" PRIu64, s.refused_conf);
    scen_printf(b, "\n");
}

/* 1: log 1@1 2@2 3@2 (index@term of the in-memory window; snapshot first). */
void scen_print_log(struct scen_buf *b, const struct raft_node *raft)
{
    struct raft_status st;

    raft_status(raft, &st);
    scen_printf(b, "%" PRIu64 ": log", st.id);
    if (st.snap_index != 0)
        scen_printf(b, " snap=%" PRIu64 "@%" PRIu64, st.snap_index, st.snap_term);
    uint64_t first = st.first_index ? st.first_index : 1;
    if (st.last_index >= first && st.last_index - first >= 64) {
        scen_printf(b, " %" PRIu64 "@%" PRIu64 "..%" PRIu64 "@%" PRIu64 "\n", first,
                    raft_term_at(raft, first), st.last_index, raft_term_at(raft, st.last_index));
        return;
    }
    for (uint64_t i = first; i <= st.last_index; i++)
        scen_printf(b, " %" PRIu64 "@%" PRIu64, i, raft_term_at(raft, i));
    if (st.last_index < first)
        scen_printf(b, " (empty)");
    scen_printf(b, "\n");
}
