/* Allocator hooks and an arena.
 *
 * Nothing in common/ calls malloc directly: allocation goes through an
 * lx_alloc_t so that tests can count allocations or fail the Nth one.
 * lx_alloc_default() returns the libc-backed allocator (a const object). */
#ifndef LATTICE_ALLOC_H
#define LATTICE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lx_alloc {
    void *(*alloc)(void *user, size_t size);  /* NULL on failure */
    void (*free)(void *user, void *ptr);      /* accepts NULL */
    void *user;
} lx_alloc_t;

/* The libc allocator. Never NULL; thread-safe. */
const lx_alloc_t *lx_alloc_default(void);

void *lx_malloc(const lx_alloc_t *a, size_t size);
/* Zeroed, overflow-checked. With the libc allocator this is calloc, so
 * pages never written are never touched (they stay out of the RSS). */
void *lx_calloc(const lx_alloc_t *a, size_t n, size_t size);
void lx_free(const lx_alloc_t *a, void *ptr);

/* Arena: bump allocation from chunks, everything freed at once by
 * lx_arena_release(). Memory is zeroed. Not thread-safe. */
typedef struct lx_arena_chunk lx_arena_chunk_t;
typedef struct lx_arena {
    const lx_alloc_t *alloc;
    lx_arena_chunk_t *head;
    size_t used, cap;  /* of head */
    size_t total;      /* bytes allocated from the backing allocator */
    bool failed;       /* some allocation failed: whatever used it is incomplete */
} lx_arena_t;

void lx_arena_init(lx_arena_t *arena, const lx_alloc_t *alloc);
void lx_arena_release(lx_arena_t *arena);
/* Returns zeroed memory aligned to 16 bytes, or NULL when out of memory
 * or when n * size overflows. */
void *lx_arena_calloc(lx_arena_t *arena, size_t n, size_t size);
/* Copies a string (or its first len bytes) into the arena; NULL on OOM. */
char *lx_arena_strdup(lx_arena_t *arena, const char *s);
char *lx_arena_strndup(lx_arena_t *arena, const char *s, size_t len);
/* printf into the arena; NULL on OOM. */
char *lx_arena_printf(lx_arena_t *arena, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Growable array in an arena: doubles capacity by copying (the old block
 * stays in the arena until release). *items, *count, *cap describe it. */
int lx_arena_grow(lx_arena_t *arena, void **items, size_t count, size_t *cap, size_t elem);

#define LX_ARENA_PUSH(arena, items, count, cap)                                \
    (((count) < (cap) ||                                                       \
      lx_arena_grow((arena), (void **)&(items), (count), &(cap), sizeof(*(items))) == 0) \
         ? &(items)[(count)++]                                                 \
         : NULL)

#endif
