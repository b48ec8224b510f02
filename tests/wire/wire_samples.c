/* wire_samples.c - sample values and encodings of every node/wire message
 * (wire_samples.h), and the decode-then-encode-again check. */
#include "wire_samples.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crc.h"
#include "nr_le.h"
#include "unit_check.h"

const char *ws_kind_name(unsigned kind)
{
    static const char *const names[WS_KINDS] = {
            "raft",         "snap-chunk",  "snap-ack",   "members-req",
            "members-resp", "member-attr", "member-rec",
    };
    return kind < WS_KINDS ? names[kind] : "unknown";
}

void ws_msg(struct raft_msg *m, uint32_t type)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->reject = true;
    m->transfer = true;
    m->from = UINT64_C(0x1111111111111111);
    m->to = UINT64_MAX;
    m->term = RAFT_TERM_MAX;
    m->index = RAFT_INDEX_MAX - 2 * RAFT_MSG_ENTRIES_MAX;
    m->log_term = RAFT_TERM_MAX - 1;
    m->commit = RAFT_INDEX_MAX;
    m->reject_hint = RAFT_INDEX_MAX - 1;
    m->reject_hint_term = RAFT_TERM_MAX - 2;
    m->ctx = UINT64_MAX - 5;
    if (type != RAFT_MSG_SNAPSHOT)
        return;
    struct raft_conf *c = &m->snap.conf;
    m->snap.index = RAFT_INDEX_MAX;
    m->snap.term = RAFT_TERM_MAX;
    c->n_voters = c->n_voters_outgoing = RAFT_VOTERS_MAX;
    c->n_learners = c->n_learners_next = RAFT_LEARNERS_MAX;
    c->auto_leave = true;
    for (uint32_t i = 0; i < RAFT_VOTERS_MAX; i++) {
        c->voters[i] = 100 + i;
        c->voters_outgoing[i] = UINT64_MAX - i;
    }
    for (uint32_t i = 0; i < RAFT_LEARNERS_MAX; i++) {
        c->learners[i] = 200 + i;
        c->learners_next[i] = UINT64_MAX - i;
    }
}

void ws_entries(struct raft_msg *m, struct raft_entry *e, uint32_t n, const uint8_t *data,
                uint32_t data_len)
{
    for (uint32_t i = 0; i < n; i++) {
        e[i] = (struct raft_entry){
                .term = i < n / 2 ? m->log_term : m->term,
                .index = m->index + 1 + i,
                .type = i % 3,
                .len = data_len,
                .data = data,
        };
    }
    m->n_entries = n;
    m->entries = e;
}

void ws_chunk(struct snap_chunk *c, const uint8_t *data, uint32_t len)
{
    *c = (struct snap_chunk){
            .stream_id = UINT64_C(0x5eed5eed5eed5eed),
            .leader_term = RAFT_TERM_MAX,
            .leader_id = UINT64_MAX,
            .snap_index = RAFT_INDEX_MAX,
            .snap_term = RAFT_TERM_MAX,
            .total_len = WS_TOTAL_MAX,
            .offset = WS_TOTAL_MAX - len, /* the last chunk, at the bound */
            .chunk_len = len,
            .data = data,
    };
}

void ws_ack(struct snap_ack *a, uint32_t status, uint32_t reason)
{
    *a = (struct snap_ack){
            .stream_id = UINT64_MAX,
            .term = RAFT_TERM_MAX,
            .snap_index = RAFT_INDEX_MAX,
            .snap_term = RAFT_TERM_MAX,
            .next_offset = UINT64_MAX,
            .status = status,
            .reason = reason,
    };
}

/* 63 name characters: every allowed one, in turn. */
static void long_name(char *name)
{
    unsigned char c = 0x21;

    for (int i = 0; i < NR_NAME_MAX - 1; i++) {
        while (c == '=' || c == ',' || c == 0x7f || c <= 0x20)
            c = c >= 0x7e ? 0x21 : c + 1;
        name[i] = (char)c;
        c = c >= 0x7e ? 0x21 : c + 1;
    }
    name[NR_NAME_MAX - 1] = '\0';
}

static void urls(char out[][NR_URL_LEN_MAX], uint32_t n, unsigned base)
{
    for (uint32_t i = 0; i < n; i++)
        snprintf(out[i], NR_URL_LEN_MAX, "udp://255.255.%u.25%u:6553%u", base, i, i);
}

