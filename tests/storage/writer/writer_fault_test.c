/* writer_fault_test.c - the writer under injected faults (storage_fault.h):
 * the n-th write fails with EIO or ENOSPC and is reported with that errno
 * and its cookie, its bytes never written; the n-th sync fails and its
 * write is reported failed, never durable; a torn write leaves its first
 * bytes on disk and reports EIO; after a failure the file takes no more
 * writes (NR_EREFUSED). Both sync modes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage_fault.h"
#include "unit_check.h"
#include "wal_writer.h"
#include "writer_util.h"

#define BLOCK 4096u

struct rig {
    struct wal_writer *w;
    uint32_t slot;
    int fd;
    uint8_t *buf; /* 8 blocks, block i filled with 0x10 + i */
};

static bool rig_open(struct rig *r, uint32_t mode, bool direct, struct storage_faults *f,
                     const char *name)
{
    struct wal_writer_opts o = {
            .queue_depth = 16, .sync_mode = mode, .direct = direct, .faults = f};
    struct nr_err err;

    memset(r, 0, sizeof(*r));
    r->fd = wt_zero_file(name, 16 * BLOCK, direct ? O_DIRECT : 0);
    r->buf = wt_alloc(8 * BLOCK);
    for (uint32_t i = 0; i < 8; i++)
        memset(r->buf + i * BLOCK, 0x10 + (int)i, BLOCK);
    if (!UNIT_CHECK(r->fd >= 0, "zero file %s", name))
        return false;
    if (!UNIT_CHECK(wal_writer_create(&o, &r->w, &err) == 0, "create: %s", err.msg))
        return false;
    return UNIT_CHECK(wal_writer_add_file(r->w, r->fd, &r->slot, &err) == 0, "add: %s", err.msg);
}

static void rig_close(struct rig *r)
{
    if (r->w != NULL && wal_writer_in_flight(r->w) == 0)
        wal_writer_remove_file(r->w, r->slot);
    wal_writer_destroy(r->w);
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
}

/* Queues blocks [0, n) as n writes (cookies 100 + i) in one flush, or one
 * flush each when one_by_one; collects the results in order. */
static uint32_t rig_write(struct rig *r, uint32_t n, bool one_by_one, int *result)
{
    struct wal_done done[16];
    struct nr_err err;
    uint32_t got = 0;

    for (uint32_t i = 0; i < n; i++) {
        if (!UNIT_CHECK(wal_writer_write(r->w, r->slot, i * BLOCK, r->buf + i * BLOCK, BLOCK,
                                         100 + i, &err) == 0,
                        "write %u: %s", i, err.msg))
            return got;
        if (one_by_one) {
            UNIT_CHECK(wal_writer_flush(r->w, &err) == 0, "flush: %s", err.msg);
            got += wt_collect(r->w, done + got, 1);
        }
    }
    UNIT_CHECK(wal_writer_flush(r->w, &err) == 0, "flush: %s", err.msg);
    got += wt_collect(r->w, done + got, n - got);
    for (uint32_t i = 0; i < got; i++) {
        UNIT_CHECK(done[i].cookie == 100 + i, "completion %u: cookie %llu", i,
                   (unsigned long long)done[i].cookie);
        result[i] = done[i].result;
    }
    return got;
}

static bool block_is(const char *name, uint32_t block, uint32_t from, uint32_t to, int byte)
{
    uint8_t got[BLOCK];

    if (!wt_read_back(name, (uint64_t)block * BLOCK, got, BLOCK))
        return false;
    for (uint32_t i = from; i < to; i++)
        if (got[i] != byte)
            return false;
    return true;
}

