/* wire_test.c - the client protocol codec (client/client_wire.h): round
 * trips of every op and status at their bounds, one case per rejection
 * rule (a valid encoding with one field broken must be refused with a
 * sentence naming that field), and every truncation of every valid
 * encoding. Decoding reads from a heap copy of exactly the bytes given, so
 * the sanitizer build catches a read past len. Prints `N passed, M failed`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_wire.h"
#include "nr_le.h"
#include "unit_check.h"

static uint8_t big_key[NR_KV_KEY_MAX];
static uint8_t big_val[NR_KV_VAL_MAX];

static const struct nr_kv_cmd cmds[] = {
    {NR_KV_PUT, 0, 1, 1, (const uint8_t *)"k1", 2, (const uint8_t *)"vvv", 3},
    {NR_KV_PUT, 0, UINT64_MAX, UINT64_MAX, (const uint8_t *)"k", 1, NULL, 0},
    {NR_KV_PUT, 0, 42, 7, big_key, NR_KV_KEY_MAX, big_val, NR_KV_VAL_MAX},
    {NR_KV_GET, 0, 42, 8, (const uint8_t *)"key", 3, NULL, 0},
    {NR_KV_GET, NR_KV_F_SERIALIZABLE, 42, 9, big_key, NR_KV_KEY_MAX, NULL, 0},
    {NR_KV_DEL, 0, 0x8000000000000000u, 1, (const uint8_t *)"x", 1, NULL, 0},
};

static const struct nr_kv_resp resps[] = {
    {NR_KV_PUT, NR_KV_OK, 1, 1, 17, 0, 0, 0, NULL, 0},
    {NR_KV_GET, NR_KV_OK, 2, 3, 16, 0, 0, 0, (const uint8_t *)"hello", 5},
    {NR_KV_GET, NR_KV_OK, 2, 4, 16, 0, 0, 0, big_val, NR_KV_VAL_MAX},
    {NR_KV_GET, NR_KV_NOT_FOUND, 2, 5, 0, 0, 0, 0, NULL, 0},
    {NR_KV_DEL, NR_KV_NOT_FOUND, 2, 6, 18, 0, 0, 0, NULL, 0},
    {NR_KV_PUT, NR_KV_NOT_LEADER, 2, 7, 0, 0xabcd, 0x7f000001, 2379, NULL, 0},
    {NR_KV_PUT, NR_KV_NOT_LEADER, 2, 8, 0, 0, 0, 0, NULL, 0},
    {NR_KV_PUT, NR_KV_ERROR, 2, 9, 0, 0, 0, 0, (const uint8_t *)"refused: why", 12},
    {NR_KV_DEL, NR_KV_BUSY, 2, 10, 0, 0, 0, 0, (const uint8_t *)"queue full", 10},
    {NR_KV_PUT, NR_KV_NOSPACE, 2, 11, 0, 0, 0, 0, NULL, 0},
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))
#define N_RESPS (sizeof(resps) / sizeof(resps[0]))

static uint8_t enc[NR_KV_CMD_LEN_MAX + 16];

static int decode_copy(bool is_resp, const uint8_t *buf, uint32_t len, struct nr_kv_cmd *c,
                       struct nr_kv_resp *r, struct nr_err *err)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    memcpy(copy, buf, len);
    int rc = is_resp ? nr_kv_resp_decode(copy, len, r, err) : nr_kv_cmd_decode(copy, len, c, err);
    /* Pointers into copy are not used after this. */
    free(copy);
    return rc;
}

