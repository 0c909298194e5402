#include <string.h>

#include "registry_internal.h"

/* clang-format off: one curve family a line */
const char *const lx_ease_curves[] = {
    "linear",         "easeInSine",     "easeOutSine",     "easeInOutSine",
    "easeInQuad",     "easeOutQuad",    "easeInOutQuad",   "easeInCubic",
    "easeOutCubic",   "easeInOutCubic", "easeInQuart",     "easeOutQuart",
    "easeInOutQuart", "easeInQuint",    "easeOutQuint",    "easeInOutQuint",
    "easeInExpo",     "easeOutExpo",    "easeInOutExpo",   "easeInCirc",
    "easeOutCirc",    "easeInOutCirc",  "easeInBack",      "easeOutBack",
    "easeInOutBack",  "easeInElastic",  "easeOutElastic",  "easeInOutElastic",
    "easeInBounce",   "easeOutBounce",  "easeInOutBounce", NULL,
};
/* clang-format on */

static const lx_block_family_t *const s_families[] = {
    &lx_blocks_time,  &lx_blocks_math,  &lx_blocks_state,  &lx_blocks_event,
    &lx_blocks_field, &lx_blocks_shape, &lx_blocks_render, &lx_blocks_audio,
    &lx_blocks_internal,
};
enum { N_FAMILIES = sizeof s_families / sizeof s_families[0] };

size_t lx_registry_count(void)
{
    size_t n = 0;
    for (size_t f = 0; f < N_FAMILIES; f++)
        n += s_families[f]->count;
    return n;
}

const lx_block_def_t *lx_registry_at(size_t i)
{
    for (size_t f = 0; f < N_FAMILIES; f++) {
        if (i < s_families[f]->count)
            return &s_families[f]->defs[i];
        i -= s_families[f]->count;
    }
    return NULL;
}

const lx_block_def_t *lx_registry_find(const char *name)
{
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (size_t i = 0; i < s_families[f]->count; i++)
            if (strcmp(s_families[f]->defs[i].name, name) == 0)
                return &s_families[f]->defs[i];
    return NULL;
}

const lx_block_def_t *lx_registry_by_op(unsigned op)
{
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (size_t i = 0; i < s_families[f]->count; i++)
            if ((unsigned)s_families[f]->defs[i].op == op)
                return &s_families[f]->defs[i];
    return NULL;
}

static int s_port_index(const lx_port_def_t *ports, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ports[i].name, name) == 0)
            return (int)i;
    return -1;
}

int lx_block_input(const lx_block_def_t *def, const char *name)
{
    return s_port_index(def->inputs, def->n_inputs, name);
}

int lx_block_output(const lx_block_def_t *def, const char *name)
{
    return s_port_index(def->outputs, def->n_outputs, name);
}

int lx_block_param(const lx_block_def_t *def, const char *name)
{
    for (size_t i = 0; i < def->n_params; i++)
        if (strcmp(def->params[i].name, name) == 0)
            return (int)i;
    return -1;
}

static const char *const s_combine_names[LX_COMBINE__COUNT] = {
    "sum", "avg", "min", "max", "mul", "last", "first", "or",
};

int lx_combine_parse(const char *name)
{
    for (int i = 0; i < LX_COMBINE__COUNT; i++)
        if (strcmp(name, s_combine_names[i]) == 0)
            return i;
    return -1;
}

const char *lx_combine_name(lx_combine_t mode)
{
    return (unsigned)mode < LX_COMBINE__COUNT ? s_combine_names[mode] : "?";
}

int lx_ease_parse(const char *name)
{
    for (int i = 0; lx_ease_curves[i]; i++)
        if (strcmp(name, lx_ease_curves[i]) == 0)
            return i;
    return -1;
}
