/* cf_quorum.c - the quorum vectors (README 5): `committed` and `vote` on a
 * majority or a joint configuration, run against raft_quorum_*(). This file
 * reads the arguments, binds the values to voters (README 5.2), runs the
 * count check and the votes; cf_commit.c prints the `committed` output. */
#include <inttypes.h>
#include <string.h>

#include "cf.h"

/* The arguments as written (README 5.1); repeated keys add up, as upstream. */
struct quorum_args {
    uint64_t cfg[CF_VALS_MAX]; /* repeats kept: they matter for binding */
    uint32_t n_cfg;
    uint64_t cfgj[CF_VALS_MAX];
    uint32_t n_cfgj;
    bool is_joint;             /* cfgj given at all, `zero` included */
    uint64_t idx[CF_VALS_MAX]; /* 0 for `_` */
    uint32_t n_idx;
    uint64_t votes[CF_VALS_MAX]; /* upstream's encoding: 2 y, 1 n, 0 _ */
    uint32_t n_votes;
};

/* The two halves, each as distinct ids in ascending order. */
struct quorum_conf {
    uint64_t cfg[CF_VALS_MAX];
    uint32_t n_cfg;
    uint64_t cfgj[CF_VALS_MAX];
    uint32_t n_cfgj;
};

bool cf_acks_get(const struct cf_acks *a, uint64_t id, uint64_t *val)
{
    for (uint32_t i = 0; i < a->n; i++) {
        if (a->ids[i] == id) {
            *val = a->vals[i];
            return a->is_present[i];
        }
    }
    *val = 0;
    return false;
}

void cf_conf_of(struct raft_conf *conf, const uint64_t *in, uint32_t n_in, const uint64_t *out,
                uint32_t n_out)
{
    NR_ASSERT(n_in <= RAFT_VOTERS_MAX);
    NR_ASSERT(n_out <= RAFT_VOTERS_MAX);
    memset(conf, 0, sizeof(*conf));
    if (n_in > 0)
        memcpy(conf->voters, in, n_in * sizeof(in[0]));
    if (n_out > 0)
        memcpy(conf->voters_outgoing, out, n_out * sizeof(out[0]));
    conf->n_voters = n_in;
    conf->n_voters_outgoing = n_out;
}

/* ---- arguments ----------------------------------------------------------- */

static int push(uint64_t *v, uint32_t *n, uint64_t x, const char *key, struct nr_err *err)
{
    if (*n >= CF_VALS_MAX)
        return nr_errf(err, NR_EINVAL, "more than %u values for %s", CF_VALS_MAX, key);
    v[(*n)++] = x;
    return 0;
}

static int parse_number(const char *key, const char *s, uint64_t *x, struct nr_err *err)
{
    if (cf_parse_u64(s, x) != CF_NUM_OK)
        return nr_errf(err, NR_EINVAL, "%s: `%s` is not a decimal unsigned 64-bit number", key, s);
    return 0;
}

static int parse_vote(const char *s, uint64_t *x, struct nr_err *err)
{
    if (strcmp(s, "y") == 0)
        *x = 2;
    else if (strcmp(s, "n") == 0)
        *x = 1;
    else if (strcmp(s, "_") == 0)
        *x = 0;
    else
        return nr_errf(err, NR_EINVAL, "votes: unknown vote `%s` (y, n or _)", s);
    return 0;
}

/* The i-th value of argument a; the fatal conditions of README 5.8. */
static int parse_value(struct quorum_args *q, const struct cf_arg *a, uint32_t i,
                       struct nr_err *err)
{
    const char *s = a->vals[i];
    uint64_t x = 0;
    int rc;

