/* snap_file.c - snapshot files (layout in snap_file.h): written to a
 * temporary file in chunks, fsynced, renamed into place, the directory
 * fsynced; verified whole (lengths, both CRCs, IDs, configuration bounds)
 * before a reader hands out a byte. Blocking I/O for the control thread.
 *
 * Everything read from a file is outside data (CONVENTIONS 1.7): every
 * refusal is an error value naming the file, the offset and the rule; the
 * assertions here guard only our own bookkeeping. */
#include "snap_file.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc.h"
#include "nr_le.h"

static_assert(sizeof(SNAP_MAGIC) - 1 == 8, "magic is 8 bytes");
static_assert(SNAP_OFF_AUTO_LEAVE == SNAP_OFF_COUNTS + 4 * 4, "four u32 counts");
static_assert(SNAP_OFF_VOTERS == SNAP_OFF_AUTO_LEAVE + 8, "auto_leave and 7 reserved");
static_assert(SNAP_OFF_VOTERS_OUTGOING == SNAP_OFF_VOTERS + 8 * RAFT_VOTERS_MAX, "voters");
static_assert(SNAP_OFF_LEARNERS == SNAP_OFF_VOTERS_OUTGOING + 8 * RAFT_VOTERS_MAX, "outgoing");
static_assert(SNAP_OFF_LEARNERS_NEXT == SNAP_OFF_LEARNERS + 8 * RAFT_LEARNERS_MAX, "learners");
static_assert(SNAP_OFF_DATA_LEN == SNAP_OFF_LEARNERS_NEXT + 8 * RAFT_LEARNERS_MAX, "next");
static_assert(SNAP_OFF_RESERVED == SNAP_OFF_DATA_LEN + 8, "data length");
static_assert(SNAP_OFF_HEADER_CRC == SNAP_OFF_RESERVED + 4, "reserved");
static_assert(SNAP_HEADER_LEN == SNAP_OFF_HEADER_CRC + 4, "header crc ends the header");

struct snap_writer {
    int fd;                        /* -1 once closed */
    struct storage_faults *faults; /* the test's plan, or NULL */
    uint64_t data_len;             /* promised in the header */
    uint64_t appended;             /* state-machine bytes written so far */
    uint64_t off;                  /* file offset of the next write */
    uint32_t crc;                  /* CRC32C of bytes 0..off-1 */
    struct nr_err failed;          /* code != 0: the first failure; tmp gone */
    char tmp_path[PATH_MAX];
    char final_path[PATH_MAX];
    char dir[PATH_MAX];
};

struct snap_reader {
    int fd;
    uint64_t data_len;
    uint64_t pos;     /* state-machine bytes handed out */
    uint32_t crc;     /* CRC32C of header and the data handed out */
    uint32_t trailer; /* the stored whole-file CRC, verified at open */
    char path[PATH_MAX];
};

/* ---- encoding ---------------------------------------------------------- */

static void put_ids(uint8_t *p, const uint64_t *ids, uint32_t n_slots)
{
    for (uint32_t i = 0; i < n_slots; i++)
        nr_put_le64(p + 8 * i, ids[i]);
}

