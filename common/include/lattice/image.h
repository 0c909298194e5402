/* An image to encode: a view of interleaved pixels the caller owns.
 *
 * Invariants: data holds width * height * channels samples, row-major from
 * the top-left, channels interleaved; sample type per `type`. For
 * LX_PIX_HALF the samples are given as float and converted (round to
 * nearest even) by the encoder. Channel names matter for EXR only. */
#ifndef LATTICE_IMAGE_H
#define LATTICE_IMAGE_H

#include <stdint.h>

typedef enum {
    LX_PIX_U8,   /* uint8_t */
    LX_PIX_U16,  /* uint16_t */
    LX_PIX_HALF, /* float in memory, HALF in the file (EXR) */
    LX_PIX_F32,  /* float */
} lx_pixel_type_t;

#define LX_IMAGE_MAX_CHANNELS 4

typedef struct lx_image {
    uint32_t width, height, channels;
    lx_pixel_type_t type;
    const void *data;
    const char *names[LX_IMAGE_MAX_CHANNELS]; /* EXR channel names, e.g. "R" */
} lx_image_t;

#endif
