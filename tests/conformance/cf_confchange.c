/* cf_confchange.c - the confchange vectors (README 6): `simple`,
 * `enter-joint` and `leave-joint`, run through raft_membership_apply() on a
 * membership and a case counter kept from case to case of one file. */
#include <inttypes.h>
#include <string.h>

#include "cf.h"

/* Our member records carry no replication state: that lives in the leader's
 * progress (raft/progress.c), which for a member that a change adds starts
 * in probe with match 0, as etcd's tracker starts a new progress record
 * (README 6.1). Nothing in these vectors moves a record on after creation,
 * so every record prints that state from these constants (README 6.7);
 * next= comes from the record itself. */
#define CF_NEW_PROGRESS_STATE "StateProbe"
#define CF_NEW_PROGRESS_MATCH 0u

/* parse_items(): a token upstream refuses; its message is the output. */
#define CF_BAD_TOKEN 1

void cf_confchange_reset(struct cf_cc_state *st)
{
    memset(st, 0, sizeof(*st)); /* no members, no records, counter 0 */
}

void cf_confchange_skip(struct cf_cc_state *st)
{
    st->counter++;
}

/* ---- the operation list (README 6.2) ------------------------------------ */

/* Go's strconv.Quote, for the ASCII that a token may hold. */
static void put_quoted(struct cf_buf *out, const char *s)
{
    static const char named[] = "\a\b\f\n\r\t\v";
    static const char letters[] = "abfnrtv";

    cf_buf_puts(out, "\"");
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        const char *esc = strchr(named, ch);

        if (ch == '"' || ch == '\\')
            cf_buf_printf(out, "\\%c", ch);
        else if (ch != '\0' && esc != NULL)
            cf_buf_printf(out, "\\%c", letters[esc - named]);
        else if (ch < 0x20 || ch == 0x7f)
            cf_buf_printf(out, "\\x%02x", ch);
        else
            cf_buf_put(out, s, 1);
    }
    cf_buf_puts(out, "\"");
}

/* One token, `vN`, `lN`, `rN` or `uN`: 0, or CF_BAD_TOKEN with upstream's
 * message in *out. */
static int parse_token(const char *tok, struct raft_cc_item *it, struct cf_buf *out)
{
    static const char letters[] = "vlru";
    static const uint32_t ops[] = {RAFT_CC_ADD_VOTER, RAFT_CC_ADD_LEARNER, RAFT_CC_REMOVE,
                                   RAFT_CC_UPDATE};
    const char *letter = tok[0] != '\0' ? strchr(letters, tok[0]) : NULL;
    int rc;

    if (strlen(tok) < 2) {
        cf_buf_printf(out, "unknown token %s", tok);
        return CF_BAD_TOKEN;
    }
    if (letter == NULL) {
        cf_buf_printf(out, "unknown input: %s", tok);
        return CF_BAD_TOKEN;
    }
    it->op = ops[letter - letters];
    rc = cf_parse_u64(tok + 1, &it->id);
    if (rc == CF_NUM_OK)
        return 0;
    cf_buf_puts(out, "strconv.ParseUint: parsing ");
    put_quoted(out, tok + 1);
    cf_buf_puts(out, rc == CF_NUM_RANGE ? ": value out of range" : ": invalid syntax");
    return CF_BAD_TOKEN;
}

/* The input line split at every single space, as upstream splits it: 0,
 * CF_BAD_TOKEN (message in *out), or NR_ERANGE beyond RAFT_CC_ITEMS_MAX. */
static int parse_items(const char *input, struct raft_conf_change *cc, struct cf_buf *out,
                       struct nr_err *err)
{
    char tok[CF_INPUT_MAX];
    const char *p = input;
    uint32_t n = 0;
    int rc;

    while (*input != '\0') { /* an empty input is no operation */
        size_t len = strcspn(p, " ");
        struct raft_cc_item it;

        memcpy(tok, p, len);
        tok[len] = '\0';
        if ((rc = parse_token(tok, &it, out)) != 0)
            return rc;
        if (n < RAFT_CC_ITEMS_MAX)
            cc->items[n] = it;
        n++;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    if (n > RAFT_CC_ITEMS_MAX)
        return nr_errf(err, NR_ERANGE,
                       "%u operations; one change holds at most RAFT_CC_ITEMS_MAX = %u", n,
                       RAFT_CC_ITEMS_MAX);
    cc->n_items = n;
    return 0;
}

/* ---- the command and its arguments (README 6.4) --------------------------- */

/* Go's strconv.ParseBool, which upstream's argument scanner uses. */
static int parse_bool(const char *s, bool *v, struct nr_err *err)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *v = strcmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return nr_errf(err, NR_EINVAL, "autoleave: `%s` is not a boolean", s);
}

/* cc->kind from the command, 0 for an unknown one (upstream answers it with
 * `unknown command`); enter-joint takes autoleave=<bool>, the others take
 * no argument. */