void ws_member(struct nr_member *m, uint64_t id, uint32_t n_peer, uint32_t n_client,
               bool long_names)
{
    memset(m, 0, sizeof(*m));
    m->id = id;
    if (long_names)
        long_name(m->name);
    else if (n_client > 0)
        snprintf(m->name, sizeof(m->name), "node-%" PRIu64, id % 1000);
    m->n_peer_urls = n_peer;
    m->n_client_urls = n_client;
    urls(m->peer_urls, n_peer, (unsigned)(id % 200));
    urls(m->client_urls, n_client, 201 + (unsigned)(id % 50));
    m->is_learner = id % 2 == 1;
}

void ws_req(struct members_req *r)
{
    memset(r, 0, sizeof(*r));
    r->request_id = UINT64_MAX;
    long_name(r->name);
    r->n_peer_urls = NR_MEMBER_URLS_MAX;
    urls(r->peer_urls, NR_MEMBER_URLS_MAX, 9);
}

void ws_resp(struct members_resp *r, uint32_t n)
{
    memset(r, 0, sizeof(*r));
    r->request_id = UINT64_MAX;
    r->cluster_id = UINT64_MAX - 1;
    r->leader_id = UINT64_MAX - 2;
    r->n_members = n;
    for (uint32_t i = 0; i < n; i++)
        ws_member(&r->members[i], UINT64_MAX - 2 - i, NR_MEMBER_URLS_MAX, NR_MEMBER_URLS_MAX, true);
}

void ws_attr(struct nr_member_attr *a, uint32_t n_client)
{
    memset(a, 0, sizeof(*a));
    a->id = UINT64_MAX;
    long_name(a->name);
    a->n_client_urls = n_client;
    urls(a->client_urls, n_client, 77);
}

/* ---- every sample encoding ---- */

static uint8_t enc[1u << 20];
static uint8_t data[1u << 16];
static struct raft_entry ents[RAFT_MSG_ENTRIES_MAX];
static struct members_resp resp;

static void emit(ws_fn *fn, void *ctx, const char *name, unsigned kind, int n,
                 const struct nr_err *err)
{
    if (n <= 0) {
        fprintf(stderr, "wire samples: %s does not encode: %s\n", name, err->msg);
        return; /* the tests count too few samples then */
    }
    fn(name, kind, enc, (uint32_t)n, ctx);
}

static void raft_samples(ws_fn *fn, void *ctx)
{
    struct raft_msg m;
    struct nr_err err;
    char name[64];

    for (uint32_t type = 1; type <= RAFT_MSG_TYPE_MAX; type++) {
        ws_msg(&m, type);
        snprintf(name, sizeof(name), "raft %s", raft_msg_type_name(type));
        emit(fn, ctx, name, WS_RAFT, peer_msg_encode(&m, enc, sizeof(enc), &err), &err);
    }
    ws_msg(&m, RAFT_MSG_SNAPSHOT);
    memset(&m.snap.conf, 0, sizeof(m.snap.conf));
    emit(fn, ctx, "raft snapshot, empty conf", WS_RAFT, peer_msg_encode(&m, enc, sizeof(enc), &err),
         &err);
    static const uint32_t shapes[][2] = {
            {1, 0}, {3, 300}, {64, 256}, {RAFT_MSG_ENTRIES_MAX, 0}, {2, 1u << 15}};
    for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        ws_msg(&m, RAFT_MSG_APPEND);
        ws_entries(&m, ents, shapes[i][0], data, shapes[i][1]);
        snprintf(name, sizeof(name), "raft append %ux%u", shapes[i][0], shapes[i][1]);
        emit(fn, ctx, name, WS_RAFT, peer_msg_encode(&m, enc, sizeof(enc), &err), &err);
    }
}

