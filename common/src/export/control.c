/* The control tier's colourings (lattice/control.h). */
#include "lattice/control.h"

#include <math.h>

#include "lattice/dmath.h"

void lx_control_wheel(uint8_t wheel[LX_CONTROL_WHEEL_SIZE][3])
{
    /* Middlebury's makecolorwheel(): red -> yellow -> green -> cyan ->
     * blue -> magenta -> red. */
    static const int steps[6] = {15, 6, 4, 11, 13, 6}; /* RY YG GC CB BM MR */
    int k = 0;
    for (int seg = 0; seg < 6; seg++)
        for (int i = 0; i < steps[seg]; i++, k++) {
            int up = 255 * i / steps[seg], down = 255 - 255 * i / steps[seg];
            int rgb[6][3] = {{255, up, 0},   {down, 255, 0}, {0, 255, up},
                             {0, down, 255}, {up, 0, 255},   {255, 0, down}};
            for (int c = 0; c < 3; c++)
                wheel[k][c] = (uint8_t)rgb[seg][c];
        }
}

void lx_control_flow_rgb(const uint8_t wheel[LX_CONTROL_WHEEL_SIZE][3], double fx, double fy,
                         uint8_t rgb[3])
{
    double rad = sqrt(fx * fx + fy * fy);
    if (!isfinite(rad)) {
        rgb[0] = rgb[1] = rgb[2] = 0; /* the reference's unknown flow */
        return;
    }
    double a = lx_atan2(-fy, -fx) / LX_PI;
    double fk = (a + 1.0) / 2.0 * (LX_CONTROL_WHEEL_SIZE - 1);
    int k0 = (int)fk;
    int k1 = (k0 + 1) % LX_CONTROL_WHEEL_SIZE;
    double f = fk - k0;
    for (int b = 0; b < 3; b++) {
        double col0 = wheel[k0][b] / 255.0, col1 = wheel[k1][b] / 255.0;
        double col = (1 - f) * col0 + f * col1;
        if (rad <= 1)
            col = 1 - rad * (1 - col); /* more saturated with the radius */
        else
            col *= 0.75; /* out of range */
        rgb[b] = (uint8_t)(int)(255.0 * col);
    }
}

void lx_control_seg_rgb(uint32_t id, uint8_t rgb[3])
{
    uint32_t c = (uint32_t)(((uint64_t)id * 0x9E3779u) & 0xFFFFFFu);
    rgb[0] = (uint8_t)(c >> 16);
    rgb[1] = (uint8_t)(c >> 8);
    rgb[2] = (uint8_t)c;
}
