/* The control tier's colourings (docs/export-format.md, "Control images"):
 * motion as the Middlebury flow colour wheel, instance ids as fixed
 * colours. Pure functions of their arguments; thread-safe. */
#ifndef LATTICE_CONTROL_H
#define LATTICE_CONTROL_H

#include <stdint.h>

/* The colours of the Middlebury wheel (Baker et al., "A Database and
 * Evaluation Methodology for Optical Flow", flowToColor/computeColor):
 * RY 15, YG 6, GC 4, CB 11, BM 13, MR 6 steps, 55 in all, each channel
 * 255 * i / steps in integer arithmetic as in the reference code. */
enum { LX_CONTROL_WHEEL_SIZE = 55 };
void lx_control_wheel(uint8_t wheel[LX_CONTROL_WHEEL_SIZE][3]);

/* The colour of flow (fx, fy) already divided by the scale (x right, y
 * down), as the reference computeColor does it (in double, lx_atan2 for
 * the angle): angle atan2(-fy, -fx) / pi picks a position between two
 * wheel colours, interpolated linearly; radius r <= 1 blends toward white,
 * 1 - r (1 - col); r > 1 is "out of range", col * 0.75; each channel is
 * (int)(255 col). Zero flow is white; (1, +0) is the wheel's first colour,
 * pure red. rgb receives R, G, B. */
void lx_control_flow_rgb(const uint8_t wheel[LX_CONTROL_WHEEL_SIZE][3], double fx, double fy,
                         uint8_t rgb[3]);

/* The segmentation colour of instance id: c = id * 0x9E3779 mod 2^24 (an
 * odd multiplier, so distinct ids below 2^24 get distinct colours), R = c
 * >> 16, G = (c >> 8) & 255, B = c & 255. Id 0 (background) is black. */
void lx_control_seg_rgb(uint32_t id, uint8_t rgb[3]);

#endif
