/* Cluster messages <-> msgpack (docs/protocol.md).
 *
 * Every message is one msgpack map {proto: 1, type: "NAME", field: value,
 * ...}. The message set is defined once, here, by three tables:
 *
 *   LX_MSG_FIELDS   every field any message may carry: name, kind, limit;
 *   LX_MSG_TYPES    every message: which fields it may and must carry;
 *   LX_*_REC_FIELDS the records carried in arrays (files, jobs, workers).
 *
 * The encoder, the decoder, validation, docs/protocol.md's tables and the
 * round-trip tests are all driven by these tables, so they cannot drift
 * apart. A field is present when its bit is set in `has` (LX_MSG_SET). */
#ifndef LATTICE_MSG_H
#define LATTICE_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "lattice/alloc.h"
#include "lattice/result.h"
#include "lattice/strbuf.h"

#define LX_PROTO_VERSION 1u
/* Largest message accepted or produced (ZMQ_MAXMSGSIZE on every socket). */
#define LX_MSG_MAX_BYTES (512u << 20)
/* Largest artifact file carried in a FRAME (stream mode) and largest program. */
#define LX_MSG_MAX_BIN (256u << 20)

/* Field kinds. Limits: STR/ID/PATH/BIN at most `max` bytes; HEX exactly
 * `max` lowercase hex digits; U64 at most max; I64 within [-max, max];
 * lists and records at most max elements. */
typedef enum {
    LX_FK_U64,  /* unsigned integer */
    LX_FK_I64,  /* signed integer */
    LX_FK_F64,  /* float (float32, float64 or an integer on the wire; float64 when we write) */
    LX_FK_BOOL, /* true / false */
    LX_FK_STR,  /* UTF-8 text without NUL */
    LX_FK_ID,   /* 1..max of [A-Za-z0-9._-], not "." or ".." (ids may become file names) */
    LX_FK_HEX,  /* exactly max of [0-9a-f] */
    LX_FK_PATH, /* relative path: components of [A-Za-z0-9._-] joined by '/', no "." or ".." */
    LX_FK_BIN,  /* bytes */
    LX_FK_I64S, /* array of signed integers */
    LX_FK_U64S, /* array of unsigned integers */
    LX_FK_F64S, /* array of floats */
    LX_FK_RECS, /* array of maps, described by a record table */
} lx_field_kind_t;

/* Borrowed byte views into the decoded buffer, and decoded lists. */
typedef struct lx_bytes { const uint8_t *data; size_t len; } lx_bytes_t;
typedef struct lx_i64s { int64_t *v; uint32_t n; } lx_i64s_t;
typedef struct lx_u64s { uint64_t *v; uint32_t n; } lx_u64s_t;
typedef struct lx_f64s { double *v; uint32_t n; } lx_f64s_t;

/* X(member, kind, C type, max, record) — record is the record table's name
 * for LX_FK_RECS and `none` otherwise. */
#define LX_FILE_REC_FIELDS(X)                                                                      \
    X(key, LX_FK_PATH, const char *, 200, none)     /* "rgba", "mask/cards" */                   \
    X(name, LX_FK_PATH, const char *, 64, none)     /* "frame_000012.png" */                     \
    X(hash, LX_FK_HEX, const char *, 64, none)      /* SHA-256 of the file bytes */              \
    X(content, LX_FK_HEX, const char *, 32, none)   /* XXH3-128 of the canonical raw buffer */   \
    X(bytes, LX_FK_BIN, lx_bytes_t, LX_MSG_MAX_BIN, none) /* stream mode: the file */
#define LX_FILE_REC_REQUIRED (LX_FILE_REC_BIT(key) | LX_FILE_REC_BIT(name) | \
                              LX_FILE_REC_BIT(hash) | LX_FILE_REC_BIT(content))

#define LX_JOB_REC_FIELDS(X)                                                                       \
    X(job, LX_FK_ID, const char *, 64, none)                                                       \
    X(state, LX_FK_ID, const char *, 16, none) /* queued running done failed cancelled */         \
    X(project, LX_FK_STR, const char *, 256, none)                                                 \
    X(out, LX_FK_STR, const char *, 4096, none)                                                    \
    X(output, LX_FK_ID, const char *, 8, none) /* shared | stream */                               \
    X(first, LX_FK_I64, int64_t, INT64_MAX, none)                                                  \
    X(last, LX_FK_I64, int64_t, INT64_MAX, none)                                                   \
    X(total, LX_FK_U64, uint64_t, UINT64_MAX, none)                                                \
    X(done, LX_FK_U64, uint64_t, UINT64_MAX, none)                                                 \
    X(running, LX_FK_U64, uint64_t, UINT64_MAX, none)  /* frames assigned, not yet done */         \
    X(failed, LX_FK_U64, uint64_t, UINT64_MAX, none)                                               \
    X(workers, LX_FK_U64, uint64_t, UINT64_MAX, none)  /* workers with an attempt of the job */    \
    X(program_hash, LX_FK_HEX, const char *, 64, none)                                             \
    X(elapsed_ms, LX_FK_F64, double, 0, none)                                                      \
    X(error, LX_FK_STR, const char *, 65536, none)                                                 \
    X(late, LX_FK_U64, uint64_t, UINT64_MAX, none)   /* results of superseded attempts (evidence) */ \
    X(waiting, LX_FK_STR, const char *, 4096, none)  /* why no frame can be assigned now */   \
    X(audited, LX_FK_U64, uint64_t, UINT64_MAX, none) /* frames an audit confirmed */            \
    X(disputed, LX_FK_U64, uint64_t, UINT64_MAX, none) /* audits that disagreed */
