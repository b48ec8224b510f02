/* peer_wire_test.c - raft messages through peer_wire: every type round
 * trips with its fields at their bounds (and at their smallest), the
 * encoder refuses what it cannot encode, and the decoder refuses each
 * broken rule of the format with NR_EINVAL and a sentence naming the field
 * (one table row per rule). Prints `N passed, M failed`. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nr_le.h"
#include "peer_wire.h"
#include "unit_check.h"
#include "wire_samples.h"

static uint8_t buf[1u << 20];
static uint8_t data[1u << 16];
static struct raft_entry ents[RAFT_MSG_ENTRIES_MAX];
static struct raft_entry dec[RAFT_MSG_ENTRIES_MAX];

static bool conf_equal(const struct raft_conf *a, const struct raft_conf *b)
{
    return a->n_voters == b->n_voters && a->n_voters_outgoing == b->n_voters_outgoing &&
           a->n_learners == b->n_learners && a->n_learners_next == b->n_learners_next &&
           a->auto_leave == b->auto_leave && memcmp(a->voters, b->voters, a->n_voters * 8u) == 0 &&
           memcmp(a->voters_outgoing, b->voters_outgoing, a->n_voters_outgoing * 8u) == 0 &&
           memcmp(a->learners, b->learners, a->n_learners * 8u) == 0 &&
           memcmp(a->learners_next, b->learners_next, a->n_learners_next * 8u) == 0;
}

static void check_equal(const char *what, const struct raft_msg *a, const struct raft_msg *b)
{
    UNIT_CHECK(a->type == b->type && a->reject == b->reject && a->transfer == b->transfer &&
                       a->from == b->from && a->to == b->to && a->term == b->term &&
                       a->index == b->index && a->log_term == b->log_term &&
                       a->commit == b->commit && a->reject_hint == b->reject_hint &&
                       a->reject_hint_term == b->reject_hint_term && a->ctx == b->ctx,
               "%s: header fields differ after the round trip", what);
    UNIT_CHECK(a->n_entries == b->n_entries, "%s: %" PRIu32 " entries, want %" PRIu32, what,
               b->n_entries, a->n_entries);
    if (a->type == RAFT_MSG_SNAPSHOT)
        UNIT_CHECK(a->snap.index == b->snap.index && a->snap.term == b->snap.term &&
                           conf_equal(&a->snap.conf, &b->snap.conf),
                   "%s: snapshot metadata differs", what);
    for (uint32_t i = 0; i < a->n_entries && i < b->n_entries; i++) {
        const struct raft_entry *x = &a->entries[i], *y = &b->entries[i];
        if (!UNIT_CHECK(x->term == y->term && x->index == y->index && x->type == y->type &&
                                x->len == y->len && memcmp(x->data, y->data, x->len) == 0,
                        "%s: entry %" PRIu32 " differs", what, i))
            break;
    }
}

static void round_trip(const char *what, const struct raft_msg *m)
{
    struct raft_msg out;
    struct nr_err err = {0};

    int n = peer_msg_encode(m, buf, sizeof(buf), &err);
    if (!UNIT_CHECK(n > 0, "%s: encode: %s", what, err.msg))
        return;
    UNIT_CHECK((uint64_t)n == peer_msg_len(m), "%s: %d bytes, peer_msg_len says %" PRIu64, what, n,
               peer_msg_len(m));
    int rc = peer_msg_decode(buf, (uint32_t)n, &out, dec, RAFT_MSG_ENTRIES_MAX, &err);
    if (!UNIT_CHECK(rc == 0, "%s: decode: %s", what, err.msg))
        return;
    check_equal(what, m, &out);
    if (out.n_entries > 0) /* zero copy: data points into the buffer */
        UNIT_CHECK(out.entries == dec && dec[0].data == buf + PEER_HDR_LEN + PEER_ENTRY_HDR_LEN,
                   "%s: entry data is not in the received buffer", what);
    else
        UNIT_CHECK(out.entries == NULL, "%s: entries set without entries", what);
    if (m->type != RAFT_MSG_SNAPSHOT) {
        struct raft_snap_meta zero = {0};
        UNIT_CHECK(memcmp(&out.snap, &zero, sizeof(zero)) == 0, "%s: snapshot not zero", what);
    }
    /* A buffer one byte short is refused; an exact one is not. */
    if (n > 0) {
        ws_expect_refusal(what, peer_msg_encode(m, buf, (uint32_t)n - 1, &err), &err, NR_EBUSY,
                          "do not fit");
        UNIT_CHECK(peer_msg_encode(m, buf, (uint32_t)n, &err) == n, "%s: exact buffer", what);
    }
}

