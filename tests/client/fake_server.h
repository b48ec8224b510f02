/* fake_server.h - a test peer for the client library and nicraft-bench: a
 * real UDP socket speaking nicraft frames and client_wire.h, answering as a
 * scripted member would (OK with a small in-memory store and per-client
 * sessions, NOT_LEADER with or without a hint, BUSY, silence, lost
 * answers). Not a mock of the library: it sees only bytes on the wire. */
#ifndef NICRAFT_FAKE_SERVER_H
#define NICRAFT_FAKE_SERVER_H

#include <stdint.h>
#include <sys/types.h>

#include "dp_udp.h"

#define FAKE_CLUSTER UINT64_C(0xc11e7700000000a1)

enum fake_mode {
    FAKE_OK = 0,         /* a leader: applies writes once per (client_id, seq) */
    FAKE_NOT_LEADER = 1, /* answers NOT_LEADER naming cfg.hint (none when 0) */
    FAKE_SILENT = 2,     /* never answers */
};

struct fake_config {
    enum fake_mode mode;
    uint64_t server_id;       /* non-zero, the frames' sender */
    struct dp_endpoint hint;  /* FAKE_NOT_LEADER: the leader to name; ipv4 0 for none */
    uint32_t busy_first;      /* FAKE_OK: BUSY for the first this many requests */
    uint32_t drop_first;      /* FAKE_OK: apply, but do not answer, the first this many */
    uint32_t run_ms;          /* ends after this long (a test peer never lingers) */
};

/* Binds a UDP socket on 127.0.0.1 (port 0: the kernel picks) and returns
 * its descriptor, and the port in *port; -1 on failure (printed). */
int fake_server_open(uint16_t want_port, uint16_t *port);

/* Serves on fd until cfg->run_ms has passed or SIGTERM. Keys that start
 * with "refuse" are answered NR_KV_ERROR with a sentence. */
void fake_server_serve(int fd, const struct fake_config *cfg);

/* Opens a socket, forks a child serving it and returns the child's pid
 * (and the port in *port), or -1. */
pid_t fake_server_spawn(const struct fake_config *cfg, uint16_t *port);

/* SIGTERM to the child and reaps it. */
void fake_server_stop(pid_t pid);

#endif
