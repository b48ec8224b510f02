/* ctl_call.h - the client side of the control protocol (ctl_server.h): one
 * request, one response, within a deadline. For nicraftctl and tools. */
#ifndef NICRAFT_CTL_CALL_H
#define NICRAFT_CTL_CALL_H

#include <jansson.h>
#include <stdint.h>

#include "nr_err.h"

#define CTL_CALL_RESPONSE_MAX (16u * 1024u * 1024u) /* bytes of one response line */

/* A connection to the control socket. */
struct ctl_call {
    int fd;
    char path[108];
    uint64_t next_id;
};

/* Connects to path within timeout_ms. NR_EIO with the sentence
 * "cannot connect to the control socket PATH: <errno text>; is nicraftd
 * running? (--socket or NICRAFT_CONTROL_SOCKET)"; NR_EINVAL for a path too
 * long for a Unix socket. */
int ctl_call_open(struct ctl_call *cc, const char *path, uint32_t timeout_ms, struct nr_err *err);

void ctl_call_close(struct ctl_call *cc);

/* Sends {"cmd": cmd, "args": args, "id": N} (args borrowed, NULL: none)
 * and waits up to timeout_ms for the response with that id. On
 * {"ok": true} fills *result (a new reference, the caller decrefs) and
 * returns 0. On {"ok": false} returns the code named in "code" with the
 * server's sentence in *err. NR_EIO for a timeout, a closed connection or
 * a socket error; NR_EINVAL for a response that breaks the protocol. */
int ctl_call_run(struct ctl_call *cc, const char *cmd, json_t *args, uint32_t timeout_ms,
                 json_t **result, struct nr_err *err);

#endif
