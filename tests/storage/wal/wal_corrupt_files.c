/* wal_corrupt_files.c - damage to whole segment files written by the WAL:
 * a missing segment in the middle or at the front, a segment whose first
 * index does not follow, a bad batch in a segment that others follow, a
 * shortened file, a torn header on the segment being started. Part of
 * storage-wal-corrupt. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_check.h"
#include "wal_format.h"
#include "wal_test_util.h"

int wal_corrupt_files_main(void);

struct setup {
    char dir[128];
    struct wal_recovery rec; /* the segments as written */
};

static int write_log(struct setup *s, uint64_t n)
{
    struct wal_opts o;
    struct wtu t;
    struct nr_err err = {0};
    static uint8_t buf[16][200];
    struct raft_entry e[16];

    memset(&s->rec, 0, sizeof(s->rec));
    snprintf(s->dir, sizeof(s->dir), "%s", wtu_tmpdir());
    wtu_opts(&o, s->dir);
    if (wtu_open(&t, &o, NULL, &err) != 0) {
        fprintf(stderr, "write_log: %s\n", err.msg);
        return -1;
    }
    for (uint64_t i = 1; i <= n; i += 16) {
        uint32_t k = 0;
        for (; k < 16 && i + k <= n; k++) {
            wtu_fill(buf[k], 200, i + k, 1);
            e[k] = (struct raft_entry){1, i + k, 0, 200, buf[k]};
        }
        struct raft_hard_state hs = {1, 1, i > 1 ? i - 1 : 0};
        if (wtu_append(&t, e, k, &hs, NULL, &err) != 0 || wal_submit(t.wal, &err) < -3) {
            fprintf(stderr, "write_log: %s\n", err.msg);
            return -1;
        }
    }
    int rc = wtu_drain(&t, &err);
    wtu_close(&t);
    struct wal_replay_opts ro = {s->dir, WTU_CLUSTER, WTU_MEMBER, WTU_GROUP};
    if (rc == 0)
        rc = wal_replay(&ro, &s->rec, &err);
    if (rc != 0)
        fprintf(stderr, "write_log: %s\n", err.msg);
    return rc;
}

static int replay(const struct setup *s, struct wal_recovery *r, struct nr_err *err)
{
    struct wal_replay_opts ro = {s->dir, WTU_CLUSTER, WTU_MEMBER, WTU_GROUP};
    return wal_replay(&ro, r, err);
}

static void done(struct setup *s)
{
    wal_recovery_free(&s->rec);
    wtu_rmdir(s->dir);
}

static const char *name(const struct wal_seg_info *si)
{
    return strrchr(si->path, '/') + 1;
}

static bool has(const char *msg, const char *s)
{
    return strstr(msg, s) != NULL;
}

static void reencode(const char *path, void (*edit)(struct wal_seg_hdr *h))
{
    uint8_t blk[WAL_BLOCK];
    struct wal_seg_hdr h;
    FILE *f = fopen(path, "r+b");

    if (f == NULL || fread(blk, 1, WAL_BLOCK, f) != WAL_BLOCK)
        exit(2);
    wal_seg_hdr_decode(blk, WAL_BLOCK, &h);
    edit(&h);
    wal_seg_hdr_encode(blk, &h);
    fseek(f, 0, SEEK_SET);
    fwrite(blk, 1, WAL_BLOCK, f);
    fclose(f);
}

static void shift_first(struct wal_seg_hdr *h)
{
    h->first_index += 5;
}

static void test_missing_middle_and_front(void)
{
    struct setup s = {0};
    struct wal_recovery r;
    struct nr_err err = {0};

    int wrc = write_log(&s, 1000);
    if (!UNIT_CHECK(wrc == 0 && s.rec.n_used >= 4, "setup: %u segments", s.rec.n_used))
        return;
    unlink(s.rec.segs[1].path);
    int rc = replay(&s, &r, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, name(&s.rec.segs[2])) &&
               has(err.msg, name(&s.rec.segs[0])) && has(err.msg, "missing"),
               "a missing middle segment refused, naming its neighbours: %s", err.msg);
    unlink(s.rec.segs[0].path);
    rc = replay(&s, &r, &err);
    char want[64];
    snprintf(want, sizeof(want), "entries 1..%" PRIu64 " are missing",
             s.rec.segs[2].first_index - 1);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, want) && has(err.msg, name(&s.rec.segs[2])),
               "a missing front segment (no snapshot covers it) refused: %s", err.msg);
    done(&s);
}

