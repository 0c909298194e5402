/* A Prometheus endpoint (`--metrics HOST:PORT` of the coordinator and the
 * worker): HTTP by libmicrohttpd, without a thread of its own. The
 * process's event loop polls lx_metrics_http_fd with its sockets and calls
 * lx_metrics_http_run, so a scrape is rendered in the loop's thread: no
 * lock, no copy, the numbers of that moment. GET /metrics answers 200
 * with what the render callback appends (text format 0.0.4); any other
 * path 404, any other method 405. At most 16 connections at once, each
 * dropped after 10 s, so scrapers cannot hold the process. No
 * authentication: bind it where only the scraper reaches. */
#ifndef LATTICE_METRICS_HTTP_H
#define LATTICE_METRICS_HTTP_H

#include <stdint.h>

#include "lattice/result.h"
#include "lattice/strbuf.h"

typedef struct lx_metrics_http lx_metrics_http_t;

/* Appends the exposition to out. */
typedef void (*lx_metrics_render_fn)(void *user, lx_strbuf_t *out);

/* Listens on addr, "HOST:PORT" with an IPv4 host ("0.0.0.0" for every
 * interface) and a port (0: the system picks one, lx_metrics_http_port
 * says which). NULL with err set (LX_E_INVALID for a malformed address,
 * LX_E_IO when it cannot listen). user is borrowed. */
lx_metrics_http_t *lx_metrics_http_new(const char *addr, lx_metrics_render_fn render, void *user,
                                       lx_error_t *err);
void lx_metrics_http_destroy(lx_metrics_http_t **h_p);

/* The descriptor to poll for input, and the port it listens on. */
int lx_metrics_http_fd(const lx_metrics_http_t *h);
uint16_t lx_metrics_http_port(const lx_metrics_http_t *h);

/* Serves whatever is ready without blocking (and drops timed-out
 * connections); call when the descriptor is readable and on every tick. */
void lx_metrics_http_run(lx_metrics_http_t *h);

#endif
