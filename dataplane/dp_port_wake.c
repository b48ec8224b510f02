/* dp_port_wake.c - the kernel sockets under a port, for an idle poller to
 * block on (see dp_port_rx_wait_fd in dp_port.h). Start-up code. */
#include "dp_port.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <rte_ethdev.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif

/* Whether fd is a socket of the domain, on if_index where the domain tells
 * (AF_PACKET's getsockname does; an XDP socket's does not). */
static bool is_port_socket(int fd, int want_domain, uint32_t if_index)
{
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != want_domain)
        return false;
    if (want_domain != AF_PACKET || if_index == 0)
        return true;
    struct sockaddr_ll sll;
    socklen_t sll_len = sizeof(sll);
    return getsockname(fd, (struct sockaddr *)&sll, &sll_len) == 0 &&
           (uint32_t)sll.sll_ifindex == if_index;
}

/* Adds the port's sockets of the domain to epfd; returns how many. */
static uint32_t add_port_sockets(const struct dp_port *port, int epfd)
{
    struct rte_eth_dev_info info;
    int domain;
    if (rte_eth_dev_info_get(port->port_id, &info) != 0)
        return 0;
    if (strcmp(info.driver_name, "net_af_packet") == 0)
        domain = AF_PACKET;
    else if (strcmp(info.driver_name, "net_af_xdp") == 0)
        domain = AF_XDP;
    else
        return 0;
    uint32_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) { /* bounded by open fds */
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end != '\0' || fd < 0 || fd == dirfd(d) || fd > INT32_MAX ||
            !is_port_socket((int)fd, domain, info.if_index))
            continue;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = (int)fd};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, (int)fd, &ev) == 0)
            n++;
    }
    closedir(d);
    return n;
}

int dp_port_rx_wait_fd(const struct dp_port *port, uint32_t *n_fds)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    uint32_t n = epfd >= 0 ? add_port_sockets(port, epfd) : 0;

    if (n == 0 && epfd >= 0) { /* nothing to block on: the poller sleeps */
        close(epfd);
        epfd = -1;
    }
    if (n_fds != NULL)
        *n_fds = n;
    return epfd;
}
