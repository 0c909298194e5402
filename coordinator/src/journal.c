/* The SQLite journal (see journal.h). Every statement of the coordinator
 * is in this file; columns are read by position only here, into the typed
 * records of journal.h. */
#include "journal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lattice/files.h"

enum { SCHEMA_VERSION = 3, CACHE_SIZE = 64, CHECKPOINT_PAGES = 4096 };

struct co_journal {
    sqlite3 *db;
    int lock_fd; /* DIR/lock, held with flock while the journal is open */
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } cache[CACHE_SIZE];
    int n_cached;
    bool batch; /* co_journal_batch_begin: transitions wait for co_journal_batch_end */
    bool open;  /* the batch's SQLite transaction has begun */
    /* The checkpointer: its own connection and thread copy the WAL back
     * into the database, so that the copy and its fdatasync never block
     * the loop's commits (WAL readers and writers do not wait for a
     * passive checkpoint). Woken when a commit leaves CHECKPOINT_PAGES in
     * the WAL. */
    struct {
        sqlite3 *db;
        pthread_t thread;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        bool running, wanted, stop;
        uint64_t done; /* checkpoints run */
    } ck;
};

static const char *const SCHEMA =
    "CREATE TABLE IF NOT EXISTS programs(hash TEXT PRIMARY KEY, bytes BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS jobs(id TEXT PRIMARY KEY, owner TEXT NOT NULL,"
    " token TEXT NOT NULL, submit_hash TEXT NOT NULL, state TEXT NOT NULL, project TEXT NOT NULL,"
    " program_hash TEXT NOT NULL, config TEXT NOT NULL, config_hash TEXT NOT NULL,"
    " out TEXT NOT NULL, output TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,"
    " chunk INTEGER NOT NULL, created REAL NOT NULL, error TEXT, progress_ms REAL NOT NULL,"
    " audit_rate REAL, audited INTEGER NOT NULL DEFAULT 0, disputed INTEGER NOT NULL"
    " DEFAULT 0, rerendered INTEGER NOT NULL DEFAULT 0, late INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(owner, token));"
    "CREATE TABLE IF NOT EXISTS frames(job TEXT NOT NULL, frame INTEGER NOT NULL,"
    " state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL"
    " DEFAULT 0, PRIMARY KEY(job, frame)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS frame_failures(job TEXT NOT NULL, frame INTEGER NOT NULL,"
    " worker TEXT NOT NULL, PRIMARY KEY(job, frame, worker)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS attempts(id INTEGER PRIMARY KEY, job TEXT NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL, warmup_from INTEGER NOT NULL,"
    " worker TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, audit INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS results(job TEXT NOT NULL, frame INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL, worker TEXT NOT NULL, current INTEGER NOT NULL,"
    " withdrawn INTEGER NOT NULL DEFAULT 0, record BLOB NOT NULL,"
    " PRIMARY KEY(job, frame, attempt));"
    "CREATE TABLE IF NOT EXISTS audits(job TEXT NOT NULL, frame INTEGER NOT NULL,"
    " state TEXT NOT NULL, primary_worker TEXT NOT NULL, auditor TEXT NOT NULL,"
    " third TEXT NOT NULL, primary_sig BLOB NOT NULL, auditor_sig BLOB NOT NULL,"
    " third_sig BLOB NOT NULL, build INTEGER NOT NULL, PRIMARY KEY(job, frame)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS blocks(job TEXT NOT NULL, worker TEXT NOT NULL,"
    " failed_chunks INTEGER NOT NULL, blocked_until REAL NOT NULL,"
    " PRIMARY KEY(job, worker)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS quarantine(worker TEXT PRIMARY KEY, job TEXT, frame INTEGER);"
    "CREATE TABLE IF NOT EXISTS workers(ident TEXT NOT NULL, name TEXT NOT NULL, build TEXT,"
    " threads INTEGER, first_seen REAL, last_seen REAL, state TEXT,"
    " PRIMARY KEY(ident, name)) WITHOUT ROWID;";

static const char *const s_audit_names[] = {"none",     "wanted", "running",
                                            "disputed", "third",  "done"};

static lx_result_t s_sqlfail(co_journal_t *j, lx_error_t *err, const char *what)
{
    return lx_fail(err, LX_E_IO, "journal: %s: %s", what, sqlite3_errmsg(j->db));
}

