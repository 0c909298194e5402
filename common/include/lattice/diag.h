/* Diagnostics: every problem found in a patch, reported together.
 *
 * A diagnostic has a stable code (PT-0xx patch structure, TY-1xx types,
 * TR-00x time roots, BU-2xx buses, FB-30x feedback, CO-4xx composites,
 * EX-5xx export capability, AU-6xx audio), a severity, a one-line title from the code
 * table, a message naming the subject, locations and an optional help line.
 * All strings live in the list's arena. */
#ifndef LATTICE_DIAG_H
#define LATTICE_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include "lattice/alloc.h"
#include "lattice/strbuf.h"

/* X(id, code, severity, title) */
#define LX_DIAG_MAP(X)                                                                     \
    X(PT_001, "PT-001", ERROR, "invalid JSON")                                             \
    X(PT_002, "PT-002", ERROR, "unsupported patch format")                                 \
    X(PT_003, "PT-003", ERROR, "missing required field")                                   \
    X(PT_004, "PT-004", ERROR, "unknown field")                                            \
    X(PT_005, "PT-005", ERROR, "wrong JSON type")                                          \
    X(PT_006, "PT-006", ERROR, "invalid id")                                               \
    X(PT_007, "PT-007", ERROR, "duplicate block id")                                       \
    X(PT_008, "PT-008", ERROR, "unknown block type")                                       \
    X(PT_009, "PT-009", ERROR, "reference to an unknown block")                            \
    X(PT_010, "PT-010", ERROR, "reference to an unknown port")                             \
    X(PT_011, "PT-011", ERROR, "malformed port reference")                                 \
    X(PT_012, "PT-012", ERROR, "unknown parameter")                                        \
    X(PT_013, "PT-013", ERROR, "invalid parameter value")                                  \
    X(PT_014, "PT-014", ERROR, "missing required parameter")                               \
    X(PT_015, "PT-015", ERROR, "invalid literal")                                          \
    X(PT_016, "PT-016", ERROR, "invalid output settings")                                  \
    X(PT_017, "PT-017", ERROR, "duplicate edge")                                           \
    X(PT_018, "PT-018", ERROR, "invalid lens")                                             \
    X(PT_019, "PT-019", ERROR, "invalid combine mode")                                     \
    X(PT_020, "PT-020", ERROR, "patch too large")                                          \
    X(PT_021, "PT-021", ERROR, "input has both a literal and a writer")                    \
    X(TY_101, "TY-101", ERROR, "incompatible types")                                       \
    X(TY_102, "TY-102", ERROR, "type not accepted by a generic port")                      \
    X(TY_103, "TY-103", ERROR, "conflicting generic types")                                \
    X(TY_104, "TY-104", ERROR, "unresolved generic type")                                  \
    X(TY_105, "TY-105", ERROR, "literal does not fit the port type")                       \
    X(TY_110, "TY-110", ERROR, "event and value ports mixed")                              \
    X(TY_111, "TY-111", ERROR, "field into a signal-only port")                            \
    X(TY_112, "TY-112", ERROR, "fields over different domains mixed")                      \
    X(TY_113, "TY-113", ERROR, "field over the wrong domain")                              \
    X(TY_114, "TY-114", ERROR, "input must be a compile-time constant")                    \
    X(TY_115, "TY-115", ERROR, "required input not connected")                             \
    X(TY_116, "TY-116", ERROR, "several writers without a combine mode")                   \
    X(TY_117, "TY-117", ERROR, "combine mode not valid for the type")                      \
    X(TR_001, "TR-001", ERROR, "no time root")                                             \
    X(TR_002, "TR-002", ERROR, "several time roots")                                       \
    X(TR_003, "TR-003", ERROR, "time root settings take literals only")                    \
    X(TR_004, "TR-004", ERROR, "time root inside a composite")                             \
    X(BU_201, "BU-201", ERROR, "bus name reuses a reserved rail")                          \
    X(BU_202, "BU-202", ERROR, "duplicate bus name")                                       \
    X(BU_203, "BU-203", ERROR, "unknown bus")                                              \
    X(BU_204, "BU-204", ERROR, "rail accepts only the time root as publisher")             \
    X(BU_205, "BU-205", ERROR, "combine mode not valid for the bus type")                  \
    X(BU_206, "BU-206", ERROR, "invalid bus type")                                         \
    X(BU_207, "BU-207", ERROR, "bus default does not fit the bus type")                    \
    X(BU_208, "BU-208", ERROR, "rail not provided by this time root")                      \
    X(FB_301, "FB-301", ERROR, "illegal feedback")                                         \
    X(FB_302, "FB-302", ERROR, "partial buffering")                                        \
    X(FB_303, "FB-303", WARNING, "integrating state in a finite or cyclic patch")          \
    X(CO_401, "CO-401", ERROR, "recursive composite")                                      \
    X(CO_402, "CO-402", ERROR, "composites nested too deeply")                             \
    X(CO_403, "CO-403", ERROR, "composite port maps to an unknown inner port")             \
    X(CO_404, "CO-404", ERROR, "composite type name already taken")                        \
    X(EX_501, "EX-501", WARNING, "the patch renders nothing")                              \
    X(EX_502, "EX-502", ERROR, "several cameras")                                          \
    X(EX_503, "EX-503", WARNING, "frames per cycle is not exact")                          \
    X(EX_504, "EX-504", ERROR, "invalid export setting")                                   \
    X(EX_505, "EX-505", ERROR, "unknown export setting")                                   \
    X(EX_506, "EX-506", ERROR, "infinite timeline needs a frame range")                    \
    X(EX_507, "EX-507", ERROR, "too many instances for the id artifact")                   \
    X(EX_508, "EX-508", WARNING, "cyclic export will not close")                           \
    X(EX_509, "EX-509", ERROR, "frames past the end of the timeline")                      \
    X(EX_510, "EX-510", WARNING, "frame count is not 4n+1 for the Wan preset")             \
    X(EX_511, "EX-511", ERROR, "too many track points")                                    \
    X(EX_512, "EX-512", ERROR, "too many frames for the video target")                     \
    X(AU_601, "AU-601", ERROR, "audio file cannot be read")                                \
    X(AU_602, "AU-602", ERROR, "audio file cannot be decoded")                             \
    X(AU_603, "AU-603", ERROR, "audio feature without an audio file")

