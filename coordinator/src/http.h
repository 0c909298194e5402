/* The --metrics endpoint: Prometheus text over HTTP (libmicrohttpd),
 * without a thread of its own. The event loop polls its epoll descriptor
 * with the ROUTER socket and lets it run, so a scrape reads the state in
 * the loop's thread: no lock, no copy, the numbers of that moment.
 * GET /metrics answers 200 with metrics.h's exposition; any other path
 * 404, any other method 405. At most 16 connections at once, each dropped
 * after 10 s, so scrapers cannot hold the coordinator. */
#ifndef LATTICE_CO_HTTP_H
#define LATTICE_CO_HTTP_H

#include <stdint.h>

#include "shell.h"

typedef struct co_http co_http_t;

/* Listens on addr, "HOST:PORT" with an IPv4 host ("0.0.0.0" for every
 * interface) and a port (0: the system picks one, co_http_port says
 * which). NULL with err set (LX_E_INVALID for a malformed address, LX_E_IO
 * when it cannot listen). c is borrowed and must outlive the server. */
co_http_t *co_http_new(coord_t *c, const char *addr, lx_error_t *err);
void co_http_destroy(co_http_t **h_p);

/* The descriptor to poll for input, and the port it listens on. */
int co_http_fd(const co_http_t *h);
uint16_t co_http_port(const co_http_t *h);

/* Serves whatever is ready without blocking (and drops timed-out
 * connections); call when co_http_fd is readable and on every tick. */
void co_http_run(co_http_t *h);

#endif