/* ---- statements ------------------------------------------------------- */

/* Statements are prepared once and cached by the address of their SQL
 * text, so every SQL string here is a literal. */
static sqlite3_stmt *s_prepare(co_journal_t *j, const char *sql)
{
    for (int i = 0; i < j->n_cached; i++)
        if (j->cache[i].sql == sql) {
            sqlite3_reset(j->cache[i].stmt);
            sqlite3_clear_bindings(j->cache[i].stmt);
            return j->cache[i].stmt;
        }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    if (j->n_cached < CACHE_SIZE) {
        j->cache[j->n_cached].sql = sql;
        j->cache[j->n_cached++].stmt = st;
    }
    return st;
}

/* A statement not in the cache (it was full) is finalized after use. */
static void s_done(co_journal_t *j, sqlite3_stmt *st)
{
    for (int i = 0; i < j->n_cached; i++)
        if (j->cache[i].stmt == st) {
            sqlite3_reset(st);
            return;
        }
    sqlite3_finalize(st);
}

/* Binds arguments described by types, one letter each: s (const char *,
 * NULL binds NULL), i (int64_t), d (double), b (const void *, size_t). */
static int s_bind(sqlite3_stmt *st, const char *types, va_list ap)
{
    int rc = SQLITE_OK;
    for (int k = 0; types[k] && rc == SQLITE_OK; k++) {
        switch (types[k]) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, k + 1, s, -1, SQLITE_STATIC)
                   : sqlite3_bind_null(st, k + 1);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(st, k + 1, va_arg(ap, int64_t));
            break;
        case 'd':
            rc = sqlite3_bind_double(st, k + 1, va_arg(ap, double));
            break;
        case 'b': {
            const void *data = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            rc = sqlite3_bind_blob64(st, k + 1, data ? data : "", len, SQLITE_STATIC);
            break;
        }
        default:
            rc = SQLITE_MISUSE;
        }
    }
    return rc;
}

static lx_result_t s_exec(co_journal_t *j, lx_error_t *err, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st = s_prepare(j, sql);
    if (!st)
        return s_sqlfail(j, err, sql);
    va_list ap;
    va_start(ap, types);
    int rc = s_bind(st, types, ap);
    va_end(ap);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    lx_result_t out = rc == SQLITE_DONE || rc == SQLITE_ROW ? LX_OK : s_sqlfail(j, err, sql);
    s_done(j, st);
    return out;
}

/* Runs a query and calls row(user, st) for each result row; a false from
 * row stops with LX_E_NOMEM. */
static lx_result_t s_each(co_journal_t *j, lx_error_t *err, bool (*row)(void *, sqlite3_stmt *),
                          void *user, const char *sql)
{
    sqlite3_stmt *st = s_prepare(j, sql);
    if (!st)
        return s_sqlfail(j, err, sql);
    int rc;
    lx_result_t out = LX_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!row(user, st)) {
            out = lx_fail(err, LX_E_NOMEM, "out of memory reading the journal");
            break;
        }
    if (out == LX_OK && rc != SQLITE_DONE)
        out = s_sqlfail(j, err, sql);
    s_done(j, st);
    return out;
}

static const char *s_text(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? (const char *)s : "";
}

/* ---- opening ---------------------------------------------------------- */