static void test_out_of_order(void)
{
    struct setup s = {0};
    struct wal_recovery r;
    struct nr_err err = {0};

    if (!UNIT_CHECK(write_log(&s, 700) == 0 && s.rec.n_used >= 3, "setup"))
        return;
    char dup[300];
    snprintf(dup, sizeof(dup), "%s/g%08x-spare-00000000000000ff.wal", s.dir, WTU_GROUP);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "cp %s %s", s.rec.segs[1].path, dup);
    if (system(cmd) != 0)
        exit(2);
    int rc = replay(&s, &r, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, "missing or duplicated") &&
               has(err.msg, "g00000007-spare-00000000000000ff.wal"),
               "a duplicated segment refused: %s", err.msg);
    unlink(dup);
    reencode(s.rec.segs[2].path, shift_first);
    rc = replay(&s, &r, &err);
    char want[96];
    snprintf(want, sizeof(want), "starts at index %" PRIu64, s.rec.segs[2].first_index + 5);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, name(&s.rec.segs[2])) && has(err.msg, want) &&
               has(err.msg, "out of order"), "a segment that does not follow refused: %s",
               err.msg);
    done(&s);
}

static void test_bad_inside_and_short(void)
{
    struct setup s = {0};
    struct wal_recovery r;
    struct nr_err err = {0};

    if (!UNIT_CHECK(write_log(&s, 700) == 0 && s.rec.n_used >= 3, "setup"))
        return;
    /* The last batch of a segment that later segments follow. */
    const struct wal_seg_info *si = &s.rec.segs[1];
    wtu_poke(si->path, si->end_off - WAL_BLOCK + 8, -1, 1);
    int rc = replay(&s, &r, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, name(si)) && has(err.msg, "offset") &&
               has(err.msg, "bad batch") && has(err.msg, name(&s.rec.segs[2])),
               "a bad last batch in a non-final segment refused: %s", err.msg);
    wtu_poke(si->path, si->end_off - WAL_BLOCK + 8, -1, 1);
    if (truncate(s.rec.segs[0].path, 40000) != 0)
        exit(2);
    rc = replay(&s, &r, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, name(&s.rec.segs[0])) &&
               has(err.msg, "the file has 40000 bytes"), "a shortened segment refused: %s",
               err.msg);
    done(&s);
}

static void test_torn_header(void)
{
    struct setup s = {0};
    struct wal_recovery r;
    struct nr_err err = {0};

    if (!UNIT_CHECK(write_log(&s, 300) == 0 && s.rec.n_segs > s.rec.n_used, "setup"))
        return;
    const struct wal_seg_info *spare = &s.rec.segs[s.rec.n_used];
    wtu_poke(spare->path, 0, 0x5a, 40); /* a header that never finished */
    int rc = replay(&s, &r, &err);
    UNIT_CHECK(rc == 0 && r.is_torn && has(r.note, "torn segment header") &&
               r.last_index == 300, "a torn header on the segment being started is a torn "
               "tail: %s", rc == 0 ? r.note : err.msg);
    if (rc == 0) {
        wal_recovery_free(&r);
        struct wal_opts o;
        struct wtu t;
        wtu_opts(&o, s.dir);
        rc = wtu_open(&t, &o, NULL, &err);
        UNIT_CHECK(rc == 0, "open resets it to a spare: %s", err.msg);
        if (rc == 0)
            wtu_close(&t);
        rc = replay(&s, &r, &err);
        UNIT_CHECK(rc == 0 && !r.is_torn && r.last_index == 300, "and it stays clean");
        if (rc == 0)
            wal_recovery_free(&r);
    }
    done(&s);
}

int wal_corrupt_files_main(void)
{
    test_missing_middle_and_front();
    test_out_of_order();
    test_bad_inside_and_short();
    test_torn_header();
    return 0;
}
