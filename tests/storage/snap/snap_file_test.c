/* snap_file_test.c - snapshot files: round trips of every size class and
 * configuration shape, and every way a file can be damaged or forged, each
 * refused with its own error (code, offset, rule) and never an assertion. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nr_le.h"
#include "snap_file.h"
#include "snap_test_util.h"
#include "unit_check.h"

static char dir[PATH_MAX];

static bool conf_equal(const struct raft_conf *a, const struct raft_conf *b)
{
    return a->n_voters == b->n_voters && a->n_voters_outgoing == b->n_voters_outgoing &&
           a->n_learners == b->n_learners && a->n_learners_next == b->n_learners_next &&
           a->auto_leave == b->auto_leave && memcmp(a->voters, b->voters, a->n_voters * 8) == 0 &&
           memcmp(a->voters_outgoing, b->voters_outgoing, a->n_voters_outgoing * 8) == 0 &&
           memcmp(a->learners, b->learners, a->n_learners * 8) == 0 &&
           memcmp(a->learners_next, b->learners_next, a->n_learners_next * 8) == 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Writes, reads back in pieces of read_max and compares everything. */
static void round_trip(uint64_t data_len, size_t append_chunk, size_t read_max, int shape,
                       uint64_t index, uint64_t term)
{
    struct snap_header h, back;
    struct nr_err err = {0};
    char path[PATH_MAX], expect[PATH_MAX], tmp[PATH_MAX];
    size_t n = 0;
    uint64_t seed = data_len * 31 + append_chunk;

    snap_test_header(&h, index, term, data_len, shape);
    int rc = snap_test_write(dir, &h, seed, append_chunk, NULL, path, sizeof(path), &err);
    if (!UNIT_CHECK(rc == 0, "write %" PRIu64 " bytes: %d %s", data_len, rc, err.msg))
        return;
    snap_file_path(expect, sizeof(expect), dir, term, index, false, NULL);
    snap_file_path(tmp, sizeof(tmp), dir, term, index, true, NULL);
    UNIT_CHECK(strcmp(path, expect) == 0, "path %s, expected %s", path, expect);
    UNIT_CHECK(!exists(tmp), "no %s after the commit", tmp);
    UNIT_CHECK(file_size(path) == SNAP_HEADER_LEN + data_len + SNAP_TRAILER_LEN,
               "size %" PRIu64 " for %" PRIu64 " data bytes", file_size(path), data_len);

    uint8_t *got = malloc(data_len + 1), *want = malloc(data_len + 1);
    NR_ASSERT(got != NULL && want != NULL);
    snap_test_fill(want, data_len, seed, 0);
    rc = snap_test_read(path, SNAP_TEST_CLUSTER, SNAP_TEST_MEMBER, &back, got, data_len + 1,
                        read_max, &n, &err);
    UNIT_CHECK(rc == 0, "read %s: %d %s", path, rc, err.msg);
    UNIT_CHECK(n == data_len && memcmp(got, want, data_len) == 0,
               "data of %" PRIu64 " bytes read back in pieces of %zu (%zu read)", data_len,
               read_max, n);
    UNIT_CHECK(back.cluster_id == h.cluster_id && back.member_id == h.member_id &&
                       back.meta.index == index && back.meta.term == term &&
                       back.data_len == data_len,
               "header fields of %s", path);
    UNIT_CHECK(conf_equal(&back.meta.conf, &h.meta.conf), "configuration shape %d", shape);
    free(got);
    free(want);
    unlink(path);
}

static void test_round_trips(void)
{
    round_trip(0, 1, 4096, 0, 1, 1);
    round_trip(1, 1, 1, 1, 2, 1);
    round_trip(1, 4096, 4096, 3, 3, 2);
    round_trip(SNAP_IO_CHUNK, SNAP_IO_CHUNK, SNAP_IO_CHUNK, 2, 10, 3);
    round_trip(SNAP_IO_CHUNK, 4096, 65536, 0, 11, 3);
    round_trip(SNAP_IO_CHUNK - 1, 7, 1000, 1, 12, 3);
    round_trip(SNAP_IO_CHUNK + 1, SNAP_IO_CHUNK + 1, 4096, 1, 13, 3);
    /* Several MiB: appends larger than a write, so the writer splits them. */
    round_trip(5 * SNAP_IO_CHUNK + 12345, 3 * SNAP_IO_CHUNK, SNAP_IO_CHUNK, 2, 100000, 7);
    round_trip(5 * SNAP_IO_CHUNK + 12345, 65536 + 3, 77777, 0, 100001, 7);
    /* The largest index and term the header takes. */
    round_trip(100, 10, 10, 2, RAFT_INDEX_MAX, RAFT_TERM_MAX);
}

