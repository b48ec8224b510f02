/* client_wire.c - the client protocol's codec (client_wire.h). Encoding and
 * decoding share one set of rules per message (check_cmd, check_resp), so
 * what we send is exactly what we accept; decoding adds the reserved fields
 * and the exact length. Decoded bytes come from outside: every field is
 * checked before anything is derived from it, and nothing is read past
 * buf + len. */
#include "client_wire.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "nr_le.h"

const char *nr_kv_op_name(unsigned op)
{
    switch (op) {
    case NR_KV_PUT:
        return "put";
    case NR_KV_GET:
        return "get";
    case NR_KV_DEL:
        return "del";
    default:
        return "unknown";
    }
}

const char *nr_kv_status_name(unsigned status)
{
    static const char *const names[] = {
        [NR_KV_OK] = "ok",       [NR_KV_NOT_FOUND] = "not_found", [NR_KV_NOT_LEADER] = "not_leader",
        [NR_KV_ERROR] = "error", [NR_KV_BUSY] = "busy",           [NR_KV_NOSPACE] = "nospace",
    };
    return status < sizeof(names) / sizeof(names[0]) ? names[status] : "unknown";
}

static bool op_is_known(unsigned op)
{
    return op >= NR_KV_PUT && op <= NR_KV_DEL;
}

/* A response carries bytes only for a GET's value or an error's sentence. */
static bool resp_may_carry_bytes(unsigned op, unsigned status)
{
    return (op == NR_KV_GET && status == NR_KV_OK) || status == NR_KV_ERROR ||
           status == NR_KV_BUSY || status == NR_KV_NOSPACE;
}

/* The rules on a request's fields, for encoding and decoding alike. */
static int check_cmd(const char *what, const struct nr_kv_cmd *c, struct nr_err *err)
{
    if (!op_is_known(c->op))
        return nr_errf(err, NR_EINVAL, "%s: op %u is not put (1), get (2) or del (3)", what,
                       (unsigned)c->op);
    if ((c->flags & ~NR_KV_F_KNOWN) != 0)
        return nr_errf(err, NR_EINVAL, "%s: flags 0x%02x has unknown bits 0x%02x", what,
                       (unsigned)c->flags, (unsigned)(c->flags & ~NR_KV_F_KNOWN));
    if ((c->flags & NR_KV_F_SERIALIZABLE) != 0 && c->op != NR_KV_GET)
        return nr_errf(err, NR_EINVAL, "%s: flag serializable is for get only, not %s", what,
                       nr_kv_op_name(c->op));
    if (c->key_len < 1 || c->key_len > NR_KV_KEY_MAX)
        return nr_errf(err, NR_EINVAL, "%s: key_len %" PRIu32 " is outside 1..%u", what,
                       c->key_len, NR_KV_KEY_MAX);
    if (c->val_len > NR_KV_VAL_MAX)
        return nr_errf(err, NR_EINVAL, "%s: val_len %" PRIu32 " exceeds %u", what, c->val_len,
                       NR_KV_VAL_MAX);
    if (c->val_len != 0 && c->op != NR_KV_PUT)
        return nr_errf(err, NR_EINVAL, "%s: val_len %" PRIu32 " must be 0 for %s", what,
                       c->val_len, nr_kv_op_name(c->op));
    if (c->client_id == 0)
        return nr_errf(err, NR_EINVAL, "%s: client_id must be non-zero", what);
    if (c->seq == 0)
        return nr_errf(err, NR_EINVAL, "%s: seq must be non-zero", what);
    return 0;
}

