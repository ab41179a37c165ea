/* The machine's floors under the native step (benchmarks/profile_step.py): what an empty
 * OpenMP region, a parallel copy and the step's bare memory accesses cost here, measured
 * on the env's own arrays, so that the step can be reported as a multiple of them. */
#ifndef FASTMAZE_FLOORS_H
#define FASTMAZE_FLOORS_H

#include <stdint.h>

/* Runs `reps` empty parallel regions of `threads` threads back to back. */
void fm_floor_regions(int32_t threads, int64_t reps);

/* What the step touches per env, without its logic. For env e (of n, split like the step
 * over `threads`), with a = agent[2e] * W + agent[2e + 1]:
 *   FM_TOUCH_TERRAIN: reads terrain[e * squares + a + offset[action]] (the lookup);
 *   FM_TOUCH_OBS:     writes obs[e * obs_bytes + squares + a] (the observation bytes);
 *   FM_TOUCH_INFO:    updates length[e], ret[e], reward[e], flags[3 e .. 3 e + 2] (the info
 *                     fields and outputs).
 * Returns a sum of the bytes read, so that nothing is optimised away. */
enum { FM_TOUCH_TERRAIN = 1, FM_TOUCH_OBS = 2, FM_TOUCH_INFO = 4 };
int64_t fm_floor_touch(int32_t what, int64_t n, int32_t W, int64_t squares, int64_t obs_bytes,
                       const int32_t *agent, const int64_t *actions, const uint8_t *terrain,
                       uint8_t *obs, int32_t *length, float *ret, float *reward, uint8_t *flags,
                       int32_t threads);

/* What an rgb move writes, without its logic: for env e (as fm_floor_touch, agent at square
 * (r, c), offset by its action to (nr, nc)), when terrain[e, nr, nc] is floor, one byte of
 * each pixel row of the agent's inset square (the pixels a move changes: see render.h) in
 * squares (r, c) and (nr, nc), in each of the 3 channels of obs [n, 3, H * px, W * px]:
 * the cache lines an rgb move must write. Returns the moves. */
int64_t fm_floor_rgb(int64_t n, int32_t H, int32_t W, int32_t px, const int32_t *agent,
                     const int64_t *actions, const uint8_t *terrain, uint8_t *obs,
                     int32_t threads);

#endif
