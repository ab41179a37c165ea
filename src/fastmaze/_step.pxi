# Bindings of csrc/step.c (the vector environment's CPU step), included by _core.pyx.
# fastmaze/env.py allocates and validates every array once; EnvCore keeps them alive and
# holds raw pointers into them, so a step allocates nothing.

from libc.stdint cimport uint32_t, uintptr_t

cdef extern from "step.h" nogil:
    ctypedef struct fm_env_info:
        uint8_t *reached_exit
        uint8_t *reached_decoy
        uint8_t *decoy_color
        uint8_t *ambiguous
        float *episode_return
        int32_t *episode_length
        int32_t *optimal_length
        int64_t *level_id

    ctypedef struct fm_env:
        int64_t n
        int32_t H, W, n_colors, max_decoys
        uint8_t *grid
        uint8_t *color
        uint8_t *terrain
        int32_t *start
        int32_t *exit
        int32_t *decoys
        int32_t *n_decoys
        uint8_t *component
        int32_t *agent
        uint8_t *pending
        uint32_t *seen
        fm_env_info info
        fm_env_info final_info
        float *reward
        uint8_t *terminated
        uint8_t *truncated
        uint8_t *resetting
        int32_t obs_kind, reveal_exit, hide_colors, pixels, radius
        const uint8_t *lut
        uint8_t *obs
        uint8_t *final_obs
        int32_t max_steps, terminate_on_decoy, autoreset
        float step_penalty
        const float *proxy
        int32_t *scratch
        int32_t threads

    int64_t fm_env_obs_bytes(const fm_env *env) noexcept
    int64_t fm_env_check_actions(const int64_t *actions, int64_t n) noexcept
    int64_t fm_env_step(const fm_env *env, const int64_t *actions, int64_t *reset_idx) noexcept
    void fm_env_load(const fm_env *env, fm_levels levels, const int64_t *ids, const int64_t *idx,
                     int64_t m) noexcept


cdef void *_ptr(dict arrays, str name) except? NULL:
    """Address of a C-contiguous array (NULL when it is absent or empty)."""
    a = arrays.get(name)
    if a is None or a.size == 0:
        return NULL
    if not a.flags.c_contiguous or not a.flags.writeable:
        raise ValueError(f"{name}: must be C-contiguous and writeable")
    return <void *> <uintptr_t> a.ctypes.data


cdef fm_env_info _info(dict arrays, str prefix) except *:
    cdef fm_env_info info
    info.reached_exit = <uint8_t *> _ptr(arrays, prefix + "reached_exit")
    info.reached_decoy = <uint8_t *> _ptr(arrays, prefix + "reached_decoy")
    info.decoy_color = <uint8_t *> _ptr(arrays, prefix + "decoy_color")
    info.ambiguous = <uint8_t *> _ptr(arrays, prefix + "ambiguous")
    info.episode_return = <float *> _ptr(arrays, prefix + "episode_return")
    info.episode_length = <int32_t *> _ptr(arrays, prefix + "episode_length")
    info.optimal_length = <int32_t *> _ptr(arrays, prefix + "optimal_length")
    info.level_id = <int64_t *> _ptr(arrays, prefix + "level_id")
    return info


cdef class EnvCore:
    """The C state of a VecMazeEnv: pointers into the arrays of ``arrays`` (kept alive).

    ``arrays`` keys: the level fields (grid, color, start, exit, decoys, n_decoys,
    component), agent, pending, seen, reward, terminated, truncated, resetting, obs, lut,
    proxy, scratch, the info fields and (SAME_STEP) final_obs and ``final_``-prefixed info.
    ``config``: H, W, n_colors, max_decoys, obs_kind, reveal_exit, hide_colors, pixels,
    radius, max_steps, terminate_on_decoy, autoreset, step_penalty, threads.
    """

    cdef fm_env env
    cdef dict arrays

    def __init__(self, dict arrays, dict config):
        self.arrays = arrays
        e = &self.env
        e.n = arrays["agent"].shape[0]
        e.H = config["H"]
        e.W = config["W"]
        e.n_colors = config["n_colors"]
        e.max_decoys = config["max_decoys"]
        e.grid = <uint8_t *> _ptr(arrays, "grid")
        e.color = <uint8_t *> _ptr(arrays, "color")
        e.terrain = <uint8_t *> _ptr(arrays, "terrain")
        e.start = <int32_t *> _ptr(arrays, "start")
        e.exit = <int32_t *> _ptr(arrays, "exit")
        e.decoys = <int32_t *> _ptr(arrays, "decoys")
        e.n_decoys = <int32_t *> _ptr(arrays, "n_decoys")
        e.component = <uint8_t *> _ptr(arrays, "component")
        e.agent = <int32_t *> _ptr(arrays, "agent")
        e.pending = <uint8_t *> _ptr(arrays, "pending")
        e.seen = <uint32_t *> _ptr(arrays, "seen")
        e.info = _info(arrays, "")
        e.final_info = _info(arrays, "final_")
        e.reward = <float *> _ptr(arrays, "reward")
        e.terminated = <uint8_t *> _ptr(arrays, "terminated")
        e.truncated = <uint8_t *> _ptr(arrays, "truncated")
        e.resetting = <uint8_t *> _ptr(arrays, "resetting")
        e.obs_kind = config["obs_kind"]
        e.reveal_exit = config["reveal_exit"]
        e.hide_colors = config["hide_colors"]
        e.pixels = config["pixels"]
        e.radius = config["radius"]
        e.lut = <const uint8_t *> _ptr(arrays, "lut")
        e.obs = <uint8_t *> _ptr(arrays, "obs")
        e.final_obs = <uint8_t *> _ptr(arrays, "final_obs")
        e.max_steps = config["max_steps"]
        e.terminate_on_decoy = config["terminate_on_decoy"]
        e.autoreset = config["autoreset"]
        e.step_penalty = config["step_penalty"]
        e.proxy = <const float *> _ptr(arrays, "proxy")
        e.scratch = <int32_t *> _ptr(arrays, "scratch")
        e.threads = config["threads"]
        if fm_env_obs_bytes(e) * e.n != arrays["obs"].size:
            raise ValueError("obs: size does not match the observation kind")

    def check_actions(self, const int64_t[::1] actions):
        """Index of the first action outside 0..3, or -1."""
        return fm_env_check_actions(&actions[0], actions.shape[0])

    def step(self, const int64_t[::1] actions, int64_t[::1] reset_idx):
        """Steps every env; returns m, the envs to reset being reset_idx[:m]."""
        cdef int64_t m
        with nogil:
            m = fm_env_step(&self.env, &actions[0], &reset_idx[0])
        return m

    def load(self, dict levels, const int64_t[::1] ids, const int64_t[::1] idx):
        """Env idx[j] starts level j of ``levels`` (arrays of the Levels fields)."""
        cdef fm_levels lv
        cdef int64_t m = idx.shape[0]
        if m == 0:
            return
        lv.grid = <uint8_t *> _ptr(levels, "grid")
        lv.color = <uint8_t *> _ptr(levels, "color")
        lv.start = <int32_t *> _ptr(levels, "start")
        lv.exit = <int32_t *> _ptr(levels, "exit")
        lv.decoys = <int32_t *> _ptr(levels, "decoys")
        lv.n_decoys = <int32_t *> _ptr(levels, "n_decoys")
        lv.component = <uint8_t *> _ptr(levels, "component")
        lv.max_decoys = self.env.max_decoys
        with nogil:
            fm_env_load(&self.env, lv, &ids[0], &idx[0], m)
