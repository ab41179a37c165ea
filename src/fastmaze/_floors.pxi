# Bindings of csrc/floors.c (the machine's floors under the step), included by _core.pyx;
# used by benchmarks/profile_step.py.

cdef extern from "floors.h" nogil:
    enum:
        FM_TOUCH_TERRAIN
        FM_TOUCH_OBS
        FM_TOUCH_INFO
    void fm_floor_regions(int32_t threads, int64_t reps) noexcept
    int64_t fm_floor_touch(int32_t what, int64_t n, int32_t W, int64_t squares,
                           int64_t obs_bytes, const int32_t *agent, const int64_t *actions,
                           const uint8_t *terrain, uint8_t *obs, int32_t *length, float *ret,
                           float *reward, uint8_t *flags, int32_t threads) noexcept
    int64_t fm_floor_rgb(int64_t n, int32_t H, int32_t W, int32_t px, const int32_t *agent,
                         const int64_t *actions, const uint8_t *terrain, uint8_t *obs,
                         int32_t threads) noexcept

TOUCH_TERRAIN = FM_TOUCH_TERRAIN
TOUCH_OBS = FM_TOUCH_OBS
TOUCH_INFO = FM_TOUCH_INFO


def floor_regions(int32_t threads, int64_t reps):
    """Runs ``reps`` empty OpenMP regions of ``threads`` threads back to back (GIL released)."""
    with nogil:
        fm_floor_regions(threads, reps)


def floor_touch(int32_t what, const int64_t[::1] actions, const int32_t[:, ::1] agent,
                const uint8_t[:, :, ::1] terrain, uint8_t[:, ::1] obs, int32_t[::1] length,
                float[::1] ret, float[::1] reward, uint8_t[::1] flags, int32_t threads):
    """The step's memory accesses per env without its logic (TOUCH_* bits of ``what``; see
    csrc/floors.h) on arrays shaped like an env's: agent [n, 2], terrain [n, H, W], obs
    [n, bytes] (bytes >= 2 H W), length / ret / reward [n], flags [3 n]."""
    cdef int64_t n = agent.shape[0], squares = terrain.shape[1] * terrain.shape[2], s
    if (actions.shape[0] != n or terrain.shape[0] != n or obs.shape[0] != n
            or obs.shape[1] < 2 * squares or length.shape[0] != n or ret.shape[0] != n
            or reward.shape[0] != n or flags.shape[0] != 3 * n or n == 0):
        raise ValueError("floor_touch: arrays must be shaped like one env batch's")
    with nogil:
        s = fm_floor_touch(what, n, terrain.shape[2], squares, obs.shape[1], &agent[0, 0],
                           &actions[0], &terrain[0, 0, 0], &obs[0, 0], &length[0], &ret[0],
                           &reward[0], &flags[0], threads)
    return s


def floor_rgb(const int64_t[::1] actions, const int32_t[:, ::1] agent,
              const uint8_t[:, :, ::1] terrain, uint8_t[:, :, :, ::1] obs, int32_t threads):
    """The pixel rows an rgb move must write, without its logic (see csrc/floors.h), on arrays
    shaped like an rgb env's: agent [n, 2], terrain [n, H, W] (nonzero: wall), obs [n, 3,
    H * px, W * px]. Returns the moves made."""
    cdef int64_t n = agent.shape[0], moves
    cdef int32_t H = terrain.shape[1], W = terrain.shape[2]
    cdef int32_t px = obs.shape[2] // H if H else 0
    if (n == 0 or actions.shape[0] != n or terrain.shape[0] != n or obs.shape[0] != n
            or obs.shape[1] != 3 or px < 1 or obs.shape[2] != H * px or obs.shape[3] != W * px):
        raise ValueError("floor_rgb: arrays must be shaped like one rgb env batch's")
    with nogil:
        moves = fm_floor_rgb(n, H, W, px, &agent[0, 0], &actions[0], &terrain[0, 0, 0],
                             &obs[0, 0, 0, 0], threads)
    return moves
