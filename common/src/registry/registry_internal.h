/* Helpers for the per-family block tables; internal to common/src/registry. */
#ifndef LATTICE_REGISTRY_INTERNAL_H
#define LATTICE_REGISTRY_INTERNAL_H

#include "lattice/registry.h"

#define LX_COUNT(a) ((uint8_t)(sizeof(a) / sizeof((a)[0])))

/* clang-format off: initializer macros, one a line */
/* Value input with a default (splatted for generic ports). */
#define IN(n, d, doc_, ...)                                                                        \
    {                                                                                              \
        .name = n, .domain = d, .worlds = LX_WM_VALUE, .def = {__VA_ARGS__}, .doc = doc_           \
    }
/* Value input restricted to a world mask, with a default. */
#define IN_W(n, d, w, doc_, ...)                                                                   \
    {                                                                                              \
        .name = n, .domain = d, .worlds = w, .def = {__VA_ARGS__}, .doc = doc_                     \
    }
/* Required value input (no default). */
#define IN_REQ(n, d, doc_)                                                                         \
    {                                                                                              \
        .name = n, .domain = d, .worlds = LX_WM_VALUE, .flags = LX_PORT_REQUIRED, .doc = doc_      \
    }
#define IN_REQ_W(n, d, w, doc_)                                                                    \
    {                                                                                              \
        .name = n, .domain = d, .worlds = w, .flags = LX_PORT_REQUIRED, .doc = doc_                \
    }
#define IN_DOMAIN(n, fl, doc_)                                                                     \
    {                                                                                              \
        .name = n, .domain = LX_D_DOMAIN, .worlds = LX_WM_SCALAR, .flags = fl, .doc = doc_         \
    }
#define IN_EVENT(n, fl, doc_)                                                                      \
    {                                                                                              \
        .name = n, .domain = LX_D_EVENT, .worlds = LX_WM_EVENT, .flags = fl, .doc = doc_           \
    }
#define OUT(n, d, r, doc_)                                                                         \
    {                                                                                              \
        .name = n, .domain = d, .rule = r, .doc = doc_                                             \
    }

#define P_NUM(n, req, d, lo, hi, doc_)                                                             \
    {                                                                                              \
        .name = n, .kind = LX_P_NUMBER, .required = req, .def = d, .min = lo, .max = hi,           \
        .doc = doc_                                                                                \
    }
#define P_INT(n, req, d, lo, hi, doc_)                                                             \
    {                                                                                              \
        .name = n, .kind = LX_P_INT, .required = req, .def = d, .min = lo, .max = hi, .doc = doc_  \
    }
#define P_ENUM(n, opts, doc_)                                                                      \
    {                                                                                              \
        .name = n, .kind = LX_P_ENUM, .options = opts, .doc = doc_                                 \
    }
#define P_KIND(n, k, req, doc_)                                                                    \
    {                                                                                              \
        .name = n, .kind = k, .required = req, .doc = doc_                                         \
    }

#define BLOCK(nm, fam, opc, fl, doc_, P, I, O)                                                     \
    {                                                                                              \
        .name = nm, .family = fam, .doc = doc_, .op = LX_OP_##opc, .flags = fl, .params = P,       \
        .n_params = P##_n, .inputs = I, .n_inputs = I##_n, .outputs = O, .n_outputs = O##_n        \
    }
/* clang-format on */

/* Declares a table and its element count for BLOCK(). */
#define TABLE(type, name, ...)                                                                     \
    static const type name[] = {__VA_ARGS__};                                                      \
    enum { name##_n = LX_COUNT(name) }
/* For blocks without parameters, inputs or outputs. */
#define NOPARAMS NULL
#define NOINPUTS NULL
#define NOOUTPUTS NULL
enum { NOPARAMS_n = 0, NOINPUTS_n = 0, NOOUTPUTS_n = 0 };

typedef struct lx_block_family {
    const lx_block_def_t *defs;
    size_t count;
} lx_block_family_t;

extern const lx_block_family_t lx_blocks_time, lx_blocks_math, lx_blocks_state, lx_blocks_event,
    lx_blocks_field, lx_blocks_shape, lx_blocks_render, lx_blocks_audio, lx_blocks_internal;

#define FAMILY(var, table) const lx_block_family_t var = {table, sizeof(table) / sizeof(table[0])}

#endif