/* Opens path and checks the refusal: code and a piece of the sentence. */
static void expect_refusal(const char *path, uint64_t cid, uint64_t mid, int code, const char *what,
                           const char *why)
{
    struct snap_reader *r = (struct snap_reader *)&r; /* must come back NULL */
    struct nr_err err = {0};
    int rc = snap_reader_open(path, cid, mid, &r, NULL, &err);

    UNIT_CHECK(rc == code && err.code == code, "%s: code %s, expected %s (%s)", why,
               nr_code_name(rc), nr_code_name(code), err.msg);
    UNIT_CHECK(strstr(err.msg, what) != NULL, "%s: \"%s\" not in \"%s\"", why, what, err.msg);
    UNIT_CHECK(rc == 0 || strstr(err.msg, path) != NULL, "%s: the file is named in \"%s\"", why,
               err.msg);
    UNIT_CHECK(rc != 0 ? r == NULL : r != NULL, "%s: a reader only when accepted", why);
    if (rc == 0)
        snap_reader_close(r);
}

/* A fresh copy of a 100-byte snapshot to damage. */
static void fresh_victim(const char *good, char *victim, size_t len)
{
    snprintf(victim, len, "%s/victim", dir);
    int rc = snap_test_copy(good, victim);
    NR_ASSERT(rc == 0);
}

static void test_truncation(const char *good)
{
    char victim[PATH_MAX + 16], what[128];
    const uint64_t full = SNAP_HEADER_LEN + 100 + SNAP_TRAILER_LEN;
    /* Every structural boundary, either side of it. */
    const uint64_t cuts[] = {0,   1,   7,   8,   11,  12,  15,  16,  17,  40,  48,  64,  72, 343,
                             344, 351, 355, 356, 359, 360, 361, 410, 459, 460, 461, 462, 463};

    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        uint64_t at = cuts[i];
        const char *expect = at < SNAP_OFF_CLUSTER_ID ? "shorter than magic, version"
                             : at < SNAP_HEADER_LEN   ? "truncated inside the header"
                                                      : "truncated: the header's data length";

        NR_ASSERT(at < full);
        fresh_victim(good, victim, sizeof(victim));
        NR_ASSERT(truncate(victim, (off_t)at) == 0);
        snprintf(what, sizeof(what), "truncated at byte %" PRIu64, at);
        expect_refusal(victim, 0, 0, NR_ECORRUPT, expect, what);
        char off[64];
        snprintf(off, sizeof(off), "offset %" PRIu64 ":", at < 8 ? 0 : at);
        if (at >= 8)
            expect_refusal(victim, 0, 0, NR_ECORRUPT, off, what);
    }
    /* And one byte too many. */
    fresh_victim(good, victim, sizeof(victim));
    NR_ASSERT(truncate(victim, (off_t)full + 1) == 0);
    expect_refusal(victim, 0, 0, NR_ECORRUPT, "1 bytes after the trailer", "one extra byte");
}

static void flip(const char *good, uint64_t off, unsigned bit, int code, const char *expect,
                 const char *why)
{
    char victim[PATH_MAX + 16];

    fresh_victim(good, victim, sizeof(victim));
    int rc = storage_fault_flip_bit(victim, off, bit);
    UNIT_CHECK(rc == 0, "flip bit %u at %" PRIu64 ": %d", bit, off, rc);
    expect_refusal(victim, 0, 0, code, expect, why);
}

