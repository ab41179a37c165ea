/* OpenMP, optional: the team queries every parallel loop of the core uses, with serial
 * stand-ins when the compiler has no OpenMP (the pragmas are then ignored). */
#ifndef FASTMAZE_THREADS_H
#define FASTMAZE_THREADS_H

#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* This thread's number in its team (0 outside a parallel region). */
static inline int32_t fm_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* The size of this thread's team (1 outside a parallel region). */
static inline int32_t fm_team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

#endif
