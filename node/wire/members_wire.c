/* members_wire.c - membership messages and member entries to bytes and
 * back (members_wire.h). Decoding is two steps: the bytes into the struct
 * (lengths and counts checked against what is left before anything is
 * copied), then the same rules the encoder applies to its own values
 * (member_check.c), so both sides agree on what is valid. */
#include "members_wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "member_int.h"
#include "nr_le.h"

/* ---- writing ---- */

static uint32_t urls_wire_len(const char urls[][NR_URL_LEN_MAX], uint32_t n)
{
    uint32_t len = 0;

    for (uint32_t i = 0; i < n; i++)
        len += 1u + (uint32_t)strnlen(urls[i], NR_URL_LEN_MAX);
    return len;
}

static uint8_t *put_chars(uint8_t *p, const char *s, uint32_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static uint8_t *put_urls(uint8_t *p, const char urls[][NR_URL_LEN_MAX], uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t)strlen(urls[i]);
        *p++ = (uint8_t)len;
        p = put_chars(p, urls[i], len);
    }
    return p;
}

static uint32_t rec_len(const struct nr_member *m)
{
    return NR_MEMBER_REC_HDR_LEN + (uint32_t)strlen(m->name) +
           urls_wire_len(m->peer_urls, m->n_peer_urls) +
           urls_wire_len(m->client_urls, m->n_client_urls);
}

static uint8_t *put_rec(uint8_t *p, const struct nr_member *m)
{
    uint32_t name_len = (uint32_t)strlen(m->name);

    nr_put_le64(p, m->id);
    p[8] = (uint8_t)name_len;
    p[9] = (uint8_t)m->n_peer_urls;
    p[10] = (uint8_t)m->n_client_urls;
    p[11] = m->is_learner ? NR_MEMBER_F_LEARNER : 0;
    p = put_chars(p + NR_MEMBER_REC_HDR_LEN, m->name, name_len);
    p = put_urls(p, m->peer_urls, m->n_peer_urls);
    return put_urls(p, m->client_urls, m->n_client_urls);
}

static int no_room(const char *what, uint32_t need, uint32_t cap, struct nr_err *err)
{
    return nr_errf(err, NR_EBUSY, "%s: %" PRIu32 " bytes do not fit the %" PRIu32 "-byte buffer",
                   what, need, cap);
}

/* ---- reading ---- */

/* A cursor over outside bytes; what names the message in sentences. */
struct rd {
    const uint8_t *buf;
    uint32_t len;
    uint32_t at;
    const char *what;
};

static int rd_need(struct rd *r, uint32_t n, const char *field, struct nr_err *err)
{
    if (r->len - r->at < n)
        return nr_errf(err, NR_EINVAL,
                       "%s: %s needs %" PRIu32 " bytes at offset %" PRIu32 ", %" PRIu32 " left",
                       r->what, field, n, r->at, r->len - r->at);
    return 0;
}

/* n bytes of a string into dst[0..cap), NUL-terminated; n < cap. */
static int rd_chars(struct rd *r, uint32_t n, char *dst, uint32_t cap, const char *field,
                    struct nr_err *err)
{
    if (n >= cap)
        return nr_errf(err, NR_EINVAL, "%s: %s of %" PRIu32 " bytes; at most %" PRIu32, r->what,
                       field, n, cap - 1);
    int rc = rd_need(r, n, field, err);
    if (rc != 0)
        return rc;
    if (memchr(r->buf + r->at, 0, n) != NULL)
        return nr_errf(err, NR_EINVAL, "%s: %s at offset %" PRIu32 " holds a NUL byte", r->what,
                       field, r->at);
    memcpy(dst, r->buf + r->at, n);
    dst[n] = '\0';
    r->at += n;
    return 0;
}

