/* STREAM's triad (McCalpin), a[i] = b[i] + scalar * c[i], the bandwidth roof the stencils are
 * measured against. The arrays are first touched by the threads that later sweep them
 * (`schedule(static)` in both loops), as stream.c does. */

#include <omp.h>

/* Writes 1.0 into a, 2.0 into b and 0.5 into c, each thread its static block. */
void omp_peers_stream_init(int threads, long n, double *a, double *b, double *c)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long i = 0; i < n; i++) {
        a[i] = 1.0;
        b[i] = 2.0;
        c[i] = 0.5;
    }
}

/* `times` triads in one parallel region, one `omp for` each. Returns the seconds. */
double omp_peers_stream_triad(int threads, long n, long times, double *a, const double *b,
                              const double *c, double scalar)
{
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long t = 0; t < times; t++) {
#pragma omp for schedule(static)
            for (long i = 0; i < n; i++)
                a[i] = b[i] + scalar * c[i];
        }
    }
    return omp_get_wtime() - start;
}
