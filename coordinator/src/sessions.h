/* Worker sessions: the messages a worker sends (HELLO, READY,
 * PROGRAM_GET, FRAME, CHUNK_DONE, CHUNK_FAIL, GOODBYE, HEARTBEAT), and
 * liveness both ways. Each handler asks the scheduler core what the
 * message means and commits the answer (shell.h). */
#ifndef LATTICE_CO_SESSIONS_H
#define LATTICE_CO_SESSIONS_H

#include "shell.h"

/* HELLO from `from`: a new session (or the same socket saying it again). */
void co_sessions_on_hello(coord_t *c, const co_peer_t *from, const lx_msg_t *m, double now);

/* Any other worker message, from the session of link l. */
void co_sessions_on_message(coord_t *c, co_link_t *l, const lx_msg_t *m, double now);

/* Whether the message type is one a worker sends in a session. */
bool co_sessions_takes(lx_msg_type_t type);

/* Sessions silent for `liveness` heartbeats are dead (their work goes
 * back to the queue); those the coordinator has said nothing to for a
 * heartbeat get a HEARTBEAT. */
void co_sessions_tick(coord_t *c, double now);

#endif
