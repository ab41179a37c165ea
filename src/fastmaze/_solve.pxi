# Bindings of csrc/solve.c (BFS oracles), included by _core.pyx.
from libc.stdint cimport int16_t


cdef extern from "solve.h" nogil:
    enum:
        FM_NO_ACTION
        FM_SOLVE_BAD_INPUT
        FM_SOLVE_OVERFLOW

    ctypedef struct fm_solve_boards:
        const uint8_t *grid
        const int32_t *start
        const int32_t *exit
        const int32_t *decoys
        const int32_t *n_decoys
        int64_t n
        int32_t H, W, max_decoys

    ctypedef struct fm_oracles:
        int16_t *dist
        uint8_t *actions
        uint8_t *action
        int32_t *path_length
        int32_t *decoy_distance
        int32_t *decoy_to_exit
        uint8_t *ambiguous
        int32_t *decision

    int fm_solve(const fm_solve_boards *boards, const fm_oracles *out,
                 int32_t threads) noexcept
    int fm_canonical_paths(const uint8_t *action, const int32_t *start,
                           const int32_t *path_length, int64_t n, int32_t H,
                           int32_t W, int32_t max_squares, int32_t *paths,
                           int32_t threads) noexcept

NO_ACTION = FM_NO_ACTION


cdef _check_solve_result(int result):
    if result == FM_SOLVE_OVERFLOW:
        raise ValueError(
            "a distance exceeds 32767 steps, more than the int16 oracles can hold")
    if result == FM_SOLVE_BAD_INPUT:
        raise ValueError("the compiled core refused these board sizes")
    if result == FM_ERR_MEMORY:
        raise MemoryError("the compiled core could not allocate its scratch buffers")


def solve_into(const uint8_t[:, :, ::1] grid, const int32_t[:, ::1] start,
               const int32_t[:, ::1] exit, const int32_t[:, :, ::1] decoys,
               const int32_t[::1] n_decoys, int16_t[:, :, ::1] dist,
               uint8_t[:, :, ::1] actions, uint8_t[:, :, ::1] action,
               int32_t[::1] path_length, int32_t[:, ::1] decoy_distance,
               int32_t[:, ::1] decoy_to_exit, uint8_t[::1] ambiguous,
               int32_t[:, :, ::1] decision, int threads):
    """Fills the oracle arrays of the levels in grid (validated by fastmaze.solve)."""
    if grid.shape[0] == 0:
        return
    cdef fm_solve_boards b
    cdef fm_oracles o
    cdef bint has_decoys = decoys.shape[1] > 0
    b.grid = &grid[0, 0, 0]
    b.start = &start[0, 0]
    b.exit = &exit[0, 0]
    b.decoys = &decoys[0, 0, 0] if has_decoys else NULL
    b.n_decoys = &n_decoys[0]
    b.n = grid.shape[0]
    b.H = grid.shape[1]
    b.W = grid.shape[2]
    b.max_decoys = decoys.shape[1]
    o.dist = &dist[0, 0, 0]
    o.actions = &actions[0, 0, 0]
    o.action = &action[0, 0, 0]
    o.path_length = &path_length[0]
    o.decoy_distance = &decoy_distance[0, 0] if has_decoys else NULL
    o.decoy_to_exit = &decoy_to_exit[0, 0] if has_decoys else NULL
    o.ambiguous = &ambiguous[0]
    o.decision = &decision[0, 0, 0] if has_decoys else NULL
    cdef int result
    with nogil:
        result = fm_solve(&b, &o, threads)
    _check_solve_result(result)


def canonical_paths_into(const uint8_t[:, :, ::1] action,
                         const int32_t[:, ::1] start, const int32_t[::1] path_length,
                         int32_t[:, :, ::1] paths, int threads):
    """Fills paths [n, L, 2] with canonical shortest paths, -1 past their ends."""
    if action.shape[0] == 0 or paths.shape[1] == 0:
        return
    cdef int result
    with nogil:
        result = fm_canonical_paths(&action[0, 0, 0], &start[0, 0], &path_length[0],
                                    action.shape[0], action.shape[1], action.shape[2],
                                    paths.shape[1], &paths[0, 0, 0], threads)
    _check_solve_result(result)
