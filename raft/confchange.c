/* confchange.c - configuration changes, pure: simple changes (at most one
 * voter), entering a joint configuration C(old,new) and leaving it (Raft
 * thesis 4.3; SPEC section 2 rules 2 and 5). The semantics, the error
 * sentences and the member records follow etcd's confchange package, whose
 * test vectors tests/conformance/ runs against this file. */
#include <inttypes.h>
#include <string.h>

#include "nr_le.h"
#include "raft_int.h"

/* ---- sets and records ------------------------------------------------- */

static bool set_has(const uint64_t *v, uint32_t n, uint64_t id)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

static bool set_add(uint64_t *v, uint32_t *n, uint32_t cap, uint64_t id)
{
    if (set_has(v, *n, id))
        return true;
    if (*n >= cap)
        return false;
    v[(*n)++] = id;
    return true;
}

static void set_del(uint64_t *v, uint32_t *n, uint64_t id)
{
    for (uint32_t i = 0; i < *n; i++) {
        if (v[i] == id) {
            v[i] = v[--(*n)];
            return;
        }
    }
}

static struct raft_member_rec *rec_find(struct raft_membership *m, uint64_t id)
{
    for (uint32_t i = 0; i < m->n_recs; i++)
        if (m->recs[i].id == id)
            return &m->recs[i];
    return NULL;
}

static bool rec_add(struct raft_membership *m, uint64_t id, uint64_t next, bool is_learner)
{
    if (m->n_recs >= RAFT_MEMBERS_MAX)
        return false;
    m->recs[m->n_recs++] = (struct raft_member_rec){id, next, is_learner};
    return true;
}

static void rec_del(struct raft_membership *m, uint64_t id)
{
    for (uint32_t i = 0; i < m->n_recs; i++) {
        if (m->recs[i].id == id) {
            m->recs[i] = m->recs[--m->n_recs];
            return;
        }
    }
}

bool raft_conf_is_joint(const struct raft_conf *conf)
{
    return conf->n_voters_outgoing > 0;
}

bool raft_conf_has_voter(const struct raft_conf *conf, uint64_t id)
{
    return set_has(conf->voters, conf->n_voters, id) ||
           set_has(conf->voters_outgoing, conf->n_voters_outgoing, id);
}

bool raft_conf_has_member(const struct raft_conf *conf, uint64_t id)
{
    return raft_conf_has_voter(conf, id) || set_has(conf->learners, conf->n_learners, id) ||
           set_has(conf->learners_next, conf->n_learners_next, id);
}

void raft_membership_from_conf(struct raft_membership *m, const struct raft_conf *conf,
                               uint64_t next_index)
{
    const uint64_t *lists[4] = {conf->voters, conf->voters_outgoing, conf->learners,
                                conf->learners_next};
    uint32_t counts[4] = {conf->n_voters, conf->n_voters_outgoing, conf->n_learners,
                          conf->n_learners_next};

    memset(m, 0, sizeof(*m));
    m->conf = *conf;
    for (uint32_t l = 0; l < 4; l++)
        for (uint32_t i = 0; i < counts[l]; i++)
            if (rec_find(m, lists[l][i]) == NULL)
                NR_ASSERT(rec_add(m, lists[l][i], next_index, l == 2));
}

/* ---- invariants ------------------------------------------------------- */

static int check_records(const struct raft_membership *m, struct nr_err *err)
{
    const struct raft_conf *c = &m->conf;
    const uint64_t *lists[4] = {c->voters, c->voters_outgoing, c->learners, c->learners_next};
    uint32_t counts[4] = {c->n_voters, c->n_voters_outgoing, c->n_learners, c->n_learners_next};

    for (uint32_t l = 0; l < 4; l++)
        for (uint32_t i = 0; i < counts[l]; i++)
            if (rec_find((struct raft_membership *)m, lists[l][i]) == NULL)
                return nr_errf(err, NR_ECORRUPT, "no progress for %" PRIu64, lists[l][i]);
    return 0;
}

