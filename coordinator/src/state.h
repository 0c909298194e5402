/* The coordinator's state: jobs and their frames, the attempts in flight,
 * the worker sessions, blocks and quarantines. A plain data model with
 * lookups; it changes only through co_apply (apply.h), which the shell
 * calls after the journal has committed the same transition (tx.h), and
 * through co_recover (recover.h) when a restarted coordinator rebuilds it.
 *
 * Workers are known by their identity: the CURVE public key they
 * authenticated with (on an unauthenticated socket, --insecure or inproc,
 * the name they give in HELLO). Budgets, blocks, audits and quarantines
 * count identities, never sessions or names, so a worker that reconnects
 * is still the same worker and a new name buys a liar nothing. An
 * identity is interned once as a small number (co_ident_t; 0 is nobody)
 * whose text never moves while the state lives; its label, the name it
 * last gave in HELLO, is what logs show.
 *
 * No sockets, no SQL, no clocks: every time comes in as an argument, in
 * the shell's monotonic milliseconds. Not thread-safe. */
#ifndef LATTICE_CO_STATE_H
#define LATTICE_CO_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "lattice/export_config.h"
#include "lattice/manifest.h"
#include "lattice/msg.h"
#include "lattice/progress.h"
#include "lattice/strmap.h"

typedef enum { CO_F_PENDING, CO_F_RUNNING, CO_F_DONE, CO_F_FAILED } co_frame_state_t;
typedef enum { CO_J_QUEUED, CO_J_RUNNING, CO_J_DONE, CO_J_FAILED, CO_J_CANCELLED } co_job_state_t;
/* A frame's audit: wanted (to be rendered again by another worker),
 * running, disputed (the two disagree: a third opinion is wanted), third
 * (running), done (settled). */
typedef enum {
    CO_A_NONE,
    CO_A_WANTED,
    CO_A_RUNNING,
    CO_A_DISPUTED,
    CO_A_THIRD,
    CO_A_DONE
} co_audit_state_t;

/* A frame fails after this many distinct workers failed it; a worker that
 * fails this many chunks of a job is blocked for it. */
enum { CO_MAX_FAILURES = 3 };

/* The largest frame number a job may have (2^40 - 1, 580 years at 60
 * fps): every frame, time and index computed from it stays exact and far
 * from overflowing. */
#define CO_FRAME_MAX ((int64_t)1 << 40) - 1

typedef uint32_t co_ident_t;

typedef struct co_frame {
    uint64_t attempt; /* the attempt that runs it, or last ran it */
    co_ident_t failed_by[CO_MAX_FAILURES];
    uint8_t state;    /* co_frame_state_t */
    uint8_t failures; /* entries of failed_by */
} co_frame_t;

/* Who rendered a frame, and what they said: the primary result, the
 * auditor's and a third opinion's content signatures. */
typedef struct co_audit {
    co_ident_t who[3];
    uint8_t sig[3][16];
    uint64_t build; /* co_build_id of the primary's build: auditors have the same */
    uint8_t state;  /* co_audit_state_t */
} co_audit_t;

/* A worker's failed chunks of one job, and until when it is blocked. */
typedef struct co_block {
    co_ident_t who;
    uint32_t failed_chunks;
    double until;
} co_block_t;

