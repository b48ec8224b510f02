/* peer_wire.c - raft messages to bytes and back (peer_wire.h). The
 * encoder is a header, then per entry a 24-byte header and one memcpy; the
 * decoder checks every count against the bytes left before walking, and
 * every value against its range. */
#include "peer_wire.h"

#include <inttypes.h>
#include <string.h>

#include "nr_le.h"

static uint32_t conf_ids(const struct raft_conf *c)
{
    return c->n_voters + c->n_voters_outgoing + c->n_learners + c->n_learners_next;
}

uint64_t peer_msg_len(const struct raft_msg *msg)
{
    uint64_t n = PEER_HDR_LEN;

    if (msg->type == RAFT_MSG_SNAPSHOT)
        n += PEER_SNAP_HDR_LEN + 8u * (uint64_t)conf_ids(&msg->snap.conf);
    if (msg->type == RAFT_MSG_APPEND && msg->entries != NULL) {
        for (uint32_t i = 0; i < msg->n_entries; i++)
            n += PEER_ENTRY_HDR_LEN + (uint64_t)msg->entries[i].len;
    }
    return n;
}

/* ---- encoding ---- */

static int check_encodable(const struct raft_msg *msg, struct nr_err *err)
{
    const struct raft_conf *c = &msg->snap.conf;

    if (msg->type == 0 || msg->type > RAFT_MSG_TYPE_MAX)
        return nr_errf(err, NR_EINVAL, "raft message to encode: type %" PRIu32 " is not 1..%u",
                       msg->type, RAFT_MSG_TYPE_MAX);
    if (msg->type != RAFT_MSG_APPEND && msg->n_entries != 0)
        return nr_errf(err, NR_EINVAL,
                       "raft message to encode: %s carries %" PRIu32 " entries; only "
                       "appends carry entries",
                       raft_msg_type_name(msg->type), msg->n_entries);
    if (msg->n_entries > RAFT_MSG_ENTRIES_MAX || (msg->n_entries > 0 && msg->entries == NULL))
        return nr_errf(err, NR_EINVAL,
                       "raft message to encode: %" PRIu32 " entries (at most %u, with an array)",
                       msg->n_entries, RAFT_MSG_ENTRIES_MAX);
    for (uint32_t i = 0; i < msg->n_entries; i++) {
        if (msg->entries[i].type > RAFT_ENTRY_CONF)
            return nr_errf(err, NR_EINVAL,
                           "raft message to encode: entry %" PRIu32 " has type %" PRIu32
                           "; known 0..%u",
                           i, msg->entries[i].type, RAFT_ENTRY_CONF);
        if (msg->entries[i].len > PEER_ENTRY_LEN_MAX ||
            (msg->entries[i].len > 0 && msg->entries[i].data == NULL))
            return nr_errf(err, NR_EINVAL,
                           "raft message to encode: entry %" PRIu32 " has %" PRIu32
                           " bytes of data; at most %u",
                           i, msg->entries[i].len, PEER_ENTRY_LEN_MAX);
    }
    if (msg->type == RAFT_MSG_SNAPSHOT &&
        (c->n_voters > RAFT_VOTERS_MAX || c->n_voters_outgoing > RAFT_VOTERS_MAX ||
         c->n_learners > RAFT_LEARNERS_MAX || c->n_learners_next > RAFT_LEARNERS_MAX))
        return nr_errf(err, NR_EINVAL,
                       "raft message to encode: snapshot configuration lists %" PRIu32 "/%" PRIu32
                       "/%" PRIu32 "/%" PRIu32 " exceed %u voters, %u learners",
                       c->n_voters, c->n_voters_outgoing, c->n_learners, c->n_learners_next,
                       RAFT_VOTERS_MAX, RAFT_LEARNERS_MAX);
    return 0;
}

static uint8_t *put_ids(uint8_t *p, const uint64_t *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++, p += 8)
        nr_put_le64(p, ids[i]);
    return p;
}

