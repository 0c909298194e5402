#include "lattice/digest.h"

#include <openssl/evp.h>
#include <xxhash.h>

lx_result_t lx_sha256_init(lx_sha256_t *h)
{
    h->failed = false;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx)
        return LX_E_NOMEM;
    if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
        return LX_E_INTERNAL;
    }
    return LX_OK;
}

void lx_sha256_update(lx_sha256_t *h, const void *data, size_t len)
{
    if (h->failed || !h->ctx || len == 0)
        return;
    if (EVP_DigestUpdate(h->ctx, data, len) != 1)
        h->failed = true;
}

lx_result_t lx_sha256_final(lx_sha256_t *h, lx_digest_t *out)
{
    if (!h->ctx)
        return LX_E_INTERNAL;
    unsigned int n = 0;
    bool ok = !h->failed && EVP_DigestFinal_ex(h->ctx, out->bytes, &n) == 1 && n == 32;
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
    return ok ? LX_OK : LX_E_INTERNAL;
}

lx_result_t lx_sha256(const void *data, size_t len, lx_digest_t *out)
{
    lx_sha256_t h;
    lx_result_t rc = lx_sha256_init(&h);
    if (rc != LX_OK)
        return rc;
    lx_sha256_update(&h, data, len);
    return lx_sha256_final(&h, out);
}

void lx_xxh128(const void *data, size_t len, uint8_t out[16])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(data, len));
    for (int i = 0; i < 16; i++)
        out[i] = c.digest[i];
}

void lx_sha256_hex(const void *data, size_t len, char hex[65])
{
    lx_digest_t d;
    if (lx_sha256(data, len, &d) == LX_OK)
        lx_hex(d.bytes, 32, hex);
    else
        hex[0] = '\0';
}

void lx_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}
