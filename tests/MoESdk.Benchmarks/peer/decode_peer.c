/*
 * A plain C batch-1 decoder of the llama2.c model layout, the peer MoESdk's decode speed is compared with:
 * float32 weights, one OpenMP-parallel matrix-vector product per projection, the same work per token as
 * MoESdk's kernel decoder (RMSNorm, q/k/v, rotary, attention over the cache, SwiGLU FFN, classifier).
 * Weights are random (speed does not depend on their values). Build and run:
 *   gcc -Ofast -march=native -fopenmp -o decode_peer decode_peer.c -lm
 *   OMP_NUM_THREADS=2 ./decode_peer 768 2048 12 12 32000 128
 * Arguments: dim hidden layers heads vocab tokens. Prints tokens/s of the decode loop (median of 5 runs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static float *random_floats(size_t n, unsigned *seed) {
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = ((float)(*seed >> 8) / 16777216.0f - 0.5f) * 0.04f;
    }
    return p;
}

static void matvec(float *y, const float *x, const float *w, int rows, int cols) {
    #pragma omp parallel for
    for (int r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * cols;
        float sum = 0.0f;
        for (int c = 0; c < cols; c++) sum += row[c] * x[c];
        y[r] = sum;
    }
}

static void rmsnorm(float *y, const float *x, int n) {
    float ss = 0.0f;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    ss = 1.0f / sqrtf(ss / n + 1e-5f);
    for (int i = 0; i < n; i++) y[i] = x[i] * ss;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double d = *(const double *)a - *(const double *)b;
    return (d > 0) - (d < 0);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s dim hidden layers heads vocab tokens\n", argv[0]);
        return 1;
    }
    int dim = atoi(argv[1]), hidden = atoi(argv[2]), layers = atoi(argv[3]), heads = atoi(argv[4]);
    int vocab = atoi(argv[5]), tokens = atoi(argv[6]), hs = dim / heads;
    unsigned seed = 1;
    float *emb = random_floats((size_t)vocab * dim, &seed);
    float **wq = malloc(layers * sizeof(float *)), **wk = malloc(layers * sizeof(float *)), **wv = malloc(layers * sizeof(float *));
    float **wo = malloc(layers * sizeof(float *)), **w1 = malloc(layers * sizeof(float *)), **w2 = malloc(layers * sizeof(float *));
    float **w3 = malloc(layers * sizeof(float *));
    for (int l = 0; l < layers; l++) {
        wq[l] = random_floats((size_t)dim * dim, &seed); wk[l] = random_floats((size_t)dim * dim, &seed);
        wv[l] = random_floats((size_t)dim * dim, &seed); wo[l] = random_floats((size_t)dim * dim, &seed);
        w1[l] = random_floats((size_t)hidden * dim, &seed); w2[l] = random_floats((size_t)dim * hidden, &seed);
        w3[l] = random_floats((size_t)hidden * dim, &seed);
    }
    float *x = calloc(dim, 4), *xb = calloc(dim, 4), *xb2 = calloc(dim, 4), *q = calloc(dim, 4);
    float *hb = calloc(hidden, 4), *hb2 = calloc(hidden, 4), *logits = calloc(vocab, 4);
    float *att = calloc((size_t)heads * tokens, 4);
    float *kc = calloc((size_t)layers * tokens * dim, 4), *vc = calloc((size_t)layers * tokens * dim, 4);
    double runs[5];
    for (int run = 0; run < 6; run++) {
        double start = now();
        int token = 1;
        for (int pos = 0; pos < tokens; pos++) {
            memcpy(x, emb + (size_t)token * dim, dim * 4);
            for (int l = 0; l < layers; l++) {
                float *k = kc + ((size_t)l * tokens + pos) * dim, *v = vc + ((size_t)l * tokens + pos) * dim;
                rmsnorm(xb, x, dim);
                matvec(q, xb, wq[l], dim, dim);
                matvec(k, xb, wk[l], dim, dim);
                matvec(v, xb, wv[l], dim, dim);
                for (int i = 0; i < dim; i += 2) {
                    float f = powf(10000.0f, -(float)(i % hs) / hs) * pos, c = cosf(f), s = sinf(f);
                    float q0 = q[i], q1 = q[i + 1], k0 = k[i], k1 = k[i + 1];
                    q[i] = q0 * c - q1 * s; q[i + 1] = q0 * s + q1 * c;
                    k[i] = k0 * c - k1 * s; k[i + 1] = k0 * s + k1 * c;
                }
                #pragma omp parallel for
                for (int h = 0; h < heads; h++) {
                    float *a = att + (size_t)h * tokens, max = -1e30f, sum = 0.0f;
                    for (int t = 0; t <= pos; t++) {
                        float *kt = kc + ((size_t)l * tokens + t) * dim + h * hs, score = 0.0f;
                        for (int i = 0; i < hs; i++) score += q[h * hs + i] * kt[i];
                        a[t] = score / sqrtf(hs);
                        if (a[t] > max) max = a[t];
                    }
                    for (int t = 0; t <= pos; t++) { a[t] = expf(a[t] - max); sum += a[t]; }
                    float *o = xb + h * hs;
                    memset(o, 0, hs * 4);
                    for (int t = 0; t <= pos; t++) {
                        float *vt = vc + ((size_t)l * tokens + t) * dim + h * hs, w = a[t] / sum;
                        for (int i = 0; i < hs; i++) o[i] += w * vt[i];
                    }
                }
                matvec(xb2, xb, wo[l], dim, dim);
                for (int i = 0; i < dim; i++) x[i] += xb2[i];
                rmsnorm(xb, x, dim);
                matvec(hb, xb, w1[l], hidden, dim);
                matvec(hb2, xb, w3[l], hidden, dim);
                for (int i = 0; i < hidden; i++) hb[i] = hb[i] / (1.0f + expf(-hb[i])) * hb2[i];
                matvec(xb2, hb, w2[l], dim, hidden);
                for (int i = 0; i < dim; i++) x[i] += xb2[i];
            }
            rmsnorm(x, x, dim);
            matvec(logits, x, emb, vocab, dim);
            int best = 0;
            for (int i = 1; i < vocab; i++) if (logits[i] > logits[best]) best = i;
            token = best;
        }
        if (run > 0) runs[run - 1] = tokens / (now() - start); /* run 0 warms up */
    }
    qsort(runs, 5, sizeof(double), cmp);
    printf("%.1f tokens/s\n", runs[2]);
    return 0;
}
