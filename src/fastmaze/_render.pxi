# Bindings of csrc/render.c (observations), included by _core.pyx.
# Validation (shapes, dtypes, agent inside the board) happens in fastmaze/render.py.

cdef extern from "render.h" nogil:
    ctypedef struct fm_boards:
        const uint8_t *grid
        const uint8_t *color
        const int32_t *agent
        int64_t n
        int32_t H, W
        int32_t n_colors

    void fm_render_symbolic(fm_boards b, const int32_t *exit, int32_t hide_colors, uint8_t *out,
                            int32_t threads) noexcept
    void fm_render_rgb(fm_boards b, int32_t pixels, const uint8_t *lut, int32_t hide_colors,
                       uint8_t *out, int32_t threads) noexcept


cdef fm_boards _boards(const uint8_t[:, :, ::1] grid, const uint8_t[:, :, ::1] color,
                       const int32_t[:, ::1] agent, int n_colors):
    cdef fm_boards b
    b.grid = &grid[0, 0, 0]
    b.color = &color[0, 0, 0]
    b.agent = &agent[0, 0]
    b.n = grid.shape[0]
    b.H = grid.shape[1]
    b.W = grid.shape[2]
    b.n_colors = n_colors
    return b


def render_symbolic_into(const uint8_t[:, :, ::1] grid, const uint8_t[:, :, ::1] color,
                         const int32_t[:, ::1] agent, const int32_t[:, ::1] exit,
                         int n_colors, bint reveal_exit, bint hide_colors,
                         uint8_t[:, :, :, ::1] out, int threads):
    """Fills out [n, 2 + P (+1), H, W] with one-hot planes (see csrc/render.h)."""
    if grid.shape[0] == 0:
        return
    cdef fm_boards b = _boards(grid, color, agent, n_colors)
    cdef const int32_t *e = &exit[0, 0] if reveal_exit else NULL
    with nogil:
        fm_render_symbolic(b, e, hide_colors, &out[0, 0, 0, 0], threads)


def render_rgb_into(const uint8_t[:, :, ::1] grid, const uint8_t[:, :, ::1] color,
                    const int32_t[:, ::1] agent, int n_colors, int pixels,
                    const uint8_t[:, ::1] lut, bint hide_colors, uint8_t[:, :, :, ::1] out,
                    int threads):
    """Fills out [n, 3, H * pixels, W * pixels] (see csrc/render.h for the lut layout)."""
    if grid.shape[0] == 0:
        return
    cdef fm_boards b = _boards(grid, color, agent, n_colors)
    with nogil:
        fm_render_rgb(b, pixels, &lut[0, 0], hide_colors, &out[0, 0, 0, 0], threads)
