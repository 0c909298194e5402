/* Decisions about audits (SUBMIT.audit_rate): which frames are rendered
 * again by another worker, how the answers are compared (content
 * signatures), how a dispute is settled (2 of 3), and the quarantine of
 * the odd worker out. Part of the scheduler core: it reads the state and
 * describes transitions; it never changes the state. */
#ifndef LATTICE_CO_AUDIT_H
#define LATTICE_CO_AUDIT_H

#include "tx.h"

/* What results are compared on: XXH3-128 over the lines
 * "key:hash:content\n" of a FRAME's files, then its time and camera bit
 * for bit: everything the manifest takes from it. A primary result's
 * hashes are those of the bytes the coordinator received (checked before
 * it is accepted), so a right-looking summary of wrong bytes cannot pass;
 * auditors only ever compare with results of their own build (the same
 * encoders give the same bytes), and a third opinion settles any
 * difference. */
void co_audit_signature(const lx_msg_t *m, uint8_t sig[16]);

/* A primary result of frame f of j, from attempt a by session w, is being
 * accepted: its audit record, audited when f is the first or last frame
 * of its chunk, or when a hash of (job, frame) falls under the rate (so
 * the choice does not depend on timing). Nothing without audits. */
void co_audit_on_result(const co_state_t *s, co_job_t *j, const co_attempt_t *a, int64_t f,
                        const co_session_t *w, const lx_msg_t *m, co_tx_t *tx);

/* Whether session w may render frame index i of j again for its audit:
 * another identity than the ones that answered already, of the build
 * that rendered it. */
bool co_audit_open_for(const co_job_t *j, int64_t i, const co_session_t *w);

/* Hands session w one frame of j to render again for comparison (see
 * co_audit_open_for). False when there is none for w. */
bool co_audit_assign(const co_state_t *s, const co_session_t *w, co_job_t *j, double now,
                     co_tx_t *tx);

/* The FRAME of audit attempt a: equal content confirms; a disagreement
 * asks a third worker; the third answer settles it — the worker that
 * matches neither of the others is quarantined, or, when all three
 * differ, the job fails. */
void co_audit_on_frame(const co_state_t *s, co_job_t *j, const co_attempt_t *a, const lx_msg_t *m,
                       double now, co_tx_t *tx);

#endif