static uint8_t *put_snap(uint8_t *p, const struct raft_snap_meta *s)
{
    const struct raft_conf *c = &s->conf;

    nr_put_le64(p, s->index);
    nr_put_le64(p + 8, s->term);
    p[16] = (uint8_t)c->n_voters;
    p[17] = (uint8_t)c->n_voters_outgoing;
    p[18] = (uint8_t)c->n_learners;
    p[19] = (uint8_t)c->n_learners_next;
    p[20] = c->auto_leave ? PEER_CONF_F_AUTO_LEAVE : 0;
    p[21] = p[22] = p[23] = 0;
    p = put_ids(p + PEER_SNAP_HDR_LEN, c->voters, c->n_voters);
    p = put_ids(p, c->voters_outgoing, c->n_voters_outgoing);
    p = put_ids(p, c->learners, c->n_learners);
    return put_ids(p, c->learners_next, c->n_learners_next);
}

int peer_msg_encode(const struct raft_msg *msg, uint8_t *buf, uint32_t cap, struct nr_err *err)
{
    int rc = check_encodable(msg, err);
    if (rc != 0)
        return rc;
    uint64_t need = peer_msg_len(msg);
    if (need > PEER_MSG_LEN_MAX)
        return nr_errf(err, NR_EINVAL, "raft message to encode: %" PRIu64 " bytes; at most %u",
                       need, PEER_MSG_LEN_MAX);
    if (need > cap)
        return nr_errf(err, NR_EBUSY,
                       "raft message to encode: %" PRIu64 " bytes do not fit the %" PRIu32
                       "-byte buffer",
                       need, cap);
    buf[0] = PEER_WIRE_VERSION;
    buf[1] = (uint8_t)msg->type;
    buf[2] = (uint8_t)((msg->reject ? PEER_F_REJECT : 0) | (msg->transfer ? PEER_F_TRANSFER : 0));
    buf[3] = 0;
    nr_put_le32(buf + 4, msg->n_entries);
    nr_put_le64(buf + 8, msg->from);
    nr_put_le64(buf + 16, msg->to);
    nr_put_le64(buf + 24, msg->term);
    nr_put_le64(buf + 32, msg->index);
    nr_put_le64(buf + 40, msg->log_term);
    nr_put_le64(buf + 48, msg->commit);
    nr_put_le64(buf + 56, msg->reject_hint);
    nr_put_le64(buf + 64, msg->reject_hint_term);
    nr_put_le64(buf + 72, msg->ctx);
    uint8_t *p = buf + PEER_HDR_LEN;
    if (msg->type == RAFT_MSG_SNAPSHOT)
        p = put_snap(p, &msg->snap);
    for (uint32_t i = 0; i < msg->n_entries; i++) {
        const struct raft_entry *e = &msg->entries[i];

        nr_put_le64(p, e->term);
        nr_put_le64(p + 8, e->index);
        nr_put_le32(p + 16, e->type); /* type in byte 16, reserved zero after */
        nr_put_le32(p + 20, e->len);
        if (e->len > 0)
            memcpy(p + PEER_ENTRY_HDR_LEN, e->data, e->len);
        p += PEER_ENTRY_HDR_LEN + e->len;
    }
    NR_ASSERT((uint64_t)(p - buf) == need);
    return (int)need;
}

/* ---- decoding ---- */

static int check_range(const char *field, uint64_t v, uint64_t max, struct nr_err *err)
{
    if (v > max)
        return nr_errf(err, NR_EINVAL, "raft message: %s %" PRIu64 " is beyond %" PRIu64, field, v,
                       max);
    return 0;
}