static void snap_samples(ws_fn *fn, void *ctx)
{
    struct snap_chunk c;
    struct snap_ack a;
    struct nr_err err;
    char name[64];

    static const uint32_t lens[] = {1, 100, 4096};
    for (unsigned i = 0; i < 3; i++) {
        ws_chunk(&c, data, lens[i]);
        snprintf(name, sizeof(name), "snap chunk %u B", lens[i]);
        emit(fn, ctx, name, WS_SNAP_CHUNK,
             snap_chunk_encode(&c, WS_TOTAL_MAX, enc, sizeof(enc), &err), &err);
    }
    ws_chunk(&c, NULL, 0);
    c.total_len = c.offset = 0;
    emit(fn, ctx, "snap chunk, empty snapshot", WS_SNAP_CHUNK,
         snap_chunk_encode(&c, WS_TOTAL_MAX, enc, sizeof(enc), &err), &err);
    ws_ack(&a, SNAP_ACK_OK, 0);
    emit(fn, ctx, "snap ack OK", WS_SNAP_ACK, snap_ack_encode(&a, enc, sizeof(enc), &err), &err);
    ws_ack(&a, SNAP_ACK_DONE, 0);
    emit(fn, ctx, "snap ack DONE", WS_SNAP_ACK, snap_ack_encode(&a, enc, sizeof(enc), &err), &err);
    for (uint32_t r = 1; r <= SNAP_ABORT_REASON_MAX; r++) {
        ws_ack(&a, SNAP_ACK_ABORT, r);
        snprintf(name, sizeof(name), "snap ack ABORT %s", snap_abort_reason_name(r));
        emit(fn, ctx, name, WS_SNAP_ACK, snap_ack_encode(&a, enc, sizeof(enc), &err), &err);
    }
}

static void member_samples(ws_fn *fn, void *ctx)
{
    struct members_req req;
    struct nr_member_attr attr;
    struct nr_member m;
    struct nr_err err;

    ws_req(&req);
    emit(fn, ctx, "members req, 4 URLs", WS_MEMBERS_REQ,
         members_req_encode(&req, enc, sizeof(enc), &err), &err);
    req.n_peer_urls = 1;
    snprintf(req.name, sizeof(req.name), "n");
    emit(fn, ctx, "members req, 1 URL", WS_MEMBERS_REQ,
         members_req_encode(&req, enc, sizeof(enc), &err), &err);
    static const uint32_t counts[] = {0, 1, RAFT_MEMBERS_MAX};
    for (unsigned i = 0; i < 3; i++) {
        char name[64];
        ws_resp(&resp, counts[i]);
        if (counts[i] == 1)
            ws_member(&resp.members[0], 3, 1, 0, false); /* unstarted learner */
        snprintf(name, sizeof(name), "members resp, %u members", counts[i]);
        emit(fn, ctx, name, WS_MEMBERS_RESP, members_resp_encode(&resp, enc, sizeof(enc), &err),
             &err);
    }
    ws_attr(&attr, 0);
    emit(fn, ctx, "member attr, no URL", WS_MEMBER_ATTR,
         member_attr_encode(&attr, enc, sizeof(enc), &err), &err);
    ws_attr(&attr, NR_MEMBER_URLS_MAX);
    emit(fn, ctx, "member attr, 4 URLs", WS_MEMBER_ATTR,
         member_attr_encode(&attr, enc, sizeof(enc), &err), &err);
    ws_member(&m, 5, 1, 0, false);
    emit(fn, ctx, "member rec, unstarted", WS_MEMBER_REC,
         member_rec_encode(&m, enc, sizeof(enc), &err), &err);
    ws_member(&m, UINT64_MAX, NR_MEMBER_URLS_MAX, NR_MEMBER_URLS_MAX, true);
    emit(fn, ctx, "member rec, full", WS_MEMBER_REC, member_rec_encode(&m, enc, sizeof(enc), &err),
         &err);
}

void ws_each(ws_fn *fn, void *ctx)
{
    for (uint32_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 131u + (i >> 8));
    raft_samples(fn, ctx);
    snap_samples(fn, ctx);
    member_samples(fn, ctx);
}

/* ---- decode, encode again, compare ---- */

static uint8_t again[1u << 21];
static uint8_t fixed[1u << 21];
static struct raft_entry dec_ents[RAFT_MSG_ENTRIES_MAX];
static struct members_resp dec_resp;

/* Decodes (rc) and, when accepted, encodes again (n). */
static int decode_encode(unsigned kind, const uint8_t *buf, uint32_t len, int *n,
                         struct nr_err *err)
{
    struct nr_err err2 = {0};
    int rc;

