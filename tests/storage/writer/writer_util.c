/* writer_util.c - the writer tests' helpers (see writer_util.h). */
#include "writer_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

const char *wt_tmpdir(void)
{
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/nicraft-writer-XXXXXX");
        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmpdir;
}

void wt_tmpdir_remove(void)
{
    DIR *d;
    struct dirent *e;

    if (tmpdir[0] == '\0')
        return;
    d = opendir(tmpdir);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            char p[512];

            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
    tmpdir[0] = '\0';
}

static void path_of(char *p, size_t n, const char *name)
{
    snprintf(p, n, "%s/%s", wt_tmpdir(), name);
}

void *wt_alloc(size_t len)
{
    void *p = NULL;

    if (posix_memalign(&p, 4096, len == 0 ? 4096 : len) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(p, 0, len);
    return p;
}

int wt_zero_file(const char *name, uint64_t len, int extra_flags)
{
    char p[512];
    void *zero = wt_alloc(1u << 20);
    int fd;

    path_of(p, sizeof(p), name);
    fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(zero);
        return -1;
    }
    for (uint64_t off = 0; off < len;) {
        size_t n = len - off > (1u << 20) ? (1u << 20) : (size_t)(len - off);

        if (pwrite(fd, zero, n, (off_t)off) != (ssize_t)n) {
            close(fd);
            free(zero);
            return -1;
        }
        off += n;
    }
    free(zero);
    if (fdatasync(fd) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return open(p, O_RDWR | O_CLOEXEC | extra_flags);
}

bool wt_read_back(const char *name, uint64_t off, void *buf, size_t len)
{
    char p[512];
    int fd;
    ssize_t got;

    path_of(p, sizeof(p), name);
    fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    got = pread(fd, buf, len, (off_t)off);
    close(fd);
    return got == (ssize_t)len;
}

uint32_t wt_collect(struct wal_writer *w, struct wal_done *done, uint32_t n)
{
    uint32_t got = 0;
    struct nr_err err;

    /* Bounded: each wait yields a completion or ends with nothing in flight. */
    for (uint32_t i = 0; i < 100000 && got < n; i++) {
        got += wal_writer_reap(w, done + got, n - got);
        if (got >= n || wal_writer_in_flight(w) == 0)
            break;
        if (wal_writer_wait(w, &err) != 0) {
            printf("wal_writer_wait: %s\n", err.msg);
            break;
        }
    }
    return got;
}
