/* The peers of examples/pool_compare.rs: the cost of an empty phase with a max-reduction, and
 * the reference Jacobi kernel of phase-pool's `kernels` (5-point Jacobi with the max-norm residual of every sweep).
 * Both run one persistent parallel region; every phase is one `omp for` and its implicit
 * barrier. */

#include <math.h>
#include <omp.h>
#include <stddef.h>

/* `phases` empty worksharing loops of `threads` iterations, each folding its index into a
 * max-reduction. Returns the seconds the region took; *result gets the last reduction
 * (threads - 1 + phases - 1: phase p contributes i + p). */
double omp_peers_empty_phase_max(int threads, long phases, double *result)
{
    double r = 0.0;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads) shared(r)
    {
        for (long p = 0; p < phases; p++) {
#pragma omp for schedule(static) reduction(max : r)
            for (int i = 0; i < threads; i++) {
                double v = (double)i + (double)p;
                if (v > r)
                    r = v;
            }
        }
    }
    double seconds = omp_get_wtime() - start;
    *result = r;
    return seconds;
}

/* Sweeps row i of cur into next; returns max |next - cur| over the row's interior. The same
 * operation order as phase_pool::kernels::jacobi_row. */
static double jacobi_row(const double *cur, double *next, long n, long i)
{
    const double *up = cur + (i - 1) * n, *row = cur + i * n, *down = cur + (i + 1) * n;
    double *out = next + i * n;
    double r = 0.0;
    for (long j = 1; j < n - 1; j++) {
        double v = 0.2 * (row[j] + row[j - 1] + row[j + 1] + up[j] + down[j]);
        out[j] = v;
        double d = fabs(v - row[j]);
        if (d > r)
            r = d;
    }
    return r;
}

#define PRAGMA(x) _Pragma(#x)

/* One sweep of rows 1..n-1, its residual folded into the shared R. */
#define JACOBI_SWEEP(R)                                                                     \
    do {                                                                                    \
        PRAGMA(omp for schedule(static) reduction(max : R))                                 \
        for (long i = 1; i < n - 1; i++) {                                                  \
            double d = jacobi_row(cur, next, n, i);                                         \
            if (d > R)                                                                      \
                R = d;                                                                      \
        }                                                                                   \
    } while (0)

/* `steps` sweeps of the n x n grid between a and b (a is read first; the buffers swap after
 * every sweep), the residual reduced in every sweep: one `omp for` and its barrier per sweep.
 * An OpenMP reduction folds into the shared variable's old value, so each sweep needs a cleared
 * one; three rotate (r0, r1, r2 for sweeps s = 0, 1, 2 mod 3): while sweep s runs, thread 0
 * clears the variable of sweep s + 1, last folded in sweep s - 2 and read, by anyone checking
 * sweep s - 2's residual, before sweep s - 1's barrier. Returns the seconds the region took;
 * *residual gets the last sweep's residual (the grid it left is in a if steps is even, else
 * in b). */
double omp_peers_jacobi2d_residual(long n, long steps, int threads, double *a, double *b,
                                   double *residual)
{
    double r0 = 0.0, r1 = 0.0, r2 = 0.0;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads) shared(r0, r1, r2)
    {
        double *cur = a, *next = b;
        for (long s = 0; s < steps; s++) {
            int k = (int)(s % 3);
            if (omp_get_thread_num() == 0) {
                if (k == 0)
                    r1 = 0.0;
                else if (k == 1)
                    r2 = 0.0;
                else
                    r0 = 0.0;
            }
            if (k == 0)
                JACOBI_SWEEP(r0);
            else if (k == 1)
                JACOBI_SWEEP(r1);
            else
                JACOBI_SWEEP(r2);
            double *t = cur;
            cur = next;
            next = t;
        }
    }
    double seconds = omp_get_wtime() - start;
    long k = steps > 0 ? (steps - 1) % 3 : 0;
    *residual = k == 0 ? r0 : (k == 1 ? r1 : r2);
    return seconds;
}

/* The name of the binding the next parallel region gets. */
const char *omp_peers_proc_bind(void)
{
    switch (omp_get_proc_bind()) {
    case omp_proc_bind_false:
        return "false";
    case omp_proc_bind_true:
        return "true";
    case omp_proc_bind_master:
        return "master";
    case omp_proc_bind_close:
        return "close";
    case omp_proc_bind_spread:
        return "spread";
    default:
        return "unknown";
    }
}
