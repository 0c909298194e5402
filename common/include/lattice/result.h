/* Result codes and error context shared by every Lattice module.
 *
 * Every fallible function returns lx_result_t: LX_OK (0) or a negative code
 * from LX_RESULT_MAP. Functions that can say more take an lx_error_t * and
 * fill it through lx_fail(), which records a formatted message and returns
 * the code, so an error path is one line. */
#ifndef LATTICE_RESULT_H
#define LATTICE_RESULT_H

#include <stddef.h>

/* X(name, value, description) */
#define LX_RESULT_MAP(X)                                                       \
    X(LX_OK, 0, "success")                                                     \
    X(LX_E_NOMEM, -1, "out of memory")                                         \
    X(LX_E_IO, -2, "input/output error")                                       \
    X(LX_E_PARSE, -3, "malformed input")                                       \
    X(LX_E_INVALID, -4, "invalid argument")                                    \
    X(LX_E_DIAG, -5, "the patch has errors (see diagnostics)")                 \
    X(LX_E_LIMIT, -6, "a size limit was exceeded")                             \
    X(LX_E_VERIFY, -7, "program failed integrity verification")                \
    X(LX_E_BADMSG, -8, "malformed message")                                    \
    X(LX_E_NOTFOUND, -9, "not found")                                          \
    X(LX_E_INTERNAL, -10, "internal error")                                    \
    X(LX_E_CANCELLED, -11, "stopped before it was done")

typedef enum {
#define LX_X_ENUM(name, value, desc) name = value,
    LX_RESULT_MAP(LX_X_ENUM)
#undef LX_X_ENUM
} lx_result_t;

/* Human description of a code ("out of memory"); never NULL. */
const char *lx_strerror(lx_result_t code);
/* Symbolic name of a code ("LX_E_NOMEM"); never NULL. */
const char *lx_error_name(lx_result_t code);

/* Error context: the last failure's code and message. Zero-initialize it. */
typedef struct lx_error {
    lx_result_t code;
    char message[512];
} lx_error_t;

/* Records code and a printf-style message in err (which may be NULL) and
 * returns code. Use as: return lx_fail(err, LX_E_PARSE, "bad '%s'", name); */
lx_result_t lx_fail(lx_error_t *err, lx_result_t code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Programmer errors only (never input): aborts with file and line. */
#define LX_BUG(msg) lx_bug_abort(__FILE__, __LINE__, (msg))
_Noreturn void lx_bug_abort(const char *file, int line, const char *msg);

#endif