static void encode_header(uint8_t *b, const struct snap_header *h)
{
    const struct raft_conf *c = &h->meta.conf;

    memset(b, 0, SNAP_HEADER_LEN);
    memcpy(b, SNAP_MAGIC, 8);
    nr_put_le32(b + SNAP_OFF_VERSION, SNAP_FORMAT_VERSION);
    nr_put_le32(b + SNAP_OFF_HEADER_LEN, SNAP_HEADER_LEN);
    nr_put_le64(b + SNAP_OFF_CLUSTER_ID, h->cluster_id);
    nr_put_le64(b + SNAP_OFF_MEMBER_ID, h->member_id);
    nr_put_le64(b + SNAP_OFF_INDEX, h->meta.index);
    nr_put_le64(b + SNAP_OFF_TERM, h->meta.term);
    nr_put_le32(b + SNAP_OFF_COUNTS, c->n_voters);
    nr_put_le32(b + SNAP_OFF_COUNTS + 4, c->n_voters_outgoing);
    nr_put_le32(b + SNAP_OFF_COUNTS + 8, c->n_learners);
    nr_put_le32(b + SNAP_OFF_COUNTS + 12, c->n_learners_next);
    b[SNAP_OFF_AUTO_LEAVE] = c->auto_leave ? 1 : 0;
    /* Only the counted slots: the rest stay zero, as the reader demands. */
    put_ids(b + SNAP_OFF_VOTERS, c->voters, c->n_voters);
    put_ids(b + SNAP_OFF_VOTERS_OUTGOING, c->voters_outgoing, c->n_voters_outgoing);
    put_ids(b + SNAP_OFF_LEARNERS, c->learners, c->n_learners);
    put_ids(b + SNAP_OFF_LEARNERS_NEXT, c->learners_next, c->n_learners_next);
    nr_put_le64(b + SNAP_OFF_DATA_LEN, h->data_len);
    nr_put_le32(b + SNAP_OFF_HEADER_CRC, nr_crc32c(0, b, SNAP_OFF_HEADER_CRC));
}

/* One member list: the count within its bound, the counted IDs non-zero,
 * the slots past the count zero (so a header has one encoding). */
static int check_ids(const char *path, const char *what, const uint8_t *b, uint32_t off, uint32_t n,
                     uint32_t n_max, uint32_t count_off, struct nr_err *err)
{
    if (n > n_max)
        return nr_errf(err, NR_EINVAL, "snapshot %s: offset %u: %s count %u exceeds its maximum %u",
                       path, count_off, what, n, n_max);
    for (uint32_t i = 0; i < n_max; i++) {
        uint64_t id = nr_get_le64(b + off + 8 * i);

        if (i < n && id == RAFT_ID_NONE)
            return nr_errf(err, NR_EINVAL, "snapshot %s: offset %u: %s[%u] is member ID 0", path,
                           off + 8 * i, what, i);
        if (i >= n && id != 0)
            return nr_errf(err, NR_EINVAL,
                           "snapshot %s: offset %u: %s[%u] is %016" PRIx64
                           " past the count %u (must be 0)",
                           path, off + 8 * i, what, i, id, n);
    }
    return 0;
}

static void get_ids(uint64_t *ids, const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        ids[i] = nr_get_le64(p + 8 * i);
}

/* The fields of a header whose CRC matched: their ranges. */
static int decode_fields(const char *path, const uint8_t *b, struct snap_header *h,
                         struct nr_err *err)
{
    struct raft_conf *c = &h->meta.conf;
    int rc;

