/* Port types (world<domain>) and literal values.
 *
 * A value of domain D occupies lx_domain_stride(D) doubles at runtime:
 * number/int/bool/phase/time 1, vec2 2, vec3 3, color 4 (linear RGBA),
 * shape 4 ([kind, a, b, c], see lx_shape_kind_t). The domain "domain" is an
 * instance set, resolved at compile time; it has no runtime value. */
#ifndef LATTICE_TYPES_H
#define LATTICE_TYPES_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    LX_W_SCALAR = 0, /* compile time: evaluated once per program instance */
    LX_W_SIGNAL = 1, /* once per frame */
    LX_W_FIELD = 2,  /* once per element of an instance domain */
    LX_W_EVENT = 3,  /* a per-frame trigger */
} lx_world_t;

enum { LX_WM_SCALAR = 1, LX_WM_SIGNAL = 2, LX_WM_FIELD = 4, LX_WM_EVENT = 8 };
#define LX_WM_VALUE (LX_WM_SCALAR | LX_WM_SIGNAL | LX_WM_FIELD)
#define LX_WM_NOFIELD (LX_WM_SCALAR | LX_WM_SIGNAL)

typedef enum {
    LX_D_NONE = 0,
    LX_D_NUMBER,
    LX_D_INT,
    LX_D_BOOL,
    LX_D_PHASE,
    LX_D_TIME,
    LX_D_VEC2,
    LX_D_VEC3,
    LX_D_COLOR,
    LX_D_SHAPE,
    LX_D_DOMAIN,
    LX_D_EVENT,   /* the domain of event ports */
    LX_D_GENERIC, /* a port whose domain is the block's type variable */
    LX_D__COUNT
} lx_domain_t;

typedef enum {
    LX_SHAPE_RECT = 1, /* a = width, b = height */
    LX_SHAPE_ELLIPSE,  /* a = rx, b = ry */
    LX_SHAPE_POLYGON,  /* a = sides, b = radius */
    LX_SHAPE_STAR,     /* a = points, b = outer, c = inner */
    LX_SHAPE_PATH,     /* a = path table index, b = scale */
    LX_SHAPE_SPHERE,   /* a = radius */
    LX_SHAPE_BOX,      /* a, b, c = size */
    LX_SHAPE_PLANE,    /* a = width, b = height */
} lx_shape_kind_t;

const char *lx_world_name(lx_world_t w);
const char *lx_domain_name(lx_domain_t d);
/* Parses a domain name ("vec3"); LX_D_NONE when unknown. */
lx_domain_t lx_domain_parse(const char *name);
/* Doubles per value (0 for domain/none/generic). */
unsigned lx_domain_stride(lx_domain_t d);
/* number, vec2, vec3, color: the domains a generic port accepts. */
bool lx_domain_is_arith(lx_domain_t d);
/* Implicit conversion allowed from a writer of domain `from` to a reader
 * of domain `to`: equal, or int/phase/time -> number. */
bool lx_domain_converts(lx_domain_t from, lx_domain_t to);

/* A literal from the patch: a JSON number, bool, or array of 2-4 numbers. */
typedef enum { LX_LIT_NUMBER, LX_LIT_BOOL, LX_LIT_VEC2, LX_LIT_VEC3, LX_LIT_VEC4 } lx_lit_kind_t;

typedef struct lx_literal {
    lx_lit_kind_t kind;
    double v[4];
} lx_literal_t;

/* The domain a literal has on its own (number, bool, vec2, vec3, color). */
lx_domain_t lx_literal_domain(const lx_literal_t *lit);
/* True when a literal may stand for a value of `domain`: its own domain,
 * or a number for int (whole), phase (in [0, 1)) and time. */
bool lx_literal_fits(const lx_literal_t *lit, lx_domain_t domain);

#endif
