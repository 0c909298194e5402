/* String -> uint32 hash map in an arena (open addressing, FNV-1a).
 * Keys are borrowed: they must outlive the map. */
#ifndef LATTICE_STRMAP_H
#define LATTICE_STRMAP_H

#include <stdint.h>

#include "lattice/alloc.h"

typedef struct lx_strmap {
    lx_arena_t *arena;
    const char **keys;
    uint32_t *values;
    uint32_t count, cap;
} lx_strmap_t;

void lx_strmap_init(lx_strmap_t *m, lx_arena_t *arena);
/* Inserts or replaces; returns 0, or -1 when out of memory. */
int lx_strmap_put(lx_strmap_t *m, const char *key, uint32_t value);
/* The value, or UINT32_MAX when absent. */
uint32_t lx_strmap_get(const lx_strmap_t *m, const char *key);

#endif
