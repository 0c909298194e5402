/* The journal's group commit (coordinator/src/journal.h): transitions
 * that join a batch are durable only together, when the batch is
 * committed; one the journal refuses is undone alone; a coordinator
 * killed (-9) with a batch open loses that batch and nothing committed
 * before it. The shell sends a batch's ACKs only after the commit, so
 * what a crash loses was never acknowledged (test_loadgen checks that
 * end to end, over tcp). */
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "journal.h"
#include "scratch_dir.h"
#include "test.h"

/* A transition with one change: worker `name` said HELLO (a workers
 * row). A NULL name is a change the journal refuses (NOT NULL). */
static void s_hello(co_tx_t *tx, const char *name)
{
    co_tx_init(tx);
    co_change_t *c = co_tx_change(tx, CO_CH_SESSION_OPEN, NULL);
    c->worker = name;
    c->u.session_open.name = name ? name : "nameless";
    c->u.session_open.build = "test";
    c->u.session_open.threads = 1;
}

static lx_result_t s_write(co_journal_t *j, const char *name)
{
    co_tx_t tx;
    s_hello(&tx, name);
    lx_error_t err = {0};
    lx_result_t rc = co_journal_write(j, &tx, 0, &err);
    co_tx_release(&tx);
    return rc;
}

/* Rows of the workers table named name, read by another connection (as
 * an operator's sqlite3 would, while the coordinator runs). */
static int s_rows(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/journal.sqlite", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM workers WHERE ident = ?", -1, &st, NULL) ==
            SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_batch_commits_together(const char *root)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/together", root);
    co_journal_t *j = NULL;
    lx_error_t err = {0};
    CHECK_MSG(co_journal_open(dir, &j, &err) == LX_OK, "%s", err.message);
    if (!j)
        return;
    co_journal_batch_begin(j);
    CHECK_EQ_INT(s_write(j, "w1"), LX_OK);
    /* Refused: undone alone, the batch goes on. */
    CHECK_EQ_INT(s_write(j, NULL), LX_E_IO);
    CHECK_EQ_INT(s_write(j, "w3"), LX_OK);
    /* Nothing is durable (or visible to another reader) before the commit. */
    CHECK_EQ_INT(s_rows(dir, "w1"), 0);
    CHECK_EQ_INT(co_journal_batch_end(j, &err), LX_OK);
    CHECK_EQ_INT(s_rows(dir, "w1"), 1);
    CHECK_EQ_INT(s_rows(dir, "w3"), 1);
    CHECK_EQ_INT(s_rows(dir, "nameless"), 0);
    /* A batch nothing joined commits nothing; writes outside a batch are
     * their own transactions again. */
    co_journal_batch_begin(j);
    CHECK_EQ_INT(co_journal_batch_end(j, &err), LX_OK);
    CHECK_EQ_INT(s_write(j, "w4"), LX_OK);
    CHECK_EQ_INT(s_rows(dir, "w4"), 1);
    co_journal_close(&j);
}

/* A coordinator killed -9 with a batch open: the batches committed before
 * are all there, the open one is gone, and the journal opens again. */
static void test_kill_between_batches(const char *root)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/killed", root);
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        co_journal_t *j = NULL;
        lx_error_t err = {0};
        if (co_journal_open(dir, &j, &err) != LX_OK)
            _exit(3);
        co_journal_batch_begin(j);
        if (s_write(j, "a1") != LX_OK || s_write(j, "a2") != LX_OK ||
            co_journal_batch_end(j, &err) != LX_OK)
            _exit(4);
        co_journal_batch_begin(j);
        if (s_write(j, "b1") != LX_OK)
            _exit(5);
        raise(SIGKILL);
        _exit(6);
    }
    int status = 0;
    CHECK(p > 0 && waitpid(p, &status, 0) == p);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
    co_journal_t *j = NULL;
    lx_error_t err = {0};
    CHECK_MSG(co_journal_open(dir, &j, &err) == LX_OK, "%s", err.message);
    CHECK_EQ_INT(s_rows(dir, "a1"), 1);
    CHECK_EQ_INT(s_rows(dir, "a2"), 1);
    CHECK_EQ_INT(s_rows(dir, "b1"), 0);
    co_journal_close(&j);
}

/* Checkpoints run on the journal's own thread: once the WAL holds 4,096
 * pages, the checkpointer copies them into the database file while the
 * writer goes on. */
static void test_checkpointer(const char *root)
{
    char dir[300], path[400], name[129];
    snprintf(dir, sizeof dir, "%s/checkpoints", root);
    co_journal_t *j = NULL;
    lx_error_t err = {0};
    CHECK_MSG(co_journal_open(dir, &j, &err) == LX_OK, "%s", err.message);
    if (!j)
        return;
    /* Workers rows in batches, as the shell writes them, until the WAL
     * holds 4,096 pages (about 45,000 rows) and a checkpoint has run. */
    for (int b = 0; b < 200 && co_journal_checkpoints(j) == 0; b++) {
        co_journal_batch_begin(j);
        for (int k = 0; k < 500; k++) {
            snprintf(name, sizeof name, "%0120d", b * 500 + k);
            CHECK_EQ_INT(s_write(j, name), LX_OK);
        }
        CHECK_EQ_INT(co_journal_batch_end(j, &err), LX_OK);
    }
    for (int w = 0; w < 60000 && co_journal_checkpoints(j) == 0; w++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    CHECK(co_journal_checkpoints(j) > 0);
    snprintf(path, sizeof path, "%s/journal.sqlite", dir);
    struct stat st;
    /* Until a checkpoint, the rows are in the WAL only. */
    CHECK_MSG(stat(path, &st) == 0 && st.st_size > 2 << 20, "the database file has %lld bytes",
              (long long)st.st_size);
    CHECK_EQ_INT(s_rows(dir, name), 1);
    co_journal_close(&j);
}

int main(void)
{
    char root[256];
    if (!t_scratch_dir(root, "journal-batch"))
        TEST_MAIN_END();
    test_batch_commits_together(root);
    test_kill_between_batches(root);
    test_checkpointer(root);
    t_scratch_dir_remove(root);
    TEST_MAIN_END();
}
