/* A stateful protocol fuzzer against the coordinator's functional core
 * (issue 11, point 9).
 *
 * WHAT IT DRIVES. The pure core exactly as the shell drives it
 * (coordinator/src/shell.c co_commit, sessions.c, clients.c): a scheduler
 * decision (co_sched_*), the journal commit (a real in-memory SQLite
 * journal), co_apply, then the effects (ASSIGN, CANCEL, ACK, FINISH); after
 * every event the shell's settle loop (co_settle: finish steps, then
 * dispatch steps). No sockets. Every worker message is encoded and decoded
 * with the real codec first, so the core sees what the shell's decoder
 * would hand it, and a FRAME is journaled as the shell journals it (its
 * encoding without bytes). The shell's file I/O is modelled in memory, a
 * map of paths to bytes standing for the disk: co_output_accept (stream
 * mode: SHA-256 of the carried bytes against `hash`, then the file is
 * written; shared mode: the worker wrote <out>/<key>/.<name>.a<attempt>,
 * its SHA-256 is checked and it is renamed), co_output_drop_attempt, and
 * the scan of a RERENDER (co_output_rerender_scan: frames whose files are
 * missing or differ from metadata.json are rendered again, the others kept
 * with the hashes it lists and the camera and time of an evaluation, i.e.
 * the honest ones). A FINISH writes the job's real manifest
 * (lx_manifest_write) into a scratch directory (/dev/shm when it exists).
 * The core's calls are wrapped in core_* functions, in one place, because
 * their signatures are changing.
 *
 * THE WORLD. Per episode 2 to 7 peers (2 to 4 of them honest), each with a
 * fixed key (K0, K1... : the identity the coordinator knows them by, as
 * a CURVE key would be; the names they give, w0, w1..., prove nothing):
 *   honest   renders honestly: for frame f of job J and artifact key k the
 *            file's bytes are "J:f:k", hash = SHA-256 of them, content =
 *            XXH3-128 of them; camera and t_ms are a fixed function of f;
 *            the keys, their order and their extensions are what the job's
 *            plan implies (found once per template by a real
 *            lx_frame_renderer, not written down by hand).
 *   liar     takes work like an honest worker and lies on some frames:
 *            wrong bytes under their own hashes (a consistent lie), wrong
 *            bytes under the honest hashes, wrong content, no bytes, a bad
 *            camera, another frame's names, odd render_ms; and, in the
 *            classes below, lies the coordinator does not see. A lie is a
 *            function of the liar's KEY: liars never collude.
 *   forger   never takes work (credit 0); sends FRAME / CHUNK_DONE /
 *            CHUNK_FAIL for attempts others hold (as `lattice workers`
 *            publishes them, or guessed ids), lists others' attempts in
 *            HELLO.resumed, and says HELLO with another worker's name.
 * Workers keep what they were assigned, send FRAMEs, CHUNK_DONE and
 * CHUNK_FAIL (every reason), send unacknowledged FRAMEs again after a
 * HELLO, keep sending the frame in hand after a CANCEL, reconnect (a new
 * socket: HELLO with their attempts in `resumed`), go silent (dead) or
 * say GOODBYE. Clients SUBMIT (4 templates of examples/; frame ranges
 * small, large and, in class range, near INT64_MAX; chunk sizes; audits
 * off, at rate 0, 0.5 and 1; stream or shared; retries with the same
 * token), CANCEL, damage files of finished exports and RERENDER them
 * (--only any subset, any frame window). Timers advance the clock and run
 * co_sched_tick. The coordinator restarts: its state is rebuilt from the
 * journal with co_recover, its sockets and session numbers are gone.
 *
 * Each step is one event drawn from a seeded PRNG (splitmix64: a seed
 * determines an episode), then the settle loop, then the invariants.
 *
 * INVARIANTS, checked after every step (a failure reports the name in
 * brackets):
 *   [counters]  per job, done/running/failed equal its frames' states,
 *               pending = n - the three >= 0, no pending frame below
 *               `hint`, audits_open equals the open audit records; with
 *               audits at rate 1 no done frame lacks an audit record.
 *   [running]   a running frame's attempt is in flight, not an audit, of
 *               the same job, and covers the frame.
 *   [attempt]   attempts in flight have unique ids <= last_attempt, lie
 *               within their job, belong to a session that exists (or to
 *               none: orphans after a restart); an audit attempt's record
 *               is running (or third) and names its worker.
 *   [idle]      a chunk attempt in flight has a running frame: otherwise
 *               it holds credit for nothing, and a restart drops it.
 *   [session]   session numbers are unique.
 *   [ended]     a done, failed or cancelled job has no attempt in flight; a
 *               done job has every frame done and no audit open.
 *   [owner]     (decided per message) a FRAME, CHUNK_DONE or CHUNK_FAIL
 *               from a session that does not hold the attempt (audit
 *               attempts and orphans included) changes nothing but
 *               evidence: no result, audit answer, attempt end, release,
 *               block.
 *   [hello]     (decided per message) a HELLO never ends another peer's
 *               session and never hands the peer an attempt that was given
 *               to another peer (orphans included).
 *   [self-audit] an audit never goes to the peer (key) that rendered the
 *               primary result, nor a third opinion to the first auditor.
 *   [quarantine] no honest peer is ever quarantined.
 *   [fileset]   every current (accepted) result lists exactly the files
 *               the job's plan implies: its keys, order and extensions.
 *   [honest]    a done frame has an accepted result, and one an honest
 *               peer sent is the honest result (nothing is filed under
 *               another frame).
 *   [confirmed] a current result whose audit is settled (job not failed)
 *               equals the honest one: every file's hash and content, the
 *               camera and t_ms.
 *   [disk]      (every 16 steps) the files of current results are on the
 *               disk as accepted (frames damaged on purpose aside).
 *   [restart]   the state co_recover rebuilds from the journal equals the
 *               live one: jobs, frames, budgets, blocks, audits, counters,
 *               quarantines, attempts in flight (as orphans), and for a job
 *               that finished, the manifest it writes. A full co_recover
 *               costs most of a step, so it runs every 8th step of random
 *               runs, every step when replaying a corpus entry or with
 *               --one, and at every RESTART event (--restart-every K).
 *   [manifest]  a finished job's manifest is the one its accepted results
 *               make (for frames a RERENDER kept: what metadata.json
 *               listed); with audits at rate 1 it is the honest manifest.
 *   [apply] [journal] [settle] co_apply and the journal never refuse a
 *               transition; the settle loop ends.
 *   [crash] [hang] no signal (the suite also runs under ASan + UBSan: a
 *               sanitizer's report names the crash), no episode beyond
 *               its alarm (60 s).
 *
 * WHAT IS PROVABLE, AND WHAT IS NOT. Without audits the coordinator can
 * only check that a result is self-consistent (its bytes hash to its
 * hashes) and well-formed: a liar that legitimately holds an attempt can
 * have a consistent lie accepted, and nothing can catch it. So no
 * invariant says "every accepted result is honest". Instead: a non-honest
 * result can only come from the peer that legitimately held the attempt
 * ([owner], [hello]), has the plan's file set ([fileset]), and once an
 * audit confirms it, it is honest ([confirmed]). That last one holds
 * because a confirmation needs two distinct identities with equal
 * signatures and liars never collude; two liars telling the same lie
 * would confirm each other and no 2-of-3 audit can catch that, so the
 * model excludes it. With audits at rate 1 every accepted result is
 * audited and a job completes only with every audit settled, so a job
 * that reaches `done` has only confirmed results and its manifest is the
 * honest one. The brief's "majority of honest distinct identities" is not
 * needed for that: without collusion a lie is never confirmed; an honest
 * majority only makes it likely that the job completes rather than fails
 * (three different answers fail it).
 *
 * CLASSES. k_classes below lists the adversary capabilities (and one
 * check), each with the bug it found when it was written; all are fixed
 * and on. A new capability that breaks an invariant goes in switched off
 * (never generated, so ctest stays green) until its bug is fixed; corpus
 * entries that need a class that is off are skipped (--xfail runs them,
 * reporting xfail or xpass).
 *
 * RUNNING.
 *   test_coord_fuzz                       the corpus, then 20,000 random steps
 *                                         (8,000 under ASan), seed 1
 *   test_coord_fuzz --steps N --seed S    a long run (episodes of --episode L
 *                                         steps, default 1,000), or --seconds S
 *   test_coord_fuzz --with all            every class on (--with forge,ident ...)
 *   test_coord_fuzz --replay FILE [-v]    one corpus file
 *   test_coord_fuzz --one SEED --steps K --classes LIST -v
 *                                         one episode, every event and log line
 * Each episode runs in a child process, so a crash or a hang is reported
 * like any other failure. A failure prints the episode seed, the step, the
 * invariant, the last events and a minimized event script (delta debugging
 * over the events, --minimize-seconds, default 20), and is written to
 * tests/corpus/coord_fuzz/seed-<seed>-<invariant>.txt (--no-save: not):
 * the seed, its classes and step count, and the minimized script, which
 * --replay and the default run replay. A random run ends with what it
 * covered (results, audits, quarantines, restarts, manifests...) and its
 * steps per second. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "journal.h"
#include "lattice/digest.h"
#include "lattice/export.h"
#include "lattice/files.h"
#include "lattice/frame_msg.h"
#include "lattice/ir_codec.h"
#include "lattice/manifest.h"
#include "lattice/repair.h"
#include "recover.h"
#include "sched.h"

/* Random steps of the default (ctest) run: fewer under the sanitizers,
 * which make a step about 5 times slower. */
#if defined(__SANITIZE_ADDRESS__)
#define FZ_DEFAULT_STEPS 8000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_DEFAULT_STEPS 8000
#endif
#endif
#ifndef FZ_DEFAULT_STEPS
#define FZ_DEFAULT_STEPS 20000
#endif

/* ---- adversary classes ------------------------------------------------------ */

/* The adversary capabilities (and one check), each with the bug it found
 * before it was fixed. `on`: generated in the default run. (a)-(e) are the
 * bugs issue 11 named; the rest this fuzzer found. */
enum {
    C_FORGE,      /* (a) */
    C_FILESET,    /* (b) */
    C_CONTENT,    /* (c) */
    C_RANGE,      /* (d) */
    C_IDENT,      /* (e) */
    C_CAMERA,     /* new */
    C_TIME,       /* new */
    C_REHELLO,    /* new */
    C_DISKFULL,   /* new */
    C_NOMAJORITY, /* new */
    C_STALEAUDIT, /* new; gates checks, not events */
    C_EMPTYNAME,  /* new */
    C_RESEND,     /* new */
    C_RESCAN,     /* new */
    C_COUNT
};

typedef struct fz_class {
    const char *name;
    bool on;
    const char *what;
} fz_class_t;

static fz_class_t k_classes[C_COUNT] = {
    [C_FORGE] = {"forge", true,
                 "(a) FRAME / CHUNK_DONE / CHUNK_FAIL for attempts the sender does not hold, "
                 "and HELLO.resumed listing them. [owner]: a forged FRAME is accepted "
                 "(co_sched_frame never compares the session with the attempt's; orphans "
                 "take FRAMEs from anyone); [hello]: co_sched_hello hands an orphaned attempt "
                 "(after a restart) to whoever lists it in `resumed`"},
    [C_FILESET] = {"fileset", true,
                   "(b) liars send other file sets (files [], one more or less, reordered, "
                   "another extension). [fileset]: the first accepted FRAME fixes the "
                   "manifest's keys, later honest FRAMEs are rejected"},
    [C_CONTENT] = {"content", true,
                   "(c) liars send wrong bytes under their own hashes with the honest "
                   "`content`. [confirmed]: audits compare self-reported content hashes"},
    [C_RANGE] = {"range", true,
                 "(d) SUBMIT ranges near 2^63, up to INT64_MAX. [crash] under UBSan: "
                 "first + n - 1 overflows (sched.c co_sched_submit); [hang] without: "
                 "for (f = first; f <= last; f++) never ends at INT64_MAX (journal.c "
                 "s_attempt_start, also apply.c, attempts.c); [restart]: frames beyond 2^53 "
                 "do not survive the resolved config's JSON, the job is not recovered"},
    [C_IDENT] = {"ident", true,
                 "(e) HELLO with another worker's name or with a second name of one's own. "
                 "[hello]: it replaces the victim's session and takes its attempts; "
                 "[self-audit]: one key under two names audits itself; [owner]: its old "
                 "session's attempts take FRAMEs from the new one"},
    [C_CAMERA] = {"camera", true,
                  "liars send honest files with another camera and t_ms. [confirmed]: "
                  "audits compare only files' contents, so a wrong camera is confirmed and "
                  "reaches trajectory.json (rate 1 included)"},
    [C_TIME] = {"time", true,
                "liars send t_ms NaN. [apply]: co_job_manifest_frame's check does not test "
                "the time, the manifest refuses it when applying: the frame is done in "
                "state and journal but missing from the manifest (finish fails; a restart "
                "skips the result)"},
    [C_REHELLO] = {"rehello", true,
                   "a second HELLO on the same socket. [session]: co_sched_hello opens a "
                   "second session with the same number (s_session_open appends)"},
    [C_DISKFULL] = {"diskfull", true,
                    "the coordinator's own disk fails placing a result (LX_E_IO). [idle]: "
                    "co_sched_reject releases the frame and keeps the attempt; when it was "
                    "its last running frame the attempt holds credit with nothing to do, "
                    "and a restart drops it"},
    [C_NOMAJORITY] = {"nomajority", true,
                      "RERENDER of a job that an audit failed (three different results). "
                      "[confirmed]: the frame's audit stays `done`, the rerender keeps its "
                      "unconfirmed (wrong) result and the job can finish with it"},
    [C_STALEAUDIT] = {"staleaudit", true,
                      "(checks) a quarantine reopens a frame while its audit runs and leaves "
                      "the audit attempt in flight, its record reset. [attempt]: a stale "
                      "audit; when it ends it reopens the frame's next audit (two in "
                      "flight); [ended]: it outlives its job; [restart]: the journal keeps "
                      "it running, a restart drops it or brings it back. Off: audit attempts "
                      "of such frames are not checked"},
    [C_EMPTYNAME] = {"emptyname", true,
                     "HELLO with an empty name. [apply]: it interns as identity 0 (nobody); "
                     "co_apply fails (\"out of memory\")"},
    [C_RESEND] = {"resend", true,
                  "a worker sends a FRAME again (its ACK was lost), a late one too. "
                  "[restart]: each copy counts in `late`, the journal keeps one"},
    [C_RESCAN] = {"rescan", true,
                  "RERENDER of a job whose metadata.json is older than its accepted results. "
                  "[restart]: the scan records metadata.json's old entry for a frame whose "
                  "bytes did not change (a content lie re-rendered after a quarantine): the "
                  "manifest differs from the journal's results"},
};

/* ---- a small PRNG --------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t s_mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t r_u64(rng_t *r) { return s_mix(&r->s); }
static int64_t r_below(rng_t *r, int64_t n)
{
    return n > 0 ? (int64_t)(r_u64(r) % (uint64_t)n) : 0;
}
static int64_t r_range(rng_t *r, int64_t lo, int64_t hi) { return lo + r_below(r, hi - lo + 1); }
static bool r_chance(rng_t *r, double p)
{
    return (double)(r_u64(r) >> 11) / 9007199254740992.0 < p;
}

/* ---- templates: what an honest render of a plan lists ---------------------- */

enum { FZ_MAX_KEYS = 48 };

typedef struct tmpl {
    const char *example, *artifacts;
    char *patch;
    uint32_t n_keys;
    char keys[FZ_MAX_KEYS][96];
    char ext[FZ_MAX_KEYS][8];
} tmpl_t;

static tmpl_t g_tmpl[] = {
    {"orbit-cards", "rgba", NULL, 0, {{0}}, {{0}}},
    {"orbit-cards", "rgba,depth,mask", NULL, 0, {{0}}, {{0}}},
    {"logo-sting", "rgba,id,camera", NULL, 0, {{0}}, {{0}}},
    {"feedback-trails", NULL, NULL, 0, {{0}}, {{0}}},
};
enum { FZ_N_TMPL = sizeof g_tmpl / sizeof g_tmpl[0] };
static const char *const k_config = "{\"resolution\": [16, 16]}";

/* A whole text file (free with s_free_file); NULL when it cannot be read. */
static char *s_read_file(const char *path)
{
    size_t len;
    return lx_read_file(path, (size_t)1 << 30, &len, lx_alloc_default());
}

static void s_free_file(char *text) { lx_free(lx_alloc_default(), text); }

static void s_request(const tmpl_t *t, lx_export_request_t *req, int64_t first, int64_t last)
{
    *req = (lx_export_request_t)LX_EXPORT_REQUEST_INIT;
    req->patch = t->patch;
    req->patch_len = strlen(t->patch);
    req->patch_name = t->example;
    req->config = k_config;
    req->config_len = strlen(k_config);
    req->config_name = "config";
    req->has_frames = true;
    req->first = first;
    req->last = last;
    req->artifacts = t->artifacts;
}

/* The keys and extensions of frame 0 of each template, by a real render:
 * the honest file set is what the plan implies, not what a test says. */
static bool s_templates_init(void)
{
    for (size_t i = 0; i < FZ_N_TMPL; i++) {
        tmpl_t *t = &g_tmpl[i];
        char path[4096];
        snprintf(path, sizeof path, "%s/examples/%s.patch.json", LX_SOURCE_DIR, t->example);
        if (!(t->patch = s_read_file(path))) {
            fprintf(stderr, "cannot read %s\n", path);
            return false;
        }
        lx_export_request_t req;
        s_request(t, &req, 0, 0);
        lx_strbuf_t report;
        lx_strbuf_init(&report, NULL);
        lx_error_t err = {0};
        lx_program_t *p = NULL;
        lx_export_plan_t plan;
        lx_result_t rc = lx_export_prepare(&req, NULL, &p, &plan, &report, &err);
        lx_frame_renderer_t *fr =
            rc == LX_OK ? lx_frame_renderer_new(p, &plan, 1, NULL, NULL, NULL, &err) : NULL;
        const lx_frame_result_t *res = NULL;
        if (fr)
            rc = lx_frame_renderer_render(fr, 0, &res, &err);
        bool ok = fr && rc == LX_OK && res->n_files <= FZ_MAX_KEYS;
        for (uint32_t k = 0; ok && k < res->n_files; k++) {
            const char *dot = strrchr(res->files[k].name, '.');
            snprintf(t->keys[k], sizeof t->keys[k], "%s", res->files[k].key);
            snprintf(t->ext[k], sizeof t->ext[k], "%s", dot ? dot + 1 : "");
        }
        if (ok)
            t->n_keys = res->n_files;
        else
            fprintf(stderr, "template %s (%s): %s %s\n", t->example,
                    t->artifacts ? t->artifacts : "default", err.message,
                    report.buf ? report.buf : "");
        lx_frame_renderer_destroy(&fr);
        lx_program_destroy(&p);
        lx_strbuf_release(&report);
        if (!ok)
            return false;
    }
    return true;
}

/* ---- the disk: paths to bytes ------------------------------------------------- */

typedef struct dent {
    char *path, *bytes;
    size_t len;
    char hash[65];
    struct dent *next;
} dent_t;

typedef struct disk {
    dent_t **b;
    size_t nb, n;
} disk_t;

static uint64_t s_strhash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static dent_t **s_disk_slot(disk_t *d, const char *path)
{
    if (!d->nb) {
        d->nb = 4096;
        d->b = calloc(d->nb, sizeof *d->b);
    }
    dent_t **p = &d->b[s_strhash(path) % d->nb];
    while (*p && strcmp((*p)->path, path) != 0)
        p = &(*p)->next;
    return p;
}

static const dent_t *s_disk_get(disk_t *d, const char *path) { return *s_disk_slot(d, path); }

