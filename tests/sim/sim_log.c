/* sim_log.c - the bounded ring of recent events and the violation report.
 *
 * Events are stored as small records and formatted only when printed (-v, or
 * the dump that follows a violation), so the common path costs a copy. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

static const char *rec_name(uint32_t kind)
{
    static const char *const names[] = {
            [SIM_REC_SEND] = "send",       [SIM_REC_RECV] = "recv",
            [SIM_REC_DROP] = "drop",       [SIM_REC_ROLE] = "role",
            [SIM_REC_CRASH] = "crash",     [SIM_REC_TORN] = "torn",
            [SIM_REC_RESTART] = "restart", [SIM_REC_PART] = "partition",
            [SIM_REC_HEAL] = "heal",       [SIM_REC_WRITE] = "write",
            [SIM_REC_DURABLE] = "durable", [SIM_REC_APPLY] = "apply",
            [SIM_REC_INSTALL] = "install", [SIM_REC_COMPACT] = "compact",
            [SIM_REC_PROPOSE] = "propose", [SIM_REC_READ] = "read",
            [SIM_REC_OP_DONE] = "op-done", [SIM_REC_OP_UNKNOWN] = "op-unknown",
            [SIM_REC_REFUSED] = "refused", [SIM_REC_SETTLE] = "settle",
            [SIM_REC_FIG8] = "figure-8",   [SIM_REC_CHANGE] = "change",
            [SIM_REC_CONF] = "conf",       [SIM_REC_START] = "start",
            [SIM_REC_STOP] = "stop",       [SIM_REC_STATE] = "state",
    };

    if (kind < sizeof(names) / sizeof(names[0]) && names[kind] != NULL)
        return names[kind];
    return "?";
}

static int fmt_msg(char *buf, size_t len, const struct sim_rec *r)
{
    /* a: type | reject << 8, b: from << 32 | to, c: term, d: index,
     * e: log_term (append response: reject hint), f: commit << 16 | n */
    uint32_t type = (uint32_t)(r->a & 0xff);
    bool is_reject = (r->a >> 8) & 1;
    char tail[48] = "";

    if (type == RAFT_MSG_APPEND_RESP && is_reject)
        snprintf(tail, sizeof(tail), " reject hint=%llu", (unsigned long long)r->e);
    else if (is_reject)
        snprintf(tail, sizeof(tail), " reject");
    return snprintf(buf, len,
                    "%s %llu->%llu term=%llu index=%llu log_term=%llu "
                    "commit=%llu n=%llu%s",
                    raft_msg_type_name(type), (unsigned long long)(r->b >> 32),
                    (unsigned long long)(r->b & 0xffffffffu), (unsigned long long)r->c,
                    (unsigned long long)r->d,
                    type == RAFT_MSG_APPEND_RESP ? 0ull : (unsigned long long)r->e,
                    (unsigned long long)(r->f >> 16), (unsigned long long)(r->f & 0xffff), tail);
}

/* a: op | kind << 8 | auto_leave << 12 | forced << 13, b: rc, c: index,
 * d, e: items packed 8 bits each (op - 1, id), f: item count; a transfer
 * has op 9 and the target in d. */
static int fmt_change(char *buf, size_t len, const struct sim_rec *r)
{
    static const char *const ops[] = {"?",           "add-learner",  "add-voter",      "promote",
                                      "demote",      "remove-voter", "remove-learner", "replace",
                                      "leave-joint", "transfer",     "invalid"};
    static const char *const item_ops[] = {"+v", "+l", "-", "~"};
    uint32_t op = (uint32_t)(r->a & 0xff);
    int rc = (int)(int64_t)r->b;
    char items[160] = "";
    size_t off = 0;

    if (op == 9)
        return snprintf(buf, len, "transfer leadership to %llu: %s", (unsigned long long)r->d,
                        rc == 0 ? "ok" : nr_code_name(rc));
    for (uint64_t i = 0; i < r->f && i < 16 && off < sizeof(items); i++) {
        uint64_t x = (i < 8 ? r->d >> (8 * i) : r->e >> (8 * (i - 8))) & 0xff;
        int k = snprintf(items + off, sizeof(items) - off, " %s%llu", item_ops[x >> 6],
                         (unsigned long long)(x & 63));

        off += k > 0 ? (size_t)k : 0;
    }
    return snprintf(buf, len, "%s%s%s:%s -> %s%s%llu",
                    op < sizeof(ops) / sizeof(ops[0]) ? ops[op] : "?",
                    (r->a >> 12) & 1 ? " auto-leave" : "", (r->a >> 13) & 1 ? " forced" : "", items,
                    rc == 0 ? "accepted at " : nr_code_name(rc), rc == 0 ? "" : " ",
                    rc == 0 ? (unsigned long long)r->c : 0ull);
}

