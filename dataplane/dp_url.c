/* dp_url.c - udp://IP:PORT, parsed strictly (dp_udp.h): lower-case
 * scheme, dotted IPv4 without leading zeros, a port, nothing after; each
 * refusal quotes the URL and names the part. */
#include "dp_udp.h"

#include <stdio.h>
#include <string.h>

#include "nr_le.h"

/* ---- URLs ---- */

/* Reads 1..max_digits decimal digits without a leading zero (a lone "0" is
 * fine) into *v; returns the characters read or 0. */
static size_t read_decimal(const char *s, size_t max_digits, uint32_t *v)
{
    size_t n = 0;
    uint32_t x = 0;

    while (n < max_digits && s[n] >= '0' && s[n] <= '9') {
        x = x * 10 + (uint32_t)(s[n] - '0');
        n++;
    }
    if (n == 0 || (n > 1 && s[0] == '0') || (s[n] >= '0' && s[n] <= '9'))
        return 0;
    *v = x;
    return n;
}

static int parse_ipv4(const char *url, const char *s, uint32_t *ip, size_t *used,
                      struct nr_err *err)
{
    size_t at = 0;
    uint32_t addr = 0;

    for (int i = 0; i < 4; i++) {
        uint32_t octet;
        size_t n = read_decimal(s + at, 3, &octet);
        if (n == 0 || octet > 255)
            return nr_errf(err, NR_EINVAL,
                           "url \"%s\": octet %d of the IPv4 address is not a decimal "
                           "0..255 without leading zeros",
                           url, i + 1);
        at += n;
        addr = (addr << 8) | octet;
        if (i < 3) {
            if (s[at] != '.')
                return nr_errf(err, NR_EINVAL,
                               "url \"%s\": want an IPv4 address A.B.C.D (no host names); "
                               "'.' missing after octet %d",
                               url, i + 1);
            at++;
        }
    }
    *ip = addr;
    *used = at;
    return 0;
}

int dp_url_parse(const char *url, bool allow_port_zero, struct dp_endpoint *out, struct nr_err *err)
{
    static const char scheme[] = "udp://";

    if (url == NULL)
        return nr_errf(err, NR_EINVAL, "url is missing; want udp://IP:PORT");
    size_t len = strnlen(url, DP_URL_LEN_MAX + 1);
    if (len > DP_URL_LEN_MAX)
        return nr_errf(err, NR_EINVAL, "url \"%.*s...\" is longer than %u characters",
                       (int)DP_URL_LEN_MAX, url, DP_URL_LEN_MAX);
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return nr_errf(err, NR_EINVAL, "url \"%s\" does not start with udp://; want udp://IP:PORT",
                       url);
    const char *s = url + sizeof(scheme) - 1;
    uint32_t ip = 0;
    size_t used = 0;
    int rc = parse_ipv4(url, s, &ip, &used, err);
    if (rc != 0)
        return rc;
    s += used;
    if (*s != ':')
        return nr_errf(err, NR_EINVAL, "url \"%s\": want ':PORT' right after the IPv4 address",
                       url);
    s++;
    uint32_t port;
    size_t n = read_decimal(s, 5, &port);
    if (n == 0 || port > 65535 || (port == 0 && !allow_port_zero))
        return nr_errf(err, NR_EINVAL,
                       "url \"%s\": port is not a decimal %s..65535 without "
                       "leading zeros",
                       url, allow_port_zero ? "0" : "1");
    if (s[n] != '\0')
        return nr_errf(err, NR_EINVAL, "url \"%s\": unexpected \"%s\" after the port", url, s + n);
    out->ipv4 = ip;
    out->port = (uint16_t)port;
    return 0;
}

char *dp_endpoint_format(const struct dp_endpoint *ep, char *buf, size_t buf_len)
{
    snprintf(buf, buf_len, "udp://%u.%u.%u.%u:%u", (unsigned)(ep->ipv4 >> 24),
             (unsigned)(ep->ipv4 >> 16) & 255u, (unsigned)(ep->ipv4 >> 8) & 255u,
             (unsigned)ep->ipv4 & 255u, (unsigned)ep->port);
    return buf;
}