static void s_disk_put(disk_t *d, const char *path, const void *bytes, size_t len)
{
    dent_t **p = s_disk_slot(d, path);
    if (!*p) {
        *p = calloc(1, sizeof **p);
        (*p)->path = strdup(path);
        d->n++;
    }
    free((*p)->bytes);
    (*p)->bytes = malloc(len + 1);
    memcpy((*p)->bytes, bytes, len);
    (*p)->bytes[len] = '\0';
    (*p)->len = len;
    lx_sha256_hex(bytes, len, (*p)->hash);
}

static void s_disk_del(disk_t *d, const char *path)
{
    dent_t **p = s_disk_slot(d, path);
    dent_t *e = *p;
    if (!e)
        return;
    *p = e->next;
    free(e->path);
    free(e->bytes);
    free(e);
    d->n--;
}

/* rename(2): the target is replaced, the source goes. */
static bool s_disk_rename(disk_t *d, const char *from, const char *to)
{
    const dent_t *e = s_disk_get(d, from);
    if (!e)
        return false;
    char *bytes = malloc(e->len + 1);
    size_t len = e->len;
    memcpy(bytes, e->bytes, len);
    s_disk_put(d, to, bytes, len);
    free(bytes);
    s_disk_del(d, from);
    return true;
}

static void s_disk_free(disk_t *d)
{
    for (size_t i = 0; i < d->nb; i++)
        while (d->b[i]) {
            dent_t *e = d->b[i];
            d->b[i] = e->next;
            free(e->path);
            free(e->bytes);
            free(e);
        }
    free(d->b);
    memset(d, 0, sizeof *d);
}

/* ---- events ------------------------------------------------------------------ */

typedef enum {
    EV_NONE,
    EV_SUBMIT,     /* j token, x template, y chunk, lo-hi frames, m audit (0 none, 1 rate 0,
                      2 rate 0.5, 3 rate 1), l stream, f progress timeout ms */
    EV_CANCEL,     /* j job */
    EV_RERENDER,   /* j job, m `only` bits (0: all), lo-hi frames (x = 1: given) */
    EV_DAMAGE,     /* j job, f frame, x file, y 0 delete, 1 corrupt */
    EV_FAILFINISH, /* j job: its next manifest cannot be written */
    EV_HELLO,      /* p peer, l 1 new socket (0: the same socket again), m name (0 its own,
                      1 a second name of its own, 2 the name of peer x), y resumed (0 none,
                      1 what it holds, 2 what peer x's sessions hold), at one more attempt */
    EV_READY,      /* p peer, lo credit */
    EV_FRAME,      /* p peer, j job (-1: none), at attempt, f frame, l lie, m 1 audit (no
                      bytes), x 1 the coordinator's disk fails */
    EV_CHUNK_DONE, /* p peer, j job, at attempt */
    EV_CHUNK_FAIL, /* p peer, j job, at attempt, x reason */
    EV_DROP,       /* p peer forgets attempt at (no message) */
    EV_GOODBYE,    /* p peer */
    EV_DEAD,       /* p peer: its session dies (liveness); the worker goes on */
    EV_TICK,       /* lo ms pass; timers */
    EV_RESTART,    /* the coordinator restarts */
    EV_COUNT
} ev_kind_t;

static const char *const k_ev_names[EV_COUNT] = {
    "NONE",  "SUBMIT",     "CANCEL",     "RERENDER", "DAMAGE",  "FAILFINISH", "HELLO", "READY",
    "FRAME", "CHUNK_DONE", "CHUNK_FAIL", "DROP",     "GOODBYE", "DEAD",       "TICK",  "RESTART"};

typedef struct ev {
    int32_t kind, p, j, x, y, m, l, cls; /* cls: the class bits the event needs */
    uint64_t at;
    int64_t f, lo, hi;
} ev_t;

typedef enum {
    L_TRUTH,
    L_SELF,      /* wrong bytes, their own hashes and contents */
    L_CLAIM,     /* wrong bytes under the honest hashes */
    L_CONTENT,   /* honest bytes, wrong contents */
    L_NOBYTES,   /* no bytes (stream) or no attempt file (shared) */
    L_BADCAM,    /* a camera of 16 values */
    L_OTHERNAME, /* the next frame's names */
    L_RENDERMS,  /* render_ms NaN, inf or hugely negative */
    L_HASHONLY,  /* class content: wrong bytes, own hashes, honest contents */
    L_EMPTY,     /* class fileset: files [] */
    L_EXTRA,     /* class fileset: one more file */
    L_MISSING,   /* class fileset: one file less */
    L_BADEXT,    /* class fileset: another extension */
    L_REORDER,   /* class fileset: another order */
    L_CAMERA,    /* class camera: honest files, another camera and t_ms */
    L_NANTIME,   /* class time: t_ms NaN */
    L_COUNT
} lie_t;

static const char *const k_lie_names[L_COUNT] = {
    "truth",    "self",  "claim", "content", "nobytes", "badcam",  "othername", "renderms",
    "hashonly", "empty", "extra", "missing", "badext",  "reorder", "camera",    "nantime"};

static int s_lie_class(int lie)
{
    switch (lie) {
    case L_HASHONLY:
        return C_CONTENT;
    case L_EMPTY:
    case L_EXTRA:
    case L_MISSING:
    case L_BADEXT:
    case L_REORDER:
        return C_FILESET;
    case L_CAMERA:
        return C_CAMERA;
    case L_NANTIME:
        return C_TIME;
    default:
        return -1;
    }
}

static const char *const k_reasons[] = {"render_error", "io_error",    "interrupted",   "busy",
                                        "too_large",    "bad_program", "bad_assignment"};
enum { N_REASONS = sizeof k_reasons / sizeof k_reasons[0] };

/* ---- the harness ------------------------------------------------------------ */

enum {
    FZ_MAX_PEERS = 8,
    FZ_MAX_JOBS = 24,
    FZ_MAX_HELD = 64,
    FZ_MAX_UNACKED = 256,
    FZ_MAX_EVENTS = 20000,
    FZ_MAX_FRAMES = 20000, /* frames per job the generator asks for (the plan allows 1e8) */
};

typedef enum { PK_HONEST, PK_LIAR, PK_FORGER } peer_kind_t;

/* What a worker believes it works on. */
typedef struct held {
    uint64_t attempt;
    int job;
    int64_t first, last, next;
    bool audit, cancelled;
} held_t;

/* A FRAME sent and not acknowledged: sent again after every HELLO. */
typedef struct unacked {
    uint64_t attempt;
    int job;
    int64_t frame;
    int lie;
    bool audit;
} unacked_t;

typedef struct peer {
    peer_kind_t kind;
    char key[8];     /* who it is */
    char name[48];   /* the name it gave in its last HELLO */
    uint64_t serial; /* its socket's session; 0 = not connected */
    held_t held[FZ_MAX_HELD];
    int n_held;
    unacked_t unacked[FZ_MAX_UNACKED];
    int n_unacked;
    ev_t last_frame; /* the last FRAME it sent (kind EV_NONE: none) */
} peer_t;

typedef struct fz_file {
    char *key, *name;
    char hash[65], content[33];
} fz_file_t;

enum { D_FILESET = 1, D_HASH = 2, D_CONTENT = 4, D_CAMERA = 8, D_TIME = 16 };

/* An accepted result, as the core accepted it. */
typedef struct fz_result {
    uint64_t attempt;
    int peer, lie;
    unsigned diff; /* D_* against the honest result */
    double t_ms, cam[17];
    uint32_t n_cam, n_files;
    fz_file_t *files;
    struct fz_result *next; /* older results of the frame */
} fz_result_t;

/* What a manifest holds for a frame: a result's files, and its camera and
 * time, or (carried over by a RERENDER's scan) the honest camera and time. */
typedef struct fz_expect {
    const fz_result_t *r;
    bool honest_cam;
} fz_expect_t;

typedef struct hjob {
    char id[16], token[32];
    int tmpl;
    bool stream, written_once, check_restart_manifest, fail_finish;
    double audit_rate;
    int64_t first, n;
    fz_result_t **res;    /* per frame, newest first */
    fz_expect_t *expect;  /* per frame: what the live manifest holds */
    fz_expect_t *written; /* per frame: what metadata.json lists (NULL before a write) */
    fz_expect_t *fresh;   /* a RERENDER's scan, until its transition is applied */
    int8_t *aud1;         /* per frame: the peer that took the first audit */
    uint8_t *stale;       /* per frame: an audit attempt of it was seen in flight with its
                             record reset (class staleaudit) */
    uint8_t *damaged;     /* per frame: files damaged on purpose */
} hjob_t;

typedef struct tok {
    ev_t submit; /* the SUBMIT that used it */
} tok_t;

typedef struct attinfo {
    int peer, job;
    bool audit;
} attinfo_t;

typedef struct nameuse {
    char name[48];
    uint32_t peers;
} nameuse_t;

/* What episodes did, so that a run can show what it covered. */
enum {
    ST_RESULT,
    ST_REJECTED,
    ST_LATE,
    ST_AUDIT,
    ST_CONFIRMED,
    ST_DISPUTED,
    ST_QUARANTINE,
    ST_DONE,
    ST_FAILED,
    ST_CANCELLED,
    ST_REOPEN,
    ST_BLOCK,
    ST_RESTART,
    ST_RESTART_CHECK,
    ST_MANIFEST,
    ST_HONEST_MANIFEST,
    ST_COUNT
};
static const char *const k_stat_names[ST_COUNT] = {
    "results accepted", "results rejected", "late results",       "audits assigned",
    "confirmed",        "disputed",         "quarantines",        "jobs done",
    "jobs failed",      "jobs cancelled",   "frames reopened",    "blocks",
    "restarts",         "restart checks",   "manifests compared", "honest manifests compared"};

/* The event being handled, for decision-level checks and attribution. */
typedef struct ctx {
    int kind, peer, lie;
    uint64_t serial, attempt;
} ctx_t;

typedef struct fz {
    co_state_t s;
    co_journal_t *jn;
    double now;
    rng_t rng;
    unsigned classes;
    int restart_every;
    bool verbose;
    int64_t step;
    const char *tmp;
    uint64_t last_serial;
    int *peer_of_serial;
    size_t cap_serial;
    peer_t peers[FZ_MAX_PEERS];
    int n_peers;
    hjob_t jobs[FZ_MAX_JOBS];
    int n_jobs;
    tok_t toks[64];
    int n_toks;
    attinfo_t *att;
    size_t cap_att;
    nameuse_t names[64];
    int n_names;
    disk_t disk;
    ctx_t ctx;
    bool big_job; /* one large job per episode at most */
    uint64_t stats[ST_COUNT];
    /* the first failure */
    bool failed;
    char inv[48];
    char msg[1536];
} fz_t;

static void fz_fail(fz_t *z, const char *inv, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void fz_fail(fz_t *z, const char *inv, const char *fmt, ...)
{
    if (z->failed)
        return;
    z->failed = true;
    snprintf(z->inv, sizeof z->inv, "%s", inv);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->msg, sizeof z->msg, fmt, ap);
    va_end(ap);
}

static bool s_on(const fz_t *z, int cls) { return (z->classes >> cls) & 1u; }

static int s_peer_of_serial(const fz_t *z, uint64_t serial)
{
    return serial && serial < z->cap_serial ? z->peer_of_serial[serial] : -1;
}

static void s_set_peer_of_serial(fz_t *z, uint64_t serial, int peer)
{
    if (serial >= z->cap_serial) {
        size_t cap = z->cap_serial ? z->cap_serial : 64;
        while (cap <= serial)
            cap *= 2;
        z->peer_of_serial = realloc(z->peer_of_serial, cap * sizeof *z->peer_of_serial);
        for (size_t i = z->cap_serial; i < cap; i++)
            z->peer_of_serial[i] = -1;
        z->cap_serial = cap;
    }
    z->peer_of_serial[serial] = peer;
}

static attinfo_t *s_att(fz_t *z, uint64_t id)
{
    if (id >= (uint64_t)1 << 40)
        return NULL;
    if (id >= z->cap_att) {
        size_t cap = z->cap_att ? z->cap_att : 256;
        while (cap <= id)
            cap *= 2;
        z->att = realloc(z->att, cap * sizeof *z->att);
        for (size_t i = z->cap_att; i < cap; i++)
            z->att[i] = (attinfo_t){-1, -1, false};
        z->cap_att = cap;
    }
    return &z->att[id];
}

static void s_name_used(fz_t *z, const char *name, int peer)
{
    for (int i = 0; i < z->n_names; i++)
        if (strcmp(z->names[i].name, name) == 0) {
            z->names[i].peers |= 1u << peer;
            return;
        }
    if (z->n_names < 64) {
        snprintf(z->names[z->n_names].name, sizeof z->names[0].name, "%s", name);
        z->names[z->n_names++].peers = 1u << peer;
    }
}

static uint32_t s_name_peers(const fz_t *z, const char *name)
{
    for (int i = 0; i < z->n_names; i++)
        if (strcmp(z->names[i].name, name) == 0)
            return z->names[i].peers;
    return 0;
}

static int s_hjob(const fz_t *z, const char *id)
{
    for (int i = 0; id && i < z->n_jobs; i++)
        if (strcmp(z->jobs[i].id, id) == 0)
            return i;
    return -1;
}

static co_job_t *s_job_of(const fz_t *z, int hj)
{
    return hj >= 0 && hj < z->n_jobs ? co_state_job(&z->s, z->jobs[hj].id) : NULL;
}

static const fz_result_t *s_result(const hjob_t *hj, int64_t i, uint64_t attempt)
{
    for (const fz_result_t *r = hj->res[i]; r; r = r->next)
        if (r->attempt == attempt)
            return r;
    return NULL;
}

static bool s_session_live(const fz_t *z, uint64_t serial)
{
    return serial && co_state_session(&z->s, serial) != NULL;
}

/* ---- the core's API, in one place (its signatures are changing) --------------- */

static void core_submit(fz_t *z, co_job_t **j, const void *program, size_t len, co_tx_t *tx)
{
    co_sched_submit(&z->s, j, program, len, tx);
}

/* HELLO from peer p (its key is what identity will be). */
static void core_hello(fz_t *z, uint64_t serial, const peer_t *p, const lx_msg_t *hello,
                       co_tx_t *tx)
{
    co_sched_hello(&z->s, serial, p->key, hello, z->now, tx);
}

static void core_ready(fz_t *z, uint64_t serial, uint32_t credit, co_tx_t *tx)
{
    co_sched_ready(&z->s, serial, credit, tx);
}

static co_frame_verdict_t core_frame(fz_t *z, uint64_t serial, const lx_msg_t *m, const void *rec,
                                     size_t len, co_tx_t *tx)
{
    return co_sched_frame(&z->s, serial, m, rec, len, z->now, tx);
}

static void core_accept(fz_t *z, uint64_t serial, const lx_msg_t *m, const void *rec, size_t len,
                        co_tx_t *tx)
{
    co_sched_accept(&z->s, serial, m, rec, len, z->now, tx);
}

static void core_reject(fz_t *z, uint64_t serial, const lx_msg_t *m, lx_result_t rc,
                        const char *why, co_tx_t *tx)
{
    co_sched_reject(&z->s, serial, m, rc, why, z->now, tx);
}

static void core_chunk_end(fz_t *z, uint64_t serial, const lx_msg_t *m, co_tx_t *tx)
{
    /* The model's disk never fails a worker: its storage claims are
     * unconfirmed. */
    co_sched_chunk_end(&z->s, serial, m, NULL, z->now, tx);
}

static void core_session_end(fz_t *z, uint64_t serial, const char *why, co_tx_t *tx)
{
    co_sched_session_end(&z->s, serial, why, z->now, tx);
}

static void core_cancel(fz_t *z, co_job_t *j, co_tx_t *tx)
{
    co_sched_cancel(&z->s, j, z->now, tx);
}

static void core_rerender(fz_t *z, co_job_t *j, const uint8_t *redo, lx_manifest_t **fresh,
                          co_tx_t *tx)
{
    co_sched_rerender(&z->s, j, redo, fresh, z->now, tx);
}

static void core_finished(fz_t *z, co_job_t *j, lx_result_t rc, const char *error, co_tx_t *tx)
{
    co_sched_finished(&z->s, j, rc, error, tx);
}

static bool core_tick(const co_state_t *s, double now, co_tx_t *tx)
{
    return co_sched_tick(s, now, tx);
}
static bool core_dispatch(const co_state_t *s, double now, co_tx_t *tx)
{
    return co_sched_dispatch(s, now, tx);
}
static bool core_finish(const co_state_t *s, double now, co_tx_t *tx)
{
    return co_sched_finish(s, now, tx);
}

static lx_result_t core_recover(fz_t *z, co_state_t *out, co_tx_t *log, lx_error_t *err)
{
    co_state_init(out);
    out->policy = z->s.policy;
    co_recovered_t got;
    return co_recover(out, z->jn, z->now, z->now, 3000, log, &got, err);
}

/* ---- FRAMEs: the honest one, and lies ------------------------------------------ */

typedef struct fz_frame {
    lx_msg_t m;
    uint32_t n;
    lx_file_rec_t files[FZ_MAX_KEYS + 1];
    char key[FZ_MAX_KEYS + 1][100], name[FZ_MAX_KEYS + 1][64];
    char hash[FZ_MAX_KEYS + 1][65], content[FZ_MAX_KEYS + 1][33];
    char bytes[FZ_MAX_KEYS + 1][200];
    size_t blen[FZ_MAX_KEYS + 1];
    double cam[17];
    uint32_t n_cam;
    double t_ms, render_ms;
} fz_frame_t;

static void s_honest_cam(int64_t f, double cam[17])
{
    double c[17] = {0, 0, 0, 5, 0, 0, 0, 0, 1, 0, 0, 0, -1, 40, 2, 0.1, 100};
    c[1] = (double)(f % 1000) * 0.01;
    memcpy(cam, c, sizeof c);
}

static void s_file(fz_frame_t *fr, uint32_t k, const char *key, int64_t f, const char *ext,
                   const char *bytes)
{
    snprintf(fr->key[k], sizeof fr->key[k], "%s", key);
    snprintf(fr->name[k], sizeof fr->name[k], "frame_%06" PRId64 ".%s", f, ext);
    snprintf(fr->bytes[k], sizeof fr->bytes[k], "%s", bytes);
    fr->blen[k] = strlen(fr->bytes[k]);
    lx_sha256_hex(fr->bytes[k], fr->blen[k], fr->hash[k]);
    uint8_t x[16];
    lx_xxh128(fr->bytes[k], fr->blen[k], x);
    lx_hex(x, 16, fr->content[k]);
}

