/* The coordinator's ZAP handler (ZeroMQ RFC 27; docs/security.md): who may
 * connect. libzmq asks it about every CURVE handshake on the ROUTER over
 * a REP socket bound to inproc://zeromq.zap.01 in the coordinator's zmq
 * context. It is bound before the ROUTER binds — a handshake that finds no
 * handler is admitted — and served from the coordinator's event loop
 * (coord.c), so it needs no thread of its own.
 *
 * A key in the allow-list is answered 200 with user-id = the key (Z85),
 * which libzmq then attaches to every message of that connection
 * (zmq_msg_gets "User-Id"); any other is answered 400, so an unknown key
 * is refused before a single message of it is read. The list is re-read
 * when its file changes (co_zap_reload); a file that does not parse is
 * refused with a log line and the previous list stays. Single-threaded,
 * like the rest of the shell. */
#ifndef LATTICE_CO_ZAP_H
#define LATTICE_CO_ZAP_H

#include "shell.h"

typedef struct co_zap co_zap_t;

/* Loads the allow-list at allow_path and binds the handler in zmq_ctx.
 * Returns the handler, yours to co_zap_destroy, or NULL with the reason in
 * err: the list's own (file:line), or LX_E_IO when the handler cannot be
 * bound (another one is, in this context). */
co_zap_t *co_zap_new(void *zmq_ctx, const char *allow_path, lx_error_t *err);

/* Closes the socket and frees the list; accepts NULL. */
void co_zap_destroy(co_zap_t **z_p);

/* The REP socket, for the event loop's zmq_poll. */
void *co_zap_socket(co_zap_t *z);

/* Logs what the list holds (at start). */
void co_zap_describe(co_zap_t *z, coord_t *c);

/* Answers every request waiting; never blocks. */
void co_zap_serve(co_zap_t *z, coord_t *c, double now);

/* At most once a second: re-reads the allow-list when its file changed
 * (modification time, size or inode), and reports refusals whose log
 * lines were held back. */
void co_zap_reload(co_zap_t *z, coord_t *c, double now);

/* The role (co_role_t bits) of a key the current list holds. False when it
 * holds it no more (removed since the connection's handshake): the caller
 * drops the message, and that is logged here (rate-limited). */
bool co_zap_role(co_zap_t *z, coord_t *c, const char *key, double now, unsigned *role);

#endif