static int check_header(const uint8_t *buf, uint32_t len, struct nr_err *err)
{
    if (len < PEER_HDR_LEN)
        return nr_errf(err, NR_EINVAL,
                       "raft message: %" PRIu32 " bytes, shorter than the %u-byte header", len,
                       PEER_HDR_LEN);
    if (buf[0] != PEER_WIRE_VERSION)
        return nr_errf(err, NR_EINVAL, "raft message: version %u; this node speaks %u", buf[0],
                       PEER_WIRE_VERSION);
    if (buf[1] == 0 || buf[1] > RAFT_MSG_TYPE_MAX)
        return nr_errf(err, NR_EINVAL, "raft message: type %u is not 1..%u", buf[1],
                       RAFT_MSG_TYPE_MAX);
    if ((buf[2] & ~PEER_F_KNOWN) != 0)
        return nr_errf(err, NR_EINVAL, "raft message: flags 0x%02x have unknown bits 0x%02x",
                       buf[2], buf[2] & ~PEER_F_KNOWN);
    if (buf[3] != 0)
        return nr_errf(err, NR_EINVAL, "raft message: reserved byte 3 is %u, want 0", buf[3]);
    return 0;
}

static int decode_fields(const uint8_t *buf, struct raft_msg *m, struct nr_err *err)
{
    m->from = nr_get_le64(buf + 8);
    m->to = nr_get_le64(buf + 16);
    m->term = nr_get_le64(buf + 24);
    m->index = nr_get_le64(buf + 32);
    m->log_term = nr_get_le64(buf + 40);
    m->commit = nr_get_le64(buf + 48);
    m->reject_hint = nr_get_le64(buf + 56);
    m->reject_hint_term = nr_get_le64(buf + 64);
    m->ctx = nr_get_le64(buf + 72);
    if (m->from == RAFT_ID_NONE || m->to == RAFT_ID_NONE)
        return nr_errf(err, NR_EINVAL,
                       "raft message: from %016" PRIx64 " to %016" PRIx64
                       "; member IDs are non-zero",
                       m->from, m->to);
    if (m->term == 0)
        return nr_errf(err, NR_EINVAL, "raft message: term 0; terms start at 1");
    int rc = check_range("term", m->term, RAFT_TERM_MAX, err);
    if (rc == 0)
        rc = check_range("index", m->index, RAFT_INDEX_MAX, err);
    if (rc == 0)
        rc = check_range("log_term", m->log_term, RAFT_TERM_MAX, err);
    if (rc == 0)
        rc = check_range("commit", m->commit, RAFT_INDEX_MAX, err);
    if (rc == 0)
        rc = check_range("reject_hint", m->reject_hint, RAFT_INDEX_MAX, err);
    if (rc == 0)
        rc = check_range("reject_hint_term", m->reject_hint_term, RAFT_TERM_MAX, err);
    return rc;
}

/* Reads n IDs at p into ids[], each non-zero and unique within the list. */
static int get_ids(const uint8_t *p, uint64_t *ids, uint32_t n, const char *list,
                   struct nr_err *err)
{
    for (uint32_t i = 0; i < n; i++) {
        ids[i] = nr_get_le64(p + 8u * i);
        if (ids[i] == RAFT_ID_NONE)
            return nr_errf(err, NR_EINVAL, "raft message: snapshot %s[%" PRIu32 "] is ID 0", list,
                           i);
        for (uint32_t j = 0; j < i; j++) { /* linear: at most 9 */
            if (ids[j] == ids[i])
                return nr_errf(err, NR_EINVAL,
                               "raft message: snapshot %s[%" PRIu32 "] repeats %016" PRIx64
                               " of [%" PRIu32 "]",
                               list, i, ids[i], j);
        }
    }
    return 0;
}

/* The snapshot metadata at buf[*at..len); advances *at past it. */
static int decode_snap(const uint8_t *buf, uint32_t len, uint32_t *at, struct raft_snap_meta *s,
                       struct nr_err *err)
{
    const uint8_t *p = buf + *at;
    struct raft_conf *c = &s->conf;

