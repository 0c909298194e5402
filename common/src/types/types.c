#include "lattice/types.h"

#include <math.h>
#include <string.h>

static const char *const s_domain_names[LX_D__COUNT] = {
    "none", "number", "int",   "bool",   "phase", "time", "vec2",
    "vec3", "color",  "shape", "domain", "event", "*",
};

const char *lx_world_name(lx_world_t w)
{
    static const char *const names[] = {"scalar", "signal", "field", "event"};
    return (unsigned)w < 4 ? names[w] : "?";
}

const char *lx_domain_name(lx_domain_t d)
{
    return (unsigned)d < LX_D__COUNT ? s_domain_names[d] : "?";
}

lx_domain_t lx_domain_parse(const char *name)
{
    for (int d = LX_D_NUMBER; d <= LX_D_DOMAIN; d++)
        if (strcmp(name, s_domain_names[d]) == 0)
            return (lx_domain_t)d;
    return LX_D_NONE;
}

unsigned lx_domain_stride(lx_domain_t d)
{
    switch (d) {
    case LX_D_NUMBER:
    case LX_D_INT:
    case LX_D_BOOL:
    case LX_D_PHASE:
    case LX_D_TIME:
    case LX_D_EVENT:
        return 1;
    case LX_D_VEC2:
        return 2;
    case LX_D_VEC3:
        return 3;
    case LX_D_COLOR:
    case LX_D_SHAPE:
        return 4;
    default:
        return 0;
    }
}

bool lx_domain_is_arith(lx_domain_t d)
{
    return d == LX_D_NUMBER || d == LX_D_VEC2 || d == LX_D_VEC3 || d == LX_D_COLOR;
}

bool lx_domain_converts(lx_domain_t from, lx_domain_t to)
{
    if (from == to)
        return true;
    return to == LX_D_NUMBER && (from == LX_D_INT || from == LX_D_PHASE || from == LX_D_TIME);
}

lx_domain_t lx_literal_domain(const lx_literal_t *lit)
{
    switch (lit->kind) {
    case LX_LIT_NUMBER:
        return LX_D_NUMBER;
    case LX_LIT_BOOL:
        return LX_D_BOOL;
    case LX_LIT_VEC2:
        return LX_D_VEC2;
    case LX_LIT_VEC3:
        return LX_D_VEC3;
    case LX_LIT_VEC4:
        return LX_D_COLOR;
    }
    return LX_D_NONE;
}

bool lx_literal_fits(const lx_literal_t *lit, lx_domain_t domain)
{
    lx_domain_t ld = lx_literal_domain(lit);
    double v = lit->v[0];
    switch (domain) {
    case LX_D_INT:
        return ld == LX_D_NUMBER && v == floor(v) && fabs(v) <= 9007199254740992.0;
    case LX_D_PHASE:
        return ld == LX_D_NUMBER && v >= 0 && v < 1;
    case LX_D_TIME:
        return ld == LX_D_NUMBER;
    default:
        return ld == domain;
    }
}
