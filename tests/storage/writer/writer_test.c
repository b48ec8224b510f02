/* writer_test.c - the io_uring WAL writer (storage/wal_writer.c): durable
 * round trips in both sync modes, buffered and O_DIRECT, from plain and
 * registered buffers; completions in
 * queue order per file; registered buffers come and go in the writer's 16
 * places (several WALs share one writer); a full ring is NR_EBUSY; misaligned O_DIRECT and
 * bad slots are NR_EINVAL; AUTO picks a mode and leaves no probe file; a
 * short write is continued (RLIMIT_FSIZE cuts it) and its final error
 * reported with the cookie. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_check.h"
#include "wal_writer.h"
#include "writer_util.h"

static struct wal_writer *make(uint32_t depth, uint32_t mode, bool direct)
{
    struct wal_writer_opts o = {
            .queue_depth = depth, .sync_mode = mode, .direct = direct, .probe_dir = wt_tmpdir()};
    struct wal_writer *w = NULL;
    struct nr_err err;
    int rc = wal_writer_create(&o, &w, &err);

    UNIT_CHECK(rc == 0, "wal_writer_create(depth %u, %s, direct %d): %s", depth,
               wal_sync_mode_name(mode), direct, rc == 0 ? "" : err.msg);
    return rc == 0 ? w : NULL;
}

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(seed >> 56);
    }
}

/* Writes 24 batches of mixed sizes (aligned when direct) to one file,
 * several in flight at once, and reads every byte back. */
static void round_trip(uint32_t mode, bool direct, bool fixed)
{
    enum { N = 24, FILE_LEN = 4 << 20 };
    struct wal_writer *w = make(8, mode, direct);
    struct wal_done done[WT_DONE_MAX];
    struct nr_err err;
    uint8_t *src = wt_alloc(FILE_LEN), *got = wt_alloc(FILE_LEN);
    uint64_t seed = 42, off = 0;
    uint32_t slot, n_done = 0, n_queued = 0;
    int fd = wt_zero_file("rt", FILE_LEN, direct ? O_DIRECT : 0);

    if (w == NULL || !UNIT_CHECK(fd >= 0, "zero file"))
        goto out;
    if (!UNIT_CHECK(wal_writer_add_file(w, fd, &slot, &err) == 0, "add_file: %s", err.msg))
        goto out;
    fill(src, FILE_LEN, 7);
    if (fixed) { /* writes from a registered buffer go out WRITE_FIXED */
        struct iovec iov = {.iov_base = src, .iov_len = FILE_LEN};
        int rc = wal_writer_register_buffers(w, &iov, 1, &err);

        if (rc == NR_EREFUSED) {
            printf("registered buffers: skipped, %s\n", err.msg);
            goto out;
        }
        UNIT_CHECK(rc == 0, "register_buffers: %s", err.msg);
    }
    while (n_queued < N) {
        uint32_t len = direct ? (uint32_t)(1 + unit_below(&seed, 64)) * 512
                              : (uint32_t)(1 + unit_below(&seed, 40000));
        int rc = wal_writer_write(w, slot, off, src + off, len, 1000 + n_queued, &err);

        if (rc == NR_EBUSY) { /* back off: flush, take completions */
            UNIT_CHECK(wal_writer_flush(w, &err) == 0, "flush: %s", err.msg);
            n_done += wt_collect(w, done + n_done, 1);
            continue;
        }
        if (!UNIT_CHECK(rc == 0, "write %u: %s", n_queued, err.msg))
            goto out;
        off += len;
        n_queued++;
        if (n_queued % 3 == 0)
            UNIT_CHECK(wal_writer_flush(w, &err) == 0, "flush: %s", err.msg);
    }
    UNIT_CHECK(wal_writer_flush(w, &err) == 0, "flush: %s", err.msg);
    n_done += wt_collect(w, done + n_done, N - n_done);
    UNIT_CHECK(n_done == N, "%s direct=%d: %u of %u completions", wal_sync_mode_name(mode), direct,
               n_done, N);
    for (uint32_t i = 0; i < n_done; i++) {
        UNIT_CHECK(done[i].cookie == 1000 + i, "completion %u has cookie %llu, want %u", i,
                   (unsigned long long)done[i].cookie, 1000 + i);
        UNIT_CHECK(done[i].result == 0, "completion %u result %d", i, done[i].result);
    }
    UNIT_CHECK(wal_writer_in_flight(w) == 0, "nothing in flight after reaping all");
    UNIT_CHECK(wt_read_back("rt", 0, got, FILE_LEN), "read back");
    UNIT_CHECK(memcmp(got, src, off) == 0,
               "%s direct=%d fixed=%d: the %llu bytes written "
               "read back",
               wal_sync_mode_name(mode), direct, fixed, (unsigned long long)off);
    UNIT_CHECK(got[off] == 0 && got[FILE_LEN - 1] == 0, "bytes past the writes stay zero");
    wal_writer_remove_file(w, slot);
out:
    if (fd >= 0)
        close(fd);
    wal_writer_destroy(w);
    free(src);
    free(got);
}