/* The rules on a response's fields, for encoding and decoding alike. */
static int check_resp(const char *what, const struct nr_kv_resp *r, struct nr_err *err)
{
    if (!op_is_known(r->op))
        return nr_errf(err, NR_EINVAL, "%s: op %u is not put (1), get (2) or del (3)", what,
                       (unsigned)r->op);
    if (r->status > NR_KV_NOSPACE)
        return nr_errf(err, NR_EINVAL, "%s: status %u is outside 0..%u", what,
                       (unsigned)r->status, (unsigned)NR_KV_NOSPACE);
    if (r->val_len > NR_KV_VAL_MAX)
        return nr_errf(err, NR_EINVAL, "%s: val_len %" PRIu32 " exceeds %u", what, r->val_len,
                       NR_KV_VAL_MAX);
    if (r->val_len != 0 && !resp_may_carry_bytes(r->op, r->status))
        return nr_errf(err, NR_EINVAL, "%s: val_len %" PRIu32 " must be 0 for %s with status %s",
                       what, r->val_len, nr_kv_op_name(r->op), nr_kv_status_name(r->status));
    if (r->client_id == 0)
        return nr_errf(err, NR_EINVAL, "%s: client_id must be non-zero", what);
    if (r->seq == 0)
        return nr_errf(err, NR_EINVAL, "%s: seq must be non-zero", what);
    if (r->status != NR_KV_NOT_LEADER &&
        (r->leader_id != 0 || r->leader_ipv4 != 0 || r->leader_port != 0))
        return nr_errf(err, NR_EINVAL,
                       "%s: leader_id, leader_ipv4 and leader_port must be 0 with status %s",
                       what, nr_kv_status_name(r->status));
    if ((r->leader_ipv4 == 0) != (r->leader_port == 0))
        return nr_errf(err, NR_EINVAL,
                       "%s: leader_ipv4 0x%08" PRIx32 " and leader_port %u must be both set "
                       "or both 0",
                       what, r->leader_ipv4, (unsigned)r->leader_port);
    return 0;
}

uint32_t nr_kv_cmd_len(const struct nr_kv_cmd *c)
{
    return NR_KV_CMD_HDR_LEN + c->key_len + c->val_len;
}

uint32_t nr_kv_resp_len(const struct nr_kv_resp *r)
{
    return NR_KV_RESP_HDR_LEN + r->val_len;
}

int nr_kv_cmd_encode(const struct nr_kv_cmd *c, uint8_t *buf, uint32_t cap, struct nr_err *err)
{
    int rc = check_cmd("client request", c, err);
    if (rc != 0)
        return rc;
    /* Bounded by check_cmd: at most NR_KV_CMD_LEN_MAX, no overflow. */
    uint32_t len = nr_kv_cmd_len(c);
    if (len > cap)
        return nr_errf(err, NR_EINVAL, "client request: %" PRIu32 " bytes exceed the buffer of %" PRIu32,
                       len, cap);
    buf[0] = (uint8_t)NR_CLIENT_WIRE_VERSION;
    buf[1] = c->op;
    buf[2] = c->flags;
    buf[3] = 0;
    nr_put_le32(buf + 4, c->key_len);
    nr_put_le32(buf + 8, c->val_len);
    nr_put_le32(buf + 12, 0);
    nr_put_le64(buf + 16, c->client_id);
    nr_put_le64(buf + 24, c->seq);
    memcpy(buf + NR_KV_CMD_HDR_LEN, c->key, c->key_len);
    if (c->val_len > 0)
        memcpy(buf + NR_KV_CMD_HDR_LEN + c->key_len, c->val, c->val_len);
    return (int)len;
}

int nr_kv_resp_encode(const struct nr_kv_resp *r, uint8_t *buf, uint32_t cap, struct nr_err *err)
{
    int rc = check_resp("client response", r, err);
    if (rc != 0)
        return rc;
    uint32_t len = nr_kv_resp_len(r);
    if (len > cap)
        return nr_errf(err, NR_EINVAL,
                       "client response: %" PRIu32 " bytes exceed the buffer of %" PRIu32, len, cap);
    buf[0] = (uint8_t)NR_CLIENT_WIRE_VERSION;
    buf[1] = r->op;
    buf[2] = r->status;
    buf[3] = 0;
    nr_put_le32(buf + 4, r->val_len);
    nr_put_le64(buf + 8, r->client_id);
    nr_put_le64(buf + 16, r->seq);
    nr_put_le64(buf + 24, r->revision);
    nr_put_le64(buf + 32, r->leader_id);
    nr_put_le32(buf + 40, r->leader_ipv4);
    nr_put_le16(buf + 44, r->leader_port);
    nr_put_le16(buf + 46, 0);
    if (r->val_len > 0)
        memcpy(buf + NR_KV_RESP_HDR_LEN, r->val, r->val_len);
    return (int)len;
}