/* Frame f of job `job` as peer `pkey` sends it under `lie`. */
static void s_build(fz_frame_t *fr, const char *job, const tmpl_t *t, int64_t f, const char *pkey,
                    int lie, uint64_t attempt)
{
    memset(fr, 0, sizeof *fr);
    fr->n = t->n_keys;
    char honest[200], wrong[200];
    for (uint32_t k = 0; k < t->n_keys; k++) {
        snprintf(honest, sizeof honest, "%s:%" PRId64 ":%s", job, f, t->keys[k]);
        s_file(fr, k, t->keys[k], f, t->ext[k], honest);
    }
    s_honest_cam(f, fr->cam);
    fr->n_cam = 17;
    fr->t_ms = (double)f * 40.0;
    fr->render_ms = 5.0 + (double)(f % 7);
    for (uint32_t k = 0; k < fr->n; k++) {
        snprintf(wrong, sizeof wrong, "lie:%s:%s:%" PRId64 ":%s", pkey, job, f, fr->key[k]);
        char h[65], c[33];
        uint8_t x[16];
        lx_sha256_hex(wrong, strlen(wrong), h);
        lx_xxh128(wrong, strlen(wrong), x);
        lx_hex(x, 16, c);
        switch (lie) {
        case L_SELF:
            s_file(fr, k, t->keys[k], f, t->ext[k], wrong);
            break;
        case L_CLAIM:
            snprintf(fr->bytes[k], sizeof fr->bytes[k], "%s", wrong);
            fr->blen[k] = strlen(wrong);
            break;
        case L_CONTENT:
            memcpy(fr->content[k], c, sizeof c);
            break;
        case L_HASHONLY:
            snprintf(fr->bytes[k], sizeof fr->bytes[k], "%s", wrong);
            fr->blen[k] = strlen(wrong);
            memcpy(fr->hash[k], h, sizeof h);
            break;
        case L_OTHERNAME:
            if (f < INT64_MAX)
                snprintf(fr->name[k], sizeof fr->name[k], "frame_%06" PRId64 ".%s", f + 1,
                         t->ext[k]);
            break;
        case L_BADEXT:
            snprintf(fr->name[k], sizeof fr->name[k], "frame_%06" PRId64 ".bin", f);
            break;
        default:
            break;
        }
    }
    switch (lie) {
    case L_BADCAM:
        fr->n_cam = 16;
        break;
    case L_RENDERMS:
        fr->render_ms = attempt % 3 == 0 ? NAN : attempt % 3 == 1 ? INFINITY : -1e308;
        break;
    case L_EMPTY:
        fr->n = 0;
        break;
    case L_EXTRA: {
        char key[40], bytes[200];
        snprintf(key, sizeof key, "xtra-%s", pkey);
        snprintf(bytes, sizeof bytes, "extra:%s:%s:%" PRId64, pkey, job, f);
        s_file(fr, fr->n, key, f, "png", bytes);
        fr->n++;
        break;
    }
    case L_MISSING:
        fr->n = fr->n > 1 ? fr->n - 1 : 0;
        break;
    case L_REORDER:
        for (uint32_t a = 0, b = fr->n ? fr->n - 1 : 0; a < b; a++, b--) {
            fz_frame_t tmp;
            memcpy(tmp.key[0], fr->key[a], sizeof tmp.key[0]);
            memcpy(fr->key[a], fr->key[b], sizeof tmp.key[0]);
            memcpy(fr->key[b], tmp.key[0], sizeof tmp.key[0]);
            memcpy(tmp.name[0], fr->name[a], sizeof tmp.name[0]);
            memcpy(fr->name[a], fr->name[b], sizeof tmp.name[0]);
            memcpy(fr->name[b], tmp.name[0], sizeof tmp.name[0]);
            memcpy(tmp.hash[0], fr->hash[a], sizeof tmp.hash[0]);
            memcpy(fr->hash[a], fr->hash[b], sizeof tmp.hash[0]);
            memcpy(fr->hash[b], tmp.hash[0], sizeof tmp.hash[0]);
            memcpy(tmp.content[0], fr->content[a], sizeof tmp.content[0]);
            memcpy(fr->content[a], fr->content[b], sizeof tmp.content[0]);
            memcpy(fr->content[b], tmp.content[0], sizeof tmp.content[0]);
            memcpy(tmp.bytes[0], fr->bytes[a], sizeof tmp.bytes[0]);
            memcpy(fr->bytes[a], fr->bytes[b], sizeof tmp.bytes[0]);
            memcpy(fr->bytes[b], tmp.bytes[0], sizeof tmp.bytes[0]);
            size_t l = fr->blen[a];
            fr->blen[a] = fr->blen[b];
            fr->blen[b] = l;
        }
        break;
    case L_CAMERA:
        fr->cam[1] += 1.5 + (double)(pkey[1] - '0');
        fr->t_ms += 1;
        break;
    case L_NANTIME:
        fr->t_ms = NAN;
        break;
    default:
        break;
    }
}

/* The FRAME message of fr (bytes carried when with_bytes). */
static void s_frame_msg(fz_frame_t *fr, const char *job, uint64_t attempt, int64_t f,
                        bool with_bytes)
{
    lx_msg_t *m = &fr->m;
    memset(m, 0, sizeof *m);
    m->type = LX_MSG_FRAME;
    LX_MSG_SET(m, job, job);
    LX_MSG_SET(m, attempt, attempt);
    LX_MSG_SET(m, frame, f);
    LX_MSG_SET(m, render_ms, fr->render_ms);
    LX_MSG_SET(m, t_ms, fr->t_ms);
    LX_MSG_SET(m, camera, ((lx_f64s_t){fr->cam, fr->n_cam}));
    for (uint32_t k = 0; k < fr->n; k++) {
        lx_file_rec_t *r = &fr->files[k];
        memset(r, 0, sizeof *r);
        LX_REC_SET(r, LX_FILE_REC, key, fr->key[k]);
        LX_REC_SET(r, LX_FILE_REC, name, fr->name[k]);
        LX_REC_SET(r, LX_FILE_REC, hash, fr->hash[k]);
        LX_REC_SET(r, LX_FILE_REC, content, fr->content[k]);
        if (with_bytes)
            LX_REC_SET(r, LX_FILE_REC, bytes,
                       ((lx_bytes_t){(const uint8_t *)fr->bytes[k], fr->blen[k]}));
    }
    LX_MSG_SET(m, files, ((lx_file_recs_t){fr->files, fr->n}));
}

/* What differs between a FRAME and the honest result (D_*). */
static unsigned s_diff(const lx_msg_t *m, const fz_frame_t *h)
{
    unsigned d = 0;
    if (m->files.n != h->n)
        d |= D_FILESET;
    for (uint32_t k = 0; k < m->files.n && k < h->n; k++) {
        const lx_file_rec_t *r = &m->files.v[k];
        if (strcmp(r->key, h->key[k]) != 0 || strcmp(r->name, h->name[k]) != 0)
            d |= D_FILESET;
        if (strcmp(r->hash, h->hash[k]) != 0)
            d |= D_HASH;
        if (strcmp(r->content, h->content[k]) != 0)
            d |= D_CONTENT;
    }
    if (m->camera.n != h->n_cam || memcmp(m->camera.v, h->cam, sizeof(double) * h->n_cam) != 0)
        d |= D_CAMERA;
    if (memcmp(&m->t_ms, &h->t_ms, sizeof h->t_ms) != 0)
        d |= D_TIME;
    return d;
}

static void s_diff_text(unsigned d, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s%s%s", d & D_FILESET ? " file-set" : "", d & D_HASH ? " hash" : "",
             d & D_CONTENT ? " content" : "", d & D_CAMERA ? " camera" : "",
             d & D_TIME ? " t_ms" : "");
}

/* ---- the shell's files, modelled --------------------------------------------------- */

static void s_final_path(char *out, size_t size, const char *job, const char *key, const char *name)
{
    snprintf(out, size, "%s/%s/%s", job, key, name);
}

static void s_attempt_path(char *out, size_t size, const char *job, const char *key,
                           const char *name, uint64_t attempt)
{
    snprintf(out, size, "%s/%s/.%s.a%" PRIu64, job, key, name, attempt);
}

/* co_output_accept: stream mode checks and writes the carried bytes;
 * shared mode checks and renames the worker's attempt file. */
static lx_result_t s_accept_files(fz_t *z, const co_job_t *j, const lx_msg_t *m, bool disk_fails,
                                  lx_error_t *err)
{
    char path[600], final[600], hex[65];
    for (uint32_t k = 0; k < m->files.n; k++) {
        const lx_file_rec_t *f = &m->files.v[k];
        s_final_path(final, sizeof final, j->id, f->key, f->name);
        if (j->stream) {
            if (!(f->has & LX_FILE_REC_BIT(bytes)))
                return lx_fail(err, LX_E_VERIFY, "%s/%s: stream mode needs the file's bytes",
                               f->key, f->name);
            lx_sha256_hex(f->bytes.data, f->bytes.len, hex);
            if (strcmp(hex, f->hash) != 0)
                return lx_fail(err, LX_E_VERIFY, "%s/%s: bytes hash to %.12s, not %.12s", f->key,
                               f->name, hex, f->hash);
            if (disk_fails)
                return lx_fail(err, LX_E_IO, "no space left on device");
            s_disk_put(&z->disk, final, f->bytes.data, f->bytes.len);
            continue;
        }
        s_attempt_path(path, sizeof path, j->id, f->key, f->name, m->attempt);
        const dent_t *e = s_disk_get(&z->disk, path);
        if (!e)
            return lx_fail(err, LX_E_VERIFY, "%s: cannot read the worker's file", path);
        if (strcmp(e->hash, f->hash) != 0)
            return lx_fail(err, LX_E_VERIFY, "%s: file on disk hashes to %.12s, not %.12s", path,
                           e->hash, f->hash);
        if (disk_fails)
            return lx_fail(err, LX_E_IO, "cannot rename '%s': no space left on device", path);
        s_disk_rename(&z->disk, path, final);
    }
    return LX_OK;
}

static void s_drop_attempt_files(fz_t *z, const co_job_t *j, const lx_msg_t *m)
{
    char path[600];
    for (uint32_t k = 0; !j->stream && k < m->files.n; k++) {
        s_attempt_path(path, sizeof path, j->id, m->files.v[k].key, m->files.v[k].name, m->attempt);
        s_disk_del(&z->disk, path);
    }
}

/* ---- commit: journal, apply, effects -------------------------------------------- */

static void fz_commit(fz_t *z, co_tx_t *tx);
static void s_check_job(fz_t *z, const co_job_t *j);
static void s_compare_restart(fz_t *z, const co_state_t *r);

static const char *s_change_name(co_change_kind_t k)
{
    static const char *const names[] = {
        "JOB_ADD",     "JOB_STATE",     "JOB_RESTART",   "ATTEMPT_START",
        "ATTEMPT_END", "ATTEMPT_OWNER", "FRAME_RELEASE", "FRAME_REOPEN",
        "RESULT",      "EVIDENCE",      "AUDIT",         "QUARANTINE",
        "BLOCK",       "SESSION_OPEN",  "SESSION_CLOSE", "SESSION_CREDIT"};
    return (size_t)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static const char *s_peer_text(const fz_t *z, int p, char *buf, size_t size)
{
    if (p < 0 || p >= z->n_peers)
        snprintf(buf, size, "nobody");
    else
        snprintf(buf, size, "%s %s",
                 z->peers[p].kind == PK_HONEST ? "honest"
                 : z->peers[p].kind == PK_LIAR ? "liar"
                                               : "forger",
                 z->peers[p].key);
    return buf;
}

/* Decisions the transition makes about the event being handled, against
 * the state before it is applied. */
static void s_decisions(fz_t *z, const co_tx_t *tx)
{
    const ctx_t *c = &z->ctx;
    char b1[40], b2[40];
    if (c->kind == EV_FRAME || c->kind == EV_CHUNK_DONE || c->kind == EV_CHUNK_FAIL) {
        const co_attempt_t *a = co_state_attempt(&z->s, c->attempt);
        bool holder = a && a->session && a->session == c->serial;
        for (size_t i = 0; !holder && i < tx->n_changes; i++)
            if (tx->changes[i].kind != CO_CH_EVIDENCE)
                fz_fail(z, "owner",
                        "%s from session %" PRIu64 " (%s) for attempt %" PRIu64
                        " held by session %" PRIu64 " (%s): the core made a %s change",
                        k_ev_names[c->kind], c->serial, s_peer_text(z, c->peer, b1, sizeof b1),
                        c->attempt, a ? a->session : 0,
                        s_peer_text(z, a ? s_peer_of_serial(z, a->session) : -1, b2, sizeof b2),
                        s_change_name(tx->changes[i].kind));
    }
    if (c->kind == EV_HELLO)
        for (size_t i = 0; i < tx->n_changes; i++) {
            const co_change_t *ch = &tx->changes[i];
            if (ch->kind == CO_CH_SESSION_CLOSE && s_peer_of_serial(z, ch->session) != c->peer)
                fz_fail(z, "hello",
                        "HELLO from session %" PRIu64 " (%s, name '%s') ended session %" PRIu64
                        " of %s",
                        c->serial, s_peer_text(z, c->peer, b1, sizeof b1), z->peers[c->peer].name,
                        ch->session,
                        s_peer_text(z, s_peer_of_serial(z, ch->session), b2, sizeof b2));
            if (ch->kind == CO_CH_ATTEMPT_OWNER) {
                const attinfo_t *ai = s_att(z, ch->attempt);
                if (!ai || ai->peer != c->peer)
                    fz_fail(z, "hello",
                            "HELLO from session %" PRIu64
                            " (%s, name '%s') took over attempt %" PRIu64 ", which was given to %s",
                            c->serial, s_peer_text(z, c->peer, b1, sizeof b1),
                            z->peers[c->peer].name, ch->attempt,
                            s_peer_text(z, ai ? ai->peer : -1, b2, sizeof b2));
            }
        }
    for (size_t i = 0; i < tx->n_changes; i++) {
        const co_change_t *ch = &tx->changes[i];
        if (ch->kind == CO_CH_QUARANTINE) {
            /* By the names peers gave, or (once identities are keys) by key. */
            uint32_t used = s_name_peers(z, ch->worker);
            for (int p = 0; p < z->n_peers; p++)
                if (strcmp(z->peers[p].key, ch->worker) == 0)
                    used |= 1u << p;
            for (int p = 0; p < z->n_peers; p++)
                if ((used >> p & 1u) && z->peers[p].kind == PK_HONEST)
                    fz_fail(z, "quarantine",
                            "worker '%s' is quarantined (frame %" PRId64 "): that name is %s's",
                            ch->worker, ch->frame, s_peer_text(z, p, b1, sizeof b1));
        }
        if (ch->kind != CO_CH_ATTEMPT_START || !ch->u.attempt_start.audit)
            continue;
        const co_job_t *j = ch->job;
        int h = s_hjob(z, j->id);
        int64_t f = ch->u.attempt_start.first, i2 = f - j->first;
        int taker = s_peer_of_serial(z, ch->session);
        if (h < 0 || i2 < 0 || i2 >= j->n)
            continue;
        const co_frame_t *fr = &j->frames[i2];
        const fz_result_t *r = s_result(&z->jobs[h], i2, fr->attempt);
        if (fr->state != CO_F_DONE || !r) {
            fz_fail(z, "self-audit",
                    "audit of frame %" PRId64 " of %s, which has no accepted result (state %s)", f,
                    j->id, co_frame_state_names[fr->state]);
            continue;
        }
        if (r->peer == taker)
            fz_fail(z, "self-audit",
                    "the audit of frame %" PRId64 " of %s goes to %s (session %" PRIu64
                    ", name '%s'), who rendered its result",
                    f, j->id, s_peer_text(z, taker, b1, sizeof b1), ch->session, ch->worker);
        if (j->audits[i2].state == CO_A_DISPUTED) {
            if (z->jobs[h].aud1[i2] == taker)
                fz_fail(z, "self-audit",
                        "the third opinion on frame %" PRId64
                        " of %s goes to %s, the first auditor",
                        f, j->id, s_peer_text(z, taker, b1, sizeof b1));
        } else {
            z->jobs[h].aud1[i2] = (int8_t)taker;
        }
    }
}

/* Keeps what the harness must know of a transition: accepted results,
 * who was given which attempt, a RERENDER's fresh manifest. */
static void s_record(fz_t *z, const co_tx_t *tx)
{
    for (size_t i = 0; i < tx->n_changes; i++) {
        const co_change_t *c = &tx->changes[i];
        if (c->kind == CO_CH_ATTEMPT_START) {
            attinfo_t *ai = s_att(z, c->attempt);
            if (ai)
                *ai = (attinfo_t){s_peer_of_serial(z, c->session), s_hjob(z, c->job->id),
                                  c->u.attempt_start.audit};
            continue;
        }
        int h = c->job ? s_hjob(z, c->job->id) : -1;
        if (h < 0)
            continue;
        hjob_t *hj = &z->jobs[h];
        if (c->kind == CO_CH_JOB_RESTART && c->u.job_restart.manifest) {
            for (int64_t k = 0; k < hj->n; k++)
                hj->expect[k] = hj->fresh ? hj->fresh[k] : (fz_expect_t){NULL, false};
            continue;
        }
        if (c->kind != CO_CH_RESULT)
            continue;
        const lx_msg_t *m = c->u.result.msg;
        int64_t k = c->frame - hj->first;
        if (k < 0 || k >= hj->n)
            continue;
        fz_result_t *r = calloc(1, sizeof *r);
        r->attempt = c->attempt;
        r->peer = z->ctx.peer;
        r->lie = z->ctx.lie;
        fz_frame_t *hon = malloc(sizeof *hon);
        s_build(hon, hj->id, &g_tmpl[hj->tmpl], c->frame, "", L_TRUTH, 0);
        r->diff = s_diff(m, hon);
        free(hon);
        r->t_ms = m->t_ms;
        r->n_cam = m->camera.n <= 17 ? m->camera.n : 17;
        memcpy(r->cam, m->camera.v, sizeof(double) * r->n_cam);
        r->n_files = m->files.n;
        r->files = calloc(m->files.n ? m->files.n : 1, sizeof *r->files);
        for (uint32_t n = 0; n < m->files.n; n++) {
            r->files[n].key = strdup(m->files.v[n].key);
            r->files[n].name = strdup(m->files.v[n].name);
            snprintf(r->files[n].hash, sizeof r->files[n].hash, "%s", m->files.v[n].hash);
            snprintf(r->files[n].content, sizeof r->files[n].content, "%s", m->files.v[n].content);
        }
        r->next = hj->res[k];
        hj->res[k] = r;
        hj->expect[k] = (fz_expect_t){r, false};
        hj->damaged[k] = 0;
    }
}

static peer_t *s_peer_at(fz_t *z, uint64_t serial)
{
    int p = s_peer_of_serial(z, serial);
    /* A message to a socket the peer no longer uses is lost. */
    return p >= 0 && z->peers[p].serial == serial ? &z->peers[p] : NULL;
}

static held_t *s_held(peer_t *p, uint64_t attempt)
{
    for (int i = 0; i < p->n_held; i++)
        if (p->held[i].attempt == attempt)
            return &p->held[i];
    return NULL;
}

static void s_unhold(peer_t *p, uint64_t attempt)
{
    for (int i = 0; i < p->n_held; i++)
        if (p->held[i].attempt == attempt) {
            p->held[i] = p->held[--p->n_held];
            return;
        }
}

static void s_finish(fz_t *z, co_job_t *j);

static void s_effects(fz_t *z, const co_tx_t *tx)
{
    for (size_t i = 0; i < tx->n_effects && !z->failed; i++) {
        const co_effect_t *e = &tx->effects[i];
        peer_t *p = e->kind == CO_FX_FINISH ? NULL : s_peer_at(z, e->session);
        switch (e->kind) {
        case CO_FX_ASSIGN: {
            const co_attempt_t *a = co_state_attempt(&z->s, e->attempt);
            if (!p || !a)
                break;
            if (p->n_held == FZ_MAX_HELD)
                p->held[0] = p->held[--p->n_held];
            p->held[p->n_held++] = (held_t){
                a->id, s_hjob(z, a->job->id), a->first, a->last, a->first, a->audit, false};
            break;
        }
        case CO_FX_CANCEL: {
            held_t *h = p ? s_held(p, e->attempt) : NULL;
            if (h)
                h->cancelled = true;
            break;
        }
        case CO_FX_ACK:
            for (int k = 0; p && k < p->n_unacked; k++)
                if (p->unacked[k].attempt == e->attempt && p->unacked[k].frame == e->frame) {
                    p->unacked[k] = p->unacked[--p->n_unacked];
                    break;
                }
            break;
        case CO_FX_ERROR:
            break;
        case CO_FX_FINISH:
            s_finish(z, e->job);
            break;
        }
    }
}

static void fz_commit(fz_t *z, co_tx_t *tx)
{
    if (z->failed) {
        co_tx_release(tx);
        return;
    }
    if (tx->failed) {
        fz_fail(z, "apply", "a transition ran out of memory");
        co_tx_release(tx);
        return;
    }
    s_decisions(z, tx);
    lx_error_t err = {0};
    if (co_journal_write(z->jn, tx, 0, &err) != LX_OK) {
        fz_fail(z, "journal", "the journal refused a transition: %s", err.message);
        co_tx_release(tx);
        return;
    }
    s_record(z, tx);
    for (size_t i = 0; i < tx->n_changes; i++) {
        const co_change_t *c = &tx->changes[i];
        switch (c->kind) {
        case CO_CH_RESULT:
            z->stats[ST_RESULT]++;
            break;
        case CO_CH_EVIDENCE:
            z->stats[ST_LATE]++;
            break;
        case CO_CH_AUDIT:
            z->stats[ST_CONFIRMED] += (uint64_t)c->u.audit.confirmed;
            z->stats[ST_DISPUTED] += (uint64_t)c->u.audit.disputed;
            break;
        case CO_CH_ATTEMPT_START:
            z->stats[ST_AUDIT] += c->u.attempt_start.audit;
            break;
        case CO_CH_QUARANTINE:
            z->stats[ST_QUARANTINE]++;
            break;
        case CO_CH_JOB_STATE:
            z->stats[ST_DONE] += c->u.job_state.state == CO_J_DONE;
            z->stats[ST_FAILED] += c->u.job_state.state == CO_J_FAILED;
            z->stats[ST_CANCELLED] += c->u.job_state.state == CO_J_CANCELLED;
            break;
        case CO_CH_FRAME_REOPEN:
            z->stats[ST_REOPEN]++;
            break;
        case CO_CH_BLOCK:
            z->stats[ST_BLOCK]++;
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < tx->n_effects; i++)
        z->stats[ST_REJECTED] += tx->effects[i].kind == CO_FX_ERROR && tx->effects[i].code &&
                                 strcmp(tx->effects[i].code, "result_rejected") == 0;
    if (!co_apply(&z->s, tx, &err))
        fz_fail(z, "apply", "co_apply: %s", err.message);
    if (z->verbose && tx->log.len)
        fprintf(stderr, "%s", tx->log.buf);
    s_effects(z, tx);
    co_tx_release(tx);
}

typedef bool (*step_fn)(const co_state_t *s, double now, co_tx_t *tx);

static void fz_steps(fz_t *z, step_fn step, size_t max, const char *what)
{
    ctx_t saved = z->ctx;
    z->ctx = (ctx_t){EV_NONE, -1, L_TRUTH, 0, 0};
    size_t n = 0;
    for (; n < max && !z->failed; n++) {
        co_tx_t tx;
        co_tx_init(&tx);
        if (!step(&z->s, z->now, &tx)) {
            co_tx_release(&tx);
            break;
        }
        fz_commit(z, &tx);
    }
    if (n == max && max >= 100000)
        fz_fail(z, "settle", "%s did not stop after %zu steps", what, max);
    z->ctx = saved;
}

/* co_settle: finish what is complete, then hand out work. */
static void fz_settle(fz_t *z)
{
    fz_steps(z, core_finish, z->s.n_jobs + 1, "finish");
    fz_steps(z, core_dispatch, 100000, "dispatch");
}

/* ---- manifests -------------------------------------------------------------------- */

static const char *const k_manifest_files[] = {"metadata.json", "camera/trajectory.json",
                                               "camera/camera_re10k.txt"};

static lx_result_t s_write_manifest(fz_t *z, const lx_manifest_t *m, const char *sub,
                                    lx_error_t *err)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", z->tmp, sub);
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, k_manifest_files[i]);
        unlink(path);
    }
    lx_manifest_run_t run = LX_MANIFEST_RUN_INIT;
    run.exported_at = "2026-01-01T00:00:00Z";
    return lx_manifest_write(m, dir, &run, err);
}