/* Two files, interleaved; on each, a 1 MiB write first and small ones after
 * (their CQEs tend to arrive first): completions keep queue order per file. */
static void ordering(uint32_t mode)
{
    enum { PER_FILE = 12 };
    struct wal_writer *w = make(32, mode, false);
    struct wal_done done[WT_DONE_MAX];
    struct nr_err err;
    uint8_t *buf = wt_alloc(1 << 20);
    uint32_t slot[2], n;
    uint64_t next[2] = {0, 0};
    int fd[2] = {wt_zero_file("ord0", 4 << 20, 0), wt_zero_file("ord1", 4 << 20, 0)};

    if (w == NULL || fd[0] < 0 || fd[1] < 0)
        goto out;
    for (int f = 0; f < 2; f++)
        UNIT_CHECK(wal_writer_add_file(w, fd[f], &slot[f], &err) == 0, "add: %s", err.msg);
    for (uint32_t i = 0; i < PER_FILE; i++) {
        for (uint32_t f = 0; f < 2; f++) {
            uint32_t len = i == 0 ? 1u << 20 : 100;
            uint64_t off = (1u << 20) + i * 4096u;

            UNIT_CHECK(wal_writer_write(w, slot[f], i == 0 ? 0 : off, buf, len,
                                        ((uint64_t)f << 32) | i, &err) == 0,
                       "write: %s", err.msg);
        }
    }
    UNIT_CHECK(wal_writer_in_flight(w) == 2 * PER_FILE, "in flight counts queued writes (%u)",
               wal_writer_in_flight(w));
    UNIT_CHECK(wal_writer_flush(w, &err) == 0, "flush: %s", err.msg);
    n = wt_collect(w, done, 2 * PER_FILE);
    UNIT_CHECK(n == 2 * PER_FILE, "%u completions of %u", n, 2 * PER_FILE);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t f = (uint32_t)(done[i].cookie >> 32), seq = (uint32_t)done[i].cookie;

        if (!UNIT_CHECK(f < 2, "cookie file %u", f))
            break;
        UNIT_CHECK(seq == next[f], "%s: file %u completion %u, want %llu (queue order)",
                   wal_sync_mode_name(mode), f, seq, (unsigned long long)next[f]);
        UNIT_CHECK(done[i].result == 0, "result %d", done[i].result);
        next[f] = seq + 1;
    }
    for (int f = 0; f < 2; f++)
        wal_writer_remove_file(w, slot[f]);
out:
    for (int f = 0; f < 2; f++)
        if (fd[f] >= 0)
            close(fd[f]);
    wal_writer_destroy(w);
    free(buf);
}

/* depth 4: a fifth queued write is NR_EBUSY with a sentence; after the
 * four are reaped a write is taken again. */