static void test_bit_flips(const char *good)
{
    const uint64_t data_end = SNAP_HEADER_LEN + 100;

    flip(good, 0, 0, NR_ECORRUPT, "offset 0: bad magic", "magic");
    flip(good, 7, 7, NR_ECORRUPT, "bad magic", "magic, last byte");
    flip(good, SNAP_OFF_VERSION, 1, NR_EINVAL, "format version 3", "version");
    flip(good, SNAP_OFF_HEADER_LEN, 2, NR_ECORRUPT, "offset 12: header length 364", "hlen");
    const uint64_t fields[] = {SNAP_OFF_CLUSTER_ID,   SNAP_OFF_MEMBER_ID, SNAP_OFF_INDEX,
                               SNAP_OFF_TERM + 7,     SNAP_OFF_COUNTS,    SNAP_OFF_COUNTS + 13,
                               SNAP_OFF_AUTO_LEAVE,   SNAP_OFF_VOTERS,    SNAP_OFF_LEARNERS_NEXT,
                               SNAP_OFF_DATA_LEN + 7, SNAP_OFF_RESERVED,  SNAP_OFF_HEADER_CRC};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        flip(good, fields[i], 5, NR_ECORRUPT, "offset 356: header crc mismatch", "header field");
    flip(good, SNAP_HEADER_LEN, 0, NR_ECORRUPT, "offset 460: file crc mismatch", "first data");
    flip(good, SNAP_HEADER_LEN + 50, 3, NR_ECORRUPT, "file crc mismatch", "middle data");
    flip(good, data_end - 1, 7, NR_ECORRUPT, "file crc mismatch", "last data byte");
    flip(good, data_end, 0, NR_ECORRUPT, "file crc mismatch", "trailer");
    flip(good, data_end + 3, 7, NR_ECORRUPT, "file crc mismatch", "trailer, last byte");

    /* Every bit of the file: no single flip is ever accepted. */
    char victim[PATH_MAX + 16];
    uint32_t n_accepted = 0, n_unnamed = 0;
    fresh_victim(good, victim, sizeof(victim));
    for (uint64_t off = 0; off < data_end + SNAP_TRAILER_LEN; off++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            struct snap_reader *r;
            struct nr_err err = {0};

            NR_ASSERT(storage_fault_flip_bit(victim, off, bit) == 0);
            if (snap_reader_open(victim, 0, 0, &r, NULL, &err) == 0) {
                n_accepted++;
                snap_reader_close(r);
            } else if (strstr(err.msg, victim) == NULL || strstr(err.msg, "offset ") == NULL) {
                n_unnamed++;
            }
            NR_ASSERT(storage_fault_flip_bit(victim, off, bit) == 0);
        }
    }
    UNIT_CHECK(n_accepted == 0, "%u single-bit flips accepted", n_accepted);
    UNIT_CHECK(n_unnamed == 0, "%u refusals without file and offset", n_unnamed);
    expect_refusal(victim, 0, 0, 0, "", "flipped twice is the original");
}

/* A field rewritten with both CRCs made right again: the range checks. */
static void forge(const char *good, uint64_t off, uint64_t value, size_t width, int code,
                  const char *expect, const char *why)
{
    char victim[PATH_MAX + 16];
    uint8_t b[8];

    fresh_victim(good, victim, sizeof(victim));
    nr_put_le64(b, value);
    int rc = snap_test_forge(victim, off, b, width, true, true);
    NR_ASSERT(rc == 0);
    expect_refusal(victim, 0, 0, code, expect, why);
}

