/* wal_segment.c - records and segment files: sealing and checking records,
 * the segment header block, and the blocking file work done off the poller
 * (zero-filled spares, header zeroing when a segment is recycled). */
#include "wal_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc.h"
#include "nr_err.h"

#define ZERO_CHUNK (1u << 20)

uint32_t wal_rec_seal_copy(uint8_t *p, uint16_t type, uint32_t head_len, const void *data,
                           uint32_t data_len, uint32_t tag)
{
    uint32_t len = head_len + data_len;
    uint32_t size = (uint32_t)wal_rec_size(len);
    uint32_t crc;

    nr_put_le16(p + 4, type);
    nr_put_le16(p + 6, 0);
    nr_put_le32(p + 8, len);
    nr_put_le32(p + 12, tag);
    /* Header bytes 4..16 and the payload's head are contiguous: one pass;
     * the data is checksummed as it is copied. */
    crc = nr_crc32c(0, p + 4, WAL_REC_HDR - 4 + (size_t)head_len);
    crc = nr_crc32c_copy(crc, p + WAL_REC_HDR + head_len, data, data_len);
    memset(p + WAL_REC_HDR + len, 0, size - WAL_REC_HDR - len);
    nr_put_le32(p, crc);
    return size;
}

uint32_t wal_rec_seal(uint8_t *p, uint16_t type, uint32_t len, uint32_t tag)
{
    return wal_rec_seal_copy(p, type, len, NULL, 0, tag);
}

static bool is_known_type(uint16_t type)
{
    return type >= WAL_REC_SEGMENT && type <= WAL_REC_SNAP;
}

enum wal_rec_check wal_rec_check(const uint8_t *p, uint64_t avail, uint16_t *type,
                                 uint32_t *len, uint32_t *tag, uint32_t *crc_stored,
                                 uint32_t *crc_computed)
{
    static const uint8_t zero[WAL_REC_HDR];

    *crc_stored = 0;
    *crc_computed = 0;
    if (avail < WAL_REC_HDR)
        return WAL_REC_SHORT;
    if (memcmp(p, zero, WAL_REC_HDR) == 0)
        return WAL_REC_ZERO;
    *type = nr_get_le16(p + 4);
    *len = nr_get_le32(p + 8);
    *tag = nr_get_le32(p + 12);
    *crc_stored = nr_get_le32(p);
    /* The length is checked against what is there before it is used. */
    if (*len > avail - WAL_REC_HDR || wal_rec_size(*len) > avail)
        return WAL_REC_SHORT;
    uint32_t crc = nr_crc32c(0, p + 4, WAL_REC_HDR - 4 + (size_t)*len);
    *crc_computed = crc;
    if (crc != *crc_stored)
        return WAL_REC_BAD_CRC;
    if (!is_known_type(*type) || nr_get_le16(p + 6) != 0)
        return WAL_REC_BAD_TYPE;
    return WAL_REC_OK;
}

void wal_seg_hdr_encode(uint8_t *p, const struct wal_seg_hdr *h)
{
    uint8_t *q = p + WAL_REC_HDR;

    memset(p, 0, WAL_BLOCK);
    nr_put_le64(q + WAL_SEG_OFF_MAGIC, WAL_SEGMENT_MAGIC);
    nr_put_le32(q + WAL_SEG_OFF_VERSION, h->version);
    nr_put_le32(q + WAL_SEG_OFF_GROUP, h->group_id);
    nr_put_le64(q + WAL_SEG_OFF_CLUSTER, h->cluster_id);
    nr_put_le64(q + WAL_SEG_OFF_MEMBER, h->member_id);
    nr_put_le64(q + WAL_SEG_OFF_SEQ, h->seq);
    nr_put_le64(q + WAL_SEG_OFF_FIRST, h->first_index);
    nr_put_le64(q + WAL_SEG_OFF_SIZE, h->size);
    wal_rec_seal(p, WAL_REC_SEGMENT, WAL_SEG_PAYLOAD, (uint32_t)h->seq);
}