static int rd_urls(struct rd *r, uint32_t n, char urls[][NR_URL_LEN_MAX], const char *field,
                   struct nr_err *err)
{
    if (n > NR_MEMBER_URLS_MAX)
        return nr_errf(err, NR_EINVAL, "%s: %" PRIu32 " %s; at most %d", r->what, n, field,
                       NR_MEMBER_URLS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        int rc = rd_need(r, 1, field, err);
        if (rc != 0)
            return rc;
        uint32_t len = r->buf[r->at++];
        if (len == 0)
            return nr_errf(err, NR_EINVAL, "%s: %s %" PRIu32 " is empty", r->what, field, i);
        rc = rd_chars(r, len, urls[i], NR_URL_LEN_MAX, field, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int rd_reserved(const struct rd *r, uint32_t from, uint32_t to, struct nr_err *err)
{
    for (uint32_t i = from; i < to; i++) {
        if (r->buf[i] != 0)
            return nr_errf(err, NR_EINVAL, "%s: reserved byte %" PRIu32 " is %u, want 0", r->what,
                           i, r->buf[i]);
    }
    return 0;
}

static int rd_end(const struct rd *r, struct nr_err *err)
{
    if (r->at != r->len)
        return nr_errf(err, NR_EINVAL, "%s: %" PRIu32 " bytes after its end at %" PRIu32, r->what,
                       r->len - r->at, r->at);
    return 0;
}

/* The start of every message: at least hdr_len bytes, then the first byte
 * (a tag, or the version when tag is 0) and the version byte. */
static int rd_start(struct rd *r, uint32_t hdr_len, uint8_t tag, struct nr_err *err)
{
    if (r->len < hdr_len)
        return nr_errf(err, NR_EINVAL,
                       "%s: %" PRIu32 " bytes, shorter than the %" PRIu32 "-byte header", r->what,
                       r->len, hdr_len);
    if (tag != 0 && r->buf[0] != tag)
        return nr_errf(err, NR_EINVAL, "%s: first byte 0x%02x, want 0x%02x", r->what, r->buf[0],
                       tag);
    uint8_t version = r->buf[tag != 0 ? 1 : 0];
    if (version != MEMBERS_WIRE_VERSION)
        return nr_errf(err, NR_EINVAL, "%s: version %u; this node speaks %u", r->what, version,
                       MEMBERS_WIRE_VERSION);
    r->at = hdr_len;
    return 0;
}

/* One member record at the cursor: the bytes only (nr_member_check after). */
static int rd_rec(struct rd *r, struct nr_member *m, struct nr_err *err)
{
    int rc = rd_need(r, NR_MEMBER_REC_HDR_LEN, "member record header", err);
    if (rc != 0)
        return rc;
    const uint8_t *p = r->buf + r->at;
    m->id = nr_get_le64(p);
    m->n_peer_urls = p[9];
    m->n_client_urls = p[10];
    if ((p[11] & ~NR_MEMBER_F_KNOWN) != 0)
        return nr_errf(err, NR_EINVAL, "%s: member %016" PRIx64 " flags 0x%02x, known 0x%02x",
                       r->what, m->id, p[11], NR_MEMBER_F_KNOWN);
    m->is_learner = (p[11] & NR_MEMBER_F_LEARNER) != 0;
    r->at += NR_MEMBER_REC_HDR_LEN;
    rc = rd_chars(r, p[8], m->name, NR_NAME_MAX, "member name", err);
    if (rc == 0)
        rc = rd_urls(r, m->n_peer_urls, m->peer_urls, "peer URLs", err);
    if (rc == 0)
        rc = rd_urls(r, m->n_client_urls, m->client_urls, "client URLs", err);
    return rc;
}

/* ---- MEMBERS_REQ ---- */

static int req_check(const struct members_req *req, struct nr_err *err)
{
    struct nr_err inner = {0};

    if (req->request_id == 0)
        return nr_errf(err, NR_EINVAL, "members request: request ID 0");
    if (nr_name_check(req->name, false, &inner) != 0)
        return nr_errf(err, NR_EINVAL, "members request: asker's %s", inner.msg);
    return nr_urls_check("members request: asker's peer", req->peer_urls, req->n_peer_urls, 1, err);
}

int members_req_encode(const struct members_req *req, uint8_t *buf, uint32_t cap,
                       struct nr_err *err)
{
    int rc = req_check(req, err);
    if (rc != 0)
        return rc;
    uint32_t name_len = (uint32_t)strlen(req->name);
    uint32_t need =
            MEMBERS_REQ_HDR_LEN + name_len + urls_wire_len(req->peer_urls, req->n_peer_urls);
    if (need > cap)
        return no_room("members request", need, cap, err);
    memset(buf, 0, MEMBERS_REQ_HDR_LEN);
    buf[0] = MEMBERS_WIRE_VERSION;
    buf[1] = (uint8_t)name_len;
    buf[2] = (uint8_t)req->n_peer_urls;
    nr_put_le64(buf + 8, req->request_id);
    uint8_t *p = put_chars(buf + MEMBERS_REQ_HDR_LEN, req->name, name_len);
    p = put_urls(p, req->peer_urls, req->n_peer_urls);
    NR_ASSERT((uint32_t)(p - buf) == need);
    return (int)need;
}

int members_req_decode(const uint8_t *buf, uint32_t len, struct members_req *out,
                       struct nr_err *err)
{
    struct rd r = {buf, len, 0, "members request"};

    memset(out, 0, sizeof(*out));
    int rc = rd_start(&r, MEMBERS_REQ_HDR_LEN, 0, err);
    if (rc == 0)
        rc = rd_reserved(&r, 3, 8, err);
    if (rc != 0)
        return rc;
    out->request_id = nr_get_le64(buf + 8);
    out->n_peer_urls = buf[2];
    rc = rd_chars(&r, buf[1], out->name, NR_NAME_MAX, "asker's name", err);
    if (rc == 0)
        rc = rd_urls(&r, out->n_peer_urls, out->peer_urls, "peer URLs", err);
    if (rc == 0)
        rc = rd_end(&r, err);
    return rc != 0 ? rc : req_check(out, err);
}

/* ---- MEMBERS_RESP ---- */

static int resp_check(const struct members_resp *resp, struct nr_err *err)
{
    struct nr_err inner = {0};

    if (resp->request_id == 0 || resp->cluster_id == 0)
        return nr_errf(err, NR_EINVAL,
                       "members response: request ID %016" PRIx64 ", cluster ID %016" PRIx64
                       "; both must be non-zero",
                       resp->request_id, resp->cluster_id);
    if (resp->n_members > RAFT_MEMBERS_MAX)
        return nr_errf(err, NR_EINVAL, "members response: %" PRIu32 " members; at most %u",
                       resp->n_members, RAFT_MEMBERS_MAX);
    for (uint32_t i = 0; i < resp->n_members; i++) {
        if (nr_member_check(&resp->members[i], &inner) != 0)
            return nr_errf(err, NR_EINVAL, "members response: record %" PRIu32 ": %s", i,
                           inner.msg);
        for (uint32_t j = 0; j < i; j++) { /* quadratic: at most 32 members */
            if (resp->members[j].id == resp->members[i].id)
                return nr_errf(err, NR_EINVAL,
                               "members response: record %" PRIu32 " repeats member %016" PRIx64
                               " of record %" PRIu32,
                               i, resp->members[i].id, j);
        }
    }
    return 0;
}

int members_resp_encode(const struct members_resp *resp, uint8_t *buf, uint32_t cap,
                        struct nr_err *err)
{
    int rc = resp_check(resp, err);
    if (rc != 0)
        return rc;
    uint32_t need = MEMBERS_RESP_HDR_LEN;
    for (uint32_t i = 0; i < resp->n_members; i++)
        need += rec_len(&resp->members[i]);
    if (need > cap)
        return no_room("members response", need, cap, err);
    memset(buf, 0, MEMBERS_RESP_HDR_LEN);
    buf[0] = MEMBERS_WIRE_VERSION;
    buf[1] = (uint8_t)resp->n_members;
    nr_put_le64(buf + 8, resp->request_id);
    nr_put_le64(buf + 16, resp->cluster_id);
    nr_put_le64(buf + 24, resp->leader_id);
    uint8_t *p = buf + MEMBERS_RESP_HDR_LEN;
    for (uint32_t i = 0; i < resp->n_members; i++)
        p = put_rec(p, &resp->members[i]);
    NR_ASSERT((uint32_t)(p - buf) == need);
    return (int)need;
}

int members_resp_decode(const uint8_t *buf, uint32_t len, struct members_resp *out,
                        struct nr_err *err)
{
    struct rd r = {buf, len, 0, "members response"};

    memset(out, 0, sizeof(*out));
    int rc = rd_start(&r, MEMBERS_RESP_HDR_LEN, 0, err);
    if (rc == 0)
        rc = rd_reserved(&r, 2, 8, err);
    if (rc != 0)
        return rc;
    out->n_members = buf[1];
    out->request_id = nr_get_le64(buf + 8);
    out->cluster_id = nr_get_le64(buf + 16);
    out->leader_id = nr_get_le64(buf + 24);
    if (out->n_members > RAFT_MEMBERS_MAX)
        return nr_errf(err, NR_EINVAL, "members response: %" PRIu32 " members; at most %u",
                       out->n_members, RAFT_MEMBERS_MAX);
    if ((uint64_t)out->n_members * NR_MEMBER_REC_HDR_LEN > len - r.at)
        return nr_errf(err, NR_EINVAL,
                       "members response: %" PRIu32 " records need at least %" PRIu32
                       " bytes, %" PRIu32 " left",
                       out->n_members, out->n_members * NR_MEMBER_REC_HDR_LEN, len - r.at);
    for (uint32_t i = 0; i < out->n_members && rc == 0; i++)
        rc = rd_rec(&r, &out->members[i], err);
    if (rc == 0)
        rc = rd_end(&r, err);
    return rc != 0 ? rc : resp_check(out, err);
}

/* ---- member-attributes entry ---- */

int member_attr_encode(const struct nr_member_attr *a, uint8_t *buf, uint32_t cap,
                       struct nr_err *err)
{
    int rc = nr_member_attr_check(a, err);
    if (rc != 0)
        return rc;
    uint32_t name_len = (uint32_t)strlen(a->name);
    uint32_t need =
            MEMBER_ATTR_HDR_LEN + name_len + urls_wire_len(a->client_urls, a->n_client_urls);
    if (need > cap)
        return no_room("member attributes", need, cap, err);
    memset(buf, 0, MEMBER_ATTR_HDR_LEN);
    buf[0] = NR_ENTRY_MEMBER_ATTR;
    buf[1] = MEMBERS_WIRE_VERSION;
    buf[2] = (uint8_t)name_len;
    buf[3] = (uint8_t)a->n_client_urls;
    nr_put_le64(buf + 8, a->id);
    uint8_t *p = put_chars(buf + MEMBER_ATTR_HDR_LEN, a->name, name_len);
    p = put_urls(p, a->client_urls, a->n_client_urls);
    NR_ASSERT((uint32_t)(p - buf) == need);
    return (int)need;
}

int member_attr_decode(const uint8_t *buf, uint32_t len, struct nr_member_attr *out,
                       struct nr_err *err)
{
    struct rd r = {buf, len, 0, "member attributes"};

    memset(out, 0, sizeof(*out));
    int rc = rd_start(&r, MEMBER_ATTR_HDR_LEN, NR_ENTRY_MEMBER_ATTR, err);
    if (rc == 0)
        rc = rd_reserved(&r, 4, 8, err);
    if (rc != 0)
        return rc;
    out->id = nr_get_le64(buf + 8);
    out->n_client_urls = buf[3];
    rc = rd_chars(&r, buf[2], out->name, NR_NAME_MAX, "name", err);
    if (rc == 0)
        rc = rd_urls(&r, out->n_client_urls, out->client_urls, "client URLs", err);
    if (rc == 0)
        rc = rd_end(&r, err);
    return rc != 0 ? rc : nr_member_attr_check(out, err);
}

/* ---- member-record entry ---- */

int member_rec_encode(const struct nr_member *m, uint8_t *buf, uint32_t cap, struct nr_err *err)
{
    int rc = nr_member_check(m, err);
    if (rc != 0)
        return rc;
    uint32_t need = MEMBER_REC_ENTRY_HDR_LEN + rec_len(m);
    if (need > cap)
        return no_room("member record", need, cap, err);
    memset(buf, 0, MEMBER_REC_ENTRY_HDR_LEN);
    buf[0] = NR_ENTRY_MEMBER_REC;
    buf[1] = MEMBERS_WIRE_VERSION;
    uint8_t *p = put_rec(buf + MEMBER_REC_ENTRY_HDR_LEN, m);
    NR_ASSERT((uint32_t)(p - buf) == need);
    return (int)need;
}

int member_rec_decode(const uint8_t *buf, uint32_t len, struct nr_member *out, struct nr_err *err)
{
    struct rd r = {buf, len, 0, "member record"};

    memset(out, 0, sizeof(*out));
    int rc = rd_start(&r, MEMBER_REC_ENTRY_HDR_LEN, NR_ENTRY_MEMBER_REC, err);
    if (rc == 0)
        rc = rd_reserved(&r, 2, 8, err);
    if (rc == 0)
        rc = rd_rec(&r, out, err);
    if (rc == 0)
        rc = rd_end(&r, err);
    return rc != 0 ? rc : nr_member_check(out, err);
}