static void write_fails(uint32_t mode, bool direct, int errnum)
{
    struct storage_faults f = {.fail_write_nth = 3, .write_errno = errnum};
    struct rig r;
    struct nr_err err;
    int res[8] = {0};
    uint32_t n;

    if (!rig_open(&r, mode, direct, &f, "wfail"))
        goto out;
    n = rig_write(&r, 5, false, res);
    UNIT_CHECK(n == 5, "5 completions (%u)", n);
    UNIT_CHECK(res[0] == 0 && res[1] == 0, "writes 1 and 2 durable (%d, %d)", res[0], res[1]);
    UNIT_CHECK(res[2] == -errnum, "%s direct=%d: write 3 reported with %s (got %d)",
               wal_sync_mode_name(mode), direct, strerror(errnum), res[2]);
    UNIT_CHECK(block_is("wfail", 2, 0, BLOCK, 0), "the failed write's bytes never reach the file");
    UNIT_CHECK(block_is("wfail", 0, 0, BLOCK, 0x10), "write 1's bytes are there");
    UNIT_CHECK(f.n_writes == 5, "the plan counted 5 writes (%llu)", (unsigned long long)f.n_writes);
    UNIT_CHECK(wal_writer_write(r.w, r.slot, 0, r.buf, BLOCK, 9, &err) == NR_EREFUSED,
               "after a failed write the file takes no more writes");
    UNIT_CHECK(strstr(err.msg, strerror(errnum)) != NULL, "the refusal names the error: \"%s\"",
               err.msg);
out:
    rig_close(&r);
}

static void sync_fails(uint32_t mode, bool direct)
{
    struct storage_faults f = {.fail_sync_nth = 2, .sync_errno = EIO};
    struct rig r;
    struct nr_err err;
    int res[8] = {0};
    uint32_t n;

    if (!rig_open(&r, mode, direct, &f, "sfail"))
        goto out;
    n = rig_write(&r, 2, true, res);
    UNIT_CHECK(n == 2, "2 completions (%u)", n);
    UNIT_CHECK(res[0] == 0, "write 1 durable (%d)", res[0]);
    UNIT_CHECK(res[1] == -EIO,
               "%s direct=%d: the 2nd sync fails: reported -EIO, never durable "
               "(got %d)",
               wal_sync_mode_name(mode), direct, res[1]);
    UNIT_CHECK(f.n_syncs == 2, "the plan counted 2 syncs (%llu)", (unsigned long long)f.n_syncs);
    UNIT_CHECK(wal_writer_write(r.w, r.slot, 2 * BLOCK, r.buf, BLOCK, 9, &err) == NR_EREFUSED,
               "after a failed sync the file takes no more writes (never retry an fsync)");
out:
    rig_close(&r);
}

/* The 2nd write is torn at tear_at: those bytes (rounded down to 512 for
 * O_DIRECT, a sector is what a device tears) reach the file, EIO reported. */
static void torn(uint32_t mode, bool direct, uint32_t tear_at)
{
    struct storage_faults f = {.tear_write_nth = 2, .tear_at_byte = tear_at};
    uint32_t kept = direct ? tear_at & ~511u : tear_at;
    struct rig r;
    int res[8] = {0};
    uint32_t n;

    if (!rig_open(&r, mode, direct, &f, "torn"))
        goto out;
    n = rig_write(&r, 2, true, res);
    UNIT_CHECK(n == 2, "2 completions (%u)", n);
    UNIT_CHECK(res[0] == 0, "write 1 durable (%d)", res[0]);
    UNIT_CHECK(res[1] == -EIO, "%s direct=%d: the torn write is reported -EIO (got %d)",
               wal_sync_mode_name(mode), direct, res[1]);
    UNIT_CHECK(block_is("torn", 1, 0, kept, 0x11), "its first %u bytes reached the file", kept);
    UNIT_CHECK(block_is("torn", 1, kept, BLOCK, 0), "bytes from %u on did not", kept);
out:
    rig_close(&r);
}

int main(void)
{
    struct wal_writer_opts o = {.queue_depth = 4, .sync_mode = WAL_SYNC_DSYNC_WRITE};
    struct storage_faults probe = {0};
    struct wal_writer *w = NULL;
    struct nr_err err;

    wt_tmpdir();
    o.faults = &probe;
    if (wal_writer_create(&o, &w, &err) != 0) {
        /* -Dfault_injection=false: the hooks are compiled out. */
        printf("skipped: %s\n", err.msg);
        UNIT_CHECK(err.code == NR_EINVAL, "a plan without the hooks is NR_EINVAL");
        wt_tmpdir_remove();
        return unit_finish();
    }
    wal_writer_destroy(w);
    for (uint32_t mode = WAL_SYNC_DSYNC_WRITE; mode <= WAL_SYNC_LINKED_FSYNC; mode++) {
        for (int direct = 0; direct < 2; direct++) {
            write_fails(mode, direct, EIO);
            write_fails(mode, direct, ENOSPC);
            sync_fails(mode, direct);
            torn(mode, direct, direct ? 1000 : 100);
        }
    }
    wt_tmpdir_remove();
    return unit_finish();
}