typedef enum {
#define LX_X_DIAG_ENUM(id, code, sev, title) LX_DC_##id,
    LX_DIAG_MAP(LX_X_DIAG_ENUM)
#undef LX_X_DIAG_ENUM
        LX_DC__COUNT
} lx_dcode_t;

typedef enum { LX_SEV_ERROR, LX_SEV_WARNING } lx_severity_t;

typedef enum {
    LX_LOC_BLOCK, /* a = block id */
    LX_LOC_PORT,  /* a = block id, b = port */
    LX_LOC_BUS,   /* a = bus name */
    LX_LOC_EDGE,  /* a = from "block.port", b = to "block.port" */
    LX_LOC_CYCLE, /* nodes = block ids around the cycle */
    LX_LOC_JSON,  /* a = JSON pointer */
} lx_loc_kind_t;

typedef struct lx_loc {
    lx_loc_kind_t kind;
    const char *a, *b;
    const char **nodes;
    size_t n_nodes;
} lx_loc_t;

typedef struct lx_diag {
    lx_dcode_t code;
    lx_severity_t severity;
    const char *message;
    const char *help;    /* NULL when none */
    const char *details; /* NULL when none */
    lx_loc_t *locs;
    size_t n_locs, cap_locs;
} lx_diag_t;

typedef struct lx_diags {
    lx_arena_t arena;
    lx_diag_t *items;
    size_t count, cap;
    size_t n_errors, n_warnings;
    bool failed; /* an allocation failed: the list is incomplete */
    size_t max;  /* stop recording after this many (0 = 1000) */
} lx_diags_t;

void lx_diags_init(lx_diags_t *d, const lx_alloc_t *alloc);
void lx_diags_release(lx_diags_t *d);

/* The code's fixed text ("PT-001"), title and default severity. */
const char *lx_dcode_str(lx_dcode_t code);
const char *lx_dcode_title(lx_dcode_t code);
lx_severity_t lx_dcode_severity(lx_dcode_t code);

/* Adds a diagnostic with the code's severity. Returns it, for adding
 * locations and help, or NULL when out of memory or over the limit (the
 * lx_diag_* helpers accept NULL). */
lx_diag_t *lx_diags_add(lx_diags_t *d, lx_dcode_t code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void lx_diag_help(lx_diags_t *d, lx_diag_t *dg, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Location helpers copy their strings into the list's arena. */
void lx_diag_at_block(lx_diags_t *d, lx_diag_t *dg, const char *block);
void lx_diag_at_port(lx_diags_t *d, lx_diag_t *dg, const char *block, const char *port);
void lx_diag_at_bus(lx_diags_t *d, lx_diag_t *dg, const char *bus);
void lx_diag_at_edge(lx_diags_t *d, lx_diag_t *dg, const char *from, const char *to);
void lx_diag_at_json(lx_diags_t *d, lx_diag_t *dg, const char *pointer);
void lx_diag_at_cycle(lx_diags_t *d, lx_diag_t *dg, const char *const *nodes, size_t n);

/* True when the list records no more diagnostics (they are still counted):
 * callers may skip the work of describing one. */
bool lx_diags_full(const lx_diags_t *d);

/* True when some diagnostic with this code was recorded. */
bool lx_diags_has(const lx_diags_t *d, lx_dcode_t code);

/* Renders like a compiler: "FILE: LOCATION: error[PT-008]: message" plus
 * an indented help line, one diagnostic after another, and a summary. */
void lx_diags_format_text(const lx_diags_t *d, const char *file, lx_strbuf_t *out);
/* Renders the structured list as a JSON array (see docs/patch-format.md). */
void lx_diags_format_json(const lx_diags_t *d, lx_strbuf_t *out);

/* The candidate name most likely meant, for "did you mean" hints; NULL
 * when nothing is close. Case is ignored. The Levenshtein-nearest within a
 * small distance (1 for names up to 3 bytes, 2 up to 8, else 3) wins;
 * otherwise a candidate that is a prefix of name or has name as a prefix
 * (at least 3 bytes in common: "Rectangle" -> "Rect", "osc" ->
 * "Oscillator"), the closest in length. The first of equals wins. */
const char *lx_suggest(const char *name, const char *const *candidates, size_t n);

#endif
