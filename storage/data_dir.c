/* data_dir.c - data directory identity (IDENTITY) and lock (LOCK). The
 * identity file is 56 bytes, little-endian:
 *     0 magic "nrftDIR1"   8 version (1)   12 reserved
 *    16 cluster ID        24 member ID     32 directory ID (16 bytes)
 *    48 CRC32C of bytes 0..48               52 reserved */
#include "data_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc.h"
#include "wal_format.h"

#define IDENT_MAGIC UINT64_C(0x315249447466726e) /* "nrftDIR1" read LE */
#define IDENT_VERSION 1u
#define IDENT_LEN 56u
#define IDENT_NAME "IDENTITY"
#define LOCK_NAME "LOCK"

struct data_dir {
    char path[DATA_DIR_PATH_MAX];
    int lock_fd;
    bool is_new;
    struct data_dir_ident id;
};

void data_dir_id_hex(const uint8_t id[DATA_DIR_ID_LEN], char out[2 * DATA_DIR_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 0; i < DATA_DIR_ID_LEN; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[2 * DATA_DIR_ID_LEN] = '\0';
}

static void ident_encode(uint8_t *p, const struct data_dir_ident *id)
{
    memset(p, 0, IDENT_LEN);
    nr_put_le64(p, IDENT_MAGIC);
    nr_put_le32(p + 8, IDENT_VERSION);
    nr_put_le64(p + 16, id->cluster_id);
    nr_put_le64(p + 24, id->member_id);
    memcpy(p + 32, id->dir_id, DATA_DIR_ID_LEN);
    nr_put_le32(p + 48, nr_crc32c(0, p, 48));
}

static int ident_read(const struct data_dir *d, struct data_dir_ident *id, bool *is_found,
                      struct nr_err *err)
{
    char path[DATA_DIR_PATH_MAX + 16];
    uint8_t p[IDENT_LEN + 1];

    snprintf(path, sizeof(path), "%s/" IDENT_NAME, d->path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *is_found = fd >= 0;
    if (fd < 0)
        return errno == ENOENT ? 0
                               : nr_errf(err, NR_EREFUSED, "%s: open failed (errno %d)", path,
                                         errno);
    ssize_t n = read(fd, p, sizeof(p));
    close(fd);
    if (n != IDENT_LEN || nr_get_le64(p) != IDENT_MAGIC || nr_get_le32(p + 8) != IDENT_VERSION ||
        nr_get_le32(p + 48) != nr_crc32c(0, p, 48))
        return nr_errf(err, NR_ECORRUPT, "%s: damaged (%zd bytes, magic, version or checksum "
                       "wrong); refusing to start: restore it, or wipe the directory and "
                       "re-add this member", path, n);
    id->cluster_id = nr_get_le64(p + 16);
    id->member_id = nr_get_le64(p + 24);
    memcpy(id->dir_id, p + 32, DATA_DIR_ID_LEN);
    return 0;
}

static int fsync_path(const char *path, int flags, struct nr_err *err)
{
    int fd = open(path, flags | O_CLOEXEC);

    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return nr_errf(err, NR_EREFUSED, "%s: fsync failed (errno %d)", path, e);
    }
    close(fd);
    return 0;
}

/* Writes IDENTITY durably: temporary file, fsync, rename, directory fsync. */
static int ident_create(struct data_dir *d, struct nr_err *err)
{
    char tmp[DATA_DIR_PATH_MAX + 16], path[DATA_DIR_PATH_MAX + 16];
    uint8_t p[IDENT_LEN];

    if (getrandom(d->id.dir_id, DATA_DIR_ID_LEN, 0) != DATA_DIR_ID_LEN)
        return nr_errf(err, NR_EREFUSED, "%s: getrandom failed (errno %d)", d->path, errno);
    ident_encode(p, &d->id);
    snprintf(tmp, sizeof(tmp), "%s/" IDENT_NAME ".tmp", d->path);
    snprintf(path, sizeof(path), "%s/" IDENT_NAME, d->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_errf(err, NR_EREFUSED, "%s: create failed (errno %d)", tmp, errno);
    bool is_ok = write(fd, p, IDENT_LEN) == IDENT_LEN && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!is_ok || rename(tmp, path) != 0) {
        e = is_ok ? errno : e;
        unlink(tmp);
        return nr_errf(err, NR_EREFUSED, "%s: write failed (errno %d)", path, e);
    }
    d->is_new = true;
    return fsync_path(d->path, O_RDONLY | O_DIRECTORY, err);
}

/* A directory without IDENTITY may hold only our lock (and a temporary
 * identity from a crash); anything else is someone's data. */
static int check_empty(const struct data_dir *d, struct nr_err *err)
{
    DIR *dir = opendir(d->path);
    int rc = 0;

    if (dir == NULL)
        return nr_errf(err, NR_EREFUSED, "%s: open failed (errno %d)", d->path, errno);
    for (struct dirent *de = readdir(dir); de != NULL && rc == 0; de = readdir(dir)) {
        const char *n = de->d_name;
        if (strcmp(n, ".") != 0 && strcmp(n, "..") != 0 && strcmp(n, LOCK_NAME) != 0 &&
            strcmp(n, IDENT_NAME ".tmp") != 0)
            rc = nr_errf(err, NR_EREFUSED, "data directory %s holds files (%.60s) but no "
                         IDENT_NAME "; refusing to adopt it: move them away or restore "
                         IDENT_NAME, d->path, n);
    }
    closedir(dir);
    return rc;
}

static int lock_take(struct data_dir *d, struct nr_err *err)
{
    char path[DATA_DIR_PATH_MAX + 16];

    if (mkdir(d->path, 0700) != 0 && errno != EEXIST)
        return nr_errf(err, NR_EREFUSED, "data directory %s: mkdir failed (errno %d)", d->path,
                       errno);
    snprintf(path, sizeof(path), "%s/" LOCK_NAME, d->path);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0)
        return nr_errf(err, NR_EREFUSED, "%s: open failed (errno %d)", path, errno);
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return nr_errf(err, errno == EWOULDBLOCK ? NR_EBUSY : NR_EREFUSED,
                       "data directory %s is in use by another process (lock %s held; errno "
                       "%d); refusing to share it", d->path, path, errno);
    return 0;
}

