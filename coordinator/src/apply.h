/* Applying a transition to the state: the only code that changes a
 * coordinator's state after it started (shell.c calls it once the journal
 * has committed the same transition). */
#ifndef LATTICE_CO_APPLY_H
#define LATTICE_CO_APPLY_H

#include "tx.h"

/* Applies every change of tx in order, taking over the jobs and manifests
 * it hands over. The changes were decided against this state, so they
 * hold; false only when memory ran out on the way (what could not be
 * recorded in memory is in the journal: a restart recovers it), with
 * err set. */
bool co_apply(co_state_t *s, co_tx_t *tx, lx_error_t *err);

#endif
