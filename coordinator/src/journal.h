/* The coordinator's journal: SQLite in WAL mode under --state DIR (or in
 * memory for an embedded export). All of the coordinator's SQL is here.
 *
 * Writing: co_journal_write stores one transition (tx.h) in one SQLite
 * transaction, one named statement group per kind of change; the shell
 * applies the transition to the state only once this has committed. In a
 * batch (group commit, co_journal_batch_begin) a transition is a savepoint
 * of the batch's transaction instead, and the shell holds back what it
 * sends until the batch has committed.
 * Reading: co_journal_load hands a restarted coordinator every row that
 * matters, as typed records (recover.h rebuilds the state from them).
 *
 * Tables (docs/protocol.md, "Journal"), schema version 3:
 *   programs(hash PK, bytes)                    the program store
 *   jobs(id PK, owner, token (UNIQUE per owner), submit_hash, state, project, program_hash, config,
 *        config_hash, out, output, first, last, chunk, created, error, progress_ms,
 *        audit_rate, audited, disputed, rerendered, late)
 *   frames(job, frame, state, attempt, failures) a row once a frame leaves "pending"
 *   frame_failures(job, frame, worker)           who failed which frame
 *   attempts(id PK, job, first, last, warmup_from, worker, state, reason, audit)
 *   results(job, frame, attempt, worker, current, withdrawn, record)
 *                  record = FRAME without bytes; current = the frame's accepted result;
 *                  withdrawn = accepted once, then reopened (rerender, quarantine);
 *                  neither = a late result kept as evidence
 *   audits(job, frame, state, primary, auditor, third, primary_sig, auditor_sig, third_sig,
 *          build)
 *   blocks(job, worker, failed_chunks, blocked_until)   blocked_until: unix ms
 *   quarantine(worker PK, job, frame)
 *   workers(ident, name (PK together), build, threads, first_seen, last_seen, state) */
#ifndef LATTICE_CO_JOURNAL_H
#define LATTICE_CO_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "lattice/result.h"
#include "lattice/strbuf.h"
#include "tx.h"

typedef struct co_journal co_journal_t;

/* Opens (creating if needed) state_dir/journal.sqlite, or an in-memory
 * database when state_dir is NULL, and holds state_dir/lock (one
 * coordinator per directory). LX_E_IO with a message when the directory
 * is in use, cannot be created, or holds a journal of another schema
 * version. */
lx_result_t co_journal_open(const char *state_dir, co_journal_t **out, lx_error_t *err);
void co_journal_close(co_journal_t **j_p);

/* Checkpoints the journal's own thread has run: it copies the WAL back
 * into the database once a commit leaves 4,096 pages (16 MiB) in it, so
 * the loop never waits for that copy or its fdatasync. 0 for an
 * in-memory journal. */
uint64_t co_journal_checkpoints(co_journal_t *j);

/* Writes every journaled change of tx in one transaction (nothing of it
 * on failure); a transition of memory-only changes writes nothing. Times in tx are monotonic ms;
 * wall_offset_ms (unix ms minus monotonic ms) turns those that must outlive the process into unix
 * ms. */
lx_result_t co_journal_write(co_journal_t *j, const co_tx_t *tx, double wall_offset_ms,
                             lx_error_t *err);

/* Group commit. Between co_journal_batch_begin and co_journal_batch_end,
 * co_journal_write keeps each transition under a SAVEPOINT of one SQLite
 * transaction, begun at the first write: a transition it refuses is rolled
 * back alone (it changes nothing, as without a batch), and the others wait
 * for co_journal_batch_end, which commits them all at once. Nothing of a
 * batch is durable before co_journal_batch_end returns LX_OK, so whatever
 * a transition of the batch would send waits until then; on its failure
 * the whole batch is rolled back (LX_E_IO). A batch without writes costs
 * nothing. */
void co_journal_batch_begin(co_journal_t *j);
lx_result_t co_journal_batch_end(co_journal_t *j, lx_error_t *err);

/* The program stored under hash, appended to out; LX_E_NOTFOUND, LX_E_IO. */
lx_result_t co_journal_program(co_journal_t *j, const char *hash, lx_strbuf_t *out,
                               lx_error_t *err);

/* ---- reading back after a restart --------------------------------------
 * Strings and blobs are valid during the callback only. */

typedef struct co_journal_job {
    const char *id, *owner, *token, *submit_hash, *state, *program_hash, *config, *config_hash, *out,
        *output, *error; /* error: NULL when none */
    uint32_t chunk;
    int64_t first, last; /* the job's frames: a shard's are a slice of its plan's */
    double progress_ms, audit_rate; /* audit_rate < 0: no audits */
    double created;                 /* unix ms */
    uint64_t audited, disputed, rerendered, late;
} co_journal_job_t;

typedef struct co_journal_frame {
    const char *job;
    int64_t frame;
    const char *state; /* "pending", "running", "done", "failed" */
    uint64_t attempt;
} co_journal_frame_t;

typedef struct co_journal_failure {
    const char *job, *worker;
    int64_t frame;
} co_journal_failure_t;

typedef struct co_journal_result { /* current results only */
    const char *job;
    int64_t frame;
    uint64_t attempt;
    const void *record;
    size_t record_len;
} co_journal_result_t;

typedef struct co_journal_audit {
    const char *job;
    int64_t frame;
    co_audit_state_t state;
    const char *who[3]; /* "" for nobody */
    uint8_t sig[3][16];
    uint64_t build;
} co_journal_audit_t;

typedef struct co_journal_attempt { /* in flight */
    uint64_t id;
    const char *job, *worker;
    int64_t first, last, warmup_from;
    bool audit;
} co_journal_attempt_t;

typedef struct co_journal_block {
    const char *job, *worker;
    uint32_t failed_chunks;
    double until; /* unix ms */
} co_journal_block_t;

/* Called for each row; a callback returns false to stop the load with
 * LX_E_NOMEM (its own trouble). Jobs come first, in submission order. */
typedef struct co_journal_visitor {
    void *user;
    bool (*job)(void *user, const co_journal_job_t *row);
    bool (*frame)(void *user, const co_journal_frame_t *row);
    bool (*failure)(void *user, const co_journal_failure_t *row);
    bool (*result)(void *user, const co_journal_result_t *row);
    bool (*audit)(void *user, const co_journal_audit_t *row);
    bool (*block)(void *user, const co_journal_block_t *row);
    bool (*quarantine)(void *user, const char *worker);
    bool (*attempt)(void *user, const co_journal_attempt_t *row);
} co_journal_visitor_t;

/* Reads the journal back through v; *last_attempt = the largest attempt id
 * ever handed out. */
lx_result_t co_journal_load(co_journal_t *j, const co_journal_visitor_t *v, uint64_t *last_attempt,
                            lx_error_t *err);

#endif