/* Whether two written manifests are the same bytes; the first difference
 * in why. */
static bool s_same_manifests(fz_t *z, const char *a, const char *b, char *why, size_t size)
{
    for (size_t i = 0; i < 3; i++) {
        char pa[1200], pb[1200];
        snprintf(pa, sizeof pa, "%s/%s/%s", z->tmp, a, k_manifest_files[i]);
        snprintf(pb, sizeof pb, "%s/%s/%s", z->tmp, b, k_manifest_files[i]);
        char *x = s_read_file(pa), *y = s_read_file(pb);
        bool same = (!x && !y) || (x && y && strcmp(x, y) == 0);
        if (!same) {
            size_t k = 0;
            while (x && y && x[k] && x[k] == y[k])
                k++;
            snprintf(why, size, "%s differs at byte %zu: %.60s | %.60s", k_manifest_files[i], k,
                     x ? x + (k > 20 ? k - 20 : 0) : "(missing)",
                     y ? y + (k > 20 ? k - 20 : 0) : "(missing)");
        }
        s_free_file(x);
        s_free_file(y);
        if (!same)
            return false;
    }
    return true;
}

/* A manifest of j's plan from the harness's records (honest: the honest
 * results instead); NULL with why when a frame cannot be recorded. */
static lx_manifest_t *s_build_manifest(const co_job_t *j, const hjob_t *hj, const fz_expect_t *ex,
                                       bool honest, char *why, size_t size)
{
    lx_error_t err = {0};
    lx_manifest_t *m = lx_manifest_new(j->program, &j->plan, NULL, &err);
    if (!m) {
        snprintf(why, size, "lx_manifest_new: %s", err.message);
        return NULL;
    }
    fz_frame_t *fr = malloc(sizeof *fr);
    lx_manifest_file_t files[FZ_MAX_KEYS + 2];
    for (int64_t k = 0; k < hj->n; k++) {
        int64_t f = hj->first + k;
        s_build(fr, hj->id, &g_tmpl[hj->tmpl], f, "", L_TRUTH, 0);
        double cam[17];
        uint32_t n_cam = 17, n = 0;
        double t_ms = fr->t_ms;
        memcpy(cam, fr->cam, sizeof cam);
        if (honest) {
            for (uint32_t i = 0; i < fr->n; i++)
                files[n++] =
                    (lx_manifest_file_t){fr->key[i], fr->name[i], fr->hash[i], fr->content[i]};
        } else {
            const fz_result_t *r = ex ? ex[k].r : NULL;
            if (!r)
                continue; /* not recorded */
            for (uint32_t i = 0; i < r->n_files && i < FZ_MAX_KEYS + 2; i++)
                files[n++] = (lx_manifest_file_t){r->files[i].key, r->files[i].name,
                                                  r->files[i].hash, r->files[i].content};
            if (!ex[k].honest_cam) {
                n_cam = r->n_cam;
                memcpy(cam, r->cam, sizeof(double) * n_cam);
                t_ms = r->t_ms;
            }
        }
        lx_camera_t c;
        lx_f64s_t v = {cam, n_cam};
        if (!lx_camera_from_values(&v, &c) ||
            lx_manifest_add_frame(m, f, t_ms, &c, files, n, &err) != LX_OK) {
            snprintf(why, size, "frame %" PRId64 " cannot be recorded: %s", f, err.message);
            lx_manifest_destroy(&m);
            break;
        }
    }
    free(fr);
    return m;
}

/* FINISH: the shell writes the manifest (co_output_finish), then commits
 * the job's end. */
static void s_finish(fz_t *z, co_job_t *j)
{
    int h = s_hjob(z, j->id);
    if (h < 0)
        return;
    hjob_t *hj = &z->jobs[h];
    s_check_job(z, j);
    lx_error_t err = {0};
    lx_result_t rc;
    if (hj->fail_finish) {
        hj->fail_finish = false;
        rc = lx_fail(&err, LX_E_IO, "cannot write metadata.json: no space left on device");
    } else {
        rc = s_write_manifest(z, j->manifest, "live", &err);
    }
    if (rc == LX_OK && !z->failed) {
        char why[600] = "";
        lx_manifest_t *m = s_build_manifest(j, hj, hj->expect, false, why, sizeof why);
        lx_error_t e2 = {0};
        if (!m)
            fz_fail(z, "manifest", "job %s: its results do not make a manifest: %s", j->id, why);
        else if (s_write_manifest(z, m, "expect", &e2) != LX_OK)
            fz_fail(z, "manifest",
                    "job %s: the live manifest was written, its results' cannot be: %s", j->id,
                    e2.message);
        else if (!s_same_manifests(z, "live", "expect", why, sizeof why))
            fz_fail(z, "manifest", "job %s: the manifest is not its accepted results': %s", j->id,
                    why);
        z->stats[ST_MANIFEST]++;
        lx_manifest_destroy(&m);
        if (!z->failed && hj->audit_rate == 1.0) {
            m = s_build_manifest(j, hj, NULL, true, why, sizeof why);
            if (!m || s_write_manifest(z, m, "honest", &e2) != LX_OK)
                fz_fail(z, "manifest", "job %s: the honest manifest: %s %s", j->id, why,
                        e2.message);
            else if (!s_same_manifests(z, "live", "honest", why, sizeof why))
                fz_fail(z, "manifest",
                        "job %s (audits at rate 1) finishes with a manifest that is not the "
                        "honest one: %s",
                        j->id, why);
            z->stats[ST_HONEST_MANIFEST]++;
            lx_manifest_destroy(&m);
        }
    }
    co_tx_t tx;
    co_tx_init(&tx);
    core_finished(z, j, rc, err.message, &tx);
    ctx_t saved = z->ctx;
    z->ctx = (ctx_t){EV_NONE, -1, L_TRUTH, 0, 0};
    fz_commit(z, &tx);
    z->ctx = saved;
    if (rc == LX_OK && j->state == CO_J_DONE) {
        if (!hj->written)
            hj->written = calloc((size_t)hj->n, sizeof *hj->written);
        memcpy(hj->written, hj->expect, (size_t)hj->n * sizeof *hj->written);
        hj->written_once = true;
        hj->check_restart_manifest = true;
    }
}

/* ---- events --------------------------------------------------------------------- */

/* clients.c s_submit_hash. */
static void s_submit_hash(const tmpl_t *t, const char *out, bool stream, int64_t lo, int64_t hi,
                          uint64_t chunk, char hex[65])
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    const char *parts[] = {t->patch, k_config, out, t->artifacts ? t->artifacts : "",
                           stream ? "stream" : "shared"};
    for (size_t i = 0; i < 5; i++) {
        lx_strbuf_adds(&sb, parts[i]);
        lx_strbuf_add(&sb, "", 1);
    }
    lx_strbuf_addf(&sb, "%" PRId64 ",%" PRId64 ",", lo, hi);
    lx_strbuf_addf(&sb, "|%" PRIu64, chunk);
    lx_sha256_hex(sb.buf, sb.len, hex);
    lx_strbuf_release(&sb);
}

static void s_hjob_free(hjob_t *hj)
{
    for (int64_t k = 0; hj->res && k < hj->n; k++)
        while (hj->res[k]) {
            fz_result_t *r = hj->res[k];
            hj->res[k] = r->next;
            for (uint32_t n = 0; n < r->n_files; n++) {
                free(r->files[n].key);
                free(r->files[n].name);
            }
            free(r->files);
            free(r);
        }
    free(hj->res);
    free(hj->expect);
    free(hj->written);
    free(hj->fresh);
    free(hj->aud1);
    free(hj->stale);
    free(hj->damaged);
    memset(hj, 0, sizeof *hj);
}

/* clients.c s_on_submit, without the output directory's checks (the
 * model's disk has none to fail). */
