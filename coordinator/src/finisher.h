/* Finisher: writes a complete job's export (co_output_finish: the files
 * made once per export, then metadata.json) on a thread of its own, so
 * the event loop keeps serving while tracks are evaluated and videos
 * encoded (seconds to minutes for large ones).
 *
 * While a finisher runs, its job must not change: the scheduler gives a
 * finishing job no work (co_sched_dispatch, co_audit_assign and
 * co_sched_finish skip it), a quarantine reopens none of its frames, it is
 * neither cancelled nor failed, a RERENDER of it (or of another job in its
 * directory) waits for it to end, and co_job_free joins it first. The shell polls co_finisher_done
 * each round and then takes the result with co_finisher_join. */
#ifndef LATTICE_CO_FINISHER_H
#define LATTICE_CO_FINISHER_H

#include <stdbool.h>

#include "output.h"
#include "state.h"

typedef struct co_finisher co_finisher_t;

/* Starts writing j's export into its OUT under roots (both borrowed: they
 * must outlive the finisher). exported_at and audit_json (may be NULL) are
 * copied. NULL when no thread can be started: the caller writes it
 * itself. */
co_finisher_t *co_finisher_start(const co_roots_t *roots, const co_job_t *j,
                                 const char *exported_at, double elapsed_ms,
                                 const char *audit_json);

/* Asks the writing to stop soon (between files and video frames), before
 * metadata.json: co_finisher_join then says LX_E_CANCELLED, unless it
 * was over already. Thread-safe. */
void co_finisher_stop(co_finisher_t *f);

/* Whether the writing is over; never blocks. Thread-safe. */
bool co_finisher_done(const co_finisher_t *f);

/* Waits for the writing to end, frees the finisher and NULLs *self_p: the
 * result of co_output_finish, the leftovers it removed in *temps and the
 * failure in err. Accepts NULL (LX_OK). */
lx_result_t co_finisher_join(co_finisher_t **self_p, unsigned *temps, lx_error_t *err);

#endif
