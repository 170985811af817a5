/* OpenMP versions of the PolyBench/C 4.2 stencils, in PolyBench's update order: one persistent
 * parallel region per run, one `omp for schedule(static)` (and its implicit barrier) per sweep.
 * Arrays are row-major doubles; the arithmetic of every update is written as PolyBench writes
 * it, so with -ffp-contract=off the results equal the serial loops bitwise. */

#include <omp.h>
#include <stdlib.h>

/* jacobi-1d: tsteps times B = f(A), then A = f(B). */
double omp_peers_jacobi_1d(long n, long tsteps, int threads, double *A, double *B)
{
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    for (long t = 0; t < tsteps; t++) {
#pragma omp for schedule(static)
        for (long i = 1; i < n - 1; i++)
            B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1]);
#pragma omp for schedule(static)
        for (long i = 1; i < n - 1; i++)
            A[i] = 0.33333 * (B[i - 1] + B[i] + B[i + 1]);
    }
    return omp_get_wtime() - start;
}

/* jacobi-2d: tsteps times B = f(A), then A = f(B), 5 points. */
double omp_peers_jacobi_2d(long n, long tsteps, int threads, double *A, double *B)
{
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    for (long t = 0; t < tsteps; t++) {
#pragma omp for schedule(static)
        for (long i = 1; i < n - 1; i++)
            for (long j = 1; j < n - 1; j++)
                B[i * n + j] = 0.2 * (A[i * n + j] + A[i * n + j - 1] + A[i * n + j + 1] +
                                      A[(i + 1) * n + j] + A[(i - 1) * n + j]);
#pragma omp for schedule(static)
        for (long i = 1; i < n - 1; i++)
            for (long j = 1; j < n - 1; j++)
                A[i * n + j] = 0.2 * (B[i * n + j] + B[i * n + j - 1] + B[i * n + j + 1] +
                                      B[(i + 1) * n + j] + B[(i - 1) * n + j]);
    }
    return omp_get_wtime() - start;
}

/* One heat-3d sweep of plane i from `a` into `b`. */
static void heat_plane(long n, long i, const double *a, double *b)
{
    long p = n * n;
    for (long j = 1; j < n - 1; j++)
        for (long k = 1; k < n - 1; k++) {
            long x = i * p + j * n + k;
            b[x] = 0.125 * (a[x + p] - 2.0 * a[x] + a[x - p]) +
                   0.125 * (a[x + n] - 2.0 * a[x] + a[x - n]) +
                   0.125 * (a[x + 1] - 2.0 * a[x] + a[x - 1]) + a[x];
        }
}

/* heat-3d: tsteps times B = f(A), then A = f(B), planes shared out. */
double omp_peers_heat_3d(long n, long tsteps, int threads, double *A, double *B)
{
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    for (long t = 1; t <= tsteps; t++) {
#pragma omp for schedule(static)
        for (long i = 1; i < n - 1; i++)
            heat_plane(n, i, A, B);
#pragma omp for schedule(static)
        for (long i = 1; i < n - 1; i++)
            heat_plane(n, i, B, A);
    }
    return omp_get_wtime() - start;
}

/* fdtd-2d: per step, the electric fields (rows of ey and ex) in one loop, then hz. */
double omp_peers_fdtd_2d(long tmax, long nx, long ny, int threads, double *ex, double *ey,
                         double *hz, const double *fict)
{
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    for (long t = 0; t < tmax; t++) {
#pragma omp for schedule(static)
        for (long i = 0; i < nx; i++) {
            if (i == 0)
                for (long j = 0; j < ny; j++)
                    ey[j] = fict[t];
            else
                for (long j = 0; j < ny; j++)
                    ey[i * ny + j] = ey[i * ny + j] - 0.5 * (hz[i * ny + j] - hz[(i - 1) * ny + j]);
            for (long j = 1; j < ny; j++)
                ex[i * ny + j] = ex[i * ny + j] - 0.5 * (hz[i * ny + j] - hz[i * ny + j - 1]);
        }
#pragma omp for schedule(static)
        for (long i = 0; i < nx - 1; i++)
            for (long j = 0; j < ny - 1; j++)
                hz[i * ny + j] = hz[i * ny + j] - 0.7 * (ex[i * ny + j + 1] - ex[i * ny + j] +
                                                         ey[(i + 1) * ny + j] - ey[i * ny + j]);
    }
    return omp_get_wtime() - start;
}