static void ev_submit(fz_t *z, const ev_t *e)
{
    const tmpl_t *t = &g_tmpl[(size_t)e->x % FZ_N_TMPL];
    char token[32], out[64], submit_hash[65], token_hash[65], id[16];
    snprintf(token, sizeof token, "tok-%d", e->j);
    snprintf(out, sizeof out, "/fz/%s", token);
    bool stream = e->l != 0;
    s_submit_hash(t, out, stream, e->lo, e->hi, (uint64_t)e->y, submit_hash);
    const co_job_t *old = co_state_job_by_token(&z->s, "", token);
    if (old)
        return; /* the same job again, or token_reused: nothing changes */
    if (e->lo < 0 || e->lo > e->hi)
        return; /* bad_request */
    lx_sha256_hex(token, strlen(token), token_hash);
    snprintf(id, sizeof id, "j%.12s", token_hash);
    if (co_state_job(&z->s, id) || z->n_jobs == FZ_MAX_JOBS)
        return;
    lx_export_request_t req;
    s_request(t, &req, e->lo, e->hi);
    lx_strbuf_t report, program;
    lx_strbuf_init(&report, NULL);
    lx_strbuf_init(&program, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    lx_export_plan_t plan;
    lx_result_t rc = lx_export_prepare(&req, NULL, &p, &plan, &report, &err);
    if (rc == LX_OK)
        rc = lx_ir_encode(p, &program, &err);
    co_job_t *j = NULL;
    if (rc == LX_OK && plan.last - plan.first + 1 <= FZ_MAX_FRAMES)
        j = co_job_new(&p, &plan, out, e->m != 0, &err);
    lx_program_destroy(&p);
    lx_strbuf_release(&report);
    if (!j) {
        if (z->verbose)
            fprintf(stderr, "  submit refused: %s\n", err.message);
        lx_strbuf_release(&program);
        return;
    }
    memcpy(j->id, id, sizeof id);
    snprintf(j->token, sizeof j->token, "%s", token);
    memcpy(j->submit_hash, submit_hash, sizeof submit_hash);
    j->stream = stream;
    j->chunk = (uint32_t)e->y;
    j->progress_ms = (double)e->f;
    static const double rates[] = {-1, 0, 0.5, 1.0};
    j->audit_rate = rates[e->m & 3];
    j->created = z->now;
    hjob_t *hj = &z->jobs[z->n_jobs];
    memset(hj, 0, sizeof *hj);
    memcpy(hj->id, id, sizeof id);
    snprintf(hj->token, sizeof hj->token, "%s", token);
    hj->tmpl = (int)((size_t)e->x % FZ_N_TMPL);
    hj->stream = stream;
    hj->audit_rate = j->audit_rate;
    hj->first = j->first;
    hj->n = j->n;
    hj->res = calloc((size_t)hj->n, sizeof *hj->res);
    hj->expect = calloc((size_t)hj->n, sizeof *hj->expect);
    hj->aud1 = malloc((size_t)hj->n);
    memset(hj->aud1, -1, (size_t)hj->n);
    hj->damaged = calloc((size_t)hj->n, 1);
    hj->stale = calloc((size_t)hj->n, 1);
    z->n_jobs++;
    co_tx_t tx;
    co_tx_init(&tx);
    core_submit(z, &j, program.buf, program.len, &tx);
    fz_commit(z, &tx);
    lx_strbuf_release(&program);
}

static void ev_cancel(fz_t *z, const ev_t *e)
{
    co_job_t *j = s_job_of(z, e->j);
    if (!j)
        return;
    co_tx_t tx;
    co_tx_init(&tx);
    core_cancel(z, j, &tx);
    fz_commit(z, &tx);
}

/* clients.c s_on_rerender with co_output_rerender_scan modelled: with
 * metadata.json (a FINISH wrote it), the frames whose files are missing or
 * differ from it are rendered again and every other frame is kept with the
 * hashes it lists and the camera and time of an evaluation (the honest
 * ones); failed frames when asked; without metadata.json every pending
 * frame. */
static void ev_rerender(fz_t *z, const ev_t *e)
{
    co_job_t *j = s_job_of(z, e->j);
    if (!j || j->state <= CO_J_RUNNING)
        return;
    hjob_t *hj = &z->jobs[e->j];
    unsigned only = e->m ? (unsigned)e->m & 7u : 7u;
    int64_t first = j->first, last = j->first + (j->n - 1);
    if (e->x) {
        first = e->lo > first ? e->lo : first;
        last = e->hi < last ? e->hi : last;
    }
    uint8_t *redo = calloc((size_t)j->n, 1);
    lx_manifest_t *fresh = NULL;
    free(hj->fresh);
    hj->fresh = NULL;
    if (hj->written_once && (only & (LX_REPAIR_MISSING | LX_REPAIR_MISMATCHED))) {
        lx_error_t err = {0};
        fresh = lx_manifest_new(j->program, &j->plan, NULL, &err);
        hj->fresh = calloc((size_t)j->n, sizeof *hj->fresh);
        lx_manifest_file_t files[FZ_MAX_KEYS + 2];
        for (int64_t k = 0; fresh && k < j->n; k++) {
            const fz_result_t *r = hj->written[k].r;
            if (!r)
                continue;
            bool missing = false, mismatched = false;
            for (uint32_t n = 0; n < r->n_files; n++) {
                char path[600];
                s_final_path(path, sizeof path, j->id, r->files[n].key, r->files[n].name);
                const dent_t *d = s_disk_get(&z->disk, path);
                missing |= !d;
                mismatched |= d && strcmp(d->hash, r->files[n].hash) != 0;
            }
            int64_t f = j->first + k;
            bool in = f >= first && f <= last;
            if (in && ((missing && (only & LX_REPAIR_MISSING)) ||
                       (mismatched && (only & LX_REPAIR_MISMATCHED)))) {
                redo[k] = 1;
                continue;
            }
            uint32_t n = 0;
            for (uint32_t i = 0; i < r->n_files && n < FZ_MAX_KEYS + 2; i++)
                files[n++] = (lx_manifest_file_t){r->files[i].key, r->files[i].name,
                                                  r->files[i].hash, r->files[i].content};
            double cam[17];
            s_honest_cam(f, cam);
            lx_camera_t c;
            lx_f64s_t v = {cam, 17};
            lx_camera_from_values(&v, &c);
            if (lx_manifest_add_frame(fresh, f, (double)f * 40.0, &c, files, n, &err) == LX_OK)
                hj->fresh[k] = (fz_expect_t){r, true};
            else
                redo[k] = 1; /* what the scan cannot record, it renders again */
        }
        /* As the shell: a kept frame that is not the accepted result goes again. */
        for (int64_t k = 0; fresh && k < j->n; k++)
            if (!redo[k] && lx_manifest_has_frame(fresh, j->first + k) &&
                lx_manifest_has_frame(j->manifest, j->first + k) &&
                !lx_manifest_same_frame(j->manifest, fresh, j->first + k)) {
                redo[k] = 1;
                hj->fresh[k] = (fz_expect_t){0};
            }
    }
    for (int64_t f = first; f <= last && f >= j->first; f++) {
        int64_t i = f - j->first;
        if (j->frames[i].state == CO_F_FAILED && (only & LX_REPAIR_FAILED))
            redo[i] = 1;
        if (!hj->written_once && j->frames[i].state == CO_F_PENDING)
            redo[i] = 1;
        if (f == INT64_MAX)
            break;
    }
    co_tx_t tx;
    co_tx_init(&tx);
    core_rerender(z, j, redo, &fresh, &tx);
    fz_commit(z, &tx);
    lx_manifest_destroy(&fresh);
    free(redo);
    fz_settle(z);
}

static void ev_damage(fz_t *z, const ev_t *e)
{
    if (e->j < 0 || e->j >= z->n_jobs || !z->jobs[e->j].written_once)
        return;
    hjob_t *hj = &z->jobs[e->j];
    int64_t k = e->f - hj->first;
    if (k < 0 || k >= hj->n || !hj->written[k].r)
        return;
    const fz_result_t *r = hj->written[k].r;
    if (!r->n_files)
        return;
    const fz_file_t *f = &r->files[(uint32_t)e->x % r->n_files];
    char path[600];
    s_final_path(path, sizeof path, hj->id, f->key, f->name);
    if (e->y)
        s_disk_put(&z->disk, path, "damaged", 7);
    else
        s_disk_del(&z->disk, path);
    hj->damaged[k] = 1;
}

static peer_t *s_connected(fz_t *z, int p)
{
    if (p < 0 || p >= z->n_peers || !s_session_live(z, z->peers[p].serial))
        return NULL;
    return &z->peers[p];
}

static void ev_hello(fz_t *z, const ev_t *e)
{
    if (e->p < 0 || e->p >= z->n_peers)
        return;
    peer_t *p = &z->peers[e->p];
    uint64_t serial = e->l == 0 && s_session_live(z, p->serial) ? p->serial : ++z->last_serial;
    int victim = e->x >= 0 && e->x < z->n_peers ? e->x : e->p;
    char name[48];
    if (e->m == 3)
        name[0] = '\0';
    else if (e->m == 1)
        snprintf(name, sizeof name, "w%ds", e->p);
    else if (e->m == 2)
        snprintf(name, sizeof name, "%s", z->peers[victim].name);
    else
        snprintf(name, sizeof name, "w%d", e->p);
    uint64_t resumed[FZ_MAX_HELD + 64];
    uint32_t n = 0;
    if (e->y == 1)
        for (int i = 0; i < p->n_held; i++)
            if (!p->held[i].cancelled)
                resumed[n++] = p->held[i].attempt;
    if (e->y == 2)
        for (size_t i = 0; i < z->s.n_attempts && n < FZ_MAX_HELD + 32; i++) {
            const co_attempt_t *a = &z->s.attempts[i];
            if (a->session && s_peer_of_serial(z, a->session) == victim)
                resumed[n++] = a->id;
        }
    if (e->at)
        resumed[n++] = e->at;
    lx_msg_t m = {.type = LX_MSG_HELLO};
    LX_MSG_SET(&m, name, name);
    LX_MSG_SET(&m, build, "fz");
    LX_MSG_SET(&m, threads, 2);
    if (n)
        LX_MSG_SET(&m, resumed, ((lx_u64s_t){resumed, n}));
    snprintf(p->name, sizeof p->name, "%s", name);
    s_name_used(z, name, e->p);
    p->serial = serial;
    s_set_peer_of_serial(z, serial, e->p);
    z->ctx = (ctx_t){EV_HELLO, e->p, L_TRUTH, serial, 0};
    co_tx_t tx;
    co_tx_init(&tx);
    core_hello(z, serial, p, &m, &tx);
    fz_commit(z, &tx);
    /* CANCELs for attempts it listed were handled as effects; what it still
     * holds it goes on with, and it sends its unacknowledged FRAMEs again
     * (the generator picks them). */
}

static void ev_ready(fz_t *z, const ev_t *e)
{
    peer_t *p = s_connected(z, e->p);
    if (!p)
        return;
    co_tx_t tx;
    co_tx_init(&tx);
    core_ready(z, p->serial, (uint32_t)e->lo, &tx);
    fz_commit(z, &tx);
}

static void ev_frame(fz_t *z, const ev_t *e)
{
    peer_t *p = s_connected(z, e->p);
    if (!p)
        return;
    char job[16] = "jnosuch";
    const tmpl_t *t = &g_tmpl[0];
    if (e->j >= 0 && e->j < z->n_jobs) {
        snprintf(job, sizeof job, "%s", z->jobs[e->j].id);
        t = &g_tmpl[z->jobs[e->j].tmpl];
    }
    const co_job_t *sj = co_state_job(&z->s, job);
    bool stream = sj ? sj->stream : true, audit = e->m != 0;
    fz_frame_t *fr = malloc(sizeof *fr);
    s_build(fr, job, t, e->f, p->key, e->l, e->at);
    bool with_bytes = stream && !audit && e->l != L_NOBYTES;
    s_frame_msg(fr, job, e->at, e->f, with_bytes);
    /* Shared mode: the worker writes its attempt files first. */
    for (uint32_t k = 0; !stream && !audit && e->l != L_NOBYTES && k < fr->n; k++) {
        char path[600];
        s_attempt_path(path, sizeof path, job, fr->key[k], fr->name[k], e->at);
        s_disk_put(&z->disk, path, fr->bytes[k], fr->blen[k]);
    }
    /* The worker side: the frame is sent, kept until ACK. */
    p->last_frame = *e;
    held_t *h = s_held(p, e->at);
    if (h && e->f == h->next)
        h->next++;
    bool listed = false;
    for (int k = 0; k < p->n_unacked; k++)
        listed |= p->unacked[k].attempt == e->at && p->unacked[k].frame == e->f;
    if (!listed && p->kind != PK_FORGER) {
        if (p->n_unacked == FZ_MAX_UNACKED)
            p->unacked[0] = p->unacked[--p->n_unacked];
        p->unacked[p->n_unacked++] = (unacked_t){e->at, e->j, e->f, e->l, audit};
    }
    /* What the shell gets: the bytes on the wire, decoded. */
    lx_strbuf_t wire, record;
    lx_strbuf_init(&wire, NULL);
    lx_strbuf_init(&record, NULL);
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    lx_error_t err = {0};
    lx_msg_t m;
    if (lx_msg_encode(&fr->m, &wire, &err) != LX_OK ||
        lx_msg_decode(wire.buf, wire.len, &arena, &m, &err) != LX_OK ||
        co_frame_record(&m, &record, &err) != LX_OK) {
        if (z->verbose)
            fprintf(stderr, "  not sent: %s\n", err.message);
    } else {
        z->ctx = (ctx_t){EV_FRAME, e->p, e->l, p->serial, e->at};
        co_tx_t tx;
        co_tx_init(&tx);
        co_frame_verdict_t v = core_frame(z, p->serial, &m, record.buf, record.len, &tx);
        co_job_t *j = co_state_job(&z->s, m.job);
        if (v == CO_FRAME_CANDIDATE) {
            lx_error_t aerr = {0};
            if (s_accept_files(z, j, &m, e->x != 0, &aerr) == LX_OK)
                core_accept(z, p->serial, &m, record.buf, record.len, &tx);
            else
                core_reject(z, p->serial, &m, aerr.code, aerr.message, &tx);
        }
        if (z->verbose)
            fprintf(stderr, "  verdict %s\n",
                    v == CO_FRAME_CANDIDATE ? "candidate"
                    : v == CO_FRAME_LATE    ? "late"
                                            : "decided");
        fz_commit(z, &tx);
        if (v == CO_FRAME_LATE && j)
            s_drop_attempt_files(z, j, &m);
    }
    lx_arena_release(&arena);
    lx_strbuf_release(&wire);
    lx_strbuf_release(&record);
    free(fr);
}

static void ev_chunk_end(fz_t *z, const ev_t *e)
{
    peer_t *p = s_connected(z, e->p);
    if (!p)
        return;
    const char *job = e->j >= 0 && e->j < z->n_jobs ? z->jobs[e->j].id : "jnosuch";
    lx_msg_t m = {.type = e->kind == EV_CHUNK_DONE ? LX_MSG_CHUNK_DONE : LX_MSG_CHUNK_FAIL};
    LX_MSG_SET(&m, job, job);
    LX_MSG_SET(&m, attempt, e->at);
    if (e->kind == EV_CHUNK_FAIL) {
        LX_MSG_SET(&m, reason, k_reasons[(size_t)e->x % N_REASONS]);
        LX_MSG_SET(&m, message, "fuzz");
    }
    s_unhold(p, e->at);
    z->ctx = (ctx_t){e->kind, e->p, L_TRUTH, p->serial, e->at};
    co_tx_t tx;
    co_tx_init(&tx);
    core_chunk_end(z, p->serial, &m, &tx);
    fz_commit(z, &tx);
}

static void ev_session_end(fz_t *z, const ev_t *e)
{
    peer_t *p = s_connected(z, e->p);
    if (!p)
        return;
    uint64_t serial = p->serial;
    if (e->kind == EV_GOODBYE) {
        /* drained: it holds nothing and waits for nothing any more */
        p->n_held = 0;
        p->n_unacked = 0;
    }
    p->serial = 0;
    co_tx_t tx;
    co_tx_init(&tx);
    core_session_end(z, serial, e->kind == EV_GOODBYE ? "left" : "dead", &tx);
    fz_commit(z, &tx);
}

/* A coordinator restart: the state rebuilt from the journal; every socket
 * and session number gone. */
static void ev_restart(fz_t *z)
{
    co_state_t r;
    co_tx_t log;
    co_tx_init(&log);
    lx_error_t err = {0};
    lx_result_t rc = core_recover(z, &r, &log, &err);
    if (rc != LX_OK || strstr(log.log.buf ? log.log.buf : "", "recover_failed") ||
        strstr(log.log.buf ? log.log.buf : "", "skipped")) {
        fz_fail(z, "restart", "co_recover: %s %s", err.message, log.log.buf ? log.log.buf : "");
        co_tx_release(&log);
        co_state_release(&r);
        return;
    }
    co_tx_release(&log);
    z->stats[ST_RESTART]++;
    s_compare_restart(z, &r);
    co_state_release(&z->s);
    z->s = r;
    z->last_serial = 0;
    for (size_t i = 0; i < z->cap_serial; i++)
        z->peer_of_serial[i] = -1;
    for (int p = 0; p < z->n_peers; p++)
        z->peers[p].serial = 0;
    /* The rebuilt manifests hold each done frame's current result. */
    for (int h = 0; h < z->n_jobs; h++) {
        hjob_t *hj = &z->jobs[h];
        const co_job_t *j = co_state_job(&z->s, hj->id);
        for (int64_t k = 0; j && k < hj->n; k++) {
            const co_frame_t *f = &j->frames[k];
            hj->expect[k] =
                (fz_expect_t){f->state == CO_F_DONE ? s_result(hj, k, f->attempt) : NULL, false};
        }
    }
}

static void fz_exec(fz_t *z, const ev_t *e)
{
    z->ctx = (ctx_t){EV_NONE, -1, L_TRUTH, 0, 0};
    switch (e->kind) {
    case EV_SUBMIT:
        ev_submit(z, e);
        break;
    case EV_CANCEL:
        ev_cancel(z, e);
        break;
    case EV_RERENDER:
        ev_rerender(z, e);
        break;
    case EV_DAMAGE:
        ev_damage(z, e);
        break;
    case EV_FAILFINISH:
        if (e->j >= 0 && e->j < z->n_jobs)
            z->jobs[e->j].fail_finish = true;
        break;
    case EV_HELLO:
        ev_hello(z, e);
        break;
    case EV_READY:
        ev_ready(z, e);
        break;
    case EV_FRAME:
        ev_frame(z, e);
        break;
    case EV_CHUNK_DONE:
    case EV_CHUNK_FAIL:
        ev_chunk_end(z, e);
        break;
    case EV_DROP:
        if (e->p >= 0 && e->p < z->n_peers)
            s_unhold(&z->peers[e->p], e->at);
        break;
    case EV_GOODBYE:
    case EV_DEAD:
        ev_session_end(z, e);
        break;
    case EV_TICK:
        z->now += (double)e->lo;
        fz_steps(z, core_tick, 100000, "tick");
        break;
    case EV_RESTART:
        ev_restart(z);
        break;
    default:
        break;
    }
    z->ctx = (ctx_t){EV_NONE, -1, L_TRUTH, 0, 0};
    fz_settle(z);
    /* Sockets the shell dropped (a replaced or ended session) are gone for
     * their peers too: the next message they send needs a HELLO. */
    for (int p = 0; p < z->n_peers; p++)
        if (z->peers[p].serial && !s_session_live(z, z->peers[p].serial))
            z->peers[p].serial = 0;
}

/* ---- the generator ---------------------------------------------------------------- */

static int s_pick_lie(fz_t *z, bool audit)
{
    int lies[L_COUNT], n = 0;
    for (int l = L_SELF; l < L_COUNT; l++) {
        int c = s_lie_class(l);
        if (c >= 0 && !s_on(z, c))
            continue;
        if (audit && (l == L_CLAIM || l == L_NOBYTES))
            continue; /* audits carry no bytes */
        lies[n++] = l;
    }
    return n ? lies[r_below(&z->rng, n)] : L_TRUTH;
}

static int s_live_jobs(const fz_t *z)
{
    int n = 0;
    for (int h = 0; h < z->n_jobs; h++) {
        const co_job_t *j = s_job_of(z, h);
        n += j && j->state <= CO_J_RUNNING;
    }
    return n;
}

static int s_random_peer(fz_t *z, bool connected, int kind)
{
    int c[FZ_MAX_PEERS], n = 0;
    for (int p = 0; p < z->n_peers; p++)
        if ((!connected || s_session_live(z, z->peers[p].serial)) &&
            (kind < 0 || (kind == PK_FORGER) == (z->peers[p].kind == PK_FORGER)))
            c[n++] = p;
    return n ? c[r_below(&z->rng, n)] : -1;
}

static bool gen_submit(fz_t *z, ev_t *e)
{
    rng_t *r = &z->rng;
    if (s_live_jobs(z) >= 4 || z->n_jobs >= FZ_MAX_JOBS - 1)
        return false;
    if (z->n_toks && r_chance(r, 0.1)) {
        /* A retry: the same request, or another one under the same token. */
        *e = z->toks[r_below(r, z->n_toks)].submit;
        if (r_chance(r, 0.5))
            e->y = (e->y + 1) % 9;
        return true;
    }
    if (z->n_toks == 64)
        return false;
    e->kind = EV_SUBMIT;
    e->j = z->n_toks;
    e->x = (int32_t)r_below(r, FZ_N_TMPL);
    e->y = r_chance(r, 0.3) ? 0 : (int32_t)r_range(r, 1, 8);
    e->m = (int32_t)r_below(r, 4);
    e->l = (int32_t)r_below(r, 2);
    e->f = r_range(r, 5000, 60000);
    int64_t n = r_chance(r, 0.8) ? r_range(r, 1, 40) : r_range(r, 41, 300);
    if (!z->big_job && r_chance(r, 0.02)) {
        n = r_range(r, 1000, FZ_MAX_FRAMES);
        z->big_job = true;
    }
    e->lo = r_chance(r, 0.7) ? r_range(r, 0, 100) : r_range(r, 1000000, 1000000000000LL);
    if (s_on(z, C_RANGE) && r_chance(r, 0.3)) {
        e->cls |= 1 << C_RANGE;
        n = r_range(r, 1, 30);
        e->lo = INT64_MAX - r_range(r, 0, 60);
        if (r_chance(r, 0.3))
            e->lo = INT64_MAX - n + 1; /* up to INT64_MAX itself */
        if (r_chance(r, 0.1))
            e->lo = r_chance(r, 0.5) ? (int64_t)1 << 62 : ((int64_t)1 << 53) - 3;
    }
    if (r_chance(r, 0.03))
        e->lo = -r_range(r, 1, 10); /* refused: bad_request */
    e->hi = e->lo > INT64_MAX - (n - 1) ? INT64_MAX : e->lo + (n - 1);
    if (r_chance(r, 0.02))
        e->hi = e->lo - 1; /* refused */
    z->toks[z->n_toks++].submit = *e;
    return true;
}

/* A peer's next move on the work it holds. */
static bool gen_work(fz_t *z, ev_t *e, int p)
{
    peer_t *pp = &z->peers[p];
    if (!pp->n_held)
        return false;
    held_t *h = &pp->held[r_below(&z->rng, pp->n_held)];
    e->p = p;
    e->j = h->job;
    e->at = h->attempt;
    int64_t end = h->audit ? h->first : h->last;
    if (h->cancelled) {
        /* The frame in hand is still sent (evidence), or it just stops. */
        if (h->next <= end && r_chance(&z->rng, 0.5)) {
            e->kind = EV_FRAME;
            e->f = h->next;
            e->m = h->audit;
            e->l =
                pp->kind == PK_LIAR && r_chance(&z->rng, 0.4) ? s_pick_lie(z, h->audit) : L_TRUTH;
        } else {
            e->kind = EV_DROP;
        }
        return true;
    }
    if (h->next <= end && h->next >= h->first) {
        e->kind = EV_FRAME;
        e->f = h->next;
        e->m = h->audit;
        e->l = pp->kind == PK_LIAR && r_chance(&z->rng, 0.4) ? s_pick_lie(z, h->audit) : L_TRUTH;
        if (s_on(z, C_DISKFULL) && r_chance(&z->rng, 0.02)) {
            e->x = 1;
            e->cls |= 1 << C_DISKFULL;
        }
    } else {
        e->kind = r_chance(&z->rng, 0.9) ? EV_CHUNK_DONE : EV_DROP;
    }
    return true;
}

static bool gen_forge(fz_t *z, ev_t *e)
{
    rng_t *r = &z->rng;
    int p = s_random_peer(z, true, PK_FORGER);
    if (p < 0)
        return false;
    e->p = p;
    int choice = (int)r_below(r, 10);
    if (s_on(z, C_IDENT) && choice >= 8) {
        /* Impersonation: HELLO with a victim's name, its attempts listed. */
        int victim = s_random_peer(z, false, PK_HONEST);
        if (victim < 0 || victim == p || !z->peers[victim].name[0])
            return false;
        e->kind = EV_HELLO;
        e->l = 1;
        e->m = 2;
        e->x = victim;
        e->y = 2;
        e->cls |= 1 << C_IDENT;
        return true;
    }
    if (!s_on(z, C_FORGE))
        return false;
    e->cls |= 1 << C_FORGE;
    /* A target as `lattice workers` publishes it, or guessed. */
    const co_attempt_t *a = z->s.n_attempts && r_chance(r, 0.85)
                                ? &z->s.attempts[r_below(r, (int64_t)z->s.n_attempts)]
                                : NULL;
    e->at = a ? a->id : (uint64_t)r_range(r, 1, (int64_t)z->s.last_attempt + 3);
    e->j = a ? s_hjob(z, a->job->id) : (z->n_jobs ? (int32_t)r_below(r, z->n_jobs) : -1);
    if (choice < 5) {
        e->kind = EV_FRAME;
        e->f = a ? r_range(r, a->first, a->last)
                 : (e->j >= 0 ? z->jobs[e->j].first + r_below(r, z->jobs[e->j].n) : 0);
        e->m = a && a->audit;
        e->l = r_chance(r, 0.7) ? L_SELF : L_TRUTH;
    } else if (choice < 6) {
        e->kind = EV_CHUNK_DONE;
    } else if (choice < 7) {
        e->kind = EV_CHUNK_FAIL;
        e->x = (int32_t)r_below(r, N_REASONS);
    } else {
        /* HELLO listing someone else's (or an orphan's) attempt. */
        e->kind = EV_HELLO;
        e->l = 1;
        e->at = a ? a->id : e->at;
    }
    return true;
}

static void gen_event(fz_t *z, ev_t *e)
{
    rng_t *r = &z->rng;
    memset(e, 0, sizeof *e);
    e->j = -1;
    for (int tries = 0; tries < 50; tries++) {
        memset(e, 0, sizeof *e);
        e->j = -1;
        int64_t roll = r_below(r, 1000);
        int p;
        if (roll < 500) { /* work */
            p = s_random_peer(z, true, PK_HONEST);
            if (p >= 0 && gen_work(z, e, p))
                return;
        } else if (roll < 540) { /* FRAMEs again after a HELLO */
            p = s_random_peer(z, true, PK_HONEST);
            if (p < 0 || !z->peers[p].n_unacked)
                continue;
            const unacked_t *u = &z->peers[p].unacked[r_below(r, z->peers[p].n_unacked)];
            *e = (ev_t){.kind = EV_FRAME,
                        .p = p,
                        .j = u->job,
                        .at = u->attempt,
                        .f = u->frame,
                        .l = u->lie,
                        .m = u->audit};
            e->cls = s_lie_class(u->lie) >= 0 ? 1 << s_lie_class(u->lie) : 0;
            return;
        } else if (roll < 550 && s_on(z, C_RESEND)) { /* an ACK was lost: sent again */
            p = s_random_peer(z, true, PK_HONEST);
            if (p < 0 || z->peers[p].last_frame.kind != EV_FRAME)
                continue;
            *e = z->peers[p].last_frame;
            e->x = 0;
            e->cls |= 1 << C_RESEND;
            return;
        } else if (roll < 570) { /* a chunk fails */
            p = s_random_peer(z, true, PK_HONEST);
            if (p < 0 || !z->peers[p].n_held)
                continue;
            const held_t *h = &z->peers[p].held[r_below(r, z->peers[p].n_held)];
            *e = (ev_t){.kind = EV_CHUNK_FAIL,
                        .p = p,
                        .j = h->job,
                        .at = h->attempt,
                        .x = (int32_t)r_below(r, N_REASONS)};
            return;
        } else if (roll < 650) {
            p = s_random_peer(z, true, -1);
            if (p < 0)
                continue;
            static const int64_t credits[] = {0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 3, 64};
            e->kind = EV_READY;
            e->p = p;
            e->lo = z->peers[p].kind == PK_FORGER ? 0 : credits[r_below(r, 12)];
            return;
        } else if (roll < 710) { /* connect, reconnect */
            p = r_chance(r, 0.8) ? s_random_peer(z, false, -1) : -1;
            for (int q = 0; p < 0 && q < z->n_peers; q++)
                if (!s_session_live(z, z->peers[q].serial))
                    p = q;
            if (p < 0)
                p = (int)r_below(r, z->n_peers);
            e->kind = EV_HELLO;
            e->p = p;
            e->l = 1;
            e->y = 1;
            if (s_session_live(z, z->peers[p].serial) && s_on(z, C_REHELLO) && r_chance(r, 0.15)) {
                e->l = 0;
                e->cls |= 1 << C_REHELLO;
            }
            size_t len = strlen(z->peers[p].name);
            bool second = len && z->peers[p].name[len - 1] == 's'; /* its second name now */
            if (z->peers[p].kind != PK_FORGER && s_on(z, C_IDENT) && r_chance(r, 0.2)) {
                e->m = second ? 0 : 1;
                e->cls |= 1 << C_IDENT;
            } else {
                e->m = second;
            }
            if (s_on(z, C_EMPTYNAME) && r_chance(r, 0.05)) {
                e->m = 3;
                e->cls |= 1 << C_EMPTYNAME;
            }
            return;
        } else if (roll < 730) {
            p = s_random_peer(z, true, -1);
            if (p < 0)
                continue;
            e->kind = r_chance(r, 0.3) ? EV_GOODBYE : EV_DEAD;
            e->p = p;
            return;
        } else if (roll < 800) {
            e->kind = EV_TICK;
            e->lo = r_chance(r, 0.5)   ? r_range(r, 1, 500)
                    : r_chance(r, 0.8) ? r_range(r, 500, 3000)
                                       : r_range(r, 5000, 70000);
            return;
        } else if (roll < 840) {
            if (gen_submit(z, e))
                return;
        } else if (roll < 844) {
            if (!z->n_jobs)
                continue;
            e->kind = EV_CANCEL;
            e->j = (int32_t)r_below(r, z->n_jobs);
            return;
        } else if (roll < 852) {
            if (!z->n_jobs)
                continue;
            e->kind = EV_RERENDER;
            e->j = (int32_t)r_below(r, z->n_jobs);
            for (int h = 0; s_on(z, C_NOMAJORITY) && h < z->n_jobs; h++) {
                const co_job_t *x = s_job_of(z, h);
                if (x && x->error && strstr(x->error, "three different results") &&
                    r_chance(r, 0.5))
                    e->j = h; /* what the class is about */
            }
            const co_job_t *j = s_job_of(z, e->j);
            if (j && j->error && strstr(j->error, "three different results")) {
                if (!s_on(z, C_NOMAJORITY))
                    continue;
                e->cls |= 1 << C_NOMAJORITY;
            }
            const hjob_t *hj = &z->jobs[e->j];
            bool stale = false;
            for (int64_t k = 0; hj->written && k < hj->n && !stale; k++)
                stale = hj->written[k].r != hj->expect[k].r;
            if (stale) {
                if (!s_on(z, C_RESCAN))
                    continue;
                e->cls |= 1 << C_RESCAN;
            }
            e->m = (int32_t)r_below(r, 8);
            if (r_chance(r, 0.3)) {
                const hjob_t *hj = &z->jobs[e->j];
                e->x = 1;
                e->lo = hj->first + r_below(r, hj->n);
                int64_t span = r_below(r, hj->n);
                e->hi = e->lo > INT64_MAX - span ? INT64_MAX : e->lo + span;
            }
            return;
        } else if (roll < 867) {
            int cand[FZ_MAX_JOBS], n = 0;
            for (int h = 0; h < z->n_jobs; h++)
                if (z->jobs[h].written_once)
                    cand[n++] = h;
            if (!n)
                continue;
            const hjob_t *hj = &z->jobs[cand[r_below(r, n)]];
            e->kind = EV_DAMAGE;
            e->j = (int32_t)(hj - z->jobs);
            e->f = hj->first + r_below(r, hj->n);
            e->x = (int32_t)r_below(r, 16);
            e->y = (int32_t)r_below(r, 2);
            return;
        } else if (roll < 870) {
            if (!z->n_jobs)
                continue;
            e->kind = EV_FAILFINISH;
            e->j = (int32_t)r_below(r, z->n_jobs);
            return;
        } else if (roll < 876) {
            e->kind = EV_RESTART;
            return;
        } else if (roll < 950) {
            if (gen_forge(z, e))
                return;
        } else {
            /* A connected liar or honest worker also works here. */
            p = s_random_peer(z, true, PK_HONEST);
            if (p >= 0 && gen_work(z, e, p))
                return;
        }
    }
    e->kind = EV_TICK;
    e->lo = 100;
}

/* ---- invariants ----------------------------------------------------------------- */

/* While class staleaudit is off: audit attempts of a frame that had a
 * stale one (a quarantine reopened the frame under a running audit, and
 * the audit attempt lived on) are not checked: that bug muddles every
 * audit of the frame afterwards. */
static bool s_exempt(const fz_t *z, const co_attempt_t *a)
{
    if (s_on(z, C_STALEAUDIT) || !a->audit)
        return false;
    int h = s_hjob(z, a->job->id);
    int64_t k = a->first - a->job->first;
    return h >= 0 && k >= 0 && k < z->jobs[h].n && z->jobs[h].stale[k];
}

static void s_check_job(fz_t *z, const co_job_t *j)
{
    int h = s_hjob(z, j->id);
    if (h < 0) {
        fz_fail(z, "counters", "job %s is not one the harness submitted", j->id);
        return;
    }
    hjob_t *hj = &z->jobs[h];
    if (hj->n != j->n || hj->first != j->first) {
        fz_fail(z, "counters",
                "job %s: frames %" PRId64 "+%" PRId64 ", submitted %" PRId64 "+%" PRId64, j->id,
                j->first, j->n, hj->first, hj->n);
        return;
    }
    uint64_t cnt[4] = {0, 0, 0, 0}, open = 0;
    char b1[40], d[80];
    for (int64_t i = 0; i < j->n && !z->failed; i++) {
        const co_frame_t *f = &j->frames[i];
        int64_t fno = j->first + i;
        if (f->state > CO_F_FAILED) {
            fz_fail(z, "counters", "job %s frame %" PRId64 ": state %d", j->id, fno, f->state);
            return;
        }
        cnt[f->state]++;
        if (i < j->hint && f->state == CO_F_PENDING)
            fz_fail(z, "counters", "job %s: frame %" PRId64 " is pending below hint %" PRId64,
                    j->id, fno, j->hint);
        if (j->audits && j->audits[i].state != CO_A_NONE && j->audits[i].state != CO_A_DONE)
            open++;
        if (f->state == CO_F_RUNNING) {
            const co_attempt_t *a = co_state_attempt(&z->s, f->attempt);
            if (!a || a->audit || a->job != j || fno < a->first || fno > a->last)
                fz_fail(z, "running",
                        "job %s frame %" PRId64 " runs under attempt %" PRIu64 ", which is %s",
                        j->id, fno, f->attempt,
                        !a         ? "not in flight"
                        : a->audit ? "an audit"
                                   : "another job's or range");
        }
        if (f->state != CO_F_DONE)
            continue;
        const fz_result_t *r = s_result(hj, i, f->attempt);
        if (!r) {
            fz_fail(z, "honest",
                    "job %s frame %" PRId64 " is done under attempt %" PRIu64
                    ", whose result was never accepted",
                    j->id, fno, f->attempt);
            return;
        }
        if (r->diff & D_FILESET)
            fz_fail(z, "fileset",
                    "job %s frame %" PRId64 ": the accepted result of attempt %" PRIu64
                    " (from %s, lie '%s') lists %u files, not the plan's %u (or other keys, "
                    "order or names)",
                    j->id, fno, r->attempt, s_peer_text(z, r->peer, b1, sizeof b1),
                    k_lie_names[r->lie], r->n_files, g_tmpl[hj->tmpl].n_keys);
        if (r->diff && r->peer >= 0 && z->peers[r->peer].kind == PK_HONEST) {
            s_diff_text(r->diff, d, sizeof d);
            fz_fail(z, "honest",
                    "job %s frame %" PRId64 ": %s's result of attempt %" PRIu64
                    " differs from the honest one in:%s",
                    j->id, fno, s_peer_text(z, r->peer, b1, sizeof b1), r->attempt, d);
        }
        if (j->audits && j->audits[i].state == CO_A_DONE && j->state != CO_J_FAILED && r->diff) {
            s_diff_text(r->diff, d, sizeof d);
            fz_fail(z, "confirmed",
                    "job %s frame %" PRId64 ": an audit confirmed the result of attempt %" PRIu64
                    " from %s (lie '%s'), which differs from the honest one in:%s",
                    j->id, fno, r->attempt, s_peer_text(z, r->peer, b1, sizeof b1),
                    k_lie_names[r->lie], d);
        }
        if (hj->audit_rate == 1.0 && j->audits && j->audits[i].state == CO_A_NONE)
            fz_fail(z, "counters",
                    "job %s frame %" PRId64 " is done and was never audited (rate 1)", j->id, fno);
    }
    if (z->failed)
        return;
    if (cnt[CO_F_DONE] != j->done || cnt[CO_F_RUNNING] != j->running ||
        cnt[CO_F_FAILED] != j->failed)
        fz_fail(z, "counters",
                "job %s: done/running/failed %" PRIu64 "/%" PRIu64 "/%" PRIu64
                ", frames say %" PRIu64 "/%" PRIu64 "/%" PRIu64,
                j->id, j->done, j->running, j->failed, cnt[CO_F_DONE], cnt[CO_F_RUNNING],
                cnt[CO_F_FAILED]);
    else if (co_job_pending(j) != (int64_t)cnt[CO_F_PENDING])
        fz_fail(z, "counters", "job %s: pending %" PRId64 ", frames say %" PRIu64, j->id,
                co_job_pending(j), cnt[CO_F_PENDING]);
    if (j->audits && open != j->audits_open)
        fz_fail(z, "counters", "job %s: audits_open %" PRIu64 ", records say %" PRIu64, j->id,
                j->audits_open, open);
    if (j->state == CO_J_DONE && (j->done != (uint64_t)j->n || j->audits_open))
        fz_fail(z, "ended",
                "job %s is done with %" PRIu64 " of %" PRId64 " frames, %" PRIu64 " audits open",
                j->id, j->done, j->n, j->audits_open);
}

static void s_check_state(fz_t *z)
{
    const co_state_t *s = &z->s;
    /* Dispatch reads each session's count of held attempts, which co_apply
     * keeps: it must be what counting them says. */
    for (size_t k = 0; k < s->n_sessions && !z->failed; k++)
        if (s->sessions[k].held != co_state_held(s, s->sessions[k].serial))
            fz_fail(z, "held", "session %" PRIu64 " counts %u attempts but holds %u",
                    s->sessions[k].serial, s->sessions[k].held,
                    co_state_held(s, s->sessions[k].serial));
    for (size_t k = 0; k < s->n_jobs && !z->failed; k++)
        s_check_job(z, s->jobs[k]);
    for (size_t k = 0; k < s->n_attempts && !z->failed; k++) {
        const co_attempt_t *a = &s->attempts[k];
        const co_job_t *j = a->job;
        if (a->id > s->last_attempt || a->id == 0)
            fz_fail(z, "attempt", "attempt %" PRIu64 " is beyond last_attempt %" PRIu64, a->id,
                    s->last_attempt);
        for (size_t l = k + 1; l < s->n_attempts; l++)
            if (s->attempts[l].id == a->id)
                fz_fail(z, "attempt", "attempt %" PRIu64 " is in flight twice", a->id);
        if (a->audit && j->audits && a->first >= j->first && a->first - j->first < j->n) {
            uint8_t st = j->audits[a->first - j->first].state;
            int h = s_hjob(z, j->id);
            if (st != CO_A_RUNNING && st != CO_A_THIRD && h >= 0)
                z->jobs[h].stale[a->first - j->first] = 1;
        }
        if (j->state > CO_J_RUNNING && !s_exempt(z, a))
            fz_fail(z, "ended", "attempt %" PRIu64 " is in flight for job %s, which is %s", a->id,
                    j->id, co_job_state_names[j->state]);
        if (a->session && !co_state_session(s, a->session))
            fz_fail(z, "attempt",
                    "attempt %" PRIu64 " belongs to session %" PRIu64 ", which does not exist",
                    a->id, a->session);
        if (a->first < j->first || a->last > j->first + (j->n - 1) || a->first > a->last) {
            fz_fail(z, "attempt",
                    "attempt %" PRIu64 " covers %" PRId64 "-%" PRId64 ", outside job %s", a->id,
                    a->first, a->last, j->id);
            continue;
        }
        if (a->audit) {
            const co_audit_t *r = j->audits ? &j->audits[a->first - j->first] : NULL;
            if (s_exempt(z, a))
                continue;
            if (!r || (r->state != CO_A_RUNNING && r->state != CO_A_THIRD) ||
                r->who[r->state == CO_A_THIRD ? 2 : 1] != a->who)
                fz_fail(z, "attempt",
                        "audit attempt %" PRIu64 " of frame %" PRId64 " of %s: its record is %d",
                        a->id, a->first, j->id, r ? r->state : -1);
            continue;
        }
        int64_t running = 0;
        for (int64_t f = a->first; f <= a->last; f++) {
            const co_frame_t *fr = &j->frames[f - j->first];
            running += fr->state == CO_F_RUNNING && fr->attempt == a->id;
            if (f == INT64_MAX)
                break;
        }
        if (!running)
            fz_fail(z, "idle",
                    "attempt %" PRIu64 " (%" PRId64 "-%" PRId64 " of %s, session %" PRIu64
                    ") is in flight with no running frame",
                    a->id, a->first, a->last, j->id, a->session);
    }
    for (size_t k = 0; k < s->n_sessions && !z->failed; k++)
        for (size_t l = k + 1; l < s->n_sessions; l++)
            if (s->sessions[k].serial == s->sessions[l].serial)
                fz_fail(z, "session", "session %" PRIu64 " is open twice (workers '%s' and '%s')",
                        s->sessions[k].serial, co_state_name(s, s->sessions[k].who),
                        co_state_name(s, s->sessions[l].who));
}

/* [restart]: what a restart would rebuild equals the live state. */
static void s_same_job(fz_t *z, const co_state_t *a, const co_job_t *x, const co_state_t *b,
                       const co_job_t *y)
{
#define SAME(cond, ...)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            char what_[400];                                                                       \
            snprintf(what_, sizeof what_, __VA_ARGS__);                                            \
            fz_fail(z, "restart", "job %s after a restart: %s", x->id, what_);                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)
    SAME(strcmp(x->id, y->id) == 0, "job %s instead", y->id);
    SAME(x->state == y->state, "state %s, live %s", co_job_state_names[y->state],
         co_job_state_names[x->state]);
    SAME(strcmp(x->error ? x->error : "", y->error ? y->error : "") == 0, "error '%s', live '%s'",
         y->error ? y->error : "", x->error ? x->error : "");
    SAME(x->n == y->n && x->first == y->first, "frames differ");
    SAME(x->done == y->done, "done %" PRIu64 ", live %" PRIu64, y->done, x->done);
    SAME(x->failed == y->failed, "failed %" PRIu64 ", live %" PRIu64, y->failed, x->failed);
    SAME(x->running == y->running, "running %" PRIu64 ", live %" PRIu64, y->running, x->running);
    SAME(x->late == y->late, "late %" PRIu64 ", live %" PRIu64, y->late, x->late);
    SAME(x->audited == y->audited, "audited %" PRIu64 ", live %" PRIu64, y->audited, x->audited);
    SAME(x->disputed == y->disputed, "disputed %" PRIu64 ", live %" PRIu64, y->disputed,
         x->disputed);
    SAME(x->rerendered == y->rerendered, "rerendered %" PRIu64 ", live %" PRIu64, y->rerendered,
         x->rerendered);
    SAME(x->audits_open == y->audits_open, "audits_open %" PRIu64 ", live %" PRIu64, y->audits_open,
         x->audits_open);
    SAME(memcmp(&x->audit_rate, &y->audit_rate, sizeof x->audit_rate) == 0, "audit rate");
    SAME(x->chunk == y->chunk && x->progress_ms == y->progress_ms && x->stream == y->stream,
         "options");
    for (int64_t i = 0; i < x->n; i++) {
        const co_frame_t *f = &x->frames[i], *g = &y->frames[i];
        int64_t fno = x->first + i;
        SAME(f->state == g->state, "frame %" PRId64 " is %s, live %s", fno,
             co_frame_state_names[g->state], co_frame_state_names[f->state]);
        if (f->state == CO_F_DONE || f->state == CO_F_RUNNING)
            SAME(f->attempt == g->attempt,
                 "frame %" PRId64 " under attempt %" PRIu64 ", live %" PRIu64, fno, g->attempt,
                 f->attempt);
        if (f->state == CO_F_DONE)
            SAME(lx_manifest_has_frame(y->manifest, fno),
                 "frame %" PRId64 " is done and not in the manifest", fno);
        SAME(f->failures == g->failures, "frame %" PRId64 " has %d failures, live %d", fno,
             g->failures, f->failures);
        for (int k = 0; k < f->failures; k++) {
            bool found = false;
            for (int l = 0; l < g->failures; l++)
                found |= strcmp(co_state_name(a, f->failed_by[k]),
                                co_state_name(b, g->failed_by[l])) == 0;
            SAME(found, "frame %" PRId64 ": failure by '%s' lost", fno,
                 co_state_name(a, f->failed_by[k]));
        }
        if (x->audits) {
            const co_audit_t *p = &x->audits[i], *q = &y->audits[i];
            SAME(p->state == q->state, "frame %" PRId64 ": audit %d, live %d", fno, q->state,
                 p->state);
            SAME(memcmp(p->sig, q->sig, sizeof p->sig) == 0, "frame %" PRId64 ": audit sigs", fno);
            for (int k = 0; k < 3; k++)
                SAME(strcmp(co_state_name(a, p->who[k]), co_state_name(b, q->who[k])) == 0,
                     "frame %" PRId64 ": audit who[%d] '%s', live '%s'", fno, k,
                     co_state_name(b, q->who[k]), co_state_name(a, p->who[k]));
        }
    }
    SAME(x->n_blocks == y->n_blocks, "%zu blocks, live %zu", y->n_blocks, x->n_blocks);
    for (size_t k = 0; k < x->n_blocks; k++) {
        /* The journal need not keep the blocks' order. */
        const co_block_t *p = &x->blocks[k], *q = NULL;
        for (size_t l = 0; l < y->n_blocks && !q; l++)
            if (strcmp(co_state_name(a, p->who), co_state_name(b, y->blocks[l].who)) == 0)
                q = &y->blocks[l];
        SAME(q, "the block of '%s' is gone", co_state_name(a, p->who));
        SAME(p->failed_chunks == q->failed_chunks && fabs(p->until - q->until) < 1,
             "the block of '%s' is %u chunks until %.0f, live %u until %.0f",
             co_state_name(a, p->who), q->failed_chunks, q->until, p->failed_chunks, p->until);
    }
#undef SAME
}

