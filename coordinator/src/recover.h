/* A restarted coordinator rebuilds its state from the journal: jobs (with
 * their programs, plans and options), frame states and failure budgets,
 * accepted results (into each job's manifest), audit records and counts,
 * blocks, quarantines, and the attempts that were in flight. Those belong
 * to no session until a worker re-announces them in HELLO.resumed; after
 * the grace period they go back to the queue (co_sched_tick). */
#ifndef LATTICE_CO_RECOVER_H
#define LATTICE_CO_RECOVER_H

#include "journal.h"

typedef struct co_recovered {
    uint64_t jobs, frames_done, attempts;
} co_recovered_t;

/* Fills the empty state s from journal j. now and wall are the shell's
 * monotonic and unix clocks (ms); orphaned attempts wait grace_ms. A job
 * that cannot be rebuilt (its program or config no longer loads) is left
 * out with an error line in log->log. LX_E_IO when the journal cannot be
 * read, LX_E_NOMEM. */
lx_result_t co_recover(co_state_t *s, co_journal_t *j, double now, double wall, double grace_ms,
                       co_tx_t *log, co_recovered_t *out, lx_error_t *err);

#endif