static int parse_command(const struct cf_case *c, struct raft_conf_change *cc, struct nr_err *err)
{
    const struct cf_arg *a = &c->args[0];

    if (strcmp(c->cmd, "simple") == 0)
        cc->kind = RAFT_CC_SIMPLE;
    else if (strcmp(c->cmd, "enter-joint") == 0)
        cc->kind = RAFT_CC_ENTER_JOINT;
    else if (strcmp(c->cmd, "leave-joint") == 0)
        cc->kind = RAFT_CC_LEAVE_JOINT;
    else
        return 0;
    if (c->n_args == 0)
        return 0;
    if (cc->kind != RAFT_CC_ENTER_JOINT)
        return nr_errf(err, NR_EINVAL, "%s takes no arguments", c->cmd);
    if (c->n_args > 1 || strcmp(a->key, "autoleave") != 0 || a->n_vals != 1)
        return nr_errf(err, NR_EINVAL, "enter-joint takes one argument, autoleave=<bool>");
    return parse_bool(a->vals[0], &cc->auto_leave, err);
}

/* ---- output on success (README 6.5) --------------------------------------- */

static void print_set(struct cf_buf *out, const uint64_t *ids, uint32_t n)
{
    uint64_t sorted[RAFT_MEMBERS_MAX];

    NR_ASSERT(n <= RAFT_MEMBERS_MAX);
    memcpy(sorted, ids, n * sizeof(ids[0]));
    cf_ids_sort(sorted, n);
    cf_buf_puts(out, "(");
    for (uint32_t i = 0; i < n; i++)
        cf_buf_printf(out, "%s%" PRIx64, i > 0 ? " " : "", sorted[i]);
    cf_buf_puts(out, ")");
}

static void print_conf(struct cf_buf *out, const struct raft_conf *conf)
{
    cf_buf_puts(out, "voters=");
    print_set(out, conf->voters, conf->n_voters);
    if (conf->n_voters_outgoing > 0) {
        cf_buf_puts(out, "&&");
        print_set(out, conf->voters_outgoing, conf->n_voters_outgoing);
    }
    if (conf->n_learners > 0) {
        cf_buf_puts(out, " learners=");
        print_set(out, conf->learners, conf->n_learners);
    }
    if (conf->n_learners_next > 0) {
        cf_buf_puts(out, " learners_next=");
        print_set(out, conf->learners_next, conf->n_learners_next);
    }
    if (conf->auto_leave)
        cf_buf_puts(out, " autoleave");
    cf_buf_puts(out, "\n");
}

/* One line per record, by ascending id; ids in decimal here. */
static void print_records(struct cf_buf *out, const struct raft_membership *m)
{
    struct raft_member_rec recs[RAFT_MEMBERS_MAX];

    NR_ASSERT(m->n_recs <= RAFT_MEMBERS_MAX);
    memcpy(recs, m->recs, m->n_recs * sizeof(recs[0]));
    for (uint32_t i = 1; i < m->n_recs; i++) {
        struct raft_member_rec r = recs[i];
        uint32_t j = i;

        for (; j > 0 && recs[j - 1].id > r.id; j--)
            recs[j] = recs[j - 1];
        recs[j] = r;
    }
    for (uint32_t i = 0; i < m->n_recs; i++)
        cf_buf_printf(out, "%" PRIu64 ": %s match=%u next=%" PRIu64 "%s\n", recs[i].id,
                      CF_NEW_PROGRESS_STATE, CF_NEW_PROGRESS_MATCH, recs[i].next_index,
                      recs[i].is_learner ? " learner" : "");
}

/* ---- a case ---------------------------------------------------------------- */

/* Applies cc; on a refusal the output is etcd's sentence, and the driver
 * also checks the promise that a refused change leaves *m as it was. */
static void apply(struct cf_cc_state *st, const struct raft_conf_change *cc, struct cf_buf *out)
{
    struct raft_membership before;
    struct nr_err err;

    memcpy(&before, &st->m, sizeof(before));
    memset(&err, 0, sizeof(err));
    if (raft_membership_apply(&st->m, cc, st->counter, &err) != 0) {
        cf_buf_printf(out, "%s\n", err.msg);
        if (memcmp(&before, &st->m, sizeof(before)) != 0)
            cf_buf_puts(out, "(driver: the refused change modified the membership)\n");
        return;
    }
    /* Checked by apply already; again here, as upstream checks after every
     * command, so that a change to apply cannot drop the check unseen. */
    if (raft_membership_check(&st->m, &err) != 0) {
        cf_buf_printf(out, "%s\n", err.msg);
        return;
    }
    print_conf(out, &st->m.conf);
    print_records(out, &st->m);
}

static int run_case(struct cf_cc_state *st, const struct cf_case *c, struct cf_buf *out,
                    struct nr_err *err)
{
    struct raft_conf_change cc;
    int rc;

    memset(&cc, 0, sizeof(cc));
    if (c->n_input_lines > 1)
        return nr_errf(err, NR_EINVAL, "the operation list is one line (the input block has %u)",
                       c->n_input_lines);
    /* Upstream's order: the tokens, then the command, then its arguments. */
    rc = parse_items(c->input, &cc, out, err);
    if (rc != 0)
        return rc == CF_BAD_TOKEN ? 0 : rc;
    if ((rc = parse_command(c, &cc, err)) != 0)
        return rc;
    if (cc.kind == 0) {
        cf_buf_puts(out, "unknown command");
        return 0;
    }
    /* leave-joint passes its items too: the core answers "this command
     * takes no input" when there are any. */
    apply(st, &cc, out);
    return 0;
}

int cf_confchange_run(struct cf_cc_state *st, const struct cf_case *c, struct cf_buf *out,
                      struct nr_err *err)
{
    int rc = run_case(st, c, out, err);

    st->counter++; /* after every case, whatever the outcome (README 6.1) */
    return rc;
}