static void s_compare_restart(fz_t *z, const co_state_t *r)
{
    const co_state_t *s = &z->s;
    if (!z->failed && r->n_jobs != s->n_jobs)
        fz_fail(z, "restart", "%zu jobs after a restart, live %zu", r->n_jobs, s->n_jobs);
    if (!z->failed && r->last_attempt != s->last_attempt)
        fz_fail(z, "restart", "last attempt %" PRIu64 " after a restart, live %" PRIu64,
                r->last_attempt, s->last_attempt);
    for (size_t k = 0; k < r->n_jobs && k < s->n_jobs && !z->failed; k++)
        s_same_job(z, s, s->jobs[k], r, r->jobs[k]);
    if (!z->failed && r->n_quarantined != s->n_quarantined)
        fz_fail(z, "restart", "%zu quarantined after a restart, live %zu", r->n_quarantined,
                s->n_quarantined);
    for (size_t k = 0; k < s->n_quarantined && !z->failed; k++)
        if (!co_state_quarantined(r, co_state_ident(r, co_state_name(s, s->quarantined[k]))))
            fz_fail(z, "restart", "'%s' is not quarantined after a restart",
                    co_state_name(s, s->quarantined[k]));
    size_t live = 0, rebuilt = 0;
    for (size_t k = 0; k < s->n_attempts; k++)
        live += !s_exempt(z, &s->attempts[k]);
    for (size_t k = 0; k < r->n_attempts && !z->failed; k++) {
        const co_attempt_t *b = &r->attempts[k], *a = co_state_attempt(s, b->id);
        if (s_exempt(z, b))
            continue;
        rebuilt++;
        if (!a)
            fz_fail(z, "restart",
                    "attempt %" PRIu64 " (%s %" PRId64 "-%" PRId64 " of %s) is in flight after a "
                    "restart, not live",
                    b->id, b->audit ? "audit" : "chunk", b->first, b->last, b->job->id);
    }
    if (!z->failed && rebuilt != live)
        fz_fail(z, "restart", "%zu attempts in flight after a restart, live %zu", rebuilt, live);
    for (size_t k = 0; k < s->n_attempts && !z->failed; k++) {
        const co_attempt_t *a = &s->attempts[k], *b = co_state_attempt(r, a->id);
        if (s_exempt(z, a))
            continue;
        if (!b || b->session || b->first != a->first || b->last != a->last ||
            b->audit != a->audit || strcmp(b->job->id, a->job->id) != 0 ||
            strcmp(co_state_name(r, b->who), co_state_name(s, a->who)) != 0)
            fz_fail(z, "restart", "attempt %" PRIu64 " is %s after a restart", a->id,
                    b ? "another" : "gone");
    }
    /* A job that finished: the manifest a restarted coordinator would
     * write is the one the live one wrote. */
    for (int h = 0; h < z->n_jobs && !z->failed; h++) {
        hjob_t *hj = &z->jobs[h];
        if (!hj->check_restart_manifest)
            continue;
        hj->check_restart_manifest = false;
        const co_job_t *x = co_state_job(s, hj->id), *y = co_state_job(r, hj->id);
        if (!x || !y || x->state != CO_J_DONE)
            continue;
        lx_error_t e1 = {0}, e2 = {0};
        char why[600];
        if (s_write_manifest(z, x->manifest, "live", &e1) != LX_OK ||
            s_write_manifest(z, y->manifest, "recovered", &e2) != LX_OK)
            fz_fail(z, "restart", "job %s: a manifest cannot be written after a restart: %s%s",
                    hj->id, e1.message, e2.message);
        else if (!s_same_manifests(z, "live", "recovered", why, sizeof why))
            fz_fail(z, "restart", "job %s: a restart rebuilds another manifest: %s", hj->id, why);
    }
}