static bool block_is_zero(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

enum wal_seg_hdr_check wal_seg_hdr_decode(const uint8_t *p, uint64_t avail,
                                          struct wal_seg_hdr *h)
{
    uint16_t type = 0;
    uint32_t len = 0, tag = 0, crc_s, crc_c;

    if (avail < WAL_BLOCK)
        return avail == 0 || block_is_zero(p, avail) ? WAL_SEG_HDR_UNUSED : WAL_SEG_HDR_BAD;
    if (block_is_zero(p, WAL_BLOCK))
        return WAL_SEG_HDR_UNUSED;
    if (wal_rec_check(p, WAL_BLOCK, &type, &len, &tag, &crc_s, &crc_c) != WAL_REC_OK)
        return WAL_SEG_HDR_BAD;
    if (type != WAL_REC_SEGMENT || len != WAL_SEG_PAYLOAD)
        return WAL_SEG_HDR_BAD;
    const uint8_t *q = p + WAL_REC_HDR;
    h->version = nr_get_le32(q + WAL_SEG_OFF_VERSION);
    h->group_id = nr_get_le32(q + WAL_SEG_OFF_GROUP);
    h->cluster_id = nr_get_le64(q + WAL_SEG_OFF_CLUSTER);
    h->member_id = nr_get_le64(q + WAL_SEG_OFF_MEMBER);
    h->seq = nr_get_le64(q + WAL_SEG_OFF_SEQ);
    h->first_index = nr_get_le64(q + WAL_SEG_OFF_FIRST);
    h->size = nr_get_le64(q + WAL_SEG_OFF_SIZE);
    if (nr_get_le64(q + WAL_SEG_OFF_MAGIC) != WAL_SEGMENT_MAGIC ||
        h->version != WAL_FORMAT_VERSION || tag != (uint32_t)h->seq)
        return WAL_SEG_HDR_FOREIGN;
    return WAL_SEG_HDR_OK;
}

void wal_seg_spare_path(char *buf, size_t cap, const char *dir, uint32_t group,
                        uint64_t file_no)
{
    snprintf(buf, cap, "%s/g%08" PRIx32 "-spare-%016" PRIx64 ".wal", dir, group, file_no);
}

void wal_seg_used_path(char *buf, size_t cap, const char *dir, uint32_t group,
                       uint64_t first_index, uint64_t seq)
{
    snprintf(buf, cap, "%s/g%08" PRIx32 "-%016" PRIx64 "-%016" PRIx64 ".wal", dir, group,
             first_index, seq);
}

static bool parse_hex16(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = (v << 4) | (uint64_t)d;
    }
    *out = v;
    return true;
}

bool wal_seg_name_parse(const char *name, uint32_t group, struct wal_seg_name *out)
{
    char prefix[16];
    size_t n = strlen(name);

    snprintf(prefix, sizeof(prefix), "g%08" PRIx32 "-", group);
    memset(out, 0, sizeof(*out));
    if (strncmp(name, prefix, 10) != 0 || n < 4 || strcmp(name + n - 4, ".wal") != 0)
        return false;
    if (n == 36 && strncmp(name + 10, "spare-", 6) == 0) {
        out->is_spare = true;
        return parse_hex16(name + 16, &out->file_no);
    }
    return n == 47 && name[26] == '-' && parse_hex16(name + 10, &out->first_index) &&
           parse_hex16(name + 27, &out->seq);
}

int wal_dir_fsync(const char *dir, struct nr_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return nr_errf(err, NR_EREFUSED, "wal directory %s: open failed (errno %d)", dir,
                       errno);
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return nr_errf(err, NR_EREFUSED, "wal directory %s: fsync failed (errno %d)", dir, e);
    }
    close(fd);
    return 0;
}

int wal_seg_zero(int fd, const char *path, uint64_t off, uint64_t len, struct nr_err *err)
{
    uint8_t *zero = calloc(1, ZERO_CHUNK);

    if (zero == NULL)
        return nr_errf(err, NR_ENOMEM, "wal segment %s: no memory to zero it", path);
    while (len > 0) {
        size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
        ssize_t w = pwrite(fd, zero, n, (off_t)off);
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            free(zero);
            return nr_errf(err, NR_EREFUSED,
                           "wal segment %s: zeroing at offset %" PRIu64 " failed (errno %d)",
                           path, off, e);
        }
        off += (uint64_t)w;
        len -= (uint64_t)w;
    }
    free(zero);
    if (fdatasync(fd) != 0)
        return nr_errf(err, NR_EREFUSED, "wal segment %s: fdatasync failed (errno %d)", path,
                       errno);
    return 0;
}

int wal_seg_create(const char *dir, uint32_t group, uint64_t file_no, uint64_t size,
                   struct nr_err *err)
{
    char path[512], tmp[520];

