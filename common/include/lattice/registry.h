/* The block registry: every block type's signature, parameters and
 * defaults, defined once. The compiler, the IR verifier, `lattice blocks`
 * and docs/blocks.md all read it, so they cannot drift apart.
 *
 * The tables are immutable constants (one file per family under
 * common/src/registry/); lookups are thread-safe. They depend on nothing
 * but the port types and the op codes, so everything above them (the IR
 * verifier included) may read them. */
#ifndef LATTICE_REGISTRY_H
#define LATTICE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lattice/ops.h"
#include "lattice/types.h"

typedef enum {
    LX_P_NUMBER, /* a JSON number in [min, max] */
    LX_P_INT,    /* an integral JSON number in [min, max] */
    LX_P_ENUM,   /* a string from options */
    LX_P_NAME,   /* a string [A-Za-z0-9_-]{1,64} (layer, class) */
    LX_P_BOOL,
    LX_P_VALUE,  /* a literal (number or array of 2-4 numbers) */
    LX_P_KEYS,   /* Keyframes keys */
    LX_P_POINTS, /* Path points */
} lx_param_kind_t;

typedef struct lx_param_def {
    const char *name;
    lx_param_kind_t kind;
    bool required;
    double def, min, max;
    const char *const *options; /* LX_P_ENUM: NULL-terminated */
    const char *doc;
} lx_param_def_t;

enum {
    LX_PORT_CONST = 1,    /* input must be compile-time (scalar world) */
    LX_PORT_REQUIRED = 2, /* no default: must be connected or given a literal */
    LX_PORT_OPTIONAL = 4, /* no default: may stay unconnected */
};

/* How an output's world follows from the block's inputs. */
typedef enum {
    LX_OUT_POINTWISE,   /* the join of the value inputs' worlds */
    LX_OUT_VARYING,     /* pointwise, but at least signal (time-dependent) */
    LX_OUT_SIGNAL,      /* always a signal */
    LX_OUT_EVENT,       /* an event */
    LX_OUT_DOMAIN,      /* the block's own instance domain */
    LX_OUT_FIELD_OWN,   /* a field over the block's own domain */
    LX_OUT_FIELD_INPUT, /* a field over the domain wired to input "domain" */
} lx_out_rule_t;

typedef struct lx_port_def {
    const char *name;
    lx_domain_t domain; /* LX_D_GENERIC = the block's type variable */
    uint8_t worlds;     /* inputs: accepted LX_WM_* mask */
    uint8_t flags;      /* LX_PORT_* */
    lx_out_rule_t rule; /* outputs only */
    double def[4];      /* default (splat for generic ports) */
    const char *doc;
} lx_port_def_t;

enum {
    LX_BF_TIME_ROOT = 1 << 0,
    LX_BF_STATE = 1 << 1,     /* memory boundary: outputs come from the state cell */
    LX_BF_UNBOUNDED = 1 << 2, /* integrating state: unbounded horizon */
    LX_BF_HISTORY = 1 << 3,   /* reads its input's previous frame: horizon + 1 */
    LX_BF_RENDER = 1 << 4,    /* render sink */
    LX_BF_CAMERA = 1 << 5,
    LX_BF_INTERNAL = 1 << 6, /* made by normalization only, never by users */
    LX_BF_VARIADIC = 1 << 7, /* any number of inputs of the first port's type */
    LX_BF_INSTANCE = 1 << 8, /* creates an instance domain */
    LX_BF_CLOCK = 1 << 9,    /* reads the frame's time directly */
};

typedef struct lx_block_def {
    const char *name;
    const char *family;
    const char *doc;
    lx_op_t op;
    uint32_t flags;
    const lx_param_def_t *params;
    uint8_t n_params;
    const lx_port_def_t *inputs;
    uint8_t n_inputs;
    const lx_port_def_t *outputs;
    uint8_t n_outputs;
} lx_block_def_t;

/* The block whose type name is `name` (user-visible and internal), or NULL. */
const lx_block_def_t *lx_registry_find(const char *name);
/* The block that lowers to `op`, or NULL for an unknown op. */
const lx_block_def_t *lx_registry_by_op(unsigned op);
/* All block types in catalogue order (families, then declaration order). */
size_t lx_registry_count(void);
const lx_block_def_t *lx_registry_at(size_t i);

/* Index of a port or parameter by name, or -1. */
int lx_block_input(const lx_block_def_t *def, const char *name);
int lx_block_output(const lx_block_def_t *def, const char *name);
int lx_block_param(const lx_block_def_t *def, const char *name);

/* Combine modes of buses and multi-writer inputs. */
typedef enum {
    LX_COMBINE_SUM,
    LX_COMBINE_AVG,
    LX_COMBINE_MIN,
    LX_COMBINE_MAX,
    LX_COMBINE_MUL,
    LX_COMBINE_LAST,
    LX_COMBINE_FIRST,
    LX_COMBINE_OR,
    LX_COMBINE__COUNT
} lx_combine_t;

/* -1 when unknown. */
int lx_combine_parse(const char *name);
const char *lx_combine_name(lx_combine_t mode);

/* Named easing curves (Ease block, ease lens, keyframe easing). */
extern const char *const lx_ease_curves[];
/* Index of a curve name, or -1. */
int lx_ease_parse(const char *name);

#endif
