/* Parameter parsing for normalization (internal to common/src/compile). */
#ifndef LATTICE_COMPILE_PARAMS_H
#define LATTICE_COMPILE_PARAMS_H

#include "lattice/graph.h"

struct cJSON;

typedef struct lx_params_ctx {
    lx_arena_t *arena;
    lx_diags_t *diags;
    const char *block;     /* block id for messages */
    bool params_elsewhere; /* required params may still arrive (time root inputs) */
} lx_params_ctx_t;

/* Parses one parameter value into out (out->set on success); reports
 * PT-013 and returns false when it does not fit. VALUE and KEYS params
 * store the domain of their value in *value_domain. */
bool lx_param_parse(lx_params_ctx_t *c, const lx_param_def_t *pd, const struct cJSON *v,
                    const char *ptr, lx_pval_t *out, lx_domain_t *value_domain);

/* Parses a block's "params" object (may be NULL) against def: unknown names
 * (PT-012), bad values (PT-013), missing required ones (PT-014). Returns
 * def->n_params values (defaults where unset), NULL when out of memory. */
lx_pval_t *lx_params_parse(lx_params_ctx_t *c, const lx_block_def_t *def,
                           const struct cJSON *params, const char *block_ptr,
                           lx_domain_t *value_domain);

#endif
