/* Radix-2 decimation-in-time FFT with twiddles from lattice/dmath.h (see
 * lattice/fft.h for the exact sequence of operations). */
#include "lattice/fft.h"

#include "lattice/dmath.h"

struct lx_fft {
    const lx_alloc_t *alloc;
    uint32_t n, log2n;
    double *tw_re, *tw_im; /* n / 2 twiddles */
    uint32_t *rev;         /* bit-reversed index of each position */
};

lx_fft_t *lx_fft_new(uint32_t n, const lx_alloc_t *alloc)
{
    if (n < 2 || n > LX_FFT_MAX_SIZE || (n & (n - 1)) != 0)
        return NULL;
    alloc = alloc ? alloc : lx_alloc_default();
    lx_fft_t *f = lx_calloc(alloc, 1, sizeof *f);
    if (!f)
        return NULL;
    f->alloc = alloc;
    f->n = n;
    while ((1u << f->log2n) < n)
        f->log2n++;
    f->tw_re = lx_calloc(alloc, n / 2, sizeof *f->tw_re);
    f->tw_im = lx_calloc(alloc, n / 2, sizeof *f->tw_im);
    f->rev = lx_calloc(alloc, n, sizeof *f->rev);
    if (!f->tw_re || !f->tw_im || !f->rev) {
        lx_fft_destroy(&f);
        return NULL;
    }
    for (uint32_t k = 0; k < n / 2; k++) {
        double a = 6.283185307179586 * (double)k / (double)n;
        f->tw_re[k] = lx_cos(a);
        f->tw_im[k] = -lx_sin(a);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = 0;
        for (uint32_t b = 0; b < f->log2n; b++)
            r |= ((i >> b) & 1u) << (f->log2n - 1 - b);
        f->rev[i] = r;
    }
    return f;
}

void lx_fft_destroy(lx_fft_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lx_fft_t *f = *self_p;
    lx_free(f->alloc, f->tw_re);
    lx_free(f->alloc, f->tw_im);
    lx_free(f->alloc, f->rev);
    lx_free(f->alloc, f);
    *self_p = NULL;
}

uint32_t lx_fft_size(const lx_fft_t *f)
{
    return f->n;
}

void lx_fft_forward(const lx_fft_t *f, double *re, double *im)
{
    uint32_t n = f->n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = f->rev[i];
        if (j > i) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (uint32_t span = 2; span <= n; span <<= 1) {
        uint32_t half = span >> 1, step = n / span;
        for (uint32_t base = 0; base < n; base += span) {
            for (uint32_t j = 0; j < half; j++) {
                double wr = f->tw_re[j * step], wi = f->tw_im[j * step];
                uint32_t a = base + j, b = a + half;
                double tr = wr * re[b] - wi * im[b];
                double ti = wr * im[b] + wi * re[b];
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] = re[a] + tr;
                im[a] = im[a] + ti;
            }
        }
    }
}