static void test_round_trips(void)
{
    struct raft_msg m;
    char what[80];

    for (uint32_t type = 1; type <= RAFT_MSG_TYPE_MAX; type++) {
        ws_msg(&m, type); /* every field at or near its top */
        snprintf(what, sizeof(what), "%s at the bounds", raft_msg_type_name(type));
        round_trip(what, &m);
        m = (struct raft_msg){.type = type, .from = 1, .to = 2, .term = 1};
        if (type == RAFT_MSG_SNAPSHOT)
            m.snap = (struct raft_snap_meta){.index = 1, .term = 1};
        snprintf(what, sizeof(what), "%s at the bottom", raft_msg_type_name(type));
        round_trip(what, &m);
    }
    static const uint32_t shapes[][2] = {
            {1, 0}, {1, 1}, {3, 300}, {64, 256}, {RAFT_MSG_ENTRIES_MAX, 1}, {2, 1u << 16}};
    for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        ws_msg(&m, RAFT_MSG_APPEND);
        ws_entries(&m, ents, shapes[i][0], data, shapes[i][1]);
        snprintf(what, sizeof(what), "append %" PRIu32 " x %" PRIu32 " B", shapes[i][0],
                 shapes[i][1]);
        round_trip(what, &m);
    }
    /* Flags one at a time. */
    ws_msg(&m, RAFT_MSG_VOTE);
    m.reject = false;
    round_trip("vote, transfer only", &m);
    m.transfer = false;
    m.reject = true;
    round_trip("vote, reject only", &m);
}

static void test_encode_refusals(void)
{
    struct raft_msg m;
    struct nr_err err;

    ws_msg(&m, 0);
    ws_expect_refusal("encode type 0", peer_msg_encode(&m, buf, sizeof(buf), &err), &err, NR_EINVAL,
                      "type 0");
    ws_msg(&m, RAFT_MSG_TYPE_MAX + 1);
    ws_expect_refusal("encode type 11", peer_msg_encode(&m, buf, sizeof(buf), &err), &err,
                      NR_EINVAL, "type 11");
    ws_msg(&m, RAFT_MSG_HEARTBEAT);
    ws_entries(&m, ents, 1, data, 1);
    ws_expect_refusal("encode entries on a heartbeat", peer_msg_encode(&m, buf, sizeof(buf), &err),
                      &err, NR_EINVAL, "only appends");
    ws_msg(&m, RAFT_MSG_APPEND);
    ws_entries(&m, ents, RAFT_MSG_ENTRIES_MAX, data, 0);
    m.n_entries++;
    ws_expect_refusal("encode 1025 entries", peer_msg_encode(&m, buf, sizeof(buf), &err), &err,
                      NR_EINVAL, "1025 entries");
    ws_entries(&m, ents, 2, data, 1);
    ents[1].len = PEER_ENTRY_LEN_MAX + 1;
    ws_expect_refusal("encode a long entry", peer_msg_encode(&m, buf, sizeof(buf), &err), &err,
                      NR_EINVAL, "entry 1 has 1048577 bytes");
    ws_entries(&m, ents, 2, data, 1);
    ents[0].type = RAFT_ENTRY_CONF + 1;
    ws_expect_refusal("encode entry type 3", peer_msg_encode(&m, buf, sizeof(buf), &err), &err,
                      NR_EINVAL, "entry 0 has type 3");
    ws_msg(&m, RAFT_MSG_SNAPSHOT);
    m.snap.conf.n_learners_next = RAFT_LEARNERS_MAX + 1;
    ws_expect_refusal("encode 9 next learners", peer_msg_encode(&m, buf, sizeof(buf), &err), &err,
                      NR_EINVAL, "exceed");
}

/* ---- the decoder's rules, one row each ---- */

