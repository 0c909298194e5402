/* Hashing: SHA-256 (OpenSSL) for identities and file hashes, XXH3-128
 * (libxxhash) for fast content hashes.
 *
 * lx_sha256_t is an incremental hasher: init, update any number of times,
 * final. A failure inside OpenSSL is latched in `failed` and reported by
 * lx_sha256_final(), so callers check once. */
#ifndef LATTICE_DIGEST_H
#define LATTICE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lattice/result.h"

typedef struct lx_digest {
    uint8_t bytes[32];
} lx_digest_t;

typedef struct lx_sha256 {
    void *ctx; /* EVP_MD_CTX * */
    bool failed;
} lx_sha256_t;

lx_result_t lx_sha256_init(lx_sha256_t *h);
void lx_sha256_update(lx_sha256_t *h, const void *data, size_t len);
/* Writes the digest and frees the context (also on failure). */
lx_result_t lx_sha256_final(lx_sha256_t *h, lx_digest_t *out);
/* One-shot SHA-256 of a buffer. */
lx_result_t lx_sha256(const void *data, size_t len, lx_digest_t *out);
/* The same as 64 lower-case hex digits; "" when the hasher fails. */
void lx_sha256_hex(const void *data, size_t len, char hex[65]);

/* XXH3-128 of a buffer, as 16 bytes, big-endian (canonical form). */
void lx_xxh128(const void *data, size_t len, uint8_t out[16]);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void lx_hex(const uint8_t *bytes, size_t n, char *out);

#endif
