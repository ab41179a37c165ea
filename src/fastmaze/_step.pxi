# Bindings of csrc/step.c (the vector environment's CPU step), included by _core.pyx.
# fastmaze/env.py allocates and validates every array once; EnvCore keeps them alive and
# holds raw pointers into them, so a step allocates nothing.

cimport numpy as cnp
from cpython.ref cimport Py_REFCNT
from libc.stdint cimport uint32_t

cnp.import_array()

cdef enum:
    MAX_COPIES = 64  # arrays one step (or copy_rows) copies

cdef extern from "step.h" nogil:
    enum:
        FM_STEP_PARALLEL_ENVS

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
        uint8_t *table
        uint8_t *final_table
        int32_t max_steps, terminate_on_decoy, autoreset
        float step_penalty
        const float *proxy
        int32_t *scratch
        int64_t *resets_of_thread
        int32_t threads

    ctypedef struct fm_rows:
        const uint8_t *src
        uint8_t *dst
        int64_t row_bytes

    ctypedef struct fm_stream:
        const fm_generator *generator
        uint64_t seed
        int64_t next_id, first_id, num_levels

    int64_t fm_env_obs_bytes(const fm_env *env) noexcept
    int64_t fm_env_check_actions(const int64_t *actions, int64_t n) noexcept
    int64_t fm_env_step(const fm_env *env, const int64_t *actions, int64_t *reset_idx,
                        const fm_stream *stream, const fm_rows *copies, int32_t n_copies,
                        int64_t *failed) noexcept
    int64_t fm_env_load_stream(const fm_env *env, const fm_stream *stream, const int64_t *idx,
                               int64_t m) noexcept
    void fm_env_load(const fm_env *env, fm_levels levels, const int64_t *ids, const int64_t *idx,
                     int64_t m) noexcept
    void fm_copy_rows(const fm_rows *arrays, int32_t count, int64_t n, int32_t threads) noexcept


cdef inline bint _is_int64_vector(object a, int64_t n) noexcept:
    """Whether ``a`` is an aligned, native-order, C-contiguous int64 numpy array [n]."""
    if not cnp.PyArray_Check(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray> a
    return (cnp.PyArray_TYPE(arr) == cnp.NPY_INT64 and cnp.PyArray_NDIM(arr) == 1
            and cnp.PyArray_DIM(arr, 0) == n and cnp.PyArray_ISCARRAY_RO(arr))


cdef void *_ptr(dict arrays, str name) except? NULL:
    """Address of a C-contiguous array (NULL when it is absent or empty)."""
    a = arrays.get(name)
    if a is None:
        return NULL
    if not cnp.PyArray_Check(a):
        raise ValueError(f"{name}: expected a numpy array, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray> a
    if cnp.PyArray_SIZE(arr) == 0:
        return NULL
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr) or not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name}: must be C-contiguous and writeable")
    return cnp.PyArray_DATA(arr)


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


#: Below this many envs a step runs on one thread (csrc/step.h).
STEP_PARALLEL_ENVS = FM_STEP_PARALLEL_ENVS


