/* ctl_scen.h - the control scenario runner's shared state: the output of
 * the command being run, the test server process, the named connections. */
#ifndef NICRAFT_CTL_SCEN_H
#define NICRAFT_CTL_SCEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SCEN_CONNS_MAX 16
#define SCEN_MANY_MAX 128
#define SCEN_TOKENS_MAX 32

struct scen_out {
    char *p;
    size_t len;
    size_t cap;
};

void scen_out_reset(struct scen_out *o);
void scen_outf(struct scen_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct scen_conn {
    char name[32];
    int fd; /* -1: free */
};

struct scen {
    struct scen_out out;
    char tmp[256];        /* this file's directory */
    char sock[300];       /* tmp/ctl.sock */
    const char *server_bin;
    const char *ctl_bin;
    const char *canned_root;
    pid_t server;         /* 0: none */
    char server_err[320]; /* its stderr file */
    long server_err_off;  /* what `server log` printed already */
    struct scen_conn conns[SCEN_CONNS_MAX];
    int many[SCEN_MANY_MAX];
    int n_many;
};

/* Runs one command line; prints into s->out. */
void scen_run(struct scen *s, const char *line);
/* Stops what a file left running and closes its connections. */
void scen_cleanup(struct scen *s);

/* ctl_scen_proc.c: processes (the test server, nicraftctl, a client as
 * another uid). */
void scen_cmd_server(struct scen *s, char **tok, int n);
void scen_cmd_ctl(struct scen *s, char **tok, int n);
void scen_cmd_as(struct scen *s, char **tok, int n, const char *json);
void scen_server_stop(struct scen *s, int sig);

/* ctl_scen_conn.c: raw connections. */
int scen_connect(const char *path);
int scen_send_all(int fd, const char *p, size_t len);
/* Reads one line (without '\n') into buf; 1 line, 0 closed, -1 timeout
 * or error (errno). */
int scen_read_line(int fd, char *buf, size_t cap, int timeout_ms);
void scen_cmd_conn(struct scen *s, char **tok, int n, const char *rest);
void scen_cmd_stats(struct scen *s, char **tok, int n, bool is_wait);

#endif