static void full_ring(void)
{
    struct wal_writer *w = make(4, WAL_SYNC_DSYNC_WRITE, false);
    struct wal_done done[8];
    struct nr_err err;
    uint8_t buf[64] = {1};
    uint32_t slot;
    int fd = wt_zero_file("busy", 1 << 16, 0);
    int rc;

    if (w == NULL || fd < 0 || wal_writer_add_file(w, fd, &slot, &err) != 0)
        goto out;
    for (uint32_t i = 0; i < 4; i++)
        UNIT_CHECK(wal_writer_write(w, slot, i * 64u, buf, 64, i, &err) == 0, "write %u", i);
    memset(&err, 0, sizeof(err));
    rc = wal_writer_write(w, slot, 256, buf, 64, 4, &err);
    UNIT_CHECK(rc == NR_EBUSY && err.code == NR_EBUSY, "a full ring is NR_EBUSY (got %d)", rc);
    UNIT_CHECK(strstr(err.msg, "4 records") != NULL, "the sentence names the depth: \"%s\"",
               err.msg);
    UNIT_CHECK(wal_writer_flush(w, &err) == 0, "flush: %s", err.msg);
    UNIT_CHECK(wt_collect(w, done, 4) == 4, "four completions");
    UNIT_CHECK(wal_writer_write(w, slot, 256, buf, 64, 4, &err) == 0, "taken after reaping");
    UNIT_CHECK(wt_collect(w, done, 1) == 1 && done[0].cookie == 4 && done[0].result == 0,
               "wait submits a queued write and it completes");
    UNIT_CHECK(wal_writer_wait(w, &err) == 0, "wait with nothing in flight returns");
    wal_writer_remove_file(w, slot);
out:
    if (fd >= 0)
        close(fd);
    wal_writer_destroy(w);
}

/* 16 places shared by every caller: all or none of a call's buffers are
 * taken, a freed place is taken again, and a write from a buffer that got
 * a freed place reads back. */
static void buffer_places(void)
{
    enum { N = 17, LEN = 4096 };
    struct wal_writer *w = make(4, WAL_SYNC_DSYNC_WRITE, true);
    struct wal_done done;
    struct iovec iov[N];
    struct nr_err err;
    uint8_t *mem = wt_alloc(N * LEN), *got = wt_alloc(LEN);
    uint32_t slot;
    int fd = wt_zero_file("places", 1 << 16, O_DIRECT), rc;

    for (uint32_t i = 0; i < N; i++)
        iov[i] = (struct iovec){mem + i * LEN, LEN};
    fill(mem, N * LEN, 11);
    if (w == NULL || !UNIT_CHECK(fd >= 0, "zero file"))
        goto out;
    rc = wal_writer_register_buffers(w, iov, 10, &err);
    if (rc == NR_EREFUSED) {
        printf("buffer places: skipped, %s\n", err.msg);
        goto out;
    }
    UNIT_CHECK(rc == 0, "10 buffers: %s", err.msg);
    UNIT_CHECK(wal_writer_register_buffers(w, iov + 10, 7, &err) == NR_EBUSY,
               "7 more with 6 places free is NR_EBUSY");
    UNIT_CHECK(wal_writer_register_buffers(w, iov + 10, 6, &err) == 0,
               "the 6 that fit: %s", err.msg);
    UNIT_CHECK(wal_writer_register_buffers(w, iov + 16, 1, &err) == NR_EBUSY,
               "a 17th is NR_EBUSY (\"%s\")", err.msg);
    UNIT_CHECK(wal_writer_register_buffers(w, iov, 0, &err) == NR_EINVAL, "none is NR_EINVAL");
    UNIT_CHECK(wal_writer_register_buffers(w, iov, N, &err) == NR_EINVAL,
               "more than 16 at once is NR_EINVAL");
    wal_writer_unregister_buffers(w, &iov[16], 1); /* never registered: nothing */
    UNIT_CHECK(wal_writer_register_buffers(w, iov + 16, 1, &err) == NR_EBUSY,
               "unregistering an unknown buffer frees nothing");
    wal_writer_unregister_buffers(w, &iov[3], 1);
    if (!UNIT_CHECK(wal_writer_register_buffers(w, iov + 16, 1, &err) == 0,
                    "the freed place is taken again: %s", err.msg))
        goto out;
    if (!UNIT_CHECK(wal_writer_add_file(w, fd, &slot, &err) == 0, "add_file: %s", err.msg))
        goto out;
    UNIT_CHECK(wal_writer_write(w, slot, 0, iov[16].iov_base, LEN, 5, &err) == 0 &&
                       wal_writer_flush(w, &err) == 0,
               "write from the 17th buffer: %s", err.msg);
    UNIT_CHECK(wt_collect(w, &done, 1) == 1 && done.result == 0, "its completion");
    UNIT_CHECK(wt_read_back("places", 0, got, LEN) && memcmp(got, iov[16].iov_base, LEN) == 0,
               "what the 17th buffer held reads back");
    wal_writer_remove_file(w, slot);
    wal_writer_unregister_buffers(w, iov, N);
out:
    if (fd >= 0)
        close(fd);
    wal_writer_destroy(w);
    free(mem);
    free(got);
}

