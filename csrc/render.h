/* fastmaze rendering: observations of a batch of levels, written into caller-owned arrays.
 *
 * Every array is C-contiguous and level-major. Boards are H x W squares (see fastmaze.h);
 * colour codes are 0 (none) or k for palette[k - 1]; codes above the palette size are not
 * drawn, and an agent outside the board is not drawn. Levels are drawn in parallel (OpenMP
 * when built with it); each output byte depends only on its own level, so the result does
 * not depend on the thread count.
 */
#ifndef FASTMAZE_RENDER_H
#define FASTMAZE_RENDER_H

#include <stdint.h>
#include <string.h>

/* A batch of boards to draw. */
typedef struct {
    const uint8_t *grid;  /* [n, H, W] 1 = wall */
    const uint8_t *color; /* [n, H, W] colour code */
    const int32_t *agent; /* [n, 2] board (row, col) of the agent */
    int64_t n;
    int32_t H, W;
    int32_t n_colors; /* palette size P */
} fm_boards;

/* One-hot planes, out [n, 2 + P + (exit != NULL), H, W]: wall, agent, one plane per palette
 * colour, then the exit (exit [n, 2] board (row, col)) when exit is given. hide_colors
 * leaves the colour planes zero. */
void fm_render_symbolic(fm_boards b, const int32_t *exit, int32_t hide_colors, uint8_t *out,
                        int32_t threads);

/* Channel-first RGB, out [n, 3, H * pixels, W * pixels]. lut [(P + 3) * 3]: entry 0 floor,
 * 1..P the palette colours, P + 1 wall, P + 2 the agent. The agent is a centred square
 * inset by (pixels + 1) / 4 pixels on each side, so a coloured square under it stays visible
 * from pixels = 3 up. hide_colors draws coloured squares as floor. */
void fm_render_rgb(fm_boards b, int32_t pixels, const uint8_t *lut, int32_t hide_colors,
                   uint8_t *out, int32_t threads);

/* Level k of `b` alone, as fm_render_rgb draws it, into out [3, H * pixels, W * pixels]
 * (for a caller already inside its own parallel region). */
void fm_render_rgb_level(const fm_boards *b, int64_t k, int32_t pixels, const uint8_t *lut,
                         int32_t hide_colors, uint8_t *out);

/* lut entry of a square (see fm_render_rgb): 0 floor, 1..P its colour, P + 1 wall; a
 * colour hidden or outside the palette is drawn as floor. */
static inline int32_t fm_rgb_entry(int32_t wall, int32_t code, int32_t P, int32_t hide_colors)
{
    if (wall) return P + 1;
    return hide_colors || code > P ? 0 : code;
}

/* Pixels between a square's edge and the agent's square drawn in it (pixels per square px);
 * the agent's square is px - 2 * inset pixels wide. */
static inline int32_t fm_agent_inset(int32_t px)
{
    return (px + 1) / 4;
}

/* Sets `count` bytes at dst to `value`: for short runs, such as an rgb square's pixel rows,
 * single stores rather than a call to memset. */
static inline void fm_fill(uint8_t *dst, uint8_t value, int32_t count)
{
    const uint64_t pattern = value * 0x0101010101010101u;
    switch (count) {
    case 1: dst[0] = value; break;
    case 2: memcpy(dst, &pattern, 2); break;
    case 3: memcpy(dst, &pattern, 3); break;
    case 4: memcpy(dst, &pattern, 4); break;
    case 5: memcpy(dst, &pattern, 5); break;
    case 6: memcpy(dst, &pattern, 6); break;
    case 7: memcpy(dst, &pattern, 7); break;
    case 8: memcpy(dst, &pattern, 8); break;
    default: memset(dst, value, (size_t)count);
    }
}

#endif
