/* Client requests: SUBMIT, STATUS, WATCH, CANCEL_JOB, RERENDER, WORKERS.
 * Each is answered (JOBS, WORKER_LIST or ERROR); requests that change
 * anything decide with the scheduler core and commit (shell.h) first. */
#ifndef LATTICE_CO_CLIENTS_H
#define LATTICE_CO_CLIENTS_H

#include "shell.h"

/* Whether the message type is a client request. */
bool co_clients_takes(lx_msg_type_t type);

void co_clients_on_message(coord_t *c, const co_peer_t *from, const lx_msg_t *m, double now);

#endif