#define LX_JOB_REC_REQUIRED (LX_JOB_REC_BIT(job) | LX_JOB_REC_BIT(state))

#define LX_WORKER_REC_FIELDS(X)                                                                    \
    X(name, LX_FK_STR, const char *, 128, none)                                                    \
    X(build, LX_FK_STR, const char *, 256, none)                                                   \
    X(threads, LX_FK_U64, uint64_t, 1024, none)                                                    \
    X(state, LX_FK_ID, const char *, 16, none) /* idle busy draining */                           \
    X(job, LX_FK_ID, const char *, 64, none)                                                       \
    X(attempt, LX_FK_U64, uint64_t, UINT64_MAX, none)                                              \
    X(frames, LX_FK_U64, uint64_t, UINT64_MAX, none) /* frames rendered in this session */        \
    X(seen_ms, LX_FK_F64, double, 0, none)           /* ms since its last message */          \
    X(blocked, LX_FK_STR, const char *, 65536, none) /* jobs it is blocked for, comma-separated */
#define LX_WORKER_REC_REQUIRED (LX_WORKER_REC_BIT(name) | LX_WORKER_REC_BIT(state))

/* Every message field. */
#define LX_MSG_FIELDS(X)                                                                           \
    X(name, LX_FK_STR, const char *, 128, none)                                                    \
    X(build, LX_FK_STR, const char *, 256, none)                                                   \
    X(threads, LX_FK_U64, uint64_t, 1024, none)                                                    \
    X(resumed, LX_FK_U64S, lx_u64s_t, 1024, none)                                                  \
    X(credit, LX_FK_U64, uint64_t, 64, none)                                                       \
    X(program_hash, LX_FK_HEX, const char *, 64, none)                                             \
    X(program, LX_FK_BIN, lx_bytes_t, LX_MSG_MAX_BIN, none)                                        \
    X(job, LX_FK_ID, const char *, 64, none)                                                       \
    X(attempt, LX_FK_U64, uint64_t, UINT64_MAX, none)                                              \
    X(config, LX_FK_STR, const char *, 1u << 20, none)                                             \
    X(config_hash, LX_FK_HEX, const char *, 64, none)                                              \
    X(frames, LX_FK_I64S, lx_i64s_t, 65536, none)                                                  \
    X(warmup_from, LX_FK_I64, int64_t, INT64_MAX, none)                                            \
    X(output, LX_FK_ID, const char *, 8, none)                                                     \
    X(out, LX_FK_STR, const char *, 4096, none)                                                    \
    X(frame, LX_FK_I64, int64_t, INT64_MAX, none)                                                  \
    X(render_ms, LX_FK_F64, double, 0, none)                                                       \
    X(t_ms, LX_FK_F64, double, 0, none)                                                            \
    X(camera, LX_FK_F64S, lx_f64s_t, 17, none)                                                     \
    X(files, LX_FK_RECS, lx_file_recs_t, 4096, file)                                               \
    X(reason, LX_FK_ID, const char *, 32, none)                                                    \
    X(code, LX_FK_ID, const char *, 32, none)                                                      \
    X(message, LX_FK_STR, const char *, 65536, none)                                               \
    X(token, LX_FK_STR, const char *, 128, none)                                                   \
    X(patch, LX_FK_STR, const char *, 64u << 20, none)                                             \
    X(source, LX_FK_STR, const char *, 4096, none)                                                 \
    X(artifacts, LX_FK_STR, const char *, 256, none)                                               \
    X(chunk, LX_FK_U64, uint64_t, 100000, none)                                                    \
    X(force, LX_FK_BOOL, bool, 0, none)                                                            \
    X(replace, LX_FK_BOOL, bool, 0, none) /* SUBMIT: remove another export in out first */        \
    X(shard, LX_FK_I64S, lx_i64s_t, 2, none) /* SUBMIT: render frames [a, b] of the export only */ \
    X(progress_timeout_ms, LX_FK_U64, uint64_t, 86400000, none)                                    \
    X(only, LX_FK_STR, const char *, 64, none)                                                     \
    X(audit_rate, LX_FK_F64, double, 0, none)   /* SUBMIT: share of frames audited, 0..1 */        \
    X(audit, LX_FK_BOOL, bool, 0, none)         /* ASSIGN: render to compare only: no files */     \
    X(snapshot, LX_FK_BIN, lx_bytes_t, LX_MSG_MAX_BIN, none) /* ASSIGN: state at warmup_from */   \
    X(jobs, LX_FK_RECS, lx_job_recs_t, 100000, job)                                                \
    X(workers, LX_FK_RECS, lx_worker_recs_t, 100000, worker)

