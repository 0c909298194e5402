#include "lattice/result.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *lx_strerror(lx_result_t code)
{
    switch (code) {
#define LX_X_DESC(name, value, desc)                                           \
    case name:                                                                 \
        return desc;
        LX_RESULT_MAP(LX_X_DESC)
#undef LX_X_DESC
    }
    return "unknown error";
}

const char *lx_error_name(lx_result_t code)
{
    switch (code) {
#define LX_X_NAME(name, value, desc)                                           \
    case name:                                                                 \
        return #name;
        LX_RESULT_MAP(LX_X_NAME)
#undef LX_X_NAME
    }
    return "LX_E_UNKNOWN";
}

lx_result_t lx_fail(lx_error_t *err, lx_result_t code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void lx_bug_abort(const char *file, int line, const char *msg)
{
    fprintf(stderr, "lattice: internal error at %s:%d: %s\n", file, line, msg);
    abort();
}
