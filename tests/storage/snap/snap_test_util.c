/* snap_test_util.c - see snap_test_util.h. */
#include "snap_test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc.h"
#include "nr_le.h"

void snap_test_header(struct snap_header *h, uint64_t index, uint64_t term, uint64_t data_len,
                      int shape)
{
    struct raft_conf *c = &h->meta.conf;

    memset(h, 0, sizeof(*h));
    h->cluster_id = SNAP_TEST_CLUSTER;
    h->member_id = SNAP_TEST_MEMBER;
    h->meta.index = index;
    h->meta.term = term;
    h->data_len = data_len;
    switch (shape) {
    case 0:
        c->n_voters = 3;
        for (uint32_t i = 0; i < 3; i++)
            c->voters[i] = 0x1000 + i;
        break;
    case 1:
        c->n_voters = 3;
        c->n_voters_outgoing = 3;
        for (uint32_t i = 0; i < 3; i++) {
            c->voters[i] = 0x2000 + i;
            c->voters_outgoing[i] = 0x1fff + i;
        }
        c->n_learners = 1;
        c->learners[0] = 0x3000;
        c->n_learners_next = 1;
        c->learners_next[0] = 0x1fff;
        c->auto_leave = true;
        break;
    case 2:
        c->n_voters = RAFT_VOTERS_MAX;
        c->n_voters_outgoing = RAFT_VOTERS_MAX;
        c->n_learners = RAFT_LEARNERS_MAX;
        c->n_learners_next = RAFT_LEARNERS_MAX;
        for (uint32_t i = 0; i < RAFT_VOTERS_MAX; i++) {
            c->voters[i] = UINT64_MAX - i;
            c->voters_outgoing[i] = UINT64_C(0x0102030405060708) + i;
        }
        for (uint32_t i = 0; i < RAFT_LEARNERS_MAX; i++) {
            c->learners[i] = UINT64_C(0x8000000000000000) + i;
            c->learners_next[i] = 1 + i;
        }
        break;
    default: break;
    }
}

void snap_test_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t start)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t x = (start + i) * UINT64_C(0x9e3779b97f4a7c15) ^ seed;

        x ^= x >> 29;
        buf[i] = (uint8_t)(x ^ (x >> 17));
    }
}

int snap_test_write(const char *dir, const struct snap_header *h, uint64_t seed, size_t chunk,
                    struct storage_faults *faults, char *path_out, size_t path_len,
                    struct nr_err *err)
{
    struct snap_writer *w;
    int rc = snap_writer_open(dir, h, faults, &w, err);

    if (rc != 0)
        return rc;
    uint8_t *buf = malloc(chunk == 0 ? 1 : chunk);
    if (buf == NULL) {
        snap_writer_abort(w);
        return nr_errf(err, NR_ENOMEM, "test: out of memory");
    }
    for (uint64_t off = 0; off < h->data_len;) {
        size_t n = h->data_len - off < chunk ? (size_t)(h->data_len - off) : chunk;

        snap_test_fill(buf, n, seed, off);
        rc = snap_writer_append(w, buf, n, err);
        if (rc != 0) {
            free(buf);
            snap_writer_abort(w);
            return rc;
        }
        off += n;
    }
    free(buf);
    return snap_writer_commit(w, path_out, path_len, err);
}

int snap_test_mkdtemp(char *buf, size_t len, const char *what)
{
    const char *base = getenv("TMPDIR");

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    if (snprintf(buf, len, "%s/nicraft-snap-%s-XXXXXX", base, what) >= (int)len)
        return -ENAMETOOLONG;
    return mkdtemp(buf) == NULL ? -errno : 0;
}

void snap_test_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[PATH_MAX];

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < (int)sizeof(p))
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int snap_test_copy(const char *src, const char *dst)
{
    uint8_t buf[65536];
    int rc = 0;
    int in = open(src, O_RDONLY | O_CLOEXEC);

    if (in < 0)
        return -errno;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        rc = -errno;
        close(in);
        return rc;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        if (write(out, buf, (size_t)n) != n) {
            rc = -EIO;
            break;
        }
    }
    close(in);
    close(out);
    return rc;
}

static int resign(int fd, uint64_t crc_off, uint64_t body_len)
{
    uint8_t *body = malloc(body_len == 0 ? 1 : body_len);
    uint8_t le[4];
    int rc = 0;

    if (body == NULL)
        return -ENOMEM;
    if (pread(fd, body, body_len, 0) != (ssize_t)body_len) {
        free(body);
        return -EIO;
    }
    nr_put_le32(le, nr_crc32c(0, body, body_len));
    if (pwrite(fd, le, 4, (off_t)crc_off) != 4)
        rc = -EIO;
    free(body);
    return rc;
}

int snap_test_forge(const char *path, uint64_t off, const void *bytes, size_t len,
                    bool resign_header, bool resign_file)
{
    struct stat st;
    int rc = 0;
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (pwrite(fd, bytes, len, (off_t)off) != (ssize_t)len)
        rc = -EIO;
    if (rc == 0 && resign_header)
        rc = resign(fd, SNAP_OFF_HEADER_CRC, SNAP_OFF_HEADER_CRC);
    if (rc == 0 && resign_file) {
        if (fstat(fd, &st) != 0 || st.st_size < (off_t)SNAP_TRAILER_LEN)
            rc = -EIO;
        else
            rc = resign(fd, (uint64_t)st.st_size - 4, (uint64_t)st.st_size - 4);
    }
    close(fd);
    return rc;
}

int snap_test_read(const char *path, uint64_t cluster_id, uint64_t member_id, struct snap_header *h,
                   uint8_t *buf, size_t cap, size_t max, size_t *n_out, struct nr_err *err)
{
    struct snap_reader *r;
    size_t total = 0;
    int rc = snap_reader_open(path, cluster_id, member_id, &r, h, err);

    *n_out = 0;
    if (rc != 0)
        return rc;
    for (;;) {
        size_t n = 0;
        size_t room = cap - total < max ? cap - total : max;

        rc = snap_reader_read(r, buf + total, room, &n, err);
        if (rc != 0 || n == 0)
            break;
        total += n;
        if (total == cap)
            break;
    }
    snap_reader_close(r);
    *n_out = total;
    return rc;
}