    if (strcmp(a->key, "cfg") == 0) {
        if ((rc = parse_number(a->key, s, &x, err)) != 0)
            return rc;
        return push(q->cfg, &q->n_cfg, x, a->key, err);
    }
    if (strcmp(a->key, "cfgj") == 0) {
        q->is_joint = true;
        if (strcmp(s, "zero") == 0 && a->n_vals == 1)
            return 0;
        if (strcmp(s, "zero") == 0)
            return nr_errf(err, NR_EINVAL, "cfgj: cannot mix `zero` into a configuration");
        if ((rc = parse_number(a->key, s, &x, err)) != 0)
            return rc;
        return push(q->cfgj, &q->n_cfgj, x, a->key, err);
    }
    if (strcmp(a->key, "idx") == 0) {
        if (strcmp(s, "_") != 0 && (rc = parse_number(a->key, s, &x, err)) != 0)
            return rc;
        if (strcmp(s, "_") != 0 && x == 0)
            return nr_errf(err, NR_EINVAL,
                           "idx: 0 is not allowed (`_` is a voter that has "
                           "not reported)");
        return push(q->idx, &q->n_idx, x, a->key, err);
    }
    if (strcmp(a->key, "votes") == 0) {
        if ((rc = parse_vote(s, &x, err)) != 0)
            return rc;
        return push(q->votes, &q->n_votes, x, a->key, err);
    }
    return nr_errf(err, NR_EINVAL, "unknown argument %s (cfg, cfgj, idx, votes)", a->key);
}

static int parse_args(const struct cf_case *c, struct quorum_args *q, struct nr_err *err)
{
    int rc;

    memset(q, 0, sizeof(*q));
    for (uint32_t a = 0; a < c->n_args; a++) {
        if (c->args[a].n_vals == 0)
            return nr_errf(err, NR_EINVAL, "argument %s has no value", c->args[a].key);
        for (uint32_t i = 0; i < c->args[a].n_vals; i++)
            if ((rc = parse_value(q, &c->args[a], i, err)) != 0)
                return rc;
    }
    return 0;
}

/* The distinct ids of each half, within what one half of our configuration
 * holds. */
static int halves_of(const struct quorum_args *q, struct quorum_conf *qc, struct nr_err *err)
{
    memset(qc, 0, sizeof(*qc));
    NR_ASSERT(cf_ids_merge(qc->cfg, &qc->n_cfg, CF_VALS_MAX, q->cfg, q->n_cfg));
    NR_ASSERT(cf_ids_merge(qc->cfgj, &qc->n_cfgj, CF_VALS_MAX, q->cfgj, q->n_cfgj));
    if (qc->n_cfg > RAFT_VOTERS_MAX || qc->n_cfgj > RAFT_VOTERS_MAX)
        return nr_errf(err, NR_ERANGE,
                       "cfg has %u and cfgj %u distinct voters; one half of our configuration "
                       "holds at most RAFT_VOTERS_MAX = %u",
                       qc->n_cfg, qc->n_cfgj, RAFT_VOTERS_MAX);
    cf_ids_sort(qc->cfg, qc->n_cfg);
    cf_ids_sort(qc->cfgj, qc->n_cfgj);
    return 0;
}

/* ---- count check (README 5.2, 5.8) --------------------------------------- */

static void print_count_mismatch(struct cf_buf *out, const uint64_t *order, uint32_t n_order,
                                 const uint64_t *input, uint32_t n_input)
{
    uint64_t sorted[2 * CF_VALS_MAX];

    memcpy(sorted, order, n_order * sizeof(order[0]));
    cf_ids_sort(sorted, n_order);
    cf_buf_puts(out, "error: mismatched input (explicit or _) for voters map[");
    for (uint32_t i = 0; i < n_order; i++)
        cf_buf_printf(out, "%s%" PRIu64 ":{}", i > 0 ? " " : "", sorted[i]);
    cf_buf_puts(out, "]: [");
    for (uint32_t i = 0; i < n_input; i++) {
        cf_buf_puts(out, i > 0 ? " " : "");
        cf_print_index(out, input[i]); /* upstream prints them as indexes */
    }
    cf_buf_puts(out, "]\n");
}

