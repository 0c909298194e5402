#include "lattice/strmap.h"

#include <string.h>

static uint32_t s_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

void lx_strmap_init(lx_strmap_t *m, lx_arena_t *arena)
{
    memset(m, 0, sizeof *m);
    m->arena = arena;
}

static int s_rehash(lx_strmap_t *m, uint32_t cap)
{
    const char **keys = lx_arena_calloc(m->arena, cap, sizeof *keys);
    uint32_t *values = lx_arena_calloc(m->arena, cap, sizeof *values);
    if (!keys || !values)
        return -1;
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        uint32_t j = s_hash(m->keys[i]) & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        values[j] = m->values[i];
    }
    m->keys = keys;
    m->values = values;
    m->cap = cap;
    return 0;
}

int lx_strmap_put(lx_strmap_t *m, const char *key, uint32_t value)
{
    if ((m->count + 1) * 2 > m->cap && s_rehash(m, m->cap ? m->cap * 2 : 64) != 0)
        return -1;
    uint32_t j = s_hash(key) & (m->cap - 1);
    while (m->keys[j] && strcmp(m->keys[j], key) != 0)
        j = (j + 1) & (m->cap - 1);
    if (!m->keys[j]) {
        m->keys[j] = key;
        m->count++;
    }
    m->values[j] = value;
    return 0;
}

uint32_t lx_strmap_get(const lx_strmap_t *m, const char *key)
{
    if (!m->cap)
        return UINT32_MAX;
    uint32_t j = s_hash(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0)
            return m->values[j];
        j = (j + 1) & (m->cap - 1);
    }
    return UINT32_MAX;
}