static void test_forged_fields(const char *good)
{
    forge(good, SNAP_OFF_VERSION, 2, 4, NR_EINVAL,
          "offset 8: format version 2; this build "
          "reads version 1",
          "next version");
    forge(good, SNAP_OFF_VERSION, 0, 4, NR_EINVAL, "format version 0", "version 0");
    forge(good, SNAP_OFF_HEADER_LEN, 4096, 4, NR_ECORRUPT, "header length 4096", "hlen 4096");
    forge(good, SNAP_OFF_DATA_LEN, UINT64_MAX, 8, NR_ECORRUPT, "data length 18446744073709551615",
          "data length 2^64-1");
    forge(good, SNAP_OFF_DATA_LEN, UINT64_C(1) << 62, 8, NR_ECORRUPT, "truncated: the header",
          "data length 2^62");
    forge(good, SNAP_OFF_DATA_LEN, 101, 8, NR_ECORRUPT, "needs a file of 101+364 bytes",
          "data length one too many");
    forge(good, SNAP_OFF_DATA_LEN, 99, 8, NR_ECORRUPT, "1 bytes after the trailer",
          "data length one too few");
    forge(good, SNAP_OFF_COUNTS, RAFT_VOTERS_MAX + 1, 4, NR_EINVAL,
          "offset 48: voters count 10 exceeds its maximum 9", "10 voters");
    forge(good, SNAP_OFF_COUNTS, UINT32_MAX, 4, NR_EINVAL, "voters count 4294967295",
          "2^32-1 voters");
    forge(good, SNAP_OFF_COUNTS + 4, RAFT_VOTERS_MAX + 1, 4, NR_EINVAL,
          "offset 52: voters_outgoing count 10", "10 outgoing voters");
    forge(good, SNAP_OFF_COUNTS + 8, RAFT_LEARNERS_MAX + 1, 4, NR_EINVAL,
          "offset 56: learners count 9 exceeds its maximum 8", "9 learners");
    forge(good, SNAP_OFF_COUNTS + 12, 1000, 4, NR_EINVAL, "learners_next count 1000",
          "1000 learners_next");
    forge(good, SNAP_OFF_COUNTS, 4, 4, NR_EINVAL, "offset 96: voters[3] is member ID 0",
          "a counted zero ID");
    forge(good, SNAP_OFF_LEARNERS + 8, 77, 8, NR_EINVAL,
          "learners[1] is 000000000000004d past "
          "the count 1",
          "an ID past the count");
    forge(good, SNAP_OFF_AUTO_LEAVE, 2, 1, NR_EINVAL, "offset 64: auto_leave is 2", "auto 2");
    forge(good, SNAP_OFF_AUTO_LEAVE + 3, 1, 1, NR_EINVAL, "offset 67: reserved byte", "pad");
    forge(good, SNAP_OFF_RESERVED, 1, 4, NR_EINVAL, "offset 352: reserved field", "reserved");
    forge(good, SNAP_OFF_INDEX, RAFT_INDEX_MAX + 1, 8, NR_EINVAL,
          "offset 32: index "
          "4611686018427387905 exceeds RAFT_INDEX_MAX",
          "index 2^62+1");
    forge(good, SNAP_OFF_TERM, UINT64_MAX, 8, NR_EINVAL, "offset 40: term", "term 2^64-1");

    /* A field changed with only the header CRC made right passes: the CRC
     * of a message followed by its own CRC is a constant, so the trailer
     * cannot see a header that was re-signed (snap_file.h). Only the trailer
     * made right: the header CRC refuses it. */
    char victim[PATH_MAX + 16];
    uint8_t b[8];
    fresh_victim(good, victim, sizeof(victim));
    nr_put_le64(b, 12345);
    NR_ASSERT(snap_test_forge(victim, SNAP_OFF_INDEX, b, 8, false, true) == 0);
    expect_refusal(victim, 0, 0, NR_ECORRUPT, "offset 356: header crc mismatch",
                   "trailer re-signed, header not");
}

