/* ctl_server_int.h - the server's tables, shared by ctl_server.c (socket,
 * poll loop, accept) and ctl_conn.c (one connection: lines, dispatch,
 * replies, output). */
#ifndef NICRAFT_CTL_SERVER_INT_H
#define NICRAFT_CTL_SERVER_INT_H

#include <stdbool.h>

#include "ctl_int.h"
#include "ctl_server.h"

struct ctl_command {
    char name[CTL_CMD_NAME_MAX + 1];
    ctl_handler_fn *fn;
    void *ctx;
};

/* One connection slot. fd < 0: free. gen changes at every accept, so a
 * pending request or an epoll event of an earlier connection in this slot
 * never reaches the new one. */
struct ctl_conn {
    int fd;
    uint64_t gen;
    uint32_t peer_uid;
    int32_t peer_pid;
    char *in;              /* line_max_bytes + 1 bytes */
    uint32_t in_len;
    bool is_discarding;    /* inside an over-long line: drop up to its newline */
    bool is_read_closed;   /* the peer half-closed: answer what is owed, then close */
    bool is_doomed;        /* close at the next safe point (not inside dispatch) */
    bool is_epollout;      /* EPOLLOUT is in the interest set */
    char *out;             /* unsent response bytes, out_len <= out_cap <= out_max_bytes */
    uint32_t out_len;
    uint32_t out_cap;
    uint32_t n_pending;    /* deferred requests of this connection, not timed out */
};

enum ctl_req_state {
    CTL_REQ_FREE = 0,
    CTL_REQ_OWED,     /* the handler owes a reply; the client waits */
    CTL_REQ_EXPIRED,  /* the client was told it timed out; the reply will be dropped */
};

struct ctl_req {
    struct ctl_server *s;
    enum ctl_req_state state;
    uint32_t conn_slot;
    uint64_t conn_gen;
    uint32_t peer_uid;
    int32_t peer_pid;
    uint64_t deadline_ms;  /* CLOCK_MONOTONIC */
    json_t *id;            /* a reference of our own, or NULL */
    char cmd[CTL_CMD_NAME_MAX + 1];
};

struct ctl_server {
    char path[108];
    struct ctl_socket_node node;
    int listen_fd;
    int epoll_fd;
    uint32_t max_clients;
    uint32_t line_max_bytes;
    uint32_t out_max_bytes;
    uint32_t max_pending;
    uint32_t max_pending_per_client;
    uint32_t pending_timeout_ms;
    ctl_log_fn *log;
    void *log_ctx;
    uint64_t next_gen;
    struct ctl_conn *conns;  /* max_clients */
    struct ctl_req *reqs;    /* max_pending */
    struct ctl_command cmds[CTL_COMMANDS_MAX];
    uint32_t n_cmds;
    struct ctl_server_stats stats;
};

/* ctl_conn.c */
void ctl_conn_on_readable(struct ctl_server *s, struct ctl_conn *c);
void ctl_conn_flush(struct ctl_server *s, struct ctl_conn *c);
void ctl_conn_close(struct ctl_server *s, struct ctl_conn *c);
void ctl_conn_expire(struct ctl_server *s, uint64_t now_ms);
void ctl_conn_doom(struct ctl_server *s, struct ctl_conn *c, const char *why);
/* Writes one line straight to a connection we are refusing, best effort. */
void ctl_conn_refuse(int fd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t ctl_now_ms(void);
void ctl_logf(struct ctl_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