    wal_seg_spare_path(path, sizeof(path), dir, group, file_no);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return nr_errf(err, NR_EREFUSED, "wal segment %s: create failed (errno %d)", tmp,
                       errno);
    /* Written, not fallocated: an unwritten extent is converted (and
     * journaled) on the first write, which is what we keep off the
     * poller's path (issue 4's measurements). */
    int rc = wal_seg_zero(fd, tmp, 0, size, err);
    close(fd);
    if (rc != 0)
        goto fail_unlink;
    if (rename(tmp, path) != 0) {
        rc = nr_errf(err, NR_EREFUSED, "wal segment %s: rename from %s failed (errno %d)", path,
                     tmp, errno);
        goto fail_unlink;
    }
    return wal_dir_fsync(dir, err);

fail_unlink:
    unlink(tmp);
    return rc;
}

/* ---- listing a group's segment files (replay) ------------------------- */

static const char *seg_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

static int seg_cmp(const void *a, const void *b)
{
    const struct wal_seg_info *x = a, *y = b;

    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return strcmp(x->path, y->path);
}

int wal_seg_add(struct wal_recovery *rec, uint32_t *cap)
{
    if (rec->n_segs < *cap)
        return 0;
    uint32_t ncap = *cap == 0 ? 16 : *cap * 2;
    if (ncap > WAL_SEGMENTS_MAX + WAL_SPARES_MAX + 2)
        return NR_EINVAL;
    struct wal_seg_info *s = realloc(rec->segs, ncap * sizeof(*s));
    if (s == NULL)
        return NR_ENOMEM;
    rec->segs = s;
    *cap = ncap;
    return 0;
}

/* Reads the header block of one file and records it. */
static int classify(const struct wal_replay_opts *o, struct wal_recovery *rec, const char *path,
                    uint32_t *cap, struct nr_err *err)
{
    uint8_t blk[WAL_BLOCK] = {0};
    struct wal_seg_hdr h = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return nr_errf(err, NR_EREFUSED, "wal %s: open failed (errno %d)", seg_base_name(path),
                       errno);
    ssize_t n = pread(fd, blk, sizeof(blk), 0);
    close(fd);
    if (n < 0)
        return nr_errf(err, NR_EREFUSED, "wal %s: read failed (errno %d)", seg_base_name(path),
                       errno);
    if (wal_seg_add(rec, cap) != 0)
        return nr_errf(err, NR_EINVAL, "wal %s: more than %u segment files", o->dir,
                       WAL_SEGMENTS_MAX);
    struct wal_seg_info *si = &rec->segs[rec->n_segs];
    memset(si, 0, sizeof(*si));
    snprintf(si->path, sizeof(si->path), "%s", path);
    enum wal_seg_hdr_check c = wal_seg_hdr_decode(blk, (uint64_t)n, &h);
    if (c == WAL_SEG_HDR_FOREIGN)
        return nr_errf(err, NR_EREFUSED, "wal %s offset 0: not a version %u nicraft segment "
                       "(another program's file, or a newer version); move it away",
                       seg_base_name(path), WAL_FORMAT_VERSION);
    if (c == WAL_SEG_HDR_OK) {
        if (h.seq == 0)
            return nr_errf(err, NR_ECORRUPT, "wal %s offset 0: segment number 0; refusing to "
                           "start: restore this data directory or re-add this member empty",
                           seg_base_name(path));
        si->seq = h.seq;
        si->first_index = h.first_index;
        rec->n_used++;
    }
    si->needs_reset = c == WAL_SEG_HDR_BAD;
    rec->n_segs++;
    return 0;
}

int wal_seg_list(const struct wal_replay_opts *o, struct wal_recovery *rec, struct nr_err *err)
{
    uint32_t cap = 0;
    int rc = 0;
    DIR *d = opendir(o->dir);

    if (d == NULL)
        return nr_errf(err, NR_EREFUSED, "wal directory %s: open failed (errno %d)",
                       o->dir, errno);
    for (struct dirent *de = readdir(d); de != NULL && rc == 0; de = readdir(d)) {
        struct wal_seg_name nm;
        char path[WAL_PATH_MAX];
        if (!wal_seg_name_parse(de->d_name, o->group_id, &nm))
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", o->dir, de->d_name) >=
            sizeof(path)) {
            rc = nr_errf(err, NR_EINVAL, "wal directory %s: path too long", o->dir);
            break;
        }
        rc = classify(o, rec, path, &cap, err);
    }
    closedir(d);
    if (rc != 0)
        return rc;
    /* Used segments first, in chain order; spares (seq 0) after them. */
    for (uint32_t i = 0; i < rec->n_segs; i++)
        if (rec->segs[i].seq == 0)
            rec->segs[i].seq = UINT64_MAX;
    if (rec->n_segs > 1)
        qsort(rec->segs, rec->n_segs, sizeof(rec->segs[0]), seg_cmp);
    for (uint32_t i = rec->n_used; i < rec->n_segs; i++)
        rec->segs[i].seq = 0;
    return 0;
}