static int check_learners(const struct raft_membership *m, struct nr_err *err)
{
    const struct raft_conf *c = &m->conf;

    for (uint32_t i = 0; i < c->n_learners_next; i++) {
        uint64_t id = c->learners_next[i];

        if (!set_has(c->voters_outgoing, c->n_voters_outgoing, id))
            return nr_errf(err, NR_ECORRUPT, "%" PRIu64 " is in LearnersNext, but not Voters[1]", id);
        if (rec_find((struct raft_membership *)m, id)->is_learner)
            return nr_errf(err, NR_ECORRUPT,
                           "%" PRIu64 " is in LearnersNext, but is already marked as learner", id);
    }
    for (uint32_t i = 0; i < c->n_learners; i++) {
        uint64_t id = c->learners[i];

        if (set_has(c->voters_outgoing, c->n_voters_outgoing, id))
            return nr_errf(err, NR_ECORRUPT, "%" PRIu64 " is in Learners and Voters[1]", id);
        if (set_has(c->voters, c->n_voters, id))
            return nr_errf(err, NR_ECORRUPT, "%" PRIu64 " is in Learners and Voters[0]", id);
        if (!rec_find((struct raft_membership *)m, id)->is_learner)
            return nr_errf(err, NR_ECORRUPT,
                           "%" PRIu64 " is in Learners, but is not marked as learner", id);
    }
    return 0;
}

int raft_membership_check(const struct raft_membership *m, struct nr_err *err)
{
    const struct raft_conf *c = &m->conf;
    int rc;

    if ((rc = check_records(m, err)) != 0 || (rc = check_learners(m, err)) != 0)
        return rc;
    if (!raft_conf_is_joint(c)) {
        if (c->n_learners_next > 0)
            return nr_errf(err, NR_ECORRUPT, "cfg.LearnersNext must be nil when not joint");
        if (c->auto_leave)
            return nr_errf(err, NR_ECORRUPT, "AutoLeave must be false when not joint");
    }
    return 0;
}

/* ---- operations ------------------------------------------------------- */

static int full(struct nr_err *err, uint64_t id)
{
    return nr_errf(err, NR_EREFUSED,
                   "cannot add %" PRIu64 ": the configuration is at its limit of %u voters, "
                   "%u learners",
                   id, RAFT_VOTERS_MAX, RAFT_LEARNERS_MAX);
}

static int make_voter(struct raft_membership *m, uint64_t id, uint64_t next, struct nr_err *err)
{
    struct raft_conf *c = &m->conf;
    struct raft_member_rec *r = rec_find(m, id);

    if (r == NULL) {
        if (!set_add(c->voters, &c->n_voters, RAFT_VOTERS_MAX, id) || !rec_add(m, id, next, false))
            return full(err, id);
        return 0;
    }
    r->is_learner = false;
    set_del(c->learners, &c->n_learners, id);
    set_del(c->learners_next, &c->n_learners_next, id);
    if (!set_add(c->voters, &c->n_voters, RAFT_VOTERS_MAX, id))
        return full(err, id);
    return 0;
}

static int make_learner(struct raft_membership *m, uint64_t id, uint64_t next, struct nr_err *err)
{
    struct raft_conf *c = &m->conf;
    struct raft_member_rec *r = rec_find(m, id);

    if (r == NULL) {
        if (!set_add(c->learners, &c->n_learners, RAFT_LEARNERS_MAX, id) ||
            !rec_add(m, id, next, true))
            return full(err, id);
        return 0;
    }
    if (r->is_learner)
        return 0;
    set_del(c->voters, &c->n_voters, id);
    set_del(c->learners, &c->n_learners, id);
    set_del(c->learners_next, &c->n_learners_next, id);
    /* A voter of the outgoing half stays one until the joint config is
     * left: it is staged, and becomes a learner then. */
    if (set_has(c->voters_outgoing, c->n_voters_outgoing, id)) {
        if (!set_add(c->learners_next, &c->n_learners_next, RAFT_LEARNERS_MAX, id))
            return full(err, id);
        return 0;
    }
    r->is_learner = true;
    if (!set_add(c->learners, &c->n_learners, RAFT_LEARNERS_MAX, id))
        return full(err, id);
    return 0;
}