    memset(h, 0, sizeof(*h));
    h->cluster_id = nr_get_le64(b + SNAP_OFF_CLUSTER_ID);
    h->member_id = nr_get_le64(b + SNAP_OFF_MEMBER_ID);
    h->meta.index = nr_get_le64(b + SNAP_OFF_INDEX);
    h->meta.term = nr_get_le64(b + SNAP_OFF_TERM);
    h->data_len = nr_get_le64(b + SNAP_OFF_DATA_LEN);
    if (h->meta.index > RAFT_INDEX_MAX)
        return nr_errf(err, NR_EINVAL,
                       "snapshot %s: offset %u: index %" PRIu64 " exceeds RAFT_INDEX_MAX", path,
                       SNAP_OFF_INDEX, h->meta.index);
    if (h->meta.term > RAFT_TERM_MAX)
        return nr_errf(err, NR_EINVAL,
                       "snapshot %s: offset %u: term %" PRIu64 " exceeds RAFT_TERM_MAX", path,
                       SNAP_OFF_TERM, h->meta.term);
    if (b[SNAP_OFF_AUTO_LEAVE] > 1)
        return nr_errf(err, NR_EINVAL, "snapshot %s: offset %u: auto_leave is %u (0 or 1)", path,
                       SNAP_OFF_AUTO_LEAVE, b[SNAP_OFF_AUTO_LEAVE]);
    for (uint32_t i = SNAP_OFF_AUTO_LEAVE + 1; i < SNAP_OFF_VOTERS; i++)
        if (b[i] != 0)
            return nr_errf(err, NR_EINVAL, "snapshot %s: offset %u: reserved byte is %u (0)", path,
                           i, b[i]);
    if (nr_get_le32(b + SNAP_OFF_RESERVED) != 0)
        return nr_errf(err, NR_EINVAL, "snapshot %s: offset %u: reserved field is not 0", path,
                       SNAP_OFF_RESERVED);
    c->n_voters = nr_get_le32(b + SNAP_OFF_COUNTS);
    c->n_voters_outgoing = nr_get_le32(b + SNAP_OFF_COUNTS + 4);
    c->n_learners = nr_get_le32(b + SNAP_OFF_COUNTS + 8);
    c->n_learners_next = nr_get_le32(b + SNAP_OFF_COUNTS + 12);
    c->auto_leave = b[SNAP_OFF_AUTO_LEAVE] == 1;
    if ((rc = check_ids(path, "voters", b, SNAP_OFF_VOTERS, c->n_voters, RAFT_VOTERS_MAX,
                        SNAP_OFF_COUNTS, err)) != 0 ||
        (rc = check_ids(path, "voters_outgoing", b, SNAP_OFF_VOTERS_OUTGOING, c->n_voters_outgoing,
                        RAFT_VOTERS_MAX, SNAP_OFF_COUNTS + 4, err)) != 0 ||
        (rc = check_ids(path, "learners", b, SNAP_OFF_LEARNERS, c->n_learners, RAFT_LEARNERS_MAX,
                        SNAP_OFF_COUNTS + 8, err)) != 0 ||
        (rc = check_ids(path, "learners_next", b, SNAP_OFF_LEARNERS_NEXT, c->n_learners_next,
                        RAFT_LEARNERS_MAX, SNAP_OFF_COUNTS + 12, err)) != 0)
        return rc;
    get_ids(c->voters, b + SNAP_OFF_VOTERS, c->n_voters);
    get_ids(c->voters_outgoing, b + SNAP_OFF_VOTERS_OUTGOING, c->n_voters_outgoing);
    get_ids(c->learners, b + SNAP_OFF_LEARNERS, c->n_learners);
    get_ids(c->learners_next, b + SNAP_OFF_LEARNERS_NEXT, c->n_learners_next);
    return 0;
}

/* The writer's side of the same ranges: our caller's header, so a value
 * (NR_EINVAL), not an assertion, since it may come from a peer's message. */
static int check_header(const struct snap_header *h, struct nr_err *err)
{
    const struct raft_conf *c = &h->meta.conf;
    uint8_t b[SNAP_HEADER_LEN];

    if (c->n_voters > RAFT_VOTERS_MAX || c->n_voters_outgoing > RAFT_VOTERS_MAX ||
        c->n_learners > RAFT_LEARNERS_MAX || c->n_learners_next > RAFT_LEARNERS_MAX)
        return nr_errf(err, NR_EINVAL,
                       "snapshot header: member counts %u/%u/%u/%u exceed %u voters or %u "
                       "learners",
                       c->n_voters, c->n_voters_outgoing, c->n_learners, c->n_learners_next,
                       RAFT_VOTERS_MAX, RAFT_LEARNERS_MAX);
    /* Everything else is exactly what the reader checks: run it. */
    encode_header(b, h);
    struct snap_header back;
    return decode_fields("(being written)", b, &back, err);
}

/* ---- writer ------------------------------------------------------------ */