int data_dir_peek(const char *path, struct data_dir_ident *id, bool *is_found,
                  struct nr_err *err)
{
    struct data_dir d = {.lock_fd = -1};

    *is_found = false;
    if (strlen(path) >= DATA_DIR_PATH_MAX)
        return nr_errf(err, NR_EINVAL, "data directory: the path is over %d bytes",
                       DATA_DIR_PATH_MAX - 1);
    snprintf(d.path, sizeof(d.path), "%s", path);
    return ident_read(&d, id, is_found, err);
}

int data_dir_open(const char *path, uint64_t cluster_id, uint64_t member_id,
                  struct data_dir **out, struct nr_err *err)
{
    struct data_dir_ident found;
    bool is_found = false;

    if (cluster_id == 0 || member_id == 0 || strlen(path) >= DATA_DIR_PATH_MAX)
        return nr_errf(err, NR_EINVAL, "data directory: cluster ID and member ID must be "
                       "non-zero and the path under %d bytes", DATA_DIR_PATH_MAX);
    struct data_dir *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return nr_errf(err, NR_ENOMEM, "data directory: no memory");
    snprintf(d->path, sizeof(d->path), "%s", path);
    d->lock_fd = -1;
    d->id.cluster_id = cluster_id;
    d->id.member_id = member_id;
    int rc = lock_take(d, err);
    if (rc == 0)
        rc = ident_read(d, &found, &is_found, err);
    if (rc == 0 && !is_found) {
        rc = check_empty(d, err);
        if (rc == 0)
            rc = ident_create(d, err);
    } else if (rc == 0) {
        if (found.cluster_id != cluster_id || found.member_id != member_id) {
            char hex[2 * DATA_DIR_ID_LEN + 1];
            data_dir_id_hex(found.dir_id, hex);
            rc = nr_errf(err, NR_EREFUSED, "data directory %s belongs to cluster %016" PRIx64
                         " member %016" PRIx64 " (directory %s), not cluster %016" PRIx64
                         " member %016" PRIx64 "; refusing to start", d->path,
                         found.cluster_id, found.member_id, hex, cluster_id, member_id);
        }
        d->id = found;
    }
    if (rc != 0) {
        data_dir_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

void data_dir_close(struct data_dir *d)
{
    if (d == NULL)
        return;
    if (d->lock_fd >= 0)
        close(d->lock_fd); /* releases the flock */
    free(d);
}

const struct data_dir_ident *data_dir_ident(const struct data_dir *d)
{
    return &d->id;
}

bool data_dir_is_new(const struct data_dir *d)
{
    return d->is_new;
}

const char *data_dir_path(const struct data_dir *d)
{
    return d->path;
}