/* Columns [*lo, *hi) of local row r in tile c of the seidel-2d wavefront (see the Rust plan in
 * examples/stencils/seidel_2d.rs: tiles lean one column left per row). */
static void seidel_cols(long n, long tile, long tiles, long r, long c, long *lo, long *hi)
{
    long l = c == 0 ? 1 : c * tile - r;
    long h = c == tiles - 1 ? n - 1 : (c + 1) * tile - r;
    if (l < 1)
        l = 1;
    if (l > n - 1)
        l = n - 1;
    if (h < l)
        h = l;
    if (h > n - 1)
        h = n - 1;
    *lo = l;
    *hi = h;
}

/* seidel-2d on the wavefront plan: `blocks` row blocks starting at starts[0..=blocks], block w
 * works on global tile g = s - lag * w in wave s (tile g is step g / tiles, column tile
 * g % tiles); one `omp for` over the blocks per wave. */
double omp_peers_seidel_2d(long n, long tsteps, int threads, double *A, long blocks,
                           const long *starts, long tile, long tiles, long lag)
{
    long waves = tsteps * tiles + lag * (blocks - 1);
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    for (long s = 0; s < waves; s++) {
#pragma omp for schedule(static, 1)
        for (long w = 0; w < blocks; w++) {
            long g = s - lag * w;
            if (g < 0 || g >= tsteps * tiles)
                continue;
            long c = g % tiles;
            for (long i = starts[w]; i < starts[w + 1]; i++) {
                long lo, hi;
                seidel_cols(n, tile, tiles, i - starts[w], c, &lo, &hi);
                for (long j = lo; j < hi; j++)
                    A[i * n + j] = (A[(i - 1) * n + j - 1] + A[(i - 1) * n + j] +
                                    A[(i - 1) * n + j + 1] + A[i * n + j - 1] + A[i * n + j] +
                                    A[i * n + j + 1] + A[(i + 1) * n + j - 1] +
                                    A[(i + 1) * n + j] + A[(i + 1) * n + j + 1]) /
                                   9.0;
            }
        }
    }
    return omp_get_wtime() - start;
}

/* adi with v stored transposed (vt[i][j] = v[j][i]), so the column sweep writes rows; p and q
 * are one scratch row per thread. */
double omp_peers_adi(long n, long tsteps, int threads, double *u, double *vt)
{
    double DX = 1.0 / (double)n, DY = 1.0 / (double)n, DT = 1.0 / (double)tsteps;
    double B1 = 2.0, B2 = 1.0;
    double mul1 = B1 * DT / (DX * DX), mul2 = B2 * DT / (DY * DY);
    double a = -mul1 / 2.0, b = 1.0 + mul1, c = a;
    double d = -mul2 / 2.0, e = 1.0 + mul2, f = d;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        double *p = calloc((size_t)n, sizeof(double));
        double *q = calloc((size_t)n, sizeof(double));
        for (long t = 1; t <= tsteps; t++) {
#pragma omp for schedule(static)
            for (long i = 1; i < n - 1; i++) {
                double *v = vt + i * n;
                v[0] = 1.0;
                p[0] = 0.0;
                q[0] = v[0];
                for (long j = 1; j < n - 1; j++) {
                    p[j] = -c / (a * p[j - 1] + b);
                    q[j] = (-d * u[j * n + i - 1] + (1.0 + 2.0 * d) * u[j * n + i] -
                            f * u[j * n + i + 1] - a * q[j - 1]) /
                           (a * p[j - 1] + b);
                }
                v[n - 1] = 1.0;
                for (long j = n - 2; j >= 1; j--)
                    v[j] = p[j] * v[j + 1] + q[j];
            }
#pragma omp for schedule(static)
            for (long i = 1; i < n - 1; i++) {
                double *w = u + i * n;
                w[0] = 1.0;
                p[0] = 0.0;
                q[0] = w[0];
                for (long j = 1; j < n - 1; j++) {
                    p[j] = -f / (d * p[j - 1] + e);
                    q[j] = (-a * vt[j * n + i - 1] + (1.0 + 2.0 * a) * vt[j * n + i] -
                            c * vt[j * n + i + 1] - d * q[j - 1]) /
                           (d * p[j - 1] + e);
                }
                w[n - 1] = 1.0;
                for (long j = n - 2; j >= 1; j--)
                    w[j] = p[j] * w[j + 1] + q[j];
            }
        }
        free(p);
        free(q);
    }
    return omp_get_wtime() - start;
}