static void refusals(void)
{
    struct wal_writer *w = make(4, WAL_SYNC_LINKED_FSYNC, true);
    struct wal_writer_opts bad = {.queue_depth = 0, .sync_mode = WAL_SYNC_DSYNC_WRITE};
    struct wal_writer *w2 = NULL;
    struct nr_err err;
    uint8_t *buf = wt_alloc(8192);
    uint32_t slot;
    int fd = wt_zero_file("direct", 1 << 16, O_DIRECT);
    int fd_buffered = wt_zero_file("buffered", 1 << 16, 0);

    UNIT_CHECK(wal_writer_create(&bad, &w2, &err) == NR_EINVAL && w2 == NULL,
               "queue_depth 0 is NR_EINVAL");
    bad.queue_depth = 8;
    bad.sync_mode = WAL_SYNC_AUTO;
    UNIT_CHECK(wal_writer_create(&bad, &w2, &err) == NR_EINVAL, "auto without probe_dir");
    bad.sync_mode = 9;
    UNIT_CHECK(wal_writer_create(&bad, &w2, &err) == NR_EINVAL, "unknown sync mode");
    if (w == NULL || fd < 0 || fd_buffered < 0)
        goto out;
    UNIT_CHECK(wal_writer_add_file(w, fd_buffered, &slot, &err) == NR_EINVAL,
               "a buffered fd in a direct writer is NR_EINVAL");
    if (!UNIT_CHECK(wal_writer_add_file(w, fd, &slot, &err) == 0, "add: %s", err.msg))
        goto out;
    UNIT_CHECK(wal_writer_write(w, slot, 0, buf + 8, 512, 1, &err) == NR_EINVAL,
               "misaligned buffer is NR_EINVAL");
    UNIT_CHECK(strstr(err.msg, "512-byte aligned") != NULL, "sentence: \"%s\"", err.msg);
    UNIT_CHECK(wal_writer_write(w, slot, 100, buf, 512, 1, &err) == NR_EINVAL,
               "misaligned offset is NR_EINVAL");
    UNIT_CHECK(wal_writer_write(w, slot, 0, buf, 500, 1, &err) == NR_EINVAL,
               "misaligned length is NR_EINVAL");
    UNIT_CHECK(wal_writer_write(w, slot + 1, 0, buf, 512, 1, &err) == NR_EINVAL,
               "an empty slot is NR_EINVAL");
    UNIT_CHECK(wal_writer_write(w, 100000, 0, buf, 512, 1, &err) == NR_EINVAL,
               "a slot out of range is NR_EINVAL");
    UNIT_CHECK(wal_writer_write(w, slot, 0, buf, 0, 1, &err) == NR_EINVAL,
               "an empty write is NR_EINVAL");
    UNIT_CHECK(wal_writer_in_flight(w) == 0, "refused writes queue nothing");
    wal_writer_remove_file(w, slot);
out:
    if (fd >= 0)
        close(fd);
    if (fd_buffered >= 0)
        close(fd_buffered);
    wal_writer_destroy(w);
    free(buf);
}