/* Maps a segment read-only (no copy out of the page cache: replay reads
 * at memory speed). *buf is unmapped by unmap_file. */
int wal_seg_map(const char *path, uint8_t **buf, uint64_t *len, struct nr_err *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *buf = NULL;
    *len = 0;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return nr_errf(err, NR_EREFUSED, "wal %s: open failed (errno %d)", seg_base_name(path), e);
    }
    if (st.st_size == 0) {
        close(fd);
        return 0;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return nr_errf(err, NR_EREFUSED, "wal %s: mmap of %" PRIu64 " bytes failed (errno %d)",
                       seg_base_name(path), (uint64_t)st.st_size, errno);
    *buf = p;
    *len = (uint64_t)st.st_size;
    return 0;
}

void wal_seg_unmap(uint8_t *buf, uint64_t len)
{
    if (buf != NULL)
        munmap(buf, len);
}

/* ---- the rings between the poller and the preparing thread ---------- */

bool wal_ring_push(struct wal_ring *r, const struct wal_ring_item *it)
{
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);

    if (t - h == WAL_RING_CAP)
        return false;
    r->items[t % WAL_RING_CAP] = *it;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return true;
}

bool wal_ring_pop(struct wal_ring *r, struct wal_ring_item *it)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);

    if (h == t)
        return false;
    *it = r->items[h % WAL_RING_CAP];
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return true;
}

uint32_t wal_ring_count(struct wal_ring *r)
{
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    return t - h;
}

/* ---- at wal_open: names and spares found by replay ------------------ */

/* Gives every file its proper name before the poller runs: used
 * segments g<group>-<first>-<seq>.wal, spares g<group>-spare-<n>.wal (a
 * crash can leave either under the other form). */
int wal_seg_normalize(struct wal *w, struct nr_err *err)
{
    struct wal_seg_name nm;
    char want[WAL_PATH_MAX];
    bool is_renamed = false;

    for (uint32_t i = 0; i < w->rec.n_segs; i++) {
        const char *base = strrchr(w->rec.segs[i].path, '/') + 1;
        if (wal_seg_name_parse(base, w->o.group_id, &nm) && nm.is_spare &&
            nm.file_no >= w->next_file_no)
            w->next_file_no = nm.file_no + 1;
    }
    for (uint32_t i = 0; i < w->rec.n_segs; i++) {
        struct wal_seg_info *si = &w->rec.segs[i];
        wal_seg_name_parse(strrchr(si->path, '/') + 1, w->o.group_id, &nm);
        if (i < w->rec.n_used)
            wal_seg_used_path(want, sizeof(want), w->dir, w->o.group_id, si->first_index,
                              si->seq);
        else if (!nm.is_spare)
            wal_seg_spare_path(want, sizeof(want), w->dir, w->o.group_id, w->next_file_no++);
        else
            continue;
        if (strcmp(want, si->path) == 0)
            continue;
        if (rename(si->path, want) != 0)
            return nr_errf(err, NR_EREFUSED, "wal %s: rename to %s failed (errno %d)",
                           si->path, want, errno);
        snprintf(si->path, sizeof(si->path), "%s", want);
        is_renamed = true;
    }
    return is_renamed ? wal_dir_fsync(w->dir, err) : 0;
}

/* Spares found by replay go to the ring (a torn header zeroed first). */
int wal_seg_adopt_spares(struct wal *w, struct nr_err *err)
{
    for (uint32_t i = w->rec.n_used; i < w->rec.n_segs; i++) {
        const struct wal_seg_info *si = &w->rec.segs[i];
        struct stat st;
        if (stat(si->path, &st) == 0 && (uint64_t)st.st_size != w->o.segment_bytes) {
            unlink(si->path); /* a spare of another segment_bytes: unused */
            continue;
        }
        int fd = open(si->path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return nr_errf(err, NR_EREFUSED, "wal %s: open failed (errno %d)", si->path,
                           errno);
        /* A torn header's file may hold batches tagged with the very seq
         * it gets next: zero all of it, not just the header. */
        int rc = si->needs_reset ? wal_seg_zero(fd, si->path, 0, w->o.segment_bytes, err) : 0;
        close(fd);
        if (rc != 0)
            return rc;
        if (wal_ring_count(&w->spares) >= w->o.spares)
            continue; /* extra spares stay on disk for later */
        fd = open(si->path, O_RDWR | O_CLOEXEC | (w->o.direct ? O_DIRECT : 0));
        if (fd < 0)
            return nr_errf(err, NR_EREFUSED, "wal %s: open failed (errno %d)", si->path,
                           errno);
        struct wal_seg_name nm;
        wal_seg_name_parse(strrchr(si->path, '/') + 1, w->o.group_id, &nm);
        struct wal_ring_item it = {.file_no = nm.file_no, .fd = fd};
        wal_ring_push(&w->spares, &it);
    }
    return 0;
}

/* ---- wal_prepare_segments: the blocking side ------------------------- */

static int spare_push(struct wal *w, const char *path, uint64_t file_no, struct nr_err *err)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | (w->o.direct ? O_DIRECT : 0));

    if (fd < 0)
        return nr_errf(err, NR_EREFUSED, "wal %s: open failed (errno %d)", path, errno);
    struct wal_ring_item it = {.file_no = file_no, .fd = fd};
    if (!wal_ring_push(&w->spares, &it)) {
        close(fd);
        return nr_errf(err, NR_EBUSY, "wal %s: spare ring full", path);
    }
    return 0;
}

