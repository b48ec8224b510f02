/* snap_dir.c - the snapshot directory: finding the newest snapshot that
 * verifies (falling back past damaged ones, saying so) and collecting old
 * snapshots and stale temporary files. Blocking I/O for the control thread. */
#include "snap_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the directory ----------------------------------------------------- */

struct snap_entry {
    uint64_t term;
    uint64_t index;
    bool is_tmp;
};

struct snap_list {
    struct snap_entry *v;
    uint32_t n;
    uint32_t cap;
};

/* 16 lowercase hex digits, as snap_file_path writes them. */
static bool parse_hex16(const char *s, uint64_t *v)
{
    uint64_t x = 0;

    for (int i = 0; i < 16; i++) {
        char c = s[i];
        unsigned d;

        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        x = (x << 4) | d;
    }
    *v = x;
    return true;
}

/* "snap-<term>-<index>.snap" or the same with ".tmp"; nothing else. */
static bool parse_name(const char *name, struct snap_entry *e)
{
    size_t len = strlen(name);

    if (len < 43 || strncmp(name, "snap-", 5) != 0 || name[21] != '-' ||
        !parse_hex16(name + 5, &e->term) || !parse_hex16(name + 22, &e->index))
        return false;
    if (strcmp(name + 38, ".snap") == 0)
        e->is_tmp = false;
    else if (strcmp(name + 38, ".snap.tmp") == 0)
        e->is_tmp = true;
    else
        return false;
    return true;
}

/* Newest first: highest index, then highest term. */
static int entry_cmp(const void *a, const void *b)
{
    const struct snap_entry *x = a, *y = b;

    if (x->index != y->index)
        return x->index < y->index ? 1 : -1;
    if (x->term != y->term)
        return x->term < y->term ? 1 : -1;
    return (int)x->is_tmp - (int)y->is_tmp;
}

static int list_dir(const char *dir, struct snap_list *l, struct nr_err *err)
{
    struct dirent *de;
    int rc = 0;

    memset(l, 0, sizeof(*l));
    DIR *d = opendir(dir);
    if (d == NULL)
        return nr_errf(err, NR_EINVAL, "snapshot directory %s: cannot open: %s (errno %d)", dir,
                       strerror(errno), errno);
    while ((de = readdir(d)) != NULL) {
        struct snap_entry e;

        if (!parse_name(de->d_name, &e))
            continue;
        if (l->n == SNAP_DIR_FILES_MAX) {
            rc = nr_errf(err, NR_EINVAL,
                         "snapshot directory %s: more than %u snapshot files; "
                         "remove old ones by hand",
                         dir, SNAP_DIR_FILES_MAX);
            break;
        }
        if (l->n == l->cap) {
            uint32_t cap = l->cap == 0 ? 16 : l->cap * 2;
            struct snap_entry *v = realloc(l->v, cap * sizeof(*v));
            if (v == NULL) {
                rc = nr_errf(err, NR_ENOMEM, "snapshot directory %s: out of memory", dir);
                break;
            }
            l->v = v;
            l->cap = cap;
        }
        l->v[l->n++] = e;
    }
    closedir(d);
    if (rc != 0) {
        free(l->v);
        return rc;
    }
    if (l->n > 0)
        qsort(l->v, l->n, sizeof(l->v[0]), entry_cmp);
    return 0;
}

/* Verifies one snapshot of the list, the name against the header too. */
static int verify_entry(const char *path, const struct snap_entry *e, uint64_t cluster_id,
                        uint64_t member_id, struct nr_err *err)
{
    struct snap_reader *r;
    struct snap_header h;
    int rc = snap_reader_open(path, cluster_id, member_id, &r, &h, err);

    if (rc != 0)
        return rc;
    snap_reader_close(r);
    if (h.meta.index != e->index || h.meta.term != e->term)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot %s: offset %u: the header says term %" PRIu64 " index %" PRIu64
                       ", the name disagrees",
                       path, SNAP_OFF_INDEX, h.meta.term, h.meta.index);
    return 0;
}