static bool same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static void test_cmd_roundtrips(void)
{
    for (size_t i = 0; i < N_CMDS; i++) {
        struct nr_err err = {0};
        struct nr_kv_cmd d;
        int len = nr_kv_cmd_encode(&cmds[i], enc, sizeof(enc), &err);
        UNIT_CHECK(len == (int)nr_kv_cmd_len(&cmds[i]), "cmd %zu: encode %d (%s)", i, len, err.msg);
        if (len < 0)
            continue;
        int rc = nr_kv_cmd_decode(enc, (uint32_t)len, &d, &err);
        UNIT_CHECK(rc == 0, "cmd %zu: decode: %s", i, err.msg);
        UNIT_CHECK(d.op == cmds[i].op && d.flags == cmds[i].flags &&
                       d.client_id == cmds[i].client_id && d.seq == cmds[i].seq &&
                       d.key_len == cmds[i].key_len && d.val_len == cmds[i].val_len &&
                       same_bytes(d.key, cmds[i].key, d.key_len) &&
                       same_bytes(d.val, cmds[i].val, d.val_len) && d.key == enc + 32,
                   "cmd %zu: fields survive the round trip", i);
        int small = nr_kv_cmd_encode(&cmds[i], enc, (uint32_t)len - 1, &err);
        UNIT_CHECK(small == NR_EINVAL && strstr(err.msg, "exceed the buffer") != NULL,
                   "cmd %zu: a buffer one byte short is refused: %s", i, err.msg);
    }
}

static void test_resp_roundtrips(void)
{
    for (size_t i = 0; i < N_RESPS; i++) {
        struct nr_err err = {0};
        struct nr_kv_resp d;
        int len = nr_kv_resp_encode(&resps[i], enc, sizeof(enc), &err);
        UNIT_CHECK(len == (int)nr_kv_resp_len(&resps[i]), "resp %zu: encode %d (%s)", i, len,
                   err.msg);
        if (len < 0)
            continue;
        int rc = nr_kv_resp_decode(enc, (uint32_t)len, &d, &err);
        UNIT_CHECK(rc == 0, "resp %zu: decode: %s", i, err.msg);
        const struct nr_kv_resp *w = &resps[i];
        UNIT_CHECK(d.op == w->op && d.status == w->status && d.client_id == w->client_id &&
                       d.seq == w->seq && d.revision == w->revision &&
                       d.leader_id == w->leader_id && d.leader_ipv4 == w->leader_ipv4 &&
                       d.leader_port == w->leader_port && d.val_len == w->val_len &&
                       same_bytes(d.val, w->val, d.val_len),
                   "resp %zu: fields survive the round trip", i);
    }
}

/* One broken field in a valid encoding: base (index into cmds or resps),
 * the field's offset and width, the value written there, a change of the
 * length handed to the decoder, and a piece of the sentence expected. */
struct reject_case {
    bool is_resp;
    unsigned base;
    unsigned off;
    unsigned width; /* 0: no field written */
    uint64_t value;
    int len_delta;
    const char *want;
};