static void s_check_restart(fz_t *z)
{
    co_state_t r;
    co_tx_t log;
    co_tx_init(&log);
    lx_error_t err = {0};
    lx_result_t rc = core_recover(z, &r, &log, &err);
    const char *text = log.log.buf ? log.log.buf : "";
    if (rc != LX_OK || strstr(text, "recover_failed") || strstr(text, "skipped"))
        fz_fail(z, "restart", "co_recover: %s %.600s", err.message, text);
    co_tx_release(&log);
    if (!z->failed)
        s_compare_restart(z, &r);
    co_state_release(&r);
}

/* [disk]: the files of accepted results are on disk as accepted (the
 * frames the harness damaged on purpose aside). */
static void s_check_disk(fz_t *z)
{
    for (int h = 0; h < z->n_jobs && !z->failed; h++) {
        const hjob_t *hj = &z->jobs[h];
        const co_job_t *j = co_state_job(&z->s, hj->id);
        for (int64_t k = 0; j && k < j->n && !z->failed; k++) {
            const co_frame_t *f = &j->frames[k];
            const fz_result_t *r = f->state == CO_F_DONE ? s_result(hj, k, f->attempt) : NULL;
            for (uint32_t n = 0; r && !hj->damaged[k] && n < r->n_files; n++) {
                char path[600];
                s_final_path(path, sizeof path, hj->id, r->files[n].key, r->files[n].name);
                const dent_t *d = s_disk_get(&z->disk, path);
                if (!d || strcmp(d->hash, r->files[n].hash) != 0)
                    fz_fail(z, "disk",
                            "job %s frame %" PRId64 ": %s is %s, not the accepted result's", hj->id,
                            j->first + k, path, d ? "other bytes" : "missing");
            }
        }
    }
}

/* ---- episodes --------------------------------------------------------------------- */

/* What a child process reports to its parent (shared memory). */
typedef struct report {
    int status; /* 0 passed, 1 an invariant failed, 2 running */
    int64_t step, steps_run;
    uint64_t seed;
    char inv[48];
    char msg[1536];
    char where[160]; /* a crash: the sanitizer's first report line */
    char peers[FZ_MAX_PEERS + 1];
    uint64_t stats[ST_COUNT];
    int32_t n_ev;
    ev_t ev[FZ_MAX_EVENTS];
} report_t;

typedef struct script {
    char peers[FZ_MAX_PEERS + 1];
    ev_t *ev;
    int32_t n_ev;
    int restart_every; /* how often its replay checks restarts */
} script_t;

static void s_roster(uint64_t seed, unsigned classes, char out[FZ_MAX_PEERS + 1])
{
    rng_t r = {seed ^ 0x5eed5eedull};
    int honest = (int)r_range(&r, 2, 4), liars = (int)r_range(&r, 0, 2);
    int forgers = (classes & ((1u << C_FORGE) | (1u << C_IDENT))) ? (int)r_range(&r, 0, 1) : 0;
    int n = 0;
    for (int i = 0; i < honest; i++)
        out[n++] = 'h';
    for (int i = 0; i < liars; i++)
        out[n++] = 'l';
    for (int i = 0; i < forgers; i++)
        out[n++] = 'f';
    out[n] = '\0';
    for (int i = n - 1; i > 0; i--) { /* shuffle */
        int k = (int)r_below(&r, i + 1);
        char c = out[i];
        out[i] = out[k];
        out[k] = c;
    }
}

static void s_ev_text(const ev_t *e, char *out, size_t size)
{
    int n =
        snprintf(out, size, "%s", e->kind >= 0 && e->kind < EV_COUNT ? k_ev_names[e->kind] : "?");
#define F(cond, ...)                                                                               \
    if ((cond) && n >= 0 && (size_t)n < size)                                                      \
    n += snprintf(out + n, size - (size_t)n, __VA_ARGS__)
    bool peer = e->kind >= EV_HELLO && e->kind <= EV_DEAD;
    F(peer, " p=%d", e->p);
    F(e->kind != EV_TICK && e->kind != EV_RESTART && e->kind != EV_HELLO && e->kind != EV_READY &&
          e->kind != EV_GOODBYE && e->kind != EV_DEAD,
      " j=%d", e->j);
    F(e->at, " at=%" PRIu64, e->at);
    F(e->kind == EV_FRAME || e->kind == EV_DAMAGE || (e->kind == EV_SUBMIT), " f=%" PRId64, e->f);
    F(e->kind == EV_SUBMIT || e->kind == EV_READY || e->kind == EV_TICK || e->lo, " lo=%" PRId64,
      e->lo);
    F(e->kind == EV_SUBMIT || e->hi, " hi=%" PRId64, e->hi);
    F(e->x, " x=%d", e->x);
    F(e->y, " y=%d", e->y);
    F(e->m, " m=%d", e->m);
    F(e->kind == EV_FRAME, " l=%s", e->l >= 0 && e->l < L_COUNT ? k_lie_names[e->l] : "?");
    F(e->kind != EV_FRAME && e->l, " l=%d", e->l);
    F(e->cls, " cls=%d", e->cls);
#undef F
}

static bool s_ev_parse(const char *line, ev_t *e)
{
    memset(e, 0, sizeof *e);
    e->j = -1;
    char kind[32];
    int used = 0;
    if (sscanf(line, "%31s%n", kind, &used) != 1)
        return false;
    e->kind = -1;
    for (int k = 1; k < EV_COUNT; k++)
        if (strcmp(kind, k_ev_names[k]) == 0)
            e->kind = k;
    if (e->kind < 0)
        return false;
    const char *p = line + used;
    char key[16], val[64];
    int n;
    while (sscanf(p, " %15[a-z]=%63s%n", key, val, &n) == 2) {
        p += n;
        long long v = strtoll(val, NULL, 10);
        if (strcmp(key, "p") == 0)
            e->p = (int32_t)v;
        else if (strcmp(key, "j") == 0)
            e->j = (int32_t)v;
        else if (strcmp(key, "at") == 0)
            e->at = strtoull(val, NULL, 10);
        else if (strcmp(key, "f") == 0)
            e->f = v;
        else if (strcmp(key, "lo") == 0)
            e->lo = v;
        else if (strcmp(key, "hi") == 0)
            e->hi = v;
        else if (strcmp(key, "x") == 0)
            e->x = (int32_t)v;
        else if (strcmp(key, "y") == 0)
            e->y = (int32_t)v;
        else if (strcmp(key, "m") == 0)
            e->m = (int32_t)v;
        else if (strcmp(key, "cls") == 0)
            e->cls = (int32_t)v;
        else if (strcmp(key, "l") == 0) {
            e->l = (int32_t)v;
            for (int l = 0; l < L_COUNT; l++)
                if (strcmp(val, k_lie_names[l]) == 0)
                    e->l = l;
        }
    }
    return true;
}

static void fz_init(fz_t *z, uint64_t seed, unsigned classes, const char *peers, const char *tmp)
{
    memset(z, 0, sizeof *z);
    z->rng.s = seed;
    z->classes = classes;
    z->tmp = tmp;
    z->now = 1000;
    co_state_init(&z->s);
    z->s.policy = (co_policy_t){0, 50, 60000};
    lx_error_t err = {0};
    if (co_journal_open(NULL, &z->jn, &err) != LX_OK)
        fz_fail(z, "journal", "cannot open: %s", err.message);
    z->n_peers = (int)strlen(peers);
    for (int p = 0; p < z->n_peers; p++) {
        z->peers[p].kind = peers[p] == 'l' ? PK_LIAR : peers[p] == 'f' ? PK_FORGER : PK_HONEST;
        snprintf(z->peers[p].key, sizeof z->peers[p].key, "K%d", p);
    }
}

static void fz_release(fz_t *z)
{
    co_state_release(&z->s);
    co_journal_close(&z->jn);
    for (int h = 0; h < z->n_jobs; h++)
        s_hjob_free(&z->jobs[h]);
    free(z->peer_of_serial);
    free(z->att);
    s_disk_free(&z->disk);
}

/* One step's checks. */
static void fz_check(fz_t *z)
{
    if (!z->failed)
        s_check_state(z);
    if (!z->failed && z->restart_every > 0 && z->step % z->restart_every == 0) {
        s_check_restart(z);
        z->stats[ST_RESTART_CHECK]++;
    }
    if (!z->failed && z->step % 16 == 0)
        s_check_disk(z);
}

/* Runs an episode (a seed, or a script) in this process; fills rep. */
static void fz_episode(uint64_t seed, const script_t *sc, int64_t steps, unsigned classes,
                       int restart_every, bool verbose, const char *tmp, report_t *rep)
{
    char peers[FZ_MAX_PEERS + 1];
    if (sc)
        snprintf(peers, sizeof peers, "%s", sc->peers);
    else
        s_roster(seed, classes, peers);
    fz_t *z = calloc(1, sizeof *z);
    fz_init(z, seed, classes, peers, tmp);
    z->restart_every = restart_every;
    z->verbose = verbose;
    rep->status = 2;
    rep->seed = seed;
    rep->n_ev = 0;
    snprintf(rep->peers, sizeof rep->peers, "%s", peers);
    int64_t n = sc ? sc->n_ev : steps;
    if (n > FZ_MAX_EVENTS)
        n = FZ_MAX_EVENTS;
    for (z->step = 0; z->step < n && !z->failed; z->step++) {
        ev_t e;
        if (sc)
            e = sc->ev[z->step];
        else
            gen_event(z, &e);
        rep->ev[rep->n_ev++] = e;
        rep->step = z->step;
        memcpy(rep->stats, z->stats, sizeof z->stats);
        if (verbose) {
            char text[300];
            s_ev_text(&e, text, sizeof text);
            fprintf(stderr, "[%" PRId64 "] %s\n", z->step, text);
        }
        fz_exec(z, &e);
        fz_check(z);
    }
    rep->steps_run = z->step;
    memcpy(rep->stats, z->stats, sizeof z->stats);
    if (z->failed) {
        rep->status = 1;
        rep->step = z->step - 1;
        snprintf(rep->inv, sizeof rep->inv, "%s", z->inv);
        snprintf(rep->msg, sizeof rep->msg, "%s", z->msg);
    } else {
        rep->status = 0;
    }
    fz_release(z);
    free(z);
}

typedef struct outcome {
    int status; /* 0 passed, 1 invariant, 3 crash (signal), 4 hang */
    int sig;
    char inv[48];
} outcome_t;

static int g_alarm_s = 60;

/* The same in a child process: crashes and hangs become outcomes. */
static outcome_t fz_run_child(uint64_t seed, const script_t *sc, int64_t steps, unsigned classes,
                              int restart_every, bool verbose, const char *tmp, report_t *rep)
{
    outcome_t o = {0, 0, ""};
    fflush(stdout);
    fflush(stderr);
    memset(rep, 0, offsetof(report_t, ev));
    char errpath[1200];
    snprintf(errpath, sizeof errpath, "%s/child.err", tmp);
    pid_t pid = fork();
    if (pid == 0) {
        /* Its stderr (a sanitizer's report, -v) goes to a file the parent
         * reads: a crash is then named by where it happened. */
        FILE *ef = freopen(errpath, "w", stderr);
        (void)ef;
        alarm((unsigned)g_alarm_s);
        fz_episode(seed, sc, steps, classes, restart_every, verbose, tmp, rep);
        exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) {
        /* no child: run here */
        fz_episode(seed, sc, steps, classes, restart_every, verbose, tmp, rep);
        st = 0;
    }
    char *err_text = pid > 0 ? s_read_file(errpath) : NULL;
    bool died = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
    if (err_text && (verbose || died))
        fputs(err_text, stderr);
    rep->where[0] = '\0';
    if (err_text && died) {
        /* "file.c:23:63: runtime error: signed integer overflow: ..." or
         * "ERROR: AddressSanitizer: SEGV ..." and its first frame. */
        const char *ub = strstr(err_text, "runtime error: ");
        const char *as = strstr(err_text, "ERROR: AddressSanitizer: ");
        if (ub) {
            const char *bol = ub;
            while (bol > err_text && bol[-1] != '\n')
                bol--;
            const char *base = bol;
            for (const char *q = bol; q < ub; q++)
                if (*q == '/')
                    base = q + 1;
            int loclen = (int)strcspn(base, " "), len = (int)strcspn(ub + 15, ":\n");
            snprintf(rep->where, sizeof rep->where, "%.*s %.*s", loclen, base, len, ub + 15);
        } else if (as) {
            const char *f0 = strstr(as, "#0 ");
            const char *in = f0 ? strstr(f0, " in ") : NULL;
            snprintf(rep->where, sizeof rep->where, "%.*s in %.*s", (int)strcspn(as + 25, " \n"),
                     as + 25, in ? (int)strcspn(in + 4, " \n") : 1, in ? in + 4 : "?");
        }
    }
    s_free_file(err_text);
    if (WIFSIGNALED(st)) {
        o.status = WTERMSIG(st) == SIGALRM ? 4 : 3;
        o.sig = WTERMSIG(st);
        snprintf(o.inv, sizeof o.inv, "%s", o.status == 4 ? "hang" : "crash");
        snprintf(rep->inv, sizeof rep->inv, "%s", o.inv);
        snprintf(rep->msg, sizeof rep->msg, "%s (signal %d: %s) during step %" PRId64 "%s%s",
                 o.status == 4 ? "no progress within the alarm" : "the process died", o.sig,
                 strsignal(o.sig), rep->step, rep->where[0] ? ": " : "", rep->where);
        rep->status = 1;
    } else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
        o.status = 3;
        o.sig = -WEXITSTATUS(st);
        snprintf(o.inv, sizeof o.inv, "crash");
        snprintf(rep->inv, sizeof rep->inv, "crash");
        snprintf(rep->msg, sizeof rep->msg,
                 "the process exited with status %d during step %" PRId64 "%s%s", WEXITSTATUS(st),
                 rep->step, rep->where[0] ? ": " : " (a sanitizer report?)", rep->where);
        rep->status = 1;
    } else if (rep->status == 1) {
        o.status = 1;
        snprintf(o.inv, sizeof o.inv, "%s", rep->inv);
    } else if (rep->status == 2) {
        o.status = 3;
        snprintf(o.inv, sizeof o.inv, "crash");
    }
    return o;
}

/* ---- minimization: the shortest script that fails the same way -------------------- */

static bool s_same_outcome(const outcome_t *a, const outcome_t *b)
{
    return a->status == b->status && strcmp(a->inv, b->inv) == 0;
}

static void fz_minimize(const report_t *rep, const outcome_t *want, unsigned classes,
                        int restart_every, const char *tmp, double seconds, script_t *out)
{
    report_t *scratch =
        mmap(NULL, sizeof *scratch, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    script_t sc = {{0}, malloc(sizeof(ev_t) * (size_t)(rep->n_ev ? rep->n_ev : 1)), rep->n_ev, 1};
    snprintf(sc.peers, sizeof sc.peers, "%s", rep->peers);
    memcpy(sc.ev, rep->ev, sizeof(ev_t) * (size_t)rep->n_ev);
    /* Only the restart check finds restart failures; the rest go faster
     * without it. */
    int every = strcmp(want->inv, "restart") == 0 || restart_every == 1 ? 1 : 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ev_t *trial = malloc(sizeof(ev_t) * (size_t)(sc.n_ev ? sc.n_ev : 1));
    int saved_alarm = g_alarm_s;
    g_alarm_s = 20;
    for (int32_t chunk = sc.n_ev / 2; chunk >= 1 && scratch != MAP_FAILED;) {
        bool removed = false;
        for (int32_t at = sc.n_ev - chunk; at >= 0; at -= chunk) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if ((double)(t1.tv_sec - t0.tv_sec) > seconds)
                goto done;
            int32_t n = 0;
            for (int32_t i = 0; i < sc.n_ev; i++)
                if (i < at || i >= at + chunk)
                    trial[n++] = sc.ev[i];
            script_t t = sc;
            t.ev = trial;
            t.n_ev = n;
            outcome_t o = fz_run_child(0, &t, 0, classes, every, false, tmp, scratch);
            if (s_same_outcome(&o, want)) {
                /* Everything after the failing step goes too. */
                int32_t keep = (int32_t)scratch->step + 1;
                keep = keep > 0 && keep < n ? keep : n;
                memcpy(sc.ev, trial, sizeof(ev_t) * (size_t)keep);
                sc.n_ev = keep;
                removed = true;
                if (at > sc.n_ev)
                    at = sc.n_ev;
            }
        }
        if (!removed)
            chunk /= 2;
        else if (chunk > sc.n_ev / 2)
            chunk = sc.n_ev / 2 > 0 ? sc.n_ev / 2 : 1;
    }
done:
    /* Replays check restarts every step when the script still fails the
     * same way with that. */
    sc.restart_every = every;
    if (!every && scratch != MAP_FAILED) {
        outcome_t o = fz_run_child(0, &sc, 0, classes, 1, false, tmp, scratch);
        sc.restart_every = s_same_outcome(&o, want) ? 1 : 0;
    }
    g_alarm_s = saved_alarm;
    free(trial);
    if (scratch != MAP_FAILED)
        munmap(scratch, sizeof *scratch);
    *out = sc;
}

/* ---- corpus files ---------------------------------------------------------------- */

static unsigned s_script_classes(const script_t *sc)
{
    unsigned c = 0;
    for (int32_t i = 0; i < sc->n_ev; i++)
        c |= (unsigned)sc->ev[i].cls;
    return c;
}

