/* SQLite journal (see journal.h). */
#include "journal.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lattice/files.h"

enum { CACHE_SIZE = 48 };

struct journal {
    sqlite3 *db;
    int lock_fd; /* DIR/lock, held with flock while the journal is open */
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } cache[CACHE_SIZE];
    int n_cached;
};

static const char *const SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=OFF;"
    "CREATE TABLE IF NOT EXISTS programs(hash TEXT PRIMARY KEY, bytes BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS jobs(id TEXT PRIMARY KEY, token TEXT UNIQUE NOT NULL,"
    " submit_hash TEXT NOT NULL, state TEXT NOT NULL, project TEXT, program_hash TEXT,"
    " config TEXT, config_hash TEXT, out TEXT, output TEXT, first INTEGER, last INTEGER,"
    " chunk INTEGER, created REAL, error TEXT, progress_ms REAL);"
    "CREATE TABLE IF NOT EXISTS frames(job TEXT NOT NULL, frame INTEGER NOT NULL,"
    " state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL"
    " DEFAULT 0, failed_by TEXT NOT NULL DEFAULT '', PRIMARY KEY(job, frame)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS attempts(id INTEGER PRIMARY KEY, job TEXT NOT NULL,"
    " first INTEGER, last INTEGER, warmup_from INTEGER, worker TEXT, state TEXT NOT NULL,"
    " reason TEXT);"
    "CREATE TABLE IF NOT EXISTS results(job TEXT NOT NULL, frame INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL, worker TEXT, current INTEGER NOT NULL, record BLOB,"
    " PRIMARY KEY(job, frame, attempt));"
    "CREATE TABLE IF NOT EXISTS workers(name TEXT PRIMARY KEY, build TEXT, threads INTEGER,"
    " first_seen REAL, last_seen REAL, state TEXT);";

static lx_result_t s_sqlfail(journal_t *j, lx_error_t *err, const char *what)
{
    return lx_fail(err, LX_E_IO, "journal: %s: %s", what, sqlite3_errmsg(j->db));
}

lx_result_t journal_open(const char *state_dir, journal_t **out, lx_error_t *err)
{
    *out = NULL;
    char path[4200];
    if (state_dir) {
        lx_result_t rc = lx_mkdirs(state_dir, err);
        if (rc != LX_OK)
            return rc;
        if ((size_t)snprintf(path, sizeof path, "%s/journal.sqlite", state_dir) >= sizeof path)
            return lx_fail(err, LX_E_INVALID, "state directory path too long");
    }
    journal_t *j = calloc(1, sizeof *j);
    if (!j)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    j->lock_fd = -1;
    if (state_dir) {
        /* One coordinator per state directory: a second one would
         * journal over the first one's jobs. */
        char lock[4200];
        snprintf(lock, sizeof lock, "%s/lock", state_dir);
        j->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (j->lock_fd < 0 || flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            lx_result_t rc =
                lx_fail(err, LX_E_IO, "'%s' is in use by another coordinator (or cannot be locked)",
                        state_dir);
            journal_close(&j);
            return rc;
        }
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(state_dir ? path : ":memory:", &j->db, flags, NULL) != SQLITE_OK) {
        lx_result_t rc =
            lx_fail(err, LX_E_IO, "cannot open journal '%s': %s",
                    state_dir ? path : ":memory:", j->db ? sqlite3_errmsg(j->db) : "out of memory");
        journal_close(&j);
        return rc;
    }
    sqlite3_busy_timeout(j->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(j->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        lx_result_t rc = lx_fail(err, LX_E_IO, "cannot initialize journal '%s': %s",
                                 state_dir ? path : ":memory:", msg ? msg : "?");
        sqlite3_free(msg);
        journal_close(&j);
        return rc;
    }
    *out = j;
    return LX_OK;
}

void journal_close(journal_t **jp)
{
    journal_t *j = *jp;
    if (!j)
        return;
    for (int i = 0; i < j->n_cached; i++)
        sqlite3_finalize(j->cache[i].stmt);
    sqlite3_close(j->db);
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    free(j);
    *jp = NULL;
}

static sqlite3_stmt *s_prepare(journal_t *j, const char *sql)
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
static void s_done(journal_t *j, sqlite3_stmt *st)
{
    for (int i = 0; i < j->n_cached; i++)
        if (j->cache[i].stmt == st) {
            sqlite3_reset(st);
            return;
        }
    sqlite3_finalize(st);
}

/* Binds the arguments described by types (see journal_exec). */
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

lx_result_t journal_exec(journal_t *j, lx_error_t *err, const char *sql, const char *types, ...)
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

struct journal_row {
    sqlite3_stmt *st;
};

lx_result_t journal_each(journal_t *j, lx_error_t *err, bool (*row)(void *user, journal_row_t *r),
                         void *user, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st = s_prepare(j, sql);
    if (!st)
        return s_sqlfail(j, err, sql);
    va_list ap;
    va_start(ap, types);
    int rc = s_bind(st, types, ap);
    va_end(ap);
    journal_row_t r = {st};
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (row(user, &r))
            rc = SQLITE_OK;
        else
            rc = SQLITE_DONE;
    lx_result_t out = rc == SQLITE_DONE ? LX_OK : s_sqlfail(j, err, sql);
    s_done(j, st);
    return out;
}

int64_t journal_col_int(journal_row_t *r, int col) { return sqlite3_column_int64(r->st, col); }

double journal_col_double(journal_row_t *r, int col) { return sqlite3_column_double(r->st, col); }

const char *journal_col_text(journal_row_t *r, int col)
{
    const unsigned char *s = sqlite3_column_text(r->st, col);
    return s ? (const char *)s : "";
}

const void *journal_col_blob(journal_row_t *r, int col, size_t *len)
{
    const void *b = sqlite3_column_blob(r->st, col);
    *len = (size_t)sqlite3_column_bytes(r->st, col);
    return b;
}

lx_result_t journal_begin(journal_t *j, lx_error_t *err)
{
    return journal_exec(j, err, "BEGIN IMMEDIATE", "");
}

lx_result_t journal_commit(journal_t *j, lx_error_t *err)
{
    return journal_exec(j, err, "COMMIT", "");
}

void journal_rollback(journal_t *j) { sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL); }

uint64_t journal_max_attempt(journal_t *j)
{
    sqlite3_stmt *st = s_prepare(j, "SELECT COALESCE(MAX(id), 0) FROM attempts");
    uint64_t v = 0;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = (uint64_t)sqlite3_column_int64(st, 0);
    if (st)
        s_done(j, st);
    return v;
}

lx_result_t journal_program(journal_t *j, const char *hash, lx_strbuf_t *out)
{
    static const char *const sql = "SELECT bytes FROM programs WHERE hash = ?";
    sqlite3_stmt *st = s_prepare(j, sql);
    if (!st)
        return LX_E_IO;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    lx_result_t rc = LX_E_NOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        lx_strbuf_add(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        rc = out->failed ? LX_E_NOMEM : LX_OK;
    }
    s_done(j, st);
    return rc;
}