    if (len - *at < PEER_SNAP_HDR_LEN)
        return nr_errf(err, NR_EINVAL,
                       "raft message: snapshot metadata needs %u bytes, %" PRIu32 " left",
                       PEER_SNAP_HDR_LEN, len - *at);
    s->index = nr_get_le64(p);
    s->term = nr_get_le64(p + 8);
    if (s->index == 0 || s->term == 0)
        return nr_errf(err, NR_EINVAL,
                       "raft message: snapshot at index %" PRIu64 " term %" PRIu64
                       "; both must be non-zero",
                       s->index, s->term);
    int rc = check_range("snapshot index", s->index, RAFT_INDEX_MAX, err);
    if (rc == 0)
        rc = check_range("snapshot term", s->term, RAFT_TERM_MAX, err);
    if (rc != 0)
        return rc;
    if (p[16] > RAFT_VOTERS_MAX || p[17] > RAFT_VOTERS_MAX || p[18] > RAFT_LEARNERS_MAX ||
        p[19] > RAFT_LEARNERS_MAX)
        return nr_errf(err, NR_EINVAL,
                       "raft message: snapshot lists %u voters, %u outgoing, %u learners, %u "
                       "next learners; at most %u voters and %u learners each",
                       p[16], p[17], p[18], p[19], RAFT_VOTERS_MAX, RAFT_LEARNERS_MAX);
    if ((p[20] & ~PEER_CONF_F_KNOWN) != 0 || p[21] != 0 || p[22] != 0 || p[23] != 0)
        return nr_errf(err, NR_EINVAL,
                       "raft message: snapshot conf flags 0x%02x (known 0x%02x) or reserved "
                       "bytes %u %u %u not zero",
                       p[20], PEER_CONF_F_KNOWN, p[21], p[22], p[23]);
    c->n_voters = p[16];
    c->n_voters_outgoing = p[17];
    c->n_learners = p[18];
    c->n_learners_next = p[19];
    c->auto_leave = (p[20] & PEER_CONF_F_AUTO_LEAVE) != 0;
    uint32_t ids_len = 8u * conf_ids(c);
    if (len - *at - PEER_SNAP_HDR_LEN < ids_len)
        return nr_errf(err, NR_EINVAL,
                       "raft message: snapshot configuration needs %" PRIu32
                       " bytes of IDs, %" PRIu32 " left",
                       ids_len, len - *at - PEER_SNAP_HDR_LEN);
    p += PEER_SNAP_HDR_LEN;
    rc = get_ids(p, c->voters, c->n_voters, "voters", err);
    p += 8u * c->n_voters;
    if (rc == 0)
        rc = get_ids(p, c->voters_outgoing, c->n_voters_outgoing, "voters_outgoing", err);
    p += 8u * c->n_voters_outgoing;
    if (rc == 0)
        rc = get_ids(p, c->learners, c->n_learners, "learners", err);
    p += 8u * c->n_learners;
    if (rc == 0)
        rc = get_ids(p, c->learners_next, c->n_learners_next, "learners_next", err);
    *at += PEER_SNAP_HDR_LEN + ids_len;
    return rc;
}

static int decode_entry(const uint8_t *p, uint32_t left, uint32_t i, uint64_t want_index,
                        uint64_t prev_term, struct raft_entry *e, struct nr_err *err)
{
    if (left < PEER_ENTRY_HDR_LEN)
        return nr_errf(err, NR_EINVAL,
                       "raft message: entry %" PRIu32 " needs a %u-byte header, %" PRIu32
                       " bytes left",
                       i, PEER_ENTRY_HDR_LEN, left);
    e->term = nr_get_le64(p);
    e->index = nr_get_le64(p + 8);
    e->type = p[16];
    e->len = nr_get_le32(p + 20);
    e->data = p + PEER_ENTRY_HDR_LEN;
    if (e->index != want_index)
        return nr_errf(err, NR_EINVAL,
                       "raft message: entry %" PRIu32 " has index %" PRIu64 ", want %" PRIu64
                       " (contiguous after the previous index)",
                       i, e->index, want_index);
    if (e->term == 0 || e->term < prev_term || e->term > RAFT_TERM_MAX)
        return nr_errf(err, NR_EINVAL,
                       "raft message: entry %" PRIu32 " has term %" PRIu64 "; want %" PRIu64
                       "..%" PRIu64 " (terms never go down)",
                       i, e->term, prev_term > 0 ? prev_term : 1, RAFT_TERM_MAX);
    if (e->type > RAFT_ENTRY_CONF || p[17] != 0 || p[18] != 0 || p[19] != 0)
        return nr_errf(err, NR_EINVAL,
                       "raft message: entry %" PRIu32 " type %u (known 0..%u) or reserved "
                       "bytes %u %u %u not zero",
                       i, p[16], RAFT_ENTRY_CONF, p[17], p[18], p[19]);
    if (e->len > PEER_ENTRY_LEN_MAX || e->len > left - PEER_ENTRY_HDR_LEN)
        return nr_errf(err, NR_EINVAL,
                       "raft message: entry %" PRIu32 " claims %" PRIu32
                       " bytes; at most %u, and %" PRIu32 " are left",
                       i, e->len, PEER_ENTRY_LEN_MAX, left - PEER_ENTRY_HDR_LEN);
    return 0;
}

