/* The coordinator's journal: SQLite in WAL mode under --state DIR (or in
 * memory for an embedded export). Every state transition is written here
 * before the message that depends on it is sent, so a restarted
 * coordinator can rebuild jobs, frames, attempts and results from it.
 *
 * Tables (docs/protocol.md, "Journal"):
 *   programs(hash PK, bytes)                       the program store
 *   jobs(id PK, token UNIQUE, submit_hash, state, project, program_hash,
 *        config, config_hash, out, output, first, last, chunk, created, error)
 *   frames(job, frame, state, attempt, failures)   one row per frame
 *   attempts(id PK, job, first, last, warmup_from, worker, state, reason)
 *   results(job, frame, attempt, worker, current, record)  record = FRAME without bytes
 *   workers(name, build, threads, first_seen, last_seen, state) */
#ifndef LATTICE_COORD_JOURNAL_H
#define LATTICE_COORD_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "lattice/result.h"
#include "lattice/strbuf.h"

typedef struct journal journal_t;

/* Opens (creating if needed) state_dir/journal.sqlite, or an in-memory
 * database when state_dir is NULL. */
lx_result_t journal_open(const char *state_dir, journal_t **out, lx_error_t *err);
void journal_close(journal_t **j);

/* Transactions group the rows of one transition. */
lx_result_t journal_begin(journal_t *j, lx_error_t *err);
lx_result_t journal_commit(journal_t *j, lx_error_t *err);
void journal_rollback(journal_t *j);

/* Runs one statement. `types` names the arguments that follow, one letter
 * each: s (const char *, NULL = NULL), i (int64_t), d (double),
 * b (const void *, size_t). Statements are prepared once and cached by
 * the address of sql, so pass string literals. */
lx_result_t journal_exec(journal_t *j, lx_error_t *err, const char *sql, const char *types, ...);

/* Runs a query and calls row() for each result row (stop early by
 * returning false). Arguments as for journal_exec. Columns are read with
 * the journal_col_* functions during the call only. */
typedef struct journal_row journal_row_t;
lx_result_t journal_each(journal_t *j, lx_error_t *err, bool (*row)(void *user, journal_row_t *r),
                         void *user, const char *sql, const char *types, ...);
int64_t journal_col_int(journal_row_t *r, int col);
double journal_col_double(journal_row_t *r, int col);
const char *journal_col_text(journal_row_t *r, int col); /* "" for NULL */
const void *journal_col_blob(journal_row_t *r, int col, size_t *len);

/* The largest attempt id ever handed out (0 for a new journal). */
uint64_t journal_max_attempt(journal_t *j);

/* The program bytes stored under hash, appended to out; LX_E_NOTFOUND. */
lx_result_t journal_program(journal_t *j, const char *hash, lx_strbuf_t *out);

#endif