cdef class EnvCore:
    """The C state of a VecMazeEnv: pointers into the arrays of ``arrays`` (kept alive).

    ``arrays`` keys: the level fields (grid, color, start, exit, decoys, n_decoys,
    component), agent, pending, seen, reward, terminated, truncated, resetting, obs, lut,
    proxy, scratch, the info fields and (SAME_STEP) final_obs and ``final_``-prefixed info.
    ``config``: H, W, n_colors, max_decoys, obs_kind, reveal_exit, hide_colors, pixels,
    radius, max_steps, terminate_on_decoy, autoreset, step_penalty, threads, first_id,
    num_levels (0: no wrap). ``generator``: where the core draws new levels itself (a step's
    auto-resets, `load_stream`), or None (the caller generates them and calls `load`).
    """

    cdef fm_env env
    cdef fm_stream stream
    cdef dict arrays
    cdef cnp.ndarray reset_idx
    cdef Generator generator

    def __init__(self, dict arrays, dict config, Generator generator=None):
        self.arrays = arrays
        self.generator = generator
        self.stream.generator = generator.gen if generator is not None else NULL
        self.stream.first_id = config["first_id"]
        self.stream.num_levels = config["num_levels"]
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
        e.table = <uint8_t *> _ptr(arrays, "table")
        e.final_table = <uint8_t *> _ptr(arrays, "final_table")
        e.scratch = <int32_t *> _ptr(arrays, "scratch")
        e.resets_of_thread = <int64_t *> _ptr(arrays, "resets_of_thread")
        if arrays["resets_of_thread"].size < config["threads"]:
            raise ValueError("resets_of_thread: needs one entry per thread")
        self.reset_idx = arrays["reset_idx"]
        if not _is_int64_vector(self.reset_idx, e.n) or not self.reset_idx.flags.writeable:
            raise ValueError("reset_idx: expected a writeable int64 array [n]")
        e.threads = config["threads"]
        if generator is not None and (generator.threads < e.threads or generator.H != e.H
                                      or generator.W != e.W
                                      or generator.max_decoys != e.max_decoys):
            raise ValueError("generator: expected the env's board shape and decoy capacity, "
                             "and one scratch per thread of the env")
        if e.obs_kind == 3:  # compact: the level tables, [n, H, W] each
            for name in ("table", "final_table") if e.autoreset == 1 else ("table",):
                if _ptr(arrays, name) == NULL or arrays[name].size != e.n * e.H * e.W:
                    raise ValueError(f"{name}: compact observations need uint8 [n, H, W]")
        if fm_env_obs_bytes(e) * e.n != arrays["obs"].size:
            raise ValueError("obs: size does not match the observation kind")

    def check_actions(self, const int64_t[::1] actions):
        """Index of the first action outside 0..3, or -1."""
        return fm_env_check_actions(&actions[0], actions.shape[0])

    def step(self, object actions, uint64_t seed, int64_t next_id, list sources=None,
             list targets=None):
        """Checks ``actions`` and steps every env. ``actions``: an aligned, native-order,
        C-contiguous int64 array [n] (else returns None and steps nothing). Returns m >= 0,
        the envs to reset being ``arrays["reset_idx"][:m]`` (with a generator, already given
        levels next_id .. of the stream of ``seed``), or -1 - e when action e is outside
        0..3 (nothing is stepped then). ``sources``, ``targets``: arrays [n, ...] copied
        one into the other once the step is done, inside its parallel region (see
        `copy_rows`); only with a generator, since the copy must follow the new levels."""
        cdef int64_t m, failed
        cdef const int64_t *acts
        cdef int64_t *idx = <int64_t *> cnp.PyArray_DATA(self.reset_idx)
        cdef fm_rows jobs[MAX_COPIES]
        cdef int32_t count = 0
        if not _is_int64_vector(actions, self.env.n):
            return None
        if sources is not None or targets is not None:
            if self.generator is None:
                raise ValueError("step: copies inside the step need a generator")
            count = _row_jobs(sources, targets, self.env.n, jobs)
        acts = <const int64_t *> cnp.PyArray_DATA(<cnp.ndarray> actions)
        self.stream.seed = seed
        self.stream.next_id = next_id
        with nogil:
            m = fm_env_step(&self.env, acts, idx, &self.stream, jobs, count, &failed)
        if failed >= 0:
            _raise_for(failed)
        return m

    def load_stream(self, const int64_t[::1] idx, uint64_t seed, int64_t next_id):
        """Env idx[j] starts level next_id + j of the stream of ``seed`` (needs a
        generator), drawn straight into its slot."""
        cdef int64_t failed, j
        if self.generator is None:
            raise ValueError("load_stream: this EnvCore has no generator")
        if idx.shape[0] == 0:
            return
        for j in range(idx.shape[0]):
            if not 0 <= idx[j] < self.env.n:
                raise ValueError(f"idx: {idx[j]} at {j}; expected env indices 0..{self.env.n - 1}")
        self.stream.seed = seed
        self.stream.next_id = next_id
        with nogil:
            failed = fm_env_load_stream(&self.env, &self.stream, &idx[0], idx.shape[0])
        if failed >= 0:
            _raise_for(failed)

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


cdef int32_t _row_jobs(list sources, list targets, int64_t n, fm_rows *jobs) except -1:
    """Fills jobs[k] with the copy of sources[k] into targets[k]; returns their count."""
    cdef int32_t count, k
    if sources is None or targets is None:
        raise ValueError("copies: expected two lists of arrays, sources and targets")
    count = len(sources)
    if count > MAX_COPIES or len(targets) != count:
        raise ValueError(f"copies: expected two lists of the same length, at most {MAX_COPIES}")
    for k in range(count):
        src = <cnp.ndarray> sources[k]
        dst = <cnp.ndarray> targets[k]
        if (cnp.PyArray_NBYTES(src) != cnp.PyArray_NBYTES(dst) or cnp.PyArray_DIM(src, 0) != n
                or not cnp.PyArray_ISCARRAY_RO(src) or not cnp.PyArray_ISCARRAY(dst)):
            raise ValueError("copies: arrays must be C-contiguous [n, ...] of equal size")
        jobs[k].src = <const uint8_t *> cnp.PyArray_DATA(src)
        jobs[k].dst = <uint8_t *> cnp.PyArray_DATA(dst)
        jobs[k].row_bytes = cnp.PyArray_NBYTES(src) // n if n else 0
    return count


def copy_rows(list sources, list targets, int64_t n, int32_t threads):
    """Copies every array of ``sources`` into the one at the same place in ``targets`` (both
    C-contiguous, of the same shape [n, ...] and dtype), in one parallel region."""
    cdef fm_rows jobs[MAX_COPIES]
    cdef int32_t count = _row_jobs(sources, targets, n, jobs)
    with nogil:
        fm_copy_rows(jobs, count, n, threads)


def held(list arrays):
    """Indices of the objects of ``arrays`` referred to from anywhere but this list."""
    cdef Py_ssize_t k
    return [k for k in range(len(arrays)) if Py_REFCNT(arrays[k]) > 2]
