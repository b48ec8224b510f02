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

static void print_progress(struct scen_buf *b, const struct raft_node *raft)
{
    struct raft_progress_view v[RAFT_MEMBERS_MAX];
    uint32_t n = raft_progress(raft, v, RAFT_MEMBERS_MAX);

    for (uint32_t i = 0; i < n && i < RAFT_MEMBERS_MAX; i++) {
        scen_printf(b, "  %" PRIu64 ": match=%" PRIu64 " next=%" PRIu64 " %s", v[i].id,
                    v[i].match_index, v[i].next_index, progress_state_name(v[i].state));
        if (v[i].inflight != 0)
            scen_printf(b, " inflight=%u", v[i].inflight);
        if (v[i].is_learner)
            scen_printf(b, " learner");
        scen_printf(b, "%s\n", v[i].recent_active ? " active" : "");
    }
}

void scen_print_status(struct scen_buf *b, const struct raft_node *raft)
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
    if (st.role == RAFT_LEADER)
        print_progress(b, raft);
}

void scen_print_stats(struct scen_buf *b, const struct raft_node *raft)
{
    struct raft_stats s;
    struct raft_status st;

    raft_stats(raft, &s);
    raft_status(raft, &st);
    scen_printf(b,
                "%" PRIu64 ": stale_term=%" PRIu64 " unknown_sender=%" PRIu64 " malformed=%" PRIu64
                " clamped_commit=%" PRIu64 " not_leader=%" PRIu64 " busy=%" PRIu64 " msgs=%" PRIu64
                "\n",
                st.id, s.refused_stale_term, s.refused_unknown_sender, s.refused_malformed,
                s.clamped_commit, s.refused_not_leader, s.refused_busy, s.msgs_stepped);
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
