/* cf_commit.c - the output of a `committed` case (README 5.3): the chart of
 * acknowledged indexes (README 5.5), the self-check annotations (README 5.7)
 * and the committed index from raft_quorum_committed() or
 * raft_quorum_joint_committed().
 *
 * The self-checks compute the same index another way and print a line only
 * when the two disagree; the vectors hold none, so each is an extra
 * assertion on quorum.c that shows up as a diff in the right place. */
#include <inttypes.h>
#include <string.h>

#include "cf.h"

void cf_print_index(struct cf_buf *out, uint64_t index)
{
    if (index == UINT64_MAX)
        cf_buf_puts(out, "\xe2\x88\x9e"); /* U+221E INFINITY, as upstream prints it */
    else
        cf_buf_printf(out, "%" PRIu64, index);
}

static uint64_t ack_of(const void *ctx, uint64_t id)
{
    uint64_t v;

    (void)cf_acks_get(ctx, id, &v); /* 0 for an absent voter */
    return v;
}

/* The acknowledgements with one voter's index replaced. */
struct overlay {
    const struct cf_acks *base;
    uint64_t id;
    uint64_t index;
};

static uint64_t overlay_ack_of(const void *ctx, uint64_t id)
{
    const struct overlay *o = ctx;

    return id == o->id ? o->index : ack_of(o->base, id);
}

static void put_repeated(struct cf_buf *out, char ch, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        cf_buf_put(out, &ch, 1);
}

/* README 5.5; ids[] ascending. The gauge of a voter is one `x` per voter
 * with a strictly smaller index (absent voters count as 0), so equal
 * indexes draw equal gauges. */
static void print_chart(struct cf_buf *out, const uint64_t *ids, uint32_t n,
                        const struct cf_acks *acks)
{
    if (n == 0) {
        cf_buf_puts(out, "<empty majority quorum>"); /* no LF: the index follows */
        return;
    }
    put_repeated(out, ' ', n + 4);
    cf_buf_puts(out, "idx\n");
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v;
        uint32_t smaller = 0;

        if (!cf_acks_get(acks, ids[i], &v)) {
            cf_buf_puts(out, "?");
            put_repeated(out, ' ', n);
        } else {
            for (uint32_t j = 0; j < n; j++)
                smaller += ack_of(acks, ids[j]) < v;
            put_repeated(out, 'x', smaller);
            cf_buf_puts(out, ">");
            put_repeated(out, ' ', n - smaller);
        }
        cf_buf_printf(out, " %5" PRIu64 "    (id=%" PRIx64 ")\n", v, ids[i]);
    }
}

/* The committed index the slow way: the largest present index that at
 * least a majority of ids[] acknowledged (or exceeded); 0 if none. */
static uint64_t slow_committed(const uint64_t *ids, uint32_t n, const struct cf_acks *acks)
{
    uint64_t best = 0;

    if (n == 0)
        return UINT64_MAX;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v;
        uint32_t n_at_least = 0;

        if (!cf_acks_get(acks, ids[i], &v))
            continue;
        for (uint32_t j = 0; j < n; j++) {
            uint64_t w;

            n_at_least += cf_acks_get(acks, ids[j], &w) && w >= v;
        }
        if (n_at_least >= n / 2 + 1 && v > best)
            best = v;
    }
    return best;
}

static void note_if_differs(struct cf_buf *out, uint64_t got, uint64_t want, const char *how)
{
    if (got == want)
        return;
    cf_print_index(out, got);
    cf_buf_printf(out, " <-- %s\n", how);
}

/* Lowering the index of a voter that is already below the committed index
 * (to one less, then to 0) must not change it. Upstream prints these notes
 * without a line break, in Go map order; we go by ascending id. */
static void check_overlays(struct cf_buf *out, const uint64_t *ids, uint32_t n,
                           const struct cf_acks *acks, uint64_t committed)
{
    for (uint32_t i = 0; i < n; i++) {
        struct overlay o = {acks, ids[i], 0};
        uint64_t v;
        uint64_t got;

        if (!cf_acks_get(acks, ids[i], &v) || v == 0 || v >= committed)
            continue;
        o.index = v - 1;
        got = raft_quorum_committed(ids, n, overlay_ack_of, &o);
        if (got != committed) {
            cf_print_index(out, got);
            cf_buf_printf(out, " <-- overlaying %" PRIu64 "->%" PRIu64, ids[i], v);
        }
        o.index = 0;
        got = raft_quorum_committed(ids, n, overlay_ack_of, &o);
        if (got != committed) {
            cf_print_index(out, got);
            cf_buf_printf(out, " <-- overlaying %" PRIu64 "->0", ids[i]);
        }
    }
}

static void print_majority(struct cf_buf *out, const uint64_t *cfg, uint32_t n,
                           const struct cf_acks *acks)
{
    struct raft_conf conf;
    uint64_t committed = raft_quorum_committed(cfg, n, ack_of, acks);

    print_chart(out, cfg, n, acks);
    note_if_differs(out, slow_committed(cfg, n, acks), committed, "via alternative computation");
    cf_conf_of(&conf, cfg, n, NULL, 0);
    note_if_differs(out, raft_quorum_joint_committed(&conf, ack_of, acks), committed,
                    "via zero-joint quorum");
    cf_conf_of(&conf, cfg, n, cfg, n);
    note_if_differs(out, raft_quorum_joint_committed(&conf, ack_of, acks), committed,
                    "via self-joint quorum");
    check_overlays(out, cfg, n, acks, committed);
    cf_print_index(out, committed);
    cf_buf_puts(out, "\n");
}

/* One chart of the union of both halves, then the joint index. */
static void print_joint(struct cf_buf *out, const uint64_t *cfg, uint32_t n_cfg,
                        const uint64_t *cfgj, uint32_t n_cfgj, const struct cf_acks *acks)
{
    uint64_t all[2 * RAFT_VOTERS_MAX];
    uint32_t n_all = 0;
    struct raft_conf conf;

    NR_ASSERT(cf_ids_merge(all, &n_all, 2 * RAFT_VOTERS_MAX, cfg, n_cfg));
    NR_ASSERT(cf_ids_merge(all, &n_all, 2 * RAFT_VOTERS_MAX, cfgj, n_cfgj));
    cf_ids_sort(all, n_all);
    print_chart(out, all, n_all, acks);
    cf_conf_of(&conf, cfg, n_cfg, cfgj, n_cfgj);
    uint64_t committed = raft_quorum_joint_committed(&conf, ack_of, acks);

    cf_conf_of(&conf, cfgj, n_cfgj, cfg, n_cfg);
    note_if_differs(out, raft_quorum_joint_committed(&conf, ack_of, acks), committed,
                    "via symmetry");
    cf_print_index(out, committed);
    cf_buf_puts(out, "\n");
}

void cf_commit_print(struct cf_buf *out, const uint64_t *cfg, uint32_t n_cfg, const uint64_t *cfgj,
                     uint32_t n_cfgj, bool is_joint, const struct cf_acks *acks)
{
    if (is_joint)
        print_joint(out, cfg, n_cfg, cfgj, n_cfgj, acks);
    else
        print_majority(out, cfg, n_cfg, acks);
}
