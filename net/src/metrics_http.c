/* A Prometheus endpoint (see lattice/metrics_http.h). */
#include "lattice/metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lx_metrics_http {
    lx_metrics_render_fn render;
    void *user;
    struct MHD_Daemon *d;
    int fd;
    uint16_t port;
};

static enum MHD_Result s_queue(struct MHD_Connection *conn, unsigned status, const char *body,
                               size_t len, const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result s_answer(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **req)
{
    (void)version;
    (void)upload;
    (void)req;
    lx_metrics_http_t *h = cls;
    if (*upload_size)
        return MHD_NO; /* a scrape has no body */
    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n", 13, text);
    if (strcmp(url, "/metrics") != 0)
        return s_queue(conn, MHD_HTTP_NOT_FOUND, "GET /metrics\n", 13, text);
    lx_strbuf_t out;
    lx_strbuf_init(&out, NULL);
    h->render(h->user, &out);
    enum MHD_Result ok =
        out.failed ? s_queue(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", 14, text)
                   : s_queue(conn, MHD_HTTP_OK, out.buf, out.len,
                             "text/plain; version=0.0.4; charset=utf-8");
    lx_strbuf_release(&out);
    return ok;
}

/* "HOST:PORT" into an IPv4 address. */
static bool s_parse(const char *addr, struct sockaddr_in *sa)
{
    const char *colon = strrchr(addr, ':');
    char host[64];
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return false;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return false;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

lx_metrics_http_t *lx_metrics_http_new(const char *addr, lx_metrics_render_fn render, void *user,
                                       lx_error_t *err)
{
    struct sockaddr_in sa;
    if (!s_parse(addr, &sa)) {
        lx_fail(err, LX_E_INVALID,
                "--metrics '%s': expected HOST:PORT with an IPv4 host, such "
                "as 127.0.0.1:9464 or 0.0.0.0:9464",
                addr);
        return NULL;
    }
    lx_metrics_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        lx_fail(err, LX_E_NOMEM, "out of memory");
        return NULL;
    }
    h->render = render;
    h->user = user;
    /* No thread of its own: the event loop polls the epoll descriptor. */
    h->d = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, s_answer, h, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, 16u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    const union MHD_DaemonInfo *fd =
        h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    const union MHD_DaemonInfo *port =
        h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!fd || !port) {
        lx_fail(err, LX_E_IO, "--metrics: cannot listen on '%s'", addr);
        lx_metrics_http_destroy(&h);
        return NULL;
    }
    h->fd = fd->epoll_fd;
    h->port = port->port;
    return h;
}

void lx_metrics_http_destroy(lx_metrics_http_t **h_p)
{
    if (!h_p || !*h_p)
        return;
    if ((*h_p)->d)
        MHD_stop_daemon((*h_p)->d);
    free(*h_p);
    *h_p = NULL;
}

int lx_metrics_http_fd(const lx_metrics_http_t *h) { return h->fd; }

uint16_t lx_metrics_http_port(const lx_metrics_http_t *h) { return h->port; }

void lx_metrics_http_run(lx_metrics_http_t *h) { MHD_run(h->d); }