static int fmt_body(char *buf, size_t len, const struct sim_rec *r)
{
    unsigned long long a = r->a, b = r->b, c = r->c, d = r->d;

    switch (r->kind) {
    case SIM_REC_SEND:
    case SIM_REC_RECV:
    case SIM_REC_DROP: return fmt_msg(buf, len, r);
    case SIM_REC_ROLE:
        return snprintf(buf, len, "%s term=%llu leader=%llu last=%llu commit=%llu",
                        raft_role_name((uint32_t)a), b, c, d, (unsigned long long)r->e);
    case SIM_REC_CRASH:
    case SIM_REC_RESTART:
        return snprintf(buf, len,
                        "gen=%llu durable: term=%llu vote=%llu last=%llu "
                        "snap=%llu",
                        a, b, c, d, (unsigned long long)r->e);
    case SIM_REC_TORN:
        return snprintf(buf, len, "kept %llu of %llu records of the oldest write", a, b);
    case SIM_REC_PART: {
        static const char *const kinds[] = {"split", "isolate", "one-way", "links"};

        return snprintf(buf, len, "%s%s mask=%llx", a < 4 ? kinds[a] : "?",
                        a == SIM_PART_ONE_WAY ? (b != 0 ? " (cannot send)" : " (cannot hear)") : "",
                        c);
    }
    case SIM_REC_WRITE:
    case SIM_REC_DURABLE: {
        char ents[64] = "no entries";

        if (a != 0)
            snprintf(ents, sizeof(ents), "entries %llu..%llu (last term %llu)", a, b, c);
        return snprintf(buf, len, "%s, hard state term/vote %llu/%llu%s, snapshot %llu", ents,
                        d >> 32, d & 0xffffffffu, d == 0 ? " (none)" : "",
                        (unsigned long long)r->e);
    }
    case SIM_REC_APPLY: return snprintf(buf, len, "index=%llu term=%llu hash=%016llx", a, b, c);
    case SIM_REC_INSTALL:
    case SIM_REC_COMPACT: return snprintf(buf, len, "snapshot index=%llu term=%llu", a, b);
    case SIM_REC_PROPOSE:
        return snprintf(buf, len, "client %llu put k%llu=%llu at %llu/%llu", a, b, c, d,
                        (unsigned long long)r->e);
    case SIM_REC_READ: return snprintf(buf, len, "client %llu get k%llu ctx=%llu", a, b, c);
    case SIM_REC_OP_DONE:
    case SIM_REC_OP_UNKNOWN:
        return snprintf(buf, len, "client %llu %s k%llu=%llu", a, b == SIM_OP_PUT ? "put" : "get",
                        c, d);
    case SIM_REC_FIG8: {
        static const char *const steps[] = {
                [SIM_FIG8_IDLE] = "episode over",
                [SIM_FIG8_OLD_CUT] = "cut off the leader (A) while clients write to it",
                [SIM_FIG8_NEW_CUT] = "cut off a new leader at once",
                [SIM_FIG8_WAIT_COMMIT] = "A leads again; cut it off at its first commit",
                [SIM_FIG8_LAST_CUT] = "A committed: cut it off",
        };

        return snprintf(buf, len, "%s", a <= SIM_FIG8_LAST_CUT ? steps[a] : "?");
    }
    case SIM_REC_REFUSED:
        return snprintf(buf, len, "input %llu refused: %s", a, nr_code_name((int)(int64_t)b));
    case SIM_REC_CHANGE: return fmt_change(buf, len, r);
    case SIM_REC_STATE: {
        static const char *const lives[] = {"up", "unstarted", "stopped", "down"};
        char v[128], o[128], l[128];

        sim_fmt_ids(v, sizeof(v), r->f & 0xffffffffu);
        sim_fmt_ids(o, sizeof(o), r->f >> 32);
        sim_fmt_ids(l, sizeof(l), a >> 32);
        return snprintf(buf, len,
                        "%s %s term=%llu last=%llu commit=%llu applied=%llu voters=%s "
                        "outgoing=%s learners=%s refused_unknown_sender=%llu",
                        lives[a & 3], raft_role_name((uint32_t)(a >> 4) & 0xf), b, c, d,
                        (unsigned long long)r->e, v, o, l, (a >> 8) & 0xffffff);
    }
    case SIM_REC_CONF: {
        char v[128], o[128], l[128];

        sim_fmt_ids(v, sizeof(v), b);
        sim_fmt_ids(o, sizeof(o), c);
        sim_fmt_ids(l, sizeof(l), d);
        return snprintf(buf, len, "%s at %llu: voters=%s outgoing=%s learners=%s",
                        r->e ? "installed" : "applied", a, v, o, l);
    }
    case SIM_REC_START: return snprintf(buf, len, "new member's process, empty data directory");
    case SIM_REC_STOP:
        return snprintf(buf, len, "applied its own removal: stops for good%s",
                        a ? "" : " (was down)");
    default: return snprintf(buf, len, "%llu %llu %llu %llu", a, b, c, d);
    }
}

