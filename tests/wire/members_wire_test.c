/* members_wire_test.c - member names and URLs, MEMBERS_REQ/RESP and the
 * member entries through members_wire: round trips at the bounds, the
 * rules of names and URLs (a table), each decoder rule, and the entry
 * classes. Prints `N passed, M failed`. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "members_wire.h"
#include "nr_le.h"
#include "unit_check.h"
#include "wire_samples.h"

static uint8_t buf[MEMBERS_RESP_LEN_MAX + 16];
static struct members_resp resp, resp_out;

static bool member_equal(const struct nr_member *a, const struct nr_member *b)
{
    if (a->id != b->id || strcmp(a->name, b->name) != 0 || a->n_peer_urls != b->n_peer_urls ||
        a->n_client_urls != b->n_client_urls || a->is_learner != b->is_learner)
        return false;
    for (uint32_t i = 0; i < a->n_peer_urls; i++)
        if (strcmp(a->peer_urls[i], b->peer_urls[i]) != 0)
            return false;
    for (uint32_t i = 0; i < a->n_client_urls; i++)
        if (strcmp(a->client_urls[i], b->client_urls[i]) != 0)
            return false;
    return true;
}

/* ---- names and URLs ---- */

static void test_names(void)
{
    static const struct {
        const char *name;
        bool allow_empty;
        const char *substr; /* NULL: valid */
    } rows[] = {
            {"infra1", false, NULL},
            {"a", false, NULL},
            {"~!@#$%^&*()_+-.:;<>?/[]{}|`'\"\\", false, NULL},
            {"", true, NULL},
            {"", false, "name is empty"},
            {"has space", false, "character 4 is 0x20"},
            {"a=b", false, "\"a...\": character 2 is 0x3d"},
            {"a,b", false, "character 2 is 0x2c"},
            {"tab\there", false, "character 4 is 0x09"},
            {"del\x7f", false, "character 4 is 0x7f"},
            {"hi\xc3\xa9", false, "character 3 is 0xc3"},
            {"123456789012345678901234567890123456789012345678901234567890123", false, NULL},
            {"1234567890123456789012345678901234567890123456789012345678901234", false,
             "longer than 63 characters"},
    };
    for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct nr_err err = {0};
        int rc = nr_name_check(rows[i].name, rows[i].allow_empty, &err);
        if (rows[i].substr == NULL)
            UNIT_CHECK(rc == 0, "name \"%s\" should be valid: %s", rows[i].name, err.msg);
        else
            ws_expect_refusal(rows[i].name, rc, &err, NR_EINVAL, rows[i].substr);
    }
}

static void test_urls(void)
{
    static const struct {
        const char *url;
        const char *substr; /* NULL: valid */
    } rows[] = {
            {"udp://10.0.0.1:2380", NULL},
            {"udp://255.255.255.255:65535", NULL},
            {"udp://10.0.0.1:0", "port is not a decimal 1..65535"},
            {"http://10.0.0.1:2380", "does not start with udp://"},
            {"udp://host:2380", "octet 1"},
            {"udp://10.0.0.1:2380/x", "after the port"},
            {"udp://10.0.0.01:2380", "octet 4"},
            {"", "has 0 characters"},
            {"udp://10.0.0.1:2380 ", "character 20 is 0x20"},
            {"udp://10.0.0.1:2380\x01", "character 20 is 0x01"},
            {"udp://10.0.0.1:2380123456789012345678901234567890123456789012345",
             "port is not a decimal 1..65535"},
    };
    for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct nr_member m;
        struct nr_err err = {0};
        ws_member(&m, 7, 2, 0, false);
        snprintf(m.peer_urls[1], NR_URL_LEN_MAX, "%s", rows[i].url);
        int rc = nr_member_check(&m, &err);
        if (rows[i].substr == NULL) {
            UNIT_CHECK(rc == 0, "url \"%s\" should be valid: %s", rows[i].url, err.msg);
            continue;
        }
        ws_expect_refusal(rows[i].url, rc, &err, NR_EINVAL, rows[i].substr);
        UNIT_CHECK(strstr(err.msg, "member 0000000000000007 peer URL 1") != NULL,
                   "url \"%s\": the sentence names the member and URL: \"%s\"", rows[i].url,
                   err.msg);
    }
}