/* Records the first failure, closes and removes the temporary file. */
static int writer_fail(struct snap_writer *w, int code, struct nr_err *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int writer_fail(struct snap_writer *w, int code, struct nr_err *err, const char *fmt, ...)
{
    va_list ap;

    w->failed.code = code;
    va_start(ap, fmt);
    vsnprintf(w->failed.msg, sizeof(w->failed.msg), fmt, ap);
    va_end(ap);
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    unlink(w->tmp_path);
    if (err != NULL)
        *err = w->failed;
    return code;
}

/* pwrite of all len bytes at off, continuing short writes and EINTR:
 * 0 or -errno. */
static int pwrite_full(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Writes len bytes at w->off in writes of at most SNAP_IO_CHUNK, each
 * through the fault hook; keeps the running CRC. */
static int writer_put(struct snap_writer *w, const void *buf, size_t len, struct nr_err *err)
{
    const uint8_t *p = buf;

    while (len > 0) {
        uint32_t n = len > SNAP_IO_CHUNK ? SNAP_IO_CHUNK : (uint32_t)len;
        uint32_t n_disk = n;
        bool torn = false;
        int rc = storage_fault_write(w->faults, &n_disk, &torn);

        if (rc == 0)
            rc = pwrite_full(w->fd, p, n_disk, w->off);
        if (rc == 0 && torn)
            rc = -EIO; /* the first n_disk bytes reached the file, then it failed */
        if (rc != 0)
            return writer_fail(w, NR_EIO, err,
                               "snapshot %s: offset %" PRIu64 ": write of %u bytes failed: %s "
                               "(errno %d); snapshot abandoned",
                               w->tmp_path, w->off, n, strerror(-rc), -rc);
        w->crc = nr_crc32c(w->crc, p, n);
        w->off += n;
        p += n;
        len -= n;
    }
    return 0;
}

int snap_file_path(char *buf, size_t len, const char *dir, uint64_t term, uint64_t index, bool tmp,
                   struct nr_err *err)
{
    int n = snprintf(buf, len, "%s/snap-%016" PRIx64 "-%016" PRIx64 ".snap%s", dir, term, index,
                     tmp ? ".tmp" : "");

    if (n < 0 || (size_t)n >= len)
        return nr_errf(err, NR_EINVAL, "snapshot path longer than %zu bytes in directory %s", len,
                       dir);
    return 0;
}

int snap_writer_open(const char *dir, const struct snap_header *h, struct storage_faults *faults,
                     struct snap_writer **out, struct nr_err *err)
{
    uint8_t hdr[SNAP_HEADER_LEN];
    int rc;

    NR_ASSERT(dir != NULL);
    NR_ASSERT(h != NULL);
    NR_ASSERT(out != NULL);
    *out = NULL;
    if ((rc = check_header(h, err)) != 0)
        return rc;
    struct snap_writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return nr_errf(err, NR_ENOMEM, "snapshot: out of memory for a writer");
    w->fd = -1;
    w->faults = faults;
    w->data_len = h->data_len;
    if ((rc = snap_file_path(w->tmp_path, sizeof(w->tmp_path), dir, h->meta.term, h->meta.index,
                             true, err)) != 0 ||
        (rc = snap_file_path(w->final_path, sizeof(w->final_path), dir, h->meta.term, h->meta.index,
                             false, err)) != 0)
        goto fail_free;
    snprintf(w->dir, sizeof(w->dir), "%s", dir); /* shorter than the paths above */
    /* O_TRUNC: a .tmp of the same name is a crashed attempt at this one. */
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        rc = nr_errf(err, NR_EIO, "snapshot %s: cannot create: %s (errno %d)", w->tmp_path,
                     strerror(errno), errno);
        goto fail_free;
    }
    encode_header(hdr, h);
    if ((rc = writer_put(w, hdr, sizeof(hdr), err)) != 0)
        goto fail_free; /* writer_put closed and removed the file */
    *out = w;
    return 0;
fail_free:
    free(w);
    return rc;
}

int snap_writer_append(struct snap_writer *w, const void *chunk, size_t len, struct nr_err *err)
{
    NR_ASSERT(w != NULL);
    if (w->failed.code != 0) {
        if (err != NULL)
            *err = w->failed;
        return w->failed.code;
    }
    if (len > w->data_len - w->appended)
        return nr_errf(err, NR_EINVAL,
                       "snapshot %s: appending %zu bytes after %" PRIu64 " would pass the "
                       "data length %" PRIu64 " in the header; nothing written",
                       w->tmp_path, len, w->appended, w->data_len);
    int rc = writer_put(w, chunk, len, err);
    if (rc == 0)
        w->appended += len;
    return rc;
}

/* fsync through the hook: 0 or -errno. */
static int sync_fd(struct storage_faults *faults, int fd)
{
    int rc = storage_fault_sync(faults);

    if (rc != 0)
        return rc;
    return fsync(fd) == 0 ? 0 : -errno;
}

/* Makes the rename durable; on a failure takes it back (best effort) so
 * that the previous snapshot stays the newest. */
static int commit_dir(struct snap_writer *w, struct nr_err *err)
{
    int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = dfd < 0 ? -errno : sync_fd(w->faults, dfd);

    if (rc != 0) {
        unlink(w->final_path);
        nr_errf(err, NR_EIO,
                "snapshot %s: fsync of directory %s failed: %s (errno %d); snapshot removed",
                w->final_path, w->dir, strerror(-rc), -rc);
    }
    if (dfd >= 0)
        close(dfd);
    return rc == 0 ? 0 : NR_EIO;
}

int snap_writer_commit(struct snap_writer *w, char *path_out, size_t path_len, struct nr_err *err)
{
    uint8_t trailer[SNAP_TRAILER_LEN];
    int rc;

    NR_ASSERT(w != NULL);
    if (w->failed.code != 0) {
        rc = w->failed.code;
        if (err != NULL)
            *err = w->failed;
        goto out_free;
    }
    if (w->appended != w->data_len) {
        rc = writer_fail(w, NR_EINVAL, err,
                         "snapshot %s: commit after %" PRIu64 " of %" PRIu64
                         " data bytes; snapshot abandoned",
                         w->tmp_path, w->appended, w->data_len);
        goto out_free;
    }
    nr_put_le32(trailer, w->crc);
    if ((rc = writer_put(w, trailer, sizeof(trailer), err)) != 0)
        goto out_free;
    if ((rc = sync_fd(w->faults, w->fd)) != 0) {
        rc = writer_fail(w, NR_EIO, err,
                         "snapshot %s: fsync failed: %s (errno %d); snapshot abandoned",
                         w->tmp_path, strerror(-rc), -rc);
        goto out_free;
    }
    close(w->fd); /* after a successful fsync, close reports nothing new */
    w->fd = -1;
    if (rename(w->tmp_path, w->final_path) != 0) {
        int e = errno;
        rc = writer_fail(w, NR_EIO, err, "snapshot %s: rename to %s failed: %s (errno %d)",
                         w->tmp_path, w->final_path, strerror(e), e);
        goto out_free;
    }
    if ((rc = commit_dir(w, err)) != 0)
        goto out_free;
    if (path_out != NULL && path_len > 0)
        snprintf(path_out, path_len, "%s", w->final_path);
out_free:
    free(w);
    return rc;
}

void snap_writer_abort(struct snap_writer *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->failed.code == 0)
        unlink(w->tmp_path);
    free(w);
}