static int decode_entries(const uint8_t *buf, uint32_t len, uint32_t *at, struct raft_msg *m,
                          struct raft_entry *entries, uint32_t entries_cap, struct nr_err *err)
{
    uint32_t n = m->n_entries;

    if (n > RAFT_MSG_ENTRIES_MAX || n > entries_cap)
        return nr_errf(err, NR_EINVAL,
                       "raft message: %" PRIu32 " entries; at most %u (%" PRIu32
                       " slots to decode into)",
                       n, RAFT_MSG_ENTRIES_MAX, entries_cap);
    if ((uint64_t)n * PEER_ENTRY_HDR_LEN > len - *at)
        return nr_errf(err, NR_EINVAL,
                       "raft message: %" PRIu32 " entries need at least %" PRIu64 " bytes, %" PRIu32
                       " left",
                       n, (uint64_t)n * PEER_ENTRY_HDR_LEN, len - *at);
    if (n > 0 && m->index > RAFT_INDEX_MAX - n)
        return nr_errf(err, NR_EINVAL,
                       "raft message: %" PRIu32 " entries after index %" PRIu64
                       " go beyond %" PRIu64,
                       n, m->index, RAFT_INDEX_MAX);
    uint64_t prev_term = 0;
    for (uint32_t i = 0; i < n; i++) {
        int rc = decode_entry(buf + *at, len - *at, i, m->index + 1 + i, prev_term, &entries[i],
                              err);
        if (rc != 0)
            return rc;
        prev_term = entries[i].term;
        *at += PEER_ENTRY_HDR_LEN + entries[i].len;
    }
    m->entries = n > 0 ? entries : NULL;
    return 0;
}

int peer_msg_decode(const uint8_t *buf, uint32_t len, struct raft_msg *out,
                    struct raft_entry *entries, uint32_t entries_cap, struct nr_err *err)
{
    int rc = check_header(buf, len, err);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof(*out));
    out->type = buf[1];
    out->reject = (buf[2] & PEER_F_REJECT) != 0;
    out->transfer = (buf[2] & PEER_F_TRANSFER) != 0;
    out->n_entries = nr_get_le32(buf + 4);
    if (out->type != RAFT_MSG_APPEND && out->n_entries != 0)
        return nr_errf(err, NR_EINVAL,
                       "raft message: %s carries %" PRIu32 " entries; only appends do",
                       raft_msg_type_name(out->type), out->n_entries);
    rc = decode_fields(buf, out, err);
    if (rc != 0)
        return rc;
    uint32_t at = PEER_HDR_LEN;
    if (out->type == RAFT_MSG_SNAPSHOT)
        rc = decode_snap(buf, len, &at, &out->snap, err);
    else if (out->type == RAFT_MSG_APPEND)
        rc = decode_entries(buf, len, &at, out, entries, entries_cap, err);
    if (rc != 0)
        return rc;
    if (at != len)
        return nr_errf(err, NR_EINVAL,
                       "raft message: %" PRIu32 " bytes after the %s's end at %" PRIu32, len - at,
                       raft_msg_type_name(out->type), at);
    return 0;
}