/* Where a used segment lives: its used name, or its spare name while the
 * rename has not happened (the request is dropped when the ring is full). */
static void used_path_of(const struct wal *w, const struct wal_ring_item *it, char *path,
                         size_t cap)
{
    wal_seg_used_path(path, cap, w->dir, w->o.group_id, it->first_index, it->seq);
    if (access(path, F_OK) != 0)
        wal_seg_spare_path(path, cap, w->dir, w->o.group_id, it->file_no);
}

/* A compacted segment: its header block is zeroed and synced before
 * anything else, so after a crash it reads as a spare, never as a hole in
 * the chain; then it is reused under a new spare name, or removed when
 * enough spares wait. Neither rename nor unlink needs a directory fsync:
 * a zeroed header is a spare whatever the file is called. */
static int recycle(struct wal *w, const struct wal_ring_item *it, struct nr_err *err)
{
    char path[WAL_PATH_MAX], spare[WAL_PATH_MAX];

    used_path_of(w, it, path, sizeof(path));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return nr_errf(err, NR_EREFUSED, "wal %s: open failed (errno %d)", path, errno);
    int rc = wal_seg_zero(fd, path, 0, WAL_BLOCK, err);
    close(fd);
    if (rc != 0)
        return rc;
    atomic_fetch_add(&w->n_recycled, 1);
    /* Keep recycled segments up to twice the spare target: the poller may
     * take a spare before the segment it retires comes back, and a segment
     * unlinked here would be zero-filled anew (as many bytes again as the
     * log writes) by the loop below. */
    uint32_t keep_max = 2 * w->o.spares < WAL_RING_CAP - 1 ? 2 * w->o.spares : WAL_RING_CAP - 1;
    if (wal_ring_count(&w->spares) >= keep_max) {
        if (unlink(path) != 0)
            return nr_errf(err, NR_EREFUSED, "wal %s: unlink failed (errno %d)", path, errno);
        return 0;
    }
    uint64_t no = w->next_file_no++;
    wal_seg_spare_path(spare, sizeof(spare), w->dir, w->o.group_id, no);
    if (rename(path, spare) != 0)
        return nr_errf(err, NR_EREFUSED, "wal %s: rename to %s failed (errno %d)", path, spare,
                       errno);
    return spare_push(w, spare, no, err);
}

int wal_prepare_segments(struct wal *w, struct nr_err *err)
{
    struct wal_ring_item it;
    char from[WAL_PATH_MAX], to[WAL_PATH_MAX];

    /* Names first: a segment is always named before it can be retired. */
    while (wal_ring_pop(&w->named, &it)) {
        wal_seg_spare_path(from, sizeof(from), w->dir, w->o.group_id, it.file_no);
        wal_seg_used_path(to, sizeof(to), w->dir, w->o.group_id, it.first_index, it.seq);
        if (rename(from, to) != 0 && errno != ENOENT)
            return nr_errf(err, NR_EREFUSED, "wal %s: rename to %s failed (errno %d)", from,
                           to, errno);
    }
    while (wal_ring_pop(&w->retired, &it)) {
        int rc = recycle(w, &it, err);
        if (rc != 0)
            return rc;
    }
    while (wal_ring_count(&w->spares) < w->o.spares) {
        uint64_t no = w->next_file_no++;
        int rc = wal_seg_create(w->dir, w->o.group_id, no, w->o.segment_bytes, err);
        if (rc != 0)
            return rc;
        wal_seg_spare_path(from, sizeof(from), w->dir, w->o.group_id, no);
        rc = spare_push(w, from, no, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}