static void remove_member(struct raft_membership *m, uint64_t id)
{
    struct raft_conf *c = &m->conf;

    if (rec_find(m, id) == NULL)
        return;
    set_del(c->voters, &c->n_voters, id);
    set_del(c->learners, &c->n_learners, id);
    set_del(c->learners_next, &c->n_learners_next, id);
    /* Still a voter of the outgoing half: the record stays until leaving. */
    if (!set_has(c->voters_outgoing, c->n_voters_outgoing, id))
        rec_del(m, id);
}

static int apply_items(struct raft_membership *m, const struct raft_conf_change *cc,
                       uint64_t next, struct nr_err *err)
{
    int rc = 0;

    for (uint32_t i = 0; i < cc->n_items && rc == 0; i++) {
        const struct raft_cc_item *it = &cc->items[i];

        if (it->id == RAFT_ID_NONE)
            continue;
        switch (it->op) {
        case RAFT_CC_ADD_VOTER:
            rc = make_voter(m, it->id, next, err);
            break;
        case RAFT_CC_ADD_LEARNER:
            rc = make_learner(m, it->id, next, err);
            break;
        case RAFT_CC_REMOVE:
            remove_member(m, it->id);
            break;
        case RAFT_CC_UPDATE:
            break;
        default:
            rc = nr_errf(err, NR_EINVAL, "configuration change item %u: unknown op %u", i, it->op);
        }
    }
    if (rc == 0 && m->conf.n_voters == 0)
        rc = nr_errf(err, NR_EREFUSED, "removed all voters");
    return rc;
}

static uint32_t voters_changed(const struct raft_conf *a, const struct raft_conf *b)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < a->n_voters; i++)
        n += !set_has(b->voters, b->n_voters, a->voters[i]);
    for (uint32_t i = 0; i < b->n_voters; i++)
        n += !set_has(a->voters, a->n_voters, b->voters[i]);
    return n;
}

static int simple(struct raft_membership *m, const struct raft_conf_change *cc, uint64_t next,
                  bool check_one_voter, struct nr_err *err)
{
    struct raft_conf before = m->conf;
    int rc;

    if (raft_conf_is_joint(&m->conf))
        return nr_errf(err, NR_EREFUSED, "can't apply simple config change in joint config");
    if ((rc = apply_items(m, cc, next, err)) != 0)
        return rc;
    if (check_one_voter && voters_changed(&before, &m->conf) > 1)
        return nr_errf(err, NR_EREFUSED,
                       "more than one voter changed without entering joint config");
    return 0;
}

static int enter_joint(struct raft_membership *m, const struct raft_conf_change *cc,
                       uint64_t next, struct nr_err *err)
{
    struct raft_conf *c = &m->conf;
    int rc;

    if (raft_conf_is_joint(c))
        return nr_errf(err, NR_EREFUSED, "config is already joint");
    if (c->n_voters == 0)
        return nr_errf(err, NR_EREFUSED, "can't make a zero-voter config joint");
    memcpy(c->voters_outgoing, c->voters, sizeof(c->voters));
    c->n_voters_outgoing = c->n_voters;
    if ((rc = apply_items(m, cc, next, err)) != 0)
        return rc;
    c->auto_leave = cc->auto_leave;
    return 0;
}

static int leave_joint(struct raft_membership *m, const struct raft_conf_change *cc,
                       struct nr_err *err)
{
    struct raft_conf *c = &m->conf;

    if (cc->n_items != 0)
        return nr_errf(err, NR_EREFUSED, "this command takes no input");
    if (!raft_conf_is_joint(c))
        return nr_errf(err, NR_EREFUSED, "can't leave a non-joint config");
    for (uint32_t i = 0; i < c->n_learners_next; i++) {
        uint64_t id = c->learners_next[i];

        if (!set_add(c->learners, &c->n_learners, RAFT_LEARNERS_MAX, id))
            return full(err, id);
        rec_find(m, id)->is_learner = true;
    }
    c->n_learners_next = 0;
    for (uint32_t i = 0; i < c->n_voters_outgoing; i++) {
        uint64_t id = c->voters_outgoing[i];

        if (!set_has(c->voters, c->n_voters, id) && !set_has(c->learners, c->n_learners, id))
            rec_del(m, id);
    }
    c->n_voters_outgoing = 0;
    c->auto_leave = false;
    return 0;
}