static void test_ids_and_paths(const char *good)
{
    expect_refusal(good, SNAP_TEST_CLUSTER, SNAP_TEST_MEMBER, 0, "", "matching IDs");
    expect_refusal(good, 0, SNAP_TEST_MEMBER, 0, "", "any cluster");
    expect_refusal(good, SNAP_TEST_CLUSTER, 0, 0, "", "any member");
    expect_refusal(good, SNAP_TEST_CLUSTER + 1, 0, NR_EINVAL,
                   "offset 16: belongs to cluster 81a549bdbfd5c3a8, not this node's cluster "
                   "81a549bdbfd5c3a9",
                   "another cluster");
    expect_refusal(good, 0, 42, NR_EINVAL,
                   "offset 24: belongs to member 96af95420b65e5f5, not this member "
                   "000000000000002a",
                   "another member");
    char p[PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s/missing.snap", dir);
    expect_refusal(p, 0, 0, NR_EINVAL, "cannot open: No such file or directory", "missing");
    expect_refusal(dir, 0, 0, NR_EINVAL, "not a regular file", "a directory");
}

/* The file changes between verification and streaming: the last read
 * says so instead of handing out the bytes. */
static void test_changed_while_streaming(const char *good)
{
    char victim[PATH_MAX + 16];
    struct snap_reader *r;
    struct nr_err err = {0};
    uint8_t buf[64];
    size_t n = 0;

    fresh_victim(good, victim, sizeof(victim));
    int rc = snap_reader_open(victim, 0, 0, &r, NULL, &err);
    if (!UNIT_CHECK(rc == 0, "open: %s", err.msg))
        return;
    NR_ASSERT(storage_fault_flip_bit(victim, SNAP_HEADER_LEN + 90, 1) == 0);
    rc = snap_reader_read(r, buf, 64, &n, &err);
    UNIT_CHECK(rc == 0 && n == 64, "first 64 bytes: %d %zu", rc, n);
    rc = snap_reader_read(r, buf, 64, &n, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && n == 0, "last read: %s %zu", nr_code_name(rc), n);
    UNIT_CHECK(strstr(err.msg, "offset 460: the data changed since it was verified") != NULL, "%s",
               err.msg);
    snap_reader_close(r);
}

static void test_writer_refusals(void)
{
    struct snap_header h;
    struct snap_writer *w = (struct snap_writer *)&w;
    struct nr_err err = {0};
    char tmp[PATH_MAX], fin[PATH_MAX];
    uint8_t buf[16] = {0};

    snap_test_header(&h, 5, 2, 10, 0);
    h.meta.conf.n_voters = RAFT_VOTERS_MAX + 1;
    int rc = snap_writer_open(dir, &h, NULL, &w, &err);
    UNIT_CHECK(rc == NR_EINVAL && w == NULL && strstr(err.msg, "exceed 9 voters"), "%s", err.msg);
    snap_test_header(&h, RAFT_INDEX_MAX + 1, 2, 10, 0);
    rc = snap_writer_open(dir, &h, NULL, &w, &err);
    UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, "exceeds RAFT_INDEX_MAX"), "%s", err.msg);
    snap_test_header(&h, 5, 2, 10, 0);
    h.meta.conf.voters[1] = 0;
    rc = snap_writer_open(dir, &h, NULL, &w, &err);
    UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, "voters[1] is member ID 0"), "%s", err.msg);
    snap_file_path(tmp, sizeof(tmp), dir, 2, 5, true, NULL);
    UNIT_CHECK(!exists(tmp), "a refused header creates no file");

    /* Past data_len: refused, nothing written; a short commit: refused. */
    snap_test_header(&h, 5, 2, 10, 0);
    NR_ASSERT(snap_writer_open(dir, &h, NULL, &w, &err) == 0);
    UNIT_CHECK(exists(tmp), "the temporary file exists while writing");
    rc = snap_writer_append(w, buf, 11, &err);
    UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, "appending 11 bytes after 0 would pass"), "%s",
               err.msg);
    rc = snap_writer_append(w, buf, 9, &err);
    UNIT_CHECK(rc == 0, "9 of 10: %s", err.msg);
    rc = snap_writer_commit(w, NULL, 0, &err);
    UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, "commit after 9 of 10 data bytes"), "%s",
               err.msg);
    snap_file_path(fin, sizeof(fin), dir, 2, 5, false, NULL);
    UNIT_CHECK(!exists(tmp) && !exists(fin), "a short commit leaves nothing");

    NR_ASSERT(snap_writer_open(dir, &h, NULL, &w, &err) == 0);
    snap_writer_abort(w);
    UNIT_CHECK(!exists(tmp) && !exists(fin), "an abort leaves nothing");
    snap_writer_abort(NULL);

    char far[PATH_MAX + 8];
    memset(far, 'd', sizeof(far) - 1);
    far[sizeof(far) - 1] = '\0';
    rc = snap_writer_open(far, &h, NULL, &w, &err);
    UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, "path longer than"), "long dir: %s",
               nr_code_name(rc));
}

int main(void)
{
    struct snap_header h;
    struct nr_err err = {0};
    char good[PATH_MAX];

    if (snap_test_mkdtemp(dir, sizeof(dir), "file") != 0) {
        printf("cannot create a temporary directory\n0 passed, 1 failed\n");
        return 1;
    }
    test_round_trips();
    snap_test_header(&h, 77, 5, 100, 1);
    int rc = snap_test_write(dir, &h, 1, 33, NULL, good, sizeof(good), &err);
    if (UNIT_CHECK(rc == 0, "the victim snapshot: %s", err.msg)) {
        test_truncation(good);
        test_bit_flips(good);
        test_forged_fields(good);
        test_ids_and_paths(good);
        test_changed_while_streaming(good);
    }
    test_writer_refusals();
    snap_test_rmdir(dir);
    return unit_finish();
}