typedef struct co_job {
    char id[16], token[129], submit_hash[65], program_hash[65], config_hash[65];
    char owner[41]; /* the submitting client's key; "" when unauthenticated */
    co_job_state_t state;
    char *error;       /* why it failed, or NULL */
    char *config_json; /* the resolved config the workers get */
    char *out;         /* the export directory (absolute) */
    lx_program_t *program;
    lx_export_plan_t plan;
    /* Warm-up snapshots while it runs, when its state reaches back to
     * frame 0 (snapshots.h; the shell starts and stops them). */
    struct co_snaps *snaps;
    bool snaps_tried; /* a pass was started for this run (or could not be) */
    /* Writing its export once every frame is in (finisher.h; the
     * shell's): while it is set, nothing may change the job. */
    struct co_finisher *finisher;
    int64_t snaps_low;       /* the lowest frame a chunk may start at (the shell's) */
    lx_manifest_t *manifest; /* the accepted results */
    bool stream;             /* output mode: stream (else shared) */
    uint32_t chunk;          /* frames per chunk; 0 = adaptive */
    double progress_ms;      /* an attempt that delivers nothing this long is stuck */
    double audit_rate;       /* < 0: no audits */
    int64_t first, n;        /* frames first .. first + n - 1 */
    /* A shard: its frames are a slice of the plan's (co_job_slice); its
     * books are OUT/.lattice/shards/<first>-<last> (lattice/progress.h). */
    bool shard;
    char book[LX_BOOK_MAX]; /* relative to out: ".lattice" or the shard's */
    co_frame_t *frames;     /* n */
    co_audit_t *audits;     /* n, or NULL without audits */
    co_block_t *blocks;
    size_t n_blocks, cap_blocks;
    int64_t hint; /* no pending frame below index hint */
    uint64_t done, running, failed, late;
    uint64_t audits_open, audited, disputed, rerendered;
    double ms_sum;                 /* render_ms of the accepted results, for adaptive chunks */
    double created;                /* when it was submitted (or rerendered) */
    uint32_t workers, max_threads; /* sessions that delivered results; their most threads */
    uint64_t *delivered;           /* those sessions' serials */
    uint32_t cap_delivered;
} co_job_t;

typedef struct co_attempt {
    uint64_t id;
    co_job_t *job;
    int64_t first, last, warmup_from;
    uint64_t session; /* the session working on it; 0 = nobody (after a restart) */
    co_ident_t who;   /* the worker it was given to */
    double progress;  /* when it was handed out or last delivered a frame */
    bool audit;       /* renders frame `first` again only to compare it */
} co_attempt_t;

/* An identity's text (a key or, unauthenticated, a name) and its label. */
typedef struct co_identity {
    const char *text;
    char label[129];
} co_identity_t;

typedef struct co_session {
    uint64_t serial; /* chosen by the shell, unique per connection */
    co_ident_t who;
    char name[129]; /* as its HELLO said: one key may run several named workers */
    char build[257];
    uint64_t build_id; /* co_build_id(build) */
    uint32_t threads;
    uint32_t credit; /* chunks it wants to hold, by its last READY */
    uint32_t held;   /* attempts in flight it holds (co_state_held, kept by co_apply) */
    uint64_t frames; /* results accepted from it */
} co_session_t;

/* The coordinator's settings that decisions follow (lx_coord_config_t). */
typedef struct co_policy {
    uint32_t chunk;         /* default frames per chunk; 0 = adaptive */
    double target_chunk_ms; /* adaptive chunks aim at this long */
    double forgive_ms;      /* a worker blocked for a job is forgiven after this long */
} co_policy_t;

typedef struct co_state {
    co_policy_t policy;
    co_job_t **jobs; /* in submission order */
    size_t n_jobs, cap_jobs;
    co_attempt_t *attempts; /* in flight */
    size_t n_attempts, cap_attempts;
    co_session_t *sessions;
    size_t n_sessions, cap_sessions;
    co_ident_t *quarantined;
    size_t n_quarantined, cap_quarantined;
    uint64_t last_attempt; /* the largest attempt id ever handed out */
    double grace_until; /* after a restart: orphaned attempts wait for their workers until then */
    /* Identities: idents[k] of co_ident_t k (idents[0]: nobody). */
    lx_arena_t arena;
    lx_strmap_t ident_of;
    co_identity_t *idents;
    uint32_t n_idents, cap_idents;
} co_state_t;

extern const char *const co_job_state_names[5];   /* "queued" ... "cancelled" */
extern const char *const co_frame_state_names[4]; /* "pending" ... "failed" */

/* Room for one more element in a growing array (*items of *cap, n used);
 * false when out of memory. */
bool co_grow(void **items, size_t *cap, size_t n, size_t elem);

void co_state_init(co_state_t *s);
void co_state_release(co_state_t *s);

/* A short fingerprint of a HELLO's build text (never 0). */
uint64_t co_build_id(const char *build);