int raft_membership_apply_ex(struct raft_membership *m, const struct raft_conf_change *cc,
                             uint64_t last_index, bool check_one_voter, struct nr_err *err)
{
    struct raft_membership work;
    uint64_t next = last_index > 1 ? last_index : 1;
    int rc;

    if ((rc = raft_membership_check(m, err)) != 0)
        return rc;
    work = *m;
    switch (cc->kind) {
    case RAFT_CC_SIMPLE:
        rc = simple(&work, cc, next, check_one_voter, err);
        break;
    case RAFT_CC_ENTER_JOINT:
        rc = enter_joint(&work, cc, next, err);
        break;
    case RAFT_CC_LEAVE_JOINT:
        rc = leave_joint(&work, cc, err);
        break;
    default:
        rc = nr_errf(err, NR_EINVAL, "configuration change: unknown kind %u", cc->kind);
    }
    if (rc == 0)
        rc = raft_membership_check(&work, err);
    if (rc == 0)
        *m = work;
    return rc;
}

int raft_membership_apply(struct raft_membership *m, const struct raft_conf_change *cc,
                          uint64_t last_index, struct nr_err *err)
{
    return raft_membership_apply_ex(m, cc, last_index, true, err);
}

/* ---- wire form -------------------------------------------------------- */

#define CC_MAGIC 0x43u /* 'C' */
#define CC_VERSION 1u

uint32_t raft_cc_encode(const struct raft_conf_change *cc, uint8_t *buf)
{
    NR_ASSERT(cc->n_items <= RAFT_CC_ITEMS_MAX);
    memset(buf, 0, 8u + 16u * cc->n_items);
    buf[0] = CC_MAGIC;
    buf[1] = CC_VERSION;
    buf[2] = (uint8_t)cc->kind;
    buf[3] = cc->auto_leave ? 1 : 0;
    buf[4] = (uint8_t)cc->n_items;
    for (uint32_t i = 0; i < cc->n_items; i++) {
        buf[8 + 16 * i] = (uint8_t)cc->items[i].op;
        nr_put_le64(buf + 8 + 16 * i + 8, cc->items[i].id);
    }
    return 8u + 16u * cc->n_items;
}

int raft_cc_decode(const uint8_t *data, uint32_t len, struct raft_conf_change *cc,
                   struct nr_err *err)
{
    memset(cc, 0, sizeof(*cc));
    if (len < 8 || data == NULL)
        return nr_errf(err, NR_EINVAL, "configuration change: %u bytes, need at least 8", len);
    if (data[0] != CC_MAGIC || data[1] != CC_VERSION)
        return nr_errf(err, NR_EINVAL, "configuration change: magic 0x%02x version %u, want 0x%02x %u",
                       data[0], data[1], CC_MAGIC, CC_VERSION);
    if (data[2] < RAFT_CC_SIMPLE || data[2] > RAFT_CC_LEAVE_JOINT || data[3] > 1)
        return nr_errf(err, NR_EINVAL, "configuration change: kind %u / auto_leave %u out of range",
                       data[2], data[3]);
    if (data[4] > RAFT_CC_ITEMS_MAX || len != 8u + 16u * data[4])
        return nr_errf(err, NR_EINVAL, "configuration change: %u items in %u bytes (at most %u items)",
                       data[4], len, RAFT_CC_ITEMS_MAX);
    cc->kind = data[2];
    cc->auto_leave = data[3] == 1;
    cc->n_items = data[4];
    for (uint32_t i = 0; i < cc->n_items; i++) {
        const uint8_t *p = data + 8 + 16 * i;

        if (p[0] < RAFT_CC_ADD_VOTER || p[0] > RAFT_CC_UPDATE)
            return nr_errf(err, NR_EINVAL, "configuration change item %u: op %u out of range", i, p[0]);
        cc->items[i].op = p[0];
        cc->items[i].id = nr_get_le64(p + 8);
    }
    return 0;
}