    switch (kind) {
    case WS_RAFT: {
        struct raft_msg m;
        rc = peer_msg_decode(buf, len, &m, dec_ents, RAFT_MSG_ENTRIES_MAX, err);
        if (rc == 0)
            *n = peer_msg_encode(&m, again, sizeof(again), &err2);
        break;
    }
    case WS_SNAP_CHUNK: {
        struct snap_chunk c;
        rc = snap_chunk_decode(buf, len, WS_TOTAL_MAX, &c, err);
        if (rc == 0)
            *n = snap_chunk_encode(&c, WS_TOTAL_MAX, again, sizeof(again), &err2);
        break;
    }
    case WS_SNAP_ACK: {
        struct snap_ack a;
        rc = snap_ack_decode(buf, len, &a, err);
        if (rc == 0)
            *n = snap_ack_encode(&a, again, sizeof(again), &err2);
        break;
    }
    case WS_MEMBERS_REQ: {
        struct members_req r;
        rc = members_req_decode(buf, len, &r, err);
        if (rc == 0)
            *n = members_req_encode(&r, again, sizeof(again), &err2);
        break;
    }
    case WS_MEMBERS_RESP:
        rc = members_resp_decode(buf, len, &dec_resp, err);
        if (rc == 0)
            *n = members_resp_encode(&dec_resp, again, sizeof(again), &err2);
        break;
    case WS_MEMBER_ATTR: {
        struct nr_member_attr a;
        rc = member_attr_decode(buf, len, &a, err);
        if (rc == 0)
            *n = member_attr_encode(&a, again, sizeof(again), &err2);
        break;
    }
    default: {
        struct nr_member m;
        rc = member_rec_decode(buf, len, &m, err);
        if (rc == 0)
            *n = member_rec_encode(&m, again, sizeof(again), &err2);
        break;
    }
    }
    if (rc == 0 && *n < 0)
        snprintf(err->msg, sizeof(err->msg), "%s", err2.msg);
    return rc;
}

/* False (and a sentence in problem) when a rule of the tests broke; *rc
 * is the decoder's code. */
static bool check_once(unsigned kind, const uint8_t *buf, uint32_t len, int *rc, char *problem,
                       uint32_t cap)
{
    struct nr_err err = {0};
    int n = 0;

    *rc = decode_encode(kind, buf, len, &n, &err);
    if (*rc != 0) {
        bool code_ok = *rc == NR_EINVAL || (kind == WS_SNAP_CHUNK && *rc == NR_ECORRUPT);
        if (!code_ok || err.code != *rc || strlen(err.msg) < 10) {
            snprintf(problem, cap, "%s: refusal %s with sentence \"%s\" (code %d)",
                     ws_kind_name(kind), nr_code_name(*rc), err.msg, err.code);
            return false;
        }
        return true;
    }
    if (n < 0) {
        snprintf(problem, cap, "%s: accepted %" PRIu32 " bytes that do not encode again: %s",
                 ws_kind_name(kind), len, err.msg);
        return false;
    }
    if ((uint32_t)n != len || memcmp(again, buf, len) != 0) {
        snprintf(problem, cap, "%s: accepted %" PRIu32 " bytes encode again as %d other bytes",
                 ws_kind_name(kind), len, n);
        return false;
    }
    return true;
}

bool ws_check(unsigned kind, const uint8_t *buf, uint32_t len, int *rc, char *problem,
              uint32_t problem_cap)
{
    kind %= WS_KINDS;
    if (len > sizeof(again)) { /* larger than any test input */
        snprintf(problem, problem_cap, "ws_check: %" PRIu32 " bytes is too long", len);
        return false;
    }
    if (!check_once(kind, buf, len, rc, problem, problem_cap))
        return false;
    if (kind != WS_SNAP_CHUNK || len < SNAP_CHUNK_HDR_LEN)
        return true;
    int rc_fixed;
    memcpy(fixed, buf, len);
    nr_put_le32(fixed + 64, nr_crc32c(0, fixed + SNAP_CHUNK_HDR_LEN, len - SNAP_CHUNK_HDR_LEN));
    return check_once(WS_SNAP_CHUNK, fixed, len, &rc_fixed, problem, problem_cap);
}

void ws_expect_refusal(const char *what, int rc, const struct nr_err *err, int want,
                       const char *substr)
{
    UNIT_CHECK(rc == want, "%s: rc %s, want %s (\"%s\")", what, nr_code_name(rc),
               nr_code_name(want), err->msg);
    UNIT_CHECK(err->code == rc && strstr(err->msg, substr) != NULL,
               "%s: sentence \"%s\" should contain \"%s\"", what, err->msg, substr);
}