int snap_find_latest(const char *dir, uint64_t cluster_id, uint64_t member_id, char *path,
                     size_t path_len, struct nr_err *warn, struct nr_err *err)
{
    struct snap_list l;
    struct nr_err first = {0};
    uint32_t n_damaged = 0, n_snaps = 0;
    char p[PATH_MAX];
    int rc;

    NR_ASSERT(dir != NULL);
    if (warn != NULL) {
        warn->code = 0;
        warn->msg[0] = '\0';
    }
    if ((rc = list_dir(dir, &l, err)) != 0)
        return rc;
    rc = NR_ERANGE;
    for (uint32_t i = 0; i < l.n; i++) {
        struct nr_err e = {0};

        if (l.v[i].is_tmp)
            continue; /* an unfinished write: never a candidate */
        n_snaps++;
        if (snap_file_path(p, sizeof(p), dir, l.v[i].term, l.v[i].index, false, &e) != 0 ||
            verify_entry(p, &l.v[i], cluster_id, member_id, &e) != 0) {
            if (n_damaged++ == 0)
                first = e;
            continue;
        }
        int n = snprintf(path, path_len, "%s", p);
        if (n < 0 || (size_t)n >= path_len) {
            rc = nr_errf(err, NR_EINVAL, "snapshot %s: path longer than %zu bytes", p, path_len);
            break;
        }
        if (n_damaged > 0) {
            const char *base = strrchr(p, '/');
            nr_errf(warn, NR_ECORRUPT,
                    "using older %s: %u newer failed verification, the "
                    "newest: %s",
                    base == NULL ? p : base + 1, n_damaged, first.msg);
        }
        rc = 0;
        break;
    }
    free(l.v);
    if (rc == NR_ERANGE && n_snaps == 0)
        return nr_errf(err, NR_ERANGE, "snapshot directory %s: no snapshot", dir);
    if (rc == NR_ERANGE)
        return nr_errf(err, NR_ERANGE,
                       "snapshot directory %s: none of %u snapshots verifies; "
                       "the newest: %s",
                       dir, n_snaps, first.msg);
    return rc;
}

static int remove_file(const char *dir, const struct snap_entry *e, struct nr_err *err)
{
    char p[PATH_MAX];
    int rc = snap_file_path(p, sizeof(p), dir, e->term, e->index, e->is_tmp, err);

    if (rc != 0)
        return rc;
    if (unlink(p) != 0 && errno != ENOENT)
        return nr_errf(err, NR_EIO, "snapshot %s: cannot remove: %s (errno %d)", p,
                       strerror(errno), errno);
    return 0;
}

int snap_gc(const char *dir, uint32_t keep, struct nr_err *err)
{
    struct snap_list l;
    uint32_t n_kept = 0, n_removed = 0;
    char p[PATH_MAX];
    int rc;

    NR_ASSERT(dir != NULL);
    if (keep == 0)
        return nr_errf(err, NR_EINVAL,
                       "snapshot directory %s: gc must keep at least one "
                       "snapshot (keep=0)",
                       dir);
    if ((rc = list_dir(dir, &l, err)) != 0)
        return rc;
    for (uint32_t i = 0; i < l.n && rc == 0; i++) {
        const struct snap_entry *e = &l.v[i];
        bool drop = e->is_tmp || n_kept >= keep;

        if (!drop) {
            /* Verification costs a read of each kept file: gc runs after a
             * snapshot is taken (rarely), and deleting the last good one
             * because a damaged one looked newer would lose the state. */
            struct nr_err ignored;
            if (snap_file_path(p, sizeof(p), dir, e->term, e->index, false, &ignored) == 0 &&
                verify_entry(p, e, 0, 0, &ignored) == 0)
                n_kept++;
            continue;
        }
        rc = remove_file(dir, e, err);
        n_removed += rc == 0;
    }
    free(l.v);
    if (rc == 0 && n_removed > 0) {
        /* Removals need not be durable for safety; syncing keeps a crash
         * from bringing back files the operator saw go. */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}