/* Field indices and bits. */
enum {
#define LX_X(m, k, t, max, rec) LX_MF_##m,
    LX_MSG_FIELDS(LX_X) LX_MF_COUNT_
#undef LX_X
};
enum {
#define LX_X(m, k, t, max, rec) LX_FRF_##m,
    LX_FILE_REC_FIELDS(LX_X) LX_FRF_COUNT_
#undef LX_X
};
enum {
#define LX_X(m, k, t, max, rec) LX_JRF_##m,
    LX_JOB_REC_FIELDS(LX_X) LX_JRF_COUNT_
#undef LX_X
};
enum {
#define LX_X(m, k, t, max, rec) LX_WRF_##m,
    LX_WORKER_REC_FIELDS(LX_X) LX_WRF_COUNT_
#undef LX_X
};
#define LX_MSG_BIT(m) (1ull << LX_MF_##m)
#define LX_FILE_REC_BIT(m) (1ull << LX_FRF_##m)
#define LX_JOB_REC_BIT(m) (1ull << LX_JRF_##m)
#define LX_WORKER_REC_BIT(m) (1ull << LX_WRF_##m)

#define LX_X_MEMBER(m, k, t, max, rec) t m;
typedef struct lx_file_rec {
    uint64_t has;
    LX_FILE_REC_FIELDS(LX_X_MEMBER)
} lx_file_rec_t;
typedef struct lx_job_rec {
    uint64_t has;
    LX_JOB_REC_FIELDS(LX_X_MEMBER)
} lx_job_rec_t;
typedef struct lx_worker_rec {
    uint64_t has;
    LX_WORKER_REC_FIELDS(LX_X_MEMBER)
} lx_worker_rec_t;
typedef struct lx_file_recs { lx_file_rec_t *v; uint32_t n; } lx_file_recs_t;
typedef struct lx_job_recs { lx_job_rec_t *v; uint32_t n; } lx_job_recs_t;
typedef struct lx_worker_recs { lx_worker_rec_t *v; uint32_t n; } lx_worker_recs_t;

/* X(TYPE, fields it may carry, fields it must carry). */
#define LX_F(m) LX_MSG_BIT(m)
#define LX_MSG_TYPES(X)                                                                            \
    /* worker -> coordinator */                                                                    \
    X(HELLO, LX_F(name) | LX_F(build) | LX_F(threads) | LX_F(resumed),                             \
      LX_F(name) | LX_F(build) | LX_F(threads))                                                    \
    X(READY, LX_F(credit), LX_F(credit))                                                           \
    X(PROGRAM_GET, LX_F(program_hash), LX_F(program_hash))                                         \
    X(FRAME,                                                                                       \
      LX_F(job) | LX_F(attempt) | LX_F(frame) | LX_F(render_ms) | LX_F(t_ms) | LX_F(camera) |      \
          LX_F(files),                                                                             \
      LX_F(job) | LX_F(attempt) | LX_F(frame) | LX_F(render_ms) | LX_F(t_ms) | LX_F(camera) |      \
          LX_F(files))                                                                             \
    X(CHUNK_DONE, LX_F(job) | LX_F(attempt), LX_F(job) | LX_F(attempt))                            \
    X(CHUNK_FAIL, LX_F(job) | LX_F(attempt) | LX_F(reason) | LX_F(message),                        \
      LX_F(job) | LX_F(attempt) | LX_F(reason))                                                    \
    X(GOODBYE, 0, 0)                                                                               \
    /* coordinator -> worker */                                                                    \
    X(PROGRAM, LX_F(program_hash) | LX_F(program), LX_F(program_hash) | LX_F(program))             \
    X(ASSIGN,                                                                                      \
      LX_F(job) | LX_F(attempt) | LX_F(program_hash) | LX_F(config) | LX_F(config_hash) |          \
          LX_F(frames) | LX_F(warmup_from) | LX_F(output) | LX_F(out) | LX_F(audit) |              \
          LX_F(snapshot),                                                                          \
      LX_F(job) | LX_F(attempt) | LX_F(program_hash) | LX_F(config) | LX_F(config_hash) |          \
          LX_F(frames) | LX_F(warmup_from) | LX_F(output))                                         \
    X(ACK, LX_F(job) | LX_F(attempt) | LX_F(frames), LX_F(job) | LX_F(attempt) | LX_F(frames))     \
    X(CANCEL, LX_F(job) | LX_F(attempt), LX_F(attempt))                                            \
    /* both ways */                                                                                \
    X(HEARTBEAT, 0, 0)                                                                             \
    X(ERROR, LX_F(code) | LX_F(message) | LX_F(job) | LX_F(attempt), LX_F(code) | LX_F(message))  \
    /* client -> coordinator */                                                                    \
    X(SUBMIT,                                                                                      \
      LX_F(token) | LX_F(patch) | LX_F(program) | LX_F(source) | LX_F(config) | LX_F(out) |        \
          LX_F(frames) | LX_F(artifacts) | LX_F(chunk) | LX_F(output) | LX_F(force) |              \
          LX_F(replace) | LX_F(shard) | LX_F(progress_timeout_ms) | LX_F(audit_rate),              \
      LX_F(token) | LX_F(out))                                                                     \
    X(STATUS, LX_F(job), 0)                                                                        \
    X(WATCH, LX_F(job), LX_F(job))                                                                 \
    X(CANCEL_JOB, LX_F(job), LX_F(job))                                                            \
    X(RERENDER, LX_F(job) | LX_F(only) | LX_F(frames), LX_F(job))                                  \
    X(WORKERS, 0, 0)                                                                               \
    /* coordinator -> client */                                                                    \
    X(JOBS, LX_F(jobs), LX_F(jobs))                                                                \
    X(WORKER_LIST, LX_F(workers), LX_F(workers))