/* ---- reader ------------------------------------------------------------ */

/* pread of exactly len bytes (EINTR and short reads continued): 0, or
 * -errno, or -ENODATA when the file ends first. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ENODATA;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int read_error(const char *path, uint64_t off, int rc, struct nr_err *err)
{
    if (rc == -ENODATA)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %" PRIu64 ": the file ended early (it shrank "
                       "while being read)",
                       path, off);
    return nr_errf(err, NR_EIO,
                   "snapshot %s: offset %" PRIu64 ": read failed: %s "
                   "(errno %d)",
                   path, off, strerror(-rc), -rc);
}

/* Magic, version, header length, header CRC, fields: the header alone. */
static int verify_header(const char *path, const uint8_t *b, uint64_t size, struct snap_header *h,
                         struct nr_err *err)
{
    if (size < SNAP_OFF_CLUSTER_ID)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %" PRIu64 ": truncated: the file is %" PRIu64
                       " bytes, shorter than magic, version and header length (%u)",
                       path, size, size, SNAP_OFF_CLUSTER_ID);
    if (memcmp(b, SNAP_MAGIC, 8) != 0)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset 0: bad magic: not a nicraft "
                       "snapshot",
                       path);
    uint32_t version = nr_get_le32(b + SNAP_OFF_VERSION);
    if (version != SNAP_FORMAT_VERSION)
        return nr_errf(err, NR_EINVAL,
                       "snapshot %s: offset %u: format version %u; this build "
                       "reads version %u",
                       path, SNAP_OFF_VERSION, version, SNAP_FORMAT_VERSION);
    uint32_t header_len = nr_get_le32(b + SNAP_OFF_HEADER_LEN);
    if (header_len != SNAP_HEADER_LEN)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %u: header length %u; format "
                       "version %u has %u",
                       path, SNAP_OFF_HEADER_LEN, header_len, SNAP_FORMAT_VERSION, SNAP_HEADER_LEN);
    if (size < SNAP_HEADER_LEN)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %" PRIu64 ": truncated inside "
                       "the header: the file is %" PRIu64 " bytes, the header %u",
                       path, size, size, SNAP_HEADER_LEN);
    uint32_t stored = nr_get_le32(b + SNAP_OFF_HEADER_CRC);
    uint32_t computed = nr_crc32c(0, b, SNAP_OFF_HEADER_CRC);
    if (stored != computed)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %u: header crc mismatch (stored "
                       "%08x, computed %08x)",
                       path, SNAP_OFF_HEADER_CRC, stored, computed);
    return decode_fields(path, b, h, err);
}