static void s_classes_text(unsigned c, char *out, size_t size)
{
    out[0] = '\0';
    size_t n = 0;
    for (int k = 0; k < C_COUNT; k++)
        if (c >> k & 1u)
            n += (size_t)snprintf(out + n, size > n ? size - n : 0, "%s%s", n ? "," : "",
                                  k_classes[k].name);
    if (!n)
        snprintf(out, size, "-");
}

static bool s_parse_classes(const char *text, unsigned *out)
{
    *out = 0;
    if (strcmp(text, "-") == 0 || !*text)
        return true;
    if (strcmp(text, "all") == 0) {
        *out = (1u << C_COUNT) - 1;
        return true;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int k = 0;
        while (k < C_COUNT && strcmp(k_classes[k].name, tok) != 0)
            k++;
        if (k == C_COUNT)
            return false;
        *out |= 1u << k;
    }
    return true;
}

static void s_print_script(FILE *f, const script_t *sc, const char *prefix)
{
    char text[300];
    for (int32_t i = 0; i < sc->n_ev; i++) {
        s_ev_text(&sc->ev[i], text, sizeof text);
        fprintf(f, "%s%s\n", prefix, text);
    }
}

static void s_write_corpus(const char *dir, const report_t *rep, const script_t *sc,
                           unsigned classes, int restart_every, uint64_t run_seed, const char *cmd)
{
    char path[4200], cls[200], need[200];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/seed-%016" PRIx64 "-%s.txt", dir, rep->seed, rep->inv);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    s_classes_text(classes, cls, sizeof cls);
    s_classes_text(s_script_classes(sc), need, sizeof need);
    fprintf(f, "# [%s] %s\n", rep->inv, rep->msg);
    fprintf(f,
            "# found by: %s (run seed %" PRIu64 "), episode seed 0x%016" PRIx64 ", step %" PRId64
            ", classes %s\n",
            cmd, run_seed, rep->seed, rep->step, cls);
    fprintf(f,
            "# replayed by test_coord_fuzz: the seed with these classes for these steps, "
            "then the minimized script (needs: %s)\n",
            need);
    fprintf(f, "seed 0x%016" PRIx64 "\nsteps %" PRId64 "\nclasses %s\npeers %s\n", rep->seed,
            rep->step + 1, cls, rep->peers);
    fprintf(f, "restart_every %d\nscript_restart_every %d\n", restart_every, sc->restart_every);
    s_print_script(f, sc, "ev ");
    fclose(f);
    fprintf(stderr, "written: %s\n", path);
}

typedef struct corpus_entry {
    uint64_t seed;
    int64_t steps;
    unsigned classes;
    int restart_every; /* how often it checked restarts (1 unless the file says) */
    bool has_seed;
    script_t sc;
    char first_line[600];
} corpus_entry_t;

static bool s_read_corpus(const char *path, corpus_entry_t *ce)
{
    memset(ce, 0, sizeof *ce);
    ce->restart_every = 1;
    ce->sc.restart_every = 1;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[1024];
    int32_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char word[300];
        if (line[0] == '#') {
            if (!ce->first_line[0])
                snprintf(ce->first_line, sizeof ce->first_line, "%.590s", line);
        } else if (sscanf(line, "seed %" SCNx64, &ce->seed) == 1) {
            ce->has_seed = true;
        } else if (sscanf(line, "restart_every %d", &ce->restart_every) == 1) {
        } else if (sscanf(line, "script_restart_every %d", &ce->sc.restart_every) == 1) {
        } else if (sscanf(line, "steps %" SCNd64, &ce->steps) == 1) {
        } else if (sscanf(line, "classes %299s", word) == 1) {
            s_parse_classes(word, &ce->classes);
        } else if (sscanf(line, "peers %8s", word) == 1) {
            snprintf(ce->sc.peers, sizeof ce->sc.peers, "%.8s", word);
        } else if (strncmp(line, "ev ", 3) == 0) {
            if (ce->sc.n_ev == cap) {
                cap = cap ? 2 * cap : 64;
                ce->sc.ev = realloc(ce->sc.ev, sizeof(ev_t) * (size_t)cap);
            }
            if (s_ev_parse(line + 3, &ce->sc.ev[ce->sc.n_ev]))
                ce->sc.n_ev++;
        }
    }
    fclose(f);
    return ce->has_seed || ce->sc.n_ev;
}

/* Rewrites corpus file `path` with script sc instead of its own. */
static bool s_rewrite_script(const char *path, const script_t *sc)
{
    char *text = s_read_file(path);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (!f) {
        s_free_file(text);
        return false;
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, "ev ", 3) != 0 && strncmp(line, "script_restart_every ", 21) != 0)
            fprintf(f, "%s\n", line);
    fprintf(f, "script_restart_every %d\n", sc->restart_every);
    s_print_script(f, sc, "ev ");
    fclose(f);
    s_free_file(text);
    return true;
}

/* ---- runs --------------------------------------------------------------------------- */

typedef struct opts {
    int64_t steps, episode;
    uint64_t seed;
    unsigned classes;
    int restart_every;
    const char *corpus;
    bool corpus_replay, save, verbose, xfail;
    double min_seconds, seconds;
    const char *cmd;
} opts_t;

typedef struct found {
    char inv[48], where[160];
    int count;
    uint64_t seed;
    int64_t step;
} found_t;

static void s_report_failure(const report_t *rep, const outcome_t *o, const opts_t *op,
                             unsigned classes, uint64_t run_seed, const char *tmp)
{
    char cls[200];
    s_classes_text(classes, cls, sizeof cls);
    fprintf(stderr,
            "\n=== FAILED [%s] episode seed 0x%016" PRIx64 " step %" PRId64
            " (classes %s, peers %s)\n    %s\n",
            rep->inv, rep->seed, rep->step, cls, rep->peers, rep->msg);
    fprintf(stderr,
            "    reproduce: test_coord_fuzz --one 0x%016" PRIx64 " --steps %" PRId64
            " --classes %s -v\n",
            rep->seed, rep->step + 1, cls);
    int32_t from = rep->n_ev > 12 ? rep->n_ev - 12 : 0;
    fprintf(stderr, "    last events:\n");
    for (int32_t i = from; i < rep->n_ev; i++) {
        char text[300];
        s_ev_text(&rep->ev[i], text, sizeof text);
        fprintf(stderr, "      [%d] %s\n", i, text);
    }
    script_t sc = {{0}, NULL, 0, op->restart_every};
    if (op->min_seconds > 0) {
        fz_minimize(rep, o, classes, op->restart_every, tmp, op->min_seconds, &sc);
        fprintf(stderr, "    minimized to %d events (of %d):\n", sc.n_ev, rep->n_ev);
        s_print_script(stderr, &sc, "      ");
    } else {
        sc.ev = malloc(sizeof(ev_t) * (size_t)(rep->n_ev ? rep->n_ev : 1));
        memcpy(sc.ev, rep->ev, sizeof(ev_t) * (size_t)rep->n_ev);
        sc.n_ev = rep->n_ev;
        snprintf(sc.peers, sizeof sc.peers, "%s", rep->peers);
    }
    if (op->save)
        s_write_corpus(op->corpus, rep, &sc, classes, op->restart_every, run_seed, op->cmd);
    free(sc.ev);
}

/* Replays the corpus: entries whose classes are all on must pass; the
 * others (known bugs) report xfail or xpass. Returns the failures. */
static int s_replay_corpus(const opts_t *op, const char *tmp, report_t *rep)
{
    DIR *d = opendir(op->corpus);
    if (!d) {
        fprintf(stderr, "corpus %s: none\n", op->corpus);
        return 0;
    }
    char *names[1024];
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) && n < 1024;)
        if (strstr(de->d_name, ".txt"))
            names[n++] = strdup(de->d_name);
    closedir(d);
    for (int i = 1; i < n; i++) /* sorted: a stable order */
        for (int k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            char *t = names[k];
            names[k] = names[k - 1];
            names[k - 1] = t;
        }
    int failures = 0;
    for (int i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", op->corpus, names[i]);
        corpus_entry_t ce;
        if (!s_read_corpus(path, &ce)) {
            fprintf(stderr, "corpus %s: unreadable\n", names[i]);
            failures++;
            free(names[i]);
            continue;
        }
        unsigned need = ce.classes | s_script_classes(&ce.sc);
        bool expect_pass = (need & ~op->classes) == 0;
        char cls[200];
        s_classes_text(need & ~op->classes, cls, sizeof cls);
        if (!expect_pass && !op->xfail) {
            fprintf(stderr, "corpus %s: skipped (needs class %s, off; --xfail runs it)\n", names[i],
                    cls);
            free(ce.sc.ev);
            free(names[i]);
            continue;
        }
        int saved_alarm = g_alarm_s;
        if (!expect_pass)
            g_alarm_s = 20; /* a known hang must not hold ctest up */
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 0 && !ce.has_seed)
                continue;
            if (pass == 1 && !ce.sc.n_ev)
                continue;
            if (ce.sc.peers[0] == '\0')
                s_roster(ce.seed, ce.classes, ce.sc.peers);
            outcome_t o = pass == 0 ? fz_run_child(ce.seed, NULL, ce.steps, ce.classes,
                                                   ce.restart_every, false, tmp, rep)
                                    : fz_run_child(0, &ce.sc, 0, ce.classes, ce.sc.restart_every,
                                                   false, tmp, rep);
            const char *what = pass == 0 ? "seed" : "script";
            if (o.status == 0 && expect_pass)
                fprintf(stderr, "corpus %s (%s): ok\n", names[i], what);
            else if (o.status == 0)
                fprintf(stderr,
                        "corpus %s (%s): XPASS although class %s is off: fixed? switch "
                        "it on in k_classes\n",
                        names[i], what, cls);
            else if (!expect_pass)
                fprintf(stderr, "corpus %s (%s): xfail [%s] (known: class %s is off)\n", names[i],
                        what, rep->inv, cls);
            else {
                fprintf(stderr, "corpus %s (%s): FAILED [%s] at step %" PRId64 ": %s\n    %s\n",
                        names[i], what, rep->inv, rep->step, rep->msg, ce.first_line);
                failures++;
            }
        }
        g_alarm_s = saved_alarm;
        free(ce.sc.ev);
        free(names[i]);
    }
    return failures;
}

static int s_random_run(const opts_t *op, const char *tmp, report_t *rep)
{
    found_t found[64];
    int n_found = 0, failures = 0;
    uint64_t stats[ST_COUNT] = {0};
    int64_t total = 0, episodes = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t x = op->seed;
    for (int64_t e = 0; total < op->steps; e++) {
        uint64_t seed = s_mix(&x);
        int64_t steps = op->steps - total < op->episode ? op->steps - total : op->episode;
        outcome_t o =
            fz_run_child(seed, NULL, steps, op->classes, op->restart_every, op->verbose, tmp, rep);
        episodes++;
        total += o.status == 0 ? steps : rep->step + 1;
        for (int k = 0; k < ST_COUNT; k++)
            stats[k] += rep->stats[k];
        if (o.status != 0) {
            int k = 0;
            while (k < n_found &&
                   (strcmp(found[k].inv, rep->inv) != 0 || strcmp(found[k].where, rep->where) != 0))
                k++;
            if (k == n_found && n_found < 64) {
                found[n_found++] = (found_t){"", "", 0, rep->seed, rep->step};
                snprintf(found[k].inv, sizeof found[k].inv, "%s", rep->inv);
                snprintf(found[k].where, sizeof found[k].where, "%s", rep->where);
                s_report_failure(rep, &o, op, op->classes, op->seed, tmp);
            }
            if (k < 64)
                found[k].count++;
            failures++;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (op->steps >= 100000 && e % 50 == 49)
            fprintf(stderr, "... %" PRId64 " steps, %" PRId64 " episodes, %d failures, %.0f s\n",
                    total, episodes, failures, secs);
        if (op->seconds > 0 && secs >= op->seconds)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    char cls[200];
    s_classes_text(op->classes, cls, sizeof cls);
    fprintf(stderr,
            "random: %" PRId64 " steps in %" PRId64 " episodes, seed %" PRIu64
            ", classes %s: %.1f s, %.0f steps/s, %d failing episodes\n",
            total, episodes, op->seed, cls, secs, secs > 0 ? (double)total / secs : 0.0, failures);
    fprintf(stderr, "  covered:");
    for (int k = 0; k < ST_COUNT; k++)
        fprintf(stderr, "%s %" PRIu64 " %s", k ? "," : "", stats[k], k_stat_names[k]);
    fprintf(stderr, "\n");
    for (int k = 0; k < n_found; k++)
        fprintf(stderr, "  [%s]%s%s %d episodes; first: seed 0x%016" PRIx64 " step %" PRId64 "\n",
                found[k].inv, found[k].where[0] ? " " : "", found[k].where, found[k].count,
                found[k].seed, found[k].step);
    return failures;
}

static void s_usage(void)
{
    fprintf(
        stderr,
        "usage: test_coord_fuzz [--steps N] [--seed S] [--episode L] [--with LIST|all]\n"
        "                       [--without LIST] [--classes LIST] [--restart-every K]\n"
        "                       [--corpus DIR]\n"
        "                       [--no-corpus] [--xfail] [--no-save] [--minimize-seconds S]\n"
        "                       [--seconds S] [-v]\n"
        "       test_coord_fuzz --replay FILE [-v]\n"
        "       test_coord_fuzz --minimize FILE [--minimize-seconds S]   (rewrites its script)\n"
        "       test_coord_fuzz --one SEED --steps K [--classes LIST] [-v]\n"
        "classes (on = generated by default):\n");
    for (int k = 0; k < C_COUNT; k++)
        fprintf(stderr, "  %-9s %-3s %s\n", k_classes[k].name, k_classes[k].on ? "on" : "off",
                k_classes[k].what);
}

int main(int argc, char **argv)
{
    char corpus[4096];
    snprintf(corpus, sizeof corpus, "%s/tests/corpus/coord_fuzz", LX_SOURCE_DIR);
    opts_t op = {FZ_DEFAULT_STEPS, 1000, 1, 0, -1, corpus, true, true, false, false, 20, 0, ""};
    for (int k = 0; k < C_COUNT; k++)
        op.classes |= k_classes[k].on ? 1u << k : 0;
    const char *replay = NULL;
    bool one = false, explicit_steps = false, restart_given = false, minimize = false;
    uint64_t one_seed = 0;
    char cmd[1024];
    int cn = snprintf(cmd, sizeof cmd, "test_coord_fuzz");
    for (int i = 1; i < argc; i++)
        if (cn >= 0 && (size_t)cn < sizeof cmd)
            cn += snprintf(cmd + cn, sizeof cmd - (size_t)cn, " %s", argv[i]);
    op.cmd = cmd;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned c;
        if (strcmp(a, "--steps") == 0 && v) {
            op.steps = strtoll(v, NULL, 0);
            explicit_steps = true;
            if (op.steps < 0)
                op.steps = 0;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            op.seed = strtoull(v, NULL, 0);
            i++;
        } else if (strcmp(a, "--episode") == 0 && v) {
            op.episode = strtoll(v, NULL, 0);
            i++;
        } else if (strcmp(a, "--with") == 0 && v && s_parse_classes(v, &c)) {
            op.classes |= c;
            i++;
        } else if (strcmp(a, "--classes") == 0 && v && s_parse_classes(v, &c)) {
            op.classes = c; /* exactly these */
            i++;
        } else if (strcmp(a, "--without") == 0 && v && s_parse_classes(v, &c)) {
            op.classes &= ~c;
            i++;
        } else if (strcmp(a, "--restart-every") == 0 && v) {
            op.restart_every = atoi(v);
            restart_given = true;
            i++;
        } else if (strcmp(a, "--corpus") == 0 && v) {
            op.corpus = v;
            i++;
        } else if (strcmp(a, "--no-corpus") == 0) {
            op.corpus_replay = false;
        } else if (strcmp(a, "--no-save") == 0) {
            op.save = false;
        } else if (strcmp(a, "--seconds") == 0 && v) {
            op.seconds = atof(v);
            if (!explicit_steps)
                op.steps = INT64_MAX;
            i++;
        } else if (strcmp(a, "--xfail") == 0) {
            op.xfail = true;
        } else if (strcmp(a, "--minimize-seconds") == 0 && v) {
            op.min_seconds = atof(v);
            i++;
        } else if (strcmp(a, "--replay") == 0 && v) {
            replay = v;
            i++;
        } else if (strcmp(a, "--minimize") == 0 && v) {
            replay = v;
            minimize = true;
            i++;
        } else if (strcmp(a, "--one") == 0 && v) {
            one = true;
            one_seed = strtoull(v, NULL, 0);
            i++;
        } else if (strcmp(a, "-v") == 0) {
            op.verbose = true;
        } else {
            s_usage();
            return 2;
        }
    }
    if (op.episode < 1 || op.episode > FZ_MAX_EVENTS)
        op.episode = 1000;
    /* A restart check costs a whole co_recover (most of a step's time):
     * every step for one episode, every 8th in random runs (and at every
     * RESTART event). */
    if (op.restart_every < 0)
        op.restart_every = one ? 1 : 8;
    if (!s_templates_init())
        return 1;
    char tmp[] = "/tmp/lx-coord-fuzz-XXXXXX";
    char shm_tmp[] = "/dev/shm/lx-coord-fuzz-XXXXXX";
    const char *dir = mkdtemp(shm_tmp) ? shm_tmp : mkdtemp(tmp);
    if (!dir) {
        fprintf(stderr, "cannot make a scratch directory\n");
        return 1;
    }
    report_t *rep =
        mmap(NULL, sizeof *rep, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rep == MAP_FAILED) {
        fprintf(stderr, "mmap: %s\n", strerror(errno));
        return 1;
    }
    int failures = 0;
    if (replay) {
        corpus_entry_t ce;
        if (!s_read_corpus(replay, &ce) || (minimize && !ce.sc.n_ev)) {
            fprintf(stderr, "cannot read %s\n", replay);
            return 2;
        }
        fprintf(stderr, "%s\n", ce.first_line);
        if (!ce.sc.peers[0])
            s_roster(ce.seed, ce.classes, ce.sc.peers);
        int every = restart_given ? op.restart_every : ce.restart_every;
        int sc_every = restart_given ? op.restart_every : ce.sc.restart_every;
        outcome_t o =
            ce.sc.n_ev
                ? fz_run_child(0, &ce.sc, 0, ce.classes, sc_every, op.verbose, dir, rep)
                : fz_run_child(ce.seed, NULL, ce.steps, ce.classes, every, op.verbose, dir, rep);
        if (o.status)
            fprintf(stderr, "FAILED [%s] step %" PRId64 ": %s\n", rep->inv, rep->step, rep->msg);
        else
            fprintf(stderr, "passed (%" PRId64 " steps)\n", rep->steps_run);
        failures = o.status != 0;
        if (minimize && o.status) {
            script_t sc;
            fz_minimize(rep, &o, ce.classes, sc_every, dir, op.min_seconds, &sc);
            fprintf(stderr, "minimized to %d events (of %d)\n", sc.n_ev, ce.sc.n_ev);
            if (!s_rewrite_script(replay, &sc))
                fprintf(stderr, "cannot rewrite %s\n", replay);
            free(sc.ev);
            failures = 0;
        }
        free(ce.sc.ev);
    } else if (one) {
        outcome_t o = fz_run_child(one_seed, NULL, op.steps, op.classes, op.restart_every,
                                   op.verbose, dir, rep);
        if (o.status) {
            op.min_seconds = 0;
            op.save = false;
            s_report_failure(rep, &o, &op, op.classes, one_seed, dir);
        } else {
            fprintf(stderr, "passed (%" PRId64 " steps)\n", rep->steps_run);
        }
        failures = o.status != 0;
    } else {
        if (op.corpus_replay)
            failures += s_replay_corpus(&op, dir, rep);
        if (op.steps > 0)
            failures += s_random_run(&op, dir, rep);
    }
    char rm[4200];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    munmap(rep, sizeof *rep);
    for (size_t i = 0; i < FZ_N_TMPL; i++)
        free(g_tmpl[i].patch);
    printf("%s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