typedef enum {
    LX_MSG_NONE = 0,
#define LX_X(name, may, must) LX_MSG_##name,
    LX_MSG_TYPES(LX_X)
#undef LX_X
    LX_MSG_TYPE_COUNT_
} lx_msg_type_t;

/* A decoded or to-be-encoded message. Zero-initialize, set type, then
 * fields with LX_MSG_SET. Strings are NUL-terminated; after decoding they
 * live in the arena given to lx_msg_decode, while bins (program, file
 * bytes) point into the decoded buffer, which must outlive the message. */
typedef struct lx_msg {
    lx_msg_type_t type;
    uint64_t has; /* LX_MSG_BIT of each present field */
    LX_MSG_FIELDS(LX_X_MEMBER)
} lx_msg_t;

#define LX_MSG_SET(msg, m, value) ((msg)->m = (value), (msg)->has |= LX_MSG_BIT(m))
#define LX_MSG_HAS(msg, m) (((msg)->has & LX_MSG_BIT(m)) != 0)
#define LX_REC_SET(rec, kind, m, value) ((rec)->m = (value), (rec)->has |= kind##_BIT(m))

/* "HELLO" for LX_MSG_HELLO; "?" for anything else. */
const char *lx_msg_type_name(lx_msg_type_t type);

/* Appends the encoded message to out: a map with proto and type first,
 * then the present fields in table order (deterministic bytes). Refuses
 * what lx_msg_decode would refuse (LX_E_INVALID with the field named): a
 * field the type may not carry, a missing required field, a value over its
 * limit. On failure nothing is appended. LX_E_NOMEM, LX_E_LIMIT. */
lx_result_t lx_msg_encode(const lx_msg_t *m, lx_strbuf_t *out, lx_error_t *err);

/* Decodes one message of len bytes into *out (zeroed first). Checks every
 * length against the bytes left and the field's limit before allocating;
 * unknown keys are skipped (nesting depth at most 8), duplicate keys, a
 * wrong proto, an unknown type, fields the type may not carry, missing
 * required fields and values over their limits are refused. LX_E_BADMSG
 * (with the field in err), LX_E_LIMIT, LX_E_NOMEM. */
lx_result_t lx_msg_decode(const void *data, size_t len, lx_arena_t *arena, lx_msg_t *out,
                          lx_error_t *err);

/* The tables, for documentation and tests: one row per field. */
typedef struct lx_field_desc {
    const char *name;
    lx_field_kind_t kind;
    uint64_t max;
    size_t offset;                    /* of the member in its struct */
    const struct lx_rec_desc *record; /* LX_FK_RECS */
} lx_field_desc_t;

typedef struct lx_rec_desc {
    const char *name; /* "file", "job", "worker", "message" */
    const lx_field_desc_t *fields;
    uint32_t n_fields;
    size_t size;       /* of the C struct */
    uint64_t required; /* records only; messages use lx_msg_type_fields */
} lx_rec_desc_t;

/* The message field table (name "message"). */
const lx_rec_desc_t *lx_msg_fields(void);
/* Which fields a type may and must carry; false for an unknown type. */
bool lx_msg_type_fields(lx_msg_type_t type, uint64_t *may, uint64_t *must);

#endif