enum sample { S_APPEND, S_SNAP, S_BEAT };

/* Offsets in the append sample: 3 entries of 300 bytes. */
#define E(i) (PEER_HDR_LEN + (i) * (PEER_ENTRY_HDR_LEN + 300u))
#define SN PEER_HDR_LEN /* the snapshot metadata */

struct reject_row {
    const char *what;
    enum sample sample;
    uint32_t off;   /* UINT32_MAX: append one byte instead */
    uint32_t width; /* 1, 4 or 8 */
    uint64_t value;
    const char *substr;
};

static const struct reject_row rows[] = {
        {"version 0", S_BEAT, 0, 1, 0, "version 0; this node speaks 1"},
        {"version 2", S_BEAT, 0, 1, 2, "version 2"},
        {"type 0", S_BEAT, 1, 1, 0, "type 0 is not 1..10"},
        {"type 11", S_BEAT, 1, 1, 11, "type 11 is not 1..10"},
        {"unknown flag", S_BEAT, 2, 1, 0x07, "unknown bits 0x04"},
        {"reserved byte 3", S_BEAT, 3, 1, 1, "reserved byte 3 is 1"},
        {"entries on a heartbeat", S_BEAT, 4, 4, 1, "HEARTBEAT carries 1 entries"},
        {"entries on a snapshot", S_SNAP, 4, 4, 7, "carries 7 entries"},
        {"from 0", S_BEAT, 8, 8, 0, "member IDs are non-zero"},
        {"to 0", S_BEAT, 16, 8, 0, "member IDs are non-zero"},
        {"term 0", S_BEAT, 24, 8, 0, "term 0"},
        {"term beyond", S_BEAT, 24, 8, RAFT_TERM_MAX + 1, "term 4611686018427387905 is beyond"},
        {"index beyond", S_BEAT, 32, 8, RAFT_INDEX_MAX + 1, "index 4611686018427387905 is beyond"},
        {"log_term beyond", S_BEAT, 40, 8, UINT64_MAX, "log_term 18446744073709551615"},
        {"commit beyond", S_BEAT, 48, 8, RAFT_INDEX_MAX + 1, "commit"},
        {"reject_hint beyond", S_BEAT, 56, 8, RAFT_INDEX_MAX + 1, "reject_hint 4611"},
        {"reject_hint_term beyond", S_BEAT, 64, 8, RAFT_TERM_MAX + 1, "reject_hint_term"},
        {"trailing byte", S_BEAT, UINT32_MAX, 1, 0, "1 bytes after the HEARTBEAT's end at 80"},
        {"1025 entries", S_APPEND, 4, 4, RAFT_MSG_ENTRIES_MAX + 1, "1025 entries; at most 1024"},
        {"entries beyond the bytes", S_APPEND, 4, 4, 100, "100 entries need at least 2400 bytes"},
        {"one entry too many", S_APPEND, 4, 4, 4, "entry 3 needs a 24-byte header, 0 bytes left"},
        {"one entry too few", S_APPEND, 4, 4, 2, "324 bytes after the APPEND"},
        {"entries beyond the last index", S_APPEND, 32, 8, RAFT_INDEX_MAX - 2, "go beyond"},
        {"first index not after the previous", S_APPEND, E(0) + 8, 8, 5, "entry 0 has index 5"},
        {"index gap", S_APPEND, E(2) + 8, 8, 77, "entry 2 has index 77"},
        {"entry term 0", S_APPEND, E(0), 8, 0, "entry 0 has term 0"},
        {"entry term goes down", S_APPEND, E(2), 8, 1, "terms never go down"},
        {"entry term beyond", S_APPEND, E(2), 8, RAFT_TERM_MAX + 1, "entry 2 has term"},
        {"entry type 3", S_APPEND, E(1) + 16, 1, 3, "entry 1 type 3"},
        {"entry reserved", S_APPEND, E(1) + 18, 1, 9, "reserved"},
        {"entry longer than what is left", S_APPEND, E(2) + 20, 4, 301, "claims 301 bytes"},
        {"entry longer than the bound", S_APPEND, E(0) + 20, 4, PEER_ENTRY_LEN_MAX + 1,
         "claims 1048577 bytes; at most 1048576"},
        {"entry shorter than stated", S_APPEND, E(0) + 20, 4, 299, "entry 1 has index"},
        {"snapshot index 0", S_SNAP, SN, 8, 0, "both must be non-zero"},
        {"snapshot term 0", S_SNAP, SN + 8, 8, 0, "both must be non-zero"},
        {"snapshot index beyond", S_SNAP, SN, 8, RAFT_INDEX_MAX + 1, "snapshot index"},
        {"snapshot term beyond", S_SNAP, SN + 8, 8, RAFT_TERM_MAX + 1, "snapshot term"},
        {"10 voters", S_SNAP, SN + 16, 1, RAFT_VOTERS_MAX + 1, "10 voters"},
        {"10 outgoing voters", S_SNAP, SN + 17, 1, RAFT_VOTERS_MAX + 1, "10 outgoing"},
        {"9 learners", S_SNAP, SN + 18, 1, RAFT_LEARNERS_MAX + 1, "9 learners"},
        {"9 next learners", S_SNAP, SN + 19, 1, RAFT_LEARNERS_MAX + 1, "9 next learners"},
        {"conf flag unknown", S_SNAP, SN + 20, 1, 0x03, "conf flags 0x03"},
        {"conf reserved", S_SNAP, SN + 23, 1, 1, "reserved"},
        {"voter ID 0", S_SNAP, SN + 24 + 8, 8, 0, "voters[1] is ID 0"},
        {"voter repeated", S_SNAP, SN + 24 + 16, 8, 100,
         "voters[2] repeats 0000000000000064 of [0]"},
        {"learner_next repeated", S_SNAP, SN + 24 + 8 * 26 + 8, 8, UINT64_MAX,
         "learners_next[1] repeats"},
        {"fewer IDs than counted", S_SNAP, SN + 19, 1, 0, "64 bytes after the SNAPSHOT"},
        {"voters counted as 0", S_SNAP, SN + 16, 1, 0, "72 bytes after"},
};