static lx_result_t s_schema(co_journal_t *j, const char *where, lx_error_t *err)
{
    sqlite3_stmt *st = NULL;
    int version = -1, tables = 0;
    if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(j->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        tables = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0)
        return s_sqlfail(j, err, "reading the schema version");
    if (tables > 0 && version != SCHEMA_VERSION)
        return lx_fail(err, LX_E_IO,
                       "journal '%s' was written by another version of lattice-coordinator (schema "
                       "%d, this one reads %d); finish its jobs with that version, or start this "
                       "one on a new --state directory",
                       where, version, SCHEMA_VERSION);
    char *msg = NULL;
    if (sqlite3_exec(j->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
                     " PRAGMA temp_store=MEMORY;",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(j->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(j->db, "PRAGMA user_version = 3", NULL, NULL, &msg) != SQLITE_OK) {
        lx_result_t rc =
            lx_fail(err, LX_E_IO, "cannot initialize journal '%s': %s", where, msg ? msg : "?");
        sqlite3_free(msg);
        return rc;
    }
    return LX_OK;
}

static void *s_checkpointer(void *arg)
{
    co_journal_t *j = arg;
    pthread_mutex_lock(&j->ck.mu);
    for (;;) {
        while (!j->ck.wanted && !j->ck.stop)
            pthread_cond_wait(&j->ck.cv, &j->ck.mu);
        if (j->ck.stop)
            break;
        j->ck.wanted = false;
        pthread_mutex_unlock(&j->ck.mu);
        int rc = sqlite3_wal_checkpoint_v2(j->ck.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&j->ck.mu);
        j->ck.done += rc == SQLITE_OK;
    }
    pthread_mutex_unlock(&j->ck.mu);
    return NULL;
}

/* After every commit of the loop's connection (it replaces SQLite's own
 * checkpoint in the committing thread). */
static int s_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    co_journal_t *j = arg;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&j->ck.mu);
        j->ck.wanted = true;
        pthread_cond_signal(&j->ck.cv);
        pthread_mutex_unlock(&j->ck.mu);
    }
    return SQLITE_OK;
}

/* Starts the checkpointer on the journal at path; without it SQLite
 * checkpoints in the loop as usual. */
static void s_checkpointer_start(co_journal_t *j, const char *path)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    /* The connection must have read the database to know it is in WAL
     * mode: a checkpoint before that does nothing (and says so with -1). */
    if (sqlite3_open_v2(path, &j->ck.db, flags, NULL) != SQLITE_OK ||
        sqlite3_exec(j->ck.db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(j->ck.db);
        j->ck.db = NULL;
        return;
    }
    sqlite3_busy_timeout(j->ck.db, 5000);
    pthread_mutex_init(&j->ck.mu, NULL);
    pthread_cond_init(&j->ck.cv, NULL);
    j->ck.running = pthread_create(&j->ck.thread, NULL, s_checkpointer, j) == 0;
    if (j->ck.running)
        sqlite3_wal_hook(j->db, s_wal_hook, j);
}

static void s_checkpointer_stop(co_journal_t *j)
{
    if (j->ck.running) {
        pthread_mutex_lock(&j->ck.mu);
        j->ck.stop = true;
        pthread_cond_signal(&j->ck.cv);
        pthread_mutex_unlock(&j->ck.mu);
        pthread_join(j->ck.thread, NULL);
        j->ck.running = false;
    }
    if (j->ck.db) {
        pthread_cond_destroy(&j->ck.cv);
        pthread_mutex_destroy(&j->ck.mu);
    }
    sqlite3_close(j->ck.db);
    j->ck.db = NULL;
}

uint64_t co_journal_checkpoints(co_journal_t *j)
{
    if (!j->ck.running)
        return 0;
    pthread_mutex_lock(&j->ck.mu);
    uint64_t n = j->ck.done;
    pthread_mutex_unlock(&j->ck.mu);
    return n;
}