static const struct reject_case rejects[] = {
    {false, 0, 0, 1, 2, 0, "version 2 is not 1"},
    {false, 0, 1, 1, 0, 0, "op 0 is not put"},
    {false, 0, 1, 1, 4, 0, "op 4 is not put"},
    {false, 0, 2, 1, 0x02, 0, "unknown bits 0x02"},
    {false, 0, 2, 1, 0x80, 0, "unknown bits 0x80"},
    {false, 0, 2, 1, NR_KV_F_SERIALIZABLE, 0, "serializable is for get only, not put"},
    {false, 5, 2, 1, NR_KV_F_SERIALIZABLE, 0, "serializable is for get only, not del"},
    {false, 0, 3, 1, 1, 0, "reserved byte 3"},
    {false, 0, 4, 4, 0, 0, "key_len 0 is outside 1..1024"},
    {false, 0, 4, 4, NR_KV_KEY_MAX + 1, 0, "key_len 1025 is outside"},
    {false, 0, 4, 4, UINT32_MAX, 0, "key_len 4294967295 is outside"},
    {false, 0, 8, 4, NR_KV_VAL_MAX + 1, 0, "val_len 65537 exceeds 65536"},
    {false, 0, 8, 4, UINT32_MAX, 0, "val_len 4294967295 exceeds"},
    {false, 0, 1, 1, NR_KV_GET, 0, "val_len 3 must be 0 for get"},
    {false, 0, 1, 1, NR_KV_DEL, 0, "val_len 3 must be 0 for del"},
    {false, 0, 12, 4, 1, 0, "reserved bytes 12..15"},
    {false, 0, 16, 8, 0, 0, "client_id must be non-zero"},
    {false, 0, 24, 8, 0, 0, "seq must be non-zero"},
    {false, 0, 4, 4, 3, 0, "key_len 3 and val_len 3 make 38"},
    {false, 0, 8, 4, 2, 0, "key_len 2 and val_len 2 make 36"},
    {false, 0, 0, 0, 0, 1, "38 bytes, but"},
    {false, 0, 0, 0, 0, -1, "36 bytes, but"},
    {false, 1, 0, 0, 0, -2, "31 bytes are shorter than the 32-byte header"},
    {true, 1, 0, 1, 0, 0, "version 0 is not 1"},
    {true, 1, 1, 1, 0, 0, "op 0 is not put"},
    {true, 1, 1, 1, 9, 0, "op 9 is not put"},
    {true, 1, 2, 1, 6, 0, "status 6 is outside 0..5"},
    {true, 1, 3, 1, 0xff, 0, "reserved byte 3"},
    {true, 1, 46, 2, 1, 0, "reserved bytes 46..47"},
    {true, 1, 4, 4, NR_KV_VAL_MAX + 1, 0, "val_len 65537 exceeds"},
    {true, 1, 1, 1, NR_KV_PUT, 0, "val_len 5 must be 0 for put with status ok"},
    {true, 1, 2, 1, NR_KV_NOT_FOUND, 0, "val_len 5 must be 0 for get with status not_found"},
    {true, 1, 2, 1, NR_KV_NOT_LEADER, 0, "val_len 5 must be 0 for get with status not_leader"},
    {true, 1, 8, 8, 0, 0, "client_id must be non-zero"},
    {true, 1, 16, 8, 0, 0, "seq must be non-zero"},
    {true, 1, 32, 8, 5, 0, "leader_id, leader_ipv4 and leader_port must be 0 with status ok"},
    {true, 1, 40, 4, 5, 0, "must be 0 with status ok"},
    {true, 1, 44, 2, 5, 0, "must be 0 with status ok"},
    {true, 5, 44, 2, 0, 0, "both set or both 0"},
    {true, 5, 40, 4, 0, 0, "both set or both 0"},
    {true, 1, 4, 4, 6, 0, "val_len 6 make 54"},
    {true, 1, 0, 0, 0, 1, "54 bytes, but"},
    {true, 0, 0, 0, 0, -1, "shorter than the 48-byte header"},
};

static void put_field(uint8_t *p, unsigned width, uint64_t v)
{
    if (width == 1)
        p[0] = (uint8_t)v;
    else if (width == 2)
        nr_put_le16(p, (uint16_t)v);
    else if (width == 4)
        nr_put_le32(p, (uint32_t)v);
    else if (width == 8)
        nr_put_le64(p, v);
}

static void test_rejects(void)
{
    for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
        const struct reject_case *rc = &rejects[i];
        struct nr_err err = {0};
        struct nr_kv_cmd c;
        struct nr_kv_resp r;
        int len = rc->is_resp ? nr_kv_resp_encode(&resps[rc->base], enc, sizeof(enc), &err)
                              : nr_kv_cmd_encode(&cmds[rc->base], enc, sizeof(enc), &err);
        NR_ASSERT(len > 0);
        enc[len] = 0; /* the byte a longer length hands over */
        put_field(enc + rc->off, rc->width, rc->value);
        int got = decode_copy(rc->is_resp, enc, (uint32_t)(len + rc->len_delta), &c, &r, &err);
        UNIT_CHECK(got == NR_EINVAL && err.code == NR_EINVAL && strstr(err.msg, rc->want) != NULL,
                   "reject %zu: want NR_EINVAL and \"%s\", got %s \"%s\"", i, rc->want,
                   nr_code_name(got), err.msg);
        UNIT_CHECK(strncmp(err.msg, rc->is_resp ? "client response: " : "client request: ", 16) == 0,
                   "reject %zu: the sentence names the message: \"%s\"", i, err.msg);
    }
}

