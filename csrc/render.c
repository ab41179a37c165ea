/* Observations of levels: one-hot symbolic planes and RGB images (see render.h). */
#include <string.h>

#include "render.h"

/* Below this many output bytes a batch is drawn on one thread: starting a team costs more. */
#define FM_RENDER_PARALLEL_BYTES (1 << 16)

static inline int32_t team_size(int32_t threads, int64_t out_bytes)
{
    if (threads < 1 || out_bytes < FM_RENDER_PARALLEL_BYTES) return 1;
    return threads;
}

/* Board index of the agent of level k, or -1 when it is off the board. */
static int64_t agent_square(const fm_boards *b, int64_t k)
{
    int32_t r = b->agent[2 * k], c = b->agent[2 * k + 1];
    if (r < 0 || r >= b->H || c < 0 || c >= b->W) return -1;
    return (int64_t)r * b->W + c;
}

static void symbolic_level(const fm_boards *b, int64_t k, const int32_t *exit, int32_t hide_colors,
                           uint8_t *out)
{
    const int64_t squares = (int64_t)b->H * b->W;
    const int32_t planes = 2 + b->n_colors + (exit != NULL);
    const uint8_t *grid = b->grid + k * squares;
    const uint8_t *color = b->color + k * squares;

    memset(out, 0, (size_t)(planes * squares));
    for (int64_t s = 0; s < squares; s++) out[s] = grid[s] != 0;
    if (!hide_colors) {
        uint8_t *colors = out + 2 * squares; /* plane of code c starts at (c - 1) * squares */
        for (int64_t s = 0; s < squares; s++) {
            int32_t c = color[s];
            if (c >= 1 && c <= b->n_colors) colors[(c - 1) * squares + s] = 1;
        }
    }
    int64_t a = agent_square(b, k);
    if (a >= 0) out[squares + a] = 1;
    if (exit) {
        int32_t r = exit[2 * k], c = exit[2 * k + 1];
        if (r >= 0 && r < b->H && c >= 0 && c < b->W)
            out[(planes - 1) * squares + (int64_t)r * b->W + c] = 1;
    }
}

void fm_render_symbolic(fm_boards b, const int32_t *exit, int32_t hide_colors, uint8_t *out,
                        int32_t threads)
{
    const int64_t per_level = (int64_t)(2 + b.n_colors + (exit != NULL)) * b.H * b.W;
    (void)threads; /* read by the OpenMP pragma only */
#pragma omp parallel for num_threads(team_size(threads, per_level * b.n)) schedule(static)
    for (int64_t k = 0; k < b.n; k++) symbolic_level(&b, k, exit, hide_colors, out + k * per_level);
}

/* Board row r of one level: each square's pixels on the first pixel row of the three
 * planes, then that row copied down pixels - 1 times. */
static void rgb_row(const fm_boards *b, const uint8_t *grid, const uint8_t *color, int32_t r,
                    int32_t px, const uint8_t *lut, int32_t hide_colors, uint8_t *out)
{
    const int64_t width = (int64_t)b->W * px, plane = (int64_t)b->H * px * width;
    uint8_t *row = out + (int64_t)r * px * width;
    for (int32_t c = 0; c < b->W; c++) {
        int64_t s = (int64_t)r * b->W + c;
        const uint8_t *rgb = lut + 3 * fm_rgb_entry(grid[s], color[s], b->n_colors, hide_colors);
        for (int32_t ch = 0; ch < 3; ch++) fm_fill(row + ch * plane + (int64_t)c * px, rgb[ch], px);
    }
    for (int32_t ch = 0; ch < 3; ch++)
        for (int32_t k = 1; k < px; k++)
            memcpy(row + ch * plane + k * width, row + ch * plane, (size_t)width);
}

static void rgb_agent(const fm_boards *b, int64_t k, int32_t px, const uint8_t *rgb, uint8_t *out)
{
    int64_t a = agent_square(b, k);
    if (a < 0) return;
    const int64_t width = (int64_t)b->W * px, plane = (int64_t)b->H * px * width;
    const int32_t inset = fm_agent_inset(px), side = px - 2 * inset;
    const int64_t top = (a / b->W) * px + inset, left = (a % b->W) * px + inset;
    for (int32_t ch = 0; ch < 3; ch++)
        for (int32_t i = 0; i < side; i++)
            memset(out + ch * plane + (top + i) * width + left, rgb[ch], (size_t)side);
}

void fm_render_rgb_level(const fm_boards *b, int64_t k, int32_t pixels, const uint8_t *lut,
                         int32_t hide_colors, uint8_t *out)
{
    if (pixels < 1) return;
    const int64_t squares = (int64_t)b->H * b->W;
    const uint8_t *grid = b->grid + k * squares, *color = b->color + k * squares;
    for (int32_t r = 0; r < b->H; r++) rgb_row(b, grid, color, r, pixels, lut, hide_colors, out);
    rgb_agent(b, k, pixels, lut + 3 * (b->n_colors + 2), out);
}

void fm_render_rgb(fm_boards b, int32_t pixels, const uint8_t *lut, int32_t hide_colors,
                   uint8_t *out, int32_t threads)
{
    const int64_t per_level = 3 * (int64_t)b.H * b.W * pixels * pixels;
    (void)threads; /* read by the OpenMP pragma only */
#pragma omp parallel for num_threads(team_size(threads, per_level * b.n)) schedule(static)
    for (int64_t k = 0; k < b.n; k++)
        fm_render_rgb_level(&b, k, pixels, lut, hide_colors, out + k * per_level);
}