lx_result_t co_journal_open(const char *state_dir, co_journal_t **out, lx_error_t *err)
{
    *out = NULL;
    char path[LX_PATH_MAX], lock[LX_PATH_MAX];
    if (state_dir) {
        lx_result_t rc = lx_mkdirs(state_dir, err);
        if (rc != LX_OK)
            return rc;
        if (!lx_path_join(path, state_dir, "journal.sqlite") ||
            !lx_path_join(lock, state_dir, "lock"))
            return lx_fail(err, LX_E_INVALID, "state directory path too long");
    }
    co_journal_t *j = calloc(1, sizeof *j);
    if (!j)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    j->lock_fd = -1;
    const char *where = state_dir ? path : ":memory:";
    lx_result_t rc = LX_OK;
    if (state_dir) {
        /* One coordinator per state directory: a second one would journal
         * over the first one's jobs. */
        j->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (j->lock_fd < 0 || flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0)
            rc = lx_fail(err, LX_E_IO,
                         "'%s' is in use by another coordinator (or cannot be locked)", state_dir);
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (rc == LX_OK && sqlite3_open_v2(where, &j->db, flags, NULL) != SQLITE_OK)
        rc = lx_fail(err, LX_E_IO, "cannot open journal '%s': %s", where,
                     j->db ? sqlite3_errmsg(j->db) : "out of memory");
    if (rc == LX_OK) {
        sqlite3_busy_timeout(j->db, 5000);
        rc = s_schema(j, where, err);
    }
    if (rc == LX_OK && state_dir)
        s_checkpointer_start(j, where);
    if (rc != LX_OK) {
        co_journal_close(&j);
        return rc;
    }
    *out = j;
    return LX_OK;
}

void co_journal_close(co_journal_t **j_p)
{
    co_journal_t *j = *j_p;
    if (!j)
        return;
    s_checkpointer_stop(j);
    for (int i = 0; i < j->n_cached; i++)
        sqlite3_finalize(j->cache[i].stmt);
    sqlite3_close(j->db);
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    free(j);
    *j_p = NULL;
}

/* ---- one statement group per change ----------------------------------- */

static lx_result_t s_job_add(co_journal_t *jn, const co_change_t *c, double wall, lx_error_t *err)
{
    const co_job_t *j = c->job;
    lx_result_t rc = s_exec(jn, err, "INSERT OR IGNORE INTO programs(hash, bytes) VALUES(?, ?)",
                            "sb", j->program_hash, c->u.job_add.program, c->u.job_add.program_len);
    if (rc != LX_OK)
        return rc;
    return s_exec(jn, err,
                  "INSERT INTO jobs(id, owner, token, submit_hash, state, project, program_hash,"
                  " config, config_hash, out, output, first, last, chunk, created, progress_ms,"
                  " audit_rate) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  "sssssssssssiiiddd", j->id, j->owner, j->token, j->submit_hash, co_job_state_names[j->state],
                  j->program->patch_id, j->program_hash, j->config_json, j->config_hash, j->out,
                  j->stream ? "stream" : "shared", j->first, j->first + j->n - 1, (int64_t)j->chunk,
                  j->created + wall, j->progress_ms, j->audit_rate);
}

static lx_result_t s_job_state(co_journal_t *jn, const co_change_t *c, lx_error_t *err)
{
    return s_exec(jn, err, "UPDATE jobs SET state = ?, error = ? WHERE id = ?", "sss",
                  co_job_state_names[c->u.job_state.state], c->u.job_state.error, c->job->id);
}

static lx_result_t s_attempt_start(co_journal_t *jn, const co_change_t *c, lx_error_t *err)
{
    const co_job_t *j = c->job;
    lx_result_t rc = s_exec(jn, err,
                            "INSERT INTO attempts(id, job, first, last, warmup_from, worker,"
                            " state, audit) VALUES(?, ?, ?, ?, ?, ?, 'running', ?)",
                            "isiiisi", (int64_t)c->attempt, j->id, c->u.attempt_start.first,
                            c->u.attempt_start.last, c->u.attempt_start.warmup_from, c->worker,
                            (int64_t)c->u.attempt_start.audit);
    if (c->u.attempt_start.audit)
        return rc;
    for (int64_t f = c->u.attempt_start.first; f <= c->u.attempt_start.last && rc == LX_OK; f++)
        rc = s_exec(jn, err,
                    "INSERT INTO frames(job, frame, state, attempt) VALUES(?, ?, 'running', ?)"
                    " ON CONFLICT(job, frame) DO UPDATE SET state = 'running',"
                    " attempt = excluded.attempt",
                    "sii", j->id, f, (int64_t)c->attempt);
    return rc;
}

static lx_result_t s_attempt_end(co_journal_t *jn, const co_change_t *c, lx_error_t *err)
{
    return s_exec(jn, err, "UPDATE attempts SET state = ?, reason = ? WHERE id = ?", "ssi",
                  c->u.attempt_end.state, c->u.attempt_end.reason, (int64_t)c->attempt);
}

/* The frame's state, and its failure count from frame_failures. */
static lx_result_t s_frame_state(co_journal_t *jn, const co_change_t *c, const char *state,
                                 lx_error_t *err)
{
    return s_exec(jn, err,
                  "INSERT INTO frames(job, frame, state, failures) VALUES(?1, ?2, ?3,"
                  " (SELECT count(*) FROM frame_failures WHERE job = ?1 AND frame = ?2))"
                  " ON CONFLICT(job, frame) DO UPDATE SET state = excluded.state,"
                  " failures = excluded.failures",
                  "sis", c->job->id, c->frame, state);
}

static lx_result_t s_frame_release(co_journal_t *jn, const co_change_t *c, lx_error_t *err)
{
    lx_result_t rc = LX_OK;
    if (c->worker)
        rc = s_exec(jn, err,
                    "INSERT OR IGNORE INTO frame_failures(job, frame, worker) VALUES(?, ?, ?)",
                    "sis", c->job->id, c->frame, c->worker);
    if (rc == LX_OK)
        rc = s_frame_state(jn, c, c->u.frame_release.failed ? "failed" : "pending", err);
    return rc;
}

static lx_result_t s_frame_reopen(co_journal_t *jn, const co_change_t *c, lx_error_t *err)
{
    const char *job = c->job->id;
    lx_result_t rc =
        s_exec(jn, err,
               "UPDATE results SET current = 0, withdrawn = 1 WHERE job = ? AND frame = ? AND"
               " current = 1",
               "si", job, c->frame);
    if (rc == LX_OK)
        rc = s_exec(jn, err, "DELETE FROM audits WHERE job = ? AND frame = ?", "si", job, c->frame);
    if (rc == LX_OK && c->u.frame_reopen.fresh_budget)
        rc = s_exec(jn, err, "DELETE FROM frame_failures WHERE job = ? AND frame = ?", "si", job,
                    c->frame);
    if (rc == LX_OK && c->u.frame_reopen.for_audit)
        rc = s_exec(jn, err, "UPDATE jobs SET rerendered = rerendered + 1 WHERE id = ?", "s", job);
    if (rc == LX_OK)
        rc = s_frame_state(jn, c, "pending", err);
    return rc;
}

static lx_result_t s_result(co_journal_t *jn, const co_change_t *c, bool current, lx_error_t *err)
{
    const char *job = c->job->id;
    /* Evidence never replaces a row: a FRAME sent again (after a
     * reconnect) must not demote the accepted result. Every late FRAME
     * counts, copies included, as it does in memory. */
    if (!current) {
        lx_result_t rc = s_exec(
            jn, err,
            "INSERT OR IGNORE INTO results(job, frame, attempt, worker, current, record)"
            " VALUES(?, ?, ?, ?, 0, ?)",
            "siisb", job, c->frame, (int64_t)c->attempt, c->worker, c->u.result.record,
            c->u.result.record_len);
        return rc == LX_OK ? s_exec(jn, err, "UPDATE jobs SET late = late + 1 WHERE id = ?", "s",
                                    job)
                           : rc;
    }
    lx_result_t rc =
        s_exec(jn, err,
               "INSERT OR REPLACE INTO results(job, frame, attempt, worker, current, record)"
               " VALUES(?, ?, ?, ?, 1, ?)",
               "siisb", job, c->frame, (int64_t)c->attempt, c->worker, c->u.result.record,
               c->u.result.record_len);
    if (rc == LX_OK)
        rc = s_exec(jn, err,
                    "INSERT INTO frames(job, frame, state, attempt) VALUES(?, ?, 'done', ?)"
                    " ON CONFLICT(job, frame) DO UPDATE SET state = 'done',"
                    " attempt = excluded.attempt",
                    "sii", job, c->frame, (int64_t)c->attempt);
    return rc;
}

static lx_result_t s_audit(co_journal_t *jn, const co_change_t *c, lx_error_t *err)
{
    const co_audit_t *a = &c->u.audit.audit;
    const char *const *who = c->u.audit.who;
    lx_result_t rc =
        s_exec(jn, err,
               "INSERT OR REPLACE INTO audits(job, frame, state, primary_worker, auditor, third,"
               " primary_sig, auditor_sig, third_sig, build) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               "sissssbbbi", c->job->id, c->frame, s_audit_names[a->state], who[0] ? who[0] : "",
               who[1] ? who[1] : "", who[2] ? who[2] : "", a->sig[0], (size_t)16, a->sig[1],
               (size_t)16, a->sig[2], (size_t)16, (int64_t)a->build);
    if (rc == LX_OK && (c->u.audit.confirmed || c->u.audit.disputed))
        rc = s_exec(jn, err,
                    "UPDATE jobs SET audited = audited + ?, disputed = disputed + ? WHERE id = ?",
                    "iis", (int64_t)c->u.audit.confirmed, (int64_t)c->u.audit.disputed, c->job->id);
    return rc;
}

static lx_result_t s_change(co_journal_t *jn, const co_change_t *c, double wall, lx_error_t *err)
{
    switch (c->kind) {
    case CO_CH_JOB_ADD:
        return s_job_add(jn, c, wall, err);
    case CO_CH_JOB_STATE:
        return s_job_state(jn, c, err);
    case CO_CH_ATTEMPT_START:
        return s_attempt_start(jn, c, err);
    case CO_CH_ATTEMPT_END:
        return s_attempt_end(jn, c, err);
    case CO_CH_FRAME_RELEASE:
        return s_frame_release(jn, c, err);
    case CO_CH_FRAME_REOPEN:
        return s_frame_reopen(jn, c, err);
    case CO_CH_RESULT:
        return s_result(jn, c, true, err);
    case CO_CH_EVIDENCE:
        return s_result(jn, c, false, err);
    case CO_CH_AUDIT:
        return s_audit(jn, c, err);
    case CO_CH_QUARANTINE:
        return s_exec(jn, err,
                      "INSERT OR IGNORE INTO quarantine(worker, job, frame) VALUES(?, ?, ?)", "ssi",
                      c->worker, c->job ? c->job->id : NULL, c->frame);
    case CO_CH_BLOCK:
        return s_exec(jn, err,
                      "INSERT OR REPLACE INTO blocks(job, worker, failed_chunks, blocked_until)"
                      " VALUES(?, ?, ?, ?)",
                      "ssid", c->job->id, c->worker, (int64_t)c->u.block.failed_chunks,
                      c->u.block.until > 0 ? c->u.block.until + wall : 0.0);
    case CO_CH_SESSION_OPEN:
        return s_exec(jn, err,
                      "INSERT INTO workers(ident, name, build, threads, first_seen, last_seen,"
                      " state) VALUES(?, ?, ?, ?, ?, ?, 'alive') ON CONFLICT(ident, name) DO"
                      " UPDATE SET build = excluded.build, threads = excluded.threads,"
                      " last_seen = excluded.last_seen, state = 'alive'",
                      "sssidd", c->worker, c->u.session_open.name, c->u.session_open.build,
                      (int64_t)c->u.session_open.threads, c->now + wall, c->now + wall);
    case CO_CH_SESSION_CLOSE:
        return s_exec(jn, err, "UPDATE workers SET state = ? WHERE ident = ? AND name = ?",
                      "sss", c->u.session_close.why, c->worker, c->u.session_close.name);
    case CO_CH_JOB_RESTART:
    case CO_CH_ATTEMPT_OWNER:
    case CO_CH_SESSION_CREDIT:
        break;
    }
    return LX_OK;
}

/* Changes kept in memory only: a restart starts them afresh (ownership and
 * credit come back with the workers' HELLOs; a rerendered job's clock
 * restarts anyway). */
static bool s_memory_only(co_change_kind_t kind)
{
    return kind == CO_CH_JOB_RESTART || kind == CO_CH_ATTEMPT_OWNER || kind == CO_CH_SESSION_CREDIT;
}

lx_result_t co_journal_write(co_journal_t *j, const co_tx_t *tx, double wall_offset_ms,
                             lx_error_t *err)
{
    size_t first = 0;
    while (first < tx->n_changes && s_memory_only(tx->changes[first].kind))
        first++;
    if (first == tx->n_changes)
        return LX_OK; /* nothing to write: no SQLite transaction either */
    /* An I/O error can make SQLite roll the whole transaction back: the
     * batch is lost, and nothing more may join it (or commit on its own). */
    if (j->open && sqlite3_get_autocommit(j->db))
        return lx_fail(err, LX_E_IO, "journal: the batch was rolled back");
    lx_result_t rc = LX_OK;
    if (j->batch && !j->open && (rc = s_exec(j, err, "BEGIN IMMEDIATE", "")) == LX_OK)
        j->open = true;
    if (rc != LX_OK)
        return rc;
    /* In a batch a transition is a savepoint: refused, it is undone alone
     * and the batch goes on. */
    rc = s_exec(j, err, j->batch ? "SAVEPOINT tx" : "BEGIN IMMEDIATE", "");
    for (size_t i = first; i < tx->n_changes && rc == LX_OK; i++)
        rc = s_change(j, &tx->changes[i], wall_offset_ms, err);
    if (rc == LX_OK)
        rc = s_exec(j, err, j->batch ? "RELEASE tx" : "COMMIT", "");
    if (rc != LX_OK && j->batch)
        sqlite3_exec(j->db, "ROLLBACK TO tx; RELEASE tx", NULL, NULL, NULL);
    else if (rc != LX_OK)
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

void co_journal_batch_begin(co_journal_t *j) { j->batch = true; }

lx_result_t co_journal_batch_end(co_journal_t *j, lx_error_t *err)
{
    lx_result_t rc = LX_OK;
    if (j->open && sqlite3_get_autocommit(j->db))
        rc = lx_fail(err, LX_E_IO, "journal: the batch was rolled back");
    else if (j->open)
        rc = s_exec(j, err, "COMMIT", "");
    if (rc != LX_OK)
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    j->batch = j->open = false;
    return rc;
}

lx_result_t co_journal_program(co_journal_t *j, const char *hash, lx_strbuf_t *out, lx_error_t *err)
{
    static const char *const sql = "SELECT bytes FROM programs WHERE hash = ?";
    sqlite3_stmt *st = s_prepare(j, sql);
    if (!st)
        return s_sqlfail(j, err, sql);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    lx_result_t rc = lx_fail(err, LX_E_NOTFOUND, "no program %.12s in the store", hash);
    if (sqlite3_step(st) == SQLITE_ROW) {
        lx_strbuf_add(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        rc = out->failed ? lx_fail(err, LX_E_NOMEM, "out of memory") : LX_OK;
    }
    s_done(j, st);
    return rc;
}

/* ---- reading back ------------------------------------------------------- */

static bool s_row_job(void *user, sqlite3_stmt *st)
{
    const co_journal_visitor_t *v = user;
    co_journal_job_t r = {
        .id = s_text(st, 0),
        .token = s_text(st, 1),
        .submit_hash = s_text(st, 2),
        .state = s_text(st, 3),
        .program_hash = s_text(st, 4),
        .config = s_text(st, 5),
        .config_hash = s_text(st, 6),
        .out = s_text(st, 7),
        .output = s_text(st, 8),
        .chunk = (uint32_t)sqlite3_column_int64(st, 9),
        .progress_ms = sqlite3_column_double(st, 10),
        .audit_rate =
            sqlite3_column_type(st, 11) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 11),
        .created = sqlite3_column_double(st, 12),
        .error = sqlite3_column_type(st, 13) == SQLITE_NULL ? NULL : s_text(st, 13),
        .audited = (uint64_t)sqlite3_column_int64(st, 14),
        .disputed = (uint64_t)sqlite3_column_int64(st, 15),
        .rerendered = (uint64_t)sqlite3_column_int64(st, 16),
        .late = (uint64_t)sqlite3_column_int64(st, 17),
        .owner = s_text(st, 18),
        .first = sqlite3_column_int64(st, 19),
        .last = sqlite3_column_int64(st, 20),
    };
    return v->job(v->user, &r);
}

static bool s_row_frame(void *user, sqlite3_stmt *st)
{
    const co_journal_visitor_t *v = user;
    co_journal_frame_t r = {s_text(st, 0), sqlite3_column_int64(st, 1), s_text(st, 2),
                            (uint64_t)sqlite3_column_int64(st, 3)};
    return v->frame(v->user, &r);
}

static bool s_row_failure(void *user, sqlite3_stmt *st)
{
    const co_journal_visitor_t *v = user;
    co_journal_failure_t r = {s_text(st, 0), s_text(st, 2), sqlite3_column_int64(st, 1)};
    return v->failure(v->user, &r);
}

static bool s_row_result(void *user, sqlite3_stmt *st)
{
    const co_journal_visitor_t *v = user;
    co_journal_result_t r = {s_text(st, 0), sqlite3_column_int64(st, 1),
                             (uint64_t)sqlite3_column_int64(st, 2), sqlite3_column_blob(st, 3),
                             (size_t)sqlite3_column_bytes(st, 3)};
    return v->result(v->user, &r);
}

static bool s_row_audit(void *user, sqlite3_stmt *st)
{
    const co_journal_visitor_t *v = user;
    co_journal_audit_t r = {.job = s_text(st, 0), .frame = sqlite3_column_int64(st, 1)};
    const char *state = s_text(st, 2);
    for (int k = 0; k < 6; k++)
        if (strcmp(state, s_audit_names[k]) == 0)
            r.state = (co_audit_state_t)k;
    for (int k = 0; k < 3; k++) {
        r.who[k] = s_text(st, 3 + k);
        if (sqlite3_column_bytes(st, 6 + k) == 16)
            memcpy(r.sig[k], sqlite3_column_blob(st, 6 + k), 16);
    }
    r.build = (uint64_t)sqlite3_column_int64(st, 9);
    return v->audit(v->user, &r);
}

static bool s_row_block(void *user, sqlite3_stmt *st)
{
    const co_journal_visitor_t *v = user;
    co_journal_block_t r = {s_text(st, 0), s_text(st, 1), (uint32_t)sqlite3_column_int64(st, 2),
                            sqlite3_column_double(st, 3)};
    return v->block(v->user, &r);
}

static bool s_row_quarantine(void *user, sqlite3_stmt *st)
{
    const co_journal_visitor_t *v = user;
    return v->quarantine(v->user, s_text(st, 0));
}

static bool s_row_attempt(void *user, sqlite3_stmt *st)
{
    const co_journal_visitor_t *v = user;
    co_journal_attempt_t r = {(uint64_t)sqlite3_column_int64(st, 0),
                              s_text(st, 1),
                              s_text(st, 5),
                              sqlite3_column_int64(st, 2),
                              sqlite3_column_int64(st, 3),
                              sqlite3_column_int64(st, 4),
                              sqlite3_column_int64(st, 6) != 0};
    return v->attempt(v->user, &r);
}

static bool s_row_max(void *user, sqlite3_stmt *st)
{
    *(uint64_t *)user = (uint64_t)sqlite3_column_int64(st, 0);
    return true;
}

lx_result_t co_journal_load(co_journal_t *j, const co_journal_visitor_t *v, uint64_t *last_attempt,
                            lx_error_t *err)
{
    void *u = (void *)v;
    lx_result_t rc = LX_OK;
    if (v->job)
        rc = s_each(j, err, s_row_job, u,
                    "SELECT id, token, submit_hash, state, program_hash, config, config_hash, out,"
                    " output, chunk, progress_ms, audit_rate, created, error, audited, disputed,"
                    " rerendered, late, owner, first, last FROM jobs ORDER BY rowid");
    if (rc == LX_OK && v->frame)
        rc = s_each(j, err, s_row_frame, u,
                    "SELECT job, frame, state, attempt FROM frames WHERE state != 'pending'");
    if (rc == LX_OK && v->failure)
        rc = s_each(j, err, s_row_failure, u, "SELECT job, frame, worker FROM frame_failures");
    if (rc == LX_OK && v->result)
        rc = s_each(j, err, s_row_result, u,
                    "SELECT job, frame, attempt, record FROM results WHERE current = 1");
    if (rc == LX_OK && v->audit)
        rc = s_each(j, err, s_row_audit, u,
                    "SELECT job, frame, state, primary_worker, auditor, third, primary_sig,"
                    " auditor_sig, third_sig, build FROM audits");
    if (rc == LX_OK && v->block)
        rc = s_each(j, err, s_row_block, u,
                    "SELECT job, worker, failed_chunks, blocked_until FROM blocks");
    if (rc == LX_OK && v->quarantine)
        rc = s_each(j, err, s_row_quarantine, u, "SELECT worker FROM quarantine");
    if (rc == LX_OK && v->attempt)
        rc = s_each(j, err, s_row_attempt, u,
                    "SELECT id, job, first, last, warmup_from, worker, audit FROM attempts"
                    " WHERE state = 'running'");
    *last_attempt = 0;
    if (rc == LX_OK)
        rc = s_each(j, err, s_row_max, last_attempt, "SELECT COALESCE(MAX(id), 0) FROM attempts");
    return rc;
}