static void test_member_rules(void)
{
    struct nr_member m;
    struct nr_err err = {0};

    ws_member(&m, 0, 1, 0, false);
    ws_expect_refusal("member 0", nr_member_check(&m, &err), &err, NR_EINVAL, "member ID 0");
    ws_member(&m, 9, 0, 0, false);
    ws_expect_refusal("no peer URL", nr_member_check(&m, &err), &err, NR_EINVAL,
                      "peer: 0 URLs; want 1..4");
    ws_member(&m, 9, 1, 4, false);
    m.n_client_urls = 5;
    ws_expect_refusal("5 client URLs", nr_member_check(&m, &err), &err, NR_EINVAL,
                      "client: 5 URLs; want 0..4");
    ws_member(&m, 9, 3, 0, false);
    strcpy(m.peer_urls[2], m.peer_urls[0]);
    ws_expect_refusal("repeated URL", nr_member_check(&m, &err), &err, NR_EINVAL,
                      "peer URL 2 repeats URL 0");
    ws_member(&m, 9, 1, 0, false);
    memset(m.name, 'x', sizeof(m.name)); /* no NUL */
    ws_expect_refusal("unterminated name", nr_member_check(&m, &err), &err, NR_EINVAL,
                      "longer than 63");
    ws_member(&m, 9, 1, 0, false);
    memset(m.peer_urls[0], '1', sizeof(m.peer_urls[0]));
    ws_expect_refusal("unterminated URL", nr_member_check(&m, &err), &err, NR_EINVAL,
                      "has 64 characters");
}

/* ---- round trips ---- */

static void test_round_trips(void)
{
    struct nr_err err = {0};

    struct members_req req, req_out;
    ws_req(&req);
    int n = members_req_encode(&req, buf, sizeof(buf), &err);
    UNIT_CHECK(n > 0 && n <= (int)MEMBERS_REQ_LEN_MAX, "req encode %d: %s", n, err.msg);
    UNIT_CHECK(members_req_decode(buf, (uint32_t)n, &req_out, &err) == 0 &&
                       req_out.request_id == req.request_id &&
                       strcmp(req_out.name, req.name) == 0 &&
                       req_out.n_peer_urls == NR_MEMBER_URLS_MAX &&
                       strcmp(req_out.peer_urls[3], req.peer_urls[3]) == 0,
               "req round trip: %s", err.msg);
    ws_expect_refusal("req one byte short", members_req_encode(&req, buf, (uint32_t)n - 1, &err),
                      &err, NR_EBUSY, "do not fit");

    for (uint32_t count = 0; count <= RAFT_MEMBERS_MAX; count += 8) {
        ws_resp(&resp, count);
        n = members_resp_encode(&resp, buf, sizeof(buf), &err);
        if (!UNIT_CHECK(n > 0 && n <= (int)MEMBERS_RESP_LEN_MAX, "resp %u encode %d: %s", count, n,
                        err.msg))
            continue;
        int rc = members_resp_decode(buf, (uint32_t)n, &resp_out, &err);
        bool same = rc == 0 && resp_out.n_members == count &&
                    resp_out.request_id == resp.request_id &&
                    resp_out.cluster_id == resp.cluster_id && resp_out.leader_id == resp.leader_id;
        for (uint32_t i = 0; same && i < count; i++)
            same = member_equal(&resp.members[i], &resp_out.members[i]);
        UNIT_CHECK(same, "resp with %u members round trip: %s", count, err.msg);
    }

    struct nr_member_attr a, a_out;
    for (uint32_t k = 0; k <= NR_MEMBER_URLS_MAX; k++) {
        ws_attr(&a, k);
        n = member_attr_encode(&a, buf, sizeof(buf), &err);
        UNIT_CHECK(n > 0 && buf[0] == NR_ENTRY_MEMBER_ATTR &&
                           nr_entry_class(buf, (uint32_t)n) == NR_ENTRY_CLASS_MEMBER_ATTR &&
                           member_attr_decode(buf, (uint32_t)n, &a_out, &err) == 0 &&
                           a_out.id == a.id && strcmp(a_out.name, a.name) == 0 &&
                           a_out.n_client_urls == k &&
                           (k == 0 || strcmp(a_out.client_urls[k - 1], a.client_urls[k - 1]) == 0),
                   "attr with %u URLs: %s", k, err.msg);
    }

    struct nr_member m, m_out;
    static const uint32_t shapes[][3] = {{1, 0, 0}, {4, 4, 1}, {2, 1, 0}};
    for (unsigned i = 0; i < 3; i++) {
        ws_member(&m, 1 + i, shapes[i][0], shapes[i][1], shapes[i][2]);
        n = member_rec_encode(&m, buf, sizeof(buf), &err);
        UNIT_CHECK(n > 0 && nr_entry_class(buf, (uint32_t)n) == NR_ENTRY_CLASS_MEMBER_REC &&
                           member_rec_decode(buf, (uint32_t)n, &m_out, &err) == 0 &&
                           member_equal(&m, &m_out),
                   "member record %u: %s", i, err.msg);
    }
}