/* The encoder applies the same rules to our own callers. */
static void test_encode_rejects(void)
{
    struct nr_err err = {0};
    struct nr_kv_cmd c = cmds[0];
    c.key_len = 0;
    UNIT_CHECK(nr_kv_cmd_encode(&c, enc, sizeof(enc), &err) == NR_EINVAL &&
                   strstr(err.msg, "key_len 0") != NULL, "encode refuses key_len 0: %s", err.msg);
    c = cmds[3];
    c.val_len = 1;
    c.val = (const uint8_t *)"x";
    UNIT_CHECK(nr_kv_cmd_encode(&c, enc, sizeof(enc), &err) == NR_EINVAL &&
                   strstr(err.msg, "must be 0 for get") != NULL, "encode refuses a get's value: %s",
               err.msg);
    struct nr_kv_resp r = resps[0];
    r.leader_port = 1;
    UNIT_CHECK(nr_kv_resp_encode(&r, enc, sizeof(enc), &err) == NR_EINVAL,
               "encode refuses a leader hint with status ok: %s", err.msg);
}

/* Every proper prefix of every valid encoding is refused (for the two of
 * 64 KiB: every prefix up to 2 KiB past the header and those ending in
 * the last 2 KiB, the rest every 61 bytes, to keep the copies quick). */
static void test_truncations(void)
{
    unsigned n_bad = 0, n_tried = 0;

    for (size_t k = 0; k < N_CMDS + N_RESPS; k++) {
        bool is_resp = k >= N_CMDS;
        struct nr_err err = {0};
        int len = is_resp ? nr_kv_resp_encode(&resps[k - N_CMDS], enc, sizeof(enc), &err)
                          : nr_kv_cmd_encode(&cmds[k], enc, sizeof(enc), &err);
        NR_ASSERT(len > 0);
        for (int cut = 0; cut < len; cut += (cut > 2200 && cut < len - 2048) ? 61 : 1) {
            struct nr_kv_cmd c;
            struct nr_kv_resp r;
            err = (struct nr_err){0};
            int rc = decode_copy(is_resp, enc, (uint32_t)cut, &c, &r, &err);
            n_tried++;
            if (rc != NR_EINVAL || err.msg[0] == '\0') {
                if (n_bad++ < 5)
                    printf("encoding %zu cut at %d of %d: %s\n", k, cut, len, nr_code_name(rc));
            }
        }
    }
    UNIT_CHECK(n_bad == 0 && n_tried > 8000, "%u of %u truncations accepted", n_bad, n_tried);
}

static void test_names(void)
{
    UNIT_CHECK(strcmp(nr_kv_op_name(NR_KV_DEL), "del") == 0 && strcmp(nr_kv_op_name(0), "unknown") == 0,
               "op names");
    UNIT_CHECK(strcmp(nr_kv_status_name(NR_KV_NOT_LEADER), "not_leader") == 0 &&
                   strcmp(nr_kv_status_name(6), "unknown") == 0, "status names");
}

int main(void)
{
    for (uint32_t i = 0; i < NR_KV_KEY_MAX; i++)
        big_key[i] = (uint8_t)(i * 7);
    for (uint32_t i = 0; i < NR_KV_VAL_MAX; i++)
        big_val[i] = (uint8_t)(i * 13 + 1);
    test_cmd_roundtrips();
    test_resp_roundtrips();
    test_rejects();
    test_encode_rejects();
    test_truncations();
    test_names();
    return unit_finish();
}