/* What requests and responses share: the length against the header, the
 * version, reserved byte 3. */
static int check_header(const char *what, const uint8_t *buf, uint32_t len, uint32_t hdr_len,
                        struct nr_err *err)
{
    if (len < hdr_len)
        return nr_errf(err, NR_EINVAL, "%s: %" PRIu32 " bytes are shorter than the %u-byte header",
                       what, len, hdr_len);
    if (buf[0] != NR_CLIENT_WIRE_VERSION)
        return nr_errf(err, NR_EINVAL, "%s: version %u is not %u", what, (unsigned)buf[0],
                       NR_CLIENT_WIRE_VERSION);
    if (buf[3] != 0)
        return nr_errf(err, NR_EINVAL, "%s: reserved byte 3 is 0x%02x, not 0", what,
                       (unsigned)buf[3]);
    return 0;
}

int nr_kv_cmd_decode(const uint8_t *buf, uint32_t len, struct nr_kv_cmd *c, struct nr_err *err)
{
    const char *what = "client request";
    int rc = check_header(what, buf, len, NR_KV_CMD_HDR_LEN, err);

    if (rc != 0)
        return rc;
    if (nr_get_le32(buf + 12) != 0)
        return nr_errf(err, NR_EINVAL, "%s: reserved bytes 12..15 are 0x%08" PRIx32 ", not 0",
                       what, nr_get_le32(buf + 12));
    struct nr_kv_cmd d = {
        .op = buf[1],
        .flags = buf[2],
        .key_len = nr_get_le32(buf + 4),
        .val_len = nr_get_le32(buf + 8),
        .client_id = nr_get_le64(buf + 16),
        .seq = nr_get_le64(buf + 24),
    };
    rc = check_cmd(what, &d, err);
    if (rc != 0)
        return rc;
    /* Both lengths are bounded above, so the sum cannot overflow. */
    uint32_t want = nr_kv_cmd_len(&d);
    if (len != want)
        return nr_errf(err, NR_EINVAL,
                       "%s: %" PRIu32 " bytes, but the header and key_len %" PRIu32
                       " and val_len %" PRIu32 " make %" PRIu32,
                       what, len, d.key_len, d.val_len, want);
    d.key = buf + NR_KV_CMD_HDR_LEN;
    d.val = d.val_len > 0 ? d.key + d.key_len : NULL;
    *c = d;
    return 0;
}

int nr_kv_resp_decode(const uint8_t *buf, uint32_t len, struct nr_kv_resp *r, struct nr_err *err)
{
    const char *what = "client response";
    int rc = check_header(what, buf, len, NR_KV_RESP_HDR_LEN, err);

    if (rc != 0)
        return rc;
    if (nr_get_le16(buf + 46) != 0)
        return nr_errf(err, NR_EINVAL, "%s: reserved bytes 46..47 are 0x%04x, not 0", what,
                       (unsigned)nr_get_le16(buf + 46));
    struct nr_kv_resp d = {
        .op = buf[1],
        .status = buf[2],
        .val_len = nr_get_le32(buf + 4),
        .client_id = nr_get_le64(buf + 8),
        .seq = nr_get_le64(buf + 16),
        .revision = nr_get_le64(buf + 24),
        .leader_id = nr_get_le64(buf + 32),
        .leader_ipv4 = nr_get_le32(buf + 40),
        .leader_port = nr_get_le16(buf + 44),
    };
    rc = check_resp(what, &d, err);
    if (rc != 0)
        return rc;
    uint32_t want = nr_kv_resp_len(&d);
    if (len != want)
        return nr_errf(err, NR_EINVAL,
                       "%s: %" PRIu32 " bytes, but the header and val_len %" PRIu32 " make %" PRIu32,
                       what, len, d.val_len, want);
    d.val = d.val_len > 0 ? buf + NR_KV_RESP_HDR_LEN : NULL;
    *r = d;
    return 0;
}
