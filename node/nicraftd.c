/* nicraftd - a nicraft member. Flags (or NICRAFT_* variables): --help. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

static struct node *the_node;
static volatile sig_atomic_t stop_requested; /* a signal before the node ran */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (the_node != NULL)
        node_stop(the_node);
}

static void warn_line(void *ctx, const char *sentence)
{
    (void)ctx;
    fprintf(stderr, "nicraftd: warning: %s\n", sentence);
}

static const char *env_get(const char *name)
{
    return getenv(name);
}

int main(int argc, char **argv)
{
    static struct nr_flags flags; /* 10 KiB */
    struct nr_err err = {0};
    struct sigaction sa;

    if (nr_flags_parse(argc, argv, env_get, warn_line, NULL, &flags, &err) != 0) {
        fprintf(stderr, "nicraftd: %s\n", err.msg);
        return 2;
    }
    if (flags.help) {
        nr_flags_usage(stdout);
        return 0;
    }
    if (flags.version) {
        printf("nicraftd %s\n", NODE_VERSION);
        return 0;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (node_create(&flags, &the_node, &err) != 0) {
        fprintf(stderr, "nicraftd %s: cannot start: %s\n", flags.name, err.msg);
        return 1;
    }
    if (stop_requested)
        node_stop(the_node);
    int rc = node_run(the_node, &err);
    struct node *n = the_node;
    the_node = NULL;
    node_destroy(n);
    if (rc != 0) {
        fprintf(stderr, "nicraftd %s: stopped: %s\n", flags.name, err.msg);
        return 1;
    }
    return 0;
}