/* The data length against the file's size, then the IDs. */
static int verify_layout(const char *path, const struct snap_header *h, uint64_t size,
                         uint64_t cluster_id, uint64_t member_id, struct nr_err *err)
{
    uint64_t room = size < SNAP_HEADER_LEN + SNAP_TRAILER_LEN
                            ? 0
                            : size - SNAP_HEADER_LEN - SNAP_TRAILER_LEN;

    if (size < SNAP_HEADER_LEN + SNAP_TRAILER_LEN || h->data_len > room)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %" PRIu64 ": truncated: the header's data length "
                       "%" PRIu64 " (offset %u) needs a file of %" PRIu64
                       "+%u bytes, it has %" PRIu64,
                       path, size, h->data_len, SNAP_OFF_DATA_LEN, h->data_len,
                       SNAP_HEADER_LEN + SNAP_TRAILER_LEN, size);
    if (h->data_len < room)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %" PRIu64 ": %" PRIu64 " bytes after the trailer "
                       "(data length %" PRIu64 ")",
                       path, SNAP_HEADER_LEN + h->data_len + SNAP_TRAILER_LEN, room - h->data_len,
                       h->data_len);
    if (cluster_id != 0 && h->cluster_id != cluster_id)
        return nr_errf(err, NR_EINVAL,
                       "snapshot %s: offset %u: belongs to cluster %016" PRIx64
                       ", not this node's cluster %016" PRIx64,
                       path, SNAP_OFF_CLUSTER_ID, h->cluster_id, cluster_id);
    if (member_id != 0 && h->member_id != member_id)
        return nr_errf(err, NR_EINVAL,
                       "snapshot %s: offset %u: belongs to member %016" PRIx64
                       ", not this member %016" PRIx64,
                       path, SNAP_OFF_MEMBER_ID, h->member_id, member_id);
    return 0;
}

/* The whole-file CRC: bytes 0..size-5 against the trailer. */
static int verify_crc(int fd, const char *path, uint64_t size, uint32_t *trailer_out,
                      struct nr_err *err)
{
    uint64_t body = size - SNAP_TRAILER_LEN;
    uint8_t trailer[SNAP_TRAILER_LEN];
    uint32_t crc = 0;
    int rc;

