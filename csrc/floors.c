/* The machine's floors under the native step (see floors.h). */
#include "floors.h"
#include "render.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void fm_floor_regions(int32_t threads, int64_t reps)
{
    for (int64_t k = 0; k < reps; k++) {
#pragma omp parallel num_threads(threads < 1 ? 1 : threads)
        {
            /* next to nothing (an empty body may be compiled away): what a region costs is
             * the fork, the wake-up and the join */
            volatile int32_t here = 1;
            (void)here;
        }
    }
}

int64_t fm_floor_touch(int32_t what, int64_t n, int32_t W, int64_t squares, int64_t obs_bytes,
                       const int32_t *agent, const int64_t *actions, const uint8_t *terrain,
                       uint8_t *obs, int32_t *length, float *ret, float *reward, uint8_t *flags,
                       int32_t threads)
{
    const int64_t offset[4] = {-W, 1, W, -1};
    int64_t sum = 0;
#pragma omp parallel for num_threads(threads < 1 ? 1 : threads) schedule(static) reduction(+ : sum)
    for (int64_t e = 0; e < n; e++) {
        int64_t a = (int64_t)agent[2 * e] * W + agent[2 * e + 1];
        a = (uint64_t)a < (uint64_t)squares ? a : 0; /* any input stays inside env e's rows */
        int64_t to = a + offset[actions[e] & 3];
        to = (uint64_t)to < (uint64_t)squares ? to : a;
        if (what & FM_TOUCH_TERRAIN) sum += terrain[e * squares + to];
        if (what & FM_TOUCH_OBS) obs[e * obs_bytes + squares + a] = (uint8_t)(sum | 1);
        if (what & FM_TOUCH_INFO) {
            length[e] += 1;
            ret[e] += 0.5f;
            reward[e] = 0.5f;
            flags[3 * e] = flags[3 * e + 1] = flags[3 * e + 2] = (uint8_t)(a & 1);
        }
    }
    return sum;
}

int64_t fm_floor_rgb(int64_t n, int32_t H, int32_t W, int32_t px, const int32_t *agent,
                     const int64_t *actions, const uint8_t *terrain, uint8_t *obs,
                     int32_t threads)
{
    static const int32_t drow[4] = {-1, 0, 1, 0}, dcol[4] = {0, 1, 0, -1};
    const int64_t squares = (int64_t)H * W, width = (int64_t)W * px, plane = H * px * width;
    int64_t moves = 0;
#pragma omp parallel for num_threads(threads < 1 ? 1 : threads) schedule(static) reduction(+ : moves)
    for (int64_t e = 0; e < n; e++) {
        const int32_t r = agent[2 * e], c = agent[2 * e + 1];
        const int32_t nr = r + drow[actions[e] & 3], nc = c + dcol[actions[e] & 3];
        if ((uint32_t)r >= (uint32_t)H || (uint32_t)c >= (uint32_t)W ||
            (uint32_t)nr >= (uint32_t)H || (uint32_t)nc >= (uint32_t)W ||
            terrain[e * squares + (int64_t)nr * W + nc])
            continue;
        uint8_t *o = obs + e * 3 * plane;
        const int32_t inset = fm_agent_inset(px), side = px - 2 * inset;
        for (int32_t ch = 0; ch < 3; ch++)
            for (int32_t i = inset; i < inset + side; i++) {
                o[ch * plane + ((int64_t)r * px + i) * width + (int64_t)c * px + inset] = 1;
                o[ch * plane + ((int64_t)nr * px + i) * width + (int64_t)nc * px + inset] = 1;
            }
        moves++;
    }
    return moves;
}
