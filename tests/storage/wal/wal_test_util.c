/* wal_test_util.c - see wal_test_util.h. */
#include "wal_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *wtu_tmpdir(void)
{
    static char buf[128];
    const char *base = getenv("TMPDIR");

    snprintf(buf, sizeof(buf), "%s/nicraft-wal-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(buf) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    return buf;
}

void wtu_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    char path[512];

    if (d == NULL)
        return;
    for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void wtu_opts(struct wal_opts *o, const char *dir)
{
    memset(o, 0, sizeof(*o));
    o->dir = dir;
    o->cluster_id = WTU_CLUSTER;
    o->member_id = WTU_MEMBER;
    o->group_id = WTU_GROUP;
    o->segment_bytes = 64u << 10;
    o->batch_bytes_max = 8u << 10;
    o->in_flight_max = 2;
    o->spares = 2;
}

int wtu_open(struct wtu *t, const struct wal_opts *o, struct storage_faults *faults,
             struct nr_err *err)
{
    struct wal_writer_opts wo = {
        .queue_depth = 16,
        .sync_mode = WAL_SYNC_DSYNC_WRITE,
        .direct = o->direct,
        .faults = faults,
    };
    struct wal_opts oo = *o;

    memset(t, 0, sizeof(*t));
    int rc = wal_writer_create(&wo, &t->writer, err);
    if (rc != 0)
        return rc;
    oo.writer = t->writer;
    rc = wal_open(&oo, &t->wal, err);
    if (rc != 0) {
        wal_writer_destroy(t->writer);
        t->writer = NULL;
    }
    return rc;
}

void wtu_close(struct wtu *t)
{
    wal_close(t->wal);
    wal_writer_destroy(t->writer);
    t->wal = NULL;
    t->writer = NULL;
}

int wtu_drain(struct wtu *t, struct nr_err *err)
{
    struct wal_durable d;

    for (int i = 0; i < 100000; i++) {
        int rc = wal_submit(t->wal, err);
        if (rc != 0 && rc != NR_EBUSY)
            return rc;
        if (wal_writer_in_flight(t->writer) == 0 && rc == 0)
            return 0;
        rc = wal_writer_wait(t->writer, err);
        if (rc != 0)
            return rc;
        rc = wal_reap(t->wal, &d, err);
        if (rc < 0)
            return rc;
        if (rc == 1)
            t->durable = d;
    }
    return NR_EBUSY;
}

int wtu_append(struct wtu *t, const struct raft_entry *e, uint32_t n,
               const struct raft_hard_state *hs, const struct raft_snap_meta *snap,
               struct nr_err *err)
{
    for (int i = 0; i < 8; i++) {
        int rc = wal_append(t->wal, e, n, hs, snap, err);
        if (rc != NR_EBUSY)
            return rc;
        rc = wtu_drain(t, err);
        if (rc != 0)
            return rc;
        rc = wal_prepare_segments(t->wal, err);
        if (rc != 0)
            return rc;
    }
    return NR_EBUSY;
}

void wtu_fill(uint8_t *buf, uint32_t len, uint64_t index, uint64_t term)
{
    uint64_t x = index * 0x9e3779b97f4a7c15u ^ term;

    for (uint32_t i = 0; i < len; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        buf[i] = (uint8_t)(x >> 56);
    }
}

bool wtu_data_ok(const struct raft_entry *e)
{
    uint8_t buf[WTU_DATA_MAX];

    if (e->len > WTU_DATA_MAX)
        return false;
    wtu_fill(buf, e->len, e->index, e->term);
    return e->len == 0 || memcmp(buf, e->data, e->len) == 0;
}

uint64_t wtu_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void wtu_poke(const char *path, uint64_t off, int v, uint64_t len)
{
    int fd = open(path, O_RDWR);
    uint8_t b;

    if (fd < 0) {
        perror(path);
        exit(2);
    }
    for (uint64_t i = 0; i < len; i++) {
        if (v < 0) {
            if (pread(fd, &b, 1, (off_t)(off + i)) != 1)
                exit(2);
            b ^= 1;
        } else {
            b = (uint8_t)v;
        }
        if (pwrite(fd, &b, 1, (off_t)(off + i)) != 1)
            exit(2);
    }
    close(fd);
}