/* ---- decoder rules ---- */

static void test_decode_refusals(void)
{
    struct nr_err err = {0};
    struct members_req req, req_out;

    /* The request: version, 4-char name "abcd", one URL. */
    ws_req(&req);
    strcpy(req.name, "abcd");
    req.n_peer_urls = 1;
    strcpy(req.peer_urls[0], "udp://1.2.3.4:5");
    int n = members_req_encode(&req, buf, sizeof(buf), &err);
    static const struct {
        const char *what;
        uint32_t off, width;
        uint64_t value;
        const char *substr;
    } req_rows[] = {
            {"req version", 0, 1, 7, "members request: version 7; this node speaks 1"},
            {"req empty name", 1, 1, 0, "peer URLs of 97 bytes; at most 63"},
            {"req name longer than sent", 1, 1, 5, "peer URLs of 117 bytes; at most 63"},
            {"req name of 64", 1, 1, 64, "asker's name of 64 bytes; at most 63"},
            {"req no URL", 2, 1, 0, "16 bytes after its end at 20"},
            {"req 5 URLs", 2, 1, 5, "5 peer URLs; at most 4"},
            {"req 2 URLs, 1 sent", 2, 1, 2, "peer URLs needs 1 bytes at offset 36, 0 left"},
            {"req reserved", 5, 1, 1, "reserved byte 5 is 1"},
            {"req request ID 0", 8, 8, 0, "request ID 0"},
            {"req name with =", 17, 1, '=', "character 2 is 0x3d"},
            {"req name with NUL", 18, 1, 0, "asker's name at offset 16 holds a NUL byte"},
            {"req URL length 0", 20, 1, 0, "peer URLs 0 is empty"},
            {"req URL length 16", 20, 1, 16, "peer URLs needs 16 bytes at offset 21, 15 left"},
            {"req URL length 14", 20, 1, 14, "1 bytes after its end at 35"},
            {"req URL bad", 27, 1, 'x', "asker's peer URL 0: url \"udp://x.2.3.4:5\""},
    };
    for (unsigned i = 0; i < sizeof(req_rows) / sizeof(req_rows[0]); i++) {
        (void)members_req_encode(&req, buf, sizeof(buf), &err);
        if (req_rows[i].width == 1)
            buf[req_rows[i].off] = (uint8_t)req_rows[i].value;
        else
            nr_put_le64(buf + req_rows[i].off, req_rows[i].value);
        ws_expect_refusal(req_rows[i].what, members_req_decode(buf, (uint32_t)n, &req_out, &err),
                          &err, NR_EINVAL, req_rows[i].substr);
    }
    req_out = req;
    req_out.name[0] = '\0';
    ws_expect_refusal("req encode without a name",
                      members_req_encode(&req_out, buf, sizeof(buf), &err), &err, NR_EINVAL,
                      "members request: asker's name is empty");
    (void)members_req_encode(&req, buf, sizeof(buf), &err);
    ws_expect_refusal("req short", members_req_decode(buf, 15, &req_out, &err), &err, NR_EINVAL,
                      "15 bytes, shorter than the 16-byte header");

    /* The response: two members. Record 0 starts at 32. */
    ws_resp(&resp, 2);
    n = members_resp_encode(&resp, buf, sizeof(buf), &err);
    static const struct {
        const char *what;
        uint32_t off, width;
        uint64_t value;
        const char *substr;
    } resp_rows[] = {
            {"resp version", 0, 1, 0, "members response: version 0"},
            {"resp 33 members", 1, 1, 33, "33 members; at most 32"},
            {"resp 32 members, 2 sent", 1, 1, 32, "member record header needs 12 bytes"},
            {"resp 3 members, 2 sent", 1, 1, 3, "member record header needs 12 bytes"},
            {"resp 1 member, 2 sent", 1, 1, 1, "bytes after its end"},
            {"resp reserved", 7, 1, 1, "reserved byte 7 is 1"},
            {"resp request ID 0", 8, 8, 0, "request ID 0000000000000000"},
            {"resp cluster 0", 16, 8, 0, "cluster ID 0000000000000000"},
    };
    for (unsigned i = 0; i < sizeof(resp_rows) / sizeof(resp_rows[0]); i++) {
        (void)members_resp_encode(&resp, buf, sizeof(buf), &err);
        if (resp_rows[i].width == 1)
            buf[resp_rows[i].off] = (uint8_t)resp_rows[i].value;
        else
            nr_put_le64(buf + resp_rows[i].off, resp_rows[i].value);
        ws_expect_refusal(resp_rows[i].what, members_resp_decode(buf, (uint32_t)n, &resp_out, &err),
                          &err, NR_EINVAL, resp_rows[i].substr);
    }
    /* Record rules on a response with one unstarted learner: record 0 at
     * 32, no name, one peer URL of 25 characters, no client URL. */
    ws_resp(&resp, 1);
    ws_member(&resp.members[0], 3, 1, 0, false);
    n = members_resp_encode(&resp, buf, sizeof(buf), &err);
    UNIT_CHECK(n == 32 + 12 + 26, "a one-member response is %d bytes", n);
    static const struct {
        const char *what;
        uint32_t off, width;
        uint64_t value;
        const char *substr;
    } rec_rows[] = {
            {"record count beyond the bytes", 1, 1, 4, "4 records need at least 48 bytes, 38 left"},
            {"record member ID 0", 32, 8, 0, "record 0: member: member ID 0"},
            {"record flags", 32 + 11, 1, 3, "flags 0x03, known 0x01"},
            {"record 5 client URLs", 32 + 10, 1, 5, "5 client URLs; at most 4"},
            {"record 1 client URL, none sent", 32 + 10, 1, 1,
             "client URLs needs 1 bytes at offset 70"},
            {"record name longer than sent", 32 + 8, 1, 30,
             "member name needs 30 bytes at offset 44, 26 left"},
            {"record URL not udp", 32 + 12 + 1, 1, 'U',
             "record 0: member 0000000000000003 peer URL 0: "
             "url \"Udp://"},
    };
    for (unsigned i = 0; i < sizeof(rec_rows) / sizeof(rec_rows[0]); i++) {
        (void)members_resp_encode(&resp, buf, sizeof(buf), &err);
        if (rec_rows[i].width == 1)
            buf[rec_rows[i].off] = (uint8_t)rec_rows[i].value;
        else
            nr_put_le64(buf + rec_rows[i].off, rec_rows[i].value);
        ws_expect_refusal(rec_rows[i].what, members_resp_decode(buf, (uint32_t)n, &resp_out, &err),
                          &err, NR_EINVAL, rec_rows[i].substr);
    }
    (void)members_resp_encode(&resp, buf, sizeof(buf), &err);
    buf[32 + 9] = 0; /* no peer URL, and its bytes gone: well-formed, but against the rules */
    ws_expect_refusal("record without a peer URL", members_resp_decode(buf, 44, &resp_out, &err),
                      &err, NR_EINVAL, "record 0: member 0000000000000003 peer: 0 URLs; want 1..4");
    UNIT_CHECK(members_resp_decode(buf, 44, &resp_out, &err) != 0 || resp_out.n_members == 0,
               "refused responses leave no members behind");

    /* Entries: their first byte, version and reserved bytes. */
    struct nr_member_attr a, a_out;
    ws_attr(&a, 1);
    n = member_attr_encode(&a, buf, sizeof(buf), &err);
    buf[0] = NR_ENTRY_MEMBER_REC;
    ws_expect_refusal("attr with the record's tag",
                      member_attr_decode(buf, (uint32_t)n, &a_out, &err), &err, NR_EINVAL,
                      "member attributes: first byte 0xa2, want 0xa1");
    buf[0] = NR_ENTRY_MEMBER_ATTR;
    buf[1] = 2;
    ws_expect_refusal("attr version 2", member_attr_decode(buf, (uint32_t)n, &a_out, &err), &err,
                      NR_EINVAL, "version 2");
    buf[1] = 1;
    buf[4] = 1;
    ws_expect_refusal("attr reserved", member_attr_decode(buf, (uint32_t)n, &a_out, &err), &err,
                      NR_EINVAL, "reserved byte 4");
    a.name[0] = '\0';
    ws_expect_refusal("attr without a name", member_attr_encode(&a, buf, sizeof(buf), &err), &err,
                      NR_EINVAL, "name is empty");
    a.id = 0;
    ws_expect_refusal("attr of member 0", member_attr_encode(&a, buf, sizeof(buf), &err), &err,
                      NR_EINVAL, "member ID 0");

    struct nr_member m, m_out;
    ws_member(&m, 5, 1, 1, false);
    n = member_rec_encode(&m, buf, sizeof(buf), &err);
    buf[0] = NR_ENTRY_MEMBER_ATTR;
    ws_expect_refusal("record with the attr's tag",
                      member_rec_decode(buf, (uint32_t)n, &m_out, &err), &err, NR_EINVAL,
                      "member record: first byte 0xa1, want 0xa2");
    buf[0] = NR_ENTRY_MEMBER_REC;
    buf[7] = 3;
    ws_expect_refusal("record reserved", member_rec_decode(buf, (uint32_t)n, &m_out, &err), &err,
                      NR_EINVAL, "reserved byte 7 is 3");
    buf[7] = 0;
    ws_expect_refusal("record cut", member_rec_decode(buf, (uint32_t)n - 1, &m_out, &err), &err,
                      NR_EINVAL, "member record: client URLs needs");
    ws_expect_refusal("record header only", member_rec_decode(buf, 8, &m_out, &err), &err,
                      NR_EINVAL, "member record header needs 12 bytes at offset 8, 0 left");
}