    uint8_t *buf = malloc(SNAP_IO_CHUNK);
    if (buf == NULL)
        return nr_errf(err, NR_ENOMEM, "snapshot %s: out of memory for verification", path);
    for (uint64_t off = 0; off < body;) {
        size_t n = body - off > SNAP_IO_CHUNK ? SNAP_IO_CHUNK : (size_t)(body - off);

        if ((rc = pread_full(fd, buf, n, off)) != 0) {
            free(buf);
            return read_error(path, off, rc, err);
        }
        crc = nr_crc32c(crc, buf, n);
        off += n;
    }
    free(buf);
    if ((rc = pread_full(fd, trailer, sizeof(trailer), body)) != 0)
        return read_error(path, body, rc, err);
    uint32_t stored = nr_get_le32(trailer);
    if (stored != crc)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %" PRIu64 ": file crc mismatch "
                       "over bytes 0..%" PRIu64 " (stored %08x, computed %08x)",
                       path, body, body - 1, stored, crc);
    *trailer_out = stored;
    return 0;
}

int snap_reader_open(const char *path, uint64_t cluster_id, uint64_t member_id,
                     struct snap_reader **out, struct snap_header *h, struct nr_err *err)
{
    uint8_t b[SNAP_HEADER_LEN];
    struct snap_header hdr = {0};
    struct stat st;
    uint32_t trailer = 0;
    int rc;

    NR_ASSERT(path != NULL);
    NR_ASSERT(out != NULL);
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nr_errf(err, NR_EINVAL, "snapshot %s: cannot open: %s (errno %d)", path,
                       strerror(errno), errno);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = nr_errf(err, NR_EINVAL, "snapshot %s: not a regular file", path);
        goto fail_close;
    }
    uint64_t size = (uint64_t)st.st_size;
    size_t head = size < SNAP_HEADER_LEN ? (size_t)size : SNAP_HEADER_LEN;
    memset(b, 0, sizeof(b));
    if ((rc = pread_full(fd, b, head, 0)) != 0) {
        rc = read_error(path, 0, rc, err);
        goto fail_close;
    }
    if ((rc = verify_header(path, b, size, &hdr, err)) != 0 ||
        (rc = verify_layout(path, &hdr, size, cluster_id, member_id, err)) != 0 ||
        (rc = verify_crc(fd, path, size, &trailer, err)) != 0)
        goto fail_close;
    struct snap_reader *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        rc = nr_errf(err, NR_ENOMEM, "snapshot %s: out of memory for a reader", path);
        goto fail_close;
    }
    r->fd = fd;
    r->data_len = hdr.data_len;
    r->crc = nr_crc32c(0, b, SNAP_HEADER_LEN);
    r->trailer = trailer;
    snprintf(r->path, sizeof(r->path), "%s", path);
    if (h != NULL)
        *h = hdr;
    *out = r;
    return 0;
fail_close:
    close(fd);
    return rc;
}

int snap_reader_read(struct snap_reader *r, void *buf, size_t max, size_t *n, struct nr_err *err)
{
    NR_ASSERT(r != NULL);
    NR_ASSERT(n != NULL);
    *n = 0;
    uint64_t left = r->data_len - r->pos;
    size_t want = left < max ? (size_t)left : max;
    if (want == 0)
        return 0;
    uint64_t off = SNAP_HEADER_LEN + r->pos;
    int rc = pread_full(r->fd, buf, want, off);
    if (rc != 0)
        return read_error(r->path, off, rc, err);
    r->crc = nr_crc32c(r->crc, buf, want);
    r->pos += want;
    /* The bytes streamed are checked again: the file may have changed
     * between the verification and now (a learner must not get them). */
    if (r->pos == r->data_len && r->crc != r->trailer)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %" PRIu64 ": the data changed "
                       "since it was verified (crc %08x, trailer %08x)",
                       r->path, off + want, r->crc, r->trailer);
    *n = want;
    return 0;
}

void snap_reader_close(struct snap_reader *r)
{
    if (r == NULL)
        return;
    close(r->fd);
    free(r);
}