static void rec_print(int fd, const struct sim_rec *r)
{
    char body[512], line[600];

    fmt_body(body, sizeof(body), r);
    int n = snprintf(line, sizeof(line), "  t=%llu.%03llums n%u %s %s\n",
                     (unsigned long long)(r->at_us / 1000), (unsigned long long)(r->at_us % 1000),
                     r->node + 1, rec_name(r->kind), body);
    if (n > 0) {
        size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
        ssize_t done = write(fd, line, len);
        (void)done;
    }
}

/* Heartbeats and refused client requests would push everything else out
 * of the ring; -v still prints them. */
static bool is_noise(uint32_t kind, uint64_t a)
{
    uint32_t type = (uint32_t)(a & 0xff);

    if (kind == SIM_REC_REFUSED)
        return true;
    if (kind != SIM_REC_SEND && kind != SIM_REC_RECV && kind != SIM_REC_DROP)
        return false;
    return type == RAFT_MSG_HEARTBEAT || type == RAFT_MSG_HEARTBEAT_RESP;
}

void sim_log(struct sim_world *w, uint32_t kind, uint32_t node, uint64_t a, uint64_t b, uint64_t c,
             uint64_t d, uint64_t e, uint64_t f)
{
    struct sim_rec rec = {.at_us = w->now_us,
                          .kind = kind,
                          .node = node,
                          .a = a,
                          .b = b,
                          .c = c,
                          .d = d,
                          .e = e,
                          .f = f};

    if (w->opts->verbose)
        rec_print(STDOUT_FILENO, &rec);
    else if (is_noise(kind, a))
        return;
    w->elog.ring[w->elog.n % SIM_LOG_RING] = rec;
    w->elog.n++;
}

void sim_log_dump(const struct sim_world *w, int fd, uint32_t max)
{
    uint64_t n = w->elog.n;
    uint64_t keep = n < SIM_LOG_RING ? n : SIM_LOG_RING;

    if (keep > max)
        keep = max;
    for (uint64_t i = n - keep; i < n; i++)
        rec_print(fd, &w->elog.ring[i % SIM_LOG_RING]);
}

void sim_violation(struct sim_world *w, const char *fmt, ...)
{
    if (w->failed)
        return; /* the first one explains the seed */
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
    w->failed = true;
}