static uint32_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint32_t n = 0;

    if (d == NULL)
        return UINT32_MAX;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' || strncmp(e->d_name, ".wal-writer-probe", 17) == 0;
    closedir(d);
    return n;
}

static void auto_mode(bool direct)
{
    uint32_t before = dir_entries(wt_tmpdir());
    struct wal_writer *w = make(4, WAL_SYNC_AUTO, direct);
    uint32_t m;

    if (w == NULL)
        return;
    m = wal_writer_mode(w);
    UNIT_CHECK(m == WAL_SYNC_DSYNC_WRITE || m == WAL_SYNC_LINKED_FSYNC,
               "auto picked a real mode (%s)", wal_sync_mode_name(m));
    UNIT_CHECK(dir_entries(wt_tmpdir()) == before, "the probe file is removed");
    printf("auto (direct=%d) picked %s, ring flags 0x%x\n", direct, wal_sync_mode_name(m),
           wal_writer_ring_flags(w));
    wal_writer_destroy(w);
}

/* RLIMIT_FSIZE cuts a write short at the limit; the writer continues the
 * remainder, which then fails EFBIG: the first part is on disk and the
 * record reports -EFBIG with its cookie. Run in a child (the limit is the
 * process's). */
static int short_write_child(uint32_t mode)
{
    enum { LIMIT = 64 * 1024 + 1000, LEN = 8192 };
    struct wal_writer *w = make(4, mode, false);
    struct wal_done d;
    struct nr_err err;
    struct rlimit rl = {.rlim_cur = LIMIT, .rlim_max = RLIM_INFINITY};
    uint8_t *buf = wt_alloc(LEN), *got = wt_alloc(LEN);
    uint32_t slot;
    int fd = wt_zero_file("short", 64 * 1024, 0);
    int bad = 0;

    signal(SIGXFSZ, SIG_IGN);
    if (w == NULL || fd < 0 || wal_writer_add_file(w, fd, &slot, &err) != 0)
        return 1;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0)
        rl.rlim_cur = LIMIT;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 3; /* cannot test here */
    memset(buf, 0x5c, LEN);
    bad |= wal_writer_write(w, slot, 64 * 1024 - 4096, buf, LEN, 77, &err) != 0;
    bad |= wt_collect(w, &d, 1) != 1;
    bad |= d.cookie != 77 || d.result != -EFBIG;
    if (d.result != -EFBIG)
        printf("short write: result %d (%s), want -EFBIG\n", d.result, strerror(-d.result));
    bad |= !wt_read_back("short", 64 * 1024 - 4096, got, 4096 + 1000);
    bad |= memcmp(got, buf, 4096 + 1000) != 0;
    return bad ? 1 : 0;
}

static void short_write(uint32_t mode)
{
    pid_t pid = fork();
    int st = 0;

    if (pid == 0) {
        int rc = short_write_child(mode);

        fflush(stdout);
        _exit(rc);
    }
    UNIT_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid, "fork and wait");
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
        printf("short write (%s): skipped, RLIMIT_FSIZE cannot be set\n", wal_sync_mode_name(mode));
        return;
    }
    UNIT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
               "%s: a write cut short is continued; the remainder's EFBIG is reported with "
               "its cookie and the first part is on disk (child status 0x%x)",
               wal_sync_mode_name(mode), (unsigned)st);
}

int main(void)
{
    wt_tmpdir();
    for (uint32_t mode = WAL_SYNC_DSYNC_WRITE; mode <= WAL_SYNC_LINKED_FSYNC; mode++) {
        round_trip(mode, false, false);
        round_trip(mode, true, false);
        round_trip(mode, true, true);
        round_trip(mode, false, true);
        ordering(mode);
        short_write(mode);
    }
    full_ring();
    buffer_places();
    refusals();
    auto_mode(false);
    auto_mode(true);
    wt_tmpdir_remove();
    return unit_finish();
}