static void test_entry_class(void)
{
    static const struct {
        uint8_t first;
        uint32_t len;
        enum nr_entry_class want;
    } rows[] = {
            {0, 0, NR_ENTRY_CLASS_EMPTY},
            {NR_CLIENT_WIRE_VERSION, 32, NR_ENTRY_CLASS_CLIENT_CMD},
            {0xA1, 16, NR_ENTRY_CLASS_MEMBER_ATTR},
            {0xA2, 8, NR_ENTRY_CLASS_MEMBER_REC},
            {0, 1, NR_ENTRY_CLASS_UNKNOWN},
            {2, 1, NR_ENTRY_CLASS_UNKNOWN},
            {0xA3, 1, NR_ENTRY_CLASS_UNKNOWN},
            {0xFF, 9, NR_ENTRY_CLASS_UNKNOWN},
    };
    for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint8_t data[1] = {rows[i].first};
        UNIT_CHECK(nr_entry_class(data, rows[i].len) == rows[i].want,
                   "entry starting 0x%02x, %u bytes: class %d, want %d", rows[i].first, rows[i].len,
                   nr_entry_class(data, rows[i].len), rows[i].want);
    }
}

int main(void)
{
    test_names();
    test_urls();
    test_member_rules();
    test_round_trips();
    test_decode_refusals();
    test_entry_class();
    return unit_finish();
}