/* ---- vote (README 5.4) ----------------------------------------------------- */

static int vote_of(const void *ctx, uint64_t id)
{
    uint64_t v;

    if (!cf_acks_get(ctx, id, &v))
        return 0;
    return v == 1 ? -1 : 1;
}

static void print_vote_result(struct cf_buf *out, uint32_t result)
{
    switch (result) {
    case RAFT_VOTE_PENDING: cf_buf_puts(out, "VotePending"); break;
    case RAFT_VOTE_LOST: cf_buf_puts(out, "VoteLost"); break;
    case RAFT_VOTE_WON: cf_buf_puts(out, "VoteWon"); break;
    default: cf_buf_printf(out, "VoteResult(%" PRIu32 ")", result); /* as Go's stringer */
    }
}

static void print_vote(struct cf_buf *out, const struct quorum_conf *qc, bool is_joint,
                       const struct cf_acks *acks)
{
    struct raft_conf conf;
    uint32_t result;

    if (!is_joint) {
        result = raft_quorum_vote(qc->cfg, qc->n_cfg, vote_of, acks);
    } else {
        cf_conf_of(&conf, qc->cfg, qc->n_cfg, qc->cfgj, qc->n_cfgj);
        result = raft_quorum_joint_vote(&conf, vote_of, acks);
        /* Self-check (README 5.7): swapping the halves changes nothing. */
        cf_conf_of(&conf, qc->cfgj, qc->n_cfgj, qc->cfg, qc->n_cfg);
        uint32_t swapped = raft_quorum_joint_vote(&conf, vote_of, acks);
        if (swapped != result) {
            print_vote_result(out, swapped);
            cf_buf_puts(out, " <-- via symmetry\n");
        }
    }
    print_vote_result(out, result);
    cf_buf_puts(out, "\n");
}

/* ---- a case ---------------------------------------------------------------- */

int cf_quorum_run(const struct cf_case *c, struct cf_buf *out, struct nr_err *err)
{
    struct quorum_args q;
    struct quorum_conf qc;
    struct cf_acks acks;
    bool is_vote = strcmp(c->cmd, "vote") == 0;
    int rc;

    if (!is_vote && strcmp(c->cmd, "committed") != 0)
        return nr_errf(err, NR_EINVAL, "unknown command %s (committed, vote)", c->cmd);
    if (c->n_input_lines > 0)
        return nr_errf(err, NR_EINVAL, "quorum commands take no input block (got %u lines)",
                       c->n_input_lines);
    if ((rc = parse_args(c, &q, err)) != 0)
        return rc;
    /* Values bind to ids in first-appearance order over cfg then cfgj. */
    memset(&acks, 0, sizeof(acks));
    NR_ASSERT(cf_ids_merge(acks.ids, &acks.n, 2 * CF_VALS_MAX, q.cfg, q.n_cfg));
    NR_ASSERT(cf_ids_merge(acks.ids, &acks.n, 2 * CF_VALS_MAX, q.cfgj, q.n_cfgj));
    const uint64_t *input = is_vote ? q.votes : q.idx;
    uint32_t n_input = is_vote ? q.n_votes : q.n_idx;

    if (acks.n != n_input) {
        print_count_mismatch(out, acks.ids, acks.n, input, n_input);
        return 0;
    }
    for (uint32_t i = 0; i < acks.n; i++) {
        acks.vals[i] = input[i];
        acks.is_present[i] = input[i] != 0; /* `_`, read as 0, is absent */
    }
    if ((rc = halves_of(&q, &qc, err)) != 0)
        return rc;
    if (is_vote)
        print_vote(out, &qc, q.is_joint, &acks);
    else
        cf_commit_print(out, qc.cfg, qc.n_cfg, qc.cfgj, qc.n_cfgj, q.is_joint, &acks);
    return 0;
}