/* The identity of name, interned on first use; 0 when out of memory. */
co_ident_t co_state_intern(co_state_t *s, const char *name);
/* Sets the label logs show for who. */
void co_state_label_set(co_state_t *s, co_ident_t who, const char *label);
/* The identity of name if it is known, else 0. */
co_ident_t co_state_ident(const co_state_t *s, const char *name);
/* The text of an identity ("" for 0), as journaled; valid while s lives. */
const char *co_state_name(const co_state_t *s, co_ident_t who);
/* What logs call an identity: the name it last gave in HELLO, else its
 * text. */
const char *co_state_label(const co_state_t *s, co_ident_t who);

/* Lookups; NULL when absent. */
co_job_t *co_state_job(const co_state_t *s, const char *id);
co_job_t *co_state_job_by_token(const co_state_t *s, const char *owner, const char *token);
co_attempt_t *co_state_attempt(const co_state_t *s, uint64_t id);
co_session_t *co_state_session(const co_state_t *s, uint64_t serial);

/* Attempts session `serial` holds. */
uint32_t co_state_held(const co_state_t *s, uint64_t serial);
bool co_state_quarantined(const co_state_t *s, co_ident_t who);
/* Whether who is blocked for job j at time now. */
bool co_job_blocked(const co_job_t *j, co_ident_t who, double now);
/* Whether who already failed frame index i of j. */
bool co_job_failed_by(const co_job_t *j, int64_t i, co_ident_t who);
/* The first frame a worker evaluates for a chunk starting at frame a:
 * state_horizon frames before a (at least one, for a's motion); when the
 * horizon is unbounded, the nearest warm-up snapshot at or before a - 1,
 * else the timeline start. */
int64_t co_job_warmup_from(const co_job_t *j, int64_t a);
/* Frames neither done, failed nor running. */
int64_t co_job_pending(const co_job_t *j);
/* Every frame done and no audit open. */
bool co_job_complete(const co_job_t *j);

/* FRAME m's files as a manifest lists them (strings borrowed from m):
 * small when m has at most 64 files, else a calloc'ed array to free();
 * NULL when out of memory. */
lx_manifest_file_t *co_frame_files(const lx_msg_t *m, lx_manifest_file_t small[64]);

/* Checks a FRAME's files, camera and time against j's manifest (the
 * keys, names and hashes every frame must have), and records them when
 * `record`. LX_OK; LX_E_INVALID or LX_E_BADMSG with a message; LX_E_NOMEM. */
lx_result_t co_job_manifest_frame(co_job_t *j, const lx_msg_t *m, bool record, lx_error_t *err);

/* FRAME m as the journal keeps it (results.record): its encoding without
 * the files' bytes. LX_OK; LX_E_NOMEM; the encoder's errors. */
lx_result_t co_frame_record(const lx_msg_t *m, lx_strbuf_t *out, lx_error_t *err);

/* A job of program p (taken: *p_p is NULLed) and plan: frames all
 * pending, an empty manifest, the resolved config and the hashes. The
 * caller fills in ids, output and options. NULL with err on LX_E_NOMEM
 * (p_p is still taken). Free with co_job_free. */
co_job_t *co_job_new(lx_program_t **p_p, const lx_export_plan_t *plan, const char *out, bool audits,
                     lx_error_t *err);
void co_job_free(co_job_t **j_p);

/* Makes fresh job j (nothing pending yet handed out) render only frames
 * [a, b] of its plan: a shard, unless [a, b] is the plan's whole range.
 * LX_E_INVALID outside the plan; LX_E_NOMEM. */
lx_result_t co_job_slice(co_job_t *j, int64_t a, int64_t b, lx_error_t *err);

/* A job from stored forms: the program's IR bytes (decoded, verified and
 * hash-checked) and its resolved config (docs/export-format.md), planned
 * again. NULL with err: LX_E_BADMSG / LX_E_VERIFY (not a valid program),
 * LX_E_INVALID (the config does not plan), LX_E_NOMEM. */
co_job_t *co_job_load(const void *program, size_t program_len, const char *config, const char *out,
                      bool audits, lx_error_t *err);

#endif