static uint32_t make_sample(enum sample s)
{
    struct raft_msg m;
    struct nr_err err;

    ws_msg(&m, s == S_APPEND ? RAFT_MSG_APPEND
               : s == S_SNAP ? RAFT_MSG_SNAPSHOT
                             : RAFT_MSG_HEARTBEAT);
    if (s == S_APPEND)
        ws_entries(&m, ents, 3, data, 300);
    int n = peer_msg_encode(&m, buf, sizeof(buf), &err);
    UNIT_CHECK(n > 0, "sample %d: %s", s, err.msg);
    return n > 0 ? (uint32_t)n : 0;
}

static void test_decode_refusals(void)
{
    for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct reject_row *r = &rows[i];
        uint32_t len = make_sample(r->sample);
        if (r->off == UINT32_MAX)
            buf[len++] = 0;
        else if (r->width == 1)
            buf[r->off] = (uint8_t)r->value;
        else if (r->width == 4)
            nr_put_le32(buf + r->off, (uint32_t)r->value);
        else
            nr_put_le64(buf + r->off, r->value);
        struct raft_msg out;
        struct nr_err err = {0};
        int rc = peer_msg_decode(buf, len, &out, dec, RAFT_MSG_ENTRIES_MAX, &err);
        ws_expect_refusal(r->what, rc, &err, NR_EINVAL, r->substr);
    }
    /* More entries than the caller's array. */
    uint32_t len = make_sample(S_APPEND);
    struct raft_msg out;
    struct nr_err err = {0};
    ws_expect_refusal("3 entries into 2 slots", peer_msg_decode(buf, len, &out, dec, 2, &err), &err,
                      NR_EINVAL, "3 entries; at most 1024 (2 slots");
    UNIT_CHECK(peer_msg_decode(buf, len, &out, dec, 3, &err) == 0, "3 entries into 3 slots: %s",
               err.msg);
    ws_expect_refusal("a short header", peer_msg_decode(buf, PEER_HDR_LEN - 1, &out, dec, 3, &err),
                      &err, NR_EINVAL, "79 bytes, shorter than the 80-byte header");
}

int main(void)
{
    for (uint32_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7u + 3u);
    test_round_trips();
    test_encode_refusals();
    test_decode_refusals();
    return unit_finish();
}
