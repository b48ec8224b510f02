/* ctl_socket.c - the control socket's file: mode 0600 from the start, a
 * dead process's leftover replaced, anything else at the path refused, and
 * the peer's credentials (SPEC section 1). */
#include "ctl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_BACKLOG 32

static int fill_addr(const char *path, struct sockaddr_un *sa, struct nr_err *err)
{
    size_t len = strlen(path);

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (len == 0)
        return nr_errf(err, NR_EINVAL, "control socket path is empty");
    if (len >= sizeof(sa->sun_path))
        return nr_errf(err, NR_EINVAL,
                       "control socket path is %zu bytes; a Unix socket path has at most %zu: %s",
                       len, sizeof(sa->sun_path) - 1, path);
    memcpy(sa->sun_path, path, len);
    return 0;
}

static const char *file_kind(mode_t mode)
{
    if (S_ISREG(mode))
        return "a regular file";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISLNK(mode))
        return "a symbolic link";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    return "not a socket";
}

/* Creates the parent directory (one level, 0700) when it is missing. */
static int ensure_parent(const char *path, struct nr_err *err)
{
    char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct stat st;

    snprintf(buf, sizeof(buf), "%s", path);
    const char *dir = dirname(buf);
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return nr_errf(err, NR_EREFUSED,
                           "refused: the control socket's parent %s is not a directory", dir);
        return 0;
    }
    if (errno != ENOENT)
        return nr_errf(err, NR_EIO, "control socket directory %s: stat: %s", dir,
                       strerror(errno));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return nr_errf(err, NR_EIO, "control socket directory %s: mkdir: %s", dir,
                       strerror(errno));
    return 0;
}

/* Something exists at path: replace it if it is a dead socket, else refuse. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, const struct stat *st,
                       ctl_log_fn *log, void *log_ctx, struct nr_err *err)
{
    char line[512];

    if (!S_ISSOCK(st->st_mode))
        return nr_errf(err, NR_EREFUSED,
                       "refused: %s exists and is %s, not a socket; remove it or choose another "
                       "control socket path",
                       path, file_kind(st->st_mode));
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return nr_errf(err, NR_EIO, "control socket %s: socket: %s", path, strerror(errno));
    int rc = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
    int saved = errno;
    close(probe);
    /* EAGAIN: a listener whose backlog is full is alive too. */
    if (rc == 0 || saved == EAGAIN || saved == EINPROGRESS)
        return nr_errf(err, NR_EREFUSED,
                       "refused: another process is listening on the control socket %s "
                       "(is a nicraftd already running with this socket?)",
                       path);
    if (saved != ECONNREFUSED)
        return nr_errf(err, NR_EREFUSED,
                       "refused: cannot tell whether the control socket %s is in use "
                       "(connect: %s); remove it if no nicraftd uses it",
                       path, strerror(saved));
    if (unlink(path) != 0 && errno != ENOENT)
        return nr_errf(err, NR_EIO, "control socket %s: unlink of the stale socket: %s", path,
                       strerror(errno));
    snprintf(line, sizeof(line),
             "replaced the stale control socket %s (nothing listened on it)", path);
    log(log_ctx, line);
    return 0;
}

static int bind_0600(int fd, const char *path, const struct sockaddr_un *sa,
                     struct ctl_socket_node *node, struct nr_err *err)
{
    struct stat st;

    /* Linux creates the socket node with the socket inode's mode, masked
     * by the umask: 0600 here means never wider, with no process-wide
     * umask change that other threads would see. */
    if (fchmod(fd, 0600) != 0)
        return nr_errf(err, NR_EIO, "control socket %s: fchmod 0600 before bind: %s", path,
                       strerror(errno));
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0)
        return nr_errf(err, errno == EADDRINUSE ? NR_EREFUSED : NR_EIO,
                       "control socket %s: bind: %s", path, strerror(errno));
    /* A umask wider than 077 left it narrower; 0600 exactly, never wider. */
    if (chmod(path, 0600) != 0 || lstat(path, &st) != 0)
        goto fail_unlink;
    if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0600) {
        errno = EPERM;
        goto fail_unlink;
    }
    node->dev = st.st_dev;
    node->ino = st.st_ino;
    return 0;

fail_unlink: {
    int saved = errno;
    unlink(path);
    return nr_errf(err, NR_EIO, "control socket %s: could not make its mode 0600: %s", path,
                   strerror(saved));
}
}

int ctl_socket_listen(const char *path, ctl_log_fn *log, void *log_ctx, int *fd_out,
                      struct ctl_socket_node *node, struct nr_err *err)
{
    struct sockaddr_un sa;
    struct stat st;
    int rc;

    if ((rc = fill_addr(path, &sa, err)) != 0)
        return rc;
    if ((rc = ensure_parent(path, err)) != 0)
        return rc;
    if (lstat(path, &st) == 0) {
        if ((rc = clear_stale(path, &sa, &st, log, log_ctx, err)) != 0)
            return rc;
    } else if (errno != ENOENT) {
        return nr_errf(err, NR_EIO, "control socket %s: lstat: %s", path, strerror(errno));
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nr_errf(err, NR_EIO, "control socket %s: socket: %s", path, strerror(errno));
    if ((rc = bind_0600(fd, path, &sa, node, err)) != 0)
        goto fail_close;
    if (listen(fd, LISTEN_BACKLOG) != 0) {
        rc = nr_errf(err, NR_EIO, "control socket %s: listen: %s", path, strerror(errno));
        unlink(path);
        goto fail_close;
    }
    *fd_out = fd;
    return 0;

fail_close:
    close(fd);
    return rc;
}

void ctl_socket_unlink_if_ours(const char *path, const struct ctl_socket_node *node)
{
    struct stat st;

    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == node->dev &&
        st.st_ino == node->ino)
        unlink(path);
}

int ctl_socket_peer(int fd, uint32_t *uid, int32_t *pid, struct nr_err *err)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
        return nr_errf(err, NR_EIO, "control connection: SO_PEERCRED: %s", strerror(errno));
    *uid = (uint32_t)cred.uid;
    *pid = (int32_t)cred.pid;
    return 0;
}
